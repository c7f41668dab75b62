"""DCLM's eval JSON: built from per-task scores it equals DCLM's stored files; written atomically; headline numbers."""

from __future__ import annotations

import json
import math
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from dclm_resources.evaluation.aggregation import NA_PREFIX, EvalJsonError, apply_aggregates
from dclm_resources.evaluation.report import (
    build_eval_json,
    category_centered,
    creation_date,
    dumps_eval_json,
    headline,
    read_eval_json,
    write_eval_json,
)
from dclm_resources.evaluation.suites import load_suite
from dclm_tests.paths import shared_data

KEY_ORDER = [
    "uuid", "model", "creation_date", "name", "eval_metrics", "missing tasks",
    "aggregated_task_categories_centered", "aggregated_centered_results", "aggregated_results",
    "rw_small", "rw_small_centered", "95%_CI_above", "95%_CI_above_centered", "99%_CI_above",
    "99%_CI_above_centered", "low_variance_datasets", "low_variance_datasets_centered",
    "Core", "Extended", "Core_v1", "Extended_v1", "Core_v2", "Extended_v2", "eval_version", "model_uuid",
]


def _stored() -> dict[str, Any]:
    folder = shared_data("dclm_exp_data", "evals")
    path = next(p for p in sorted(folder.glob("*.json")) if "10shards" in p.name)
    return json.loads(path.read_text())


def test_built_json_equals_dclm_stored_file() -> None:
    stored = _stored()
    metrics = stored["eval_metrics"]
    built = build_eval_json(
        stored["model"], "/opt/ml/code/eval/heavy.yaml", metrics["icl"], metrics["perplexity"],
        metrics["downstream_perpexity"], stored["model_uuid"],
        eval_uuid=stored["uuid"], created=stored["creation_date"],
    )
    assert list(built) == KEY_ORDER
    assert list(built["eval_metrics"]) == ["perplexity", "downstream_perpexity", "icl"]
    assert built["name"] == stored["name"] == "/opt/ml/code/eval/heavy"
    for key in KEY_ORDER:
        assert built[key] == stored[key], key  # bit-identical, including Core_v1 / Extended_v1
    assert built["eval_version"] == "v2"


def test_defaults_uuid_date_and_absent_perplexity() -> None:
    stored = _stored()
    built = build_eval_json("micro", "core", stored["eval_metrics"]["icl"], None)
    assert str(uuid.UUID(built["uuid"])) == built["uuid"]
    assert datetime.strptime(built["creation_date"], "%Y_%m_%d-%H_%M_%S")
    assert list(built["eval_metrics"]) == ["icl"]  # as DCLM with --donot-compute-perplexity
    assert built["name"] == "core" and built["model_uuid"] is None


def test_creation_date_is_us_pacific() -> None:
    summer = datetime(2024, 4, 29, 18, 34, 24, tzinfo=timezone.utc)
    winter = datetime(2024, 1, 5, 8, 0, 0, tzinfo=timezone.utc)
    assert creation_date(summer) == "2024_04_29-11_34_24"  # PDT, UTC-7
    assert creation_date(winter) == "2024_01_05-00_00_00"  # PST, UTC-8


def test_a_core_suite_result_has_core_but_extended_is_na() -> None:
    stored = _stored()
    core = load_suite("core").labels()
    icl = {label: stored["eval_metrics"]["icl"][label] for label in core}
    built = build_eval_json("micro", "core", icl, 3.1)
    assert built["Core"] == built["Core_v2"] == stored["Core_v2"]
    assert built["Core_v1"] == stored["Core_v1"]
    assert isinstance(built["Extended"], str) and built["Extended"].startswith(NA_PREFIX + "['mmlu_zeroshot'")
    assert built["Extended_v1"] == built["Extended_v2"] == built["Extended"]
    assert headline(built) == {"Core": stored["Core_v2"], "Extended": built["Extended"], "MMLU": None}


def test_v1_build_keeps_core_on_the_current_version() -> None:
    stored = _stored()
    built = build_eval_json("m", "heavy", stored["eval_metrics"]["icl"], None, version="v1")
    assert built["eval_version"] == "v1"
    assert built["Core"] == stored["Core_v2"] and built["Core_v1"] == stored["Core_v1"]
    assert built["low_variance_datasets_centered"] == stored["Core_v1"]
    with pytest.raises(ValueError, match="unknown eval version"):
        build_eval_json("m", "heavy", {}, None, version="v9")


def test_write_is_atomic_dclm_formatted_and_reaggregates_unchanged(tmp_path: Path) -> None:
    stored = _stored()
    built = build_eval_json("micro", "heavy", stored["eval_metrics"]["icl"], 2.5, model_uuid="m-1")
    target = tmp_path / "evals" / "evaluation_micro_heavy.json"
    write_eval_json(str(target), built)
    text = target.read_text()
    assert text == json.dumps(built, indent=4) == dumps_eval_json(built)
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]
    loaded = read_eval_json(str(target))
    assert loaded == built and list(loaded) == KEY_ORDER
    # `dclm aggregate` on our own file changes nothing.
    assert dumps_eval_json(apply_aggregates(loaded, "v2")) == text


def test_nan_categories_round_trip_as_dclm_writes_them(tmp_path: Path) -> None:
    built = build_eval_json("m", "light", {"hellaswag_zeroshot": 0.3, "mmlu_zeroshot": 0.26}, None)
    assert math.isnan(built["aggregated_task_categories_centered"]["safety"])
    target = tmp_path / "e.json"
    write_eval_json(str(target), built)
    assert "NaN" in target.read_text()
    assert math.isnan(read_eval_json(str(target))["aggregated_task_categories_centered"]["safety"])
    assert set(category_centered(built)) == {"language understanding", "world knowledge"}
    assert headline(built)["MMLU"] == 0.26  # light has only the zero-shot MMLU


def test_headline_prefers_five_shot_mmlu() -> None:
    stored = _stored()
    top = headline(stored)
    assert top == {"Core": stored["Core"], "Extended": stored["Extended"],
                   "MMLU": stored["eval_metrics"]["icl"]["mmlu_fewshot"]}
    cats = category_centered(stored)
    assert cats == stored["aggregated_task_categories_centered"] and len(cats) == 6


def test_read_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "uuid": "x",\n  oops\n}')
    with pytest.raises(EvalJsonError, match=r"bad\.json: line 3 column 3: not valid JSON"):
        read_eval_json(str(bad))
    bad.write_text("[1, 2]")
    with pytest.raises(EvalJsonError, match=r"bad\.json: an eval JSON must be a JSON object"):
        read_eval_json(str(bad))
