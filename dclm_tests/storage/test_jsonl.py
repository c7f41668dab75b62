"""JSONL shards on both backends: compressions, streaming, strict file:line errors, truncation, atomicity."""

from __future__ import annotations

import gzip
import io
import json
import pickle
import random
import types
from collections.abc import Iterator
from typing import Any, BinaryIO

import pytest
import zstandard

from dclm_resources.storage import (
    JSONL_SUFFIXES,
    JsonlFormatError,
    StorageError,
    iter_jsonl_lines,
    read_jsonl,
    write_jsonl,
)
from dclm_tests.storage.conftest import Backend

PAGES = [
    {"text": "Hello world", "url": "https://example.com/a"},
    {
        "text": "Ünïcödé ✓ 日本語",
        "metadata": {"WARC-Target-URI": "https://example.org/b"},
        "n": [1, 2.5, None],
    },
    {"text": "", "empty": {}},
]


def _compress(uri: str, data: bytes) -> bytes:
    if uri.endswith(".gz"):
        return gzip.compress(data)
    if uri.endswith((".zst", ".zstd")):
        return zstandard.ZstdCompressor().compress(data)
    return data


@pytest.mark.parametrize("suffix", JSONL_SUFFIXES)
def test_roundtrip_all_compressions(backend: Backend, suffix: str) -> None:
    uri = backend.uri("pool", f"shard_0{suffix}")
    assert write_jsonl(PAGES, uri, backend.storage) == len(PAGES)
    assert list(read_jsonl(uri, backend.storage)) == PAGES
    assert [f.uri for f in backend.storage.list_files(backend.uri("pool"), suffixes=JSONL_SUFFIXES)] == [uri]


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".jsonl.zst"])
def test_written_bytes_are_standard(backend: Backend, suffix: str) -> None:
    """Other tools (zcat, zstdcat, DCLM's reader) must read our files: one json.dumps per line plus '\\n'."""
    uri = backend.uri(f"std{suffix}")
    write_jsonl(PAGES, uri, backend.storage)
    raw = backend.storage.read_bytes(uri)
    if suffix.endswith(".gz"):
        raw = gzip.decompress(raw)
    elif suffix.endswith(".zst"):
        raw = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(raw)).read()
    assert raw == "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in PAGES).encode()


def test_empty_shard(backend: Backend) -> None:
    uri = backend.uri("empty.jsonl.zst")
    assert write_jsonl([], uri, backend.storage) == 0
    assert backend.storage.exists(uri)
    assert list(read_jsonl(uri, backend.storage)) == []


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".jsonl.zst"])
def test_streaming_write_and_lazy_read(backend: Backend, suffix: str) -> None:
    rng = random.Random(0)
    n = 6000
    consumed = 0

    def pages() -> Iterator[dict[str, Any]]:
        nonlocal consumed
        for i in range(n):
            consumed += 1
            yield {"id": i, "text": rng.randbytes(256).hex()}  # incompressible-ish: ~3 MB on disk

    uri = backend.uri(f"stream{suffix}")
    assert write_jsonl(pages(), uri, backend.storage) == n
    assert consumed == n
    total = backend.storage.size(uri)

    bytes_read = 0
    real_open = backend.storage.open_read

    class Counting(io.RawIOBase):
        def __init__(self, inner: BinaryIO) -> None:
            self.inner = inner

        def readable(self) -> bool:
            return True

        def readinto(self, buf: Any) -> int:
            nonlocal bytes_read
            data = self.inner.read(min(len(buf), 64 << 10))
            buf[: len(data)] = data
            bytes_read += len(data)
            return len(data)

        def close(self) -> None:
            self.inner.close()
            super().close()

    def counting_open(self: Any, u: str) -> BinaryIO:
        return io.BufferedReader(Counting(real_open(u)), 64 << 10)  # type: ignore[return-value]

    backend.storage.open_read = types.MethodType(counting_open, backend.storage)  # type: ignore[method-assign]
    reader = read_jsonl(uri, backend.storage)
    assert isinstance(reader, Iterator)
    first = next(reader)
    assert first["id"] == 0
    assert bytes_read < total // 2, (bytes_read, total)  # did not slurp the shard
    assert sum(1 for _ in reader) == n - 1
    assert bytes_read == total


def test_blank_lines_crlf_bom_and_no_trailing_newline(backend: Backend) -> None:
    uri = backend.uri("messy.jsonl.gz")
    data = b'\xef\xbb\xbf{"a": 1}\r\n\n   \n{"a": 2}\n{"a": 3}'
    backend.storage.write_bytes(uri, _compress(uri, data))
    assert list(read_jsonl(uri, backend.storage)) == [{"a": 1}, {"a": 2}, {"a": 3}]
    assert [n for n, _ in iter_jsonl_lines(uri, backend.storage)] == [1, 4, 5]


