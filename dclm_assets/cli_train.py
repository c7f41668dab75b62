"""``dclm train``: train a model at a DCLM scale on tokenized shards (local torchrun, gloo on CPU / NCCL on GPU).

``register(subparsers)`` adds the command; it calls the same engine as the checkpoint asset
(``dclm_resources.training.run_training``). Overrides mirror DCLM's ``training/train.py`` flags (``--warmup --lr
--wd --cd --global-bs --acc --chinchilla-multiplier --multiple-data-passes``). Input problems raise ValueError /
OSError subclasses, which ``dclm``'s main turns into one clear error line; a failed torchrun run exits 1 with the
ranks' error lines.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

_OVERRIDES = (
    "name", "resume", "max_steps", "checkpoint_every", "num_checkpoints", "seed", "precision", "torchcompile", "fsdp",
    "tensorboard", "warmup", "lr", "wd", "cd", "global_bs", "acc", "chinchilla_multiplier", "multiple_data_passes",
    "tokenizer", "vocab_size", "log_every", "peak_flops", "device", "threads", "name_suffix", "model_reference_dir",
    "s3_endpoint_url",
)


def _default_nproc(device: str) -> int:
    import torch

    if device != "cpu" and torch.cuda.is_available():
        return torch.cuda.device_count()
    return 1


def build_config(args: argparse.Namespace) -> Any:  # noqa: ANN401 - TrainConfig, imported lazily
    """The ``TrainConfig`` for parsed ``dclm train`` arguments."""
    from dclm_resources.training import TrainConfig

    values = {key: getattr(args, key) for key in _OVERRIDES if getattr(args, key, None) is not None}
    if values.get("s3_endpoint_url") is None and os.environ.get("DCLM_S3_ENDPOINT_URL"):
        values["s3_endpoint_url"] = os.environ["DCLM_S3_ENDPOINT_URL"]
    values["delete_previous_checkpoint"] = not args.keep_checkpoints
    return TrainConfig(scale=args.scale, data=args.data, logs=args.logs, **values)


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def cmd_train(args: argparse.Namespace) -> int:
    """Train (or resume) one run: progress on stderr, the result as JSON on stdout."""
    from dclm_resources.training import TrainingFailed, run_training

    config = build_config(args)
    nproc = args.nproc or _default_nproc(config.device)
    try:
        result = run_training(config, nproc, log=_progress, use_torchrun=True if args.torchrun else None)
    except TrainingFailed as err:
        print(f"dclm train: error: {err}", file=sys.stderr)
        return 1
    print(json.dumps(result.to_dict(), indent=2))
    return 0


def register(subparsers: Any) -> None:  # noqa: ANN401 - argparse's private _SubParsersAction
    """Add ``dclm train`` to the ``dclm`` parser."""
    help_ = "Train a model at a DCLM scale on tokenized shards (torchrun; resumes from the last checkpoint)."
    p = subparsers.add_parser("train", help=help_, description=help_)
    p.set_defaults(func=cmd_train)
    p.add_argument("--scale", required=True, help="scale name (see `dclm scales`) or a recipe YAML file")
    p.add_argument("--data", required=True,
                   help="tokenized dataset: reference JSON, manifest.jsonl, or the shard folder (local or s3://)")
    p.add_argument("--logs", required=True, help="logs folder (local or s3://); the run lives in LOGS/NAME")
    p.add_argument("--nproc", type=int, help="processes on this machine (default: the GPUs, or 1 on CPU)")
    p.add_argument("--torchrun", action="store_true", help="use torchrun even for one process")
    p.add_argument("--name", help="run name (default: DCLM's friendly name from dataset and recipe)")
    p.add_argument("--name-suffix", help="appended to the friendly name")
    p.add_argument("--resume", choices=("latest", "none"), default="latest",
                   help="latest: continue from the last complete checkpoint (default); none: start fresh")
    p.add_argument("--max-steps", type=int, help="train at most N steps (the lr schedule follows)")
    p.add_argument("--checkpoint-every", type=int, help="checkpoint every N steps (default: num_checkpoints evenly)")
    p.add_argument("--num-checkpoints", type=int, help="checkpoints per run (open_lm --epochs; DCLM default 5)")
    p.add_argument("--keep-checkpoints", action="store_true", help="keep earlier checkpoints (no deletion)")
    p.add_argument("--seed", type=int, help="seed of model init and shard order (DCLM default 124)")
    p.add_argument("--precision", choices=("amp_bfloat16", "amp_bf16", "fp32"), help="override the recipe's")
    p.add_argument("--torchcompile", action=argparse.BooleanOptionalAction, default=None, help="torch.compile")
    p.add_argument("--fsdp", action=argparse.BooleanOptionalAction, default=None, help="FSDP instead of DDP")
    p.add_argument("--tensorboard", action="store_true", help="also write TensorBoard logs (LOGS/NAME/tensorboard)")
    for flag, kind, text in (
        ("--warmup", int, "warmup steps"), ("--lr", float, "peak lr"), ("--wd", float, "weight decay"),
        ("--cd", float, "final lr of the cosine (lr cooldown end)"), ("--global-bs", int, "sequences per step"),
        ("--acc", int, "gradient accumulation micro-batches"),
        ("--chinchilla-multiplier", float, "token budget multiplier (tokens scale with it)"),
    ):
        p.add_argument(flag, type=kind, help=f"override the recipe's {text}")
    p.add_argument("--multiple-data-passes", action=argparse.BooleanOptionalAction, default=None,
                   help="allow more than one pass over the shards")
    p.add_argument("--tokenizer", help="tokenizer.json (or folder) sizing a vocab 'auto' recipe")
    p.add_argument("--vocab-size", type=int, help="embedding rows (instead of the data tokenizer's)")
    p.add_argument("--log-every", type=int, help="log every N steps (default 1 on CPU, 20 on GPU)")
    p.add_argument("--peak-flops", type=float, help="per-device peak FLOP/s for MFU (default: GPU table; CPU n/a)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--threads", type=int, help="torch CPU threads per process")
    p.add_argument("--model-reference-dir", help="also write the model reference JSON here (DCLM exp_data/models)")
    p.add_argument("--s3-endpoint-url", help="S3 endpoint for non-AWS stores (default: $DCLM_S3_ENDPOINT_URL)")
