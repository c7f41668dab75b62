"""Small value types and the error shared by the storage backends."""

from __future__ import annotations

from dataclasses import dataclass


class StorageError(Exception):
    """A storage operation failed; always names the URI involved.

    Why a single type: callers (assets, Ray tasks) handle "the data is not where it should be" the same way for
    local folders and S3, so backend-specific exceptions are translated here. Args are ``(uri, reason)`` so the
    exception pickles across Ray workers.
    """

    def __init__(self, uri: str, reason: str) -> None:
        super().__init__(uri, reason)
        self.uri = uri
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.uri}: {self.reason}"


class StorageNotFoundError(StorageError):
    """The object, file or directory does not exist (a StorageError, so callers may catch either)."""


@dataclass(frozen=True)
class FileInfo:
    """One listed file: its full URI (same spelling as the listed root) and its size in bytes."""

    uri: str
    size: int
