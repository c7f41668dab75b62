"""Local-folder backend: plain files, with atomic commits by rename."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from typing import BinaryIO

from dclm_resources.storage.base import FileInfo, StorageError, StorageNotFoundError
from dclm_resources.storage.uris import has_suffix, is_hidden_relpath, join_uri, local_path

READ_BUFFER = 1 << 20


def list_files(uri: str, suffixes: tuple[str, ...] | None, recursive: bool) -> list[FileInfo]:
    """Files under a directory (or the file itself), hidden names below ``uri`` skipped, sorted by URI."""
    root = local_path(uri)
    if os.path.isfile(root):
        return [FileInfo(uri, os.path.getsize(root))] if has_suffix(root, suffixes) else []
    if not os.path.isdir(root):
        raise StorageNotFoundError(uri, "no such file or directory")
    found: list[FileInfo] = []
    if recursive:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d[:1] not in (".", "_")]
            rel_dir = os.path.relpath(dirpath, root)
            for name in filenames:
                rel = name if rel_dir == "." else os.path.join(rel_dir, name)
                _maybe_add(found, uri, root, rel, suffixes)
    else:
        with os.scandir(root) as entries:
            for entry in entries:
                if entry.is_file():
                    _maybe_add(found, uri, root, entry.name, suffixes)
    found.sort(key=lambda f: f.uri)
    return found


def _maybe_add(
    found: list[FileInfo], uri: str, root: str, rel: str, suffixes: tuple[str, ...] | None
) -> None:
    rel_posix = rel.replace(os.sep, "/")
    if is_hidden_relpath(rel_posix) or not has_suffix(rel_posix, suffixes):
        return
    try:
        size = os.path.getsize(os.path.join(root, rel))
    except FileNotFoundError:  # vanished between walk and stat (a concurrent writer's temp file)
        return
    found.append(FileInfo(join_uri(uri, rel_posix), size))


def open_read(uri: str) -> BinaryIO:
    """Buffered binary reader; a missing file or a directory is a StorageError naming ``uri``."""
    path = local_path(uri)
    try:
        return open(path, "rb", buffering=READ_BUFFER)  # noqa: SIM115 - caller owns the handle
    except FileNotFoundError:
        raise StorageNotFoundError(uri, "no such file") from None
    except IsADirectoryError:
        raise StorageError(uri, "is a directory, not a file") from None
    except OSError as exc:
        raise StorageError(uri, f"cannot open: {exc.strerror or exc}") from exc


@contextlib.contextmanager
def atomic_writer(uri: str) -> Iterator[BinaryIO]:
    """Write to a hidden temp file beside the target, fsync, then rename over it.

    Why: readers and ``list_files`` must never see a half-written shard; a crash leaves only a dot-file that
    listings skip, and an existing target stays untouched until the rename.
    """
    path = local_path(uri)
    parent = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(parent, exist_ok=True)
    except OSError as exc:
        raise StorageError(uri, f"cannot create parent directory: {exc}") from exc
    if os.path.isdir(path):
        raise StorageError(uri, "is a directory, cannot write a file there")
    tmp = os.path.join(parent, f".{os.path.basename(path)}.{uuid.uuid4().hex[:12]}.tmp")
    fh = open(tmp, "xb")  # noqa: SIM115 - closed below on every path
    try:
        yield fh
        fh.flush()
        os.fsync(fh.fileno())
        fh.close()
        os.replace(tmp, path)
    except BaseException:
        fh.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(parent)


def _fsync_dir(path: str) -> None:
    """Persist the rename itself (best effort: not every platform lets you fsync a directory)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def exists(uri: str) -> bool:
    """True for an existing file or directory."""
    return os.path.exists(local_path(uri))


def size(uri: str) -> int:
    path = local_path(uri)
    if not os.path.isfile(path):
        if os.path.isdir(path):
            raise StorageError(uri, "is a directory, not a file")
        raise StorageNotFoundError(uri, "no such file")
    return os.path.getsize(path)


def delete(uri: str, missing_ok: bool) -> None:
    path = local_path(uri)
    try:
        os.remove(path)
    except FileNotFoundError:
        if not missing_ok:
            raise StorageNotFoundError(uri, "no such file") from None
    except IsADirectoryError:
        raise StorageError(uri, "is a directory, not a file") from None
    except OSError as exc:
        if os.path.isdir(path):
            raise StorageError(uri, "is a directory, not a file") from None
        raise StorageError(uri, f"cannot delete: {exc}") from exc


def makedirs(uri: str) -> None:
    try:
        os.makedirs(local_path(uri), exist_ok=True)
    except OSError as exc:
        raise StorageError(uri, f"cannot create directory: {exc}") from exc
