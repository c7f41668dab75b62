"""Step aggregations (``_aggregate:`` in a pipeline YAML) and their per-value transforms, as DCLM's ``aggregators``.

Results are plain Python numbers (numpy scalars converted) so the stats line can be written as JSON directly;
they compare equal to DCLM's numpy values.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from dclm_resources.processing.registry import aggregator, transform

_PERCENTILE_KEYS = ("min", "max", "median", "p25", "p75", "p90", "p95", "p99")
_PERCENTILES = (0.0, 100.0, 50.0, 25.0, 75.0, 90.0, 95.0, 99.0)


@aggregator
def percentiles(values: list[Any]) -> dict[str, Any]:
    """min/max/median/p25/p75/p90/p95/p99 by numpy's 'nearest' method (always an observed value), plus mean.

    TypeError unless ``values`` is a list; IndexError on an empty list (as DCLM with numpy raises).
    """
    if not isinstance(values, list):
        raise TypeError("Values must be a list.")
    if not values:
        raise IndexError("percentiles of an empty list")
    points = np.percentile(values, _PERCENTILES, method="nearest")
    result: dict[str, Any] = {key: point.item() for key, point in zip(_PERCENTILE_KEYS, points, strict=True)}
    result["mean"] = np.mean(values).item()
    return result


@aggregator
def histogram(values: list[Any]) -> dict[Any, int]:
    """Counts per value for strings (a Counter); else 10 equal-width bins as ``{left bin edge: count}``.

    The last (right) edge is not a key, as in DCLM. IndexError on an empty list, TypeError on a non-sequence.
    """
    if isinstance(values[0], str):
        return Counter(values)
    counts, edges = np.histogram(values, bins=10)
    return {edge.item(): count.item() for edge, count in zip(edges[:-1], counts, strict=True)}


@transform
def threshold_transform(weighted_values: dict[str, float], threshold: float, default: str = "unknown") -> str:
    """The highest-weighted key among those weighing at least ``threshold``; ``default`` when none does.

    On equal weights the first such key in dict order wins (``max`` semantics, as DCLM).
    """
    kept = {k: v for k, v in weighted_values.items() if v >= threshold}
    if not kept:
        return default
    return max(kept, key=kept.__getitem__)
