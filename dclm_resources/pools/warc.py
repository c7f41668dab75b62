"""WARC/WET -> raw-pool JSONL extraction (DCLM's ``tools/commoncrawl/process_common_crawl_w_ray.py``).

Every HTTP ``response`` record with an HTML payload becomes one DCLM-Pool page::

    {"text": extract_plain_text(html, main_content=True), "url": <WARC-Target-URI without <...>>,
     "metadata": {<every WARC header>: str}, "warcinfo": <payload of the latest warcinfo record>}

WET files work too: a ``conversion`` record's payload already is the page text. ``warcinfo`` is left out when
the file has no warcinfo record before the page.

Error policy (why: one corrupt object in a crawl of thousands must not lose the other files' pages, as DCLM's
``--allow_errors`` intends, yet nothing may be dropped silently):

* a stream that is not a WARC at all (empty, garbage, ARC, gzip of something else) raises
  :class:`WarcFormatError` from :func:`iter_warc_pages`; :func:`extract_warc` catches it, writes nothing and
  counts the file in ``files_failed`` with an error string naming it. ARC files are rejected this way:
  fastwarc parses WARC only.
* breakage inside a WARC (truncated gzip member, truncated record, garbage between records) stops the file:
  the pages before it are kept, the breakage is counted in ``records_failed`` and described in ``errors``
  (file name, record number and stream offset). A truncated record itself is dropped, never emitted half.
* a single bad record (unparseable HTTP headers, extraction error) is skipped and counted; reading goes on.
* exceptions raised by the input stream itself (storage / network I/O) propagate: they are not data damage and
  the caller may retry.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, BinaryIO

from fastwarc.stream_io import BrotliReader, ChunkedReader
from fastwarc.warc import ArchiveIterator, WarcRecord, WarcRecordType
from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.encoding import bytes_to_str, detect_encoding

from dclm_resources.pools.warc_sniff import (
    SNIFF_BYTES,
    SniffedStream,
    WarcFormatError,
    check_head,
    decompressed_head,
    read_prefix,
)
from dclm_resources.storage import write_jsonl

if TYPE_CHECKING:
    from dclm_resources.storage import Storage

__all__ = [
    "HTML_CONTENT_TYPES",
    "MAX_ERRORS",
    "WarcExtractionStats",
    "WarcFormatError",
    "extract_warc",
    "iter_warc_pages",
    "warc_output_stem",
]

HTML_CONTENT_TYPES = frozenset(
    {"text/html", "application/xhtml+xml", "application/vnd.wap.xhtml+xml", "text/xhtml", "application/xhtml"}
)
MAX_ERRORS = 1000  # error strings kept per stats object; counts stay exact beyond it
_WARC_SUFFIX_RE = re.compile(r"(\.warc)?(\.wet|\.wat)?(\.gz|\.zst|\.zstd|\.lz4)?$", re.IGNORECASE)


@dataclass
class WarcExtractionStats:
    """Counts of one or more extracted WARC files; :meth:`merge` adds two of them up.

    ``files`` counts every input seen, including those in ``files_skipped`` (output already committed by an
    earlier run) and ``files_failed`` (not a WARC). ``responses`` counts page candidates: HTTP ``response``
    records, and ``conversion`` records of WET files. ``outputs`` lists the JSONL shards written (or found,
    when skipped). ``errors`` keeps at most :data:`MAX_ERRORS` messages; the counts are always exact.
    """

    files: int = 0
    records_read: int = 0
    responses: int = 0
    pages_written: int = 0
    skipped_empty: int = 0
    skipped_non_html: int = 0
    records_failed: int = 0
    errors: list[str] = field(default_factory=list)
    files_skipped: int = 0
    files_failed: int = 0
    outputs: list[str] = field(default_factory=list)

    def merge(self, other: WarcExtractionStats) -> WarcExtractionStats:
        """A new stats object with both sides added (neither input is modified)."""
        merged: dict[str, Any] = {}
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            merged[f.name] = [*mine, *theirs] if isinstance(mine, list) else mine + theirs
        merged["errors"] = merged["errors"][:MAX_ERRORS]
        return WarcExtractionStats(**merged)

    def add_error(self, message: str) -> None:
        """Record an error message (bounded; the caller bumps the matching counter)."""
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(message)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (for Dagster metadata and the resume marker)."""
        return {f.name: list(getattr(self, f.name)) if f.name in ("errors", "outputs") else getattr(self, f.name)
                for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WarcExtractionStats:
        """Inverse of :meth:`to_dict`; unknown keys are ignored so old markers stay readable."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def _strip_angle_brackets(uri: str) -> str:
    uri = uri.strip()
    if len(uri) >= 2 and uri[0] == "<" and uri[-1] == ">":
        return uri[1:-1].strip()
    return uri


def _decode_transfer_and_content(record: WarcRecord, raw: bytes) -> bytes:
    """Undo HTTP chunking and gzip/deflate/br content coding; keep the bytes as they are where that fails.

    Why lenient: archives often store the decoded body but keep the original headers (ClueWeb says gzip and
    stores plain HTML), so a failed decode means "already decoded", not a broken record.
    """
    headers = record.http_headers
    if headers is None:
        return raw
    body = raw
    if "chunked" in (headers.get("Transfer-Encoding") or "").lower():
        try:
            body = ChunkedReader(io.BytesIO(raw)).read()
        except OSError:
            body = raw
    coding = (headers.get("Content-Encoding") or "").strip().lower()
    if coding in ("gzip", "x-gzip", "deflate"):
        try:
            inflater = zlib.decompressobj(wbits=47)  # gzip or zlib header, auto-detected
            decoded = inflater.decompress(body)
        except zlib.error:
            if coding != "deflate":
                return body
            try:
                decoded = zlib.decompressobj(wbits=-15).decompress(body)  # raw deflate
            except zlib.error:
                return body
        return decoded
    if coding == "br":
        try:
            return BrotliReader(io.BytesIO(body)).read()
        except OSError:
            return body
    return body


def _is_html(record: WarcRecord, body: bytes) -> bool:
    content_type = record.http_content_type or record.headers.get("WARC-Identified-Payload-Type") or ""
    content_type = content_type.split(";", 1)[0].strip().lower()
    if content_type:
        return content_type in HTML_CONTENT_TYPES
    head = body[:1024].lstrip().lower()
    return head.startswith(b"<") and (b"<html" in head or b"<!doctype html" in head)


def _html_to_text(record: WarcRecord, body: bytes) -> str:
    encoding = record.http_charset or detect_encoding(body, from_html_meta=True)
    html = bytes_to_str(body, encoding)
    return extract_plain_text(html, main_content=True).strip()


def _page(record: WarcRecord, text: str, warcinfo: str | None) -> dict[str, Any]:
    metadata = {str(k): str(v) for k, v in record.headers.items()}
    page: dict[str, Any] = {
        "text": text,
        "url": _strip_angle_brackets(metadata.get("WARC-Target-URI", "")),
        "metadata": metadata,
    }
    if warcinfo:
        page["warcinfo"] = warcinfo
    return page


def iter_warc_pages(
    stream: BinaryIO, source_name: str, stats: WarcExtractionStats
) -> Iterator[dict[str, Any]]:
    """Yield the pages of one WARC/WET stream (plain, gzip or zstd), counting into ``stats`` as it goes.

    Pure: it reads ``stream`` and nothing else, so it runs the same on a local file, an S3 body or bytes in
    memory. ``source_name`` only labels error messages. See the module docstring for the error policy; a
    non-WARC stream raises :class:`WarcFormatError` before any page.
    """
    stats.files += 1
    prefix = read_prefix(stream, SNIFF_BYTES)
    if not prefix:
        raise WarcFormatError(f"{source_name}: not a WARC file: it is empty")
    head = decompressed_head(prefix, source_name)
    lf_only = check_head(head, source_name) if head is not None else False
    wrapped = SniffedStream(prefix, stream)
    # Strict parsing reports damage; quirks mode would resync past it silently, so it is only used for files
    # whose header lines end in bare LF (hand-made WET samples), which strict mode cannot read at all.
    records = ArchiveIterator(wrapped, parse_http=False, quirks_mode=lf_only)
    warcinfo: str | None = None
    number = 0
    last_offset = 0
    while True:
        try:
            record = next(records)
        except StopIteration:
            break
        except Exception as exc:
            if wrapped.inner_error is not None:
                raise wrapped.inner_error from None
            if number == 0:
                raise WarcFormatError(f"{source_name}: not a readable WARC file: {exc}") from exc
            stats.records_failed += 1
            stats.add_error(f"{source_name}: stream broken after record #{number} (offset {last_offset}): "
                            f"{type(exc).__name__}: {exc}; stopped reading (earlier pages kept)")
            return
        number += 1
        last_offset = record.stream_pos
        stats.records_read += 1
        if number == 1 and record.record_type == WarcRecordType.unknown and not record.headers.get("WARC-Type"):
            raise WarcFormatError(f"{source_name}: not a readable WARC file: first record has no WARC-Type")
        try:
            page, warcinfo = _handle_record(record, stats, warcinfo)
        except _Truncated as exc:
            stats.records_failed += 1
            stats.add_error(f"{source_name}: record #{number} at offset {record.stream_pos} "
                            f"({record.record_type}) is truncated ({exc}); dropped")
            continue
        except Exception as exc:
            if wrapped.inner_error is not None:
                raise wrapped.inner_error from None
            stats.records_failed += 1
            stats.add_error(f"{source_name}: record #{number} at offset {record.stream_pos} "
                            f"({record.record_type}) skipped: {type(exc).__name__}: {exc}")
            continue
        if page is not None:
            stats.pages_written += 1
            yield page


def _handle_record(
    record: WarcRecord, stats: WarcExtractionStats, warcinfo: str | None
) -> tuple[dict[str, Any] | None, str | None]:
    """Turn one record into a page (or None) and return the warcinfo in force after it."""
    rtype = record.record_type
    wanted = rtype in (WarcRecordType.response, WarcRecordType.conversion, WarcRecordType.warcinfo)
    expected = record.content_length
    if wanted:
        record.freeze()  # the whole block in memory, so truncation shows before anything is parsed
        got = record.content_length
    else:
        got = record.consume()
    if got < expected:
        raise _Truncated(f"{got} of {expected} content bytes present")
    if rtype == WarcRecordType.warcinfo:
        payload = record.reader.read()
        return None, bytes_to_str(payload, "utf-8").strip() or None
    if rtype == WarcRecordType.conversion:
        stats.responses += 1
        text = bytes_to_str(record.reader.read(), "utf-8").strip()
        if not text:
            stats.skipped_empty += 1
            return None, warcinfo
        return _page(record, text, warcinfo), warcinfo
    if rtype != WarcRecordType.response:
        return None, warcinfo
    stats.responses += 1
    if not record.is_http:
        stats.skipped_non_html += 1
        return None, warcinfo
    record.parse_http(quirks_mode=True)
    body = _decode_transfer_and_content(record, record.reader.read())
    if not _is_html(record, body):
        stats.skipped_non_html += 1
        return None, warcinfo
    text = _html_to_text(record, body)
    if not text:
        stats.skipped_empty += 1
        return None, warcinfo
    return _page(record, text, warcinfo), warcinfo


class _Truncated(Exception):
    """A record whose block ends early; internal, reported through ``stats.errors``."""


# --------------------------------------------------------------------------------------------------------------
# One file -> JSONL shard(s) on storage
# --------------------------------------------------------------------------------------------------------------


def warc_output_stem(input_uri: str) -> str:
    """``<basename without .warc[.wet][.gz]>_<md5(input_uri)[:7]>``: DCLM's name, unique per input URI."""
    name = input_uri.rstrip("/").rsplit("/", 1)[-1]
    stem = _WARC_SUFFIX_RE.sub("", name) or name
    return f"{stem}_{hashlib.md5(input_uri.encode('utf-8')).hexdigest()[:7]}"


def _marker_uri(output_prefix: str, stem: str) -> str:
    # Under a '_' folder so shard listings (which skip hidden names) never see it.
    return f"{output_prefix.rstrip('/')}/_check/{stem}.stat.json"


def extract_warc(
    input_uri: str,
    output_prefix: str,
    storage: Storage,
    documents_per_jsonl: int = 0,
    skip_existing: bool = True,
) -> WarcExtractionStats:
    """Extract one WARC/WET file into ``<output_prefix>/<stem>.jsonl.gz`` (or ``<stem>_<i>.jsonl.gz`` parts).

    Streaming: pages flow from the reader into ``write_jsonl`` one at a time; with ``documents_per_jsonl > 0``
    each part holds at most that many pages (parts numbered from 1, as DCLM). Each shard is committed
    atomically, then a small marker (``<output_prefix>/_check/<stem>.stat.json``, the stats as JSON) says the
    file is complete. With ``skip_existing`` a rerun returns at once (``files_skipped == 1``, ``outputs`` as
    before) when the marker exists for the same ``documents_per_jsonl`` and its shards still exist, or, for
    single-shard output without a marker, when the shard exists. A file with no pages writes no shard. A
    non-WARC input is counted in ``files_failed`` (nothing written, no marker, so a rerun tries again).
    """
    stem = warc_output_stem(input_uri)
    prefix = output_prefix.rstrip("/")
    single_uri = f"{prefix}/{stem}.jsonl.gz"
    marker = _marker_uri(prefix, stem)
    if skip_existing:
        skipped = _already_done(storage, marker, single_uri, documents_per_jsonl)
        if skipped is not None:
            return skipped

    stats = WarcExtractionStats()
    with storage.open_read(input_uri) as stream:
        pages = iter_warc_pages(stream, input_uri, stats)
        try:
            first = next(pages, None)
        except WarcFormatError as exc:
            stats.files_failed += 1
            stats.add_error(str(exc))
            return stats
        if first is not None:
            if documents_per_jsonl <= 0:
                write_jsonl(_chain_first(first, pages), single_uri, storage)
                stats.outputs.append(single_uri)
            else:
                part = 1
                while first is not None:
                    part_uri = f"{prefix}/{stem}_{part}.jsonl.gz"
                    write_jsonl(_take(first, pages, documents_per_jsonl), part_uri, storage)
                    stats.outputs.append(part_uri)
                    first = next(pages, None)
                    part += 1
    storage.write_text(marker, json.dumps({**stats.to_dict(), "documents_per_jsonl": documents_per_jsonl}) + "\n")
    return stats


def _already_done(
    storage: Storage, marker: str, single_uri: str, documents_per_jsonl: int
) -> WarcExtractionStats | None:
    """Stats for a skipped file, or None when it must be (re)extracted.

    A marker counts only if it was written with the same split setting and its shards are all still there.
    """
    if storage.exists(marker):
        try:
            done = json.loads(storage.read_text(marker))
            previous = WarcExtractionStats.from_dict(done)
        except (ValueError, TypeError):
            done, previous = {}, None
        if (
            previous is not None
            and done.get("documents_per_jsonl") == documents_per_jsonl
            and all(storage.exists(uri) for uri in previous.outputs)
        ):
            return WarcExtractionStats(files=1, files_skipped=1, outputs=list(previous.outputs))
        return None
    if documents_per_jsonl <= 0 and storage.exists(single_uri):
        return WarcExtractionStats(files=1, files_skipped=1, outputs=[single_uri])
    return None


def _chain_first(first: dict[str, Any], rest: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    yield first
    yield from rest


def _take(first: dict[str, Any], rest: Iterator[dict[str, Any]], n: int) -> Iterable[dict[str, Any]]:
    """``first`` plus up to ``n - 1`` more pages from ``rest``, lazily (the generator is shared across parts)."""
    yield first
    for _ in range(n - 1):
        page = next(rest, None)
        if page is None:
            return
        yield page
