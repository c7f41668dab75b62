"""torch.distributed for the trainer: process group from torchrun's env, DDP/FSDP wrapping, full state dicts.

Backends: gloo on CPU, NCCL on CUDA. Wrapping follows open_lm (``open_lm.md`` §3.4): DDP by default; FSDP
(FSDP2 ``fully_shard``: FULL_SHARD, one unit per transformer ``Block`` plus the root, mixed precision from the
recipe's ``--fsdp-amp`` / ``--fsdp-pure-bf16`` flags) when the recipe asks for it;
``torch.compile`` after wrapping. State dicts are gathered in full on the CPU with clean open_lm names (no
``module.`` / ``_orig_mod.``), optimizer state keyed by parameter name as open_lm's FSDP checkpoints are.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_optimizer_state_dict,
    set_model_state_dict,
    set_optimizer_state_dict,
)

from dclm_resources.modeling import Block, strip_open_lm_prefixes


@dataclass
class DistContext:
    """This process's place in the job; ``world_size == 1`` without torchrun (no process group)."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")
    initialized_here: bool = False

    @property
    def is_master(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return dist.is_available() and dist.is_initialized()


def init_distributed(device_type: str) -> DistContext:
    """Join the process group torchrun describes (``RANK``/``WORLD_SIZE``/``LOCAL_RANK``/``MASTER_ADDR``).

    Under torchrun a group is formed even for one process (so ``--fsdp`` on one GPU runs FSDP, as open_lm's
    one-GPU runs do); without torchrun's variables this process trains alone, without a group.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device_type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    ctx = DistContext(rank, local_rank, world_size, device)
    launched = "MASTER_ADDR" in os.environ and "RANK" in os.environ
    if launched and not dist.is_initialized():
        backend = "nccl" if device_type == "cuda" else "gloo"
        kwargs: dict[str, Any] = {"device_id": device} if device_type == "cuda" else {}
        dist.init_process_group(backend=backend, **kwargs)
        ctx.initialized_here = True
    if dist.is_initialized():
        ctx.rank, ctx.world_size = dist.get_rank(), dist.get_world_size()
    return ctx


def cleanup(ctx: DistContext) -> None:
    if ctx.initialized_here and dist.is_initialized():
        dist.destroy_process_group()


def barrier(ctx: DistContext) -> None:
    if ctx.distributed:
        dist.barrier()


def all_reduce_mean(values: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """Mean over ranks of a small tensor (the logged loss); identity when alone."""
    if ctx.distributed and ctx.world_size > 1:
        values = values.clone()
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
        values /= ctx.world_size
    return values


def broadcast_object(value: Any, ctx: DistContext) -> Any:
    """Rank 0's ``value`` on every rank (e.g. a decision taken by the master)."""
    if not (ctx.distributed and ctx.world_size > 1):
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def _fsdp_mixed_precision(flags: tuple[str, ...], device: torch.device) -> Any:
    """open_lm's FSDP mixed-precision flags as an FSDP2 policy (CUDA only: CPU runs stay fp32)."""
    from torch.distributed.fsdp import MixedPrecisionPolicy

    if device.type != "cuda":
        return MixedPrecisionPolicy()
    if "--fsdp-pure-bf16" in flags:
        return MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.bfloat16)
    if "--fsdp-amp" in flags:
        return MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32)
    return MixedPrecisionPolicy()


@dataclass
class WrappedModel:
    """The module to call (maybe compiled), the DDP/FSDP module under it (for sync control / clipping), its kind."""

    forward: nn.Module
    wrapper: nn.Module
    kind: str  # "plain", "ddp" or "fsdp"

    def no_sync(self, skip_sync: bool) -> contextlib.AbstractContextManager[Any]:
        """Skip the gradient reduction for accumulation micro-batches before the last one."""
        if skip_sync and self.kind == "ddp":
            return self.wrapper.no_sync()  # type: ignore[operator]
        if self.kind == "fsdp":
            self.wrapper.set_requires_gradient_sync(not skip_sync)  # type: ignore[operator]
        return contextlib.nullcontext()

    def clip_grad_norm(self, max_norm: float) -> torch.Tensor:
        """Clip to ``max_norm``; returns the total norm before clipping (over all shards under FSDP).

        A tensor, not a float: reading it would stall the GPU every step; it is read only when logged.
        """
        norm = torch.nn.utils.clip_grad_norm_(self.wrapper.parameters(), max_norm)
        return norm.full_tensor() if hasattr(norm, "full_tensor") else norm

    def parameters(self) -> Iterator[nn.Parameter]:
        return self.wrapper.parameters()


def wrap_model(
    model: nn.Module, ctx: DistContext, fsdp: bool, fsdp_flags: tuple[str, ...], compile_model: bool
) -> WrappedModel:
    """DDP, or FSDP (``fully_shard`` per Block then the root: FULL_SHARD), when distributed; then compile.

    FSDP2 keeps the original parameters (open_lm's ``--fsdp-use-orig-params``) and bounds its own all-gathers
    (``--fsdp-limit-all-gathers``), so those flags need no setting here.
    """
    if fsdp and ctx.distributed:
        from torch.distributed.device_mesh import init_device_mesh
        from torch.distributed.fsdp import fully_shard

        mesh = init_device_mesh(ctx.device.type, (ctx.world_size,))
        policy = _fsdp_mixed_precision(fsdp_flags, ctx.device)
        for module in model.modules():
            if isinstance(module, Block):
                fully_shard(module, mesh=mesh, mp_policy=policy, reshard_after_forward=True)
        fully_shard(model, mesh=mesh, mp_policy=policy, reshard_after_forward=True)
        wrapper, kind = model, "fsdp"
    elif ctx.distributed:
        device_ids = [ctx.device.index] if ctx.device.type == "cuda" else None
        wrapper, kind = nn.parallel.DistributedDataParallel(model, device_ids=device_ids), "ddp"
    else:
        wrapper, kind = model, "plain"
    forward = torch.compile(wrapper) if compile_model else wrapper
    return WrappedModel(forward, wrapper, kind)  # type: ignore[arg-type]


_FULL = StateDictOptions(full_state_dict=True, cpu_offload=True)


def full_model_state(model: WrappedModel) -> dict[str, torch.Tensor]:
    """The whole model's state dict on the CPU with open_lm names (collective under FSDP: call on every rank)."""
    return strip_open_lm_prefixes(get_model_state_dict(model.wrapper, options=_FULL))


def full_optimizer_state(model: WrappedModel, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """The optimizer state keyed by parameter name (collective under FSDP)."""
    return get_optimizer_state_dict(model.wrapper, optimizer, options=_FULL)


def load_full_states(
    model: WrappedModel,
    optimizer: torch.optim.Optimizer,
    model_state: dict[str, torch.Tensor],
    optimizer_state: dict[str, Any] | None,
) -> None:
    """Restore full (unsharded) model and optimizer state on every rank (each rank passes the same dicts)."""
    options = StateDictOptions(full_state_dict=True, strict=True)
    set_model_state_dict(model.wrapper, model_state, options=options)
    if optimizer_state is not None:
        set_optimizer_state_dict(model.wrapper, optimizer, optimizer_state, options=options)
