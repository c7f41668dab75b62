"""The per-shard processor: DCLM's paths and stats lines, resume, quarantine, and crash safety at every write."""

from __future__ import annotations

import json
import random
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, BinaryIO

import pytest
import zstandard

from dclm_resources.processing import registry
from dclm_resources.processing.pipeline import parse_pipeline
from dclm_resources.processing.shard import process_shard
from dclm_resources.processing.shard_files import output_ext, record_global_step, shard_name_for
from dclm_resources.storage import Storage, read_jsonl, write_jsonl
from dclm_tests.processing.custom_ops import use_registry_without_missing_modules

STEP_KEYS = {"name", "pages_in", "pages_out", "secs", "secs/page", "errors", "removed", "kept", "split",
             "total_secs", "workers"}
SETUP_KEYS = {"name", "jsonl_load_secs", "stats_load_secs", "jsonl_path", "source_name", "output_path",
              "stats_output_path", "workers", "first_run", "graceful_continuation", "execution_start_time",
              "pages_quarantined"}
FINISHED_KEYS = {"name", "total_secs", "executed_steps", "skipped_steps", "commit_steps", "finished_processing",
                 "execution_end_time"}


@pytest.fixture(autouse=True)
def _registry(monkeypatch):
    use_registry_without_missing_modules(monkeypatch)
    monkeypatch.setitem(registry._AGGREGATORS, "t_hist", lambda values: {"n": len(values), "max": max(values)})


def pipe(*steps: Any):
    return parse_pipeline([{"source": "src", "steps": list(steps)}], "src")


PIPE_STEPS = ({"func": "t_tag", "tag": "a"}, {"func": "t_boom"}, {"func": "t_min_chars", "min_chars": 12}, "commit",
              {"func": "t_tag", "tag": "b"}, {"func": "t_split"}, "commit", {"func": "t_counter"})


@pytest.fixture
def PIPE():  # noqa: N802 - reads as the constant it stands for
    return pipe(*PIPE_STEPS)

TEXTS = ["a long enough page number one", "short", "BOOM goes this page", "split || this page || in three",
         "another long enough page", "tiny"]


def pages(texts=TEXTS) -> list[dict[str, Any]]:
    return [{"text": t, "url": f"http://x/{i}"} for i, t in enumerate(texts)]


def shard(tmp_path: Path, name="shard_00.jsonl.zst", texts=TEXTS) -> str:
    uri = str(tmp_path / "in" / name)
    write_jsonl(pages(texts), uri)
    return uri


def lines(uri: str) -> list[dict[str, Any]]:
    return [json.loads(x) for x in Path(uri).read_text().splitlines()]


def test_output_paths_follow_dclm():
    assert output_ext("s3://b/x/shard.jsonl.zst") == "jsonl.zst"
    assert output_ext("/x/shard.jsonl.gz") == "jsonl.gz"
    assert output_ext("/x/shard.jsonl.zstd") == "jsonl.zstd"
    assert output_ext("/x/shard.jsonl") == "jsonl"
    assert shard_name_for("sub/shard_3.jsonl.zst") == "sub/shard_3"
    assert shard_name_for("shard_3_processed.jsonl.zst") == "shard_3"  # re-processing maps back in place


