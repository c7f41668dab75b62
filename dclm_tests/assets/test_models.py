"""checkpoint and eval_report through Dagster: real training (micro, a few steps) and real ICL scoring."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from dclm_assets.assets.models import checkpoint, eval_report, latest_run_dir, partition_dims
from dclm_assets.partitions import dataset_partitions
from dclm_resources.storage import Storage
from dclm_resources.storage_resource import StorageResource
from dclm_resources.training_resource import LocalTorchrun
from dclm_tests.paths import shared_data
from dclm_tests.tokenization.conftest import bpe, bpe_dir, c4_texts  # noqa: F401 - fixtures reused here
from dclm_tests.training.conftest import c4_contexts, make_shards  # noqa: F401


@pytest.fixture
def home_with_shards(tmp_path: Path, c4_contexts: list, bpe_dir: Path) -> Path:  # noqa: F811
    home = tmp_path / "home"
    out = home / "tokenized" / "c4"
    shards = make_shards(out, c4_contexts[:24], bpe_dir)
    shards.reference.rename(out / "c4_tokshuf.json")  # where tokenized_shards puts it: <dataset>_tokshuf.json
    return home


def test_checkpoint_then_eval_report(home_with_shards: Path):
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(dataset_partitions.name, ["c4"])
    key = dg.MultiPartitionKey({"scale": "micro", "dataset": "c4"})
    resources = {"storage": StorageResource(home=str(home_with_shards)), "trainer": LocalTorchrun(nproc_per_node=1)}
    trained = dg.materialize(
        [checkpoint], instance=instance, partition_key=key, resources=resources,
        run_config={"ops": {"checkpoint": {"config": {"max_steps": 6}}}},
    )
    assert trained.success
    (mat,) = trained.asset_materializations_for_node("checkpoint")
    meta = {k: v.value for k, v in mat.metadata.items()}
    assert meta["steps"] == 6 and meta["tokens_seen"] == 6 * 16 * 256
    assert Path(meta["checkpoint"]).parent.name == "checkpoints" and Path(meta["checkpoint"]).name.startswith("epoch_")
    assert Path(meta["loss_curve"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    reference = json.loads(Path(meta["model_reference"]).read_text())
    assert reference["checkpoint_url"] == meta["checkpoint"] and reference["hyperparameters"]["seed"] == 124
    (check,) = trained.get_asset_check_evaluations()
    assert check.check_name == "loss_finite_and_falling" and check.passed

    evaluated = dg.materialize(
        [eval_report], instance=instance, partition_key=key, resources=resources,
        run_config={"ops": {"eval_report": {"config": {
            "suite": "core", "data_dir": str(shared_data("eval")), "limit": 2, "batch_size": 8,
            "perplexity_data": str(home_with_shards / "tokenized" / "c4" / "c4_tokshuf.json"),
            "perplexity_max_sequences": 4,
        }}}},
    )
    assert evaluated.success
    (mat,) = evaluated.asset_materializations_for_node("eval_report")
    meta = {k: v.value for k, v in mat.metadata.items()}
    report = json.loads(Path(meta["eval_json"]).read_text())
    assert report["eval_metrics"]["icl"] == meta["icl"] and len(meta["icl"]) == 18
    assert set(meta["missing_tasks"]) == {"hellaswag_zeroshot", "hellaswag", "squad", "coqa"}
    assert str(report["Core"]).startswith("N/A due to missing tasks")  # Core needs all 22, as in DCLM
    assert report["eval_metrics"]["perplexity"] > 0 and report["model_uuid"] == reference["uuid"]
    (check,) = evaluated.get_asset_check_evaluations()
    assert check.check_name == "eval_complete_for_suite" and not check.passed


def test_partition_dims_and_missing_run(tmp_path: Path):
    assert partition_dims("c4|micro") == ("micro", "c4")
    with pytest.raises(ValueError, match="materialize the checkpoint partition first"):
        latest_run_dir(Storage(), str(tmp_path))
