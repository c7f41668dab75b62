"""What the trainer reads: a tokenized dataset given as a manifest, its folder, or DCLM's reference JSON.

open_lm's manifest mode (``open_lm.md`` §3.2) trains from ``manifest.jsonl`` lines ``{"shard", "num_sequences"}``
beside the tars. DCLM passes the tokenized-dataset reference JSON (``dclm.md`` §5.4) whose ``manifest_url`` points
at that manifest and whose ``tokenizer`` names the tokenizer. Why resolve all three spellings here: the CLI, the
asset and tests hand over whatever they have, and one place turns it into the shard list with counts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from dclm_resources.storage import (
    Storage,
    StorageNotFoundError,
    basename,
    iter_jsonl_lines,
    join_uri,
    parent_uri,
    parse_jsonl_line,
)

MANIFEST_NAME = "manifest.jsonl"
SUPPORTED_DATA_KEYS = ("json.gz", "json")


class DataError(ValueError):
    """The training data is unusable; the message names the file (and line or sample) at fault."""


@dataclass(frozen=True)
class ShardEntry:
    """One manifest line: the tar's name (no ``.tar``), its URI, its context count and the manifest line."""

    name: str
    uri: str
    num_sequences: int
    line: int


@dataclass(frozen=True)
class DataSource:
    """A resolved training dataset: shards in manifest order plus what the reference JSON says about them."""

    manifest_uri: str
    shards: tuple[ShardEntry, ...]
    dataset_name: str
    dataset_uuid: str | None = None
    tokenizer: str | None = None
    tokenizer_path: str | None = None
    reference_uri: str | None = None
    data_key: str = "json.gz"

    @property
    def num_sequences(self) -> int:
        return sum(s.num_sequences for s in self.shards)


def read_manifest(manifest_uri: str, storage: Storage) -> list[ShardEntry]:
    """Parse ``manifest.jsonl``; a bad line raises DataError reading ``<manifest>:<line>: <reason>``.

    ``num_chunks`` is accepted for ``num_sequences`` as open_lm does. Shards live beside the manifest.
    """
    root = parent_uri(manifest_uri)
    entries: list[ShardEntry] = []
    seen: dict[str, int] = {}
    try:
        for line_no, raw in iter_jsonl_lines(manifest_uri, storage):
            row = parse_jsonl_line(manifest_uri, line_no, raw)
            shard = row.get("shard")
            count = row.get("num_sequences", row.get("num_chunks"))
            if not isinstance(shard, str) or not shard:
                raise DataError(f"{manifest_uri}:{line_no}: missing or empty \"shard\" name")
            if "/" in shard or "\\" in shard or shard.startswith(".") or any(ord(c) < 32 for c in shard):
                # Shards live beside the manifest: a path in the name could reach files outside that prefix.
                raise DataError(f"{manifest_uri}:{line_no}: shard name {shard!r} must be a plain file name")
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise DataError(
                    f"{manifest_uri}:{line_no}: \"num_sequences\" must be a non-negative integer, got {count!r}"
                )
            if shard in seen:
                raise DataError(f"{manifest_uri}:{line_no}: shard {shard!r} already listed on line {seen[shard]}")
            seen[shard] = line_no
            name = shard[: -len(".tar")] if shard.endswith(".tar") else shard
            entries.append(ShardEntry(name, join_uri(root, name + ".tar"), count, line_no))
    except StorageNotFoundError as exc:
        raise DataError(f"manifest not found: {manifest_uri}") from exc
    except ValueError as exc:  # JsonlFormatError already reads file:line
        if isinstance(exc, DataError):
            raise
        raise DataError(str(exc)) from exc
    if not entries:
        raise DataError(f"{manifest_uri}: the manifest lists no shards")
    if not any(e.num_sequences for e in entries):
        raise DataError(f"{manifest_uri}: every shard has num_sequences 0")
    return entries


def check_shards_exist(source: DataSource, storage: Storage) -> None:
    """Fail before training when a manifest shard has no tar (one listing, not one request per shard)."""
    root = parent_uri(source.manifest_uri)
    present = {info.uri.rsplit("/", 1)[-1] for info in storage.list_files(root, suffixes=(".tar",), recursive=False)}
    missing = [s for s in source.shards if s.uri.rsplit("/", 1)[-1] not in present]
    if missing:
        first = missing[0]
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise DataError(
            f"{source.manifest_uri}:{first.line}: shard {first.name!r} is missing: no file {first.uri}{more}"
        )


def _load_reference(uri: str, storage: Storage) -> dict[str, Any]:
    try:
        data = json.loads(storage.read_text(uri))
    except json.JSONDecodeError as exc:
        raise DataError(f"{uri}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise DataError(f"{uri}: expected a JSON object (DCLM tokenized-dataset reference)")
    return data


def resolve_data(data: str, storage: Storage | None = None, check_files: bool = True) -> DataSource:
    """Turn ``--data`` (manifest.jsonl, its folder, or a tokenized-dataset reference JSON) into a DataSource."""
    storage = storage or Storage()
    reference: dict[str, Any] = {}
    reference_uri: str | None = None
    if data.endswith(".json"):
        if not storage.exists(data):
            raise DataError(f"dataset reference not found: {data}")
        reference_uri = data
        reference = _load_reference(data, storage)
        manifest_uri = reference.get("manifest_url")
        if not isinstance(manifest_uri, str) or not manifest_uri:
            raise DataError(f"{data}: key \"manifest_url\" is missing (is this a tokenized-dataset reference?)")
        if reference.get("tokenized") is False:
            raise DataError(f"{data}: \"tokenized\" is false; train on a tokenized dataset's reference JSON")
    elif data.endswith(".jsonl"):
        manifest_uri = data
    else:
        manifest_uri = join_uri(data, MANIFEST_NAME)
    data_key = str(reference.get("data_key") or "json.gz")
    if data_key not in SUPPORTED_DATA_KEYS:
        raise DataError(f"{reference_uri}: data_key {data_key!r} is not supported (use one of {SUPPORTED_DATA_KEYS})")
    shards = read_manifest(manifest_uri, storage)
    default_name = basename(parent_uri(manifest_uri)) or "dataset"
    source = DataSource(
        manifest_uri=manifest_uri,
        shards=tuple(shards),
        dataset_name=str(reference.get("name") or default_name),
        dataset_uuid=reference.get("uuid"),
        tokenizer=reference.get("tokenizer"),
        tokenizer_path=reference.get("tokenizer_path"),
        reference_uri=reference_uri,
        data_key=data_key,
    )
    if check_files:
        check_shards_exist(source, storage)
    return source
