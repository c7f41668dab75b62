"""JSONL shards (one page per line, optionally .gz / .zst): streaming read and atomic write.

Why streaming: DCLM shards run to gigabytes; pages are read line by line through a streaming decompressor and
written through a streaming compressor, never held whole in memory. Why strict errors: a bad line must name
``file:line`` so a researcher can find it, and a truncated archive must fail loudly instead of losing its tail.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from dclm_resources.storage.compression import (
    DECOMPRESSION_ERRORS,
    codec_for,
    open_compressed_writer,
    open_decompressed,
)
from dclm_resources.storage.store import Storage

JSONL_SUFFIXES: tuple[str, ...] = (".jsonl", ".jsonl.gz", ".jsonl.zst", ".jsonl.zstd")
WRITE_BATCH_BYTES = 1 << 20
_BOM = b"\xef\xbb\xbf"
_JSON_TYPE_NAMES = {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}


class JsonlFormatError(ValueError):
    """A JSONL file holds something that is not one JSON object per line; ``str()`` reads ``file:line: reason``.

    Args are ``(uri, line_no, reason)`` so the error pickles across Ray workers unchanged.
    """

    def __init__(self, uri: str, line_no: int, reason: str) -> None:
        super().__init__(uri, line_no, reason)
        self.uri = uri
        self.line_no = line_no
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.uri}:{self.line_no}: {self.reason}"


def iter_jsonl_lines(uri: str, storage: Storage | None = None) -> Iterator[tuple[int, bytes]]:
    """Yield ``(line_no, raw_line)`` for each non-blank line (1-based numbers, newline stripped).

    Decompression failures (corrupt or truncated .gz / .zst) raise JsonlFormatError at the line reached. Lines
    are not parsed here, so a quarantine step can keep the raw bytes of a bad line.
    """
    codec = codec_for(uri) or "plain"
    line_no = 0
    with open_decompressed(uri, storage) as fh:
        lines = iter(fh)
        while True:
            try:
                raw = next(lines)
            except StopIteration:
                return
            except DECOMPRESSION_ERRORS as exc:
                raise JsonlFormatError(
                    uri, line_no + 1, f"corrupt or truncated {codec} stream: {exc}"
                ) from exc
            line_no += 1
            if line_no == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM) :]
            line = raw.rstrip(b"\r\n")
            if line.strip():
                yield line_no, line


def parse_jsonl_line(uri: str, line_no: int, raw: bytes) -> dict[str, Any]:
    """Decode one line into a dict, raising JsonlFormatError (naming ``uri:line_no``) for anything else."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JsonlFormatError(uri, line_no, f"invalid UTF-8 at byte {exc.start}") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise JsonlFormatError(uri, line_no, f"invalid JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:
        raise JsonlFormatError(uri, line_no, "invalid JSON: nested too deeply") from None
    if not isinstance(value, dict):
        kind = "null" if value is None else _JSON_TYPE_NAMES.get(type(value), type(value).__name__)
        raise JsonlFormatError(uri, line_no, f"expected a JSON object, got {kind}")
    return value


def read_jsonl(uri: str, storage: Storage | None = None) -> Iterator[dict[str, Any]]:
    """Stream the pages of one JSONL shard (.jsonl, .jsonl.gz, .jsonl.zst/.zstd); blank lines skipped."""
    for line_no, raw in iter_jsonl_lines(uri, storage):
        yield parse_jsonl_line(uri, line_no, raw)


def _encode_page(page: dict[str, Any]) -> bytes:
    """One JSON line; text stays readable UTF-8, with lone surrogates escaped (lossless) rather than lost."""
    try:
        return (json.dumps(page, ensure_ascii=False) + "\n").encode("utf-8")
    except UnicodeEncodeError:
        return (json.dumps(page, ensure_ascii=True) + "\n").encode("ascii")


def write_jsonl(pages: Iterable[dict[str, Any]], uri: str, storage: Storage | None = None) -> int:
    """Atomically write ``pages`` to ``uri`` (compressed by extension), one object per line; returns the count.

    ``pages`` may be any iterable, including a generator: it is consumed once, in bounded batches. If it
    raises, nothing is written at ``uri`` (an existing file stays as it was).
    """
    count = 0
    batch: list[bytes] = []
    batch_bytes = 0
    with open_compressed_writer(uri, storage) as fh:
        for page in pages:
            if not isinstance(page, dict):
                raise TypeError(f"write_jsonl({uri}): item {count} is {type(page).__name__}, expected dict")
            line = _encode_page(page)
            batch.append(line)
            batch_bytes += len(line)
            count += 1
            if batch_bytes >= WRITE_BATCH_BYTES:
                fh.write(b"".join(batch))
                batch.clear()
                batch_bytes = 0
        if batch:
            fh.write(b"".join(batch))
    return count