def test_processes_a_shard_with_dclm_stats(tmp_path, PIPE):
    base = str(tmp_path / "out")
    res = process_shard(PIPE, shard(tmp_path), base, shard_name="shard_00", sample_removed=2)
    assert res.paths.output == f"{base}/processed_data/shard_00_processed.jsonl.zst"
    assert res.paths.stats == f"{base}/stats/shard_00_stats.jsonl"
    out = list(read_jsonl(res.paths.output))
    assert [p["text"] for p in out] == ["a long enough page number one", "split ", " this page ", " in three",
                                        "another long enough page"]
    assert [p["n"] for p in out] == [0, 1, 2, 3, 4]  # sequential, in input order
    assert all(p["tags"] == ["a", "b"] for p in out)
    stats = lines(res.paths.stats)
    assert [s["name"] for s in stats] == ["process_setup", "t_tag", "t_boom", "t_min_chars", "commit", "t_tag",
                                          "t_split", "commit", "t_counter", "process_finished", "commit"]
    assert set(stats[0]) == SETUP_KEYS and stats[0]["first_run"] and stats[0]["pages_quarantined"] == 0
    assert all(set(s) == STEP_KEYS for s in stats if s["name"].startswith("t_"))
    assert set(stats[9]) == FINISHED_KEYS and stats[9]["finished_processing"] and stats[9]["executed_steps"] == 6
    assert stats[9]["commit_steps"] == 2
    boom, min_chars, split = stats[2], stats[3], stats[6]
    assert (boom["pages_in"], boom["errors"], boom["kept"], boom["pages_out"]) == (6, 1, 5, 5)
    assert (min_chars["removed"], min_chars["kept"], min_chars["pages_out"]) == (2, 3, 3)
    assert (split["split"], split["kept"], split["pages_out"]) == (1, 2, 5)
    for s in stats:
        if s["name"].startswith("t_"):
            assert s["pages_in"] == s["removed"] + s["kept"] + s["split"] + s["errors"]
    assert [s["text"] for s in res.removed_samples[2]] == ["short", "tiny"]
    (entry,) = lines(res.paths.quarantine)
    assert entry["step"] == "t_boom" and entry["error"] == "ValueError('found BOOM')"
    assert entry["page"]["text"] == "BOOM goes this page" and entry["position"] == 1


def test_rerun_after_completion_does_nothing(tmp_path, PIPE):
    base, uri = str(tmp_path / "out"), shard(tmp_path)
    first = process_shard(PIPE, uri, base)
    before = {p: Path(p).stat().st_mtime_ns for p in (first.paths.output, first.paths.stats)}
    again = process_shard(PIPE, uri, base)
    assert not again.wrote_output and again.executed_steps == 0
    assert {p: Path(p).stat().st_mtime_ns for p in before} == before


def test_aggregate_is_stored_under_its_key(tmp_path):
    p = pipe({"func": "t_length", "_aggregate": {"length": "t_hist"}})
    res = process_shard(p, shard(tmp_path), str(tmp_path / "out"))
    agg = lines(res.paths.stats)[1]["length"]
    assert agg["n"] == 6 and agg["max"] == len(TEXTS[3]) and "_secs" in agg


def test_bad_input_lines_are_quarantined_with_file_and_line(tmp_path):
    uri = tmp_path / "in" / "bad.jsonl"
    uri.parent.mkdir()
    uri.write_bytes(b'{"text": "good page one here"}\nnot json\n{"url": "no text"}\n{"text": 7}\n'
                    b'[1, 2]\n{"text": "bad \xff utf8"}\n\n{"text": "good page two here"}\n')
    res = process_shard(pipe({"func": "t_upper"}), str(uri), str(tmp_path / "out"))
    assert [p["text"] for p in read_jsonl(res.paths.output)] == ["GOOD PAGE ONE HERE", "GOOD PAGE TWO HERE"]
    bad = lines(res.paths.quarantine)
    assert [b["source"] for b in bad] == [f"{uri}:{n}" for n in (2, 3, 4, 5, 6)]
    assert all(b["step"] == "input" and b["raw"] for b in bad)
    assert "invalid JSON" in bad[0]["error"] and "invalid UTF-8" in bad[4]["error"]
    setup = lines(res.paths.stats)[0]
    assert setup["pages_quarantined"] == 5 and lines(res.paths.stats)[1]["pages_in"] == 2


