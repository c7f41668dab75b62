"""Bad inputs to ``dclm train`` / ``dclm eval``: each ends in one error line naming the file and line (or key).

Inputs: an unknown scale, a scale YAML with a wrong type, corrupt / truncated / empty checkpoint files (for eval
and for resume), eval data with a missing field, manifest lines with bad shard names. The CLI's ``main`` runs in
this process (the same code a shell runs); an uncaught exception would fail the test with its traceback.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import NamedTuple

import pytest

from dclm_assets.cli import main
from dclm_resources.training import TrainConfig, train
from dclm_tests.tokenization.conftest import bpe, bpe_dir, c4_texts  # noqa: F401 - fixtures used by `shards`
from dclm_tests.training.conftest import Shards, c4_contexts, shards, write_scale  # noqa: F401

STEPS = 4


class TrainedRun(NamedTuple):
    """A finished tiny run (2 checkpoints, the last kept) and the ``dclm train`` arguments that made it."""

    root: Path
    scale: Path
    run_dir: Path
    shards: Shards


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory, shards: Shards) -> TrainedRun:  # noqa: F811
    root = tmp_path_factory.mktemp("trained_run")
    scale = write_scale(root / "scales", tokens=STEPS * 8 * 64)
    result = train(TrainConfig(scale=str(scale), data=str(shards.reference), logs=str(root / "logs"),
                               checkpoint_every=2, threads=1, device="cpu"), log=lambda _: None)
    return TrainedRun(root, scale, Path(result.run_dir), shards)


def copy_run(run: TrainedRun, dest: Path) -> Path:
    """A copy of the trained run under ``dest/logs`` (tests damage their copy only)."""
    target = dest / "logs" / run.run_dir.name
    shutil.copytree(run.run_dir, target)
    return target


def cli_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run ``dclm argv``; it must exit 1 with exactly one ``dclm CMD: error:`` line and no traceback."""
    code = main(argv)
    _, err = capsys.readouterr()
    assert code == 1, err[-2000:]
    assert "Traceback" not in err, err[-3000:]
    errors = [line for line in err.splitlines() if line.startswith(f"dclm {argv[0]}: error:")]
    assert len(errors) == 1, err[-3000:]
    return errors[0]


def train_argv(scale: str, data: str, logs: Path) -> list[str]:
    return ["train", "--scale", scale, "--data", data, "--logs", str(logs), "--checkpoint-every", "2",
            "--threads", "1", "--device", "cpu"]


def test_unknown_scale_lists_the_known_ones(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           shards: Shards) -> None:  # noqa: F811
    line = cli_error(capsys, train_argv("nope", str(shards.reference), tmp_path / "logs"))
    assert "unknown scale 'nope'" in line and "known scales:" in line
    for known in ("micro", "small", "1b-1x", "7b-2x"):
        assert known in line
    assert not (tmp_path / "logs").exists()


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("global_bs: 8", "global_bs: eight", "global_bs"),
        ("lr: 3.0e-3", "lr: [0.1, 0.2]", "lr"),
        ("multiple_data_passes: false", "multiple_data_passes: sometimes", "multiple_data_passes"),
        ("  n_layers: 2", "  n_layers: two", "n_layers"),
        ("  hidden_dim: 32", "  hidden_dim: 3.5", "hidden_dim"),
    ],
)
def test_scale_yaml_with_a_wrong_type_names_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], shards: Shards, old: str, new: str, key: str  # noqa: F811
) -> None:
    scale = write_scale(tmp_path / "scales")
    text = scale.read_text()
    assert old in text
    scale.write_text(text.replace(old, new))
    line = cli_error(capsys, train_argv(str(scale), str(shards.reference), tmp_path / "logs"))
    assert str(scale) in line and key in line, line


