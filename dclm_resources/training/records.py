"""The run's descriptive files: ``params.txt``, the open_lm model JSON and DCLM's model reference JSON.

``params.txt`` follows open_lm: one ``name: value`` line per argument, sorted, read back by DCLM's eval with
``yaml.safe_load``. Values are written so that YAML reads them back as the same Python values (floats always carry
a '.', e.g. ``3.0e-05``; strings YAML would misread are double-quoted). The model reference JSON has the fields of
DCLM's ``ModelReference`` (``dclm.md`` §5.4).
"""

from __future__ import annotations

import json
import uuid as uuid_lib
from datetime import datetime, timezone
from typing import Any

import yaml

from dclm_resources.training.plan import RunPlan

OPEN_LM_FORMAT_VERSION = "0.0.34"
PRODUCER = f"dclm_dagster (open_lm {OPEN_LM_FORMAT_VERSION} checkpoint format)"
PARAMS_FILE = "params.txt"


def _yaml_value(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        if "e" in text and "." not in text.split("e")[0]:
            mantissa, exponent = text.split("e")
            text = f"{mantissa}.0e{exponent}"
        return text
    if isinstance(value, list | tuple):
        return "[" + ", ".join(json.dumps(v) if isinstance(v, str) else _yaml_value(v) for v in value) + "]"
    text = str(value)
    try:
        if yaml.safe_load(f"k: {text}") == {"k": text}:
            return text
    except yaml.YAMLError:
        pass
    return json.dumps(text)


def format_params_txt(params: dict[str, Any]) -> str:
    """open_lm's params.txt text: sorted ``name: value`` lines that ``yaml.safe_load`` parses back to ``params``."""
    return "".join(f"{key}: {_yaml_value(params[key])}\n" for key in sorted(params))


def fsdp_flag_fields(flags: tuple[str, ...]) -> dict[str, bool]:
    """open_lm's fsdp booleans (``--fsdp-amp`` -> ``fsdp_amp``...) from the recipe's flag list."""
    names = ("fsdp_amp", "fsdp_pure_bf16", "fsdp_use_orig_params", "fsdp_limit_all_gathers")
    present = {flag.lstrip("-").replace("-", "_") for flag in flags}
    return {name: name in present for name in names}


def params_dict(plan: RunPlan) -> dict[str, Any]:
    """The arguments of this run under open_lm's names (what open_lm would have recorded)."""
    r, m = plan.recipe, plan.recipe.model
    out: dict[str, Any] = {
        "accum_freq": r.acc,
        "attn_name": m.attn_name,
        "beta1": r.beta1,
        "beta2": r.beta2,
        "checkpoint_path": plan.checkpoints_dir,
        "data_key": plan.source.data_key,
        "dataset_manifest": [plan.source.manifest_uri],
        "dataset_reference": plan.source.reference_uri,
        "dclm_scale": r.name,
        "delete_previous_checkpoint": plan.config.delete_previous_checkpoint,
        "device": plan.device_type,
        "epochs": len(plan.checkpoint_steps),
        "eps": r.eps,
        "ffn_type": m.ffn_type,
        "force_min_lr": 0.0,
        "fsdp": plan.fsdp,
        "global_batch_size": r.global_bs,
        "grad_checkpointing": r.grad_checkpointing,
        "grad_clip_norm": r.grad_clip_norm,
        "log_every_n_steps": plan.log_every,
        "logs": plan.config.logs,
        "lr": r.lr,
        "lr_cooldown_end": r.cd,
        "lr_scheduler": "cosine",
        "model": r.model_json_name,
        "model_norm": m.norm_type,
        "multiple_data_passes": r.multiple_data_passes,
        "name": plan.name,
        "optimizer": "adamw",
        "per_gpu_batch_size": plan.per_gpu_batch_size,
        "positional_embedding_type": m.positional_embedding_type,
        "precision": plan.precision,
        "qk_norm": m.qk_norm,
        "resume": plan.config.resume,
        "seed": r.seed,
        "seq_len": m.seq_len,
        "shard_context_len": plan.context_len,
        "torchcompile": plan.torchcompile,
        "total_steps": plan.total_steps,
        "train_num_samples": plan.train_num_samples,
        "vocab_size": m.vocab_size,
        "warmup": r.warmup,
        "wd": r.wd,
        "world_size": plan.world_size,
        "z_loss_coefficient": r.z_loss,
    }
    out.update(fsdp_flag_fields(r.fsdp_flags))
    return out


def open_lm_args(plan: RunPlan) -> list[str]:
    """The open_lm command line DCLM would pass for this run (``open_lm.md`` §3.1), as the model reference lists."""
    r = plan.recipe
    args = [
        "--workers", "2", "--precision", plan.precision, "--global-batch-size", str(r.global_bs),
        "--log-every-n-steps", str(plan.log_every), "--grad-clip-norm", str(r.grad_clip_norm), "--lr", str(r.lr),
        "--warmup", str(r.warmup), "--model", f"{r.model_json_name}.json", "--wd", str(r.wd),
        "--beta2", str(r.beta2), "--epochs", str(len(plan.checkpoint_steps)), "--resume", "latest",
        "--seed", str(r.seed), "--accum-freq", str(r.acc), "--model-norm", r.model.norm_type,
        "--lr-cooldown-end", str(r.cd), "--logs", plan.config.logs, "--attn-name", r.model.attn_name,
        "--train-num-samples", str(plan.train_num_samples * plan.seq_len),
        "--dataset-manifest", plan.source.manifest_uri, "--data-key", plan.source.data_key, "--name", plan.name,
    ]
    if plan.config.delete_previous_checkpoint:
        args.append("--delete-previous-checkpoint")
    if plan.fsdp:
        args.extend(r.fsdp_flags)
    if r.model.qk_norm:
        args.append("--qk-norm")
    if r.z_loss > 0:
        args.extend(["--z-loss-coefficient", str(r.z_loss)])
    if r.grad_checkpointing:
        args.append("--grad-checkpointing")
    if plan.torchcompile:
        args.append("--torchcompile")
    if r.multiple_data_passes:
        args.append("--multiple-data-passes")
    return args


def hyperparameters(plan: RunPlan, model_json_uri: str) -> dict[str, Any]:
    """DCLM's ``Hyperparameters`` fields for the model reference."""
    r = plan.recipe
    return {
        "model": model_json_uri,
        "tokens": r.tokens,
        "warmup": r.warmup,
        "lr": r.lr,
        "wd": r.wd,
        "cd": r.cd,
        "global_bs": r.global_bs,
        "acc": r.acc,
        "qk_norm": r.model.qk_norm,
        "z_loss": r.z_loss,
        "grad_checkpointing": r.grad_checkpointing,
        "params": r.params,
        "params_no_embed": r.params_no_embed,
        "fsdp_flags": list(r.fsdp_flags),
        "chinchilla_multiplier": r.chinchilla_multiplier,
        "seed": r.seed,
        "vocab_size": r.model.vocab_size,
        "norm": r.model.norm_type,
    }


def model_reference(
    plan: RunPlan,
    checkpoint_uri: str,
    params_uri: str,
    model_json_uri: str,
    results: list[Any] | None = None,
    uuid: str | None = None,
) -> dict[str, Any]:
    """DCLM's model reference JSON (``exp_data/models/<name>.json``)."""
    return {
        "name": plan.name,
        "dataset_name": plan.source.dataset_name,
        "dataset_uuid": plan.source.dataset_uuid,
        "hyperparameters": hyperparameters(plan, model_json_uri),
        "checkpoint_url": checkpoint_uri,
        "open_lm_version": PRODUCER,
        "open_lm_args": open_lm_args(plan),
        "results": list(results or []),
        "params_url": params_uri,
        "uuid": uuid or str(uuid_lib.uuid4()),
        "creation_date": datetime.now(timezone.utc).strftime("%Y_%m_%d-%H_%M_%S"),
        "failed": False,
        "error": "",
    }
