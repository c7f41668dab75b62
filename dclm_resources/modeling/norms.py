"""open_lm's normalization layers, chosen by name (``--model-norm`` / the model JSON's ``model_norm``).

The "lp" (low precision) LayerNorm runs in the autocast dtype: under bf16 autocast torch would otherwise upcast
``layer_norm`` to float32. DCLM trains with ``gain_only_lp_layer_norm``: a gain, no bias, computed in bf16.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class LayerNorm(nn.Module):
    """LayerNorm over the last dim with an optional gain (``weight``) and bias, optionally in the autocast dtype."""

    def __init__(self, dim: int, eps: float = 1e-5, gain: bool = True, bias: bool = True,
                 low_precision: bool = False) -> None:
        super().__init__()
        self.normalized_shape = (dim,)
        self.eps = eps
        self.low_precision = low_precision
        self.weight = nn.Parameter(torch.ones(dim)) if gain else None
        self.bias = nn.Parameter(torch.zeros(dim)) if bias else None

    def reset_parameters(self) -> None:
        if self.weight is not None:
            nn.init.ones_(self.weight)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        device_type = x.device.type
        if self.low_precision and torch.is_autocast_enabled(device_type):
            dtype = torch.get_autocast_dtype(device_type)
            weight = None if self.weight is None else self.weight.to(dtype)
            bias = None if self.bias is None else self.bias.to(dtype)
            with torch.autocast(device_type=device_type, enabled=False):
                return F.layer_norm(x.to(dtype), self.normalized_shape, weight, bias, self.eps)
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape[0]}, eps={self.eps}, gain={self.weight is not None}, "
                f"bias={self.bias is not None}, low_precision={self.low_precision}")


class RmsNorm(nn.Module):
    """RMSNorm computed in float32, result cast back to the input dtype, then scaled by the gain."""

    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def reset_parameters(self) -> None:
        nn.init.ones_(self.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xf = x.float()
        normed = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return normed.type_as(x) * self.weight


def make_norm(norm_type: str, dim: int, eps: float) -> nn.Module:
    """The norm open_lm builds for ``norm_type`` (names as in open_lm's ``--model-norm``)."""
    if norm_type == "gain_only_lp_layer_norm":
        return LayerNorm(dim, eps, gain=True, bias=False, low_precision=True)
    if norm_type == "lp_layer_norm":
        return LayerNorm(dim, eps, gain=True, bias=True, low_precision=True)
    if norm_type == "default_layer_norm":
        return LayerNorm(dim, eps, gain=True, bias=True)
    if norm_type == "gain_only_layer_norm":
        return LayerNorm(dim, eps, gain=True, bias=False)
    if norm_type == "no_wb_layer_norm":
        return LayerNorm(dim, eps, gain=False, bias=False)
    if norm_type == "rms_norm":
        return RmsNorm(dim, eps)
    raise ValueError(f"unknown norm type {norm_type!r}")
