"""Real processes for the fault tests: start a ``dclm`` command in its own session, freeze it, kill all of it.

Why a session: ``dclm process`` starts a local Ray (GCS, raylet, workers) as children; SIGKILL of every process
whose session id is the CLI's pid takes the whole run down at once, like a machine dying. Why freeze first: a
kill point such as "a temp file exists" is seen by polling; SIGSTOP of the session makes the state stand still, so
the test checks the condition again on the frozen run and only then kills (or thaws and polls on). The kill
therefore lands exactly where the test says it did.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from dclm_tests.paths import REPO_ROOT

CLI = (sys.executable, "-m", "dclm_assets.cli")


@dataclass
class Run:
    """A started ``dclm`` command; its output goes to files (a full pipe would block it)."""

    proc: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def wait(self, timeout: float) -> int:
        """Exit status; on timeout the whole session is killed and the test fails with the output tail."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_session(self)
            raise AssertionError(f"dclm did not finish in {timeout:.0f} s; stderr tail:\n{self.stderr()[-3000:]}") from None


def start(args: Sequence[str], log_dir: Path, env: dict[str, str] | None = None, tag: str = "run") -> Run:
    """Start ``python -m dclm_assets.cli *args`` in a new session, from the repo root."""
    log_dir.mkdir(parents=True, exist_ok=True)
    n = len(list(log_dir.glob(f"{tag}-*.out")))
    out, err = log_dir / f"{tag}-{n}.out", log_dir / f"{tag}-{n}.err"
    with open(out, "wb") as fout, open(err, "wb") as ferr:
        proc = subprocess.Popen([*CLI, *args], cwd=REPO_ROOT, env={**os.environ, **(env or {})}, stdout=fout,
                                stderr=ferr, start_new_session=True)
    return Run(proc, out, err)


def run(args: Sequence[str], log_dir: Path, env: dict[str, str] | None = None, timeout: float = 240,
        tag: str = "run") -> tuple[int, Run]:
    """Run a ``dclm`` command to the end; ``(exit status, Run)``."""
    r = start(args, log_dir, env, tag)
    return r.wait(timeout), r


def session_pids(r: Run) -> list[int]:
    """Every live process of the run's session (the CLI and its Ray processes)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.getsid(int(entry)) == r.pid and _alive(int(entry)):
                pids.append(int(entry))
        except OSError:
            continue
    return pids


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return False


def _signal_all(pids: Sequence[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, sig)


def freeze(r: Run) -> list[int]:
    """SIGSTOP the whole session, including processes it spawns while being stopped; returns the pids."""
    stopped: set[int] = set()
    while True:
        new = [p for p in session_pids(r) if p not in stopped]
        if not new:
            return sorted(stopped)
        _signal_all(new, signal.SIGSTOP)
        stopped.update(new)


def thaw(pids: Sequence[int]) -> None:
    _signal_all(pids, signal.SIGCONT)


def kill_session(r: Run) -> None:
    """SIGKILL every process of the session and reap the CLI; wait until the others are gone too."""
    victims = session_pids(r)
    _signal_all(victims, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        r.proc.wait(timeout=30)
    deadline = time.monotonic() + 15
    while any(_alive(p) for p in victims) and time.monotonic() < deadline:
        time.sleep(0.05)


def kill_when(r: Run, condition: Callable[[], bool], timeout: float = 180, poll: float = 0.0) -> bool:
    """SIGKILL the run at the first moment ``condition()`` holds on the frozen run.

    Returns False if the run exited first (the kill point was never reached). ``poll`` is the pause between
    checks (0: as fast as the checks go, for short windows such as a temp file before its rename).
    """
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if r.proc.poll() is not None:
                return False
            if condition():
                pids = freeze(r)
                if condition():
                    kill_session(r)
                    return True
                thaw(pids)
            if poll:
                time.sleep(poll)
        raise AssertionError(f"kill point not reached in {timeout:.0f} s; stderr tail:\n{r.stderr()[-3000:]}")
    finally:
        if r.proc.poll() is None:
            kill_session(r)
