"""Language-model loss as open_lm computes it: mean cross entropy plus an optional z-loss.

z-loss (PaLM) = ``coeff * mean(logsumexp(logits)^2)`` over every position (open_lm does not mask it). It keeps the
softmax normalizer near 1, which stabilizes bf16 training; DCLM uses 1e-4 (<= 3B) and 5e-6 (7B).
"""

from __future__ import annotations

import torch


def cross_entropy_with_z_loss(
    logits: torch.Tensor, targets: torch.Tensor, z_loss: float = 0.0, ignore_index: int = -100
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(total, ce)`` for logits ``[..., V]`` and integer targets ``[...]``; both float32 scalars.

    ``ce`` is the mean over targets that are not ``ignore_index`` (NaN when all are ignored, as torch's).
    Computed from one float32 log-sum-exp, which the z-loss reuses.
    """
    if logits.shape[:-1] != targets.shape:
        raise ValueError(f"logits {tuple(logits.shape)} do not match targets {tuple(targets.shape)}")
    logits = logits.reshape(-1, logits.shape[-1])
    targets = targets.reshape(-1)
    lse = torch.logsumexp(logits.float(), dim=-1)
    valid = targets != ignore_index
    target_logits = logits.gather(-1, torch.where(valid, targets, 0).unsqueeze(-1)).squeeze(-1).float()
    nll = torch.where(valid, lse - target_logits, 0.0)
    ce = nll.sum() / valid.sum()
    if z_loss == 0.0:
        return ce, ce
    return ce + z_loss * lse.square().mean(), ce
