"""DCLM's published model table (``assets/DCLM_model_database.csv``) as leaderboard rows.

Column mapping: ``Dataset`` -> dataset, ``model``/``params``/``tokens`` as they are, ``Core``/``Extended``
(DCLM's published values), ``mmlu_fewshot`` -> MMLU, ``_filename`` (else ``Model JSON``) -> eval file,
``creation_date`` -> created, ``model_uuid``. The scale is not a column there: it is named from params and
tokens with DCLM's scale table (400m, 1b, 3b, 7b at a Chinchilla multiple of 20 tokens per parameter).

Version: the CSV's ``Core``/``Extended`` are the v1 aggregates (they equal the stored eval JSONs' ``Core_v1``),
while our reports are v2. Give a ``rescore`` function (``default_rescorer()`` uses our DCLM aggregation) to
recompute v2 from the CSV's per-task accuracies so both sources are on one scale; otherwise the rows say v1.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Mapping
from typing import Any

import polars as pl

from dclm_resources.leaderboard.collect import LeaderboardError, number, parse_creation_date
from dclm_resources.storage import Storage

# DCLM's scale table (dclm.md §5.3): model size label -> parameter count.
DCLM_MODEL_SIZES = {"400m": 411_616_256, "1b": 1_439_795_200, "3b": 2_795_932_160, "7b": 6_889_410_560}
TOKENS_PER_PARAM = 20
REQUIRED_COLUMNS = ("Dataset", "model", "params", "tokens", "Core", "Extended")
Rescorer = Callable[[Mapping[str, float]], tuple[float | None, float | None, str]]


def scale_label(params: int | None, tokens: int | None) -> str | None:
    """DCLM's scale name for a (params, tokens) pair: ``1b-1x``, ``7b-2x``, ``1b-1.2x``; None if off the table."""
    if not params or not tokens:
        return None
    size = min(DCLM_MODEL_SIZES, key=lambda k: abs(math.log(params / DCLM_MODEL_SIZES[k])))
    if abs(params / DCLM_MODEL_SIZES[size] - 1) > 0.1:
        return None
    multiple = tokens / (TOKENS_PER_PARAM * DCLM_MODEL_SIZES[size])
    return f"{size}-{round(multiple, 1):g}x"


def default_rescorer(version: str = "v2") -> Rescorer | None:
    """Core/Extended from per-task accuracies with our DCLM aggregation; None if that engine is not installed."""
    try:
        from dclm_resources.evaluation.aggregation import compute_aggregates
    except ImportError:
        return None

    def rescore(icl: Mapping[str, float]) -> tuple[float | None, float | None, str]:
        out = compute_aggregates(icl, version=version)
        return number(out.get(f"Core_{version}")), number(out.get(f"Extended_{version}")), version

    return rescore


def _task_scores(row: Mapping[str, Any], skip: set[str]) -> dict[str, float]:
    scores = {}
    for key, value in row.items():
        if key in skip or "." in key:
            continue
        num = number(value)
        if num is not None:
            scores[key] = num
    return scores


def load_dclm_table(uri: str, storage: Storage, rescore: Rescorer | None = None) -> list[dict[str, Any]]:
    """Rows (the leaderboard schema, source "dclm") from DCLM's CSV at ``uri``."""
    try:
        frame = pl.read_csv(io.BytesIO(storage.read_bytes(uri)), infer_schema_length=None)
    except pl.exceptions.PolarsError as err:
        raise LeaderboardError(f"{uri}: not a readable CSV ({err})") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise LeaderboardError(f"{uri}: columns {missing} are missing; is this DCLM_model_database.csv?")
    meta = {"Model JSON", "Dataset", "model", "params", "tokens", "Core", "Extended", "name", "creation_date",
            "model_uuid", "_filename", "missing tasks", "dataset_uuid", "tokenizer"}
    rows = []
    for line, row in enumerate(frame.iter_rows(named=True), start=2):
        params = _int(row.get("params"), uri, line, "params")
        tokens = _int(row.get("tokens"), uri, line, "tokens")
        core, extended, version = number(row.get("Core")), number(row.get("Extended")), "v1"
        if rescore is not None:
            core, extended, version = rescore(_task_scores(row, meta))
        rows.append({
            "source": "dclm",
            "dataset": row.get("Dataset"),
            "scale": scale_label(params, tokens),
            "model": row.get("model"),
            "params": params,
            "tokens": tokens,
            "Core": core,
            "Extended": extended,
            "MMLU": number(row.get("mmlu_fewshot")),
            "core_version": version,
            "perplexity": number(row.get("eval_metrics.perplexity")),
            "eval_suite": str(row["name"]).rstrip("/").rsplit("/", 1)[-1] if row.get("name") else None,
            "eval_file": row.get("_filename") or row.get("Model JSON"),
            "model_uuid": row.get("model_uuid"),
            "created": parse_creation_date(row.get("creation_date")),
        })
    return rows


def _int(value: Any, uri: str, line: int, column: str) -> int | None:
    if value is None:
        return None
    num = number(value)
    if num is None or num != int(num):
        raise LeaderboardError(f"{uri}:{line}: column {column!r} must be a whole number")
    return int(num)
