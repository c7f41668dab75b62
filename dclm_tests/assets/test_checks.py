"""Asset checks and registry wiring on real runs: the sample pool through a submitted heuristic pipeline and BFF,
then retention bounds, tampered stats and stale inputs; the token budget check on real open_lm shards."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import dagster as dg
import pytest
from dagster_ray.configs import Lifecycle

from dclm_assets.assets.filtering import (
    DEFAULT_HEURISTIC_PIPELINE,
    HeuristicConfig,
    deduplicated_dataset,
    filtered_dataset,
    heuristic_choice,
    heuristic_filtered,
    run_stats_check,
)
from dclm_assets.assets.raw_pool import raw_pool
from dclm_assets.assets.tokens import token_budget, token_budget_covered, tokenized_shards
from dclm_assets.partitions import dataset_partitions
from dclm_resources.compute import local_ray_init_options, ray_session
from dclm_resources.layout import Layout
from dclm_resources.modeling import load_scale
from dclm_resources.processing.run_summary import RunSummary, StepTotals
from dclm_resources.ray_resource import OwnLocalRay
from dclm_resources.registry import BUILTIN_SAMPLE, register_dataset
from dclm_resources.storage import Storage
from dclm_resources.storage_resource import StorageResource
from dclm_tests.processing.models import train_tiny_quality
from dclm_tests.tokenization.conftest import bpe, bpe_dir, c4_texts  # noqa: F401 - fixtures reused here
from dclm_tests.training.conftest import c4_contexts, make_shards  # noqa: F401

PAGES = 300
# A submitter's pipeline in DCLM's format: a modifier, two filters and a global step (exact dedup).
SUBMITTED_YAML = """\
- source: tiny
  steps:
    - func: newline_removal_modifier
      max_consecutive: 2
    - func: page_length_filter
      length_type: word
      min_length: 50
    - func: massive_web_repetition_filters
    - func: exact_dedup
      content_key: text
      normalize: normalize_whitespace_and_lowercase
