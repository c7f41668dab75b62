"""Test operators for the fault tests, used by dotted path (so only with ``allow_custom`` / the CLI flag).

``stall_once_modifier`` lets a test kill the Ray worker that runs a chosen page: the first time it sees that page
it publishes its worker pid and waits to be killed; once the test has marked the kill, later attempts (Ray's
retry of the task) pass straight through. It never changes a page, so a pipeline with it gives the same output
as one without.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

STALL_LIMIT_S = 120.0


def stall_once_modifier(page: dict[str, Any], flag_dir: str, page_id: str) -> list[dict[str, Any]]:
    """Publish this worker's pid at ``page_id`` and wait to be killed, unless the kill already happened."""
    if page.get("id") != page_id:
        return [page]
    flags = Path(flag_dir)
    with open(flags / "attempts", "a") as fh:  # one line per attempt at this page: pid
        fh.write(f"{os.getpid()}\n")
    if (flags / "killed").exists():
        return [page]
    tmp = flags / f".victim.{os.getpid()}"
    tmp.write_text(str(os.getpid()))
    os.replace(tmp, flags / "victim.pid")
    deadline = time.monotonic() + STALL_LIMIT_S
    while time.monotonic() < deadline:
        time.sleep(0.05)
    raise RuntimeError(f"stall_once_modifier: worker {os.getpid()} was not killed within {STALL_LIMIT_S} s")
