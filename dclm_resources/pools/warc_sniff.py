"""Telling a WARC stream from anything else before fastwarc sees it, on streams that may not seek.

Why a separate step: fastwarc skips garbage silently in lenient mode and panics on a failing ``tell()``, so
the first bytes are checked here and the stream is wrapped so that it always answers ``tell()``.
"""

from __future__ import annotations

import io
import zlib
from typing import Any, BinaryIO

SNIFF_BYTES = 64 * 1024
_HEAD_BYTES = 512
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_LZ4_MAGIC = b"\x04\x22\x4d\x18"


class WarcFormatError(ValueError):
    """The input is not a WARC stream at all (empty, garbage, ARC, ...); the message names the source."""


class SniffedStream(io.RawIOBase):
    """Replays a sniffed prefix, then the rest of the stream; remembers an error raised by the real stream.

    Why: the format check has to look at the first bytes of a possibly non-seekable stream (S3 body); an
    exception from the stream (network) must be told apart from fastwarc's own parse errors; and fastwarc 2.x
    calls ``tell()`` on the stream it is given (and panics where that raises), so this answers it by counting.
    """

    def __init__(self, prefix: bytes, inner: BinaryIO) -> None:
        super().__init__()
        self._prefix = prefix
        self._inner = inner
        self._pos = 0
        self.inner_error: BaseException | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            out, self._prefix = self._prefix, b""
            out += self._read_inner(-1)
        elif self._prefix:
            out, self._prefix = self._prefix[:size], self._prefix[size:]
        else:
            out = self._read_inner(size)
        self._pos += len(out)
        return out

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _read_inner(self, size: int) -> bytes:
        try:
            return self._inner.read(size) or b""
        except BaseException as exc:
            self.inner_error = exc
            raise


def read_prefix(stream: BinaryIO, size: int) -> bytes:
    chunks: list[bytes] = []
    got = 0
    while got < size:
        chunk = stream.read(size - got)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def decompressed_head(prefix: bytes, source_name: str) -> bytes | None:
    """The first bytes of the WARC text inside ``prefix``, or ``None`` where it cannot be peeked (lz4)."""
    if prefix.startswith(_GZIP_MAGIC):
        try:
            return zlib.decompressobj(wbits=31).decompress(prefix, _HEAD_BYTES)
        except zlib.error as exc:
            raise WarcFormatError(f"{source_name}: gzip data is corrupt at the start of the file: {exc}") from None
    if prefix.startswith(_ZSTD_MAGIC):
        try:
            import zstandard

            with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(prefix)) as reader:
                return reader.read(_HEAD_BYTES)
        except ImportError:
            return None
        except zstandard.ZstdError as exc:
            raise WarcFormatError(f"{source_name}: zstd data is corrupt at the start of the file: {exc}") from None
    if prefix.startswith(_LZ4_MAGIC):
        return None
    return prefix[:_HEAD_BYTES]


def check_head(head: bytes, source_name: str) -> bool:
    """Raise unless ``head`` starts a WARC; return True when its lines end in bare LF (needs quirks mode)."""
    text = head.lstrip(b"\r\n")
    if text.startswith(b"WARC/"):
        first_line = text.split(b"\n", 1)[0]
        return not first_line.endswith(b"\r")
    if text.startswith(b"filedesc:"):
        raise WarcFormatError(f"{source_name}: ARC files are not supported (fastwarc parses WARC only); "
                              "convert it to WARC first (e.g. `warcio recompress`)")
    if not head:
        raise WarcFormatError(f"{source_name}: not a WARC file: it is empty (or decompresses to nothing)")
    raise WarcFormatError(f"{source_name}: not a WARC file: it starts with {text[:24]!r}, expected b'WARC/'")
