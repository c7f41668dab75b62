"""Keep every path a submission names inside its submissions folder or prefix.

Why: the sensor reads what a manifest points at with the deployment's own credentials. A path that could climb
out (``..``, an absolute path, another bucket, a symlink, a ``file://`` or ``http://`` URL) would let a stranger
read or train on data they were never given. So a value is accepted only if it is an explicitly allowed source
(``builtin:sample``, the competition pools) or resolves to a location under the submissions root, spelled with
plain path segments.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Collection

from dclm_resources.storage import is_s3, join_uri, split_s3

MAX_DEPTH = 16
_SEGMENT = re.compile(r"^[A-Za-z0-9_=+-][A-Za-z0-9_.=+-]*$")


class ConfinementError(ValueError):
    """A path that is not allowed; the message names the manifest key and says which rule it breaks."""


def _check_segments(rel: str, key: str) -> list[str]:
    parts = rel.split("/")
    if len(parts) > MAX_DEPTH:
        raise ConfinementError(f"key {key!r}: the path is more than {MAX_DEPTH} folders deep")
    for part in parts:
        if part in ("", ".", ".."):
            raise ConfinementError(
                f"key {key!r}: the path must be plain folder and file names ('..', '.', '//' are not allowed)"
            )
        if not _SEGMENT.match(part):
            raise ConfinementError(
                f"key {key!r}: path component {part[:40]!r} may hold only letters, digits and '_', '.', '=', '+', "
                "'-', and must not start with '.'"
            )
    return parts


def _within_local(resolved: str, root: str, key: str) -> str:
    """Symlinks are followed: the real location must still be under the real root."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(resolved)
    if real != real_root and not real.startswith(real_root.rstrip(os.sep) + os.sep):
        raise ConfinementError(f"key {key!r}: the path leads outside the submissions folder (through a link)")
    return resolved


def _relative_inside(value: str, root: str) -> str | None:
    """The part of an absolute path or URI below ``root``, or None if it is not below it."""
    if is_s3(root):
        if not is_s3(value):
            return None
        root_bucket, root_key = split_s3(root.rstrip("/"))
        bucket, obj = split_s3(value)
        prefix = root_key.rstrip("/") + "/" if root_key else ""
        if bucket != root_bucket or not obj.startswith(prefix):
            return None
        return obj[len(prefix) :].rstrip("/")
    if is_s3(value):
        return None
    root_norm = os.path.abspath(root).rstrip(os.sep)
    if value.rstrip("/") == root_norm:
        return ""
    if not value.startswith(root_norm + os.sep):
        return None
    return value[len(root_norm) + 1 :].rstrip("/")


def confine(value: str, root: str, key: str, allowed: Collection[str] = ()) -> str:
    """The location ``value`` names, as a URI under ``root``; ConfinementError if it is not allowed.

    ``value`` is one of ``allowed`` (returned as is), a relative path (resolved against ``root``), or an absolute
    path / ``s3://`` URI that already lies under ``root``.
    """
    if value in allowed:
        return value
    if "\\" in value or "\x00" in value:
        raise ConfinementError(f"key {key!r}: backslashes and NUL are not allowed in paths")
    if value.startswith("builtin:"):
        raise ConfinementError(f"key {key!r}: unknown builtin {value[:60]!r}; allowed sources: {sorted(allowed)}")
    is_absolute = value.startswith("/") or is_s3(value)
    if not is_absolute and (":" in value or value.startswith("~")):
        raise ConfinementError(
            f"key {key!r}: only paths inside the submissions folder, s3:// URIs under it, or one of "
            f"{sorted(allowed)} are allowed (no other schemes, no '~')"
        )
    if is_absolute:
        rel = None if ".." in value.split("/") else _relative_inside(value, root)
        if rel is None:
            raise ConfinementError(
                f"key {key!r}: {value[:200]!r} is outside the submissions folder {root!r}; "
                "use a path relative to it"
            )
        if not rel:
            raise ConfinementError(f"key {key!r}: names the submissions folder itself, not something inside it")
    else:
        rel = value.rstrip("/")
    parts = _check_segments(rel, key)
    resolved = join_uri(root, *parts)
    return resolved if is_s3(resolved) else _within_local(resolved, root, key)


def resolve_relative(entry: str, base_uri: str) -> str:
    """An entry of a reference JSON, resolved the way reference readers do: relative to the JSON's folder."""
    if is_s3(entry) or entry.startswith("/") or ":" in entry:
        return entry
    if is_s3(base_uri):
        bucket, key = split_s3(base_uri)
        return f"s3://{bucket}/" + posixpath.normpath(posixpath.join(posixpath.dirname(key), entry))
    return os.path.normpath(os.path.join(os.path.dirname(base_uri), entry))
