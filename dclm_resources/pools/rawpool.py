"""Build a raw pool from a source: resolve inputs, extract WARCs, scan shards, write the reference JSON.

A source is one of: ``builtin:sample`` (the embedded pool), a DCLM raw-source reference JSON, a local folder
or ``s3://`` prefix of JSONL shards and/or WARC files, or one such file. JSONL shards are used in place (a raw
pool is never copied); WARC files are extracted to JSONL first. Every shard is scanned once, one Ray task per
shard, to count pages and bytes and to keep a small sample for the UI.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from dclm_resources.compute import map_tasks
from dclm_resources.layout import Layout
from dclm_resources.pools.reference import make_reference, read_reference_inputs
from dclm_resources.pools.sample import SamplePoolSpec, build_sample_pool
from dclm_resources.pools.warc import WarcExtractionStats, extract_warc
from dclm_resources.registry import BUILTIN_SAMPLE
from dclm_resources.storage import (
    JSONL_SUFFIXES,
    JsonlFormatError,
    Storage,
    iter_jsonl_lines,
    parse_jsonl_line,
)

WARC_SUFFIXES = (".warc", ".warc.gz", ".wet", ".wet.gz")
SAMPLE_TEXT_CHARS = 400


class SourceError(ValueError):
    """A source that names nothing usable; the message says what was looked at."""


@dataclass
class ShardScan:
    uri: str
    pages: int = 0
    bytes: int = 0
    text_chars: int = 0
    invalid_lines: int = 0
    errors: list[str] = field(default_factory=list)
    sample: list[dict[str, Any]] = field(default_factory=list)

    def note_invalid(self, message: str) -> None:
        self.invalid_lines += 1
        if len(self.errors) < 5:
            self.errors.append(message)


@dataclass
class RawPool:
    name: str
    source: str
    reference_uri: str
    shards: list[ShardScan]
    warc: WarcExtractionStats | None = None

    @property
    def pages(self) -> int:
        return sum(s.pages for s in self.shards)

    @property
    def bytes(self) -> int:
        return sum(s.bytes for s in self.shards)

    @property
    def invalid_lines(self) -> int:
        return sum(s.invalid_lines for s in self.shards)

    def sample(self, k: int = 5) -> list[dict[str, Any]]:
        """Up to ``k`` pages, taken round-robin across shards so one shard does not fill the sample."""
        out: list[dict[str, Any]] = []
        depth = 0
        while len(out) < k and any(depth < len(s.sample) for s in self.shards):
            out.extend(s.sample[depth] for s in self.shards if depth < len(s.sample))
            depth += 1
        return out[:k]


def _is_jsonl(uri: str) -> bool:
    return uri.endswith(JSONL_SUFFIXES)


def _is_warc(uri: str) -> bool:
    return uri.endswith(WARC_SUFFIXES)


def resolve_inputs(source: str, storage: Storage, skipped: list[str] | None = None) -> list[str]:
    """Expand a source into its input files (JSONL shards and WARC files), sorted within each folder.

    Other files in a listed folder (``.txt``, ``.parquet``, ...) are not inputs; when ``skipped`` is given, their
    URIs are appended to it so the caller can report them instead of dropping them silently.
    """
    entries = read_reference_inputs(source, storage)[1] if source.endswith(".json") else [source]
    inputs: list[str] = []
    for entry in entries:
        if _is_jsonl(entry) or _is_warc(entry):
            inputs.append(entry)
            continue
        listed = [f.uri for f in storage.list_files(entry)]
        found = [u for u in listed if _is_jsonl(u) or _is_warc(u)]
        if skipped is not None:
            skipped.extend(u for u in listed if not (_is_jsonl(u) or _is_warc(u)))
        if not found:
            raise SourceError(
                f"{entry}: no raw-pool inputs found (expected {', '.join(JSONL_SUFFIXES + WARC_SUFFIXES)} files)"
            )
        inputs.extend(found)
    return inputs


def scan_shard(uri: str, storage: Storage, sample_size: int = 3) -> ShardScan:
    """Count pages in one shard without holding it in memory; bad lines and a broken stream are counted."""
    scan = ShardScan(uri=uri, bytes=storage.size(uri))
    try:
        for line_no, raw in iter_jsonl_lines(uri, storage):
            try:
                page = parse_jsonl_line(uri, line_no, raw)
                if not isinstance(page.get("text"), str):
                    raise JsonlFormatError(uri, line_no, "key 'text' is missing or not a string")
            except JsonlFormatError as err:
                scan.note_invalid(str(err))
                continue
            scan.pages += 1
            scan.text_chars += len(page["text"])
            if len(scan.sample) < sample_size:
                scan.sample.append(_sample_view(page))
    except JsonlFormatError as err:  # corrupt or truncated compression: what was read so far still counts
        scan.note_invalid(str(err))
    return scan


def _sample_view(page: dict[str, Any]) -> dict[str, Any]:
    metadata = page.get("metadata") if isinstance(page.get("metadata"), dict) else {}
    url = page.get("url") or metadata.get("WARC-Target-URI", "")
    text = page["text"]
    return {"url": url, "chars": len(text), "text": text[:SAMPLE_TEXT_CHARS]}


def _extract_one(warc_uri: str, output_prefix: str, storage: Storage) -> WarcExtractionStats:
    return extract_warc(warc_uri, output_prefix, storage)


def build_raw_pool(
    name: str,
    source: str,
    layout: Layout,
    storage: Storage,
    sample_spec: SamplePoolSpec | None = None,
    progress: bool = True,
) -> RawPool:
    """Materialize the raw pool ``name`` from ``source`` and write its DCLM raw-source reference JSON."""
    warc_stats: WarcExtractionStats | None = None
    if source == BUILTIN_SAMPLE:
        built = build_sample_pool(layout.sample_pool_dir(name), sample_spec or SamplePoolSpec(), storage)
        shards = list(built.shards)
        dataset_url = layout.sample_pool_dir(name)
    else:
        inputs = resolve_inputs(source, storage)
        shards = [u for u in inputs if _is_jsonl(u)]
        warcs = [u for u in inputs if _is_warc(u)]
        dataset_url = source
        if warcs:
            out = layout.extracted_dir(name)
            per_file = map_tasks(
                _extract_one, warcs, desc="extract WARC", extra_args=(out, storage), progress=progress
            )
            warc_stats = WarcExtractionStats()
            for stats in per_file:
                warc_stats = warc_stats.merge(stats)
            shards.extend(warc_stats.outputs)
    if not shards:
        raise SourceError(f"{source}: produced no JSONL shards (see the WARC errors, if any)")
    scans = map_tasks(scan_shard, shards, desc="scan shards", extra_args=(storage,), progress=progress)
    pool = RawPool(name=name, source=source, reference_uri=layout.raw_pool_reference(name), shards=scans,
                   warc=warc_stats)
    extra: dict[str, Any] = {"num_pages": pool.pages, "num_shards": len(scans), "invalid_lines": pool.invalid_lines}
    if warc_stats is not None:
        extra["warc_extraction"] = asdict(warc_stats)
    reference = make_reference(name, source, dataset_url, [s.uri for s in scans], pool.bytes, extra)
    storage.write_text(pool.reference_uri, json.dumps(reference, indent=2) + "\n")
    return pool
