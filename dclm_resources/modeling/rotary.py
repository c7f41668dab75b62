"""Rotary position embeddings in open_lm's variants, applied to q and k shaped ``[batch, seq, heads, head_dim]``.

- ``rotary`` (open_lm's default, DCLM): GPT-NeoX "rotate half" over the full head dim, base 10000, with the
  inverse frequencies kept as the persistent buffer ``inv_freq`` (it is in open_lm state dicts).
- ``head_rotary``: the legacy open_lm variant that rotates along the *heads* axis (position = head index); needed to
  evaluate the first OpenLM-1B/7B releases.
- ``llama_rotary``: Meta's interleaved-pair (complex) form; no buffer.
- ``none``: identity.

The cos/sin tables are computed per call in float32 from ``inv_freq`` (cheap next to attention, and free of the
mutable caches that break ``torch.compile``). open_lm builds them from ``inv_freq`` cast to the activation dtype,
so under bf16 autocast its angles are rounded to bf16; ours are exact. In float32 the two are identical.
"""

from __future__ import annotations

import torch
from torch import nn

ROPE_BASE = 10000.0


def inverse_frequencies(head_dim: int, base: float = ROPE_BASE, device: torch.device | None = None) -> torch.Tensor:
    """``1 / base^(2i / head_dim)`` for i in [0, head_dim/2)."""
    return 1.0 / (base ** (torch.arange(0, head_dim, 2, device=device, dtype=torch.float32) / head_dim))


def rotary_angles(inv_freq: torch.Tensor, positions: int) -> torch.Tensor:
    """``[positions, head_dim/2]`` float32 angles ``p * inv_freq``."""
    t = torch.arange(positions, device=inv_freq.device, dtype=torch.float32)
    return t[:, None] * inv_freq.float()[None, :]


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    first, second = x.chunk(2, dim=-1)
    return torch.cat((-second, first), dim=-1)


class RotaryEmbedding(nn.Module):
    """GPT-NeoX style rotary over the full head dim, along the sequence axis (``along_heads`` for head_rotary)."""

    def __init__(self, head_dim: int, along_heads: bool = False) -> None:
        super().__init__()
        self.head_dim = head_dim
        self.along_heads = along_heads
        self.register_buffer("inv_freq", inverse_frequencies(head_dim), persistent=True)

    def reset_parameters(self) -> None:
        with torch.no_grad():
            self.inv_freq.copy_(inverse_frequencies(self.head_dim, device=self.inv_freq.device))

    def forward(self, q: torch.Tensor, k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        axis = 2 if self.along_heads else 1
        angles = rotary_angles(self.inv_freq, q.shape[axis])
        emb = torch.cat((angles, angles), dim=-1)
        shape = (1, 1, emb.shape[0], emb.shape[1]) if self.along_heads else (1, emb.shape[0], 1, emb.shape[1])
        cos = emb.cos().view(shape).to(q.dtype)
        sin = emb.sin().view(shape).to(q.dtype)
        return q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin


class LlamaRotaryEmbedding(nn.Module):
    """Meta LLaMA rotary: consecutive pairs (2i, 2i+1) rotated as complex numbers, computed in float32."""

    def __init__(self, head_dim: int) -> None:
        super().__init__()
        self.head_dim = head_dim

    def forward(self, q: torch.Tensor, k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        inv_freq = inverse_frequencies(self.head_dim, device=q.device)
        angles = rotary_angles(inv_freq, q.shape[1])[None, :, None, :]
        cos, sin = angles.cos(), angles.sin()

        def rotate(x: torch.Tensor) -> torch.Tensor:
            pairs = x.float().unflatten(-1, (-1, 2))
            even, odd = pairs[..., 0], pairs[..., 1]
            out = torch.stack((even * cos - odd * sin, even * sin + odd * cos), dim=-1)
            return out.flatten(-2).type_as(x)

        return rotate(q), rotate(k)


class NoPositionalEmbedding(nn.Module):
    def forward(self, q: torch.Tensor, k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return q, k


def make_positional_embedding(kind: str, head_dim: int) -> nn.Module:
    if kind == "rotary":
        return RotaryEmbedding(head_dim)
    if kind == "head_rotary":
        return RotaryEmbedding(head_dim, along_heads=True)
    if kind == "llama_rotary":
        return LlamaRotaryEmbedding(head_dim)
    if kind == "none":
        return NoPositionalEmbedding()
    raise ValueError(f"unknown positional embedding type {kind!r}")
