"""Resolve the file paths inside DCLM's pipeline YAMLs (banlists, TLD lists, models) against user folders.

DCLM's configs name files by their place in DCLM's checkout (``baselines/mappers/banlists/ldnoobw.txt``). So
that those YAMLs run unchanged, a relative path that does not exist from the working directory is looked up
in each resource folder the user gives, first as written, then by its base name. Absolute paths and
``s3://`` URIs are used as they are.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

# Step parameters that hold paths to read-only inputs; model parameters also look in the models folder.
MODEL_PARAMS = frozenset({"model_filename", "model_path", "sp_model_path"})
PATH_PARAMS = frozenset({"banlist_from_fname", "tlds_filepath"}) | MODEL_PARAMS
RESOURCE_DIRS_ENV = "DCLM_RESOURCE_DIRS"


class ResourceNotFoundError(FileNotFoundError):
    """A file named by a step parameter was found nowhere; the message lists every place looked at."""


def resource_dirs(extra: Iterable[str] = ()) -> list[str]:
    """The folders to search: the caller's first, then ``$DCLM_RESOURCE_DIRS`` (os.pathsep separated)."""
    env = [d for d in os.environ.get(RESOURCE_DIRS_ENV, "").split(os.pathsep) if d]
    return [*extra, *env]


def resolve_path(value: str, search_dirs: Iterable[str]) -> str:
    if value.startswith(("s3://", "/")) or Path(value).exists():
        return value
    tried = [str(Path(value).resolve())]
    for folder in search_dirs:
        for candidate in (Path(folder) / value, Path(folder) / Path(value).name):
            if candidate.exists():
                return str(candidate.resolve())
            tried.append(str(candidate))
    raise ResourceNotFoundError(f"{value!r} not found; looked at: {', '.join(dict.fromkeys(tried))}")


def resolve_step_paths(params: Mapping[str, Any], search_dirs: Iterable[str]) -> dict[str, Any]:
    """A copy of ``params`` with every path parameter resolved; other keys untouched."""
    dirs = list(search_dirs)
    out = dict(params)
    for key in PATH_PARAMS & out.keys():
        if isinstance(out[key], str) and out[key]:
            out[key] = _resolve_model(out[key], dirs) if key in MODEL_PARAMS else resolve_path(out[key], dirs)
    return out


def _resolve_model(value: str, dirs: list[str]) -> str:
    """Models follow the enrichers' rules (URI, path, models folder, resource folders), checked up front."""
    from dclm_resources.processing.enrichers.models import ModelFileError, resolve_model_location

    try:
        return resolve_model_location(value, dirs)
    except ModelFileError as err:
        raise ResourceNotFoundError(str(err)) from None
