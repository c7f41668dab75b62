"""S3ObjectReader resumes a broken body stream with a Range request (stub client: no network needed)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ResponseStreamingError

from dclm_resources.storage import StorageError
from dclm_resources.storage.s3 import open_read

DATA = bytes(range(256)) * 1000


class _FlakyBody:
    """Serves ``data`` but raises after ``break_after`` bytes (None: never)."""

    def __init__(self, data: bytes, break_after: int | None) -> None:
        self.data, self.pos, self.break_after = data, 0, break_after
        self.closed = False

    def read(self, n: int = -1) -> bytes:
        if self.break_after is not None and self.pos >= self.break_after:
            raise ResponseStreamingError(error="connection reset by peer")
        end = len(self.data) if n < 0 else self.pos + n
        if self.break_after is not None:
            end = min(end, self.break_after)
        chunk = self.data[self.pos : end]
        self.pos += len(chunk)
        return chunk

    def close(self) -> None:
        self.closed = True


class _StubClient:
    def __init__(self, breaks: list[int | None]) -> None:
        self.breaks = breaks
        self.calls: list[dict[str, Any]] = []

    def get_object(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        start = int(kwargs["Range"].split("=")[1].rstrip("-")) if "Range" in kwargs else 0
        brk = self.breaks.pop(0) if self.breaks else None
        body = _FlakyBody(DATA[start:], None if brk is None else brk)
        return {"Body": body, "ContentLength": len(DATA) - start, "ETag": '"abc"'}


def test_resumes_after_broken_stream() -> None:
    client = _StubClient([10_000, 50_000, None])
    with open_read(client, "s3://b/k.bin", max_resumes=3) as fh:
        assert fh.read() == DATA
    assert len(client.calls) == 3
    assert client.calls[1]["Range"] == "bytes=10000-"
    assert client.calls[1]["IfMatch"] == '"abc"'
    assert client.calls[2]["Range"] == "bytes=60000-"


def test_gives_up_after_max_resumes() -> None:
    client = _StubClient([1000, 1000, 1000])
    with (
        pytest.raises(StorageError, match=r"s3://b/k.bin: read broke at byte 2000"),
        open_read(client, "s3://b/k.bin", max_resumes=1) as fh,
    ):
        fh.read()
