"""Learning-rate schedule with open_lm's semantics (``open_lm.md`` §3.5), evaluated at the global step.

Why a pure function of the step: resuming needs no scheduler state, the step in the checkpoint is enough.
"""

from __future__ import annotations

import math


def lr_at(
    step: int,
    base_lr: float,
    warmup: int,
    total_steps: int,
    cooldown_end: float = 0.0,
    force_min_lr: float = 0.0,
    kind: str = "cosine",
) -> float:
    """The lr used for optimizer step ``step`` (0-based).

    Warmup: ``base * (step + 1) / warmup`` while ``step < warmup``. Then ``cosine``: from ``base`` down to
    ``cooldown_end`` at ``total_steps``, i.e. ``cd + 0.5 * (1 + cos(pi * e / es)) * (base - cd)`` with
    ``e = step - warmup`` and ``es = total_steps - warmup``; ``const`` keeps ``base``. Never below ``force_min_lr``.
    """
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step}")
    if kind not in ("cosine", "const"):
        raise ValueError(f"unknown lr schedule {kind!r} (cosine or const)")
    if step < warmup:
        lr = base_lr * (step + 1) / warmup
    elif kind == "const":
        lr = base_lr
    else:
        decay_steps = total_steps - warmup
        if decay_steps <= 0:
            lr = cooldown_end
        else:
            progress = min(step - warmup, decay_steps) / decay_steps
            lr = cooldown_end + 0.5 * (1.0 + math.cos(math.pi * progress)) * (base_lr - cooldown_end)
    return max(lr, force_min_lr)
