"""DCLM's aggregation, checked against DCLM's own stored eval JSONs and its task metadata.

Every aggregate of each stored file in ``../shared/data/dclm_exp_data/evals`` is recomputed from that file's
per-task scores alone. All ten stored files are eval_version v2 with both ``Core_v1``/``Extended_v1`` (written by
DCLM's code before the baselines were corrected and migrated on re-aggregation) and ``Core_v2``/``Extended_v2``;
the v1 pair is recomputed with the v1 baselines. No file is an exception.
"""

from __future__ import annotations

import copy
import csv
import json
import math
import random
from pathlib import Path
from typing import Any

import pytest

from dclm_assets.cli_eval_tools import main as cli_main
from dclm_resources.evaluation.aggregation import (
    NA_PREFIX,
    EvalJsonError,
    apply_aggregates,
    centered_accuracy,
    compute_aggregates,
)
from dclm_resources.evaluation.meta import (
    CORE_GROUP,
    EvalMetaError,
    load_aggregation_groups,
    load_task_table,
    parse_task_table,
)
from dclm_tests.paths import SHARED_DATA, shared_data

EVALS_DIR = SHARED_DATA / "dclm_exp_data" / "evals"
EVAL_FILES = sorted(EVALS_DIR.glob("*.json"))
TOL = 1e-9
# Keys that are inputs or bookkeeping, not aggregates.
NOT_AGGREGATES = {"name", "uuid", "model", "creation_date", "eval_metrics", "model_uuid", "_filename", "update_date"}


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and abs(a - b) <= TOL
    return a == b