@pytest.mark.parametrize("suffix", [".jsonl.gz", ".jsonl.zstd"])
def test_concatenated_members_and_frames(backend: Backend, suffix: str) -> None:
    uri = backend.uri(f"multi{suffix}")
    blob = _compress(uri, b'{"a": 1}\n{"a": 2}\n') + _compress(uri, b"") + _compress(uri, b'{"a": 3}\n')
    backend.storage.write_bytes(uri, blob)
    assert [p["a"] for p in read_jsonl(uri, backend.storage)] == [1, 2, 3]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b'{"a": 1', "invalid JSON"),
        (b"[1, 2]", "expected a JSON object, got array"),
        (b'"text"', "expected a JSON object, got string"),
        (b"null", "expected a JSON object, got null"),
        (b'{"a": "\xff\xfe"}', "invalid UTF-8"),
    ],
)
@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.zst"])
def test_bad_line_names_file_and_line(backend: Backend, suffix: str, line: bytes, reason: str) -> None:
    uri = backend.uri(f"bad{suffix}")
    data = b'{"ok": 1}\n\n' + line + b'\n{"ok": 2}\n'
    backend.storage.write_bytes(uri, _compress(uri, data))
    reader = read_jsonl(uri, backend.storage)
    assert next(reader) == {"ok": 1}
    with pytest.raises(JsonlFormatError) as info:
        next(reader)
    err = info.value
    assert (err.uri, err.line_no) == (uri, 3)
    assert str(err).startswith(f"{uri}:3: ")
    assert reason in str(err)
    assert isinstance(err, ValueError)
    assert str(pickle.loads(pickle.dumps(err))) == str(err)


def _big_lines(n: int) -> bytes:
    rng = random.Random(1)
    return b"".join(b'{"id": %d, "t": "%032x"}\n' % (i, rng.getrandbits(128)) for i in range(n))


@pytest.mark.parametrize("suffix", [".jsonl.gz", ".jsonl.zst"])
@pytest.mark.parametrize("cut", ["half", "tail"])
def test_truncated_stream_is_an_error(backend: Backend, suffix: str, cut: str) -> None:
    uri = backend.uri(f"trunc{suffix}")
    full = _compress(uri, _big_lines(5000))
    blob = full[: len(full) // 2] if cut == "half" else full[:-4]
    backend.storage.write_bytes(uri, blob)
    got = 0
    with pytest.raises(JsonlFormatError) as info:
        for _ in read_jsonl(uri, backend.storage):
            got += 1
    err = info.value
    assert err.uri == uri and uri in str(err)
    assert "truncated" in str(err)
    assert got < 5000 if cut == "half" else got <= 5000  # "tail" only loses the trailer
    assert err.line_no >= got + 1  # the line reached, past every page that was delivered


@pytest.mark.parametrize("suffix", [".jsonl.gz", ".jsonl.zst"])
def test_garbage_compressed_stream_is_an_error(backend: Backend, suffix: str) -> None:
    uri = backend.uri(f"garbage{suffix}")
    backend.storage.write_bytes(uri, b"this is not compressed at all\n")
    with pytest.raises(JsonlFormatError, match=f"{uri}:1: corrupt"):
        list(read_jsonl(uri, backend.storage))


def test_missing_file(backend: Backend) -> None:
    uri = backend.uri("nope.jsonl.zst")
    with pytest.raises(StorageError, match="nope.jsonl.zst"):
        list(read_jsonl(uri, backend.storage))


def test_failed_write_leaves_old_file_and_no_litter(backend: Backend) -> None:
    uri = backend.uri("out", "shard.jsonl.zst")
    write_jsonl([{"v": "old"}], uri, backend.storage)

    def exploding() -> Iterator[dict[str, Any]]:
        for i in range(3000):
            yield {"v": i, "pad": "x" * 500}
        raise RuntimeError("pipeline step failed")

    with pytest.raises(RuntimeError, match="pipeline step failed"):
        write_jsonl(exploding(), uri, backend.storage)
    assert list(read_jsonl(uri, backend.storage)) == [{"v": "old"}]
    with pytest.raises(TypeError, match="item 1 is list"):
        write_jsonl([{"a": 1}, [2]], backend.uri("out", "typed.jsonl"), backend.storage)  # type: ignore[list-item]
    assert [f.uri for f in backend.storage.list_files(backend.root)] == [uri]
    assert backend.raw_names() == ["out/shard.jsonl.zst"]


def test_lone_surrogates_roundtrip(backend: Backend) -> None:
    uri = backend.uri("surrogate.jsonl")
    pages = [{"text": "bad \ud800 half", "ok": "é"}]
    write_jsonl(pages, uri, backend.storage)
    assert list(read_jsonl(uri, backend.storage)) == pages


def test_default_storage_for_local_paths(tmp_path: Any) -> None:
    uri = str(tmp_path / "d.jsonl.gz")
    write_jsonl([{"a": 1}], uri)
    assert list(read_jsonl(uri)) == [{"a": 1}]
