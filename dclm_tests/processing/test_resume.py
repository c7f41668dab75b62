"""Kill ``dclm process`` with SIGKILL at several points, rerun it, and get exactly the uninterrupted output.

The run is a real CLI subprocess with its own local Ray; a kill takes down every process of its session
(driver, raylet, workers), like a machine dying. ``DCLM_TEST_SLEEP`` slows the test operator so the kills land
mid-run: after some shards finished the first chunk while another sits between its two commits, and in the
chunk after the global ``exact_dedup`` step. (Kills at each individual write inside a commit are covered
in-process by ``test_shard.py``, kills inside a global step by ``test_runner.py``.)
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from dclm_resources.compute import ray_session
from dclm_resources.processing.registry import is_global_step
from dclm_resources.processing.runner import process_dataset
from dclm_resources.storage import Storage, basename, read_jsonl, write_jsonl
from dclm_tests.paths import REPO_ROOT
from dclm_tests.processing.custom_ops import PREFIX, real_operators_available

NUM_SHARDS, PAGES = 6, 8
PIPELINE = f"""
- source: cc
  steps:
    - func: {PREFIX}tag_modifier
      tag: a
    - func: {PREFIX}min_chars_filter
      min_chars: 12
    - commit
    - func: {PREFIX}tag_modifier
      tag: b
    - func: exact_dedup
      content_key: text
    - func: {PREFIX}split_modifier
    - func: {PREFIX}tag_modifier
      tag: c
    - func: {PREFIX}counter_enricher
"""
STEP_NAMES = ["tag_modifier", "min_chars_filter", "tag_modifier", "exact_dedup", "split_modifier", "tag_modifier",
              "counter_enricher"]


def make_pool(pool: Path) -> None:
    for s in range(NUM_SHARDS):
        pages = [{"text": f"page {p} of shard {s}" + (" || second half" if p % 3 == 0 else ""), "id": f"{s}-{p}"}
                 for p in range(PAGES)]
        pages[1]["text"] = "a page every shard holds"  # exact_dedup keeps the first one only
        pages.append({"text": "short", "id": f"{s}-short"})
        write_jsonl(pages, str(pool / f"shard_{s:02d}.jsonl.zst"))


def start(config: Path, pool: Path, out: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DCLM_TEST_SLEEP": "0.06"}
    cmd = [sys.executable, "-m", "dclm_assets.cli", "process", "--config", str(config), "--source-name", "cc",
           "--input", str(pool), "--output", str(out), "--workers", "2", "--allow-custom-operators"]
    return subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


def kill_session(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL every process of the run's session: the CLI, its Ray head processes and its Ray workers."""
    victims = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.getsid(int(entry)) == proc.pid:
                    victims.append(int(entry))
            except OSError:
                continue
    for pid in victims:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    deadline = time.monotonic() + 10
    while any(os.path.exists(f"/proc/{pid}") and _alive(pid) for pid in victims) and time.monotonic() < deadline:
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def stats_of(out: Path) -> dict[str, list[str]]:
    return {p.name: [json.loads(x)["name"] for x in p.read_text().splitlines()]
            for p in sorted((out / "stats").glob("*_stats.jsonl"))} if (out / "stats").exists() else {}


def finished(names: list[str]) -> bool:
    """The shard finished the first chunk (it stops at exact_dedup)."""
    return "process_finished" in names


def between_commits(names: list[str]) -> bool:
    return names.count("commit") == 1 and not finished(names)


def finished_last_chunk(names: list[str]) -> bool:
    return names.count("process_finished") >= 2


def global_rows(out: Path) -> int:
    path = out / "global_stats.jsonl"
    return len(path.read_text().splitlines()) if path.exists() else 0


