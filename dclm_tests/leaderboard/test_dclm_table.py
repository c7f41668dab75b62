"""DCLM's published table read as leaderboard rows, checked against DCLM's own stored eval JSONs."""

from __future__ import annotations

import csv
import json

import pytest

from dclm_resources.leaderboard import LeaderboardError, default_rescorer, load_dclm_table, scale_label
from dclm_resources.storage import Storage
from dclm_tests.leaderboard.conftest import exp_data


@pytest.fixture(scope="module")
def stored_evals() -> dict[str, dict]:
    evals = [json.loads(p.read_text()) for p in (exp_data() / "evals").glob("*.json")]
    return {e["model_uuid"]: e for e in evals}


def test_scale_labels_follow_dclm_scale_table():
    assert scale_label(411_616_256, 8_232_325_120) == "400m-1x"
    assert scale_label(1_439_795_200, 28_795_904_000) == "1b-1x"
    assert scale_label(1_439_795_200, 143_979_520_000) == "1b-5x"
    assert scale_label(2_795_932_160, 55_918_643_200) == "3b-1x"
    assert scale_label(6_889_410_560, 275_576_422_400) == "7b-2x"
    assert scale_label(1_439_795_200, 34_500_000_000) == "1b-1.2x"
    assert scale_label(50_000_000, 1_000_000_000) is None and scale_label(None, 5) is None


def test_published_table_maps_dclm_columns(stored_evals):
    rows = load_dclm_table(str(exp_data() / "DCLM_model_database.csv"), Storage())
    with open(exp_data() / "DCLM_model_database.csv", newline="") as fh:
        assert len(rows) == sum(1 for _ in csv.reader(fh)) - 1 > 400
    assert {r["source"] for r in rows} == {"dclm"}
    scales = {r["scale"] for r in rows}
    assert {"400m-1x", "1b-1x", "1b-5x", "7b-1x", "7b-2x"} <= scales
    matched = [r for r in rows if r["model_uuid"] in stored_evals]
    assert len(matched) >= 5
    for row in matched:
        data = stored_evals[row["model_uuid"]]
        # The published table predates the v2 baselines: its Core/Extended are the JSONs' v1 aggregates.
        assert row["core_version"] == "v1"
        assert row["Core"] == pytest.approx(data["Core_v1"], abs=1e-9)
        assert row["Extended"] == pytest.approx(data["Extended_v1"], abs=1e-9)
        assert row["MMLU"] == pytest.approx(data["eval_metrics"]["icl"]["mmlu_fewshot"], abs=1e-9)
        assert row["model"] == data["model"] and row["eval_suite"] == "heavy"
        assert row["created"].strftime("%Y_%m_%d-%H_%M_%S") == data["creation_date"]
        assert row["eval_file"] == data["_filename"]


def test_rescored_table_matches_the_v2_aggregates(stored_evals):
    rescore = default_rescorer()
    if rescore is None:
        pytest.skip("dclm_resources.evaluation.aggregation is not available")
    rows = load_dclm_table(str(exp_data() / "DCLM_model_database.csv"), Storage(), rescore=rescore)
    matched = [r for r in rows if r["model_uuid"] in stored_evals]
    assert matched and all(r["core_version"] == "v2" for r in rows)
    for row in matched:
        data = stored_evals[row["model_uuid"]]
        assert row["Core"] == pytest.approx(data["Core_v2"], abs=1e-9)
        assert row["Extended"] == pytest.approx(data["Extended_v2"], abs=1e-9)


def test_not_dclms_table(tmp_path):
    bad = tmp_path / "x.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(LeaderboardError, match=r"columns \['Dataset'"):
        load_dclm_table(str(bad), Storage())
    fractional = tmp_path / "y.csv"
    fractional.write_text("Dataset,model,params,tokens,Core,Extended\nd,m,1.5,2,0.1,0.1\n")
    with pytest.raises(LeaderboardError, match=r"y.csv:2: column 'params' must be a whole number"):
        load_dclm_table(str(fractional), Storage())
