"""S3 backend on boto3: paginated listing, streaming (resumable) reads, upload-on-success writes.

Credentials are never handled here: boto3 finds them in the environment / instance profile as usual.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import boto3
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from urllib3.exceptions import HTTPError as Urllib3HTTPError  # botocore's transport; may escape Body.read

from dclm_resources.storage.base import FileInfo, StorageError, StorageNotFoundError
from dclm_resources.storage.uris import has_suffix, is_hidden_relpath, split_s3

READ_BUFFER = 1 << 20
SPOOL_IN_MEMORY = 16 << 20
_NOT_FOUND_CODES = {"404", "NoSuchKey", "NotFound"}
_TRANSFER = TransferConfig(
    multipart_threshold=64 << 20, multipart_chunksize=64 << 20, max_concurrency=4, use_threads=True
)


@dataclass(frozen=True)
class S3Settings:
    """Where and how to talk to S3. Credentials are deliberately absent (boto3 reads AWS_* env vars).

    ``addressing_style`` ("path" / "virtual") matters only for S3-compatible stores such as MinIO.
    """

    endpoint_url: str | None = None
    region_name: str | None = None
    max_attempts: int = 5
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    addressing_style: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.max_attempts <= 20:
            raise ValueError(f"max_attempts must be within 1..20, got {self.max_attempts}")


def make_client(settings: S3Settings) -> Any:
    """A boto3 S3 client with bounded standard-mode retries and explicit timeouts."""
    config = Config(
        # total_max_attempts counts the first try; botocore's "max_attempts" key would mean retries (one more).
        retries={"total_max_attempts": settings.max_attempts, "mode": "standard"},
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        s3={"addressing_style": settings.addressing_style} if settings.addressing_style else None,
    )
    session = boto3.session.Session()
    return session.client(
        "s3", endpoint_url=settings.endpoint_url, region_name=settings.region_name, config=config
    )


@contextlib.contextmanager
def s3_errors(uri: str, action: str) -> Iterator[None]:
    """Translate botocore / boto3 failures into StorageError naming the URI."""
    try:
        yield
    except ClientError as exc:
        err = exc.response.get("Error", {})
        code = str(err.get("Code", ""))
        if code in _NOT_FOUND_CODES:
            raise StorageNotFoundError(uri, "no such object") from None
        if code == "NoSuchBucket":
            raise StorageNotFoundError(uri, "no such bucket") from None
        raise StorageError(uri, f"{action} failed: {code}: {err.get('Message', exc)}") from exc
    except (BotoCoreError, S3UploadFailedError) as exc:
        raise StorageError(uri, f"{action} failed: {exc}") from exc


def _object_key(uri: str) -> tuple[str, str]:
    bucket, key = split_s3(uri)
    if not key or key.endswith("/"):
        raise StorageError(uri, "names a bucket or prefix, not an object")
    return bucket, key


def list_files(client: Any, uri: str, suffixes: tuple[str, ...] | None, recursive: bool) -> list[FileInfo]:
    """Objects under ``uri`` treated as a directory; an exact object key lists as itself."""
    bucket, key = split_s3(uri)
    prefix = key if not key or key.endswith("/") else key + "/"
    kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    if not recursive:
        kwargs["Delimiter"] = "/"
    found: list[FileInfo] = []
    with s3_errors(uri, "list"):
        for page in client.get_paginator("list_objects_v2").paginate(**kwargs):
            for obj in page.get("Contents", []):
                obj_key: str = obj["Key"]
                rel = obj_key[len(prefix) :]
                if not rel or obj_key.endswith("/") or is_hidden_relpath(rel):
                    continue
                if has_suffix(obj_key, suffixes):
                    found.append(FileInfo(f"s3://{bucket}/{obj_key}", int(obj["Size"])))
    if not found and key and not key.endswith("/"):
        head = _head(client, uri)
        if head is not None and has_suffix(key, suffixes):
            found.append(FileInfo(uri, int(head["ContentLength"])))
    found.sort(key=lambda f: f.uri)
    return found


def _head(client: Any, uri: str) -> dict[str, Any] | None:
    bucket, key = _object_key(uri)
    try:
        with s3_errors(uri, "head"):
            return client.head_object(Bucket=bucket, Key=key)
    except StorageNotFoundError:
        return None


class S3ObjectReader(io.RawIOBase):
    """Raw stream over one object that resumes with a Range request if the connection breaks.

    Why: a multi-GB shard read over minutes will see the odd reset; botocore retries the request, not the body
    stream, so without this a long read fails late. ``IfMatch`` on the ETag makes sure a resumed read never
    stitches together two versions of the object.
    """

    def __init__(self, client: Any, uri: str, max_resumes: int = 5) -> None:
        super().__init__()
        self._client = client
        self._uri = uri
        self._bucket, self._key = _object_key(uri)
        self._resumes_left = max_resumes
        self._pos = 0
        resp = self._get(None)
        self._size = int(resp["ContentLength"])
        self._etag: str | None = resp.get("ETag")
        self._body = resp["Body"]

    def _get(self, start: int | None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"Bucket": self._bucket, "Key": self._key}
        if start:
            kwargs["Range"] = f"bytes={start}-"
            if self._etag:
                kwargs["IfMatch"] = self._etag
        with s3_errors(self._uri, "read"):
            return self._client.get_object(**kwargs)

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        remaining = self._size - self._pos
        if remaining <= 0:
            return 0
        view = memoryview(buf).cast("B")
        while True:
            try:
                data = self._body.read(min(len(view), remaining))
            except (BotoCoreError, OSError, Urllib3HTTPError) as exc:
                self._resume(exc)
                continue
            if not data:
                self._resume(None)
                continue
            n = len(data)
            view[:n] = data
            self._pos += n
            return n

    def _resume(self, exc: BaseException | None) -> None:
        if self._resumes_left <= 0:
            why = exc if exc is not None else "connection closed early"
            raise StorageError(self._uri, f"read broke at byte {self._pos} of {self._size}: {why}") from exc
        self._resumes_left -= 1
        with contextlib.suppress(Exception):
            self._body.close()
        self._body = self._get(self._pos)["Body"]

    def close(self) -> None:
        if not self.closed:
            with contextlib.suppress(Exception):
                self._body.close()
        super().close()


def open_read(client: Any, uri: str, max_resumes: int) -> BinaryIO:
    """Buffered streaming reader; the object is never read whole into memory."""
    return io.BufferedReader(S3ObjectReader(client, uri, max_resumes), buffer_size=READ_BUFFER)  # type: ignore[return-value]


@contextlib.contextmanager
def atomic_writer(client: Any, uri: str) -> Iterator[BinaryIO]:
    """Spool locally and upload only when the block succeeds, so no partial object is ever visible."""
    bucket, key = _object_key(uri)
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY, prefix=".dclm-s3-upload-") as spool:
        yield spool  # type: ignore[misc]
        spool.flush()
        spool.seek(0)
        with s3_errors(uri, "upload"):
            client.upload_fileobj(spool, bucket, key, Config=_TRANSFER)


def exists(client: Any, uri: str) -> bool:
    """True for an existing object, or a prefix that has at least one object under it."""
    bucket, key = split_s3(uri)
    if not key:
        try:
            with s3_errors(uri, "head bucket"):
                client.head_bucket(Bucket=bucket)
            return True
        except StorageNotFoundError:
            return False
    if not key.endswith("/") and _head(client, uri) is not None:
        return True
    prefix = key if key.endswith("/") else key + "/"
    try:
        with s3_errors(uri, "list"):
            resp = client.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)
    except StorageNotFoundError:
        return False
    return bool(resp.get("KeyCount") or resp.get("Contents"))


def size(client: Any, uri: str) -> int:
    head = _head(client, uri)
    if head is None:
        raise StorageNotFoundError(uri, "no such object")
    return int(head["ContentLength"])


def delete(client: Any, uri: str, missing_ok: bool) -> None:
    bucket, key = _object_key(uri)
    if not missing_ok and _head(client, uri) is None:
        raise StorageNotFoundError(uri, "no such object")
    with s3_errors(uri, "delete"):
        client.delete_object(Bucket=bucket, Key=key)
