"""Training faults on a real ``dclm train`` process: SIGKILL mid-step and mid-checkpoint-write, then resume.

The run is frozen (SIGSTOP of its whole session) at the chosen point, the point is checked again on the frozen
process and only then SIGKILLed, so "killed while ``stats_N.pt`` was half written" is exactly what happened. The
rerun must start from the last *complete* checkpoint (never the torn one) and end with the loss log and weights
of an uninterrupted run.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import NamedTuple

import pytest
import torch

from dclm_resources.training import (
    find_latest_checkpoint,
    load_checkpoint_for_eval,
    load_torch,
    read_loss_log,
)
from dclm_tests.reliability import procs
from dclm_tests.tokenization.conftest import bpe, bpe_dir, c4_texts  # noqa: F401 - fixtures used by `shards`
from dclm_tests.training.conftest import Shards, c4_contexts, shards, write_scale  # noqa: F401

STEPS = 20
CHECKPOINT_EVERY = 2
# hidden 128: a few MB per checkpoint file, so a save lasts long enough for a poll to see its temp file.
WIDE = ("hidden_dim: 32", "hidden_dim: 128")


class Straight(NamedTuple):
    """An uninterrupted ``dclm train`` run: its arguments (minus --logs), run name and run dir."""

    args: list[str]
    name: str
    run_dir: Path


def train_args(scale: Path, shards: Shards, logs: Path) -> list[str]:  # noqa: F811
    return ["train", "--scale", str(scale), "--data", str(shards.reference), "--logs", str(logs),
            "--checkpoint-every", str(CHECKPOINT_EVERY), "--threads", "1", "--device", "cpu"]


@pytest.fixture(scope="module")
def straight(tmp_path_factory: pytest.TempPathFactory, shards: Shards) -> Straight:  # noqa: F811
    root = tmp_path_factory.mktemp("train_faults")
    scale = write_scale(root / "scales", name="tinywide", tokens=STEPS * 8 * 64)
    scale.write_text(scale.read_text().replace(*WIDE))
    code, run = procs.run(train_args(scale, shards, root / "straight"), root / "cli", timeout=240)
    assert code == 0, run.stderr()[-3000:]
    result = json.loads(run.stdout())
    assert result["steps"] == STEPS and result["resumed_from_step"] == 0
    return Straight(train_args(scale, shards, root / "straight"), result["name"], Path(result["run_dir"]))


def _args(straight: Straight, logs: Path) -> list[str]:
    args = list(straight.args)
    args[args.index("--logs") + 1] = str(logs)
    return args


def _assert_same_as_straight(straight: Straight, run_dir: Path) -> None:
    """Same loss curve (each step once) and same final weights as the uninterrupted run."""
    expected = read_loss_log(str(straight.run_dir / "loss.jsonl"))
    got = read_loss_log(str(run_dir / "loss.jsonl"))
    assert [r["step"] for r in got] == list(range(1, STEPS + 1))
    for a, b in zip(expected, got, strict=True):
        assert b["loss"] == pytest.approx(a["loss"], abs=1e-6), a["step"]
        assert (b["lr"], b["tokens"], b["samples_seen"]) == (a["lr"], a["tokens"], a["samples_seen"]), a["step"]
    final = f"epoch_{STEPS // CHECKPOINT_EVERY}.pt"
    a_state = load_torch(str(straight.run_dir / "checkpoints" / final))["state_dict"]
    b_state = load_torch(str(run_dir / "checkpoints" / final))["state_dict"]
    assert a_state.keys() == b_state.keys()
    for key in a_state:
        torch.testing.assert_close(b_state[key], a_state[key], atol=1e-6, rtol=0)
    assert not [p.name for p in (run_dir / "checkpoints").iterdir() if p.name.endswith(".tmp")]


def _resume(straight: Straight, logs: Path, log_dir: Path, expect_from: str) -> None:
    step = load_torch(expect_from.replace("epoch_", "stats_"))["step"]  # read now: the rerun deletes it
    code, run = procs.run(_args(straight, logs), log_dir, timeout=240, tag="resume")
    assert code == 0, run.stderr()[-3000:]
    assert f"resumed from {expect_from} at step {step}" in run.stderr(), run.stderr()[-2000:]
    assert json.loads(run.stdout())["resumed_from_step"] == step


def test_sigkill_mid_step_resumes_from_last_checkpoint(tmp_path: Path, straight: Straight) -> None:
    """SIGKILL of the whole ``dclm train`` process at an arbitrary moment after step 7 was logged."""
    logs = tmp_path / "logs"
    run_dir = logs / straight.name
    loss = run_dir / "loss.jsonl"

    def after_step_7() -> bool:
        return loss.is_file() and loss.read_text().count("\n") >= 7

    run = procs.start(_args(straight, logs), tmp_path / "cli")
    assert procs.kill_when(run, after_step_7, timeout=180, poll=0.01), run.stderr()[-3000:]
    assert run.proc.returncode == -9
    logged = [r["step"] for r in read_loss_log(str(loss))]
    assert len(logged) >= 7 and logged[-1] < STEPS
    latest = find_latest_checkpoint(str(run_dir), require_optimizer=True)
    assert latest is not None
    assert load_torch(latest.replace("epoch_", "stats_"))["step"] <= logged[-1]
    _resume(straight, logs, tmp_path / "cli", latest)
    _assert_same_as_straight(straight, run_dir)


_TMP_RE = re.compile(r"^\.(epoch|optimizer|stats)_(\d+)\.pt\.[0-9a-f]+\.tmp$")


def _kill_mid_save(straight: Straight, tmp_path: Path, prefix: str, tries: int = 4) -> tuple[Path, Path, int]:
    """Kill the run while ``{prefix}_N.pt`` (N >= 3) is being written; returns (logs, run dir, N)."""
    for attempt in range(tries):
        logs = tmp_path / f"logs{attempt}"
        ckpts = logs / straight.name / "checkpoints"
        torn: list[int] = []

        def writing(ckpts: Path = ckpts, torn: list[int] = torn) -> bool:
            try:
                names = [e.name for e in ckpts.iterdir()]
            except FileNotFoundError:
                return False
            hits = [m for m in map(_TMP_RE.match, names) if m and m.group(1) == prefix and int(m.group(2)) >= 3]
            torn[:] = [int(m.group(2)) for m in hits]
            return bool(hits)

        run = procs.start(_args(straight, logs), tmp_path / "cli")
        if procs.kill_when(run, writing, timeout=180):
            return logs, logs / straight.name, torn[0]
        assert run.proc.returncode == 0, run.stderr()[-3000:]
        shutil.rmtree(logs)  # the save was too quick to catch this time: try again
    raise AssertionError(f"no save of a {prefix} file was caught in {tries} runs")


@pytest.mark.parametrize("prefix", ["epoch", "optimizer", "stats"])
def test_sigkill_mid_checkpoint_write_never_resumes_from_a_torn_checkpoint(
    tmp_path: Path, straight: Straight, prefix: str
) -> None:
    logs, run_dir, number = _kill_mid_save(straight, tmp_path, prefix)
    ckpts = run_dir / "checkpoints"
    present = {p.name for p in ckpts.iterdir()}
    # Checkpoint N is torn: the file being written is only a temp file; stats_N (written last) is absent.
    assert f"{prefix}_{number}.pt" not in present and f"stats_{number}.pt" not in present
    expected_earlier = {"epoch": set(), "optimizer": {"epoch"}, "stats": {"epoch", "optimizer"}}[prefix]
    assert {p for p in ("epoch", "optimizer") if f"{p}_{number}.pt" in present} == expected_earlier
    previous = str(ckpts / f"epoch_{number - 1}.pt")
    assert find_latest_checkpoint(str(run_dir), require_optimizer=True) == previous
    assert find_latest_checkpoint(str(run_dir)) == previous  # what eval picks for a run dir
    config, state = load_checkpoint_for_eval(str(run_dir))
    assert config.dim == 128 and state
    _resume(straight, logs, tmp_path / "cli", previous)
    _assert_same_as_straight(straight, run_dir)
