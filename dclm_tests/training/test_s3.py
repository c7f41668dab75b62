"""Shards and logs on S3 (moto's real S3 API on loopback): train, checkpoint, resume after SIGKILL, load for eval."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from dclm_resources.tokenization import (
    ShardWriter,
    tokenized_dataset_reference,
    write_manifest,
    write_tokenized_reference,
)
from dclm_resources.training import (
    TrainConfig,
    find_latest_checkpoint,
    load_checkpoint_for_eval,
    read_params_txt,
    train,
)
from dclm_resources.training.trainer import FAULT_ENV
from dclm_tests.conftest import S3Sandbox
from dclm_tests.paths import REPO_ROOT
from dclm_tests.training.conftest import Shards, write_scale


def test_train_and_resume_with_s3_data_and_logs(tmp_path: Path, shards: Shards, s3_storage: S3Sandbox) -> None:
    storage, root = s3_storage
    data = f"{root}/tokenized"
    records = ShardWriter(data, storage, sequences_per_shard=24).write(shards.contexts)
    write_manifest(data, records, storage)
    reference = f"{data}/c4_s3.json"
    write_tokenized_reference(
        reference, tokenized_dataset_reference("c4_s3", data, records, str(shards.tokenizer_dir)), storage
    )
    endpoint = storage.s3_settings.endpoint_url
    config = TrainConfig(scale=str(write_scale(tmp_path / "scales")), data=reference, logs=f"{root}/logs",
                         threads=1, checkpoint_every=5, s3_endpoint_url=endpoint)
    config_path = tmp_path / "config.json"
    config_path.write_text(config.to_json())
    env = {**os.environ, FAULT_ENV: "12", "DCLM_TRAIN_SCRATCH": str(tmp_path / "scratch-a")}
    killed = subprocess.run([sys.executable, "-m", "dclm_resources.training.worker", "--config", str(config_path)],
                            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]

    os.environ["DCLM_TRAIN_SCRATCH"] = str(tmp_path / "scratch-b")  # a fresh machine: nothing local survives
    try:
        result = train(config, log=lambda _: None)
    finally:
        del os.environ["DCLM_TRAIN_SCRATCH"]
    assert result.resumed_from_step == 10 and result.steps == 20
    assert result.run_dir.startswith(f"{root}/logs/") and result.checkpoint.endswith("/checkpoints/epoch_4.pt")
    assert find_latest_checkpoint(result.run_dir, storage) == result.checkpoint
    names = sorted(info.uri.rsplit("/", 1)[-1] for info in storage.list_files(f"{result.run_dir}/checkpoints"))
    assert names == ["epoch_4.pt", "optimizer_4.pt", "stats_4.pt"]
    lines = storage.read_text(result.loss_log).splitlines()
    assert len(lines) == 20  # the steps 11-12 done before the kill were dropped and redone once
    assert read_params_txt(result.params_txt, storage)["dataset_manifest"] == [f"{data}/manifest.jsonl"]
    cfg, state = load_checkpoint_for_eval(result.checkpoint, storage=storage)
    assert cfg.vocab_size == 2112 and "layers.1.feed_forward.w3.weight" in state
    assert storage.exists(result.model_reference)
