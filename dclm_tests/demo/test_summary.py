"""The demo's leaderboard row: Core says when the DCLM suites were not run; the offline numbers always show."""

from __future__ import annotations

import math

from dclm_resources.demo.summary import NOT_RUN, format_row, leaderboard_row
from dclm_resources.evaluation.report import build_eval_json
from dclm_resources.evaluation.suites import load_suite

CORE = load_suite("core").labels()


def test_offline_row_says_suites_not_run() -> None:
    eval_json = build_eval_json("run-a", "core", {"demo_cloze": 0.25}, 5.5)
    row = leaderboard_row(eval_json, dataset="sample", scale="micro", params=1234, tokens=5678, suite_labels=CORE)
    assert row.core == NOT_RUN and row.suite_tasks_scored == 0
    assert row.perplexity == 5.5 and row.cloze_accuracy == 0.25 and row.model == "run-a"
    text = format_row(row)
    assert NOT_RUN in text and "1,234" in text and "5,678" in text and "0.2500" in text
    assert f"{math.exp(5.5):,.1f}" in text


def test_full_suite_row_has_a_number_and_a_partial_one_dclms_na_string() -> None:
    scores = dict.fromkeys(CORE, 0.5)
    row = leaderboard_row(build_eval_json("m", "core", scores, None), dataset="d", scale="micro", params=1, tokens=1,
                          suite_labels=CORE)
    assert isinstance(row.core, float) and row.suite_tasks_scored == len(CORE)
    assert row.cloze_accuracy is None and row.perplexity is None
    partial = leaderboard_row(build_eval_json("m", "core", {CORE[0]: 0.5}, 1.0), dataset="d", scale="micro",
                              params=1, tokens=1, suite_labels=CORE)
    assert isinstance(partial.core, str) and partial.core.startswith("N/A due to missing tasks")
    assert "n/a" in format_row(partial)  # no cloze score
