"""Where the fastText models of the enrichers come from, and loading them once per worker process.

Location rules (``model_filename`` of the quality enricher, ``model_path`` of the LID enrichers, ``$DCLM_LID_MODEL``):

1. an ``s3://`` URI is downloaded once per process into a local cache folder (atomically) and loaded from there;
2. an absolute path, or a relative path that exists from the working directory, is used as given;
3. otherwise the name is looked up in the models directory (``$DCLM_MODELS_DIR``, default
   ``<DCLM_HOME>/models``; local or ``s3://``), as written and then by base name,
4. then in the resource dirs (``$DCLM_RESOURCE_DIRS``) as DCLM's file names always were.

Why a process-level cache: a Ray worker runs many shards, and every shard builds its pipeline's mappers again;
without the cache each shard would reload ``lid.176.bin`` (126 MB) or the quality model. Entries are keyed by the
resolved path and checked against the file's mtime and size, so a model replaced on disk is loaded anew.

The default LID model (no ``model_path``): ``$DCLM_LID_MODEL`` if set, else ``lid.176.bin`` where found (models
dir, resource dirs), else the project's offline model (``dclm_resources.lid``), built on first use into the
models directory. fastText 0.9.3's Python ``predict`` breaks under NumPy 2 (``np.array(..., copy=False)``), so
predictions go through the C++ binding ``model.f.predict`` with exactly what the wrapper would pass it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dclm_resources.layout import Layout, default_home
from dclm_resources.processing.enrichers.fasttext_layout import LayoutError, check_fasttext_file
from dclm_resources.processing.resource_paths import resource_dirs
from dclm_resources.storage import Storage, StorageError, StorageNotFoundError, basename, is_s3, join_uri

MODELS_DIR_ENV = "DCLM_MODELS_DIR"
LID_MODEL_ENV = "DCLM_LID_MODEL"
MODEL_CACHE_ENV = "DCLM_MODEL_CACHE"
DCLM_LID_MODEL_FILENAME = "lid.176.bin"
LID_MODEL_URL = "https://dl.fbaipublicfiles.com/fasttext/supervised-models/lid.176.bin"

log = logging.getLogger(__name__)


class ModelFileError(FileNotFoundError):
    """A model file named by a step parameter is missing or unreadable; the message names the file."""


# --------------------------------------------------------------------------------------------------------------
# folders
# --------------------------------------------------------------------------------------------------------------


def models_dir() -> str:
    """``$DCLM_MODELS_DIR`` if set, else ``<DCLM_HOME>/models`` (a local folder or an ``s3://`` prefix)."""
    env = os.environ.get(MODELS_DIR_ENV)
    if env:
        return env if is_s3(env) else str(Path(env).expanduser().resolve())
    return Layout(default_home()).models_dir()


def model_cache_dir() -> str:
    """Local folder for models downloaded from S3: ``$DCLM_MODEL_CACHE``, else one per user in the temp dir."""
    env = os.environ.get(MODEL_CACHE_ENV)
    if env:
        return str(Path(env).expanduser().resolve())
    return os.path.join(tempfile.gettempdir(), f"dclm-model-cache-{os.getuid()}")


def local_models_dir() -> str:
    """The models directory when it is local, else the local cache (where S3 models are downloaded to)."""
    folder = models_dir()
    return model_cache_dir() if is_s3(folder) else folder


# --------------------------------------------------------------------------------------------------------------
# locating
# --------------------------------------------------------------------------------------------------------------

_FETCHED: dict[str, str] = {}
_FETCH_LOCK = threading.Lock()


def fetch_model(uri: str, storage: Storage | None = None) -> str:
    """Local copy of ``s3://`` model ``uri``: downloaded once per process (atomically renamed into the cache).

    Once per process rather than once per machine: the cache has no way to tell a stale copy from a current
    one without a download, and a worker process lives for many shards anyway.
    """
    with _FETCH_LOCK:
        local = _FETCHED.get(uri)
        if local and os.path.isfile(local):
            return local
        storage = storage if storage is not None else Storage()
        folder = os.path.join(model_cache_dir(), hashlib.sha256(uri.encode()).hexdigest()[:16])
        os.makedirs(folder, exist_ok=True)
        local = os.path.join(folder, basename(uri))
        part = f"{local}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part"
        try:
            with storage.open_read(uri) as src, open(part, "wb") as dst:
                while chunk := src.read(1 << 22):
                    dst.write(chunk)
                dst.flush()
                os.fsync(dst.fileno())
            os.replace(part, local)
        finally:
            if os.path.exists(part):
                os.unlink(part)
        _FETCHED[uri] = local
        return local


def _candidates(value: str) -> list[str]:
    return list(dict.fromkeys([value, os.path.basename(value.rstrip("/"))]))


def resolve_model_location(value: str, extra_dirs: Sequence[str] = (), storage: Storage | None = None) -> str:
    """Where model ``value`` is, by the rules in the module docstring, without downloading or loading it.

    Returns an ``s3://`` URI or a local path (a given absolute path even if missing: loading it then fails
    naming it). Raises ModelFileError listing every place looked at. Cheap enough for pipeline validation.
    """
    if is_s3(value):
        return value
    if os.path.isabs(value) or Path(value).exists():
        return os.path.abspath(value)
    tried = [os.path.abspath(value)]
    folder = models_dir()
    for name in _candidates(value):
        candidate = join_uri(folder, name)
        tried.append(candidate)
        if is_s3(folder):
            store = storage if storage is not None else Storage()
            try:
                if store.exists(candidate):
                    return candidate
            except StorageError as err:
                raise ModelFileError(f"{value!r}: looking in the models dir {folder} failed: {err}") from err
        elif os.path.isfile(candidate):
            return candidate
    for folder in resource_dirs(extra_dirs):
        for name in _candidates(value):
            candidate = os.path.join(folder, name)
            tried.append(candidate)
            if os.path.isfile(candidate):
                return str(Path(candidate).resolve())
    raise ModelFileError(f"{value!r} not found; looked at: {', '.join(dict.fromkeys(tried))}")


def locate_model(
    value: str,
    operator: str,
    param: str,
    hint: str,
    extra_dirs: Sequence[str] = (),
    storage: Storage | None = None,
) -> str:
    """The local file to load for ``value`` (S3 models downloaded); ModelFileError naming ``param`` if none."""
    try:
        where = resolve_model_location(value, extra_dirs, storage)
    except ModelFileError as err:
        raise ModelFileError(
            f"{operator}: {param}={value!r} was not found ({err}). Pass {param}=<path or s3:// URI>, or put it "
            f"in the models dir (${MODELS_DIR_ENV}, default <DCLM_HOME>/models) or a resource dir "
            f"($DCLM_RESOURCE_DIRS): {hint}"
        ) from None
    if not is_s3(where):
        return where
    try:
        return fetch_model(where, storage)
    except StorageNotFoundError as err:
        raise ModelFileError(
            f"{operator}: {param}={value!r}: {where} does not exist ({err}); {hint}"
        ) from None
    except StorageError as err:
        raise ModelFileError(
            f"{operator}: {param}={value!r}: {where} could not be downloaded: {err}"
        ) from err


def find_lid_model(operator: str, model_path: str | None = None, storage: Storage | None = None) -> str:
    """The LID model to use: ``model_path``, else ``$DCLM_LID_MODEL``, else lid.176.bin, else the offline model."""
    hint = f"a fastText language-ID model such as {DCLM_LID_MODEL_FILENAME} ({LID_MODEL_URL})"
    if model_path:
        return locate_model(model_path, operator, "model_path", hint, storage=storage)
    env = os.environ.get(LID_MODEL_ENV)
    if env:
        return locate_model(env, operator, f"${LID_MODEL_ENV}", hint, storage=storage)
    try:
        return locate_model(DCLM_LID_MODEL_FILENAME, operator, "model_path", hint, storage=storage)
    except ModelFileError as err:
        missing = str(err)
    try:
        path = offline_lid_model(storage)
    except Exception as err:  # any build failure: say what was looked for and how to avoid the build
        raise ModelFileError(
            f"{missing}; the offline LID model could not be built either ({type(err).__name__}: {err})"
        ) from err
    log.info("%s: no LID model configured and no %s found; using the offline model %s", operator,
             DCLM_LID_MODEL_FILENAME, path)  # fmt: skip
    return path


def offline_lid_model(storage: Storage | None = None) -> str:
    """Local path of the project's offline LID model, built into the models dir on first use.

    With an ``s3://`` models dir it is downloaded from there if present, else built in the local cache and
    uploaded (atomically) for the other machines.
    """
    from dclm_resources.lid import OFFLINE_LID_MODEL_NAME, ensure_offline_lid_model

    folder = models_dir()
    if not is_s3(folder):
        return ensure_offline_lid_model(folder)
    store = storage if storage is not None else Storage()
    uri = join_uri(folder, OFFLINE_LID_MODEL_NAME)
    if store.exists(uri):
        return fetch_model(uri, store)
    local = ensure_offline_lid_model(model_cache_dir())
    try:
        with open(local, "rb") as src, store.atomic_writer(uri) as dst:
            while chunk := src.read(1 << 22):
                dst.write(chunk)
    except StorageError as err:  # the local copy still works; other machines will build their own
        log.warning("could not upload the offline LID model to %s: %s", uri, err)
    return local


# --------------------------------------------------------------------------------------------------------------
# loading (once per process) and predicting
# --------------------------------------------------------------------------------------------------------------

_LOADED: dict[str, tuple[tuple[int, int], Any]] = {}
_LOAD_LOCK = threading.Lock()


def load_fasttext_model(path: str, operator: str, param: str) -> Any:
    """The fastText model in ``path``, loaded once per process; a missing or corrupt file names the file."""
    real = os.path.realpath(path)
    try:
        stat = os.stat(real)
    except OSError:
        stat = None
    if stat is None or not os.path.isfile(real):
        raise ModelFileError(
            f"{operator}: fastText model file {path!r} ({param}) does not exist or is not a file"
        )
    key = (stat.st_mtime_ns, stat.st_size)
    with _LOAD_LOCK:
        cached = _LOADED.get(real)
        if cached is not None and cached[0] == key:
            return cached[1]
        import fasttext

        try:
            check_fasttext_file(real)  # fastText itself loads a truncated file silently (see fasttext_layout)
            model = fasttext.load_model(real)
        except LayoutError as err:
            raise ModelFileError(
                f"{operator}: {path!r} ({param}) is not a loadable fastText model: the file {err} "
                "(not a fastText file, or a truncated download or copy)"
            ) from None
        except (ValueError, RuntimeError, MemoryError) as err:
            raise ModelFileError(
                f"{operator}: {path!r} ({param}) is not a loadable fastText model ({type(err).__name__}: {err})"
            ) from err
        _LOADED[real] = (key, model)
        return model


def clear_model_cache() -> None:
    """Forget every loaded model and downloaded copy of this process (tests; long-lived processes)."""
    with _LOAD_LOCK:
        _LOADED.clear()
    with _FETCH_LOCK:
        _FETCHED.clear()


def loaded_models() -> list[str]:
    """Resolved paths of the models this process holds."""
    with _LOAD_LOCK:
        return sorted(_LOADED)


def fasttext_predict(model: Any, line: str, k: int = 1) -> list[tuple[str, float]]:
    """``(label, prob)`` pairs, best first, as ``model.predict(line, k)`` gives them (labels keep ``__label__``).

    ``line`` must hold no ``"\\n"`` (the Python wrapper refuses it; every caller removes newlines first).
    There is no faster batch path: the binding's ``multilinePredict`` costs the same per line (measured in
    ``dclm_tests/bench/bench_fasttext.py``) and returns NumPy float32 arrays that need converting.
    """
    return [(label, prob) for prob, label in model.f.predict(line + "\n", k, 0.0, "strict")]
