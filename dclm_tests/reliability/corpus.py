"""Bad input files, generated from real C4 pages: one file per kind, with what a run must make of it.

Every broken compressed file is two frames / members: the first is whole (its pages must still be read), the
second is broken at a known place, so the expected "pages read, then an error at line N" is exact. Corruption is
made deterministic: a zstd block header of the reserved type 3, a deflate block of the reserved type 3; random
bit flips could instead decode to plausible garbage.
"""

from __future__ import annotations

import functools
import gzip
import json
import zlib
from dataclasses import dataclass
from typing import Any

import zstandard

from dclm_tests.reliability.pool import real_pages

GOOD_PAGES = 20
HALF = GOOD_PAGES // 2
BIG_PAGE_BYTES = 50 * 1024 * 1024
_RESERVED_BLOCK = b"\x07"  # last block, type 3: reserved in both zstd block headers and deflate block headers


@dataclass(frozen=True)
class BadFile:
    """One input file and the outcome a run must report for it.

    ``pages``: pages that must be read from it; ``quarantined``: ``(line, reason substring)`` per quarantine entry;
    ``kept_ids``: page ids that must come out unchanged (text equal to what went in).
    """

    kind: str
    name: str
    data: bytes
    pages: int
    quarantined: tuple[tuple[int, str], ...] = ()
    kept: tuple[dict[str, Any], ...] = ()


@functools.cache
def _long_line_pages() -> tuple[dict[str, Any], ...]:
    chosen = []
    for page in real_pages():
        lines = [line for line in page["text"].split("\n") if len(line.strip()) >= 40]
        if len(lines) >= 3 and page["id"].startswith("c4-"):
            chosen.append({**page, "text": "\n".join(lines)})
    return tuple(chosen)


def good_pages(n: int = GOOD_PAGES, offset: int = 0) -> list[dict[str, Any]]:
    """Real C4 pages whose lines all survive the corpus pipeline (every line at least 5 characters long)."""
    return [dict(p) for p in _long_line_pages()[offset:offset + n]]


def _lines(pages: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(p) + "\n" for p in pages).encode("utf-8")


