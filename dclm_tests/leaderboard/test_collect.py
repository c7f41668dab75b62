"""Eval reports and model references found by pattern and turned into leaderboard rows."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone

import pytest

from dclm_resources.leaderboard import LeaderboardError, PathPattern, collect_eval_rows
from dclm_resources.storage import Storage
from dclm_tests.leaderboard.conftest import PICKED, csv_row, stored_eval


def test_patterns():
    p = PathPattern("evals/{scale}/{dataset}/*.json")
    assert p.prefix == "evals"
    assert p.match("1b-1x/my.ds=1/heavy.json") == {"scale": "1b-1x", "dataset": "my.ds=1"}
    assert p.match("1b-1x/ds/sub/heavy.json") is None and p.match("1b-1x/ds/heavy.jsonl") is None
    deep = PathPattern("training/{scale}/{dataset}/**/*.json")
    assert deep.match("micro/ds/model.json") == deep.match("micro/ds/run/a/model.json") == {"scale": "micro",
                                                                                             "dataset": "ds"}
    assert PathPattern("exp_data/evals/evaluation_*_heavy.json").match("evaluation_x-y_heavy.json") == {}
    with pytest.raises(LeaderboardError):
        PathPattern("../evals/*.json")


def test_rows_from_real_eval_jsons_and_their_model_references(home):
    rows, problems = collect_eval_rows(str(home), Storage())
    assert problems == []
    by_dataset = {r["dataset"]: r for r in rows}
    assert set(by_dataset) == {dataset for _, dataset in PICKED}
    for prefix, dataset in PICKED:
        _, data = stored_eval(prefix)
        row, published = by_dataset[dataset], csv_row(data["model_uuid"])
        assert row["source"] == "ours" and row["model"] == data["model"]
        assert row["Core"] == data["Core_v2"] and row["Extended"] == data["Extended_v2"]
        assert row["core_version"] == "v2"
        assert row["MMLU"] == data["eval_metrics"]["icl"]["mmlu_fewshot"]
        assert (row["params"], row["tokens"]) == (published["params"], published["tokens"])
        assert row["eval_suite"] == "heavy" and row["model_uuid"] == data["model_uuid"]
        assert row["eval_file"] == str(next(home.glob(f"evals/*/{dataset}/heavy.json")))
        assert row["created"] == datetime.strptime(data["creation_date"], "%Y_%m_%d-%H_%M_%S").replace(
            tzinfo=timezone.utc)
    assert by_dataset["c4_original"]["scale"] == "7b-1x" and by_dataset["bff1shards"]["scale"] == "400m-1x"
    assert by_dataset["bff1shards"]["perplexity"] == stored_eval(PICKED[2][0])[1]["eval_metrics"]["perplexity"]


def test_model_found_by_place_when_the_uuid_differs(home):
    report = next(home.glob("evals/*/c4_original/heavy.json"))
    data = json.loads(report.read_text())
    data["model_uuid"] = "not-the-model-uuid"
    report.write_text(json.dumps(data))
    rows, _ = collect_eval_rows(str(home), Storage())
    (row,) = [r for r in rows if r["dataset"] == "c4_original"]
    assert row["params"] == 6_889_410_560


def test_report_without_model_reference_keeps_scale_and_dataset_from_its_path(home):
    shutil.rmtree(home / "training")
    rows, _ = collect_eval_rows(str(home), Storage())
    row = next(r for r in rows if r["dataset"] == "c4_original")
    assert row["scale"] == "7b-1x" and row["params"] is None and row["tokens"] is None


def test_na_scores_and_broken_reports(home):
    report = next(home.glob("evals/*/c4_original/heavy.json"))
    data = json.loads(report.read_text())
    data.pop("Core_v2")
    data["Core"] = "N/A due to missing tasks: ['jeopardy']"
    report.write_text(json.dumps(data))
    broken = home / "evals" / "micro" / "bad" / "core.json"
    broken.parent.mkdir(parents=True)
    broken.write_text('{"eval_metrics": {"icl": {}},\n "Core": }')
    no_metrics = home / "evals" / "micro" / "bad" / "light.json"
    no_metrics.write_text('{"Core": 0.5}')
    rows, problems = collect_eval_rows(str(home), Storage())
    assert next(r for r in rows if r["dataset"] == "c4_original")["Core"] is None
    assert any(p.startswith(f"{broken}:2: not valid JSON") for p in problems)
    assert any(str(no_metrics) in p and "'eval_metrics'" in p for p in problems)
    assert len(rows) == 3
    with pytest.raises(LeaderboardError, match="not valid JSON"):
        collect_eval_rows(str(home), Storage(), strict=True)


def test_custom_pattern_reads_dclm_exp_data_layout(home):
    rows, problems = collect_eval_rows(str(home / "evals"), Storage(), eval_pattern="*/{dataset}/heavy.json",
                                       model_patterns=())
    assert problems == [] and len(rows) == 3 and all(r["scale"] is None and r["params"] is None for r in rows)


def test_missing_root_is_empty(tmp_path):
    assert collect_eval_rows(str(tmp_path / "nothing"), Storage()) == ([], [])
