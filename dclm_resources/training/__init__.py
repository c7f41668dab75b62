"""Training engine: open_lm's recipe on our transformer, from open_lm shards to open_lm checkpoints.

Plain Python (torch, no Dagster). ``train`` runs one process (or one torchrun rank); ``run_training`` launches
``torchrun`` for several local processes. Checkpoints, params.txt and DCLM's model reference JSON follow open_lm
and DCLM so runs move between the two.
"""

from dclm_resources.training.checkpoint import (
    CheckpointFiles,
    find_latest_checkpoint,
    load_checkpoint_for_eval,
    load_torch,
    read_params_txt,
)
from dclm_resources.training.config import TrainConfig, TrainResult, resolve_recipe
from dclm_resources.training.data import BatchLoader, DataPosition, shard_order, windows_per_context
from dclm_resources.training.launch import TrainingFailed, run_torchrun, run_training, torchrun_command
from dclm_resources.training.manifest import DataError, DataSource, ShardEntry, read_manifest, resolve_data
from dclm_resources.training.metrics import LOSS_LOG, mfu, peak_flops, read_loss_log
from dclm_resources.training.plan import RunPlan, checkpoint_steps, friendly_name, make_plan
from dclm_resources.training.records import format_params_txt, model_reference, open_lm_args, params_dict
from dclm_resources.training.schedule import lr_at
from dclm_resources.training.trainer import train

__all__ = [
    "LOSS_LOG",
    "BatchLoader",
    "CheckpointFiles",
    "DataError",
    "DataPosition",
    "DataSource",
    "RunPlan",
    "ShardEntry",
    "TrainConfig",
    "TrainResult",
    "TrainingFailed",
    "checkpoint_steps",
    "find_latest_checkpoint",
    "format_params_txt",
    "friendly_name",
    "load_checkpoint_for_eval",
    "load_torch",
    "lr_at",
    "make_plan",
    "mfu",
    "model_reference",
    "open_lm_args",
    "params_dict",
    "peak_flops",
    "read_loss_log",
    "read_manifest",
    "read_params_txt",
    "resolve_data",
    "resolve_recipe",
    "run_torchrun",
    "run_training",
    "shard_order",
    "torchrun_command",
    "train",
    "windows_per_context",
]
