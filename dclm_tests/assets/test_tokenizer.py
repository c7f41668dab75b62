"""tokenizer asset: offline, the named GPT-NeoX file is absent, so a BPE is trained on the sample pool."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from dclm_assets.assets.raw_pool import raw_pool
from dclm_assets.assets.tokens import tokenizer
from dclm_assets.partitions import dataset_partitions
from dclm_resources.ray_resource import local_ray
from dclm_resources.storage_resource import StorageResource
from dclm_resources.tokenization import TokenizerNotFoundError, load_tokenizer


def test_tokenizer_trained_offline_then_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty HF cache: nothing pretrained is found
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(dataset_partitions.name, ["sample"])
    resources = {"storage": StorageResource(home=str(tmp_path / "home")), "ray": local_ray(num_cpus=1)}
    pool = dg.materialize([raw_pool], instance=instance, partition_key="sample", resources=resources,
                          run_config={"ops": {"raw_pool": {"config": {"sample_pages": 300}}}})
    assert pool.success
    config = {"ops": {"tokenizer": {"config": {"vocab_size": 1000, "max_documents": 300}}}}
    first = dg.materialize([tokenizer], instance=instance, resources=resources, run_config=config)
    meta = {k: v.value for k, v in first.asset_materializations_for_node("tokenizer")[0].metadata.items()}
    assert meta["origin"] == "trained" and meta["training_documents"] == 300
    assert meta["eot_id"] == 0 and meta["pad_id"] == meta["vocab_size"] + 2
    path = Path(meta["path"])
    loaded = load_tokenizer(str(path))
    assert loaded.tokenizer.decode(loaded.tokenizer.encode("Hello, world!").ids) == "Hello, world!"
    before = path.read_bytes()
    second = dg.materialize([tokenizer], instance=instance, resources=resources, run_config=config)
    meta2 = {k: v.value for k, v in second.asset_materializations_for_node("tokenizer")[0].metadata.items()}
    assert meta2["path"] == meta["path"] and path.read_bytes() == before
    assert json.loads((path.parent / "tokenizer_origin.json").read_text())["documents"] == 300


def test_missing_named_tokenizer_without_training_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(TokenizerNotFoundError, match="tokenizer.json"):
        dg.materialize(
            [tokenizer],
            resources={"storage": StorageResource(home=str(tmp_path / "home"))},
            run_config={"ops": {"tokenizer": {"config": {"train_if_missing": False}}}},
        )
