"""DCLM's four shipped configs run unchanged end to end on real pools, and their stats add up."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from dclm_resources.compute import ray_session
from dclm_resources.processing.runner import process_dataset
from dclm_resources.storage import Storage, read_jsonl
from dclm_tests.paths import REPO_ROOT, shared_data
from dclm_tests.processing.models import train_tiny_lid, train_tiny_quality

CONFIGS = REPO_ROOT / "dclm_assets" / "configs" / "pipelines"


@pytest.fixture(scope="module")
def resources(tmp_path_factory) -> list[str]:
    """DCLM's banlists, a stand-in for the curated domain list (not redistributable), and tiny models under
    the file names DCLM's configs expect (lid.176.bin, fasttext_oh_eli5.bin)."""
    folder = tmp_path_factory.mktemp("resources")
    ut1 = shared_data("wordlists", "ut1_sample")
    domains = sorted({line.strip() for f in ut1.rglob("domains") for line in f.read_text().splitlines() if line.strip()})
    (folder / "refinedweb_banned_domains_curated.txt").write_text("\n".join(domains) + "\n")
    shutil.copy(train_tiny_lid(folder), folder / "lid.176.bin")
    shutil.copy(train_tiny_quality(folder), folder / "fasttext_oh_eli5.bin")
    return [str(shared_data("wordlists", "dclm_banlists")), str(folder)]


@pytest.fixture(scope="module")
def pool() -> list[str]:
    return [
        str(shared_data("web", "jsonl", "c4_en_sample", "c4_sample.jsonl")),
        str(next(shared_data("web", "jsonl", "dolma_cc_2019_30").glob("*.jsonl.gz"))),
    ]


@pytest.fixture(scope="module")
def ray2(resources):
    import os

    # Models named only by DCLM's defaults (lid.176.bin) are found through $DCLM_RESOURCE_DIRS in Ray workers.
    old = os.environ.get("DCLM_RESOURCE_DIRS")
    os.environ["DCLM_RESOURCE_DIRS"] = os.pathsep.join(resources)
    try:
        with ray_session(num_cpus=2):
            yield
    finally:
        if old is None:
            os.environ.pop("DCLM_RESOURCE_DIRS", None)
        else:
            os.environ["DCLM_RESOURCE_DIRS"] = old


def _check_accounting(out: Path, pages_read: int) -> None:
    """read = kept + removed per step + quarantined, shard by shard, from DCLM-format stats lines."""
    total_first_in = 0
    for stats in sorted((out / "stats").rglob("*_stats.jsonl")):
        lines = [json.loads(line) for line in stats.read_text().splitlines()]
        names = [line["name"] for line in lines]
        assert names[0] == "process_setup" and names[-2:] == ["process_finished", "commit"]
        steps = [line for line in lines if line["name"] not in ("process_setup", "commit", "process_finished")]
        total_first_in += steps[0]["pages_in"] + lines[0].get("pages_quarantined", 0)
        for prev, step in zip(steps, steps[1:], strict=False):
            assert step["pages_in"] == prev["pages_out"], (stats.name, step["name"])
        for step in steps:
            if "removed" in step:
                assert step["pages_in"] == step["removed"] + step["kept"] + step["split"] + step["errors"]
    assert total_first_in == pages_read


@pytest.mark.parametrize(
    ("config", "source"),
    [
        ("dclm_baseline_refinedweb.yaml", "cc"),
        ("refinedweb.yaml", "cc"),
        ("c4.yaml", "cc_april_2019"),
        ("fasttext_filter.yaml", "cc"),
    ],
)
def test_dclm_config_runs_end_to_end(config, source, pool, resources, ray2, tmp_path):
    out = tmp_path / "out"
    summary = process_dataset(
        str(CONFIGS / config), source, pool, str(out), Storage(), resource_dirs=resources, progress=False
    )
    assert summary.pages_in == 1000 + 697 and not summary.failed_shards
    assert 0 < summary.pages_out < summary.pages_in
    _check_accounting(out, 1697)
    kept = [p for shard in summary.outputs for p in read_jsonl(shard)]
    assert len(kept) == summary.pages_out
    reference = json.loads(Path(summary.reference_uri).read_text())
    assert reference["dataset_url"] == str(out / "processed_data") + "/" and reference["tokenized"] is False
    if config == "c4.yaml":
        assert [row["name"] for row in summary.chunks] == ["local", "exact_dedup", "exact_dedup", "local"]
        assert all(isinstance(p["text"], str) for p in kept)  # split_lines / join_lines round trip
    if config == "fasttext_filter.yaml":
        assert all(p["fasttext_oh_eli5_vs_rw_v2_prob"] >= 0.018112 for p in kept)
    if "refinedweb" in config:
        assert all(p["language_id_whole_page_fasttext"].get("en", 0) > 0.65 for p in kept)
