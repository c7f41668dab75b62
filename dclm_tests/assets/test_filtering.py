"""DCLM-Baseline's chain materialized through Dagster: raw_pool -> heuristics -> BFF -> fastText quality."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import dagster as dg
import pytest

from dclm_assets.assets.filtering import deduplicated_dataset, filtered_dataset, heuristic_filtered
from dclm_assets.assets.raw_pool import raw_pool
from dclm_assets.partitions import dataset_partitions
from dclm_resources.ray_resource import local_ray
from dclm_resources.storage import read_jsonl
from dclm_resources.storage_resource import StorageResource
from dclm_tests.paths import shared_data
from dclm_tests.processing.models import train_tiny_lid, train_tiny_quality


@pytest.fixture
def resource_dir(tmp_path, monkeypatch) -> str:
    folder = tmp_path / "resources"
    folder.mkdir()
    for f in shared_data("wordlists", "dclm_banlists").iterdir():
        shutil.copy(f, folder / f.name)
    (folder / "refinedweb_banned_domains_curated.txt").write_text("casino-bonus.example\n")
    shutil.copy(train_tiny_lid(tmp_path), folder / "lid.176.bin")
    shutil.copy(train_tiny_quality(tmp_path), folder / "fasttext_oh_eli5.bin")
    monkeypatch.setenv("DCLM_RESOURCE_DIRS", str(folder))  # DCLM's default lid.176.bin is found here
    return str(folder)


def test_filtering_chain_materializes(tmp_path, resource_dir):
    home = tmp_path / "home"
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(dataset_partitions.name, ["sample"])
    pipeline_config = {"resource_dirs": [resource_dir]}
    result = dg.materialize(
        [raw_pool, heuristic_filtered, deduplicated_dataset, filtered_dataset],
        instance=instance,
        partition_key="sample",
        resources={"storage": StorageResource(home=str(home)), "ray": local_ray(num_cpus=2)},
        run_config={
            "ops": {
                "raw_pool": {"config": {"sample_pages": 600}},
                "heuristic_filtered": {"config": pipeline_config},
                "deduplicated_dataset": {"config": {}},
                "filtered_dataset": {"config": pipeline_config},
            }
        },
    )
    assert result.success

    def meta(node: str) -> dict:
        (mat,) = result.asset_materializations_for_node(node)
        return {k: v.value for k, v in mat.metadata.items()}

    heuristic, bff, quality = meta("heuristic_filtered"), meta("deduplicated_dataset"), meta("filtered_dataset")
    assert heuristic["pages_in"] == 600
    assert 0 < heuristic["pages_out"] < 600
    assert bff["pages_in"] == heuristic["pages_out"]
    assert bff["pages_out"] < bff["pages_in"]  # the sample pool plants exact and near duplicates
    assert quality["pages_in"] == bff["pages_out"] and 0 < quality["pages_out"] <= quality["pages_in"]

    # The funnel is a table and a plot; removed samples name the step that removed them.
    assert "massive_web_repetition_filters" in heuristic["funnel"]
    assert Path(heuristic["funnel_plot"]).read_bytes().startswith(b"\x89PNG")
    assert any("page_length_filter" in step for step in heuristic["removed_samples"])

    # What the sample pool planted is what the chain removed.
    kept = [p for shard in (home / "filtered" / "sample" / "quality" / "processed_data").rglob("*.jsonl*")
            for p in read_jsonl(str(shard))]
    kinds = {p["metadata"]["sample_kind"] for p in kept}
    assert kinds <= {"good", "boilerplate", "near_duplicate", "exact_duplicate"}
    assert not {"short", "repetitive", "symbols", "spam"} & kinds
    reference = json.loads(Path(quality["reference"]).read_text())
    assert reference["dataset_url"].endswith("quality/processed_data/")


def test_bff_stage_resumes_without_recomputing(tmp_path):
    import random

    from dclm_resources.processing.bff_stage import BffSettings, run_bff_stage
    from dclm_resources.storage import Storage, write_jsonl

    words = [f"word{j}" for j in range(500)]
    pages = [{"text": " ".join(random.Random(i).sample(words, 40))} for i in range(20)]
    write_jsonl(pages + pages[:5], str(tmp_path / "in" / "a.jsonl.zst"))
    first = run_bff_stage(str(tmp_path / "in"), str(tmp_path / "out"), Storage(), BffSettings(), "x")
    assert (first.pages_in, first.pages_out) == (25, 20)
    stats = tmp_path / "out" / "bff_stats.jsonl"
    mtime = os.stat(stats).st_mtime_ns
    again = run_bff_stage(str(tmp_path / "in"), str(tmp_path / "out"), Storage(), BffSettings(), "x")
    assert again == first and os.stat(stats).st_mtime_ns == mtime