def _corrupt(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "random":
        path.write_bytes(os.urandom(len(data)))
    elif how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    else:
        path.write_bytes(b"")


def _suite(tmp_path: Path, records: list[dict]) -> tuple[Path, Path]:
    """A one-task suite YAML (multiple_choice, 0-shot) and its data dir holding ``records``."""
    data_dir = tmp_path / "eval_data"
    task = data_dir / "local_data" / "commonsense_reasoning" / "copa_tiny.jsonl"
    task.parent.mkdir(parents=True)
    task.write_text("".join(json.dumps(r) + "\n" for r in records))
    suite = tmp_path / "suite.yaml"
    suite.write_text("icl_tasks:\n  - {label: copa_tiny, dataset_uri: local_data/commonsense_reasoning/copa_tiny.jsonl,"
                     " num_fewshot: [0], icl_task_type: multiple_choice}\n")
    return suite, data_dir


GOOD_MC = [{"query": "The sun rose, so", "choices": [" it was day.", " it was night."], "gold": 0},
           {"query": "It rained, so", "choices": [" the ground was wet.", " the ground was dry."], "gold": 0}]


def _eval_argv(checkpoint: Path, suite: Path, data_dir: Path, out: Path) -> list[str]:
    return ["eval", "--checkpoint", str(checkpoint), "--suite", str(suite), "--data-dir", str(data_dir),
            "--output", str(out), "--device", "cpu", "--batch-size", "2"]


@pytest.mark.parametrize("how", ["random", "truncated", "empty"])
def test_eval_of_a_corrupt_checkpoint_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], trained_run: TrainedRun, how: str
) -> None:
    run_dir = copy_run(trained_run, tmp_path)
    epoch = run_dir / "checkpoints" / "epoch_2.pt"
    _corrupt(epoch, how)
    suite, data_dir = _suite(tmp_path, GOOD_MC)
    out = tmp_path / "eval.json"
    line = cli_error(capsys, _eval_argv(epoch, suite, data_dir, out))
    assert str(epoch) in line and "corrupt" in line, line
    assert not out.exists()


def test_eval_of_the_intact_copy_works(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       trained_run: TrainedRun) -> None:
    """The control: the same command on an undamaged copy scores the task (so the errors above are the damage)."""
    run_dir = copy_run(trained_run, tmp_path)
    suite, data_dir = _suite(tmp_path, GOOD_MC)
    out = tmp_path / "eval.json"
    assert main(_eval_argv(run_dir / "checkpoints" / "epoch_2.pt", suite, data_dir, out)) == 0
    assert "copa_tiny" in json.loads(out.read_text())["eval_metrics"]["icl"]


@pytest.mark.parametrize(("prefix", "how"), [("epoch", "random"), ("optimizer", "truncated"), ("stats", "empty"),
                                             ("stats", "random")])
def test_resume_from_a_corrupt_checkpoint_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], trained_run: TrainedRun, prefix: str, how: str
) -> None:
    run_dir = copy_run(trained_run, tmp_path)
    damaged = run_dir / "checkpoints" / f"{prefix}_2.pt"
    _corrupt(damaged, how)
    argv = train_argv(str(trained_run.scale), str(trained_run.shards.reference), tmp_path / "logs")
    line = cli_error(capsys, [*argv, "--max-steps", str(STEPS + 2)])
    assert str(damaged) in line and "corrupt" in line, line


def test_eval_data_missing_a_field_names_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], trained_run: TrainedRun
) -> None:
    bad = [GOOD_MC[0], {"query": "It rained, so", "choices": [" wet.", " dry."]}]  # line 2: no "gold"
    suite, data_dir = _suite(tmp_path, bad)
    line = cli_error(capsys, _eval_argv(trained_run.run_dir / "checkpoints" / "epoch_2.pt", suite, data_dir,
                                        tmp_path / "eval.json"))
    assert "copa_tiny.jsonl:2:" in line and "'gold'" in line, line
    assert not (tmp_path / "eval.json").exists()


@pytest.mark.parametrize(
    ("shard", "reason"),
    [("../outside", "plain file name"), ("sub/shard", "plain file name"), ("", "missing or empty"),
     (7, "missing or empty"), (".hidden", "plain file name")],
)
def test_manifest_line_with_a_bad_shard_name_names_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], shards: Shards, shard: object, reason: str  # noqa: F811
) -> None:
    data = tmp_path / "data"
    shutil.copytree(shards.root, data)
    manifest = data / shards.manifest.name
    lines = manifest.read_text().splitlines()
    row = json.loads(lines[1])
    row["shard"] = shard
    lines[1] = json.dumps(row)
    manifest.write_text("\n".join(lines) + "\n")
    scale = write_scale(tmp_path / "scales")
    line = cli_error(capsys, train_argv(str(scale), str(manifest), tmp_path / "logs"))
    assert f"{manifest}:2:" in line and reason in line, line
