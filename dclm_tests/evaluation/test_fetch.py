"""``dclm eval-data fetch``: offline, against a local llm-foundry-like git repository served by ``file://``.

The source repository is built in tmp with a few real task files from ``../shared/data/eval/local_data`` under
``scripts/eval/local_data`` (as in llm-foundry), then fetched by ``git clone --depth 1`` and by per-file URLs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from dclm_assets.cli_eval_tools import main as cli_main
from dclm_resources.evaluation.fetch import (
    EvalDataError,
    fetch_eval_data,
    format_checks,
    http_file_list,
    load_checksums,
    suite_status,
    verify_file,
    verify_local_data,
)
from dclm_tests.paths import shared_data

SAMPLE = [
    "commonsense_reasoning/copa.jsonl",
    "language_understanding/winograd_wsc.jsonl",
    "language_understanding/lambada_openai_small.jsonl",
    "symbolic_problem_solving/bigbench_repeat_copy_logic.jsonl",
    "world_knowledge/jeopardy_small.jsonl",
    "world_knowledge/triviaqa_small.jsonl",
]


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=test", "-c", "user.email=test@example.com", "-c",
                    "init.defaultBranch=main", *args], cwd=repo, check=True, capture_output=True)


def _make_repo(root: Path, files: dict[str, bytes]) -> Path:
    """A git repository holding ``files`` under scripts/eval/local_data, plus a README as llm-foundry has."""
    local = root / "scripts" / "eval" / "local_data"
    for relpath, data in files.items():
        (local / relpath).parent.mkdir(parents=True, exist_ok=True)
        (local / relpath).write_bytes(data)
    (local / "README.md").write_text("ICL task data\n")
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "data")
    return root


@pytest.fixture(scope="module")
def sample_files() -> dict[str, bytes]:
    shared = shared_data("eval", "local_data")
    return {relpath: (shared / relpath).read_bytes() for relpath in SAMPLE}


@pytest.fixture(scope="module")
def source_repo(tmp_path_factory: pytest.TempPathFactory, sample_files: dict[str, bytes]) -> Path:
    return _make_repo(tmp_path_factory.mktemp("llm-foundry"), sample_files)


def _no_staging_left(folder: Path) -> bool:
    return not any(p.name.startswith(".local_data.fetch-") for p in folder.iterdir())


def test_git_fetch_copies_local_data_verifies_and_reports(source_repo: Path, tmp_path: Path) -> None:
    dest = tmp_path / "eval"
    result = fetch_eval_data(dest, "git", source_repo.as_uri())
    assert result.target == dest / "local_data"
    arrived = sorted(p.relative_to(result.target).as_posix() for p in result.target.rglob("*") if p.is_file())
    assert arrived == sorted([*SAMPLE, "README.md"])  # the whole folder, as DCLM's cp -r does
    assert [(c.relpath, c.status) for c in result.checks] == [(r, "ok") for r in sorted(SAMPLE)]
    assert {c.relpath: c.records for c in result.checks}["commonsense_reasoning/copa.jsonl"] == 100
    assert _no_staging_left(dest)

    status = {s.name: s for s in suite_status(dest)}
    assert status["core"].present == ["copa", "winograd", "bigbench_repeat_copy_logic"]
    assert len(status["core"].missing) == 19 and not status["core"].complete
    assert status["light"].present == []


def test_existing_copy_needs_force_and_is_replaced_whole(
    source_repo: Path, sample_files: dict[str, bytes], tmp_path: Path
) -> None:
    dest = tmp_path / "eval"
    fetch_eval_data(dest, "git", source_repo.as_uri())
    (dest / "local_data" / "stale.jsonl").write_text('{"context": "a", "continuation": "b"}\n')
    with pytest.raises(EvalDataError, match="already exists; pass --force"):
        fetch_eval_data(dest, "git", source_repo.as_uri())
    smaller = _make_repo(tmp_path / "smaller", {SAMPLE[0]: sample_files[SAMPLE[0]]})
    result = fetch_eval_data(dest, "git", smaller.as_uri(), force=True)
    assert sorted(p.name for p in result.target.rglob("*.jsonl")) == ["copa.jsonl"]
    assert _no_staging_left(dest)


def test_dest_named_local_data_is_the_target(source_repo: Path, tmp_path: Path) -> None:
    result = fetch_eval_data(tmp_path / "local_data", "git", source_repo.as_uri())
    assert result.target == tmp_path / "local_data"
    assert (tmp_path / "local_data" / "commonsense_reasoning" / "copa.jsonl").is_file()


def test_http_fetch_of_per_file_urls(source_repo: Path, tmp_path: Path) -> None:
    base = (source_repo / "scripts" / "eval" / "local_data").as_uri()
    result = fetch_eval_data(tmp_path / "eval", "http", base)
    wanted = http_file_list()
    assert set(SAMPLE) <= set(wanted)
    arrived = sorted(p.relative_to(result.target).as_posix() for p in result.target.rglob("*") if p.is_file())
    assert arrived == sorted(SAMPLE)  # only the files asked for; README.md is not a task file
    assert sorted(result.not_found) == sorted(set(wanted) - set(SAMPLE))
    assert "language_understanding/hellaswag.jsonl" in result.not_found
    assert all(c.status == "ok" for c in result.checks)


def test_a_bad_file_installs_nothing_and_keeps_the_old_copy(
    source_repo: Path, sample_files: dict[str, bytes], tmp_path: Path
) -> None:
    dest = tmp_path / "eval"
    fetch_eval_data(dest, "git", source_repo.as_uri())
    before = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*"))
    files = dict(sample_files)
    lines = files["commonsense_reasoning/copa.jsonl"].split(b"\n")
    record = json.loads(lines[4])
    record["gold"] = 7  # out of range for two choices
    lines[4] = json.dumps(record).encode()
    files["commonsense_reasoning/copa.jsonl"] = b"\n".join(lines)
    bad = _make_repo(tmp_path / "bad", files)
    with pytest.raises(EvalDataError, match=r"copa\.jsonl: invalid: line 5: gold 7 is outside 0\.\.1"):
        fetch_eval_data(dest, "git", bad.as_uri(), force=True)
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*")) == before
    assert _no_staging_left(dest)


def test_a_bad_file_no_task_reads_is_reported_not_fatal(sample_files: dict[str, bytes], tmp_path: Path) -> None:
    files = dict(sample_files)
    files["long_context/kv_pairs.jsonl"] = b'{"context": "k", "continuation": "v"}\nnot json\n'
    result = fetch_eval_data(tmp_path / "eval", "git", _make_repo(tmp_path / "src", files).as_uri())
    check = {c.relpath: c for c in result.checks}["long_context/kv_pairs.jsonl"]
    assert check.status == "invalid" and check.detail.startswith("line 2: not valid JSON")
    assert "long_context/kv_pairs.jsonl: invalid" in format_checks(result.checks)
    assert (result.target / "commonsense_reasoning" / "copa.jsonl").is_file()


def test_changed_files_are_reported_or_rejected_when_strict(
    sample_files: dict[str, bytes], tmp_path: Path
) -> None:
    files = dict(sample_files)
    extra = {"query": "The sky is", "choices": ["blue.", "green."], "gold": 0}
    files["commonsense_reasoning/copa.jsonl"] += (json.dumps(extra) + "\n").encode()
    repo = _make_repo(tmp_path / "changed", files)
    result = fetch_eval_data(tmp_path / "a", "git", repo.as_uri())
    status = {c.relpath: c for c in result.checks}["commonsense_reasoning/copa.jsonl"]
    assert status.status == "changed" and status.records == 101
    assert "1 changed" in format_checks(result.checks)
    with pytest.raises(EvalDataError, match="changed"):
        fetch_eval_data(tmp_path / "b", "git", repo.as_uri(), strict=True)
    assert not (tmp_path / "b" / "local_data").exists()


def test_unreachable_sources_fail_cleanly(tmp_path: Path) -> None:
    with pytest.raises(EvalDataError, match="git clone of .* failed"):
        fetch_eval_data(tmp_path / "eval", "git", (tmp_path / "nowhere").as_uri())
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(EvalDataError, match="no .jsonl task files arrived"):
        fetch_eval_data(tmp_path / "eval", "http", empty.as_uri())
    with pytest.raises(EvalDataError, match="unknown method"):
        fetch_eval_data(tmp_path / "eval", "ftp")
    assert not (tmp_path / "eval" / "local_data").exists() and _no_staging_left(tmp_path / "eval")


@pytest.mark.parametrize(
    ("icl_type", "record", "problem"),
    [
        ("multiple_choice", {"query": "q", "choices": ["a", "b"]}, "field 'gold' must be of type int"),
        ("multiple_choice", {"query": "q", "choices": ["a", 2], "gold": 0}, "non-empty list of strings"),
        ("multiple_choice", {"query": "q", "choices": ["a", "b"], "gold": True}, "field 'gold'"),
        ("schema", {"context_options": ["a", "b"], "continuation": "c", "gold": 2}, "gold 2 is outside 0..1"),
        ("language_modeling", {"context": "a"}, "field 'continuation'"),
        ("generation_task_with_answers", {"context": "a", "answer": "b", "aliases": "b"}, "'aliases'"),
        ("language_modeling", ["context", "continuation"], "expected a JSON object"),
    ],
)
def test_record_shapes_are_checked_per_task_type(tmp_path: Path, icl_type: str, record: object, problem: str) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(record) + "\n")
    check = verify_file(path, "t.jsonl", icl_type)
    assert check.status == "invalid" and problem in check.detail and check.detail.startswith("line 1:")


def test_categories_required_for_category_tasks_and_types_inferred(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"context": "a", "continuation": "b"}\n\n{"context": "c", "continuation": "d"}\n')
    assert verify_file(path, "t.jsonl", "language_modeling").records == 2
    check = verify_file(path, "t.jsonl", "language_modeling", has_categories=True)
    assert check.status == "invalid" and "'category'" in check.detail
    path.write_text('{"query": "q", "choices": ["a"], "gold": 0}\n{"query": "q", "choices": ["a"], "gold": 3}\n')
    check = verify_file(path, "t.jsonl")  # no task names this file: the first record's shape is enforced
    assert check.status == "invalid" and check.detail.startswith("line 2: gold 3")
    path.write_text('{"context": "a", "continuation": "b"}\n{"context": "a", "continu')
    assert verify_file(path, "t.jsonl").detail.startswith("line 2: not valid JSON")
    path.write_text("\n")
    assert verify_file(path, "t.jsonl").detail == "no records"


def test_shared_local_data_verifies_against_the_checksum_table() -> None:
    local = shared_data("eval", "local_data")
    checks = verify_local_data(local)
    assert len(checks) == len(load_checksums()) == 46
    assert all(c.status == "ok" for c in checks), [c for c in checks if c.status != "ok"]


def test_cli_fetch_and_status(source_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    base = (source_repo / "scripts" / "eval" / "local_data").as_uri()
    dest = tmp_path / "eval"
    assert cli_main(["eval-data", "fetch", "--dest", str(dest), "--method", "http", "--source", base]) == 0
    out = capsys.readouterr().out
    assert "verified 6 file(s): 6 ok" in out
    assert "suite core: 3/22 tasks present (incomplete)" in out
    assert "missing hellaswag_zeroshot:" in out
    assert cli_main(["eval-data", "fetch", "--dest", str(dest), "--source", base, "--method", "http"]) == 1
    assert "already exists" in capsys.readouterr().err

    (dest / "local_data" / "commonsense_reasoning" / "copa.jsonl").write_text('{"query": 1}\n')
    assert cli_main(["eval-data", "status", "--data-dir", str(dest), "--suite", "light", "--verify"]) == 1
    out = capsys.readouterr().out
    assert "suite light: 0/2 tasks present" in out and "suite core" not in out
    assert "commonsense_reasoning/copa.jsonl: invalid" in out
    shutil.rmtree(dest / "local_data")
    assert cli_main(["eval-data", "status", "--data-dir", str(dest), "--suite", "medium"]) == 0
    assert "suite medium: 0/12 tasks present" in capsys.readouterr().out
