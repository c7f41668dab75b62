"""``keep_fraction_filter``: the top fraction of pages by score across shards, ties, lower_better, missing keys,
determinism; the YAML rewrite and a pipeline run that reports the computed threshold."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from dclm_resources.compute import ray_session
from dclm_resources.processing.filters.metadata import quality_filter
from dclm_resources.processing.pipeline import PipelineError, load_pipeline
from dclm_resources.processing.registry import get_mapper
from dclm_resources.processing.runner import process_dataset
from dclm_resources.processing.threshold import (
    fraction_threshold,
    keep_fraction_filter,
    pages_to_keep,
    read_keep_fraction_record,
    with_keep_fraction,
)
from dclm_resources.storage import Storage, read_jsonl, write_jsonl
from dclm_tests.paths import shared_data

STORAGE = Storage()
SHIPPED = Path(__file__).resolve().parents[2] / "dclm_assets" / "configs" / "pipelines"


@pytest.fixture(scope="module", autouse=True)
def ray_local():
    with ray_session(num_cpus=2):
        yield


def run(tmp_path: Path, shards: list[list[dict[str, Any]]], **params: Any):
    inputs = []
    for i, pages in enumerate(shards):
        uri = str(tmp_path / "in" / f"s{i}.jsonl.zst")
        write_jsonl(pages, uri)
        inputs.append(uri)
    out = tmp_path / "out"
    stats = keep_fraction_filter(inputs, str(out), STORAGE, **params)
    kept = [list(read_jsonl(str(out / Path(u).name))) for u in inputs]
    return inputs, stats, kept


def scored(values: list[float | None], key: str = "s") -> list[dict[str, Any]]:
    return [{"id": i, "text": f"page {i}", **({} if v is None else {key: v})} for i, v in enumerate(values)]


def test_keeps_exactly_the_top_fraction_across_shards(tmp_path):
    rng = random.Random(7)
    values = [rng.random() for _ in range(1000)]
    pages = scored(values)
    shards = [pages[:300], pages[300:350], pages[350:]]
    inputs, stats, kept = run(tmp_path, shards, key="s", keep_fraction=0.1)
    kept_ids = {p["id"] for shard in kept for p in shard}
    top = sorted(range(1000), key=lambda i: -values[i])[:100]
    assert kept_ids == set(top)
    threshold = stats[inputs[0]]["threshold"]
    assert threshold == sorted(values, reverse=True)[99]
    # Same decision as quality_filter at that threshold, page by page.
    assert kept_ids == {p["id"] for p in pages if quality_filter(dict(p), key="s", threshold=threshold)}
    for uri, shard in zip(inputs, kept, strict=True):
        s = stats[uri]
        assert s["pages_out"] == len(shard) and s["keep_fraction"] == 0.1 and s["key"] == "s"
        assert s["pages_missing_key"] == 0
    assert sum(s["pages_in"] for s in stats.values()) == 1000
    record = json.loads((tmp_path / "out" / "_keep_fraction.json").read_text())
    assert record["threshold"] == threshold and record["pages_out"] == 100 and record["target_pages"] == 100


def test_k_is_ceil_with_float_noise_guarded():
    assert pages_to_keep(10, 0.7) == 7  # 0.7 * 10 = 7.000000000000001
    assert pages_to_keep(10, 0.75) == 8
    assert pages_to_keep(3, 1.0) == 3
    assert pages_to_keep(1000, 0.018) == 18


def test_ties_at_the_threshold_are_all_kept(tmp_path):
    values = [0.9, 0.9, 0.5, 0.5, 0.5, 0.5, 0.1, 0.1, 0.1, 0.1]
    inputs, stats, kept = run(tmp_path, [scored(values)], key="s", keep_fraction=0.3)  # k = 3 lands in the 0.5s
    assert stats[inputs[0]]["threshold"] == 0.5
    assert sorted(p["s"] for p in kept[0]) == [0.5, 0.5, 0.5, 0.5, 0.9, 0.9]  # 6 > k: never fewer than k


def test_lower_better_keeps_the_lowest(tmp_path):
    values = [float(v) for v in range(20)]
    random.Random(3).shuffle(values)
    inputs, stats, kept = run(tmp_path, [scored(values[:7]), scored(values[7:])], key="s",
                              keep_fraction=0.25, lower_better=True)
    assert stats[inputs[0]]["threshold"] == 4.0
    assert sorted(p["s"] for shard in kept for p in shard) == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_missing_keys_count_in_n_and_are_never_kept(tmp_path):
    values: list[float | None] = [0.1 * i for i in range(10)] + [None] * 8 + [float("nan")] * 2
    inputs, stats, kept = run(tmp_path, [scored(values)], key="s", keep_fraction=0.1)  # k = ceil(0.1 * 20) = 2
    s = stats[inputs[0]]
    assert s["pages_missing_key"] == 10 and s["pages_in"] == 20 and s["pages_out"] == 2
    assert all("s" in p and p["s"] >= 0.8 for p in kept[0])
    # More pages wanted than have a score: every scored page, no unscored one.
    inputs, stats, kept = run(tmp_path / "all", [scored(values)], key="s", keep_fraction=0.9)
    assert stats[inputs[0]]["pages_out"] == 10 and all(p.get("s") == p.get("s") for p in kept[0])
    # Nothing scored: nothing kept, no threshold; every shard is still written.
    inputs, stats, kept = run(tmp_path / "none", [scored([None] * 3), []], key="s", keep_fraction=0.5)
    assert [s["threshold"] for s in stats.values()] == [None, None] and kept == [[], []]


def test_deterministic(tmp_path):
    values = [round(random.Random(i).random(), 2) for i in range(300)]  # many ties
    shards = [scored(values[:100]), scored(values[100:])]
    a_inputs, a_stats, _ = run(tmp_path / "a", shards, key="s", keep_fraction=0.37)
    b_inputs, b_stats, _ = run(tmp_path / "b", shards, key="s", keep_fraction=0.37)
    assert list(a_stats.values()) == list(b_stats.values())
    assert [Path(u).name for u in a_inputs] == [Path(u).name for u in b_inputs]
    for a in a_inputs:
        name = Path(a).name
        assert (tmp_path / "a" / "out" / name).read_bytes() == (tmp_path / "b" / "out" / name).read_bytes()


def test_bad_values_fail_clearly(tmp_path):
    with pytest.raises(TypeError, match=r"s0\.jsonl\.zst:2: .*'s' must be a number"):
        run(tmp_path, [[{"text": "a", "s": 1.0}, {"text": "b", "s": "high"}]], key="s", keep_fraction=0.5)
    for bad in (0, 1.5, -0.1, True):
        with pytest.raises(ValueError, match="keep_fraction"):
            keep_fraction_filter([], str(tmp_path), STORAGE, key="s", keep_fraction=bad)


def test_threshold_helper_matches_a_sort():
    rng = random.Random(5)
    import numpy as np

    scores = np.array([rng.random() for _ in range(501)])
    for f in (0.01, 0.1, 0.5, 1.0):
        k = pages_to_keep(501, f)
        assert fraction_threshold(scores, f) == sorted(scores, reverse=True)[k - 1]
        assert fraction_threshold(scores, f, lower_better=True) == sorted(scores)[k - 1]


def test_with_keep_fraction_rewrites_only_the_quality_filter(tmp_path):
    derived = with_keep_fraction(str(SHIPPED / "fasttext_filter.yaml"), "cc", 0.1, STORAGE, str(tmp_path / "d.yaml"))
    (entry,) = yaml.safe_load(Path(derived).read_text())
    assert entry["steps"] == [
        {"func": "classify_fasttext_hq_prob_enricher", "model_filename": "fasttext_oh_eli5.bin",
         "key": "fasttext_oh_eli5_vs_rw_v2_prob"},
        {"func": "keep_fraction_filter", "key": "fasttext_oh_eli5_vs_rw_v2_prob", "keep_fraction": 0.1},
    ]
    two = tmp_path / "two.yaml"
    two.write_text(yaml.safe_dump([{"source": "cc", "steps": [
        {"func": "word_counter_enricher"},
        {"func": "quality_filter", "key": "a", "threshold": 1},
        {"func": "quality_filter", "key": "b", "threshold": 2, "lower_better": True},
    ]}]))
    with pytest.raises(ValueError, match="2 quality_filter steps"):
        with_keep_fraction(str(two), "cc", 0.5, STORAGE, str(tmp_path / "x.yaml"))
    with_keep_fraction(str(two), "cc", 0.5, STORAGE, str(tmp_path / "b.yaml"), key="b")
    steps = yaml.safe_load((tmp_path / "b.yaml").read_text())[0]["steps"]
    assert steps[1]["func"] == "quality_filter"
    assert steps[2] == {"func": "keep_fraction_filter", "key": "b", "keep_fraction": 0.5, "lower_better": True}
    with pytest.raises(ValueError, match="source 'web'"):
        with_keep_fraction(str(two), "web", 0.5, STORAGE, str(tmp_path / "y.yaml"))


def test_pipeline_validates_keep_fraction(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("- source: cc\n  steps:\n    - func: word_counter_enricher\n    - func: keep_fraction_filter\n")
    with pytest.raises(PipelineError, match="keep_fraction"):
        load_pipeline(str(bad), "cc")


def test_in_a_pipeline_on_real_pages(tmp_path):
    """Word counts of real C4 pages as the score: the run keeps the top 20% and records its threshold."""
    c4 = shared_data("web", "jsonl", "c4_en_sample", "c4_sample.jsonl")
    pages = [json.loads(line) for line in c4.read_text().splitlines()[:200]]
    for i in range(4):
        write_jsonl(pages[i * 50 : (i + 1) * 50], str(tmp_path / "pool" / f"part{i}.jsonl"))
    config = tmp_path / "wc.yaml"
    config.write_text("- source: cc\n  steps:\n    - func: word_counter_enricher\n      key: wc\n"
                      "    - func: quality_filter\n      key: wc\n      threshold: 100\n")
    derived = with_keep_fraction(str(config), "cc", 0.2, STORAGE, str(tmp_path / "out" / "wc_keep.yaml"))
    summary = process_dataset(derived, "cc", str(tmp_path / "pool"), str(tmp_path / "out"), STORAGE,
                              readable_name="wc", progress=False)
    assert summary.pages_in == 200 and summary.pages_out >= 40
    record = read_keep_fraction_record(str(tmp_path / "out"), STORAGE)
    counter = get_mapper("word_counter_enricher", key="wc")
    counts = sorted((counter(dict(p))[0]["wc"] for p in pages), reverse=True)
    assert record is not None and record["threshold"] == counts[39]  # k = 0.2 * 200
    assert record["pages_out"] == summary.pages_out == sum(c >= counts[39] for c in counts)
    kept = [p for f in sorted((tmp_path / "out" / "processed_data").glob("*.jsonl*")) for p in read_jsonl(str(f))]
    assert len(kept) == summary.pages_out and min(p["wc"] for p in kept) == record["threshold"]