def _zstd(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(level=3, write_checksum=True).compress(data)


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def _with_bad_line(bad: bytes, at: int) -> bytes:
    """Good pages with ``bad`` as line ``at`` (1-based)."""
    lines = _lines(good_pages()).splitlines(keepends=True)
    lines.insert(at - 1, bad + b"\n")
    return b"".join(lines)


def _special_page(marker: str, i: int) -> dict[str, Any]:
    page = dict(good_pages(1, offset=GOOD_PAGES + i)[0])
    first, rest = page["text"].split("\n", 1)
    page["text"] = f"{first} {marker} inside this line.\n{rest}"
    page["id"] = f"special-{i}"
    return page


def big_page() -> dict[str, Any]:
    """One page of 50 MB of real C4 lines (repeated), every line long enough to be kept."""
    lines = "\n".join(p["text"] for p in good_pages(200)).encode("utf-8")
    text = (lines + b"\n") * (BIG_PAGE_BYTES // (len(lines) + 1) + 1)
    return {"id": "big-50mb", "text": text[:BIG_PAGE_BYTES].decode("utf-8", "ignore").rstrip("\n")}


def process_corpus() -> list[BadFile]:
    """The shard kinds ``dclm process`` must read, quarantine or skip (one file each)."""
    pages = good_pages()
    first, second = _lines(pages[:HALF]), _lines(pages[HALF:])
    zfirst, zsecond = _zstd(first), _zstd(second)
    gfirst, gsecond = _gzip(first), _gzip(second)
    zheader = zstandard.frame_header_size(zsecond)
    line = HALF + 1  # the first line of the broken frame / member
    # A cut deflate stream still yields what precedes the cut (zstd here yields nothing: one block per frame).
    gcut = gsecond[: len(gsecond) // 2]
    gzip_lines = zlib.decompressobj(31).decompress(gcut).count(b"\n")
    surrogate, nul = _special_page("\ud800", 0), _special_page("\u0000", 1)
    big = big_page()
    return [
        BadFile("control", "control.jsonl.zst", _zstd(_lines(pages)), GOOD_PAGES, kept=tuple(pages)),
        BadFile("corrupt_zstd", "corrupt_zstd.jsonl.zst", zfirst + zsecond[:zheader] + _RESERVED_BLOCK + bytes(64),
                HALF, ((line, "corrupt or truncated zstd stream"),), tuple(pages[:HALF])),
        BadFile("truncated_zstd", "truncated_zstd.jsonl.zst", zfirst + zsecond[: len(zsecond) // 2], HALF,
                ((line, "zstd stream ended inside a frame (truncated file)"),), tuple(pages[:HALF])),
        BadFile("corrupt_gzip", "corrupt_gzip.jsonl.gz", gfirst + gsecond[:10] + _RESERVED_BLOCK + bytes(64), HALF,
                ((line, "invalid block type"),), tuple(pages[:HALF])),
        BadFile("truncated_gzip", "truncated_gzip.jsonl.gz", gfirst + gcut, HALF + gzip_lines,
                ((HALF + gzip_lines + 1, "ended before the end-of-stream marker"),), tuple(pages[:HALF + gzip_lines])),
        BadFile("invalid_json_line", "invalid_json_line.jsonl", _with_bad_line(b'{"text": "unterminated', 7),
                GOOD_PAGES, ((7, "invalid JSON: Unterminated string"),)),
        BadFile("missing_text", "missing_text.jsonl", _with_bad_line(b'{"content": "a page without text"}', 5),
                GOOD_PAGES, ((5, "key 'text' is missing or not a string"),)),
        BadFile("non_string_text", "non_string_text.jsonl",
                _lines(pages) + b'{"text": 42}\n{"text": ["a", "list"]}\n{"text": null}\n{"text": {"a": 1}}\n',
                GOOD_PAGES, tuple((GOOD_PAGES + i, "key 'text' is missing or not a string") for i in range(1, 5))),
        BadFile("invalid_utf8", "invalid_utf8.jsonl", _with_bad_line(b'{"text": "bytes \xff\xfe are not UTF-8"}', 3),
                GOOD_PAGES, ((3, "invalid UTF-8 at byte 16"),)),
        BadFile("lone_surrogate", "lone_surrogate.jsonl", _lines([*pages[:3], surrogate]), 4,
                kept=(*pages[:3], surrogate)),
        BadFile("nul_in_text", "nul_in_text.jsonl", _lines([*pages[:3], nul]), 4, kept=(*pages[:3], nul)),
        BadFile("nul_raw_byte", "nul_raw_byte.jsonl", _with_bad_line(b'{"text": "a raw \x00 byte"}', 2), GOOD_PAGES,
                ((2, "invalid JSON: Invalid control character"),)),
        BadFile("page_50mb", "page_50mb.jsonl.zst", _zstd(_lines([pages[0], big])), 2, kept=(pages[0], big)),
        BadFile("empty_shard", "empty_shard.jsonl", b"", 0),
        BadFile("zero_byte_zst", "zero_byte_zst.jsonl.zst", b"", 0),
    ]


# Files in an input folder that are not shards: skipped by processing and tokenization, and reported.
WRONG_EXTENSIONS = {"wrong_extension_txt": "notes.txt", "wrong_extension_parquet": "table.parquet"}

# Kind names, for test ids (the README's reliability table cites them).
PROCESS_KINDS = ("control", "corrupt_zstd", "truncated_zstd", "corrupt_gzip", "truncated_gzip", "invalid_json_line",
                 "missing_text", "non_string_text", "invalid_utf8", "lone_surrogate", "nul_in_text", "nul_raw_byte",
                 "page_50mb", "empty_shard", "zero_byte_zst")
