"""A tiny real run: open_lm checkpoint files and keys, params.txt, model JSONs, loss log, eval loading, resume rules."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
import yaml

from dclm_resources.modeling import ModelConfig, Transformer, load_open_lm_state_dict, load_scale
from dclm_resources.training import (
    TrainConfig,
    TrainResult,
    find_latest_checkpoint,
    friendly_name,
    load_checkpoint_for_eval,
    load_torch,
    read_loss_log,
    read_params_txt,
    train,
)
from dclm_tests.training.conftest import Shards, read_json, write_scale

EPOCH_KEYS = {"epoch", "name", "state_dict", "evaluation_metrics", "next_shard_per_source", "samples_seen", "step",
              "shard_shuffle_seed"}
OPTIMIZER_KEYS = {"epoch", "name", "optimizer", "evaluation_metrics"}
STATS_KEYS = {"epoch", "name", "is_final_checkpoint", "evaluation_metrics", "percentage_of_data_seen",
              "next_shard_per_source", "samples_seen", "step", "shard_shuffle_seed", "train_data_string"}
MODEL_REFERENCE_KEYS = {"name", "dataset_name", "dataset_uuid", "hyperparameters", "checkpoint_url", "open_lm_version",
                        "open_lm_args", "results", "params_url", "uuid", "creation_date", "failed", "error"}
HYPERPARAMETER_KEYS = {"model", "tokens", "warmup", "lr", "wd", "cd", "global_bs", "acc", "qk_norm", "z_loss",
                       "grad_checkpointing", "params", "params_no_embed", "fsdp_flags", "chinchilla_multiplier", "seed",
                       "vocab_size", "norm"}


def tiny_config(tmp: Path, shards: Shards, **changes) -> TrainConfig:
    scale = write_scale(tmp / "scales")
    return dataclasses.replace(
        TrainConfig(scale=str(scale), data=str(shards.reference), logs=str(tmp / "logs"), threads=1), **changes
    )


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, shards: Shards) -> tuple[TrainConfig, TrainResult]:
    config = tiny_config(tmp_path_factory.mktemp("run"), shards, tensorboard=True)
    return config, train(config, log=lambda _: None)


def test_run_trains_and_reports(tiny_run: tuple[TrainConfig, TrainResult]) -> None:
    _, result = tiny_run
    assert result.steps == result.total_steps == 20
    assert result.tokens_seen == 20 * 8 * 64
    assert result.params == Transformer(ModelConfig(32, 2, 2, 64, 2112)).num_params()
    assert result.tokens_per_s and result.tokens_per_s > 0 and result.mfu is None  # no CPU peak by default
    records = read_loss_log(result.loss_log)
    assert [r["step"] for r in records] == list(range(1, 21))
    assert {"step", "loss", "lr", "tokens", "tokens_per_s", "tokens_per_s_per_device", "mfu", "wall"} <= set(records[0])
    assert records[-1]["loss"] == result.final_loss
    first, last = sum(r["loss"] for r in records[:3]) / 3, sum(r["loss"] for r in records[-3:]) / 3
    assert last < first - 0.3, (first, last)
    assert records[0]["lr"] == pytest.approx(1e-3) and records[-1]["lr"] < 1e-4
    assert result.name.startswith("c4_test_tokshuf-open_lm_tiny_test-warm=3-lr=0p003-wd=0p033-cd=3e-05-bs=8-mult=1-")
    assert result.name.endswith("-seed=124-tokens=10240-vocab=2112")


def test_checkpoint_files_and_open_lm_keys(tiny_run: tuple[TrainConfig, TrainResult]) -> None:
    _, result = tiny_run
    ckpt_dir = Path(result.checkpoint).parent
    assert sorted(p.name for p in ckpt_dir.iterdir()) == ["epoch_2.pt", "optimizer_2.pt", "stats_2.pt"]
    epoch, optimizer, stats = (load_torch(str(ckpt_dir / f"{p}_2.pt")) for p in ("epoch", "optimizer", "stats"))
    assert set(epoch) == EPOCH_KEYS
    assert set(optimizer) == OPTIMIZER_KEYS
    assert set(stats) >= STATS_KEYS
    assert epoch["epoch"] == 2 and epoch["step"] == 20 and epoch["samples_seen"] == 160
    assert epoch["shard_shuffle_seed"] == 124 and epoch["name"] == result.name
    assert stats["is_final_checkpoint"] is True and stats["train_data_string"].endswith(".tar")
    model = Transformer(ModelConfig(32, 2, 2, 64, 2112))
    assert list(epoch["state_dict"]) == list(model.state_dict())
    load_open_lm_state_dict(model, epoch)
    assert set(optimizer["optimizer"]["state"]) == {n for n, _ in model.named_parameters()}


def test_params_txt_model_json_and_reference(tiny_run: tuple[TrainConfig, TrainResult]) -> None:
    config, result = tiny_run
    text = Path(result.params_txt).read_text()
    lines = text.splitlines()
    assert lines == sorted(lines) and all(": " in line for line in lines)
    params = yaml.safe_load(text)
    assert params["model"] == "open_lm_tiny_test" and params["name"] == result.name
    assert params["lr"] == 3e-3 and params["lr_cooldown_end"] == 3e-5 and isinstance(params["z_loss_coefficient"], float)
    assert params["seq_len"] == 64 and params["vocab_size"] == 2112 and params["global_batch_size"] == 8
    assert params["model_norm"] == "gain_only_lp_layer_norm" and params["qk_norm"] is True
    assert params["dataset_manifest"] == [str(Path(config.data).parent / "manifest.jsonl")]
    assert read_params_txt(result.params_txt)["model"] == "open_lm_tiny_test"
    assert read_json(result.model_json) == ModelConfig(32, 2, 2, 64, 2112).to_open_lm_json()
    reference = read_json(result.model_reference)
    assert set(reference) == MODEL_REFERENCE_KEYS
    assert set(reference["hyperparameters"]) == HYPERPARAMETER_KEYS
    assert reference["checkpoint_url"] == result.checkpoint and reference["params_url"] == result.params_txt
    assert reference["dataset_name"] == "c4_test_tokshuf" and reference["failed"] is False
    assert "--dataset-manifest" in reference["open_lm_args"] and "--qk-norm" in reference["open_lm_args"]
    assert Path(result.model_reference).name == f"{result.name}.json"


def test_load_checkpoint_for_eval(tiny_run: tuple[TrainConfig, TrainResult]) -> None:
    _, result = tiny_run
    for path in (result.checkpoint, result.run_dir, str(Path(result.checkpoint).parent)):
        cfg, state = load_checkpoint_for_eval(path)
        assert cfg == ModelConfig(32, 2, 2, 64, 2112)
        model = Transformer(cfg)
        load_open_lm_state_dict(model, state)
        assert torch.equal(model.output.weight, state["output.weight"])


def test_tensorboard_keys(tiny_run: tuple[TrainConfig, TrainResult]) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    _, result = tiny_run
    events = EventAccumulator(result.tensorboard_dir)
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"train/loss", "train/lr", "train/tokens", "train/samples_per_second",
            "train/samples_per_second_per_gpu"} <= tags
    assert len(events.Scalars("train/loss")) == 20


def test_finished_run_is_not_retrained(tiny_run: tuple[TrainConfig, TrainResult]) -> None:
    config, result = tiny_run
    again = train(config, log=lambda _: None)
    assert again.checkpoint == result.checkpoint and again.steps == 20 and again.final_loss == result.final_loss
    assert len(read_loss_log(result.loss_log)) == 20


def test_resume_rules(tiny_run: tuple[TrainConfig, TrainResult]) -> None:
    config, _ = tiny_run
    with pytest.raises(ValueError, match="already holds checkpoints and --resume none"):
        train(dataclasses.replace(config, resume="none"), log=lambda _: None)
    with pytest.raises(ValueError, match="trained with seed 124 but this run uses seed 5"):
        train(dataclasses.replace(config, seed=5, name=tiny_run[1].name), log=lambda _: None)


def test_latest_checkpoint_needs_its_stats_file(tmp_path: Path) -> None:
    ckpt = tmp_path / "run" / "checkpoints"
    ckpt.mkdir(parents=True)
    for name in ("epoch_1.pt", "optimizer_1.pt", "stats_1.pt", "epoch_2.pt", "optimizer_2.pt", "stats_2.pt",
                 "epoch_10.pt", "optimizer_10.pt", ".stats_10.pt.abc.tmp", "epoch_3.pt"):
        torch.save({"epoch": 0}, ckpt / name)
    assert find_latest_checkpoint(str(tmp_path / "run")) == str(ckpt / "epoch_2.pt")
    (ckpt / "optimizer_2.pt").unlink()
    assert find_latest_checkpoint(str(ckpt)) == str(ckpt / "epoch_2.pt")
    assert find_latest_checkpoint(str(ckpt), require_optimizer=True) == str(ckpt / "epoch_1.pt")
    assert find_latest_checkpoint(str(tmp_path / "nothing")) is None


def test_dclm_friendly_name() -> None:
    recipe = load_scale("1b-1x")
    assert friendly_name("X", recipe) == (
        "X-open_lm_1b_swiglutorch-warm=5000-lr=0p003-wd=0p033-cd=3e-05-bs=256-mult=1-seed=124-tokens=28795904000"
    )


@pytest.mark.slow
def test_torch_compile_run_saves_clean_names(tmp_path: Path, shards: Shards) -> None:
    """torch.compile on CPU (inductor): a minute of compiling, hence slow; names carry no ``_orig_mod.``."""
    scale = write_scale(tmp_path / "scales", tokens=4 * 8 * 64)
    eager = train(TrainConfig(scale=str(scale), data=str(shards.reference), logs=str(tmp_path / "eager"), threads=2),
                  log=lambda _: None)
    compiled = train(TrainConfig(scale=str(scale), data=str(shards.reference), logs=str(tmp_path / "compiled"),
                                 threads=2, torchcompile=True), log=lambda _: None)
    state = load_torch(compiled.checkpoint)["state_dict"]
    assert list(state) == list(load_torch(eager.checkpoint)["state_dict"])
    for a, b in zip(read_loss_log(eager.loss_log), read_loss_log(compiled.loss_log), strict=True):
        assert a["loss"] == pytest.approx(b["loss"], abs=1e-3)
