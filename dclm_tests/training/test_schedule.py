"""lr schedule: open_lm's linear warmup then cosine to the cooldown lr, as a pure function of the step."""

from __future__ import annotations

import math

import pytest

from dclm_resources.training import checkpoint_steps, lr_at


def test_warmup_is_linear_from_base_over_warmup() -> None:
    assert lr_at(0, 3e-3, 10, 100, 3e-5) == pytest.approx(3e-4)
    assert lr_at(4, 3e-3, 10, 100, 3e-5) == pytest.approx(1.5e-3)
    assert lr_at(9, 3e-3, 10, 100, 3e-5) == pytest.approx(3e-3)


def test_cosine_runs_from_base_to_cooldown_end() -> None:
    base, cd, warmup, total = 3e-3, 3e-5, 10, 110
    assert lr_at(warmup, base, warmup, total, cd) == pytest.approx(base)
    assert lr_at(60, base, warmup, total, cd) == pytest.approx(cd + 0.5 * (base - cd))  # halfway
    assert lr_at(total, base, warmup, total, cd) == pytest.approx(cd)
    e, es = 35 - warmup, total - warmup
    expected = cd + 0.5 * (1 + math.cos(math.pi * e / es)) * (base - cd)
    assert lr_at(35, base, warmup, total, cd) == pytest.approx(expected)
    values = [lr_at(s, base, warmup, total, cd) for s in range(warmup, total)]
    assert all(a >= b for a, b in zip(values, values[1:], strict=False))


def test_dclm_1b_schedule_values() -> None:
    # 1b-1x: lr 3e-3, warmup 5000, cd 3e-5, 54,923 steps (derived in open_lm.md §3.2).
    assert lr_at(4999, 3e-3, 5000, 54923, 3e-5) == pytest.approx(3e-3)
    assert lr_at(54922, 3e-3, 5000, 54923, 3e-5) == pytest.approx(3e-5, rel=1e-3)


def test_floor_const_and_degenerate_cases() -> None:
    assert lr_at(99, 1.0, 0, 100, 0.0, force_min_lr=0.1) == pytest.approx(0.1)
    assert lr_at(50, 1.0, 10, 100, kind="const") == 1.0
    assert lr_at(20, 1.0, 30, 20, 0.01) == pytest.approx(21 / 30)  # total < warmup: still warming up
    assert lr_at(30, 1.0, 30, 20, 0.01) == pytest.approx(0.01)
    with pytest.raises(ValueError, match="unknown lr schedule"):
        lr_at(0, 1.0, 1, 2, kind="linear")


def test_checkpoint_steps() -> None:
    assert checkpoint_steps(100, 5, None) == (20, 40, 60, 80, 100)
    assert checkpoint_steps(7, 5, None) == (2, 3, 5, 6, 7)
    assert checkpoint_steps(3, 5, None) == (1, 2, 3)
    assert checkpoint_steps(25, 5, 10) == (10, 20, 25)
