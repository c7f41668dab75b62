"""A corpus of bad inputs through ``dclm process`` and ``dclm tokenize``: each ends in quarantine with a count, or in
one clear error line naming the file and line (or the YAML key), never in a traceback.

Processing: one real ``dclm process`` subprocess over a folder holding one file per kind (``corpus.py``); then a
test per kind reads that run's stats, quarantine and output. Errors that stop a run (bad YAML, bad paths, a
corrupt model) go through ``dclm_assets.cli.main`` in this process, sharing one local Ray. Tokenization: each
kind beside a good file through ``main(["tokenize", ...])``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from dclm_assets.cli import main
from dclm_resources.storage import read_jsonl
from dclm_tests.processing.models import train_tiny_quality
from dclm_tests.reliability import procs
from dclm_tests.reliability.corpus import (
    PROCESS_KINDS,
    WRONG_EXTENSIONS,
    BadFile,
    good_pages,
    process_corpus,
)

PIPELINE = """
- source: cc
  steps:
    - func: page_length_filter
      length_type: char
      max_length: 100000000
    - func: line_length_modifier
      min_length: 5
    - commit
    - func: substring_filter
      banlist: ['lorem ipsum']
"""
CONTROL = ("process_setup", "process_finished", "commit")


class CorpusRun(NamedTuple):
    files: dict[str, BadFile]
    pool: Path
    out: Path
    code: int
    summary: dict[str, Any]
    stderr: str


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory: pytest.TempPathFactory) -> CorpusRun:
    root = tmp_path_factory.mktemp("bad_corpus")
    pool, out = root / "pool", root / "out"
    pool.mkdir()
    files = {f.kind: f for f in process_corpus()}
    for f in files.values():
        (pool / f.name).write_bytes(f.data)
    for name in WRONG_EXTENSIONS.values():
        (pool / name).write_bytes(b"PAR1 not a shard PAR1" if name.endswith(".parquet") else b"notes\n")
    config = root / "pipeline.yaml"
    config.write_text(PIPELINE)
    code, run = procs.run(["process", "--config", str(config), "--source-name", "cc", "--input", str(pool),
                           "--output", str(out), "--workers", "2"], root / "logs")
    summary = json.loads(run.stdout()) if code == 0 else {}
    return CorpusRun(files, pool, out, code, summary, run.stderr())


def _shard(f: BadFile) -> str:
    return f.name.split(".jsonl", 1)[0]


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_corpus_run_completes_and_adds_up(corpus_run: CorpusRun):
    assert corpus_run.code == 0, corpus_run.stderr[-3000:]
    assert "Traceback" not in corpus_run.stderr
    s = corpus_run.summary
    assert s["num_shards"] == len(corpus_run.files)
    assert s["pages_in"] == sum(f.pages for f in corpus_run.files.values())
    assert s["lines_quarantined"] == sum(len(f.quarantined) for f in corpus_run.files.values())
    assert s["pages_in"] == s["pages_out"] + sum(step["removed"] for step in s["steps"]) + s["pages_errored"]


@pytest.mark.parametrize("kind", PROCESS_KINDS)
def test_process_bad_shard(corpus_run: CorpusRun, kind: str):
    """Pages before the fault are read, each bad line (or broken stream) is one quarantine entry naming
    ``file:line``, and read = kept + removed + quarantined."""
    f = corpus_run.files[kind]
    shard = _shard(f)
    stats = _lines(corpus_run.out / "stats" / f"{shard}_stats.jsonl")
    output = corpus_run.out / "processed_data" / f"{shard}_processed.{f.name.split('.', 1)[1]}"
    quarantine = _lines(corpus_run.out / "quarantine" / f"{shard}_quarantine.jsonl")
    if f.pages == 0 and not f.quarantined:  # empty and zero-byte shards: DCLM returns at once, writes nothing
        assert not stats and not output.exists() and not quarantine
        return
    steps = [x for x in stats if x["name"] not in CONTROL]
    setup = [x for x in stats if x["name"] == "process_setup"]
    assert steps[0]["pages_in"] == f.pages
    assert sum(x["pages_quarantined"] for x in setup) == len(f.quarantined) == len(quarantine)
    for entry, (line, reason) in zip(quarantine, f.quarantined, strict=True):
        assert entry["source"] == f"{corpus_run.pool / f.name}:{line}"
        assert reason in entry["error"], entry["error"]
    for step in steps:
        assert step["pages_in"] == step["removed"] + step["kept"] + step["split"] + step["errors"]
    assert f.pages + len(f.quarantined) == steps[-1]["pages_out"] + sum(s["removed"] for s in steps) + len(quarantine)
    got = {p["id"]: p["text"] for p in read_jsonl(str(output))}
    assert len(got) == steps[-1]["pages_out"]
    for page in f.kept:
        assert got.get(page["id"]) == page["text"], f"{page['id']} did not come out unchanged"


@pytest.mark.parametrize("kind", sorted(WRONG_EXTENSIONS))
def test_process_skips_and_reports_wrong_extension(corpus_run: CorpusRun, kind: str):
    path = str(corpus_run.pool / WRONG_EXTENSIONS[kind])
    assert path in corpus_run.summary["skipped_inputs"]
    assert "not JSONL shards and were skipped" in corpus_run.stderr and path in corpus_run.stderr
    assert not list((corpus_run.out / "stats").glob(f"{Path(path).stem}*"))


# ----------------------------------------------------------------------------------------------------------------
# inputs that stop a run: one clear line on stderr, exit status 1
# ----------------------------------------------------------------------------------------------------------------


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)  # an uncaught exception here would be the traceback a user sees
    out, err = capsys.readouterr()
    return code, out, err


def _good_pool(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "good.jsonl", "w") as fh:
        fh.writelines(json.dumps(p) + "\n" for p in good_pages(5))
    return folder


def _process(tmp_path: Path, yaml_text: str, inputs: str | None = None, *extra: str) -> list[str]:
    config = tmp_path / "pipeline.yaml"
    config.write_text(yaml_text)
    inputs = inputs or str(_good_pool(tmp_path / "pool"))
    return ["process", "--config", str(config), "--source-name", "cc", "--input", inputs,
            "--output", str(tmp_path / "out"), "--workers", "2", *extra]


def _one_error_line(err: str, command: str = "process") -> str:
    assert "Traceback" not in err, err
    lines = [x for x in err.splitlines() if x.startswith(f"dclm {command}: error: ")]
    assert len(lines) == 1, err
    return lines[0]


def test_unknown_operator_name(tmp_path, capsys):
    code, _, err = _cli(_process(tmp_path, "- source: cc\n  steps:\n    - func: page_lenght_filter\n"), capsys)
    assert code == 1
    line = _one_error_line(err)
    assert str(tmp_path / "pipeline.yaml") in line and "step 0" in line and "'page_lenght_filter'" in line


def test_wrong_parameter_type(tmp_path, capsys):
    yaml_text = PIPELINE.replace("min_length: 5", 'min_length: "five"')
    code, _, err = _cli(_process(tmp_path, yaml_text), capsys)
    assert code == 1
    line = _one_error_line(err)
    assert str(tmp_path / "pipeline.yaml") in line and "step 1 (func: line_length_modifier)" in line
    assert "'min_length'" in line and "'five'" in line
    assert not (tmp_path / "out").exists(), "refused before anything ran"


def test_yaml_python_tag_refused_by_safe_load(tmp_path, capsys):
    marker = tmp_path / "executed"
    yaml_text = f'- source: cc\n  steps:\n    - !!python/object/apply:os.system ["touch {marker}"]\n'
    code, _, err = _cli(_process(tmp_path, yaml_text), capsys)
    assert code == 1
    line = _one_error_line(err)
    assert str(tmp_path / "pipeline.yaml") in line and "not valid YAML" in line and "python/object" in err
    assert not marker.exists(), "the YAML tag must never run"


def test_custom_dotted_operator_refused_without_flag(tmp_path, capsys, monkeypatch):
    marker = tmp_path / "imported"
    monkeypatch.setenv("DCLM_TEST_IMPORT_MARKER", str(marker))
    yaml_text = "- source: cc\n  steps:\n    - func: dclm_tests.reliability.import_marker.passthrough_modifier\n"
    code, _, err = _cli(_process(tmp_path, yaml_text), capsys)
    assert code == 1
    line = _one_error_line(err)
    assert "refused" in line and "--allow-custom-operators" in line
    assert not marker.exists(), "a refused operator's module must not even be imported"


def test_missing_input_path(tmp_path, capsys, ray_local):
    missing = tmp_path / "no" / "such" / "pool"
    code, _, err = _cli(_process(tmp_path, PIPELINE, str(missing)), capsys)
    assert code == 1
    assert f"{missing}: no such file or directory" in _one_error_line(err)


def test_unreadable_file(tmp_path, capsys, ray_local):
    """Non-root: a chmod 000 shard. Root reads any file, so there a directory stands where the shard should be."""
    if os.geteuid() == 0:
        shard = tmp_path / "unreadable.jsonl"
        shard.mkdir()
        inputs, reason = str(shard), "is a directory, not a file"
    else:
        pool = _good_pool(tmp_path / "pool")
        shard = pool / "unreadable.jsonl"
        shard.write_text('{"text": "locked"}\n')
        shard.chmod(0)
        inputs, reason = str(pool), "Permission denied"
    code, _, err = _cli(_process(tmp_path, PIPELINE, inputs), capsys)
    assert code == 1
    line = _one_error_line(err)
    assert "1 shard(s) failed: unreadable: StorageError" in line and f"{shard}: " in line and reason in line


@pytest.mark.parametrize("case", ["quality_truncated", "lid_garbage"])
def test_corrupt_fasttext_model(tmp_path, capsys, ray_local, case):
    """A model cut in half (fastText itself would load it and predict 0.5 for everything) or plain garbage."""
    model = tmp_path / "model.bin"
    if case == "quality_truncated":
        whole = train_tiny_quality(tmp_path).read_bytes()
        model.write_bytes(whole[: len(whole) // 2])
        step = f"classify_fasttext_hq_prob_enricher\n      model_filename: {model}"
    else:
        model.write_bytes(os.urandom(4096))
        step = f"detect_lang_whole_page_enricher\n      model: fasttext\n      model_path: {model}"
    code, _, err = _cli(_process(tmp_path, f"- source: cc\n  steps:\n    - func: {step}\n"), capsys)
    assert code == 1
    line = _one_error_line(err)
    assert "ModelFileError" in line and str(model) in line and "not a loadable fastText model" in line
