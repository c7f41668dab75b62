"""Outcome records written beside the manifests, so a submitter sees what happened without access to Dagster.

``<submissions>/rejected/<manifest file>.json`` holds the reasons of a reject, ``<submissions>/accepted/<manifest
file>.json`` what was registered and launched. Both are small JSON objects written atomically; the folder names
start with a letter, so the manifest listing (top level only) never mistakes them for manifests.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any

from dclm_resources.storage import Storage, join_uri

REJECTED_DIR = "rejected"
ACCEPTED_DIR = "accepted"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.=+-]")


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def record_file_name(manifest_key: str) -> str:
    """``alice.yaml`` -> ``alice.yaml.json``; odd characters become '_' and hidden-looking names get a prefix."""
    safe = _UNSAFE.sub("_", manifest_key)[:200] or "manifest"
    if safe[0] in "._":
        safe = "m" + safe
    return f"{safe}.json"


def reject_record_uri(root: str, manifest_key: str) -> str:
    return join_uri(root, REJECTED_DIR, record_file_name(manifest_key))


def accept_record_uri(root: str, manifest_key: str) -> str:
    return join_uri(root, ACCEPTED_DIR, record_file_name(manifest_key))


def write_reject(
    root: str,
    storage: Storage,
    manifest_key: str,
    manifest_uri: str,
    reasons: list[str],
    sha256: str,
    name: str | None = None,
) -> str:
    record = {
        "status": "rejected",
        "manifest": manifest_key,
        "manifest_uri": manifest_uri,
        "name": name,
        "reasons": reasons,
        "sha256": sha256,
        "time": now_iso(),
    }
    uri = reject_record_uri(root, manifest_key)
    storage.write_text(uri, json.dumps(record, indent=2) + "\n")
    return uri


def write_accept(root: str, storage: Storage, manifest_key: str, record: dict[str, Any]) -> str:
    uri = accept_record_uri(root, manifest_key)
    storage.write_text(uri, json.dumps({"status": "accepted", **record, "time": now_iso()}, indent=2) + "\n")
    return uri


def clear_reject(root: str, storage: Storage, manifest_key: str) -> None:
    """A fixed manifest was accepted: its stale reject record would only confuse."""
    storage.delete(reject_record_uri(root, manifest_key), missing_ok=True)
