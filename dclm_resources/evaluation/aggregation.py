"""DCLM's score aggregation (``eval/aggregated_metrics.py::get_aggregated_results``), rule for rule.

The leaderboard numbers are only comparable if they are computed the way DCLM computes them:

- per task, centered accuracy ``(acc - rb) / (1 - rb)`` with ``rb`` = the task's random baseline as a fraction
  (``0.01 * Random baseline``); the baseline table depends on the version (``v2`` current, ``v1`` legacy);
- only tasks of the task table count; a task absent from ``eval_metrics.icl`` is skipped by every mean (pandas'
  NaN-skipping mean), and a mean over no task is NaN;
- ``aggregated_task_categories_centered``: mean centered accuracy per category (categories sorted by name);
  ``aggregated_centered_results`` / ``aggregated_results``: mean centered / raw accuracy over all table tasks;
- for each group ``K`` of ``additional_aggregation.json``: ``K`` = mean raw and ``K_centered`` = mean centered
  accuracy over the group's tasks that are in the table (``gsm8k`` / ``svamp`` in the CI groups are not, and so
  never count, even when an eval JSON carries scores under those names);
- ``missing tasks`` = ``str()`` of the list of table tasks absent from ``icl``;
  ``Core_<ver>`` = ``low_variance_datasets_centered``, or ``"N/A due to missing tasks: [...]"`` naming the missing
  Core tasks; ``Extended_<ver>`` = ``aggregated_centered_results``, or the N/A string with all missing tasks;
- ``eval_version`` = the version; when aggregating as the current version a legacy ``Core``/``Extended`` (from
  before versioning) moves to ``Core_v1``/``Extended_v1`` unless those exist; finally ``Core``/``Extended``
  mirror ``Core_v2``/``Extended_v2`` whenever those are present (also after a ``v1`` run).

``apply_aggregates`` updates an eval JSON dict in place with plain dict assignment, so existing keys keep their
position and new keys are appended in DCLM's order: re-aggregating a stored DCLM file leaves its layout unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from dclm_resources.evaluation.meta import (
    CORE_GROUP,
    CURRENT_VERSION,
    VERSIONS,
    TaskTable,
    load_aggregation_groups,
    load_task_table,
)

NA_PREFIX = "N/A due to missing tasks: "


class EvalJsonError(ValueError):
    """An eval JSON lacks what aggregation needs (``eval_metrics.icl``) or holds a non-numeric score."""


def centered_accuracy(accuracy: float, random_baseline_pct: float) -> float:
    """DCLM's centered accuracy: 0 at chance, 1 at perfect; the baseline is given in percent as in the CSV."""
    baseline = 0.01 * random_baseline_pct
    return (accuracy - baseline) / (1.0 - baseline)


def _pairwise_sum(values: list[float]) -> float:
    """NumPy's pairwise summation order (8 interleaved accumulators, halving above 128 values).

    Why not ``sum()``: DCLM's means come from pandas, which sums with NumPy; following the same order makes our
    aggregates bit-identical to DCLM's, not merely close, so re-aggregating a stored file reproduces it byte for byte.
    """
    n = len(values)
    if n < 8:
        total = -0.0
        for value in values:
            total += value
        return total
    if n <= 128:
        acc = values[:8]
        i = 8
        while i < n - n % 8:
            for j in range(8):
                acc[j] += values[i + j]
            i += 8
        total = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
        for value in values[i:]:
            total += value
        return total
    half = n // 2
    half -= half % 8
    return _pairwise_sum(values[:half]) + _pairwise_sum(values[half:])


def _nan_mean(values: Iterable[float]) -> float:
    """pandas ``Series.mean``: NaN skipped (summed as 0 in place), divided by the count; NaN when none is left."""
    items = list(values)
    count = sum(1 for v in items if not math.isnan(v))
    if not count:
        return math.nan
    return _pairwise_sum([0.0 if math.isnan(v) else v for v in items]) / count


def _group_nan_mean(values: Iterable[float]) -> float:
    """pandas ``groupby(...).mean()``: Kahan-compensated running sum over the non-NaN values, in row order."""
    total = compensation = 0.0
    count = 0
    for value in values:
        if math.isnan(value):
            continue
        count += 1
        adjusted = value - compensation
        running = total + adjusted
        compensation = (running - total) - adjusted
        total = running
    return total / count if count else math.nan


