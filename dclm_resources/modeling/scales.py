"""Scale recipes (DCLM's ``training/configs`` + model JSON, one YAML per scale) and the ``dclm scales`` table.

Every DCLM scale keeps DCLM's numbers exactly: ``tokens = 20 * params * chinchilla_multiplier``, where ``params``
is DCLM's published count (= the model's parameters without the q/k norm gains). The CPU scales ``micro`` and
``small`` declare ``vocab_size: auto``: the trainer takes the vocabulary of the data's tokenizer through
``with_vocab``; until then they are shown at the default offline BPE (8192 tokens -> embedding rows 8256).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from dclm_resources.modeling.config import ModelConfig

SCALES_DIR = Path(__file__).resolve().parents[2] / "dclm_assets" / "configs" / "scales"
SCALE_ORDER = ("micro", "small", "400m-1x", "1b-1x", "1b-5x", "3b-1x", "7b-1x", "7b-2x")
DEFAULT_BPE_VOCAB = 8192
VOCAB_MULTIPLE = 64
PRECISIONS = ("amp_bfloat16", "amp_bf16", "amp", "bf16", "fp16", "fp32")  # open_lm's --precision choices


def auto_vocab_size(pad_id: int, multiple: int = VOCAB_MULTIPLE) -> int:
    """Embedding rows for a tokenizer whose largest id is ``pad_id``: ``pad_id + 1`` rounded up to ``multiple``."""
    return multiple * math.ceil((pad_id + 1) / multiple)


# open_lm's PAD is base vocab + 2 (see tokenization.tokenizer): 8192 -> 8194 -> 8256 rows.
DEFAULT_AUTO_VOCAB = auto_vocab_size(DEFAULT_BPE_VOCAB + 2)


@dataclass(frozen=True)
class ScaleRecipe:
    """One training scale: model, token budget and optimizer recipe (DCLM's ``Hyperparameters`` + open_lm flags)."""

    name: str
    dclm_name: str | None
    model: ModelConfig
    model_json_name: str
    params: int
    params_no_embed: int
    chinchilla_multiplier: float
    tokens: int
    warmup: int
    lr: float
    wd: float
    beta1: float
    beta2: float
    eps: float
    cd: float
    global_bs: int
    acc: int
    z_loss: float
    grad_clip_norm: float
    seed: int
    precision: str
    fsdp: bool
    fsdp_flags: tuple[str, ...]
    torchcompile: bool
    grad_checkpointing: bool
    num_checkpoints: int
    multiple_data_passes: bool
    vocab_auto: bool = False
    description: str = ""

    def tokens_per_step(self) -> int:
        return self.global_bs * self.model.seq_len

    def total_steps(self) -> int:
        """Optimizer steps as open_lm counts them: tokens split over checkpoints, in whole sequences, / batch."""
        samples_per_checkpoint = (self.tokens // self.num_checkpoints) // self.model.seq_len
        return samples_per_checkpoint * self.num_checkpoints // self.global_bs

    def train_flops(self) -> float:
        """``6 * N * D`` with N = ``params`` and D = ``tokens`` (DCLM's cost table)."""
        return 6.0 * self.params * self.tokens

    def with_vocab(self, vocab_size: int) -> ScaleRecipe:
        """This recipe with ``vocab_size`` embedding rows; parameter counts follow, the token budget stays."""
        model = self.model.replace(vocab_size=vocab_size)
        params, params_no_embed = count_params(model)
        return dataclasses.replace(self, model=model, params=params, params_no_embed=params_no_embed,
                                   vocab_auto=False)

    def summary(self) -> dict[str, Any]:
        """The fields ``dclm scales --json`` prints."""
        return {
            "name": self.name,
            "dclm_name": self.dclm_name,
            "model": self.model_json_name,
            "params": self.params,
            "params_no_embed": self.params_no_embed,
            "vocab_size": self.model.vocab_size,
            "vocab_auto": self.vocab_auto,
            "tokens": self.tokens,
            "chinchilla_multiplier": self.chinchilla_multiplier,
            "train_flops": self.train_flops(),
            "global_bs": self.global_bs,
            "seq_len": self.model.seq_len,
            "tokens_per_step": self.tokens_per_step(),
            "total_steps": self.total_steps(),
            "lr": self.lr,
            "warmup": self.warmup,
            "precision": self.precision,
            "note": (f"vocab_size auto: counted at the default {DEFAULT_BPE_VOCAB}-token BPE "
                     f"({self.model.vocab_size} embedding rows); the trainer uses the data's tokenizer")
            if self.vocab_auto else "",
        }


def count_params(model: ModelConfig) -> tuple[int, int]:
    """DCLM's ``(params, params_no_embed)`` for ``model``: the count without the q/k norm gains."""
    return (model.num_params(qk_norm_gains=False),
            model.num_params(exclude_embeddings=True, qk_norm_gains=False))


_FLOAT_KEYS = ("chinchilla_multiplier", "lr", "wd", "beta1", "beta2", "eps", "cd", "z_loss", "grad_clip_norm")
_INT_KEYS = ("warmup", "global_bs", "acc", "seed", "num_checkpoints")
_BOOL_KEYS = ("fsdp", "torchcompile", "grad_checkpointing", "multiple_data_passes")
_DEFAULTS: dict[str, Any] = {
    "dclm_name": None, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "cd": 3e-5, "acc": 1, "z_loss": 0.0,
    "grad_clip_norm": 1.0, "seed": 124, "precision": "amp_bfloat16", "fsdp": False, "fsdp_flags": [],
    "torchcompile": False, "grad_checkpointing": False, "num_checkpoints": 5, "multiple_data_passes": False,
    "description": "",
}
_ALLOWED = set(_FLOAT_KEYS) | set(_INT_KEYS) | set(_BOOL_KEYS) | set(_DEFAULTS) | {
    "name", "model", "model_json_name", "params", "params_no_embed", "tokens",
}


def parse_scale(data: Any, source: str) -> ScaleRecipe:
    """A ``ScaleRecipe`` from parsed YAML; errors name ``source`` and the key."""
    if not isinstance(data, dict):
        raise ValueError(f"{source}: expected a mapping at the top level")
    unknown = sorted(set(data) - _ALLOWED)
    if unknown:
        raise ValueError(f"{source}: unknown key(s) {', '.join(unknown)}")
    fields = {**_DEFAULTS, **data}
    for key in ("name", "model", "model_json_name", "tokens", "warmup", "lr", "wd", "global_bs"):
        if key not in data:
            raise ValueError(f"{source}: missing key {key!r}")
    try:
        for key in _FLOAT_KEYS:
            fields[key] = float(_number(fields[key], key))
        for key in (*_INT_KEYS, "tokens"):
            fields[key] = _integer(fields[key], key)
        if fields["precision"] not in PRECISIONS:
            raise ValueError(f"precision {fields['precision']!r} is not one of {', '.join(PRECISIONS)}")
        for key in _BOOL_KEYS:
            if not isinstance(fields[key], bool):
                raise ValueError(f"{key} must be true or false, got {fields[key]!r}")
        model_data = fields["model"]
        if not isinstance(model_data, dict):
            raise ValueError("model must be a mapping of open_lm model-JSON keys")
        vocab_auto = model_data.get("vocab_size") == "auto"
        if vocab_auto:
            model_data = {**model_data, "vocab_size": DEFAULT_AUTO_VOCAB}
        model = ModelConfig.from_open_lm_json(model_data)
        computed, computed_no_embed = count_params(model)
        if vocab_auto:
            if "params" in data or "params_no_embed" in data:
                raise ValueError("params/params_no_embed are computed for vocab_size: auto; do not set them")
            fields["params"], fields["params_no_embed"] = computed, computed_no_embed
        else:
            for key, value in (("params", computed), ("params_no_embed", computed_no_embed)):
                if key not in data:
                    fields[key] = value
                elif _integer(data[key], key) != value:
                    raise ValueError(f"{key} {data[key]} does not match the model, which has {value}")
        if fields["dclm_name"] is not None:
            expected = round(20 * fields["params"] * fields["chinchilla_multiplier"])
            if fields["tokens"] != expected:
                raise ValueError(f"tokens {fields['tokens']} is not 20 x params x chinchilla_multiplier = {expected}")
        fields["model"] = model
        fields["fsdp_flags"] = tuple(str(flag) for flag in fields["fsdp_flags"] or ())
        fields["vocab_auto"] = vocab_auto
        recipe = ScaleRecipe(**fields)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{source}: {err}") from err
    if recipe.global_bs % recipe.acc:
        raise ValueError(f"{source}: global_bs {recipe.global_bs} is not divisible by acc {recipe.acc}")
    return recipe


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{key} must be a number, got {value!r}")
    if not isinstance(value, int | float):
        # YAML 1.1 reads "3e-3" (no dot) as a string; accept it as a number.
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{key} must be a number, got {value!r}") from None
    return value


def _integer(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{key} must be an integer, got {value!r}")
    return value


def scale_names(scales_dir: Path | None = None) -> list[str]:
    """Known scales, CPU scales first then DCLM's by size."""
    names = {path.stem for path in (scales_dir or SCALES_DIR).glob("*.yaml")}
    ordered = [name for name in SCALE_ORDER if name in names]
    return ordered + sorted(names - set(ordered))


def load_scale(name: str, scales_dir: Path | None = None) -> ScaleRecipe:
    """The recipe ``<scales_dir>/<name>.yaml``; an unknown name raises ``ValueError`` listing the known ones."""
    directory = scales_dir or SCALES_DIR
    path = directory / f"{name}.yaml"
    if "/" in name or "\\" in name or not path.is_file():
        raise ValueError(f"unknown scale {name!r}; known scales: {', '.join(scale_names(directory))}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f": line {mark.line + 1}" if mark is not None else ""
        raise ValueError(f"{path}{where}: invalid YAML: {err}") from err
    recipe = parse_scale(data, str(path))
    if recipe.name != name:
        raise ValueError(f"{path}: name {recipe.name!r} does not match the file name {name!r}")
    return recipe


def _human(value: float) -> str:
    for unit, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.3g}{unit}"
    return f"{value:g}"


def format_scales_table(recipes: list[ScaleRecipe]) -> str:
    """One line per scale: name, parameters, tokens, train FLOPs (6ND), global batch; auto-vocab scales marked."""
    header = f"{'scale':<9} {'params':>15} {'tokens':>17} {'train FLOPs':>11} {'global batch':>22}  note"
    lines = [header]
    for r in recipes:
        batch = f"{r.global_bs} x {r.model.seq_len} tok"
        note = f"DCLM {r.dclm_name}" if r.dclm_name else "CPU scale"
        if r.dclm_name and r.chinchilla_multiplier != 1:
            note += f" x chinchilla_multiplier {r.chinchilla_multiplier:g}"
        if r.vocab_auto:
            note += (f"; vocab auto, shown at the default {DEFAULT_BPE_VOCAB}-token BPE "
                     f"(vocab {r.model.vocab_size})")
        lines.append(f"{r.name:<9} {r.params:>15,} {r.tokens:>17,} {r.train_flops():>11.3g} {batch:>22}  {note}")
    return "\n".join(lines)


def scales_report(as_json: bool = False, scales_dir: Path | None = None) -> str:
    """What ``dclm scales`` prints (``as_json``: a JSON list of ``ScaleRecipe.summary()``)."""
    recipes = [load_scale(name, scales_dir) for name in scale_names(scales_dir)]
    if as_json:
        import json

        return json.dumps([r.summary() for r in recipes], indent=2)
    return format_scales_table(recipes)
