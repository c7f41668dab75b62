"""The open_lm transformer (what DCLM trains), with open_lm's parameter names so checkpoints move either way.

Pre-norm decoder: ``h = x + attn(attention_norm(x)); out = h + ffn(ffn_norm(h))``. Attention uses one fused
``in_proj`` (rows q, k, v), optional q/k norm over the full model dim (not per head), rotary on q/k, causal
``F.scaled_dot_product_attention``. No biases, no dropout, untied output head, logits returned in float32.
Initialization is open_lm's: truncated normal at +-3 std, std 1/sqrt(d) for embeddings, output, ``in_proj`` and
``w12``; the projections back into the residual stream are scaled down by sqrt(2 * (layer_id + 1)).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from dclm_resources.modeling.config import ModelConfig
from dclm_resources.modeling.norms import make_norm
from dclm_resources.modeling.rotary import make_positional_embedding


def _trunc_normal(weight: torch.Tensor, std: float) -> None:
    nn.init.trunc_normal_(weight, mean=0.0, std=std, a=-3 * std, b=3 * std)


def _depth_scale(layer_id: int) -> float:
    return 1.0 / math.sqrt(2 * (layer_id + 1))


def _reset(module: nn.Module) -> None:
    """Norm gains to 1 / biases to 0, rotary ``inv_freq`` recomputed; nothing for parameter-free modules."""
    if hasattr(module, "reset_parameters"):
        module.reset_parameters()


class Attention(nn.Module):
    """Causal multi-head self-attention (open_lm ``CustomAttn`` with ``torch_attn``)."""

    def __init__(self, cfg: ModelConfig, layer_id: int) -> None:
        super().__init__()
        self.n_heads = cfg.n_heads
        self.head_dim = cfg.head_dim
        self.layer_id = layer_id
        self.in_proj = nn.Linear(cfg.dim, 3 * cfg.dim, bias=False)
        self.out_proj = nn.Linear(cfg.dim, cfg.dim, bias=False)
        self.pos_embed = make_positional_embedding(cfg.positional_embedding_type, cfg.head_dim)
        self.q_norm = make_norm(cfg.norm_type, cfg.dim, cfg.norm_eps) if cfg.qk_norm else nn.Identity()
        self.k_norm = make_norm(cfg.norm_type, cfg.dim, cfg.norm_eps) if cfg.qk_norm else nn.Identity()

    def reset_parameters(self) -> None:
        std = 1.0 / math.sqrt(self.in_proj.in_features)
        _trunc_normal(self.in_proj.weight, std)
        _trunc_normal(self.out_proj.weight, std * _depth_scale(self.layer_id))
        for module in (self.q_norm, self.k_norm, self.pos_embed):
            _reset(module)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, seq, dim = x.shape
        q, k, v = self.in_proj(x).chunk(3, dim=-1)
        q = self.q_norm(q).view(batch, seq, self.n_heads, self.head_dim)
        k = self.k_norm(k).view(batch, seq, self.n_heads, self.head_dim)
        v = v.view(batch, seq, self.n_heads, self.head_dim)
        q, k = self.pos_embed(q, k)
        q, k = q.to(v.dtype), k.to(v.dtype)
        out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), is_causal=True)
        return self.out_proj(out.transpose(1, 2).reshape(batch, seq, dim))


class SwiGLU(nn.Module):
    """``w3(silu(gate) * up)`` with ``gate, up = w12(x).chunk(2)`` (xformers' packed SwiGLU layout)."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.w12 = nn.Linear(dim, 2 * hidden, bias=False)
        self.w3 = nn.Linear(hidden, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = self.w12(x).chunk(2, dim=-1)
        return self.w3(F.silu(gate) * up)


class Block(nn.Module):
    """One pre-norm transformer layer (the unit FSDP wraps)."""

    def __init__(self, cfg: ModelConfig, layer_id: int) -> None:
        super().__init__()
        self.layer_id = layer_id
        self.dim = cfg.dim
        self.hidden_dim = cfg.ffn_hidden_dim()
        self.ffn_type = cfg.ffn_type
        self.attention = Attention(cfg, layer_id)
        if cfg.ffn_type == "gelu":
            # open_lm registers the two linears both as block attributes and inside the Sequential, so its state
            # dicts hold both `_ff_w1.weight` and `feed_forward.0.weight` (the same tensor); keep that layout.
            self._ff_w1 = nn.Linear(cfg.dim, self.hidden_dim, bias=False)
            self._ff_w2 = nn.Linear(self.hidden_dim, cfg.dim, bias=False)
            self.feed_forward: nn.Module = nn.Sequential(self._ff_w1, nn.GELU(approximate="none"), self._ff_w2)
        else:
            self.feed_forward = SwiGLU(cfg.dim, self.hidden_dim)
        self.attention_norm = make_norm(cfg.norm_type, cfg.dim, cfg.norm_eps)
        self.ffn_norm = make_norm(cfg.norm_type, cfg.dim, cfg.norm_eps)

    def reset_parameters(self) -> None:
        """This block's open_lm init, complete (FSDP's meta-device ``param_init_fn`` calls it per block)."""
        self.attention.reset_parameters()
        _reset(self.attention_norm)
        _reset(self.ffn_norm)
        if self.ffn_type == "gelu":
            w_in, w_out = self._ff_w1.weight, self._ff_w2.weight
        else:
            w_in, w_out = self.feed_forward.w12.weight, self.feed_forward.w3.weight
        _trunc_normal(w_in, 1.0 / math.sqrt(self.dim))
        _trunc_normal(w_out, _depth_scale(self.layer_id) / math.sqrt(self.hidden_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x + self.attention(self.attention_norm(x))
        return h + self.feed_forward(self.ffn_norm(h))


class Transformer(nn.Module):
    """open_lm ``Transformer``: ``forward(input_ids) -> (float32 logits [B, S, V], final hidden [B, S, d], None)``."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.post_embed_norm = make_norm(cfg.norm_type, cfg.dim, cfg.norm_eps) if cfg.post_embed_norm else nn.Identity()
        self.tok_embeddings = nn.Embedding(cfg.vocab_size, cfg.dim)
        self.layers = nn.ModuleList(Block(cfg, layer_id) for layer_id in range(cfg.n_layers))
        self.norm = make_norm(cfg.norm_type, cfg.dim, cfg.norm_eps)
        self.output = nn.Linear(cfg.dim, cfg.vocab_size, bias=False)
        if cfg.weight_tying:
            self.tok_embeddings.weight = self.output.weight
        self.grad_checkpointing = False
        if self.output.weight.device.type != "meta":
            self.reset_parameters()

    def reset_parameters(self, seed: int | None = None) -> None:
        """open_lm's initialization of every weight and buffer (also after ``to_empty`` from the meta device)."""
        generator_state = None
        if seed is not None:
            generator_state = torch.random.get_rng_state()
            torch.manual_seed(seed)
        try:
            with torch.no_grad():
                std = 1.0 / math.sqrt(self.cfg.dim)
                _trunc_normal(self.output.weight, std)
                if not self.cfg.weight_tying:
                    _trunc_normal(self.tok_embeddings.weight, std)
                for layer in self.layers:
                    layer.reset_parameters()
                _reset(self.post_embed_norm)
                _reset(self.norm)
        finally:
            if generator_state is not None:
                torch.random.set_rng_state(generator_state)

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        self.grad_checkpointing = enable

    def num_params(self, exclude_embeddings: bool = False) -> int:
        """Distinct parameters; ``exclude_embeddings`` drops the input embedding only (DCLM's params_no_embed)."""
        total = sum(p.numel() for p in self.parameters())
        if exclude_embeddings and not self.cfg.weight_tying:
            total -= self.tok_embeddings.weight.numel()
        return total

    def forward(self, input_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, None]:
        x = self.post_embed_norm(self.tok_embeddings(input_ids))
        for layer in self.layers:
            if self.grad_checkpointing and self.training:
                x = checkpoint(layer, x, use_reentrant=False)
            else:
                x = layer(x)
        x = self.norm(x)
        return self.output(x).float(), x, None
