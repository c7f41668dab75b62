"""Step aggregators and transforms, resolved by name as a pipeline YAML's ``_aggregate:`` does."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from dclm_resources.processing import get_aggregator, get_transform


def test_percentiles_exact_values() -> None:
    percentiles = get_aggregator("percentiles")
    assert percentiles([1, 2, 3, 4, 5]) == {
        "min": 1, "max": 5, "median": 3, "p25": 2, "p75": 4, "p90": 5, "p95": 5, "p99": 5, "mean": 3,
    }  # fmt: skip
    assert percentiles([1.0, 2.0, 3.0, 4.0, 5.0]) == {
        "min": 1.0, "max": 5.0, "median": 3.0, "p25": 2.0, "p75": 4.0, "p90": 5.0, "p95": 5.0, "p99": 5.0, "mean": 3.0,
    }  # fmt: skip
    assert percentiles([-1, -2, -3, -4, -5]) == {
        "min": -5, "max": -1, "median": -3, "p25": -4, "p75": -2, "p90": -1, "p95": -1, "p99": -1, "mean": -3,
    }  # fmt: skip
    assert percentiles([5]) == dict.fromkeys(
        ("min", "max", "median", "p25", "p75", "p90", "p95", "p99", "mean"), 5
    )


def test_percentiles_nearest_method_picks_observed_values() -> None:
    result = get_aggregator("percentiles")([10, 20, 30, 40])
    # 'nearest' never interpolates: the median of 4 values is one of them (numpy rounds half to even: index 2)
    assert result["median"] == 30
    assert result["p25"] == 20 and result["p75"] == 30 and result["mean"] == 25
    json.dumps(result)  # plain Python numbers


def test_percentiles_errors() -> None:
    percentiles = get_aggregator("percentiles")
    with pytest.raises(IndexError):
        percentiles([])
    with pytest.raises(TypeError):
        percentiles(None)
    with pytest.raises(TypeError):
        percentiles(5)
    with pytest.raises(TypeError):
        percentiles((1, 2))  # a list is required, as in DCLM


def test_histogram_numbers_and_strings() -> None:
    histogram = get_aggregator("histogram")
    for values in (
        [1, 2, 2, 3, 3, 3, 4, 4, 4, 4],
        [-1, -2, -2, -3, -3, -3],
        [1.0, 2.0, 2.0, 3.0, 3.0, 3.0],
        [5],
    ):
        result = histogram(values)
        assert isinstance(result, dict) and len(result) == 10
        assert sum(result.values()) == len(values)
    result = histogram([0, 10])
    assert list(result) == [float(x) for x in range(0, 10)]  # left edges; the last edge (10) is dropped
    assert result[0.0] == 1 and result[9.0] == 1
    json.dumps(result)
    assert histogram(["a", "b", "b", "c", "c", "c"]) == Counter(["a", "b", "b", "c", "c", "c"])


def test_histogram_errors() -> None:
    histogram = get_aggregator("histogram")
    with pytest.raises(IndexError):
        histogram([])
    with pytest.raises(TypeError):
        histogram(None)
    with pytest.raises(TypeError):
        histogram(5)


def test_threshold_transform() -> None:
    transform = get_transform("threshold_transform", threshold=0.99)
    assert transform({"en": 0.995, "fr": 0.005}) == "en"
    assert transform({"en": 0.99}) == "en"  # >= threshold
    assert transform({"en": 0.98, "de": 0.02}) == "unknown"
    assert transform({}) == "unknown"
    assert get_transform("threshold_transform", threshold=0.5, default="n/a")({"en": 0.4}) == "n/a"
    assert get_transform("threshold_transform", threshold=0.1)({"de": 0.3, "en": 0.6, "fr": 0.1}) == "en"
    assert (
        get_transform("threshold_transform", threshold=0.1)({"de": 0.5, "en": 0.5}) == "de"
    )  # first max wins


def test_language_histogram_as_in_the_c4_config() -> None:
    """c4.yaml: langdetect scores → threshold_transform(0.99) → histogram of language labels."""
    scores = [{"en": 0.999}, {"en": 0.95, "de": 0.05}, {"de": 1.0}, {}, {"en": 0.9999}]
    labels = [get_transform("threshold_transform", threshold=0.99, default="unknown")(s) for s in scores]
    assert get_aggregator("histogram")(labels) == {"en": 2, "unknown": 2, "de": 1}
