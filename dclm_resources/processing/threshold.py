"""Quality thresholds chosen by fraction: keep the top ``keep_fraction`` of pages by a score (global step).

DCLM-Baseline keeps pages whose fastText score is ``>= 0.018112``, a cut chosen as "about the top 10%" of its
pool; DCLM's README promises a percentile option that never shipped. ``keep_fraction_filter`` computes the cut
from the dataset's own scores and then filters exactly as ``quality_filter`` does:

- phase 1 (one Ray task per shard) reads every page's ``key`` into a float64 array;
- the driver sorts them: with ``N`` pages in all and ``k = ceil(keep_fraction * N)`` (a 1e-9 slack absorbs
  float noise such as ``0.7 * 10``), the threshold is the k-th best score (highest; lowest with ``lower_better``);
- phase 2 (one task per shard) keeps pages with ``score >= threshold`` (``<=`` with ``lower_better``).

Ties: every page scoring exactly the threshold is kept (``>=`` like ``quality_filter``), so the kept count is
``k`` when scores are distinct and can exceed it when the k-th score is shared (never falls below it).
Pages without the key (or with a NaN score) rank below every score, as ``quality_filter`` with
``key_must_exist=False`` treats them (-inf, +inf with ``lower_better``); they count in ``N`` but are never kept,
and are counted as ``pages_missing_key``. If fewer than ``k`` pages have a score, all scored pages are kept; with
none, nothing is kept and the threshold is None. A non-numeric score fails, naming ``file:line``.

The driver holds 8 bytes per scored page between the phases. The threshold also goes to
``<output_dir>/_keep_fraction.json`` so an asset can report it after a resumed run.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import yaml

from dclm_resources.compute import map_tasks
from dclm_resources.processing.registry import global_step
from dclm_resources.storage import (
    Storage,
    basename,
    iter_jsonl_lines,
    join_uri,
    parse_jsonl_line,
    read_jsonl,
    write_jsonl,
)

STEP = "keep_fraction_filter"
RECORD_FILE = "_keep_fraction.json"
_EPS = 1e-9


def _score(page: dict[str, Any], key: str, where: str) -> float:
    """The page's score; NaN for a missing key or a NaN value (both rank last)."""
    if key not in page:
        return math.nan
    value = page[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{where}: {STEP} key {key!r} must be a number, got {type(value).__name__}")
    return float(value)


def _read_scores(uri: str, key: str, storage: Storage) -> np.ndarray:
    """Phase 1: every page's score in file order (NaN where unscored)."""
    scores = [
        _score(parse_jsonl_line(uri, n, raw), key, f"{uri}:{n}") for n, raw in iter_jsonl_lines(uri, storage)
    ]
    return np.asarray(scores, dtype=np.float64)


def pages_to_keep(total: int, keep_fraction: float) -> int:
    """``ceil(keep_fraction * total)``, robust to float noise (0.7 * 10 keeps 7, not 8)."""
    return min(total, math.ceil(keep_fraction * total - _EPS))


def fraction_threshold(scores: np.ndarray, keep_fraction: float, lower_better: bool = False) -> float | None:
    """The k-th best score of ``scores`` (NaN = unscored, counted in N, never kept); None if nothing is scored."""
    valid = scores[~np.isnan(scores)]
    if valid.size == 0:
        return None
    k = max(1, min(pages_to_keep(scores.size, keep_fraction), valid.size))
    if lower_better:
        return float(np.partition(valid, k - 1)[k - 1])
    return float(np.partition(valid, valid.size - k)[valid.size - k])


def _keep(score: float, threshold: float | None, lower_better: bool) -> bool:
    if threshold is None or math.isnan(score):
        return False
    return score <= threshold if lower_better else score >= threshold


def _rewrite(
    job: tuple[str, str], key: str, threshold: float | None, lower_better: bool, storage: Storage
) -> dict[str, int]:
    """Phase 2: write the shard's kept pages (an empty shard is still written)."""
    uri, out_uri = job
    counts = {"pages_in": 0, "pages_missing_key": 0}

    def kept():
        for n, raw in iter_jsonl_lines(uri, storage):
            page = parse_jsonl_line(uri, n, raw)
            counts["pages_in"] += 1
            score = _score(page, key, f"{uri}:{n}")
            if math.isnan(score):
                counts["pages_missing_key"] += 1
            if _keep(score, threshold, lower_better):
                yield page

    counts["pages_out"] = write_jsonl(kept(), out_uri, storage)
    return counts


@global_step(STEP)
def keep_fraction_filter(
    inputs: list[str],
    output_dir: str,
    storage: Storage,
    *,
    key: str = "fasttext_hq_prob",
    keep_fraction: float,
    lower_better: bool = False,
) -> dict[str, dict[str, Any]]:
    """Keep the best ``keep_fraction`` of all pages by ``page[key]`` (see the module docstring for the rules).

    Returns per input: pages_in, pages_out, threshold, keep_fraction, key, pages_missing_key.
    """
    if (
        isinstance(keep_fraction, bool)
        or not isinstance(keep_fraction, (int, float))
        or not 0 < keep_fraction <= 1
    ):
        raise ValueError(f"{STEP}: keep_fraction must be a number in (0, 1], got {keep_fraction!r}")
    inputs = list(inputs)
    outs = [join_uri(output_dir, basename(u)) for u in inputs]
    if len(set(outs)) != len(outs):
        raise ValueError(f"{STEP}: input file names must be unique (outputs would collide)")
    scores = map_tasks(_read_scores, inputs, desc=f"{STEP}: scores", extra_args=(key, storage))
    joined = np.concatenate(scores) if scores else np.zeros(0)
    threshold = fraction_threshold(joined, float(keep_fraction), lower_better)
    stats = map_tasks(
        _rewrite,
        list(zip(inputs, outs, strict=True)),
        desc=f"{STEP}: filter",
        extra_args=(key, threshold, lower_better, storage),
    )
    common = {"threshold": threshold, "keep_fraction": keep_fraction, "key": key}
    kept = sum(s["pages_out"] for s in stats)
    record = {
        **common,
        "lower_better": lower_better,
        "pages_in": int(joined.size),
        "pages_out": kept,
        "pages_missing_key": int(np.isnan(joined).sum()),
        "target_pages": pages_to_keep(joined.size, keep_fraction),
    }
    storage.write_text(join_uri(output_dir, RECORD_FILE), json.dumps(record, indent=2) + "\n")
    return {u: {**s, **common} for u, s in zip(inputs, stats, strict=True)}


def read_keep_fraction_record(base_output: str, storage: Storage) -> dict[str, Any] | None:
    """The threshold record of the run in ``base_output`` (found via its ``global_stats.jsonl``); None if absent."""
    rows_uri = join_uri(base_output, "global_stats.jsonl")
    if not storage.exists(rows_uri):
        return None
    for row in read_jsonl(rows_uri, storage):
        if row.get("name") == STEP and row.get("working_dir"):
            uri = join_uri(row["working_dir"], RECORD_FILE)
            if storage.exists(uri):
                return json.loads(storage.read_text(uri))
    return None


def with_keep_fraction(
    config_path: str,
    source_name: str,
    keep_fraction: float,
    storage: Storage,
    output_uri: str,
    key: str | None = None,
) -> str:
    """Write a copy of a pipeline YAML whose ``quality_filter`` step is ``keep_fraction_filter``; return its URI.

    The replacement keeps the step's ``key`` (``quality_filter``'s default when unset) and ``lower_better``;
    ``threshold``, ``key_must_exist`` and ``_aggregate`` are dropped (pages without the key are never kept; a
    global step has no per-page aggregates). With ``key``, only
    the ``quality_filter`` on that key is replaced; otherwise the source must have exactly one. Other sources and
    steps are copied unchanged.
    """
    if not 0 < keep_fraction <= 1:
        raise ValueError(f"keep_fraction must be in (0, 1], got {keep_fraction!r}")
    data = yaml.safe_load(storage.read_text(config_path))
    entries = (
        [e for e in data if isinstance(e, dict) and e.get("source") == source_name]
        if isinstance(data, list)
        else []
    )
    if len(entries) != 1:
        raise ValueError(
            f"{config_path}: expected one pipeline for source {source_name!r}, found {len(entries)}"
        )
    steps = entries[0].get("steps") or []
    matches = [
        i
        for i, step in enumerate(steps)
        if isinstance(step, dict)
        and step.get("func") == "quality_filter"
        and (key is None or step.get("key", "fasttext_hq_prob") == key)
    ]
    if len(matches) != 1:
        which = f"on key {key!r}" if key else "(pass key= to choose one)"
        raise ValueError(
            f"{config_path}: source {source_name!r} has {len(matches)} quality_filter steps {which}; "
            "keep_fraction replaces exactly one"
        )
    old = steps[matches[0]]
    new = {"func": STEP, "key": old.get("key", "fasttext_hq_prob"), "keep_fraction": float(keep_fraction)}
    if old.get("lower_better"):
        new["lower_better"] = True
    steps[matches[0]] = new
    header = (
        f"# {basename(config_path)} with quality_filter replaced by {STEP} (keep_fraction={keep_fraction})\n"
    )
    storage.write_text(output_uri, header + yaml.safe_dump(data, sort_keys=False))
    return output_uri
