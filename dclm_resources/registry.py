"""Registered datasets: a name (the ``dataset`` partition key) and the source its raw pool is built from.

The CLI and the submissions sensor register; the ``raw_pool`` asset looks the source up. One small JSON per
dataset keeps registration atomic and diff-able.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from dclm_resources.layout import Layout, check_dataset_name
from dclm_resources.storage import Storage

BUILTIN_SAMPLE = "builtin:sample"
DEMO_DATASET = "sample"


def register_dataset(layout: Layout, storage: Storage, name: str, source: str, **extra: Any) -> dict[str, Any]:
    check_dataset_name(name)
    if not source:
        raise ValueError(f"dataset {name!r}: a source is required (path, s3:// prefix, reference JSON or {BUILTIN_SAMPLE})")
    record = {
        "name": name,
        "source": source,
        "registered": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **extra,
    }
    storage.write_text(layout.registry_file(name), json.dumps(record, indent=2) + "\n")
    return record


def registered_record(layout: Layout, storage: Storage, name: str) -> dict[str, Any] | None:
    """The whole registration (source, and for submissions pipeline / source_name / tokenized ...), if any."""
    path = layout.registry_file(name)
    if not storage.exists(path):
        return None
    try:
        record = json.loads(storage.read_text(path))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}:{err.lineno}: dataset registration is not valid JSON ({err.msg})") from None
    if not isinstance(record, dict):
        raise ValueError(f"{path}: dataset registration must be a JSON object")
    return record


def registered_source(layout: Layout, storage: Storage, name: str) -> str | None:
    record = registered_record(layout, storage, name)
    if record is None:
        return None
    path = layout.registry_file(name)
    source = record.get("source")
    if not isinstance(source, str) or not source:
        raise ValueError(f"{path}: key 'source' must be a non-empty string")
    return source


def resolve_source(layout: Layout, storage: Storage, name: str, configured: str = "") -> str:
    """Config wins, then the registry; the demo dataset falls back to the embedded sample pool."""
    if configured:
        return configured
    source = registered_source(layout, storage, name)
    if source:
        return source
    if name == DEMO_DATASET:
        return BUILTIN_SAMPLE
    raise ValueError(
        f"dataset {name!r} has no source: pass one in the raw_pool config (key 'source'), "
        f"or register it with `dclm raw-pool --dataset {name} --source PATH_OR_URI`"
    )
