"""A DCLM home holding real DCLM eval JSONs in our layout, each with a model reference JSON beside its training run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dclm_resources.leaderboard import scale_label
from dclm_tests.paths import shared_data

# (eval file stem prefix, dataset name in our home)
PICKED = (
    ("evaluation_c4_original-open_lm_7b", "c4_original"),
    ("evaluation_cc_v4_resiliparse_rw_v2_bff_minngram20_10shards", "minngram20_10shards"),
    ("evaluation_cc_v4_resiliparse_rw_v2_bff1shards", "bff1shards"),
)


def exp_data() -> Path:
    return shared_data("dclm_exp_data")


def stored_eval(prefix: str) -> tuple[Path, dict[str, Any]]:
    (path,) = [p for p in (exp_data() / "evals").glob("*.json") if p.name.startswith(prefix)]
    return path, json.loads(path.read_text())


def csv_row(model_uuid: str) -> dict[str, Any]:
    import polars as pl

    frame = pl.read_csv(exp_data() / "DCLM_model_database.csv", infer_schema_length=None)
    (row,) = frame.filter(pl.col("model_uuid") == model_uuid).to_dicts()
    return row


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """``evals/<scale>/<dataset>/heavy.json`` + ``training/<scale>/<dataset>/<run>/model.json`` per picked eval.

    The stored model JSONs belong to other runs, so each reference is one of them with the eval's model uuid,
    params and tokens (taken from DCLM's table row of that model) and our dataset name.
    """
    template = json.loads(next((exp_data() / "models").glob("*.json")).read_text())
    for prefix, dataset in PICKED:
        path, data = stored_eval(prefix)
        row = csv_row(data["model_uuid"])
        scale = scale_label(row["params"], row["tokens"])
        eval_dir = tmp_path / "evals" / scale / dataset
        eval_dir.mkdir(parents=True)
        (eval_dir / "heavy.json").write_text(path.read_text())
        model = {**template, "uuid": data["model_uuid"], "dataset_name": dataset, "name": f"{dataset}-{scale}",
                 "hyperparameters": {**template["hyperparameters"], "params": row["params"],
                                     "tokens": row["tokens"], "model": data["model"]}}
        run_dir = tmp_path / "training" / scale / dataset / model["name"]
        run_dir.mkdir(parents=True)
        (run_dir / "model.json").write_text(json.dumps(model))
        (run_dir / "params.txt").write_text("lr: 0.003\n")
    return tmp_path
