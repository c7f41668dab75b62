"""URI helpers shared by every storage backend.

Why: the pipeline passes locations around as plain strings (``/data/pool`` or ``s3://bucket/pool``) so they
survive YAML configs, Dagster metadata and Ray pickling unchanged. These helpers are the single place that knows
how the two spellings differ.
"""

from __future__ import annotations

import os

S3_SCHEME = "s3://"
FILE_SCHEME = "file://"


def is_s3(uri: str) -> bool:
    """True for ``s3://bucket/key`` URIs; everything else is treated as a local path."""
    return uri.startswith(S3_SCHEME)


def split_s3(uri: str) -> tuple[str, str]:
    """Split ``s3://bucket/some/key`` into ``("bucket", "some/key")``; the key may be empty."""
    if not is_s3(uri):
        raise ValueError(f"not an s3:// URI: {uri!r}")
    rest = uri[len(S3_SCHEME) :]
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise ValueError(f"s3 URI has no bucket: {uri!r}")
    return bucket, key


def local_path(uri: str) -> str:
    """The filesystem path for a local URI (accepts an optional ``file://`` prefix)."""
    if is_s3(uri):
        raise ValueError(f"not a local path: {uri!r}")
    if uri.startswith(FILE_SCHEME):
        return uri[len(FILE_SCHEME) :]
    return uri


def join_uri(base: str, *parts: str) -> str:
    """Join relative path parts onto a local path or an s3:// URI.

    Parts are always relative: a leading '/' on a part is ignored instead of resetting the path (which is what
    ``os.path.join`` would do, and never what a caller building an output location means).
    """
    clean = [p.strip("/") for p in parts if p and p.strip("/")]
    if is_s3(base):
        head = base.rstrip("/")
        if head == S3_SCHEME.rstrip("/"):
            raise ValueError(f"s3 URI has no bucket: {base!r}")
        return "/".join([head, *clean]) if clean else base
    if not clean:
        return base
    return os.path.join(base, *clean)


def basename(uri: str) -> str:
    """Last path component of a local path or s3:// URI (trailing '/' ignored)."""
    return uri.rstrip("/").rsplit("/", 1)[-1]


def parent_uri(uri: str) -> str:
    """The containing directory / prefix of ``uri``."""
    if is_s3(uri):
        bucket, key = split_s3(uri.rstrip("/"))
        if "/" not in key:
            return f"{S3_SCHEME}{bucket}"
        return f"{S3_SCHEME}{bucket}/{key.rsplit('/', 1)[0]}"
    return os.path.dirname(uri.rstrip("/")) or "."


def is_hidden_relpath(relpath: str) -> bool:
    """True when any component of a relative path starts with '.' or '_' (temp files, _SUCCESS markers)."""
    return any(part[:1] in (".", "_") for part in relpath.split("/") if part)


def has_suffix(uri: str, suffixes: tuple[str, ...] | None) -> bool:
    """Whether ``uri`` ends in one of ``suffixes`` (case-insensitive); ``None`` accepts everything."""
    if suffixes is None:
        return True
    lowered = uri.lower()
    return any(lowered.endswith(s.lower()) for s in suffixes)
