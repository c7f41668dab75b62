"""Streaming gzip / zstd by file extension, with truncation detected instead of silently ignored.

Why a custom zstd reader: ``zstandard``'s ``stream_reader`` returns a clean EOF when a frame is cut short, so a
truncated shard would quietly lose its tail. Driving ``decompressobj`` frame by frame lets us tell "the stream
ended between frames" (fine) from "it ended inside one" (corrupt), while still reading concatenated frames.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import zlib
from collections.abc import Iterator
from typing import Any, BinaryIO, Literal

import zstandard

from dclm_resources.storage.store import Storage

Codec = Literal["gzip", "zstd"]
READ_CHUNK = 256 << 10
GZIP_LEVEL = 6
ZSTD_LEVEL = 3


class TruncatedStreamError(EOFError):
    """A compressed stream ended in the middle of a frame / member."""


# Everything a decompressor may raise for bad input (StorageError is deliberately not here: it is not corrupt data).
DECOMPRESSION_ERRORS: tuple[type[BaseException], ...] = (
    EOFError,
    gzip.BadGzipFile,
    zlib.error,
    zstandard.ZstdError,
)


def codec_for(uri: str) -> Codec | None:
    """``"gzip"`` for ``.gz``, ``"zstd"`` for ``.zst`` / ``.zstd``, ``None`` for anything else."""
    lowered = uri.lower()
    if lowered.endswith(".gz"):
        return "gzip"
    if lowered.endswith((".zst", ".zstd")):
        return "zstd"
    return None


class _ZstdFrameReader(io.RawIOBase):
    """Decompress concatenated zstd frames from ``source``; raise if the data stops inside a frame."""

    def __init__(self, source: BinaryIO) -> None:
        super().__init__()
        self._source = source
        self._dctx = zstandard.ZstdDecompressor()
        self._obj: Any = None  # current frame's decompressobj, None between frames
        self._pending = b""  # decompressed bytes, handed out from self._offset on
        self._offset = 0
        self._leftover = b""  # compressed bytes past the end of the previous frame
        self._eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        view = memoryview(buf).cast("B")
        while self._offset >= len(self._pending) and not self._eof:
            self._fill()
        n = min(len(view), len(self._pending) - self._offset)
        view[:n] = memoryview(self._pending)[self._offset : self._offset + n]
        self._offset += n
        return n

    def _fill(self) -> None:
        data = self._leftover or self._source.read(READ_CHUNK)
        self._leftover = b""
        if not data:
            if self._obj is not None:
                raise TruncatedStreamError("zstd stream ended inside a frame (truncated file)")
            self._eof = True
            return
        if self._obj is None:
            self._obj = self._dctx.decompressobj()
        self._pending = self._obj.decompress(data)
        self._offset = 0
        if self._obj.eof:
            self._leftover = self._obj.unused_data
            self._obj = None


def decompressing_reader(raw: BinaryIO, codec: Codec | None) -> BinaryIO:
    """Wrap ``raw`` so reads (and line iteration) yield decompressed bytes. Closing it does not close ``raw``."""
    if codec is None:
        return raw
    if codec == "gzip":
        return gzip.GzipFile(filename="", fileobj=raw, mode="rb")  # type: ignore[return-value]
    return io.BufferedReader(_ZstdFrameReader(raw), buffer_size=READ_CHUNK)  # type: ignore[return-value]


@contextlib.contextmanager
def compressing_writer(raw: BinaryIO, codec: Codec | None) -> Iterator[BinaryIO]:
    """Yield a writer compressing into ``raw``; the stream is finished (trailer written) on exit, ``raw`` stays open."""
    if codec is None:
        yield raw
        return
    if codec == "gzip":
        # filename="" and mtime=0: no temp-file name or timestamp in the header, so output is reproducible.
        with gzip.GzipFile(filename="", fileobj=raw, mode="wb", compresslevel=GZIP_LEVEL, mtime=0) as gz:
            yield gz  # type: ignore[misc]
        return
    cctx = zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_checksum=True)
    with cctx.stream_writer(raw, closefd=False) as zw:
        yield zw  # type: ignore[misc]


@contextlib.contextmanager
def open_decompressed(uri: str, storage: Storage | None = None) -> Iterator[BinaryIO]:
    """Open ``uri`` for streaming reading, decompressing by extension; both layers closed on exit."""
    storage = storage if storage is not None else Storage()
    with storage.open_read(uri) as raw, contextlib.closing(decompressing_reader(raw, codec_for(uri))) as fh:
        yield fh


@contextlib.contextmanager
def open_compressed_writer(uri: str, storage: Storage | None = None) -> Iterator[BinaryIO]:
    """Atomically write ``uri``, compressing by extension; nothing appears at ``uri`` if the block fails."""
    storage = storage if storage is not None else Storage()
    with storage.atomic_writer(uri) as raw, compressing_writer(raw, codec_for(uri)) as fh:
        yield fh