def _score(value: Any, task: str, source: str) -> float:
    """A task score as float; ``None`` is NaN (as pandas maps it), numbers and numeric strings are accepted."""
    if value is None:
        return math.nan
    if isinstance(value, bool):
        raise EvalJsonError(f"{source}: eval_metrics.icl.{task} is a boolean, not a score: {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise EvalJsonError(f"{source}: eval_metrics.icl.{task} is not a number: {value!r}") from None


def icl_scores(data: Any, source: str = "eval JSON") -> Mapping[str, Any]:
    """``data["eval_metrics"]["icl"]``, with an error naming ``source`` when the structure is not there."""
    if not isinstance(data, dict):
        raise EvalJsonError(f"{source}: an eval JSON must be a JSON object, got {type(data).__name__}")
    metrics = data.get("eval_metrics")
    if not isinstance(metrics, dict):
        raise EvalJsonError(f"{source}: no 'eval_metrics' object (is this a DCLM eval JSON?)")
    icl = metrics.get("icl")
    if not isinstance(icl, dict):
        raise EvalJsonError(f"{source}: no 'eval_metrics.icl' object with per-task scores")
    return icl


def _check_version(version: str) -> None:
    if version not in VERSIONS:
        raise ValueError(f"unknown eval version {version!r}; choose one of {list(VERSIONS)}")


def compute_aggregates(
    icl: Mapping[str, Any],
    version: str = CURRENT_VERSION,
    table: TaskTable | None = None,
    groups: Mapping[str, list[str]] | None = None,
    source: str = "eval JSON",
) -> dict[str, Any]:
    """The aggregate keys DCLM derives from per-task scores, in the order DCLM assigns them.

    Returns ``missing tasks``, ``aggregated_task_categories_centered``, ``aggregated_centered_results``,
    ``aggregated_results``, ``<group>`` / ``<group>_centered`` per group, then ``Core_<version>`` (when the groups
    define Core) and ``Extended_<version>``. ``eval_version`` and the unversioned keys are ``apply_aggregates``' job.
    """
    _check_version(version)
    table = table if table is not None else load_task_table()
    groups = groups if groups is not None else load_aggregation_groups()

    raw: dict[str, float] = {}
    centered: dict[str, float] = {}
    missing: list[str] = []
    for task in table:
        if task.name not in icl:
            missing.append(task.name)
            raw[task.name] = centered[task.name] = math.nan
            continue
        accuracy = _score(icl[task.name], task.name, source)
        raw[task.name] = accuracy
        centered[task.name] = centered_accuracy(accuracy, task.random_baseline(version))

    out: dict[str, Any] = {"missing tasks": str(missing)}
    out["aggregated_task_categories_centered"] = {
        category: _group_nan_mean(centered[t.name] for t in table if t.category == category)
        for category in table.categories()
    }
    out["aggregated_centered_results"] = _nan_mean(centered.values())
    out["aggregated_results"] = _nan_mean(raw.values())
    for key, members in groups.items():
        wanted = set(members)
        names = [t.name for t in table if t.name in wanted]
        out[key] = _nan_mean(raw[n] for n in names)
        out[f"{key}_centered"] = _nan_mean(centered[n] for n in names)

    if CORE_GROUP in groups:
        # DCLM names Core's missing tasks in the group's own order and checks them against icl, not the table.
        missing_core = [task for task in groups[CORE_GROUP] if task not in icl]
        out[f"Core_{version}"] = NA_PREFIX + str(missing_core) if missing_core else out[f"{CORE_GROUP}_centered"]
    out[f"Extended_{version}"] = (
        NA_PREFIX + out["missing tasks"] if missing else out["aggregated_centered_results"]
    )
    return out


def apply_aggregates(
    data: dict[str, Any],
    version: str = CURRENT_VERSION,
    table: TaskTable | None = None,
    groups: Mapping[str, list[str]] | None = None,
    source: str = "eval JSON",
) -> dict[str, Any]:
    """Recompute every aggregate of an eval JSON dict in place (DCLM's ``get_aggregated_results``); returns it."""
    icl = icl_scores(data, source)
    data.update(compute_aggregates(icl, version, table, groups, source))
    data["eval_version"] = version
    if version == CURRENT_VERSION:
        # Files from before baselines were versioned carry v1 numbers under the bare names.
        for bare in ("Core", "Extended"):
            legacy = f"{bare}_v1"
            if bare in data and legacy not in data:
                data[legacy] = data.pop(bare)
    for bare in ("Core", "Extended"):
        current = f"{bare}_{CURRENT_VERSION}"
        if current in data:
            data[bare] = data[current]
    return data