def test_truncated_shard_keeps_pages_before_the_cut(tmp_path):
    uri = tmp_path / "in" / "cut.jsonl.zst"
    uri.parent.mkdir()
    rng = random.Random(0)  # incompressible enough to span several zstd blocks
    raw = "".join(json.dumps({"text": " ".join(str(rng.random()) for _ in range(100))}) + "\n"
                  for _ in range(200)).encode()
    data = zstandard.ZstdCompressor().compress(raw)
    uri.write_bytes(data[: len(data) // 2])
    res = process_shard(pipe({"func": "t_upper"}), str(uri), str(tmp_path / "out"))
    (entry,) = lines(res.paths.quarantine)
    assert "truncated" in entry["error"] and entry["source"].startswith(str(uri))
    assert lines(res.paths.stats)[0]["pages_quarantined"] == 1
    assert 0 < lines(res.paths.stats)[1]["pages_in"] < 200


def test_all_bad_shard_commits_once(tmp_path):
    uri = tmp_path / "in" / "junk.jsonl"
    uri.parent.mkdir()
    uri.write_text("nope\n{bad\n")
    base = str(tmp_path / "out")
    res = process_shard(pipe({"func": "t_upper"}), str(uri), base)
    assert [s["name"] for s in lines(res.paths.stats)] == ["process_setup", "process_finished", "commit"]
    assert list(read_jsonl(res.paths.output)) == [] and len(lines(res.paths.quarantine)) == 2
    process_shard(pipe({"func": "t_upper"}), str(uri), base)
    assert len(lines(res.paths.quarantine)) == 2 and len(lines(res.paths.stats)) == 3


def test_empty_shard_writes_nothing(tmp_path, PIPE):
    uri = tmp_path / "in" / "empty.jsonl"
    uri.parent.mkdir()
    uri.write_text("")
    res = process_shard(PIPE, str(uri), str(tmp_path / "out"))
    assert not res.wrote_output and not (tmp_path / "out").exists()


def test_step_failing_on_every_page_raises_unless_allowed(tmp_path):
    uri = shard(tmp_path, texts=["BOOM a", "BOOM b"])
    with pytest.raises(RuntimeError, match="Step t_boom .* failed on all pages"):
        process_shard(pipe({"func": "t_boom"}), uri, str(tmp_path / "out"))
    res = process_shard(pipe({"func": "t_boom"}), uri, str(tmp_path / "out2"), allow_all_errors=True)
    assert lines(res.paths.stats)[1]["errors"] == 2 and len(lines(res.paths.quarantine)) == 2


def test_stops_at_global_step_and_resumes_after_it(tmp_path):
    p = pipe({"func": "t_upper"}, {"func": "t_dedup_text"}, {"func": "t_tag", "tag": "after"})
    base, uri = str(tmp_path / "out"), shard(tmp_path)
    first = process_shard(p, uri, base, shard_name="s")
    stats = lines(first.paths.stats)
    assert [s["name"] for s in stats] == ["process_setup", "t_upper", "process_finished", "commit"]
    assert stats[2]["finished_processing"] is False
    # what the runner does for the global chunk: write the step's output, record its stats line
    working = str(tmp_path / "work" / "s_processed.jsonl.zst")
    write_jsonl(list(read_jsonl(first.paths.output))[:2], working)
    line = {"name": "t_dedup_text", "pages_in": 6, "pages_out": 2}
    assert record_global_step(first.paths.stats, Storage(), 1, line) == "appended"
    assert record_global_step(first.paths.stats, Storage(), 1, line) == "present"
    second = process_shard(p, working, base, shard_name="s", chunk_start=2)
    assert [x["tags"] for x in read_jsonl(second.paths.output)] == [["after"], ["after"]]
    assert [s["name"] for s in lines(second.paths.stats)][-4:] == ["process_setup", "t_tag", "process_finished",
                                                                   "commit"]


def test_changed_pipeline_is_refused_and_overwrite_starts_over(tmp_path):
    base, uri = str(tmp_path / "out"), shard(tmp_path)
    process_shard(pipe({"func": "t_upper"}, "commit", {"func": "t_tag", "tag": "x"}), uri, base)
    with pytest.raises(RuntimeError, match="pipeline changed"):
        process_shard(pipe({"func": "t_length"}, {"func": "t_upper"}), uri, base)
    res = process_shard(pipe({"func": "t_length"}), uri, base, overwrite=True)
    assert [s["name"] for s in lines(res.paths.stats)] == ["process_setup", "t_length", "process_finished",
                                                           "commit"]


class Crash(BaseException):
    """A simulated SIGKILL: nothing in the code under test may catch it."""


class CrashingStorage(Storage):
    """Dies just before its ``crash_at``-th write or delete (or never, with ``crash_at=None``)."""

    def __init__(self, crash_at: int | None) -> None:
        super().__init__()
        self.crash_at = crash_at
        self.ops = 0

    def _tick(self) -> None:
        if self.crash_at is not None and self.ops == self.crash_at:
            raise Crash(f"crash before op {self.ops}")
        self.ops += 1

    def atomic_writer(self, uri: str) -> AbstractContextManager[BinaryIO]:
        self._tick()
        return super().atomic_writer(uri)

    def delete(self, uri: str, missing_ok: bool = False) -> None:
        self._tick()
        super().delete(uri, missing_ok)


def snapshot(base: Path) -> dict[str, Any]:
    """Everything a rerun must reproduce exactly: data bytes, quarantine entries, stats minus timings."""
    data = {str(p.relative_to(base)): p.read_bytes() for p in base.rglob("*_processed.*")}
    quarantine = {str(p.relative_to(base)): p.read_text() for p in base.rglob("*_quarantine.jsonl")}
    stats = {str(p.relative_to(base)): [{k: v for k, v in s.items() if k in ("name", "pages_in", "pages_out",
                                                                            "errors", "removed", "kept", "split")}
                                        for s in lines(str(p)) if s["name"] not in ("process_setup",
                                                                                    "process_finished", "commit")]
             for p in base.rglob("*_stats.jsonl")}
    leftovers = [str(p) for p in base.rglob("*") if p.is_file() and (p.name.startswith(".") or "_pending" in str(p))]
    return {"data": data, "quarantine": quarantine, "stats": stats, "leftovers": leftovers}


def test_crash_at_every_write_then_rerun_is_identical(tmp_path, PIPE):
    uri = tmp_path / "in" / "s.jsonl.zst"
    uri.parent.mkdir()
    raw = [json.dumps({"text": t, "url": f"u{i}"}) for i, t in enumerate(TEXTS)]
    uri.write_bytes(zstandard.ZstdCompressor().compress(("\n".join([raw[0], "garbage", *raw[1:]]) + "\n").encode()))
    ref_base = tmp_path / "ref"
    counting = CrashingStorage(None)
    process_shard(PIPE, str(uri), str(ref_base), counting)
    reference = snapshot(ref_base)
    assert reference["quarantine"] and not reference["leftovers"]
    for crash_at in range(counting.ops):
        base = tmp_path / f"crash{crash_at}"
        with pytest.raises(Crash):
            process_shard(PIPE, str(uri), str(base), CrashingStorage(crash_at))
        with pytest.raises(Crash):  # a second kill during the recovery run
            process_shard(PIPE, str(uri), str(base), CrashingStorage(1))
        process_shard(PIPE, str(uri), str(base), Storage())
        assert snapshot(base) == reference, f"crash before write/delete #{crash_at}"


def test_processes_a_shard_on_s3(s3_storage, PIPE):
    storage, root = s3_storage
    uri = f"{root}/pool/shard_00.jsonl.gz"
    write_jsonl(pages(), uri, storage)
    res = process_shard(PIPE, uri, f"{root}/out", storage)
    assert res.paths.output == f"{root}/out/processed_data/shard_00_processed.jsonl.gz"
    assert len(list(read_jsonl(res.paths.output, storage))) == 5
    assert not storage.list_files(f"{root}/out/processed_data/_pending")
    again = process_shard(PIPE, uri, f"{root}/out", storage)
    assert not again.wrote_output


def test_real_dclm_operators_with_a_page_they_cannot_handle(tmp_path):
    """DCLM-Pool pages through real operators; a page without WARC metadata is quarantined, not lost."""
    try:
        registry.get_operator("move_url_modifier")
        registry.get_operator("page_length_filter")
    except registry.OperatorError:
        pytest.skip("real operators not registered yet")
    raw = [{"text": "one two three four five six", "metadata": {"WARC-Target-URI": "http://a/1"}},
           {"text": "too short", "metadata": {"WARC-Target-URI": "http://a/2"}},
           {"text": "no metadata on this page at all"}]
    uri = str(tmp_path / "in" / "pool.jsonl.gz")
    write_jsonl(raw, uri)
    p = pipe({"func": "move_url_modifier", "strict": True},  # DCLM's behaviour: KeyError without metadata
             {"func": "page_length_filter", "length_type": "word", "min_length": 4})
    res = process_shard(p, uri, str(tmp_path / "out"))
    assert [x["url"] for x in read_jsonl(res.paths.output)] == ["http://a/1"]
    assert res.paths.output.endswith("pool_processed.jsonl.gz")
    (entry,) = lines(res.paths.quarantine)
    assert entry["step"] == "move_url_modifier" and entry["error"].startswith("KeyError")
    assert [(s["errors"], s["removed"]) for s in lines(res.paths.stats)[1:3]] == [(1, 0), (0, 1)]
