"""Run the modeling tests' small tensor ops on one intra-op thread.

These models are tiny: with two OpenMP threads on a shared 2-core machine, a step spends most of its time in
thread hand-offs (measured 0.57 s vs 0.017 s per step of the overfit test while other work ran).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
