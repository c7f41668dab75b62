"""The leaderboard asset through Dagster: eval reports built by our report builder from real DCLM per-task scores,
merged with DCLM's real published table."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl

from dclm_assets.assets.leaderboard import SUMMARY_COLUMNS, leaderboard
from dclm_resources.evaluation.report import build_eval_json, headline, write_eval_json
from dclm_resources.layout import Layout
from dclm_resources.leaderboard import read_table
from dclm_resources.modeling import load_scale
from dclm_resources.storage import Storage
from dclm_resources.storage_resource import StorageResource
from dclm_tests.paths import shared_data

# (scale, dataset, stored DCLM eval whose per-task accuracies our report is built from)
REPORTS = (
    ("micro", "alpha", "evaluation_cc_v4_resiliparse_rw_v2_bff1shards"),
    ("small", "beta", "evaluation_c4_original-open_lm_7b"),
)


def write_report(home: Path, scale: str, dataset: str, stored_prefix: str) -> dict[str, Any]:
    """A model reference where the checkpoint asset puts it, and the eval JSON the eval_report asset writes."""
    exp = shared_data("dclm_exp_data")
    (stored_path,) = [p for p in (exp / "evals").glob("*.json") if p.name.startswith(stored_prefix)]
    stored = json.loads(stored_path.read_text())
    template = json.loads(sorted((exp / "models").glob("*.json"))[0].read_text())
    recipe = load_scale(scale)
    run = f"{dataset}-{recipe.model_json_name}"
    model_uuid = str(uuid.uuid4())
    reference = {**template, "uuid": model_uuid, "name": run, "dataset_name": dataset,
                 "hyperparameters": {**template["hyperparameters"], "model": recipe.model_json_name,
                                     "params": recipe.params, "tokens": recipe.tokens}}
    layout = Layout(str(home))
    run_dir = Path(layout.training_dir(scale, dataset)) / run
    run_dir.mkdir(parents=True)
    (run_dir / f"{run}.json").write_text(json.dumps(reference, indent=2))
    report = build_eval_json(run, "heavy", stored["eval_metrics"]["icl"], stored["eval_metrics"].get("perplexity"),
                             model_uuid=model_uuid)
    write_eval_json(str(Path(layout.evals_dir(scale, dataset)) / "heavy.json"), report)
    return report


def materialize(home: Path, **config: Any) -> dict[str, Any]:
    result = dg.materialize([leaderboard], resources={"storage": StorageResource(home=str(home))},
                            run_config={"ops": {"leaderboard": {"config": config}}})
    assert result.success
    (mat,) = result.asset_materializations_for_node("leaderboard")
    return {k: v.value for k, v in mat.metadata.items()}


def test_leaderboard_from_our_reports_and_dclms_table(tmp_path: Path):
    home = tmp_path / "home"
    reports = {(scale, dataset): write_report(home, scale, dataset, prefix) for scale, dataset, prefix in REPORTS}
    csv = shared_data("dclm_exp_data", "DCLM_model_database.csv")
    meta = materialize(home, dclm_csv=str(csv))

    dclm_rows = pl.read_csv(csv, infer_schema_length=None).height
    assert meta["our_rows"] == 2 and meta["dclm_rows"] == dclm_rows
    assert meta["dagster/row_count"] == dclm_rows + 2 and meta["problems"] == []
    assert [c.name for c in meta["dagster/column_schema"].columns][:4] == ["source", "dataset", "scale", "model"]

    # Our rows, as the UI shows them: DCLM's columns, one line per report, in scale order (micro before small).
    lines = meta["ours"].splitlines()
    assert lines[0] == "| " + " | ".join(SUMMARY_COLUMNS) + " |" and len(lines) == 4
    assert "| alpha | micro |" in lines[2] and "| beta | small |" in lines[3]

    table = read_table(meta["parquet"], Storage())
    ours = table.filter(pl.col("source") == "ours").sort("dataset")
    for row in ours.iter_rows(named=True):
        report = reports[(row["scale"], row["dataset"])]
        recipe = load_scale(row["scale"])
        assert row["Core"] == headline(report)["Core"] and row["Extended"] == headline(report)["Extended"]
        assert row["model_uuid"] == report["model_uuid"] and row["model"] == report["model"]
        assert (row["params"], row["tokens"]) == (recipe.params, recipe.tokens)
        assert row["train_flops"] == 6.0 * recipe.params * recipe.tokens
        assert f"| {row['Core']:.4f} |" in meta["ours"]
    # DCLM's rows carry its scales, rescored to our Core version (v2).
    dclm = table.filter(pl.col("source") == "dclm")
    assert {"7b-1x", "1b-1x", "400m-1x"} <= set(dclm["scale"].drop_nulls()) and set(dclm["core_version"]) == {"v2"}

    assert pl.read_csv(meta["csv"]).height == table.height
    assert Path(meta["plot"]).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    page = Path(meta["html"]).read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count('<tr class="ours">') == 2
    assert Path(meta["html"]).parent == home / "leaderboard"


def test_ours_only_and_a_broken_report_is_named(tmp_path: Path):
    home = tmp_path / "home"
    empty = materialize(home)
    assert empty["dagster/row_count"] == 0 and empty["ours"].startswith("no eval reports yet")

    scale, dataset, prefix = REPORTS[0]
    write_report(home, scale, dataset, prefix)
    broken = home / "evals" / "micro" / "gamma" / "core.json"
    broken.parent.mkdir(parents=True)
    broken.write_text('{"eval_metrics": ')
    meta = materialize(home)
    assert meta["dagster/row_count"] == 1 and meta["our_rows"] == 1 and meta["dclm_rows"] == 0
    (problem,) = meta["problems"]
    assert str(broken) in problem and "not valid JSON" in problem
