"""``Storage``: one path abstraction over local folders and ``s3://bucket/key`` URIs.

Why one class: engines take a URI string and a ``Storage`` and never branch on the backend themselves, so the
same pipeline code runs on a laptop folder and on S3. The object is cheap and picklable (Ray ships it to
workers): the boto3 client is created lazily per process and dropped when pickled.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, BinaryIO

from dclm_resources.storage import local as local_backend
from dclm_resources.storage import s3 as s3_backend
from dclm_resources.storage.base import FileInfo, StorageError
from dclm_resources.storage.s3 import S3Settings
from dclm_resources.storage.uris import is_s3


class Storage:
    """Read, write and list files by URI; writes are atomic on both backends."""

    def __init__(self, s3: S3Settings | None = None) -> None:
        self.s3_settings = s3 if s3 is not None else S3Settings()
        self._client: Any = None
        self._client_pid = -1
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Storage(s3={self.s3_settings!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Storage) and other.s3_settings == self.s3_settings

    def __hash__(self) -> int:
        return hash(self.s3_settings)

    # -- pickling: the client holds sockets and locks, so each process builds its own ------------------------
    def __getstate__(self) -> dict[str, Any]:
        return {"s3_settings": self.s3_settings}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.s3_settings = state["s3_settings"]
        self._client = None
        self._client_pid = -1
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        """The boto3 S3 client, built on first use in each process.

        boto3 clients are thread-safe once built but their connection pools must not cross a fork, hence the
        pid check (multiprocessing / Ray may fork after the parent has used this Storage).
        """
        pid = os.getpid()
        if self._client is None or self._client_pid != pid:
            with self._lock:
                if self._client is None or self._client_pid != pid:
                    self._client = s3_backend.make_client(self.s3_settings)
                    self._client_pid = pid
        return self._client

    # -- listing and metadata --------------------------------------------------------------------------------
    def list_files(
        self, uri: str, suffixes: tuple[str, ...] | None = None, recursive: bool = True
    ) -> list[FileInfo]:
        """Files under ``uri`` sorted by URI, skipping names starting with '.' or '_' below ``uri``.

        ``uri`` naming a single file lists that file. A missing local directory raises StorageError; on S3 a
        prefix with nothing under it is simply empty (S3 has no directories), a missing bucket raises.
        """
        if isinstance(suffixes, str):
            suffixes = (suffixes,)
        if is_s3(uri):
            return s3_backend.list_files(self.client, uri, suffixes, recursive)
        return local_backend.list_files(uri, suffixes, recursive)

    def exists(self, uri: str) -> bool:
        """True for an existing file/object or a non-empty directory/prefix (an existing local dir)."""
        return s3_backend.exists(self.client, uri) if is_s3(uri) else local_backend.exists(uri)

    def size(self, uri: str) -> int:
        """Size in bytes of one file/object; StorageError if missing."""
        return s3_backend.size(self.client, uri) if is_s3(uri) else local_backend.size(uri)

    def delete(self, uri: str, missing_ok: bool = False) -> None:
        """Delete one file/object; a missing one raises StorageError unless ``missing_ok``."""
        if is_s3(uri):
            s3_backend.delete(self.client, uri, missing_ok)
        else:
            local_backend.delete(uri, missing_ok)

    def makedirs(self, uri: str) -> None:
        """Create a local directory (and parents); a no-op on S3, where prefixes need no creation."""
        if not is_s3(uri):
            local_backend.makedirs(uri)

    # -- streams ---------------------------------------------------------------------------------------------
    def open_read(self, uri: str) -> BinaryIO:
        """A streaming binary reader (caller closes it); a missing file raises StorageError naming ``uri``."""
        if is_s3(uri):
            return s3_backend.open_read(self.client, uri, max_resumes=self.s3_settings.max_attempts)
        return local_backend.open_read(uri)

    def atomic_writer(self, uri: str) -> AbstractContextManager[BinaryIO]:
        """Context manager yielding a binary writer whose content appears at ``uri`` only on success.

        An exception inside the block leaves no file/object (and any existing one untouched).
        """
        return self._atomic_writer(uri)

    @contextmanager
    def _atomic_writer(self, uri: str) -> Iterator[BinaryIO]:
        if is_s3(uri):
            with s3_backend.atomic_writer(self.client, uri) as fh:
                yield fh
        else:
            with local_backend.atomic_writer(uri) as fh:
                yield fh

    # -- whole-file conveniences -----------------------------------------------------------------------------
    def read_bytes(self, uri: str) -> bytes:
        with self.open_read(uri) as fh:
            try:
                return fh.read()
            except StorageError:
                raise
            except OSError as exc:
                raise StorageError(uri, f"read failed: {exc}") from exc

    def write_bytes(self, uri: str, data: bytes) -> None:
        """Atomically replace ``uri`` with ``data``."""
        with self.atomic_writer(uri) as fh:
            fh.write(data)

    def read_text(self, uri: str) -> str:
        """Whole file decoded as UTF-8."""
        data = self.read_bytes(uri)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise StorageError(uri, f"not valid UTF-8: {exc}") from exc

    def write_text(self, uri: str, text: str) -> None:
        """Atomically replace ``uri`` with ``text`` encoded as UTF-8."""
        self.write_bytes(uri, text.encode("utf-8"))
