"""Untrusted checkpoints: a file that pickles a callable with a side effect is refused, and the effect never happens.

The payload is real: the test first shows that a plain ``torch.load(weights_only=False)`` of the same bytes does
create the marker folder. Then eval (``load_checkpoint_for_eval`` and ``dclm eval``) and resume (``dclm train``)
must refuse the file with one error line naming it, and the marker must not appear.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from dclm_resources.training import load_checkpoint_for_eval, load_torch
from dclm_resources.training.checkpoint import CheckpointError
from dclm_tests.reliability.test_model_bad_inputs import (  # noqa: F401 - fixtures
    GOOD_MC,
    STEPS,
    TrainedRun,
    _eval_argv,
    _suite,
    cli_error,
    copy_run,
    train_argv,
    trained_run,
)
from dclm_tests.tokenization.conftest import bpe, bpe_dir, c4_texts  # noqa: F401
from dclm_tests.training.conftest import c4_contexts, shards  # noqa: F401


class SideEffect:
    """Unpickling this calls ``os.mkdir(marker)``: the shape of any code-execution payload."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.mkdir, (str(self.marker),))


def plant(path: Path, marker: Path) -> None:
    """Replace the checkpoint file ``path`` by one with the same keys plus the payload."""
    original = load_torch(str(path))
    original["payload"] = SideEffect(marker)
    torch.save(original, path)
    assert not marker.exists()  # saving does not run it


def test_the_payload_is_live_without_weights_only(tmp_path: Path) -> None:
    path, marker = tmp_path / "epoch_1.pt", tmp_path / "pwned"
    torch.save({"state_dict": {}, "payload": SideEffect(marker)}, path)
    assert not marker.exists()
    torch.load(path, weights_only=False)  # what an unsafe loader would do
    assert marker.is_dir()


def test_load_torch_refuses_and_names_the_global(tmp_path: Path) -> None:
    path, marker = tmp_path / "epoch_1.pt", tmp_path / "pwned"
    torch.save({"state_dict": {"w": torch.zeros(2)}, "payload": SideEffect(marker)}, path)
    with pytest.raises(CheckpointError, match=r"refused: the file references code \(.*mkdir") as info:
        load_torch(str(path))
    assert str(path) in str(info.value) and "weights_only=False" not in str(info.value)
    assert not marker.exists()


def test_load_checkpoint_for_eval_refuses(tmp_path: Path, trained_run: TrainedRun) -> None:  # noqa: F811
    run_dir = copy_run(trained_run, tmp_path)
    epoch, marker = run_dir / "checkpoints" / "epoch_2.pt", tmp_path / "pwned"
    plant(epoch, marker)
    for target in (epoch, run_dir):  # the file itself, and the run dir (its latest checkpoint)
        with pytest.raises(CheckpointError, match="refused") as info:
            load_checkpoint_for_eval(str(target))
        assert str(epoch) in str(info.value)
    assert not marker.exists()


def test_dclm_eval_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], trained_run: TrainedRun  # noqa: F811
) -> None:
    run_dir = copy_run(trained_run, tmp_path)
    epoch, marker = run_dir / "checkpoints" / "epoch_2.pt", tmp_path / "pwned"
    plant(epoch, marker)
    suite, data_dir = _suite(tmp_path, GOOD_MC)
    line = cli_error(capsys, _eval_argv(epoch, suite, data_dir, tmp_path / "eval.json"))
    assert str(epoch) in line and "refused" in line, line
    assert not marker.exists() and not (tmp_path / "eval.json").exists()


@pytest.mark.parametrize("prefix", ["epoch", "optimizer", "stats"])
def test_resume_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], trained_run: TrainedRun, prefix: str  # noqa: F811
) -> None:
    run_dir = copy_run(trained_run, tmp_path)
    planted, marker = run_dir / "checkpoints" / f"{prefix}_2.pt", tmp_path / "pwned"
    plant(planted, marker)
    argv = train_argv(str(trained_run.scale), str(trained_run.shards.reference), tmp_path / "logs")
    line = cli_error(capsys, [*argv, "--max-steps", str(STEPS + 2)])
    assert str(planted) in line and "refused" in line, line
    assert not marker.exists()
    assert not (run_dir / "checkpoints" / "epoch_3.pt").exists()  # no training went on from it