"""


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """One Ray for the module (a local Ray takes ~10 s to start here) and the sample pool run once through a
    submitted heuristic pipeline, BFF and the quality filter (top half by a classifier trained on DCLM's human
    annotations); the tests then rerun stages, which resume from their stats files."""
    root = tmp_path_factory.mktemp("checks")
    home = root / "home"
    (home / "models").mkdir(parents=True)
    train_tiny_quality(root).rename(home / "models" / "fasttext_oh_eli5.bin")  # where quality_classifier writes
    submitted = root / "submissions" / "tiny.yaml"
    submitted.parent.mkdir()
    submitted.write_text(SUBMITTED_YAML)
    register_dataset(Layout(str(home)), Storage(), "sub", BUILTIN_SAMPLE, pipeline=str(submitted),
                     source_name="tiny", scale="micro", submission_sha256="0" * 64)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(dataset_partitions.name, ["sub"])
    warm_ray = OwnLocalRay(ray_init_options=local_ray_init_options(2),
                           lifecycle=Lifecycle(create=False, wait=False, connect=False, cleanup="never"))
    resources = {"storage": StorageResource(home=str(home)), "ray": warm_ray}
    with ray_session(num_cpus=2):
        first = dg.materialize(
            [raw_pool, heuristic_filtered, deduplicated_dataset, filtered_dataset], instance=instance,
            partition_key="sub", resources=resources,
            run_config={"ops": {"raw_pool": {"config": {"sample_pages": PAGES}},
                                "filtered_dataset": {"config": {"keep_fraction": 0.5}}}},
        )
        yield SimpleNamespace(home=home, instance=instance, resources=resources, first=first, submitted=submitted)


def rerun(chain: SimpleNamespace, heuristic: dict[str, Any] | None = None, with_dedup: bool = True) -> dg.ExecuteInProcessResult:
    """heuristic_filtered (and BFF downstream of it in the same run) again; raw_pool is not rerun."""
    selection = [heuristic_filtered, deduplicated_dataset] if with_dedup else [heuristic_filtered]
    return dg.materialize(
        [raw_pool, heuristic_filtered, deduplicated_dataset], selection=selection, instance=chain.instance,
        partition_key="sub", resources=chain.resources, raise_on_error=False,
        run_config={"ops": {"heuristic_filtered": {"config": heuristic or {}}}},
    )


def checks_of(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], Any]:
    return {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}


def meta(result: dg.ExecuteInProcessResult, node: str) -> dict[str, Any]:
    (mat,) = result.asset_materializations_for_node(node)
    return {k: v.value for k, v in mat.metadata.items()}


def test_submitted_pipeline_runs_and_every_check_passes(chain):
    heuristic = meta(chain.first, "heuristic_filtered")
    assert heuristic["pipeline"] == str(chain.submitted) and heuristic["source_name"] == "tiny"
    assert heuristic["pipeline_from"] == "submission" and heuristic["pages_in"] == PAGES
    checks = checks_of(chain.first)
    assert set(checks) == {("heuristic_filtered", "retention_within_bounds"), ("heuristic_filtered", "stats_add_up"),
                           ("deduplicated_dataset", "stats_add_up"), ("filtered_dataset", "retention_within_bounds"),
                           ("filtered_dataset", "stats_add_up")}
    assert all(c.passed for c in checks.values())
    stats = {k: v.value for k, v in checks[("heuristic_filtered", "stats_add_up")].metadata.items()}
    assert stats["pages_read"] == PAGES == stats["kept"] + stats["removed"] + stats["quarantined"]
    assert stats["kept"] == heuristic["pages_out"] and stats["removed"] > 0  # the sample pool plants junk
    retention = checks[("heuristic_filtered", "retention_within_bounds")]
    assert retention.metadata["retention"].value == pytest.approx(heuristic["pages_out"] / PAGES)
    # BFF read exactly what the heuristic stage wrote, as Dagster recorded it.
    bff = {k: v.value for k, v in checks[("deduplicated_dataset", "stats_add_up")].metadata.items()}
    assert bff["upstream_pages_out"] == heuristic["pages_out"] == bff["pages_read"]
    quality = {k: v.value for k, v in checks[("filtered_dataset", "stats_add_up")].metadata.items()}
    assert quality["upstream_pages_out"] == bff["kept"] == quality["pages_read"]
    kept = checks[("filtered_dataset", "retention_within_bounds")].metadata["retention"].value
    assert kept == pytest.approx(0.5, abs=0.05)  # keep_fraction 0.5


def test_retention_out_of_bounds_blocks_downstream(chain):
    retention = meta(chain.first, "heuristic_filtered")["pages_out"] / PAGES
    low = rerun(chain, {"min_retention": min(1.0, retention + 0.1)})
    assert not low.success
    check = checks_of(low)[("heuristic_filtered", "retention_within_bounds")]
    assert not check.passed and "below min_retention" in check.description
    assert low.asset_materializations_for_node("deduplicated_dataset") == []  # blocked: BFF never ran
    high = rerun(chain, {"max_retention": retention / 2}, with_dedup=False)
    check = checks_of(high)[("heuristic_filtered", "retention_within_bounds")]
    assert not high.success and not check.passed and "above max_retention" in check.description
    assert rerun(chain, {"min_retention": retention - 0.05, "max_retention": retention + 0.05}).success


def test_bad_bounds_fail_before_any_work(chain):
    result = rerun(chain, {"min_retention": 0.5, "max_retention": 0.2}, with_dedup=False)
    assert not result.success and result.asset_materializations_for_node("heuristic_filtered") == []
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    error = failure.step_failure_data.error
    assert error.cause.cls_name == "ValueError"
    assert "config key 'min_retention' (0.5) is above 'max_retention' (0.2)" in error.cause.message


def test_tampered_stats_fail_stats_add_up(chain):
    stats_file = sorted((chain.home / "filtered" / "sub" / "heuristic" / "stats").glob("*_stats.jsonl"))[0]
    original = stats_file.read_text()
    lines = [json.loads(line) for line in original.splitlines()]
    for line in lines:
        if line["name"] == "page_length_filter":
            line["removed"] += 1  # one page counted as removed and kept at once
    try:
        stats_file.write_text("".join(json.dumps(line) + "\n" for line in lines))
        result = rerun(chain)
        check = checks_of(result)[("heuristic_filtered", "stats_add_up")]
        assert not result.success and not check.passed
        problems = check.metadata["problems"].value
        assert any(p.startswith("step 01 page_length_filter:") and "removed" in p for p in problems)
        assert result.asset_materializations_for_node("deduplicated_dataset") == []
    finally:
        stats_file.write_text(original)


def test_stale_bff_output_is_caught(chain):
    """The heuristic stage reruns with a stricter pipeline (config beats the registry); BFF then resumes its old
    run over the same file names and would pass stale pages on: its stats check compares with the new count."""
    stricter = chain.submitted.with_name("stricter.yaml")
    stricter.write_text(SUBMITTED_YAML.replace("min_length: 50", "min_length: 200"))
    result = rerun(chain, {"pipeline": str(stricter), "source_name": "tiny", "overwrite": True})
    heuristic = meta(result, "heuristic_filtered")
    assert heuristic["pipeline_from"] == "config" and heuristic["pipeline"] == str(stricter)
    before = meta(chain.first, "heuristic_filtered")["pages_out"]
    assert heuristic["pages_out"] < before
    assert not result.success
    check = checks_of(result)[("deduplicated_dataset", "stats_add_up")]
    assert not check.passed
    (problem,) = check.metadata["problems"].value
    assert problem.startswith(f"read {before} pages but heuristic_filtered wrote {heuristic['pages_out']}")
    assert check.metadata["upstream_pages_out"].value == heuristic["pages_out"]


def test_heuristic_choice_config_then_registry_then_default(tmp_path: Path):
    layout, store = Layout(str(tmp_path)), Storage()
    assert heuristic_choice(HeuristicConfig(), layout, store, "plain") == (DEFAULT_HEURISTIC_PIPELINE, "cc", "default")
    register_dataset(layout, store, "cli", "/data/pool")  # registered by the CLI: a source, no pipeline
    assert heuristic_choice(HeuristicConfig(), layout, store, "cli")[2] == "default"
    register_dataset(layout, store, "mine", "/data/pool", pipeline="c4.yaml", source_name="cc_april_2019")
    assert heuristic_choice(HeuristicConfig(), layout, store, "mine") == ("c4.yaml", "cc_april_2019", "registry")
    assert heuristic_choice(HeuristicConfig(pipeline="refinedweb.yaml"), layout, store, "mine") == (
        "refinedweb.yaml", "cc", "config")
    register_dataset(layout, store, "bad", "/data/pool", pipeline=["c4.yaml"])
    with pytest.raises(ValueError, match=r"bad\.json: key 'pipeline' must be a string"):
        heuristic_choice(HeuristicConfig(), layout, store, "bad")


def test_split_pages_are_accounted_for():
    """A splitting mapper (one page in, several out) adds pages: read + created = kept + removed + quarantined."""
    summary = RunSummary("out", "out/processed_data", None, "out/global_stats.jsonl", 1, pages_in=10, pages_out=12,
                         lines_quarantined=1)
    summary.steps = [StepTotals(0, "splitter", pages_in=10, pages_out=13, removed=1, kept=6, split=3, shards=1),
                     StepTotals(1, "exact_dedup", pages_in=13, pages_out=12, removed=1, shards=1)]
    check = run_stats_check(summary)
    assert check.passed, check.metadata["problems"].value
    assert check.metadata["pages_read"].value == 11 and "created by splits" in check.description
    summary.steps[1] = StepTotals(1, "exact_dedup", pages_in=12, pages_out=12, removed=1, shards=1)
    problems = run_stats_check(summary).metadata["problems"].value
    assert "step 01 exact_dedup read 12 pages but step 00 splitter wrote 13" in problems


def run_budget_check(home: Path, scales: list[str] | None = None) -> dg.ExecuteInProcessResult:
    job = dg.define_asset_job("budget", selection=dg.AssetSelection.checks(token_budget_covered))
    defs = dg.Definitions(assets=[tokenized_shards], asset_checks=[token_budget_covered], jobs=[job],
                          resources={"storage": StorageResource(home=str(home)), "ray": OwnLocalRay()})
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(dataset_partitions.name, ["c4"])
    config = {"scales": scales} if scales is not None else {}
    return defs.resolve_job_def("budget").execute_in_process(
        instance=instance, tags={"dagster/partition": "c4"}, raise_on_error=False,
        run_config={"ops": {"tokenized_shards_token_budget_covered": {"config": config}}},
    )


def test_token_budget_needed_vs_available(tmp_path: Path, c4_contexts: list, bpe_dir: Path):  # noqa: F811
    home = tmp_path / "home"
    out = home / "tokenized" / "c4"
    shards = make_shards(out, c4_contexts[:24], bpe_dir)
    shards.reference.rename(out / "c4_tokshuf.json")  # where tokenized_shards puts its reference
    context_len = len(c4_contexts[0])
    micro = token_budget(load_scale("micro"), 24, context_len)
    # micro: 77 steps x 16 sequences x 256 tokens; 24 contexts of 2049 tokens give 8 windows of 257 each.
    assert micro.needed == 77 * 16 * 256 and micro.available == 24 * 8 * 256
    assert micro.verdict == f"{micro.needed / micro.available:.1f} passes" and micro.ok

    default = run_budget_check(home)  # no registered scale: the CPU scales, which may repeat the data
    assert default.success
    (check,) = default.get_asset_check_evaluations()
    assert check.passed and check.partition == "c4" and "| c4 | micro | 315,392 | 49,152 | 6.4 passes |" in (
        check.metadata["budgets"].value)

    register_dataset(Layout(str(home)), Storage(), "c4", "/data/c4", scale="400m-1x")  # a submission's scale
    blocked = run_budget_check(home)
    (check,) = blocked.get_asset_check_evaluations()
    needed = load_scale("400m-1x").total_steps() * 512 * 2048
    assert not blocked.success and not check.passed
    assert check.description == f"c4 at 400m-1x: needs {needed:,} tokens, one pass of the data has {24 * 2048:,}"

    bad = run_budget_check(home, ["huge"])
    assert not bad.success and bad.get_asset_check_evaluations() == []
