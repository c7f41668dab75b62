"""Run planning: vocab from the data's tokenizer, batch splits, token budget checks, params.txt round trip, CLI."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
import yaml

from dclm_assets import cli_train
from dclm_resources.modeling import load_scale
from dclm_resources.training import DataError, TrainConfig, make_plan, read_loss_log, train
from dclm_resources.training.records import format_params_txt
from dclm_tests.training.conftest import Shards, write_scale


def _config(tmp: Path, shards: Shards, data: str | None = None, **changes) -> TrainConfig:
    scale = changes.pop("scale", None) or str(write_scale(tmp / "scales"))
    return TrainConfig(scale=scale, data=data or str(shards.reference), logs=str(tmp / "logs"), **changes)


def test_vocab_comes_from_the_data_tokenizer(tmp_path: Path, shards: Shards) -> None:
    plan = make_plan(_config(tmp_path, shards))
    assert plan.recipe.model.vocab_size == 2112  # BPE 2048 -> PAD 2050 -> 2051 rounded up to 64
    assert plan.context_len == 2049 and plan.windows_per_context == 32
    assert plan.total_steps == 20 and plan.checkpoint_steps == (10, 20)
    micro = make_plan(_config(tmp_path, shards, scale="micro", max_steps=10))
    assert micro.recipe.model.vocab_size == 2112 and micro.recipe.model.seq_len == 256
    assert micro.windows_per_context == 8 and micro.total_steps == 10 and micro.precision == "fp32"
    assert make_plan(_config(tmp_path, shards, vocab_size=4096)).recipe.model.vocab_size == 4096


def test_manifest_without_reference_needs_a_tokenizer(tmp_path: Path, shards: Shards) -> None:
    with pytest.raises(DataError, match="pass --tokenizer PATH or --vocab-size N"):
        make_plan(_config(tmp_path, shards, data=str(shards.manifest)))
    plan = make_plan(_config(tmp_path, shards, data=str(shards.manifest), tokenizer=str(shards.tokenizer_dir)))
    assert plan.recipe.model.vocab_size == 2112 and plan.source.dataset_name == shards.root.name


def test_unloadable_tokenizer_names_the_reference(tmp_path: Path, shards: Shards) -> None:
    ref = json.loads(shards.reference.read_text())
    ref["tokenizer"] = "dclm-bpe-8192"  # a name, not a path: not loadable offline
    path = tmp_path / "ref.json"
    path.write_text(json.dumps(ref))
    with pytest.raises(DataError, match=r"cannot load tokenizer 'dclm-bpe-8192' named by .*ref\.json"):
        make_plan(_config(tmp_path, shards, data=str(path)))
    ref["tokenizer_path"] = str(shards.tokenizer_dir)  # a loadable path beside the name is used first
    path.write_text(json.dumps(ref))
    assert make_plan(_config(tmp_path, shards, data=str(path))).recipe.model.vocab_size == 2112


def test_batch_split_and_data_budget_errors(tmp_path: Path, shards: Shards) -> None:
    with pytest.raises(ValueError, match="global batch size 8 is not divisible by the world size 3"):
        make_plan(_config(tmp_path, shards), world_size=3)
    with pytest.raises(ValueError, match=r"per-device batch 4 .* not divisible by the gradient accumulation 3"):
        make_plan(_config(tmp_path, shards, scale=str(write_scale(tmp_path / "s2", global_bs=12, acc=3))), world_size=3)
    big = write_scale(tmp_path / "s3", name="big", tokens=2000 * 8 * 64)
    with pytest.raises(DataError, match="need 16000 samples of 65 tokens but the data holds"):
        make_plan(_config(tmp_path, shards, scale=str(big)))
    assert make_plan(_config(tmp_path, shards, scale=str(big), multiple_data_passes=True)).total_steps == 2000


def test_token_ids_beyond_the_model_vocab_fail_naming_the_shard(tmp_path: Path, shards: Shards) -> None:
    with pytest.raises(DataError, match=r"shard_\d+\.tar: sample \S+ holds token id \d+, outside the model vocabulary"):
        train(_config(tmp_path, shards, vocab_size=1024, threads=1), log=lambda _: None)


def test_params_txt_round_trips_through_yaml() -> None:
    params = {"lr": 3e-3, "cd": 3e-05, "eps": 1e-8, "name": "x-lr=0p003", "flags": ["--fsdp", "--fsdp-amp"],
              "none": None, "enabled": True, "tricky": "a: b", "num": 7, "path": "s3://bucket/x/manifest.jsonl",
              "word": "True"}
    text = format_params_txt(params)
    assert "cd: 3.0e-05\n" in text and "lr: 0.003\n" in text
    assert yaml.safe_load(text) == {**params, "none": "None"}  # open_lm writes None as "None"


def test_dclm_scales_plan_without_training(tmp_path: Path, shards: Shards) -> None:
    recipe = load_scale("1b-1x")
    assert recipe.total_steps() == 54923
    plan = make_plan(_config(tmp_path, shards, scale="1b-1x", vocab_size=50432, max_steps=5,
                                  multiple_data_passes=True), world_size=8)
    assert plan.per_gpu_batch_size == 32 and plan.micro_batch_size == 32 and plan.total_steps == 5
    assert plan.fsdp and plan.name.endswith("-tokens=28795904000")


def test_cli_train_end_to_end(tmp_path: Path, shards: Shards, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="dclm")
    cli_train.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args([
        "train", "--scale", "micro", "--data", str(shards.reference), "--logs", str(tmp_path / "logs"),
        "--max-steps", "4", "--checkpoint-every", "2", "--threads", "1", "--name", "cli-run", "--lr", "1e-3",
        "--no-torchcompile",
    ])
    config = cli_train.build_config(args)
    assert config.max_steps == 4 and config.lr == 1e-3 and config.torchcompile is False and config.fsdp is None
    assert args.func(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["steps"] == 4 and result["name"] == "cli-run" and result["checkpoint"].endswith("epoch_2.pt")
    assert [r["step"] for r in read_loss_log(result["loss_log"])] == [1, 2, 3, 4]
    assert read_loss_log(result["loss_log"])[0]["lr"] == pytest.approx(1e-3 / 8)
