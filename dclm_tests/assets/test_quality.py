"""quality_classifier materialized through Dagster, then filtered_dataset keeping the top fraction by its scores."""

from __future__ import annotations

import json
import math
from pathlib import Path

import dagster as dg
import pytest
import yaml

from dclm_assets.assets.filtering import filtered_dataset
from dclm_assets.assets.quality import quality_classifier
from dclm_assets.partitions import dataset_partitions
from dclm_resources.ray_resource import local_ray
from dclm_resources.storage import read_jsonl, write_jsonl
from dclm_resources.storage_resource import StorageResource
from dclm_tests.paths import shared_data

KEY = "fasttext_oh_eli5_vs_rw_v2_prob"  # fasttext_filter.yaml's key


def meta(result: dg.ExecuteInProcessResult, node: str) -> dict:
    (mat,) = result.asset_materializations_for_node(node)
    return {k: v.value for k, v in mat.metadata.items()}


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.delenv("DCLM_RESOURCE_DIRS", raising=False)
    monkeypatch.setenv("DCLM_MODELS_DIR", str(home / "models"))  # no model from the developer's own home
    return home


def test_classifier_then_keep_fraction_filter(home):
    instance = dg.DagsterInstance.ephemeral()
    resources = {"storage": StorageResource(home=str(home)), "ray": local_ray(num_cpus=2)}
    classifier_config = {
        "positive_sources": [{"uri": str(shared_data("quality", "instruction_positive"))}],
        "negative_sources": [{"uri": str(shared_data("web", "jsonl", "dolma_cc_2019_30"))}],
        "bucket": 20_000,
        "thread": 1,
        "annotations": str(shared_data("quality", "dclm_human_annotations")),
    }
    trained = dg.materialize(
        [quality_classifier], instance=instance, resources=resources,
        run_config={"ops": {"quality_classifier": {"config": classifier_config}}},
    )
    assert trained.success
    m = meta(trained, "quality_classifier")
    model = home / "models" / "fasttext_oh_eli5.bin"
    assert m["model_path"] == str(model) and m["model_bytes"] == model.stat().st_size
    assert m["examples_hq"] == 1000 and m["examples_cc"] > 600
    assert m["valid_examples"] + m["train_examples"] == m["examples_hq"] + m["examples_cc"]
    assert 0.6 < m["valid_f1"] <= 1 and 0 < m["valid_precision"] <= 1 and 0 < m["valid_recall"] <= 1
    assert m["hyperparameters"]["wordNgrams"] == 2 and m["hyperparameters"]["valid_frac"] == 0.1
    assert m["human_documents"] == 499 and 0.5 < m["human_roc_auc"] <= 1 and 0 <= m["human_accuracy"] <= 1
    assert m["human_threshold"] == 0.018112 and set(m["human_agreement"]) == {"majority_data", "agreement_data"}
    assert "__label__cc" in m["metrics"]

    # The BFF stage's output, as deduplicated_dataset leaves it: real C4 pages in three shards.
    c4 = shared_data("web", "jsonl", "c4_en_sample", "c4_sample.jsonl")
    pages = [json.loads(line) for line in c4.read_text(encoding="utf-8").splitlines()[:240]]
    bff = home / "filtered" / "sample" / "bff" / "processed_data"
    for i in range(3):
        write_jsonl(pages[i * 80 : (i + 1) * 80], str(bff / f"shard_{i}_processed.jsonl.zst"))
    instance.add_dynamic_partitions(dataset_partitions.name, ["sample"])
    filtered = dg.materialize(
        [filtered_dataset], instance=instance, resources=resources, partition_key="sample",
        run_config={"ops": {"filtered_dataset": {"config": {"keep_fraction": 0.2}}}},
    )
    assert filtered.success
    q = meta(filtered, "filtered_dataset")
    assert q["pages_in"] == 240 and q["keep_fraction"] == 0.2 and q["pages_missing_key"] == 0
    assert q["pages_out"] >= math.ceil(0.2 * 240) and q["pages_out"] <= 240 * 0.25  # ties only may add pages
    kept = [p for f in (home / "filtered" / "sample" / "quality" / "processed_data").glob("*.jsonl*")
            for p in read_jsonl(str(f))]
    assert len(kept) == q["pages_out"] and min(p[KEY] for p in kept) == q["quality_threshold"]
    derived = yaml.safe_load(Path(q["derived_pipeline"]).read_text())
    assert derived[0]["steps"][-1] == {"func": "keep_fraction_filter", "key": KEY, "keep_fraction": 0.2}
