"""Kill + resume: a run SIGKILLed between checkpoints resumes and logs the same loss curve as an uninterrupted run."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from dclm_resources.training import TrainConfig, find_latest_checkpoint, load_torch, read_loss_log, train
from dclm_resources.training.trainer import FAULT_ENV
from dclm_tests.paths import REPO_ROOT
from dclm_tests.training.conftest import Shards, write_scale


def _worker(config: TrainConfig, tmp: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    path = tmp / f"config-{os.getpid()}-{len(list(tmp.glob('config-*')))}.json"
    path.write_text(config.to_json())
    return subprocess.run(
        [sys.executable, "-m", "dclm_resources.training.worker", "--config", str(path)],
        cwd=REPO_ROOT, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=300,
    )


def test_sigkill_then_resume_matches_uninterrupted_run(tmp_path: Path, shards: Shards) -> None:
    scale = write_scale(tmp_path / "scales", tokens=24 * 8 * 64, acc=2)  # 24 steps
    base = TrainConfig(scale=str(scale), data=str(shards.reference), logs=str(tmp_path / "straight"),
                       checkpoint_every=5, threads=1)
    straight = train(base, log=lambda _: None)

    killed = dataclasses.replace(base, logs=str(tmp_path / "killed"))
    first = _worker(killed, tmp_path, {FAULT_ENV: "13"})
    assert first.returncode == -signal.SIGKILL, first.stderr[-2000:]
    run_dir = tmp_path / "killed" / straight.name
    assert find_latest_checkpoint(str(run_dir)) == str(run_dir / "checkpoints" / "epoch_2.pt")  # step 10
    assert [r["step"] for r in read_loss_log(str(run_dir / "loss.jsonl"))] == list(range(1, 14))

    second = _worker(killed, tmp_path)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "resumed from" in second.stdout and "at step 10" in second.stdout
    resumed_log = read_loss_log(str(run_dir / "loss.jsonl"))
    straight_log = read_loss_log(straight.loss_log)
    assert [r["step"] for r in resumed_log] == list(range(1, 25))
    for a, b in zip(straight_log, resumed_log, strict=True):
        assert a["loss"] == pytest.approx(b["loss"], abs=1e-5), a["step"]
        assert a["lr"] == b["lr"] and a["tokens"] == b["tokens"]
    final_a = load_torch(straight.checkpoint)["state_dict"]
    final_b = load_torch(str(run_dir / "checkpoints" / Path(straight.checkpoint).name))["state_dict"]
    for key in final_a:
        torch.testing.assert_close(final_a[key], final_b[key], atol=1e-5, rtol=0)
    stats = load_torch(str(run_dir / "checkpoints" / Path(straight.checkpoint).name.replace("epoch", "stats")))
    assert stats["is_final_checkpoint"] and stats["step"] == 24 and stats["wall_s"] > 0
