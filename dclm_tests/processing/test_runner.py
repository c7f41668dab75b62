"""The Ray runner: chunks, global steps, global_stats rows, resume, failures, the untokenized reference JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dclm_resources.compute import ray_session
from dclm_resources.processing import registry, runner
from dclm_resources.processing.pipeline import PipelineError
from dclm_resources.processing.runner import ProcessingFailed, process_dataset, resolve_shards
from dclm_resources.storage import Storage, read_jsonl, write_jsonl
from dclm_tests.processing import custom_ops
from dclm_tests.processing.custom_ops import PREFIX, use_registry_without_missing_modules

UNTOKENIZED_KEYS = {"uuid", "name", "creation_date", "dataset_url", "manifest_url", "sources", "tokenized",
                    "tokenizer", "num_tokens", "size", "dcnlp_commit_hash", "dcnlp_diff", "data_key"}

PIPELINE = f"""
- source: cc
  steps:
    - func: {PREFIX}min_chars_filter
      min_chars: 8
    - func: {PREFIX}boom_filter
    - commit
    - func: t_dedup_text
    - func: {PREFIX}tag_modifier
      tag: end
"""


@pytest.fixture(scope="module")
def ray_local():
    with ray_session(num_cpus=2):
        yield


@pytest.fixture(autouse=True)
def _registry(monkeypatch):
    use_registry_without_missing_modules(monkeypatch)


def make_pool(root: Path) -> Path:
    """Four shards in two folders: duplicates across shards, short pages, a bad line and an empty shard."""
    pool = root / "pool"
    write_jsonl([{"text": "shared page text", "url": "u0"}, {"text": "first unique page", "url": "u1"},
                 {"text": "tiny", "url": "u2"}], str(pool / "a" / "s0.jsonl.zst"))
    write_jsonl([{"text": "shared page text", "url": "u3"}, {"text": "second unique page", "url": "u4"},
                 {"text": "a BOOM page here", "url": "u5"}], str(pool / "a" / "s1.jsonl.zst"))
    (pool / "b").mkdir()
    (pool / "b" / "s2.jsonl").write_text('{"text": "third unique page", "url": "u6"}\nnot json\n')
    (pool / "b" / "s3.jsonl").write_text("")
    return pool


def config(tmp_path: Path, text: str = PIPELINE) -> str:
    path = tmp_path / "pipe.yaml"
    path.write_text(text)
    return str(path)


def run(tmp_path: Path, pool: Path, out: Path, text: str = PIPELINE, **kw: Any):
    return process_dataset(config(tmp_path, text), "cc", str(pool), str(out), Storage(), allow_custom=True,
                           progress=False, **kw)


def stat_names(path: Path) -> list[str]:
    return [json.loads(x)["name"] for x in path.read_text().splitlines()]


def test_resolve_shards_names_by_relative_path(tmp_path):
    pool = make_pool(tmp_path)
    shards, sources = resolve_shards(str(pool), Storage())
    assert [s.name for s in shards] == ["a/s0", "a/s1", "b/s2", "b/s3"]
    assert [s.ext for s in shards] == ["jsonl.zst", "jsonl.zst", "jsonl", "jsonl"] and sources == []
    assert [s.name for s in resolve_shards([str(pool / "a" / "s1.jsonl.zst")], Storage())[0]] == ["s1"]
    assert len(resolve_shards(str(pool), Storage(), num_shards=2)[0]) == 2


def test_full_run_with_a_global_step(tmp_path, ray_local):
    pool, out = make_pool(tmp_path), tmp_path / "out"
    summary = run(tmp_path, pool, out, readable_name="my_filtered")
    data = {p.relative_to(out / "processed_data").as_posix(): [x["text"] for x in read_jsonl(str(p))]
            for p in sorted((out / "processed_data").rglob("*_processed.*"))}
    assert data == {"a/s0_processed.jsonl.zst": ["shared page text", "first unique page"],
                    "a/s1_processed.jsonl.zst": ["second unique page"],
                    "b/s2_processed.jsonl": ["third unique page"]}
    assert all(x["tags"] == ["end"] for p in (out / "processed_data").rglob("*_processed.*")
               for x in read_jsonl(str(p)))
    assert stat_names(out / "stats" / "a" / "s1_stats.jsonl") == [
        "process_setup", f"{PREFIX}min_chars_filter", f"{PREFIX}boom_filter", "commit",
        "process_finished", "commit", "t_dedup_text", "process_setup", f"{PREFIX}tag_modifier",
        "process_finished", "commit"]
    rows = [json.loads(x) for x in (out / "global_stats.jsonl").read_text().splitlines()]
    assert [r["name"] for r in rows] == ["local", "t_dedup_text", "local"]
    assert set(rows[0]) == {"name", "secs", "num_successes", "num_failures", "pages_in", "pages_out",
                            "working_dir", "resumptions", "failed_shards"}
    assert (rows[0]["num_successes"], rows[0]["pages_in"], rows[0]["pages_out"]) == (4, 7, 5)
    assert rows[1]["working_dir"].endswith("working/01_t_dedup_text") and rows[1]["pages_out"] == 4
    assert (rows[2]["pages_in"], rows[2]["pages_out"]) == (4, 4)

    assert (summary.pages_in, summary.pages_out, summary.lines_quarantined, summary.pages_errored) == (7, 4, 1, 1)
    assert summary.quarantined == 2 and summary.num_shards == 4 and len(summary.outputs) == 3
    funnel = summary.funnel()
    assert list(funnel) == [f"00 {PREFIX}min_chars_filter", f"01 {PREFIX}boom_filter", "02 t_dedup_text",
                            f"03 {PREFIX}tag_modifier"]
    assert funnel[f"00 {PREFIX}min_chars_filter"] == {"pages_in": 7, "pages_out": 6, "removed": 1, "errors": 0}
    assert funnel[f"01 {PREFIX}boom_filter"]["errors"] == 1 and funnel["02 t_dedup_text"]["removed"] == 1
    assert summary.steps[0].samples == [{"url": "u2", "chars": 4, "text": "tiny"}]
    assert summary.bytes_in > 0 and summary.bytes_out == sum(p.stat().st_size for p in
                                                             (out / "processed_data").rglob("*_processed.*"))
    ref = json.loads((out / "my_filtered.json").read_text())
    assert set(ref) == UNTOKENIZED_KEYS and ref["tokenized"] is False and ref["data_key"] == "jsonl.zst"
    assert ref["dataset_url"] == f"{out}/processed_data/" and ref["size"] == summary.bytes_out

    before = {p: p.read_bytes() for p in out.rglob("*_processed.*")}
    again = run(tmp_path, pool, out, readable_name="my_filtered")
    assert again.executed_chunks == 0 and again.funnel() == funnel
    assert {p: p.read_bytes() for p in out.rglob("*_processed.*")} == before
    assert json.loads((out / "my_filtered.json").read_text())["uuid"] == ref["uuid"]


def test_failed_shard_is_reported_then_retried_alone(tmp_path, ray_local):
    pool, out = make_pool(tmp_path), tmp_path / "out"
    write_jsonl([{"text": "BOOM one page"}, {"text": "BOOM two page"}], str(pool / "a" / "s1.jsonl.zst"))
    with pytest.raises(ProcessingFailed, match=r"a/s1: RuntimeError: Step .*boom_filter.* failed on all pages"):
        run(tmp_path, pool, out)
    rows = [json.loads(x) for x in (out / "global_stats.jsonl").read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["failed_shards"] == ["a/s1"] and rows[0]["num_failures"] == 1
    untouched = (out / "stats" / "a" / "s0_stats.jsonl").read_text()
    write_jsonl([{"text": "now a fine page"}], str(pool / "a" / "s1.jsonl.zst"))
    summary = run(tmp_path, pool, out)
    rows = [json.loads(x) for x in (out / "global_stats.jsonl").read_text().splitlines()]
    assert rows[0]["resumptions"] == 1 and rows[0]["num_failures"] == 0 and rows[0]["num_successes"] == 4
    assert not summary.failed_shards and summary.pages_out == 4
    assert (out / "stats" / "a" / "s0_stats.jsonl").read_text().startswith(untouched)


def test_ignore_failures_leaves_the_shard_out(tmp_path, ray_local):
    pool, out = make_pool(tmp_path), tmp_path / "out"
    write_jsonl([{"text": "BOOM one page"}], str(pool / "a" / "s0.jsonl.zst"))
    summary = run(tmp_path, pool, out, ignore_failures=True)
    assert list(summary.failed_shards) == ["a/s0"]
    assert not (out / "processed_data" / "a" / "s0_processed.jsonl.zst").exists()
    assert summary.pages_out == 3


class Crash(BaseException):
    pass


def test_kill_between_and_inside_chunks_then_resume(tmp_path, ray_local, monkeypatch):
    """Simulated kills in the driver: inside the global step, and just before a global_stats rewrite."""
    pool = make_pool(tmp_path)
    reference = tmp_path / "ref"
    run(tmp_path, pool, reference)
    expected = {p.relative_to(reference): p.read_bytes() for p in reference.rglob("*_processed.*")}

    out = tmp_path / "out"
    real = custom_ops.dedup_text

    def dying_dedup(inputs, output_dir, storage, **kw):
        real(inputs[:1], output_dir, storage, **kw)
        raise Crash()

    monkeypatch.setitem(registry._GLOBAL_STEPS, "t_dedup_text", dying_dedup)
    with pytest.raises(Crash):
        run(tmp_path, pool, out)
    monkeypatch.setitem(registry._GLOBAL_STEPS, "t_dedup_text", real)
    real_write, calls = runner._write_rows, []

    def dying_write(uri, rows, storage):
        calls.append(len(rows))
        if len(rows) == 3:
            raise Crash()
        real_write(uri, rows, storage)

    monkeypatch.setattr(runner, "_write_rows", dying_write)
    with pytest.raises(Crash):
        run(tmp_path, pool, out)
    assert calls == [2, 3]  # the first local chunk was skipped, the global step reran
    monkeypatch.setattr(runner, "_write_rows", real_write)
    summary = run(tmp_path, pool, out)
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*_processed.*")} == expected
    assert summary.pages_out == 4 and stat_names(out / "stats" / "a" / "s0_stats.jsonl").count("t_dedup_text") == 1


def test_global_step_at_the_end_lands_in_processed_data(tmp_path, ray_local):
    pool, out = make_pool(tmp_path), tmp_path / "out"
    text = f"- source: cc\n  steps:\n    - func: {PREFIX}upper_modifier\n    - func: t_dedup_text\n"
    summary = run(tmp_path, pool, out, text=text)
    assert [x["text"] for x in read_jsonl(str(out / "processed_data" / "a" / "s1_processed.jsonl.zst"))] == [
        "SECOND UNIQUE PAGE", "A BOOM PAGE HERE"]
    assert summary.pages_out == 6


def test_invalid_pipeline_fails_before_reading(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(PipelineError, match=r"step 1 \(func: .*tag_modifier\).*tag"):
        run(tmp_path, tmp_path / "nowhere", out, text=f"- source: cc\n  steps:\n    - func: {PREFIX}upper_modifier\n"
                                                      f"    - func: {PREFIX}tag_modifier\n")
    assert not out.exists()


def test_real_operators_and_exact_dedup(tmp_path, ray_local):
    """Once the operator catalogue is complete: real mappers in Ray workers and DCLM's exact_dedup global step."""
    if not custom_ops.real_operators_available() or not registry.is_global_step("exact_dedup"):
        pytest.skip("operator modules (with exact_dedup) not all present yet")
    pool, out = tmp_path / "pool", tmp_path / "out"
    for s in range(2):
        write_jsonl([{"text": f"page {i} of shard {s} with enough words", "metadata": {"WARC-Target-URI": u}}
                     for i, u in enumerate(["http://same.example/x", f"http://s{s}.example/y"])],
                    str(pool / f"s{s}.jsonl.zst"))
    text = ("- source: cc\n  steps:\n    - func: move_url_modifier\n    - func: exact_dedup\n"
            "      content_key: url\n    - func: page_length_filter\n      length_type: word\n      min_length: 3\n")
    summary = run(tmp_path, pool, out, text=text)
    assert summary.pages_in == 4 and summary.pages_out == 3
    assert summary.funnel()["01 exact_dedup"]["removed"] == 1
