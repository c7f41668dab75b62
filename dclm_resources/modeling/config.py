"""``ModelConfig``: the open_lm ``Params`` of one model, readable from and writable to open_lm's model JSON.

Defaults are DCLM's training choices (gain-only low-precision LayerNorm, q/k norm, pure-torch SwiGLU, rotary), not
open_lm's CLI defaults, because DCLM always passes those flags: a DCLM model JSON read here builds the model DCLM
trained.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NORM_TYPES = (
    "gain_only_lp_layer_norm",
    "lp_layer_norm",
    "default_layer_norm",
    "gain_only_layer_norm",
    "no_wb_layer_norm",
    "rms_norm",
)
FFN_TYPES = ("swiglu_torch", "swiglu", "gelu")
POSITIONAL_EMBEDDINGS = ("rotary", "head_rotary", "llama_rotary", "none")
# Recorded for params.txt compatibility; every name runs causal F.scaled_dot_product_attention here.
ATTN_NAMES = ("torch_attn", "auto", "xformers_attn")

# open_lm model-JSON key -> ModelConfig field.
_JSON_KEYS = {
    "hidden_dim": "dim",
    "n_layers": "n_layers",
    "n_heads": "n_heads",
    "seq_len": "seq_len",
    "vocab_size": "vocab_size",
    "post_embed_norm": "post_embed_norm",
    "weight_tying": "weight_tying",
    "ffn_type": "ffn_type",
    "model_norm": "norm_type",
    "qk_norm": "qk_norm",
    "positional_embedding_type": "positional_embedding_type",
    "norm_eps": "norm_eps",
    "attn_name": "attn_name",
}
_REQUIRED_JSON = ("hidden_dim", "n_layers", "n_heads", "seq_len", "vocab_size")


@dataclass(frozen=True)
class ModelConfig:
    """Shape and options of an open_lm transformer (open_lm's ``Params``)."""

    dim: int
    n_layers: int
    n_heads: int
    seq_len: int
    vocab_size: int
    norm_type: str = "gain_only_lp_layer_norm"
    qk_norm: bool = True
    ffn_type: str = "swiglu_torch"
    positional_embedding_type: str = "rotary"
    post_embed_norm: bool = False
    weight_tying: bool = False
    norm_eps: float = 1e-5
    attn_name: str = "torch_attn"

    def __post_init__(self) -> None:
        for name in ("dim", "n_layers", "n_heads", "seq_len", "vocab_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                shown = "hidden_dim (dim)" if name == "dim" else name  # the open_lm JSON / scale YAML key
                raise ValueError(f"model config: {shown} must be a positive integer, got {value!r}")
        for name in ("qk_norm", "post_embed_norm", "weight_tying"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"model config: {name} must be true or false, got {getattr(self, name)!r}")
        if isinstance(self.norm_eps, bool) or not isinstance(self.norm_eps, int | float) or self.norm_eps <= 0:
            raise ValueError(f"model config: norm_eps must be a positive number, got {self.norm_eps!r}")
        if self.dim % self.n_heads:
            raise ValueError(f"model config: dim {self.dim} is not divisible by n_heads {self.n_heads}")
        if self.head_dim % 2:
            raise ValueError(f"model config: head_dim {self.head_dim} must be even for rotary embeddings")
        _check_choice("norm_type", self.norm_type, NORM_TYPES)
        _check_choice("ffn_type", self.ffn_type, FFN_TYPES)
        _check_choice("positional_embedding_type", self.positional_embedding_type, POSITIONAL_EMBEDDINGS)
        _check_choice("attn_name", self.attn_name, ATTN_NAMES)

    @property
    def head_dim(self) -> int:
        return self.dim // self.n_heads

    def ffn_hidden_dim(self) -> int:
        """open_lm's FFN width: SwiGLU ``256 * ceil(int(8d/3) / 256)``; GELU ``4d``."""
        if self.ffn_type == "gelu":
            return 4 * self.dim
        return 256 * math.ceil(int(8 * self.dim / 3) / 256)

    def norm_params(self) -> int:
        """Parameters of one norm layer of ``norm_type`` (gain and/or bias of size d)."""
        if self.norm_type == "no_wb_layer_norm":
            return 0
        if self.norm_type in ("lp_layer_norm", "default_layer_norm"):
            return 2 * self.dim
        return self.dim

    def num_params(self, exclude_embeddings: bool = False, qk_norm_gains: bool = True) -> int:
        """The model's parameter count, computed from the shapes (equals ``Transformer.num_params``).

        DCLM's published ``params`` leave out the q/k norm gains (``qk_norm_gains=False``); ``exclude_embeddings``
        drops the input embedding only (DCLM's ``params_no_embed``).
        """
        d, hidden, norm = self.dim, self.ffn_hidden_dim(), self.norm_params()
        ffn = 2 * d * hidden if self.ffn_type == "gelu" else 3 * d * hidden
        layer = 4 * d * d + ffn + 2 * norm + (2 * norm if self.qk_norm and qk_norm_gains else 0)
        embeddings = self.vocab_size * d
        total = self.n_layers * layer + norm + (norm if self.post_embed_norm else 0) + embeddings
        if not self.weight_tying:
            total += embeddings
            if exclude_embeddings:
                total -= embeddings
        return total

    def replace(self, **changes: Any) -> ModelConfig:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_open_lm_json(cls, data: dict[str, Any] | str | Path, **overrides: Any) -> ModelConfig:
        """Read an open_lm model JSON (a dict, a path, or JSON text); keys it lacks take this class's defaults."""
        source = "model JSON"
        if isinstance(data, Path) or (isinstance(data, str) and not data.lstrip().startswith("{")):
            source = str(data)
            try:
                data = json.loads(Path(data).read_text())
            except json.JSONDecodeError as err:
                raise ValueError(f"{source}: line {err.lineno}: not valid JSON: {err.msg}") from err
        elif isinstance(data, str):
            data = json.loads(data)
        if not isinstance(data, dict):
            raise ValueError(f"{source}: expected a JSON object")
        missing = [key for key in _REQUIRED_JSON if key not in data]
        if missing:
            raise ValueError(f"{source}: missing key(s) {', '.join(missing)}")
        unknown_moe = [key for key in data if key.startswith("moe_") and data[key]]
        if unknown_moe or data.get("ffn_type") == "moe":
            raise ValueError(f"{source}: mixture-of-experts models are not supported")
        fields = {field: data[key] for key, field in _JSON_KEYS.items() if key in data}
        fields.update(overrides)
        try:
            return cls(**fields)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{source}: {err}") from err

    def to_open_lm_json(self) -> dict[str, Any]:
        """open_lm model JSON that records every option (so open_lm needs no extra CLI flags to rebuild it)."""
        return {
            "hidden_dim": self.dim,
            "n_layers": self.n_layers,
            "n_heads": self.n_heads,
            "seq_len": self.seq_len,
            "vocab_size": self.vocab_size,
            "post_embed_norm": self.post_embed_norm,
            "weight_tying": self.weight_tying,
            "ffn_type": self.ffn_type,
            "model_norm": self.norm_type,
            "qk_norm": self.qk_norm,
            "positional_embedding_type": self.positional_embedding_type,
        }


def _check_choice(key: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"model config: {key} {value!r} is not one of {', '.join(choices)}")
