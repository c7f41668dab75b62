"""Collect our eval reports (DCLM eval JSONs) and the model reference JSONs they belong to, one row per report.

Why a pattern with placeholders instead of a bare glob: our layout already says which scale and dataset a report
is for (``evals/<scale>/<dataset>/<suite>.json``), and reading that from the path keeps the row right even when a
model reference is missing. The same pattern language finds model references (``training/{scale}/{dataset}/...``).

Linking a report to its model: the eval JSON's ``model_uuid`` equals the model reference's ``uuid`` (DCLM's
expdb rule); failing that, the one model reference found for the same (scale, dataset).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from dclm_resources.storage import Storage, StorageError, StorageNotFoundError, join_uri

DEFAULT_EVAL_PATTERN = "evals/{scale}/{dataset}/*.json"
DEFAULT_MODEL_PATTERNS = ("training/{scale}/{dataset}/**/*.json",)
MAX_JSON_BYTES = 8 * 1024 * 1024
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class LeaderboardError(ValueError):
    """An input the leaderboard cannot use; the message names the file and the key."""


@dataclass(frozen=True)
class PathPattern:
    """``evals/{scale}/{dataset}/*.json``: literal segments, ``*`` within a segment, ``**`` across segments."""

    pattern: str
    prefix: str = field(init=False)
    regex: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        parts = [p for p in self.pattern.split("/") if p]
        if not parts or any(p in (".", "..") for p in parts) or self.pattern.startswith("/") or ":" in self.pattern:
            raise LeaderboardError(f"pattern {self.pattern!r}: give a relative pattern such as {DEFAULT_EVAL_PATTERN}")
        fixed = 0
        while fixed < len(parts) - 1 and not any(c in parts[fixed] for c in "*{"):
            fixed += 1
        object.__setattr__(self, "prefix", "/".join(parts[:fixed]))
        pieces: list[str] = []
        for i, part in enumerate(parts[fixed:]):
            last = fixed + i == len(parts) - 1
            if part == "**":
                pieces.append("(?:[^/]+/)*")
                continue
            pieces.append(_segment_regex(part) + ("" if last else "/"))
        object.__setattr__(self, "regex", re.compile("^" + "".join(pieces) + "$"))

    def match(self, relpath: str) -> dict[str, str] | None:
        found = self.regex.match(relpath)
        return found.groupdict() if found else None


def _segment_regex(part: str) -> str:
    out: list[str] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(part):
        out.append(_literal(part[pos : m.start()]))
        out.append(f"(?P<{m.group(1)}>[^/]+)")
        pos = m.end()
    out.append(_literal(part[pos:]))
    return "".join(out)


def _literal(text: str) -> str:
    return "[^/]*".join(re.escape(chunk) for chunk in text.split("*"))


def find_files(root: str, pattern: str, storage: Storage) -> list[tuple[str, dict[str, str]]]:
    """Files under ``root`` matching ``pattern``, with the placeholder values of each, sorted by URI."""
    compiled = PathPattern(pattern)
    base = join_uri(root, compiled.prefix) if compiled.prefix else root
    try:
        infos = storage.list_files(base, suffixes=None, recursive=True)
    except StorageNotFoundError:
        return []
    out = []
    for info in infos:
        rel = info.uri[len(base.rstrip("/")) + 1 :]
        values = compiled.match(rel)
        if values is not None:
            out.append((info.uri, values))
    return out


def read_json_object(uri: str, storage: Storage) -> dict[str, Any]:
    with storage.open_read(uri) as fh:
        data = fh.read(MAX_JSON_BYTES + 1)
    if len(data) > MAX_JSON_BYTES:
        raise LeaderboardError(f"{uri}: larger than {MAX_JSON_BYTES} bytes; not an eval or model JSON")
    try:
        record = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise LeaderboardError(f"{uri}: not valid UTF-8 at byte {err.start}") from None
    except json.JSONDecodeError as err:
        raise LeaderboardError(f"{uri}:{err.lineno}: not valid JSON ({err.msg})") from None
    if not isinstance(record, dict):
        raise LeaderboardError(f"{uri}: expected a JSON object")
    return record


def number(value: Any) -> float | None:
    """A finite number, or None (DCLM writes "N/A due to missing tasks: [...]" strings in place of scores)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if value == value and value not in (float("inf"), float("-inf")) else None


def integer(value: Any) -> int | None:
    num = number(value)
    return int(num) if num is not None and num == int(num) else None


def parse_creation_date(value: Any) -> datetime | None:
    """DCLM's ``2024_06_01-17_24_57`` (UTC), or an ISO timestamp; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    for fmt in ("%Y_%m_%d-%H_%M_%S",):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            pass
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


@dataclass
class ModelIndex:
    """Model reference JSONs by uuid and by (scale, dataset)."""

    by_uuid: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_place: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)

    def find(self, uuid: Any, scale: str | None, dataset: str | None) -> dict[str, Any] | None:
        if isinstance(uuid, str) and uuid in self.by_uuid:
            return self.by_uuid[uuid]
        candidates = self.by_place.get((scale or "", dataset or ""), [])
        return candidates[0] if len(candidates) == 1 else None


def index_models(root: str, patterns: tuple[str, ...], storage: Storage, problems: list[str]) -> ModelIndex:
    """Every JSON matching ``patterns`` that looks like a DCLM model reference (``uuid`` + ``hyperparameters``)."""
    index = ModelIndex()
    for pattern in patterns:
        for uri, values in find_files(root, pattern, storage):
            if not uri.endswith(".json"):
                continue
            try:
                record = read_json_object(uri, storage)
            except (LeaderboardError, StorageError) as err:
                problems.append(str(err))
                continue
            if not isinstance(record.get("hyperparameters"), dict) or not isinstance(record.get("uuid"), str):
                continue
            record = {**record, "_uri": uri}
            index.by_uuid[record["uuid"]] = record
            place = (values.get("scale", ""), values.get("dataset", ""))
            index.by_place.setdefault(place, []).append(record)
    return index


def eval_row(uri: str, data: dict[str, Any], values: dict[str, str], model: dict[str, Any] | None) -> dict[str, Any]:
    """One leaderboard row (columns of ``table.SCHEMA``) from an eval JSON and its model reference."""
    metrics = data.get("eval_metrics")
    if not isinstance(metrics, dict):
        raise LeaderboardError(f"{uri}: key 'eval_metrics' is missing or not an object")
    icl = metrics.get("icl") if isinstance(metrics.get("icl"), dict) else {}
    versioned = "Core_v2" in data or "Extended_v2" in data
    hyper = (model or {}).get("hyperparameters") or {}
    params = integer(hyper.get("params")) or integer(data.get("params"))
    tokens = integer(hyper.get("tokens")) or integer(data.get("tokens"))
    suite = data.get("name")
    return {
        "source": "ours",
        "dataset": (model or {}).get("dataset_name") or values.get("dataset") or data.get("dataset_name"),
        "scale": values.get("scale") or data.get("scale"),
        "model": data.get("model") if isinstance(data.get("model"), str) else None,
        "params": params,
        "tokens": tokens,
        "Core": number(data.get("Core_v2" if versioned else "Core")),
        "Extended": number(data.get("Extended_v2" if versioned else "Extended")),
        "MMLU": number(icl.get("mmlu_fewshot")),
        "core_version": "v2" if versioned else str(data.get("eval_version") or "v1"),
        "perplexity": number(metrics.get("perplexity")),
        "eval_suite": suite.rstrip("/").rsplit("/", 1)[-1] if isinstance(suite, str) and suite else None,
        "eval_file": uri,
        "model_uuid": data.get("model_uuid") if isinstance(data.get("model_uuid"), str) else None,
        "created": parse_creation_date(data.get("creation_date")),
    }


def collect_eval_rows(
    root: str,
    storage: Storage,
    eval_pattern: str = DEFAULT_EVAL_PATTERN,
    model_patterns: tuple[str, ...] = DEFAULT_MODEL_PATTERNS,
    strict: bool = False,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows for every eval JSON under ``root`` matching ``eval_pattern``; and the problems met.

    A broken report is skipped and named in the problems (one bad file must not hide the others) unless
    ``strict``, where it raises LeaderboardError.
    """
    problems: list[str] = []
    models = index_models(root, model_patterns, storage, problems)
    rows: list[dict[str, Any]] = []
    for uri, values in find_files(root, eval_pattern, storage):
        try:
            data = read_json_object(uri, storage)
            model = models.find(data.get("model_uuid"), values.get("scale"), values.get("dataset"))
            rows.append(eval_row(uri, data, values, model))
        except (LeaderboardError, StorageError) as err:
            if strict:
                raise LeaderboardError(str(err)) from None
            problems.append(str(err))
    return rows, problems
