"""The demo's progress display: one line per step as it starts and one as it ends, with elapsed times.

Plain lines rather than a bar that redraws, so a log file or CI output reads the same as a terminal; on a
terminal a live timer shows how long the current step has been running (training takes minutes).
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO


def clock(seconds: float) -> str:
    """``m:ss``."""
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


class Progress:
    """``[ i/n] label ...`` when a step starts; ``[ i/n] label done|skipped in 1.2s (total 0:42): note`` at its end."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total, self.index = total, 0
        self.stream = stream if stream is not None else sys.stdout
        self.started = time.perf_counter()
        self._tick: threading.Event | None = None

    def elapsed(self) -> str:
        return clock(time.perf_counter() - self.started)

    def start(self, label: str) -> float:
        """Print the start line; returns the start time to pass to ``finish``."""
        self.index += 1
        self._print(f"[{self.index:>2}/{self.total}] {label} ...")
        began = time.perf_counter()
        if self.stream.isatty():
            self._tick = threading.Event()
            threading.Thread(target=self._ticker, args=(label, began, self._tick), daemon=True).start()
        return began

    def finish(self, label: str, began: float, note: str = "", skipped: bool = False) -> float:
        """Print the end line; returns the step's seconds."""
        seconds = time.perf_counter() - began
        if self._tick is not None:
            self._tick.set()
            self._tick = None
            self.stream.write("\r\033[K")
        verb = "skipped" if skipped else "done"
        tail = f": {note}" if note else ""
        self._print(f"[{self.index:>2}/{self.total}] {label} {verb} in {seconds:.1f}s (total {self.elapsed()}){tail}")
        return seconds

    def _ticker(self, label: str, began: float, stop: threading.Event) -> None:
        while not stop.wait(1.0):
            self.stream.write(f"\r        {label}: {clock(time.perf_counter() - began)}")
            self.stream.flush()

    def _print(self, line: str) -> None:
        print(line, file=self.stream, flush=True)