def run_until(config: Path, pool: Path, out: Path, condition: Callable[[dict[str, list[str]]], bool]) -> None:
    proc = start(config, pool, out)
    deadline = time.monotonic() + 120
    try:
        while not condition(stats_of(out)):
            if proc.poll() is not None:
                pytest.fail(f"run ended before the kill point: {proc.stderr.read().decode()[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail("kill point never reached")
            time.sleep(0.02)
    finally:
        kill_session(proc)


@pytest.mark.timeout(240)
def test_sigkill_and_rerun_gives_the_uninterrupted_output(tmp_path):
    if not real_operators_available() or not is_global_step("exact_dedup"):
        pytest.skip("the operator catalogue (with exact_dedup) is not complete yet")
    pool, out, ref = tmp_path / "pool", tmp_path / "out", tmp_path / "ref"
    make_pool(pool)
    config = tmp_path / "pipe.yaml"
    config.write_text(PIPELINE)
    with ray_session(num_cpus=2):  # the uninterrupted reference, in this process
        process_dataset(str(config), "cc", str(pool), str(ref), allow_custom=True, progress=False)

    # Kill 1: once two shards have finished the first chunk and another sits between its two commits.
    run_until(config, pool, out, lambda st: sum(map(finished, st.values())) >= 2
              and any(map(between_commits, st.values())))
    killed = stats_of(out)
    assert 2 <= sum(map(finished, killed.values())) < NUM_SHARDS
    assert any(between_commits(v) for v in killed.values())  # the rerun resumes from a mid-shard commit
    # Kill 2: in the chunk after the global step, once some shards (not all) have finished it.
    run_until(config, pool, out, lambda st: global_rows(out) >= 2
              and 0 < sum(map(finished_last_chunk, st.values())) < NUM_SHARDS)

    proc = start(config, pool, out)
    stdout, stderr = proc.communicate(timeout=180)
    assert proc.returncode == 0, stderr.decode()[-3000:]
    summary = json.loads(stdout)

    expected = {p.name: p.read_bytes() for p in sorted((ref / "processed_data").glob("*_processed.jsonl.zst"))}
    got = {p.name: p.read_bytes() for p in sorted((out / "processed_data").glob("*_processed.jsonl.zst"))}
    assert len(expected) == NUM_SHARDS and got.keys() == expected.keys()
    for name in expected:
        want = [(p["id"], p["text"], p["tags"], p["n"]) for p in read_jsonl(str(ref / "processed_data" / name))]
        assert want and all(p[2] == ["a", "b", "c"] for p in want)
        have = [(p["id"], p["text"], p["tags"], p["n"]) for p in read_jsonl(str(out / "processed_data" / name))]
        assert have == want, name  # same pages, same order, each step applied exactly once
        assert got[name] == expected[name], name  # and byte-identical files
    # A kill inside an atomic write leaves only a hidden temp file; what a reader lists is exactly the dataset.
    listed = [basename(f.uri) for f in Storage().list_files(str(out / "processed_data"))]
    assert sorted(listed) == sorted(expected)

    pages_out = 0
    for name in stats_of(out):
        lines = [json.loads(x) for x in (out / "stats" / name).read_text().splitlines()]
        steps = [x for x in lines if x["name"] not in ("process_setup", "process_finished", "commit")]
        assert [x["name"].rsplit(".", 1)[-1] for x in steps] == STEP_NAMES, name
        assert steps[0]["pages_in"] == PAGES + 1
        for prev, cur in zip(steps, steps[1:], strict=False):
            assert cur["pages_in"] == prev["pages_out"]
        for step in steps:
            if step["name"] != "exact_dedup":
                assert step["pages_in"] == step["removed"] + step["kept"] + step["split"] + step["errors"]
        pages_out += steps[-1]["pages_out"]
    assert summary["pages_out"] == pages_out == sum(len(list(read_jsonl(str(p))))
                                                    for p in (ref / "processed_data").glob("*_processed.*"))
    assert summary["pages_in"] == NUM_SHARDS * (PAGES + 1)
    ids = [p["id"] + str(p.get("part", "")) for f in got for p in read_jsonl(str(out / "processed_data" / f))]
    assert len(ids) == len(set(ids))
