"""The contents of one checkpoint trio (open_lm's keys, ``open_lm.md`` §2.2) and restoring a run from it.

Keys beyond open_lm's, all in ``stats_N.pt``: ``shard_offset`` (windows of ``next_shard`` already used: our
batches do not end on shard boundaries), ``data_pass``, ``tokens_seen``, ``wall_s`` (cumulative), ``total_steps``,
``world_size`` and ``rng_state`` (torch CPU/CUDA generators).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from dclm_resources.storage import Storage, join_uri
from dclm_resources.training.checkpoint import CheckpointFiles, checkpoint_number, load_torch
from dclm_resources.training.data import DataPosition
from dclm_resources.training.plan import RunPlan


@dataclass
class Progress:
    """What the loop has done so far: steps, data position, cumulative wall time, shards since the last save."""

    step: int = 0
    position: DataPosition = DataPosition()
    wall_s: float = 0.0
    shards_since_checkpoint: list[str] | None = None
    last_loss: float | None = None


def train_data_string(plan: RunPlan, shard_names: list[str]) -> str:
    """open_lm's brace-expanded shard list for a checkpoint interval, e.g. ``root/{shard_a,shard_b}.tar``."""
    root = plan.source.manifest_uri.rsplit("/", 1)[0]
    unique = list(dict.fromkeys(shard_names))
    if len(unique) == 1:
        return join_uri(root, f"{unique[0]}.tar")
    return join_uri(root, "{" + ",".join(unique) + "}.tar")


def checkpoint_payloads(
    plan: RunPlan,
    number: int,
    progress: Progress,
    model_state: dict[str, torch.Tensor],
    optimizer_state: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """``(epoch_N, optimizer_N, stats_N)`` dicts with open_lm's keys plus ours (module docstring)."""
    pos = progress.position
    data_position = {
        "next_shard_per_source": [pos.next_shard],
        "samples_seen": pos.samples_seen,
        "step": progress.step,
        "shard_shuffle_seed": plan.seed,
    }
    model = {"epoch": number, "name": plan.name, "state_dict": model_state, "evaluation_metrics": [], **data_position}
    optimizer = {"epoch": number, "name": plan.name, "optimizer": optimizer_state, "evaluation_metrics": []}
    per_pass = plan.source.num_sequences * plan.windows_per_context
    rng: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        rng["cuda"] = torch.cuda.get_rng_state()
    stats = {
        "epoch": number,
        "name": plan.name,
        "is_final_checkpoint": progress.step >= plan.total_steps,
        "evaluation_metrics": [],
        "percentage_of_data_seen": 100.0 * pos.samples_seen / per_pass,
        **data_position,
        "train_data_string": train_data_string(plan, progress.shards_since_checkpoint or []),
        "shard_offset": pos.shard_offset,
        "data_pass": pos.pass_index(len(plan.source.shards)),
        "tokens_seen": progress.step * plan.tokens_per_step,
        "wall_s": progress.wall_s,
        "total_steps": plan.total_steps,
        "world_size": plan.world_size,
        "rng_state": rng,
    }
    return model, optimizer, stats


@dataclass
class Restored:
    """A checkpoint read back for resuming."""

    files: CheckpointFiles
    progress: Progress
    model_state: dict[str, torch.Tensor]
    optimizer_state: dict[str, Any]
    stats: dict[str, Any]


def read_for_resume(epoch_uri: str, plan: RunPlan, storage: Storage) -> Restored:
    """Load a trio and check it belongs to this run (seed, batch size); ValueError naming the file otherwise."""
    directory = epoch_uri.rsplit("/", 1)[0]
    files = CheckpointFiles(directory, checkpoint_number(epoch_uri))
    stats = load_torch(files.stats, storage)
    seed = stats.get("shard_shuffle_seed")
    if seed is not None and seed != plan.seed:
        raise ValueError(
            f"{files.stats}: the checkpoint was trained with seed {seed} but this run uses seed {plan.seed}; "
            "resume with the same --seed, or start over with --resume none in a new --logs/--name"
        )
    step, samples = int(stats["step"]), int(stats["samples_seen"])
    if samples != step * plan.global_bs:
        raise ValueError(
            f"{files.stats}: {samples} samples after {step} steps does not match the global batch "
            f"{plan.global_bs}; the batch size of a run cannot change on resume"
        )
    model_ckpt = load_torch(files.epoch, storage)
    optimizer_ckpt = load_torch(files.optimizer, storage)
    position = DataPosition(
        next_shard=int(stats["next_shard_per_source"][0]),
        shard_offset=int(stats.get("shard_offset", 0)),
        samples_seen=samples,
    )
    progress = Progress(step=step, position=position, wall_s=float(stats.get("wall_s", 0.0)), shards_since_checkpoint=[])
    return Restored(files, progress, model_ckpt["state_dict"], optimizer_ckpt["optimizer"], stats)


def restore_rng(stats: dict[str, Any]) -> None:
    rng = stats.get("rng_state") or {}
    if "torch" in rng:
        torch.set_rng_state(rng["torch"])
    if "cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state(rng["cuda"])
