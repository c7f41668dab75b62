"""DCLM's eval JSON: build it from per-task scores, read and write it, and pull out the leaderboard numbers.

The file is the one ``eval/eval_openlm_ckpt.py`` writes and ``exp_data/evals/`` collects (``dclm.md`` §5.4, §6.1),
so our results can sit next to DCLM's: ``uuid, model, creation_date (US/Pacific, %Y_%m_%d-%H_%M_%S), name,
eval_metrics {perplexity, downstream_perpexity (sic), icl}``, then the aggregates of ``aggregation.py``, then
``eval_version`` and ``model_uuid``. Like every stored DCLM eval JSON, it carries both ``Core_v1``/``Extended_v1``
and ``Core_v2``/``Extended_v2`` (the README reports both); the category aggregates follow ``version``.
Files are written as DCLM writes them (``json.dump(..., indent=4)``; NaN stays NaN for a category without scores).
"""

from __future__ import annotations

import json
import math
import uuid as uuid_lib
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dclm_resources.evaluation.aggregation import EvalJsonError, compute_aggregates
from dclm_resources.evaluation.meta import CURRENT_VERSION, VERSIONS, TaskTable, load_task_table
from dclm_resources.storage import Storage

DATE_FORMAT = "%Y_%m_%d-%H_%M_%S"


def creation_date(now: datetime | None = None) -> str:
    """DCLM's timestamp: US/Pacific wall time as ``%Y_%m_%d-%H_%M_%S`` (UTC if the zone database is absent)."""
    moment = now or datetime.now(tz=timezone.utc)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        moment = moment.astimezone(ZoneInfo("US/Pacific"))
    except ZoneInfoNotFoundError:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime(DATE_FORMAT)


def build_eval_json(
    model: str,
    suite_name: str,
    icl: Mapping[str, float],
    perplexity: float | None,
    downstream_perplexity: Mapping[str, float] | None = None,
    model_uuid: str | None = None,
    version: str = CURRENT_VERSION,
    *,
    eval_uuid: str | None = None,
    created: str | None = None,
    table: TaskTable | None = None,
    groups: Mapping[str, list[str]] | None = None,
) -> dict[str, Any]:
    """A complete DCLM eval JSON for one model and suite.

    ``suite_name`` becomes ``name`` (a ``.yaml`` suffix is dropped, as DCLM stores the YAML path without it).
    ``perplexity`` is the validation *loss*, as DCLM stores it; None leaves the key out, as DCLM's
    ``--donot-compute-perplexity`` does, and likewise for ``downstream_perplexity``.
    """
    if version not in VERSIONS:
        raise ValueError(f"unknown eval version {version!r}; choose one of {list(VERSIONS)}")
    table = table if table is not None else load_task_table()
    metrics: dict[str, Any] = {}
    if perplexity is not None:
        metrics["perplexity"] = float(perplexity)
    if downstream_perplexity is not None:
        metrics["downstream_perpexity"] = {k: float(v) for k, v in downstream_perplexity.items()}
    metrics["icl"] = {k: float(v) for k, v in icl.items()}
    name = suite_name[:-5] if suite_name.endswith(".yaml") else suite_name
    data: dict[str, Any] = {
        "uuid": eval_uuid or str(uuid_lib.uuid4()),
        "model": model,
        "creation_date": created or creation_date(),
        "name": name,
        "eval_metrics": metrics,
    }
    main = compute_aggregates(metrics["icl"], version, table, groups, source=f"eval of {model}")
    per_version = {version: main}
    for other in VERSIONS:
        if other != version:
            per_version[other] = compute_aggregates(metrics["icl"], other, table, groups, source=f"eval of {model}")
    headline_keys = {f"{bare}_{v}" for bare in ("Core", "Extended") for v in VERSIONS}
    data.update({key: value for key, value in main.items() if key not in headline_keys})
    current = per_version[CURRENT_VERSION]
    data["Core"] = current.get(f"Core_{CURRENT_VERSION}")
    data["Extended"] = current[f"Extended_{CURRENT_VERSION}"]
    for v in VERSIONS:
        data[f"Core_{v}"] = per_version[v].get(f"Core_{v}")
        data[f"Extended_{v}"] = per_version[v][f"Extended_{v}"]
    data["eval_version"] = version
    data["model_uuid"] = model_uuid
    return data


def dumps_eval_json(data: Mapping[str, Any]) -> str:
    """The text DCLM writes: 4-space indent, key order kept, no trailing newline."""
    return json.dumps(data, indent=4)


def read_eval_json(uri: str, storage: Storage | None = None) -> dict[str, Any]:
    """Load an eval JSON (local path or s3://); errors name the file and the JSON error position."""
    text = (storage or Storage()).read_text(uri)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EvalJsonError(f"{uri}: line {exc.lineno} column {exc.colno}: not valid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise EvalJsonError(f"{uri}: an eval JSON must be a JSON object, got {type(data).__name__}")
    return data


def write_eval_json(uri: str, data: Mapping[str, Any], storage: Storage | None = None) -> None:
    """Atomically write an eval JSON (temp file + rename locally, single PUT on S3)."""
    (storage or Storage()).write_text(uri, dumps_eval_json(data))


def _number(value: Any) -> float | str | None:
    """A headline value: a float, DCLM's N/A string, or None when absent."""
    if value is None or isinstance(value, str):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def headline(eval_json: Mapping[str, Any]) -> dict[str, float | str | None]:
    """The leaderboard columns: ``Core``, ``Extended`` (centered, v2) and ``MMLU``.

    MMLU is the raw 5-shot ``mmlu_fewshot`` accuracy (what DCLM's leaderboard and ``eval/submit.py`` report),
    falling back to ``mmlu_zeroshot`` for suites without the 5-shot task (``light``, ``medium``).
    """
    icl = (eval_json.get("eval_metrics") or {}).get("icl") or {}
    mmlu = icl.get("mmlu_fewshot", icl.get("mmlu_zeroshot"))
    return {
        "Core": _number(eval_json.get("Core", eval_json.get(f"Core_{CURRENT_VERSION}"))),
        "Extended": _number(eval_json.get("Extended", eval_json.get(f"Extended_{CURRENT_VERSION}"))),
        "MMLU": _number(mmlu),
    }


def category_centered(eval_json: Mapping[str, Any]) -> dict[str, float]:
    """Mean centered accuracy per task category, for a bar chart; categories with no scored task are left out."""
    categories = eval_json.get("aggregated_task_categories_centered") or {}
    out = {}
    for category, value in categories.items():
        number = _number(value)
        if isinstance(number, float) and math.isfinite(number):
            out[category] = number
    return out
