"""SIGKILL a real ``dclm process`` run (CLI, its local Ray, every worker) at chosen points; the rerun's output is
exactly the uninterrupted run's: same files, same page ids in the same order, same bytes after decompression,
every step recorded once per shard, and the stats add up.

Kill points (each is checked again on the frozen run before the kill, see ``procs.kill_when``):

- ``mid_shard``: a shard has made its first commit and not its second (it is between steps 5 and 11);
- ``pending_tmp``: a commit is writing its data to ``processed_data/_pending/`` (before the commit point);
- ``stats_tmp``: a commit is replacing the stats file (the commit point itself: temp file written, not renamed);
- ``output_tmp``: a committed shard's output is being copied over ``*_processed.jsonl.zst`` (after the point);
- ``exact_dedup_rewrite``: the global ``exact_dedup`` step is writing a deduplicated shard (temp file present);
- ``exact_dedup_record``: ``exact_dedup`` finished and its stats line is in some shards' stats but not all.

``test_resume.py`` (processing) covers kills between a shard's commits and in the chunk after a global step with
test operators; these use the real operators on real pages and aim at the writes themselves.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from dclm_tests.reliability import procs
from dclm_tests.reliability.conftest import Reference
from dclm_tests.reliability.pool import assert_same_as_reference, process_args, stats_lines

DEDUP_DIR = "working/01_exact_dedup"


def _tmp_files(folder: Path) -> list[str]:
    try:
        return [n for n in os.listdir(folder) if n.startswith(".") and n.endswith(".tmp")]
    except OSError:
        return []


def _names(out: Path) -> dict[str, list[str]]:
    try:
        return {k: [x["name"] for x in v] for k, v in stats_lines(str(out)).items()}
    except (OSError, ValueError):  # a stats file replaced while being read: not a state to kill in
        return {}


def mid_shard(out: Path) -> bool:
    return any(n.count("commit") == 1 and "process_finished" not in n for n in _names(out).values())


def pending_tmp(out: Path) -> bool:
    pending = out / "processed_data" / "_pending"
    try:
        shards = os.listdir(pending)
    except OSError:
        return False
    return any(_tmp_files(pending / s) for s in shards)


def stats_tmp(out: Path) -> bool:
    return bool(_tmp_files(out / "stats"))


def output_tmp(out: Path) -> bool:
    return bool(_tmp_files(out / "processed_data"))


def exact_dedup_rewrite(out: Path) -> bool:
    return bool(_tmp_files(out / DEDUP_DIR))


def exact_dedup_record(out: Path) -> bool:
    recorded = [("exact_dedup" in n) for n in _names(out).values()]
    return any(recorded) and not all(recorded)


def _kill_at(ref: Reference, out: Path, point: Callable[[Path], bool], logs: Path) -> None:
    run = procs.start(process_args(ref.config, str(ref.pool), str(out)), logs, tag=point.__name__)
    assert procs.kill_when(run, lambda: point(out), poll=0.001), f"the run ended before reaching {point.__name__}"
    assert point(out), f"after the kill the output no longer shows {point.__name__}"


def _rerun_and_compare(ref: Reference, out: Path, logs: Path) -> None:
    code, run = procs.run(process_args(ref.config, str(ref.pool), str(out)), logs, tag="rerun")
    assert code == 0, run.stderr()[-3000:]
    assert_same_as_reference(str(out), str(ref.out), ref.lines_in)


@pytest.mark.timeout(420)
def test_sigkill_mid_shard_mid_commit_and_in_exact_dedup_then_rerun_matches(reference: Reference, tmp_path: Path):
    """Three kills in a row on one output folder, each resumed by the next run, then a final rerun."""
    out = tmp_path / "out"
    for point in (mid_shard, output_tmp, exact_dedup_record):
        _kill_at(reference, out, point, tmp_path / "logs")
    _rerun_and_compare(reference, out, tmp_path / "logs")


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("point", [pending_tmp, stats_tmp, exact_dedup_rewrite], ids=lambda p: p.__name__)
def test_sigkill_at_one_write_then_rerun_matches(reference: Reference, tmp_path: Path, point):
    out = tmp_path / "out"
    _kill_at(reference, out, point, tmp_path / "logs")
    _rerun_and_compare(reference, out, tmp_path / "logs")
