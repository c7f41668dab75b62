"""DCLM raw-source reference JSONs (``exp_data/datasets/raw_sources/*.json``): read the shard list, write ours.

DCLM's records vary: ``dataset_urls`` (a list of shard URIs) or ``dataset_url`` (one prefix or file), with
``sources`` sometimes a list and sometimes a string. Relative entries resolve against the JSON's folder.
"""

from __future__ import annotations

import json
import posixpath
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dclm_resources.storage import Storage, is_s3

REFERENCE_NAMESPACE = uuid.UUID("6b1f4a4e-2f61-4a52-9c55-2b3b0d1c7a10")


class ReferenceError(ValueError):
    """A raw-source reference JSON that cannot be used; the message names the file and key."""


def _resolve(entry: str, ref_uri: str) -> str:
    if is_s3(entry) or entry.startswith("/"):
        return entry
    if is_s3(ref_uri):
        bucket_and_key = ref_uri[len("s3://") :]
        return "s3://" + posixpath.normpath(posixpath.join(posixpath.dirname(bucket_and_key), entry))
    return str((Path(ref_uri).parent / entry).resolve())


def read_reference_inputs(ref_uri: str, storage: Storage) -> tuple[dict[str, Any], list[str]]:
    """Return the record and its input URIs (shards, WARCs or prefixes), in the record's order."""
    try:
        record = json.loads(storage.read_text(ref_uri))
    except json.JSONDecodeError as err:
        raise ReferenceError(f"{ref_uri}:{err.lineno}: not valid JSON ({err.msg})") from None
    if not isinstance(record, dict):
        raise ReferenceError(f"{ref_uri}: a raw-source reference must be a JSON object")
    urls = record.get("dataset_urls")
    if urls is not None:
        if not isinstance(urls, list) or not all(isinstance(u, str) and u for u in urls):
            raise ReferenceError(f"{ref_uri}: key 'dataset_urls' must be a list of non-empty strings")
        return record, [_resolve(u, ref_uri) for u in urls]
    url = record.get("dataset_url")
    if isinstance(url, str) and url:
        return record, [_resolve(url, ref_uri)]
    raise ReferenceError(f"{ref_uri}: needs 'dataset_urls' (list) or 'dataset_url' (string)")


def make_reference(
    name: str, source: str, dataset_url: str, shards: list[str], size: int, extra: dict[str, Any]
) -> dict[str, Any]:
    """A record with DCLM's raw-source keys; the uuid is stable for the same name and shard list."""
    ident = uuid.uuid5(REFERENCE_NAMESPACE, json.dumps([name, shards]))
    return {
        "uuid": str(ident),
        "name": name,
        "creation_date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
        "dataset_url": dataset_url,
        "manifest_url": None,
        "sources": source,
        "tokenized": False,
        "tokenizer": None,
        "num_tokens": None,
        "size": size,
        "dataset_urls": shards,
        "data_key": "jsonl",
        "dcnlp_commit_hash": "",
        "dcnlp_diff": "",
        **extra,
    }
