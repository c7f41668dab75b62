"""A Ray worker SIGKILLed in the middle of a shard task: Ray retries the task and the output is complete.

``map_tasks`` submits every task with ``max_retries`` (3), which Ray applies to system failures such as a dead
worker process; the retried task resumes the shard from its stats file (its first commit is already there), so
the result equals an uninterrupted run page for page and byte for byte.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from dclm_resources.processing.runner import process_dataset
from dclm_tests.reliability.conftest import Reference
from dclm_tests.reliability.pool import PIPELINE, STEP_NAMES, assert_same_as_reference, page_ids, stats_lines

OP = "dclm_tests.reliability.ops.stall_once_modifier"
VICTIM_SHARD = "shard_03"


def _pipeline_with_stall(flag_dir: Path, page_id: str) -> str:
    """The reference pipeline with the stalling operator right after the commit (so the kill lands mid-shard)."""
    step = f"    - func: {OP}\n      flag_dir: {flag_dir}\n      page_id: {page_id}\n"
    head, tail = PIPELINE.split("    - commit\n")
    return head + "    - commit\n" + step + tail


def _killer(flag_dir: Path, killed: list[int], stop: threading.Event) -> None:
    """Wait for the victim's pid, mark the kill (so the retry passes), then SIGKILL that worker process."""
    pid_file = flag_dir / "victim.pid"
    while not stop.is_set():
        if pid_file.exists():
            pid = int(pid_file.read_text())
            (flag_dir / "killed").write_text(str(pid))
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
            return
        time.sleep(0.02)


@pytest.mark.timeout(300)
def test_worker_killed_mid_task_is_retried_and_output_complete(reference: Reference, tmp_path: Path, ray_local):
    victim_page = page_ids(str(reference.out / "processed_data" / f"{VICTIM_SHARD}_processed.jsonl.zst"))[3]
    flags = tmp_path / "flags"
    flags.mkdir()
    config = tmp_path / "pipeline.yaml"
    config.write_text(_pipeline_with_stall(flags, victim_page))
    out = tmp_path / "out"
    killed: list[int] = []
    stop = threading.Event()
    killer = threading.Thread(target=_killer, args=(flags, killed, stop), daemon=True)
    killer.start()
    try:
        summary = process_dataset(str(config), "cc", str(reference.pool), str(out), allow_custom=True,
                                  progress=False)
    finally:
        stop.set()
        killer.join(timeout=5)

    assert len(killed) == 1, "the stalling task never published its worker pid"
    attempts = [int(x) for x in (flags / "attempts").read_text().split()]
    assert attempts[0] == killed[0] and len(attempts) == 2, attempts  # killed once, retried once
    assert attempts[1] != killed[0], "the retry ran in a new worker process"
    assert summary.failed_shards == {}
    assert summary.chunks[0]["num_failures"] == 0 and summary.chunks[0]["num_successes"] == len(reference.lines_in)
    setups = [x for x in stats_lines(str(out))[VICTIM_SHARD] if x["name"] == "process_setup"]
    assert [s["first_run"] for s in setups[:2]] == [True, False], "the retry resumed from the killed task's commit"
    steps = [*STEP_NAMES[:5], OP, *STEP_NAMES[5:]]
    assert_same_as_reference(str(out), str(reference.out), reference.lines_in, steps=steps)
