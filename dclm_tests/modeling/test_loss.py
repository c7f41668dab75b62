"""Loss: mean cross entropy (ignore_index as torch) plus z-loss = coeff * mean(logsumexp^2) over all positions."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from dclm_resources.modeling import cross_entropy_with_z_loss


def test_z_loss_formula() -> None:
    torch.manual_seed(0)
    logits = torch.randn(3, 7, 50, dtype=torch.float64) * 4
    targets = torch.randint(0, 50, (3, 7))
    total, ce = cross_entropy_with_z_loss(logits, targets, z_loss=1e-4)
    want_ce = F.cross_entropy(logits.reshape(-1, 50), targets.reshape(-1))
    lse = torch.log(torch.exp(logits).sum(-1))
    torch.testing.assert_close(ce.double(), want_ce, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(total.double(), want_ce + 1e-4 * (lse**2).mean(), rtol=1e-6, atol=1e-6)
    plain, plain_ce = cross_entropy_with_z_loss(logits, targets)
    assert plain.item() == plain_ce.item() == pytest.approx(want_ce.item())


def test_ignore_index_masks_ce_but_not_z_loss() -> None:
    torch.manual_seed(1)
    logits = torch.randn(2, 5, 11)
    targets = torch.randint(0, 11, (2, 5))
    targets[0, :3] = -100
    total, ce = cross_entropy_with_z_loss(logits, targets, z_loss=0.5)
    torch.testing.assert_close(ce, F.cross_entropy(logits.reshape(-1, 11), targets.reshape(-1)))
    lse = torch.logsumexp(logits, -1)
    torch.testing.assert_close(total, ce + 0.5 * (lse**2).mean())


def test_gradients_match_torch_cross_entropy() -> None:
    torch.manual_seed(2)
    a = torch.randn(6, 13, requires_grad=True)
    b = a.detach().clone().requires_grad_(True)
    targets = torch.randint(0, 13, (6,))
    cross_entropy_with_z_loss(a, targets)[0].backward()
    F.cross_entropy(b, targets).backward()
    torch.testing.assert_close(a.grad, b.grad)


def test_bf16_logits_are_reduced_in_float32() -> None:
    torch.manual_seed(3)
    logits = (torch.randn(4, 9, 300) * 8).bfloat16()
    targets = torch.randint(0, 300, (4, 9))
    total, ce = cross_entropy_with_z_loss(logits, targets, z_loss=1e-4)
    assert total.dtype == ce.dtype == torch.float32
    torch.testing.assert_close(ce, F.cross_entropy(logits.float().reshape(-1, 300), targets.reshape(-1)))


def test_shape_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError, match="do not match"):
        cross_entropy_with_z_loss(torch.zeros(2, 3, 5), torch.zeros(2, 4, dtype=torch.long))
