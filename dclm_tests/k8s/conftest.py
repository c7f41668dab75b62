"""Shared helpers for the Kubernetes launch tests: recipes and launch options."""

from __future__ import annotations

import pytest

from dclm_resources.k8s import K8sLaunchOptions
from dclm_resources.modeling import ScaleRecipe, load_scale, scale_names
from dclm_resources.training.config import TrainConfig

IMAGE = "registry.example.com/dclm/train:1.0"
DATA = "s3://dclm-bucket/tokenized/my_dataset/manifest.jsonl"
LOGS = "s3://dclm-bucket/logs/my_dataset-1b-1x"
GPU_SCALES = ("400m-1x", "1b-1x", "1b-5x", "3b-1x", "7b-1x", "7b-2x")
CPU_SCALES = ("micro", "small")


def recipe(name: str) -> ScaleRecipe:
    if name not in scale_names():
        pytest.fail(f"scale {name!r} missing from dclm_assets/configs/scales (known: {scale_names()})")
    return load_scale(name)


def options(**changes: object) -> K8sLaunchOptions:
    return K8sLaunchOptions(**{"image": IMAGE, "s3_secret_name": "dclm-s3", **changes})  # type: ignore[arg-type]


def train_config(scale: str, **changes: object) -> TrainConfig:
    return TrainConfig(**{"scale": scale, "data": DATA, "logs": LOGS, "name": f"{scale}-run", **changes})  # type: ignore[arg-type]