def _stored(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def _a_stored_file() -> Path:
    shared_data("dclm_exp_data", "evals")
    return EVAL_FILES[2]


def test_all_stored_eval_jsons_are_found() -> None:
    shared_data("dclm_exp_data", "evals")
    assert len(EVAL_FILES) == 10


@pytest.mark.parametrize("path", EVAL_FILES, ids=[p.name[:60] for p in EVAL_FILES])
def test_every_stored_aggregate_recomputed_from_icl(path: Path) -> None:
    stored = _stored(path)
    assert stored["eval_version"] == "v2"
    fresh = {"eval_metrics": {"icl": copy.deepcopy(stored["eval_metrics"]["icl"])}}
    apply_aggregates(fresh, "v2")
    v1 = compute_aggregates(stored["eval_metrics"]["icl"], "v1")
    recomputed = dict(fresh, Core_v1=v1["Core_v1"], Extended_v1=v1["Extended_v1"])

    aggregates = [k for k in stored if k not in NOT_AGGREGATES]
    assert len(aggregates) == 19  # every aggregate key a stored file carries
    for key in aggregates:
        want, got = stored[key], recomputed[key]
        if isinstance(want, dict):
            assert list(got) == list(want), key
            for category, value in want.items():
                assert _close(got[category], value), (key, category, got[category], value)
        elif isinstance(want, str):
            assert got == want, key  # "missing tasks" is the string "[]" in every stored file
        else:
            assert _close(got, want), (key, got, want)
    assert set(recomputed) - NOT_AGGREGATES == set(aggregates)


@pytest.mark.parametrize("path", EVAL_FILES, ids=[p.name[:60] for p in EVAL_FILES])
def test_reaggregating_a_stored_file_reproduces_it_byte_for_byte(path: Path) -> None:
    """Same sums in the same order as DCLM's pandas code: not only within 1e-9 but bit-identical."""
    text = path.read_text()
    data = json.loads(text)
    apply_aggregates(data, "v2", source=str(path))
    assert json.dumps(data, indent=4) == text


def test_centered_accuracy_uses_percent_baselines() -> None:
    assert centered_accuracy(0.25, 25) == 0.0
    assert centered_accuracy(1.0, 62) == 1.0
    assert centered_accuracy(0.5, 0) == 0.5
    assert centered_accuracy(0.403, 40.3) == pytest.approx(0.0, abs=1e-15)
    assert centered_accuracy(0.2, 25) < 0  # below chance is negative, not clipped


def test_missing_tasks_give_dclm_na_strings_and_skip_means() -> None:
    stored = _stored(_a_stored_file())
    icl = dict(stored["eval_metrics"]["icl"])
    del icl["coqa"], icl["gpqa_main"]
    table = load_task_table()
    data = apply_aggregates({"eval_metrics": {"icl": icl}}, "v2")

    assert data["missing tasks"] == "['coqa', 'gpqa_main']"  # table order, Python list repr
    assert data["Core_v2"] == NA_PREFIX + "['coqa']"
    assert data["Extended_v2"] == NA_PREFIX + "['coqa', 'gpqa_main']"
    assert data["Core"] == data["Core_v2"] and data["Extended"] == data["Extended_v2"]
    # Means skip the missing tasks instead of counting them as zero.
    reading = [t for t in table if t.category == "reading comprehension" and t.name in icl]
    assert len(reading) == 7
    want = sum(centered_accuracy(icl[t.name], t.random_baseline("v2")) for t in reading) / 7
    assert data["aggregated_task_categories_centered"]["reading comprehension"] == pytest.approx(want, abs=1e-12)
    core = [n for n in load_aggregation_groups()[CORE_GROUP] if n in icl]
    want_core = sum(centered_accuracy(icl[n], table[n].random_baseline("v2")) for n in core) / len(core)
    assert data["low_variance_datasets_centered"] == pytest.approx(want_core, abs=1e-12)


def test_core_missing_list_follows_group_order_and_checks_icl() -> None:
    icl = dict(_stored(_a_stored_file())["eval_metrics"]["icl"])
    del icl["bigbench_language_identification"], icl["hellaswag_zeroshot"]
    out = compute_aggregates(icl, "v2")
    assert out["Core_v2"] == NA_PREFIX + "['hellaswag_zeroshot', 'bigbench_language_identification']"
    assert out["missing tasks"] == "['hellaswag_zeroshot', 'bigbench_language_identification']"


def test_empty_icl_gives_nan_means_and_na_strings() -> None:
    out = compute_aggregates({}, "v2")
    table = load_task_table()
    assert out["missing tasks"] == str(table.names())
    assert math.isnan(out["aggregated_centered_results"]) and math.isnan(out["rw_small"])
    assert all(math.isnan(v) for v in out["aggregated_task_categories_centered"].values())
    assert out["Core_v2"].startswith(NA_PREFIX) and out["Extended_v2"].startswith(NA_PREFIX)


def test_a_category_without_scores_is_nan_like_pandas() -> None:
    table = load_task_table()
    icl = {t.name: 0.6 for t in table if t.category != "safety"}
    out = compute_aggregates(icl, "v2")
    assert math.isnan(out["aggregated_task_categories_centered"]["safety"])
    assert out["aggregated_task_categories_centered"]["world knowledge"] == pytest.approx(
        sum(centered_accuracy(0.6, t.random_baseline("v2")) for t in table if t.category == "world knowledge") / 10
    )


def test_names_outside_the_table_never_count() -> None:
    """The CI groups list gsm8k / svamp, which are not table tasks; stored files even carry a 'gsm8k' score."""
    icl = dict(_stored(_a_stored_file())["eval_metrics"]["icl"])
    before = compute_aggregates(icl, "v2")
    icl.update(gsm8k=1.0, svamp=1.0, not_a_task=1.0)
    after = compute_aggregates(icl, "v2")
    assert after == before


def test_v1_run_overwrites_categories_but_core_still_mirrors_v2() -> None:
    path = _a_stored_file()
    stored = _stored(path)
    data = apply_aggregates(copy.deepcopy(stored), "v1")
    assert data["eval_version"] == "v1"
    assert data["Core"] == stored["Core_v2"] and data["Extended"] == stored["Extended_v2"]
    assert _close(data["Core_v1"], stored["Core_v1"]) and _close(data["Extended_v1"], stored["Extended_v1"])
    # v1 baselines differ for commonsense_qa & co., so the category aggregates move.
    assert data["aggregated_task_categories_centered"] != stored["aggregated_task_categories_centered"]
    assert data["low_variance_datasets_centered"] == data["Core_v1"]


def test_legacy_core_moves_to_v1_on_v2_aggregation() -> None:
    icl = _stored(_a_stored_file())["eval_metrics"]["icl"]
    legacy = {"eval_metrics": {"icl": icl}, "Core": 0.123, "Extended": 0.045}
    data = apply_aggregates(legacy, "v2")
    assert data["Core_v1"] == 0.123 and data["Extended_v1"] == 0.045
    assert data["Core"] == data["Core_v2"] and data["Extended"] == data["Extended_v2"]
    assert list(data)[-4:] == ["Core_v1", "Extended_v1", "Core", "Extended"]


def test_bad_input_names_the_source() -> None:
    with pytest.raises(EvalJsonError, match=r"x\.json: no 'eval_metrics'"):
        apply_aggregates({"uuid": "u"}, source="x.json")
    with pytest.raises(EvalJsonError, match=r"x\.json: no 'eval_metrics.icl'"):
        apply_aggregates({"eval_metrics": {"perplexity": 2.0}}, source="x.json")
    with pytest.raises(EvalJsonError, match=r"x\.json: eval_metrics\.icl\.copa is not a number"):
        apply_aggregates({"eval_metrics": {"icl": {"copa": "high"}}}, source="x.json")
    with pytest.raises(ValueError, match="unknown eval version"):
        compute_aggregates({}, "v3")


def test_means_follow_pandas_summation_exactly() -> None:
    """Our NaN-skipping means against pandas itself (the library DCLM aggregates with), bit for bit."""
    pd = pytest.importorskip("pandas")
    from dclm_resources.evaluation import aggregation

    rng = random.Random(7)
    for _ in range(300):
        n = rng.randint(1, 300)
        values = [rng.random() * rng.choice([1.0, -1.0, 1e-3, 1e3]) if rng.random() > 0.2 else math.nan
                  for _ in range(n)]
        want = pd.Series(values, dtype=float).mean()
        got = aggregation._nan_mean(values)
        assert (math.isnan(want) and math.isnan(got)) or want == got
        labels = [rng.choice("abc") for _ in range(n)]
        grouped = pd.DataFrame({"c": labels, "v": values}).groupby("c").agg({"v": "mean"})["v"].to_dict()
        for label, value in grouped.items():
            mine = aggregation._group_nan_mean(v for c, v in zip(labels, values, strict=True) if c == label)
            assert (math.isnan(value) and math.isnan(mine)) or value == mine


# -- the task table ------------------------------------------------------------------------------------------


def _dclm_csv(name: str) -> list[dict[str, str]]:
    with open(shared_data("eval", name), newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_packaged_table_matches_dclm_csvs_v1_and_v2() -> None:
    table = load_task_table()
    v2, v1 = _dclm_csv("eval_meta_data.csv"), _dclm_csv("eval_meta_data_v1.csv")
    assert table.names() == [r["Eval Task"] for r in v2] == [r["Eval Task"] for r in v1]
    assert len(table) == 53
    for task, row2, row1 in zip(table, v2, v1, strict=True):
        assert task.category == row2["Task Category"]
        assert task.task_type == row2["Task Type"]
        assert task.shots == int(row2["#shots"]) and task.datapoints == int(row2["#datapoints"])
        assert task.random_baseline("v2") == float(row2["Random baseline"])
        assert task.random_baseline("v1") == float(row1["Random baseline"])
    changed = {t.name for t in table if t.random_baseline("v1") != t.random_baseline("v2")}
    assert len(changed) == 12 and {"siqa", "commonsense_qa", "logi_qa"} <= changed
    counts = {c: sum(1 for t in table if t.category == c) for c in table.categories()}
    assert counts == {"commonsense reasoning": 8, "language understanding": 8, "reading comprehension": 8,
                      "safety": 4, "symbolic problem solving": 15, "world knowledge": 10}


def test_core_flags_and_groups_match_dclm() -> None:
    groups = load_aggregation_groups()
    shared = json.loads(shared_data("eval", "additional_aggregation.json").read_text())
    assert groups == shared
    assert list(groups) == ["rw_small", "95%_CI_above", "99%_CI_above", "low_variance_datasets"]
    table = load_task_table()
    assert sorted(table.core_tasks()) == sorted(groups[CORE_GROUP]) and len(groups[CORE_GROUP]) == 22
    effective = {k: [n for n in v if n in table] for k, v in groups.items()}
    assert [len(v) for v in effective.values()] == [6, 28, 23, 22]


def test_a_users_dclm_csv_serves_every_version() -> None:
    """Given DCLM's v1 CSV as --eval-meta, a v2 run uses its single baseline column (v1 numbers)."""
    path = shared_data("eval", "eval_meta_data_v1.csv")
    table = load_task_table(path)
    stored = _stored(_a_stored_file())
    out = compute_aggregates(stored["eval_metrics"]["icl"], "v2", table=table)
    assert out["Core_v2"] == stored["Core_v1"]


def test_task_table_errors_name_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(EvalMetaError, match=r"t\.csv: line 3: column 'Random baseline' is not a number"):
        parse_task_table("Eval Task,Task Category,Random baseline\na,x,25\nb,y,lots\n", "t.csv")
    with pytest.raises(EvalMetaError, match="missing column 'Random baseline'"):
        parse_task_table("Eval Task,Task Category\na,x\n", "t.csv")
    with pytest.raises(EvalMetaError, match="listed twice"):
        parse_task_table("Eval Task,Task Category,Random baseline\na,x,25\na,x,25\n", "t.csv")
    with pytest.raises(EvalMetaError, match="cannot read"):
        load_task_table(tmp_path / "absent.csv")
    bad = tmp_path / "groups.json"
    bad.write_text('{"rw_small": ["a",\n 3]}')
    with pytest.raises(EvalMetaError, match="must be a list of task names"):
        load_aggregation_groups(bad)


# -- dclm aggregate ------------------------------------------------------------------------------------------


def test_cli_in_place_rewrites_atomically_and_reproduces_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    source = _a_stored_file()
    target = tmp_path / "eval.json"
    target.write_text(source.read_text())
    data = json.loads(target.read_text())
    data["Core_v2"] = data["Core"] = 0.0  # a stale aggregate that must be recomputed
    target.write_text(json.dumps(data, indent=4))
    assert cli_main(["aggregate", str(target), "--in-place"]) == 0
    assert target.read_text() == source.read_text()
    assert "updated" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eval.json"]  # no temp file left behind


def test_cli_prints_updated_json(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    one, two = tmp_path / "a.json", tmp_path / "b.json"
    one.write_text(_a_stored_file().read_text())
    two.write_text(json.dumps({"eval_metrics": {"icl": {"copa": 0.7}}}))
    assert cli_main(["aggregate", str(one)]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(one.read_text())
    assert cli_main(["aggregate", str(one), str(two), "--version", "v1"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert list(printed) == [str(one), str(two)]
    assert printed[str(two)]["eval_version"] == "v1"
    assert printed[str(two)]["Extended_v1"].startswith(NA_PREFIX)
    assert json.loads(two.read_text()) == {"eval_metrics": {"icl": {"copa": 0.7}}}  # untouched without --in-place


def test_cli_errors_name_the_file_and_write_nothing(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    good, broken, empty = tmp_path / "good.json", tmp_path / "broken.json", tmp_path / "empty.json"
    good.write_text(json.dumps({"eval_metrics": {"icl": {"copa": 0.7}}}))
    broken.write_text('{"eval_metrics": {"icl": {"copa": 0.7}},\n "x": }')
    empty.write_text(json.dumps({"uuid": "u"}))
    assert cli_main(["aggregate", str(good), str(broken), "--in-place"]) == 1
    err = capsys.readouterr().err
    assert f"{broken}: line 2 column" in err and "not valid JSON" in err
    assert json.loads(good.read_text()) == {"eval_metrics": {"icl": {"copa": 0.7}}}  # nothing written
    assert cli_main(["aggregate", str(empty)]) == 1
    assert f"{empty}: no 'eval_metrics'" in capsys.readouterr().err
    assert cli_main(["aggregate", str(tmp_path / "absent.json")]) == 1
    assert "absent.json" in capsys.readouterr().err


def test_cli_accepts_user_metadata_files(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    stored = _a_stored_file()
    groups = tmp_path / "groups.json"
    groups.write_text(json.dumps({"low_variance_datasets": ["copa", "piqa"]}))
    assert cli_main(["aggregate", str(stored), "--eval-meta", str(shared_data("eval", "eval_meta_data_v1.csv")),
                     "--additional-aggregation", str(groups)]) == 0
    out = json.loads(capsys.readouterr().out)
    icl = out["eval_metrics"]["icl"]
    want = (centered_accuracy(icl["copa"], 50) + centered_accuracy(icl["piqa"], 50)) / 2
    assert out["Core_v2"] == pytest.approx(want, abs=1e-15)
    assert out["Core_v1"] == _stored(stored)["Core_v1"]  # an existing v1 number is left alone by a v2 run
