"""What a training run is asked to do (``TrainConfig``) and what it reports back (``TrainResult``).

Why plain JSON-able dataclasses: the same config crosses from the CLI or the Dagster asset into ``torchrun``
workers (written to a file) and the result comes back the same way.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dclm_resources.modeling import ScaleRecipe, auto_vocab_size, load_scale
from dclm_resources.storage import S3Settings, Storage
from dclm_resources.training.manifest import DataError, DataSource

PRECISIONS = ("amp_bfloat16", "amp_bf16", "fp32")
RESUME_CHOICES = ("latest", "none")


@dataclass
class TrainConfig:
    """One run: a scale recipe (with DCLM-style overrides), the data, and where logs/checkpoints go.

    ``None`` overrides keep the recipe's value. ``max_steps`` shortens the run: the lr schedule and the token
    budget follow it (a complete, shorter run). ``checkpoint_every`` replaces the recipe's ``num_checkpoints``
    spacing. ``tokenizer`` / ``vocab_size`` resolve ``vocab_size: auto`` when the data's reference JSON does not
    name a loadable tokenizer.
    """

    scale: str
    data: str
    logs: str
    name: str | None = None
    resume: str = "latest"
    max_steps: int | None = None
    checkpoint_every: int | None = None
    num_checkpoints: int | None = None
    seed: int | None = None
    precision: str | None = None
    torchcompile: bool | None = None
    fsdp: bool | None = None
    tensorboard: bool = False
    warmup: int | None = None
    lr: float | None = None
    wd: float | None = None
    cd: float | None = None
    global_bs: int | None = None
    acc: int | None = None
    chinchilla_multiplier: float | None = None
    multiple_data_passes: bool | None = None
    tokenizer: str | None = None
    vocab_size: int | None = None
    log_every: int | None = None
    peak_flops: float | None = None
    device: str = "auto"
    threads: int | None = None
    delete_previous_checkpoint: bool = True
    name_suffix: str | None = None
    model_reference_dir: str | None = None
    s3_endpoint_url: str | None = None
    prefetch: int = 2

    def __post_init__(self) -> None:
        if self.resume not in RESUME_CHOICES:
            raise ValueError(f"resume must be one of {RESUME_CHOICES}, got {self.resume!r}")
        if self.precision is not None and self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device must be auto, cpu or cuda, got {self.device!r}")
        for key in ("max_steps", "checkpoint_every", "num_checkpoints", "global_bs", "acc", "log_every"):
            value = getattr(self, key)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{key} must be a positive integer, got {value!r}")

    def storage(self) -> Storage:
        return Storage(S3Settings(endpoint_url=self.s3_endpoint_url)) if self.s3_endpoint_url else Storage()

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TrainConfig:
        data = json.loads(text)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"train config: unknown key(s) {', '.join(unknown)}")
        return cls(**data)


def resolve_vocab(recipe: ScaleRecipe, source: DataSource, config: TrainConfig) -> int | None:
    """The embedding rows for an auto-vocab recipe (``None``: keep the recipe's).

    Order: ``config.vocab_size``; else the tokenizer (``config.tokenizer``, else the reference JSON's
    ``tokenizer_path``, else its ``tokenizer``) loaded offline: ``pad_id + 1`` rounded up to a multiple of 64 (PAD
    is the largest id open_lm packing writes).
    """
    if config.vocab_size is not None:
        return config.vocab_size
    if not recipe.vocab_auto:
        return None
    from dclm_resources.tokenization.tokenizer import TokenizerNotFoundError, load_tokenizer

    name = config.tokenizer or source.tokenizer_path or source.tokenizer
    if not name:
        raise DataError(
            f"scale {recipe.name!r} takes its vocabulary from the data's tokenizer, but {source.manifest_uri} "
            "comes without a reference JSON naming one; pass --tokenizer PATH or --vocab-size N"
        )
    try:
        info = load_tokenizer(name).info
    except (TokenizerNotFoundError, OSError, ValueError) as exc:
        key = "tokenizer_path" if source.tokenizer_path and not config.tokenizer else "tokenizer"
        where = "--tokenizer" if config.tokenizer else f"{source.reference_uri} (key \"{key}\")"
        raise DataError(
            f"cannot load tokenizer {name!r} named by {where} to size the vocabulary of scale {recipe.name!r}: "
            f"{exc}. Pass --tokenizer PATH (the tokenizer.json or its folder) or --vocab-size N"
        ) from exc
    return auto_vocab_size(info.pad_id)


def load_scale_spec(scale: str) -> ScaleRecipe:
    """A scale by name (``dclm_assets/configs/scales``) or a recipe YAML file path (its stem is the name)."""
    if scale.endswith(".yaml"):
        path = Path(scale)
        if not path.is_file():
            raise ValueError(f"scale recipe file not found: {scale}")
        return load_scale(path.stem, scales_dir=path.parent)
    return load_scale(scale)


def resolve_recipe(config: TrainConfig, source: DataSource) -> ScaleRecipe:
    """The scale's recipe with this run's overrides applied and its vocabulary resolved."""
    recipe = load_scale_spec(config.scale)
    changes: dict[str, Any] = {}
    for key in ("warmup", "lr", "wd", "cd", "global_bs", "acc", "seed", "precision", "torchcompile", "fsdp",
                "num_checkpoints", "multiple_data_passes"):
        value = getattr(config, key)
        if value is not None:
            changes[key] = value
    if config.chinchilla_multiplier is not None:
        changes["chinchilla_multiplier"] = config.chinchilla_multiplier
        changes["tokens"] = round(recipe.tokens * config.chinchilla_multiplier / recipe.chinchilla_multiplier)
    recipe = dataclasses.replace(recipe, **changes)
    vocab = resolve_vocab(recipe, source, config)
    if vocab is not None and (vocab != recipe.model.vocab_size or recipe.vocab_auto):
        recipe = recipe.with_vocab(vocab)
    if recipe.global_bs % recipe.acc:
        raise ValueError(f"global batch {recipe.global_bs} is not divisible by acc {recipe.acc}")
    return recipe


@dataclass
class TrainResult:
    """What a finished run reports (the asset turns it into metadata)."""

    name: str
    run_dir: str
    checkpoint: str
    model_reference: str
    model_json: str
    params_txt: str
    loss_log: str
    tensorboard_dir: str | None
    steps: int
    total_steps: int
    tokens_seen: int
    final_loss: float | None
    tokens_per_s: float | None
    tokens_per_s_per_device: float | None
    mfu: float | None
    wall_s: float
    world_size: int
    device: str
    params: int
    resumed_from_step: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainResult:
        return cls(**data)
