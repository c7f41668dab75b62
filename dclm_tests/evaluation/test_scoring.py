"""llm-foundry's metric rules as functions: each case is one the rule decides differently from a naive one."""

from __future__ import annotations

import math

import pytest

from dclm_resources.evaluation import scoring


def test_multiple_choice_uses_mean_not_sum() -> None:
    # choice 0: 4 tokens at 0.5 nats (sum 2.0, mean 0.5); choice 1: 1 token at 1.5 nats (sum 1.5, mean 1.5)
    sums, counts = [-2.0, -1.5], [4, 1]
    assert scoring.multiple_choice_prediction(sums, counts) == 0
    assert max(range(2), key=lambda i: sums[i]) == 1  # lm-eval's summed rule would pick the other one
    assert scoring.multiple_choice_correct(sums, counts, gold=0)


def test_multiple_choice_ties_go_to_the_first_choice() -> None:
    assert scoring.multiple_choice_prediction([-3.0, -1.0, -1.0], [3, 1, 1]) == 0
    assert scoring.argmin_first([2.0, 1.0, 1.0]) == 1
    with pytest.raises(ValueError):
        scoring.mean_token_loss(-1.0, 0)


def test_language_modeling_is_exact_greedy_match() -> None:
    assert scoring.language_modeling_correct(True) and not scoring.language_modeling_correct(False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The Beatles!", "beatles"),
        ("  an_apple a day ", "apple day"),
        ("Sunset Blvd.", "sunset blvd"),
        ("O\u2019Neill", "o neill"),
        ("theatre", "theatre"),
    ],
)
def test_normalize_answer(text: str, expected: str) -> None:
    assert scoring.normalize_answer(text) == expected


def test_generation_is_a_prefix_match_after_normalization() -> None:
    assert scoring.generation_correct(" Sunset Boulevard, of course", ["Sunset Boulevard"])
    assert scoring.generation_correct(" the onion\nQuestion: next", ["Onion"])
    assert not scoring.generation_correct(" A red onion", ["Onion"])  # prefix, not substring
    assert not scoring.generation_correct(" Onion", ["Onion skins"])
    assert scoring.generation_correct(" Onion", ["Onion skins", "Onion"])


def test_generation_stops_then_cot_split() -> None:
    out = " 16 - 3 - 4 = 9 eggs #### 18\n\nQ: Another question #### 7"
    stops, cot = ["\n\n", "Q:", "Q: "], " #### "
    assert scoring.final_answer(out, stops, cot) == "18"
    assert scoring.generation_correct(out, ["18"], stops, cot)
    assert not scoring.generation_correct(out, ["18"], None, cot)  # without stops the last "#### 7" is read
    assert scoring.generation_correct(out, ["7"], None, cot)


def test_generation_without_normalization_only_strips() -> None:
    assert scoring.generation_correct("  Paris.", ["Paris."], do_normalization=False)
    assert not scoring.generation_correct("  paris", ["Paris"], do_normalization=False)


def test_categories_are_averaged_unweighted() -> None:
    items = [("a", 1.0)] * 8 + [("b", 0.0)] * 2 + [("b", 1.0)] * 2
    assert scoring.category_mean(items) == pytest.approx((1.0 + 0.5) / 2)
    assert sum(v for _, v in items) / len(items) == pytest.approx(10 / 12)  # the weighted mean differs
    assert scoring.per_category_accuracy(items) == {"a": (1.0, 8), "b": (0.5, 4)}
    assert scoring.category_mean([(None, 1.0), (None, 0.0), (None, 0.0)]) == pytest.approx(1 / 3)
    assert math.isnan(scoring.category_mean([]))
