"""torchrun with 2 CPU processes (gloo): the same loss per step as 1 process with the same global batch."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from dclm_resources.training import (
    TrainConfig,
    TrainingFailed,
    load_torch,
    read_loss_log,
    run_training,
    train,
)
from dclm_resources.training.trainer import FAULT_ENV
from dclm_tests.training.conftest import Shards, write_scale


def _config(tmp: Path, shards: Shards, logs: str, **changes) -> TrainConfig:
    scale = write_scale(tmp / "scales", tokens=12 * 8 * 64, acc=2)  # 12 steps of 8 sequences, 2 micro-batches
    return dataclasses.replace(
        TrainConfig(scale=str(scale), data=str(shards.reference), logs=str(tmp / logs), threads=1), **changes
    )


def _losses(path: str) -> list[float]:
    return [r["loss"] for r in read_loss_log(path)]


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory, shards: Shards):  # noqa: ANN201
    tmp = tmp_path_factory.mktemp("single")
    return train(_config(tmp, shards, "one"), log=lambda _: None)


def test_two_gloo_processes_match_one(tmp_path: Path, shards: Shards, single) -> None:  # noqa: ANN001
    lines: list[str] = []
    double = run_training(_config(tmp_path, shards, "two"), nproc=2, log=lines.append)
    assert double.world_size == 2 and single.world_size == 1
    assert any("world size 2 (ddp, cpu, fp32)" in line for line in lines)
    a, b = _losses(single.loss_log), _losses(double.loss_log)
    assert len(a) == len(b) == 12
    for step, (x, y) in enumerate(zip(a, b, strict=True), start=1):
        assert x == pytest.approx(y, abs=1e-4), step
    sd_a, sd_b = load_torch(single.checkpoint)["state_dict"], load_torch(double.checkpoint)["state_dict"]
    assert list(sd_a) == list(sd_b)  # DDP adds no "module." prefix to saved names
    assert max(float((sd_a[k] - sd_b[k]).abs().max()) for k in sd_a) < 1e-3


def test_fsdp_two_processes_killed_and_resumed_match_one(tmp_path: Path, shards: Shards, single) -> None:  # noqa: ANN001
    config = _config(tmp_path, shards, "fsdp", fsdp=True, checkpoint_every=4)
    with pytest.raises(TrainingFailed):
        run_training(config, nproc=2, log=lambda _: None, env={FAULT_ENV: "6"})  # rank 0 SIGKILLed after step 6
    lines: list[str] = []
    sharded = run_training(config, nproc=2, log=lines.append)
    assert any("world size 2 (fsdp, cpu, fp32)" in line for line in lines)
    assert sharded.resumed_from_step == 4  # model and sharded optimizer state restored from the full checkpoint
    for x, y in zip(_losses(single.loss_log), _losses(sharded.loss_log), strict=True):
        assert x == pytest.approx(y, abs=1e-4)
    assert list(load_torch(sharded.checkpoint)["state_dict"]) == list(load_torch(single.checkpoint)["state_dict"])


def test_batch_not_divisible_by_world_size_fails_clearly(tmp_path: Path, shards: Shards) -> None:
    lines: list[str] = []
    with pytest.raises(TrainingFailed, match="exited with status 1") as err:
        run_training(_config(tmp_path, shards, "three", global_bs=9, acc=1), nproc=2, log=lines.append)
    assert "global batch size 9 is not divisible by the world size 2" in str(err.value)
