"""Moving open_lm checkpoints into our ``Transformer``: prefix clean-up and a strict load.

open_lm saves FSDP full state dicts with clean names, DDP ones with a leading ``module.``, and ``torch.compile``
inserts ``_orig_mod.`` (after wrapping, so it can sit anywhere in the name). open_lm's ``load_model`` removes both;
so do we. A checkpoint file is ``{"epoch", "name", "state_dict", ...}``; a dict without ``state_dict`` is a bare
state dict.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

MODULE_PREFIX = "module."
COMPILE_INFIX = "_orig_mod."


def strip_open_lm_prefixes(state_dict: Mapping[str, Any]) -> dict[str, Any]:
    """Drop a leading ``module.`` and every ``_orig_mod.`` from each key (values untouched)."""
    out: dict[str, Any] = {}
    for key, value in state_dict.items():
        clean = key[len(MODULE_PREFIX):] if key.startswith(MODULE_PREFIX) else key
        clean = clean.replace(COMPILE_INFIX, "")
        if clean in out:
            raise ValueError(f"state dict: keys {key!r} and another both become {clean!r} after prefix removal")
        out[clean] = value
    return out


def unwrap_model(model: nn.Module) -> nn.Module:
    """The plain module under ``torch.compile`` / DDP wrappers."""
    while True:
        if hasattr(model, "_orig_mod") and isinstance(model._orig_mod, nn.Module):
            model = model._orig_mod
        elif isinstance(model, nn.parallel.DistributedDataParallel):
            model = model.module
        else:
            return model


def extract_state_dict(state_dict_or_checkpoint: Mapping[str, Any]) -> Mapping[str, Any]:
    """The state dict inside an open_lm ``epoch_N.pt`` dict, or the argument itself when it is one."""
    inner = state_dict_or_checkpoint.get("state_dict") if isinstance(state_dict_or_checkpoint, Mapping) else None
    if isinstance(inner, Mapping):
        return inner
    if not isinstance(state_dict_or_checkpoint, Mapping):
        raise ValueError(f"expected a state dict or an open_lm checkpoint dict, got {type(state_dict_or_checkpoint)}")
    return state_dict_or_checkpoint


def load_open_lm_state_dict(
    model: nn.Module, state_dict_or_checkpoint_dict: Mapping[str, Any], strict: bool = True
) -> tuple[list[str], list[str]]:
    """Load open_lm weights into ``model`` (prefixes stripped); returns ``(missing, unexpected)`` keys.

    With ``strict`` a key mismatch raises ``ValueError`` naming the keys, and a shape mismatch names the tensor.
    """
    target = unwrap_model(model)
    state = strip_open_lm_prefixes(extract_state_dict(state_dict_or_checkpoint_dict))
    own = target.state_dict()
    missing = [key for key in own if key not in state]
    unexpected = [key for key in state if key not in own]
    if strict and (missing or unexpected):
        raise ValueError(
            "open_lm state dict does not match the model: "
            f"missing {_preview(missing)}; unexpected {_preview(unexpected)}"
        )
    for key, value in state.items():
        if key in own and isinstance(value, torch.Tensor) and value.shape != own[key].shape:
            raise ValueError(f"open_lm state dict: {key} has shape {tuple(value.shape)}, "
                             f"the model expects {tuple(own[key].shape)}")
    result = target.load_state_dict(state, strict=strict)
    return list(result.missing_keys), list(result.unexpected_keys)


def _preview(keys: list[str], limit: int = 8) -> str:
    if not keys:
        return "none"
    shown = ", ".join(keys[:limit])
    return f"{shown} (+{len(keys) - limit} more)" if len(keys) > limit else shown
