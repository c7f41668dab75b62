"""raw_pool materialized through Dagster: the embedded sample pool locally, a pool on a real S3 endpoint."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from dclm_assets.assets.raw_pool import raw_pool
from dclm_assets.partitions import dataset_partitions
from dclm_resources.ray_resource import local_ray
from dclm_resources.registry import register_dataset
from dclm_resources.storage import read_jsonl, write_jsonl
from dclm_resources.storage_resource import StorageResource


def _materialize(dataset: str, storage: StorageResource, config: dict | None = None) -> dict:
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(dataset_partitions.name, [dataset])
    result = dg.materialize(
        [raw_pool],
        instance=instance,
        partition_key=dataset,
        resources={"storage": storage, "ray": local_ray(num_cpus=2)},
        run_config={"ops": {"raw_pool": {"config": config or {}}}},
    )
    assert result.success
    (mat,) = result.asset_materializations_for_node("raw_pool")
    assert mat.partition == dataset
    return {k: v.value for k, v in mat.metadata.items()}


def test_sample_pool_materializes_with_metadata(tmp_path):
    storage = StorageResource(home=str(tmp_path))
    meta = _materialize("sample", storage, {"sample_pages": 300, "sample_shards": 3})
    assert meta["pages"] == 300 and meta["num_shards"] == 3 and meta["invalid_lines"] == 0
    assert meta["bytes"] > 0
    reference_path = tmp_path / "raw_pools" / "sample" / "raw_source.json"
    assert meta["reference"] == str(reference_path)
    record = json.loads(reference_path.read_text())
    assert record["size"] == meta["bytes"] and record["tokenized"] is False
    assert len(record["dataset_urls"]) == 3 and all(u.endswith(".jsonl.zst") for u in record["dataset_urls"])
    sample = meta["sample"]
    assert len(sample) == 5 and all(p["url"] and p["text"] for p in sample)
    for shard in record["dataset_urls"]:
        assert f"| {shard} |" in meta["shards"]


def test_registered_s3_pool_materializes(s3_storage, s3_endpoint):
    store, root = s3_storage
    pages = [{"text": f"page number {i} has some words.", "url": f"https://example.org/{i}"} for i in range(50)]
    write_jsonl(pages[:30], f"{root}/pool/a.jsonl.gz", store)
    write_jsonl(pages[30:], f"{root}/pool/sub/b.jsonl.zst", store)
    resource = StorageResource(home=f"{root}/home", s3_endpoint_url=s3_endpoint, s3_region="us-east-1")
    register_dataset(resource.layout(), store, "web_s3", f"{root}/pool")
    meta = _materialize("web_s3", resource)
    assert meta["pages"] == 50 and meta["num_shards"] == 2
    record = json.loads(store.read_text(f"{root}/home/raw_pools/web_s3/raw_source.json"))
    assert record["dataset_urls"] == [f"{root}/pool/a.jsonl.gz", f"{root}/pool/sub/b.jsonl.zst"]
    assert [p["url"] for u in record["dataset_urls"] for p in read_jsonl(u, store)] == [p["url"] for p in pages]


def test_unknown_dataset_fails_with_instructions(tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(dataset_partitions.name, ["nobody"])
    with pytest.raises(ValueError, match="dclm raw-pool --dataset nobody"):
        dg.materialize(
            [raw_pool], instance=instance, partition_key="nobody",
            resources={"storage": StorageResource(home=str(tmp_path)), "ray": local_ray(num_cpus=1)},
        )
