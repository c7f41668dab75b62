"""``RunPlan``: everything a run derives from its config, the data and the world size, decided once.

Why separate: the trainer, the records (params.txt, model reference) and the tests all need the same derived
numbers (steps, batch split, checkpoint steps, effective precision); computing them in one place keeps them equal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dclm_resources.modeling import ScaleRecipe
from dclm_resources.storage import Storage, join_uri
from dclm_resources.training.checkpoint import CHECKPOINTS_DIR
from dclm_resources.training.config import TrainConfig, resolve_recipe
from dclm_resources.training.data import probe_context_len, windows_per_context
from dclm_resources.training.manifest import DataError, DataSource, resolve_data

DEFAULT_NORM = "gain_only_lp_layer_norm"
DEFAULT_VOCAB = 50432


@dataclass(frozen=True)
class RunPlan:
    """Resolved run: names, paths, the recipe, step counts and how each step is split over devices."""

    config: TrainConfig
    recipe: ScaleRecipe
    source: DataSource
    name: str
    run_dir: str
    context_len: int
    windows_per_context: int
    total_steps: int
    checkpoint_steps: tuple[int, ...]
    world_size: int
    device_type: str
    precision: str
    fsdp: bool
    torchcompile: bool
    log_every: int

    @property
    def seed(self) -> int:
        return self.recipe.seed

    @property
    def seq_len(self) -> int:
        return self.recipe.model.seq_len

    @property
    def global_bs(self) -> int:
        return self.recipe.global_bs

    @property
    def per_gpu_batch_size(self) -> int:
        return self.recipe.global_bs // self.world_size

    @property
    def micro_batch_size(self) -> int:
        return self.per_gpu_batch_size // self.recipe.acc

    @property
    def tokens_per_step(self) -> int:
        return self.recipe.global_bs * self.seq_len

    @property
    def autocast(self) -> bool:
        return self.precision in ("amp_bfloat16", "amp_bf16")

    @property
    def checkpoints_dir(self) -> str:
        return join_uri(self.run_dir, CHECKPOINTS_DIR)

    @property
    def train_num_samples(self) -> int:
        """open_lm's ``train_num_samples`` after its division by seq_len: sequences per checkpoint interval."""
        return self.total_steps * self.global_bs // len(self.checkpoint_steps)


def _format_number(value: float | int) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def friendly_name(dataset_name: str, recipe: ScaleRecipe, suffix: str | None = None) -> str:
    """DCLM's run name (``dclm.md`` §5.1): ``{dataset}-{model}-warm=..-lr=..-...-tokens=..``, '.'->'p', '/'->'-'."""
    parts = [
        dataset_name,
        recipe.model_json_name,
        f"warm={recipe.warmup}",
        f"lr={_format_number(recipe.lr)}",
        f"wd={_format_number(recipe.wd)}",
        f"cd={_format_number(recipe.cd)}",
        f"bs={recipe.global_bs}",
        f"mult={_format_number(recipe.chinchilla_multiplier)}",
        f"seed={recipe.seed}",
        f"tokens={recipe.tokens}",
    ]
    if recipe.model.norm_type != DEFAULT_NORM:
        parts.append(f"norm={recipe.model.norm_type}")
    if recipe.model.vocab_size != DEFAULT_VOCAB:
        parts.append(f"vocab={recipe.model.vocab_size}")
    if suffix:
        parts.append(suffix)
    return "-".join(parts).replace("/", "-").replace(".", "p")


def checkpoint_steps(total_steps: int, num_checkpoints: int, every: int | None) -> tuple[int, ...]:
    """Steps after which a checkpoint is written; the last is always ``total_steps`` (the final checkpoint).

    ``every``: each multiple of it. Otherwise ``num_checkpoints`` evenly spaced (open_lm's "epochs").
    """
    if every is not None:
        steps = set(range(every, total_steps + 1, every))
    else:
        count = max(1, min(num_checkpoints, total_steps))
        steps = {math.ceil(total_steps * k / count) for k in range(1, count + 1)}
    steps.add(total_steps)
    return tuple(sorted(steps))


def detect_device(requested: str) -> str:
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device cuda was requested but torch sees no CUDA device")
    return requested


def make_plan(
    config: TrainConfig, world_size: int = 1, storage: Storage | None = None, source: DataSource | None = None
) -> RunPlan:
    """Resolve data, recipe and steps; raises before any training on a bad batch split or too little data."""
    storage = storage or config.storage()
    source = source or resolve_data(config.data, storage)
    recipe = resolve_recipe(config, source)
    if recipe.global_bs % world_size:
        raise ValueError(
            f"global batch size {recipe.global_bs} is not divisible by the world size {world_size} "
            f"(scale {recipe.name}); choose --nproc dividing it or override --global-bs"
        )
    per_rank = recipe.global_bs // world_size
    if per_rank % recipe.acc:
        raise ValueError(
            f"per-device batch {per_rank} (global {recipe.global_bs} / {world_size} devices) is not divisible "
            f"by the gradient accumulation {recipe.acc}"
        )
    context_len = probe_context_len(source, storage)
    windows = windows_per_context(context_len, recipe.model.seq_len)
    total_steps = recipe.total_steps()
    if config.max_steps is not None:
        total_steps = min(total_steps, config.max_steps)
    if total_steps < 1:
        raise ValueError(f"scale {recipe.name}: the token budget {recipe.tokens} gives no full step")
    needed = total_steps * recipe.global_bs
    available = source.num_sequences * windows
    if needed > available and not recipe.multiple_data_passes:
        raise DataError(
            f"{source.manifest_uri}: {total_steps} steps x {recipe.global_bs} sequences need {needed} samples of "
            f"{recipe.model.seq_len + 1} tokens but the data holds {available} ({source.num_sequences} contexts x "
            f"{windows}); allow multiple data passes, train fewer steps, or give more data"
        )
    device = detect_device(config.device)
    precision = recipe.precision
    if device == "cpu" and precision != "fp32":
        precision = "fp32"  # bf16 autocast on CPU is slow and not what the CPU scales are tuned for
    fsdp = recipe.fsdp
    name = config.name or friendly_name(source.dataset_name, recipe, config.name_suffix)
    if name == recipe.model_json_name:
        raise ValueError(f"run name {name!r} clashes with the model JSON name; choose another --name")
    log_every = config.log_every or (1 if device == "cpu" else 20)
    return RunPlan(
        config=config,
        recipe=recipe,
        source=source,
        name=name,
        run_dir=join_uri(config.logs, name),
        context_len=context_len,
        windows_per_context=windows,
        total_steps=total_steps,
        checkpoint_steps=checkpoint_steps(total_steps, recipe.num_checkpoints, config.checkpoint_every),
        world_size=world_size,
        device_type=device,
        precision=precision,
        fsdp=fsdp,
        torchcompile=recipe.torchcompile,
        log_every=log_every,
    )
