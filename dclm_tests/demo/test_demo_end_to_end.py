"""`dclm demo` end to end, for real: every asset materialized through Dagster into a persistent instance, offline.

The one end-to-end test of the default run. It uses the demo's knobs to stay short (a 150-page pool, 6 training
steps, a small held-out set); the defaults are the same code with bigger numbers. The offline LID model is copied
into the fresh home from a per-user cache (building it is measured with the demo, not re-tested here).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from dclm_tests.paths import REPO_ROOT, shared_data

ASSETS = [
    ("raw_pool", "sample"), ("heuristic_filtered", "sample"), ("deduplicated_dataset", "sample"),
    ("quality_classifier", None), ("filtered_dataset", "sample"), ("tokenizer", None),
    ("tokenized_shards", "sample"), ("checkpoint", "sample|micro"), ("eval_report", "sample|micro"),
]
SMALL = ["--pages", "150", "--max-steps", "6", "--heldout-pages", "80", "--cloze-limit", "20",
         "--perplexity-sequences", "2", "--workers", "2"]


def run_demo(home: Path, *extra: str, timeout: int = 900) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "DCLM_HOME", "DCLM_EVAL_DATA")}
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "dclm_assets.cli", "demo", "--home", str(home), *SMALL, *extra],
        capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT, env=env,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return proc, time.perf_counter() - started


def materializations(home: Path) -> dict[tuple[str, str | None], list[Any]]:
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home / "dagster_home")) as instance:
        found = {}
        for asset, partition in ASSETS + ([("leaderboard", None)] if _with_leaderboard() else []):
            records_filter = dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset),
                                                   asset_partitions=[partition] if partition else None)
            found[(asset, partition)] = instance.fetch_materializations(records_filter, limit=10).records
        return found


def _with_leaderboard() -> bool:
    from dclm_assets.definitions import defs

    return any("leaderboard" in key.to_user_string() for a in defs.assets or [] for key in a.keys)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, cached_lid_model: Path) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("demo") / "home"
    (home / "models").mkdir(parents=True)
    shutil.copy(cached_lid_model, home / "models" / cached_lid_model.name)
    proc, seconds = run_demo(home)
    return {"home": home, "proc": proc, "seconds": seconds}


def test_demo_materializes_the_whole_chain(demo: dict[str, Any]) -> None:
    home, out = demo["home"], demo["proc"].stdout
    found = materializations(home)
    assert all(len(records) == 1 for records in found.values()), {k: len(v) for k, v in found.items()}
    for asset, partition in ASSETS:  # one line as it starts, one as it ends, with elapsed times
        label = f"{asset}[{partition}]" if partition else asset
        assert f"] {label}" in out and " ..." in out
        assert any(label in line and " done in " in line and "(total " in line for line in out.splitlines())

    report = json.loads((home / "demo" / "demo_report.json").read_text())
    assert [s["skipped"] for s in report["steps"]] == [False] * len(report["steps"])
    assert all(s["seconds"] >= 0 for s in report["steps"]) and len(report["steps"]) >= len(ASSETS) + 2

    eval_json = json.loads((home / "evals" / "micro" / "sample" / "core.json").read_text())
    metrics = eval_json["eval_metrics"]
    assert math.isfinite(metrics["perplexity"]) and 0 < metrics["perplexity"] < 20
    assert list(metrics["icl"]) == ["demo_cloze"] and 0.0 <= metrics["icl"]["demo_cloze"] <= 1.0
    row = report["row"]
    assert row["core"] == "N/A (DCLM suites not run)" and row["scale"] == "micro" and row["dataset"] == "sample"
    assert row["params"] > 1_000_000 and row["tokens"] == 6 * 16 * 256
    assert "N/A (DCLM suites not run)" in out and "dclm eval-data fetch" in out
    assert "dagster dev -w workspace.yaml" in out and str(home / "dagster_home") in out
    (eval_record,) = found[("eval_report", "sample|micro")]
    assert "dclm eval-data fetch" in eval_record.asset_materialization.metadata["suite_status"].value
    assert str(home / "raw_pools" / "sample" / "raw_source.json") in out


def test_rerun_skips_every_asset_and_changes_nothing(demo: dict[str, Any]) -> None:
    home = demo["home"]
    eval_file = home / "evals" / "micro" / "sample" / "core.json"
    before, stamp = materializations(home), eval_file.stat().st_mtime_ns
    proc, seconds = run_demo(home)
    for asset, partition in ASSETS:
        label = f"{asset}[{partition}]" if partition else asset
        assert any(label in line and " skipped in " in line for line in proc.stdout.splitlines()), proc.stdout
    assert {k: len(v) for k, v in materializations(home).items()} == {k: len(v) for k, v in before.items()}
    assert eval_file.stat().st_mtime_ns == stamp
    assert seconds < demo["seconds"] / 2, (seconds, demo["seconds"])
    assert "N/A (DCLM suites not run)" in proc.stdout


@pytest.mark.slow
def test_with_eval_data_only_the_eval_runs_again_with_the_core_suite(demo: dict[str, Any]) -> None:
    home = demo["home"]
    data = shared_data("eval")
    proc, _ = run_demo(home, "--eval-data", str(data), "--eval-limit", "1")
    lines = proc.stdout.splitlines()
    assert any("eval_report[sample|micro]" in line and " done in " in line for line in lines)
    assert any("checkpoint[sample|micro]" in line and " skipped in " in line for line in lines)
    eval_json = json.loads((home / "evals" / "micro" / "sample" / "core.json").read_text())
    icl = eval_json["eval_metrics"]["icl"]
    assert "demo_cloze" in icl and "arc_easy" in icl and len(icl) >= 10
    row = json.loads((home / "demo" / "demo_report.json").read_text())["row"]
    assert row["suite_tasks_scored"] == len(icl) - 1
    # The shared data lacks a few core tasks (hellaswag, squad, coqa): Core is then DCLM's own N/A string.
    assert isinstance(row["core"], float) or row["core"].startswith("N/A due to missing tasks")
    assert "N/A (DCLM suites not run)" not in proc.stdout


@pytest.mark.slow
def test_a_changed_filter_reruns_downstream_from_scratch(demo: dict[str, Any]) -> None:
    home = demo["home"]
    proc, _ = run_demo(home, "--keep-fraction", "0.6")
    lines = proc.stdout.splitlines()
    for label in ("raw_pool[sample]", "quality_classifier"):
        assert any(label in line and " skipped in " in line for line in lines)
    for label in ("filtered_dataset[sample]", "tokenized_shards[sample]", "checkpoint[sample|micro]"):
        assert any(label in line and " done in " in line for line in lines)
    report = json.loads((home / "demo" / "demo_report.json").read_text())
    assert report["row"]["tokens"] == 6 * 16 * 256  # retrained from step 0, not resumed past the budget
    found = materializations(home)
    assert len(found[("filtered_dataset", "sample")]) >= 2
    meta = found[("filtered_dataset", "sample")][0].asset_materialization.metadata
    assert meta["keep_fraction"].value == 0.6
