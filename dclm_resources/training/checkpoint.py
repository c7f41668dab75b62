"""open_lm checkpoint files: ``checkpoints/{epoch,optimizer,stats}_N.pt`` (``open_lm.md`` §2), found and loaded.

Writes are atomic (temp file + rename) and ``stats_N.pt`` is written last, so a run killed mid-save never leaves
a ``stats_N.pt`` whose model or optimizer file is torn: "latest" is the highest N with a stats file (and, for
resuming, its optimizer file). Reads use ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import re
from dataclasses import dataclass
from typing import Any

import torch
import yaml

from dclm_resources.modeling import ModelConfig, extract_state_dict, strip_open_lm_prefixes
from dclm_resources.storage import Storage, StorageNotFoundError, basename, is_s3, join_uri, parent_uri
from dclm_resources.storage.uris import local_path

CHECKPOINTS_DIR = "checkpoints"
PARAMS_FILE = "params.txt"
PREFIXES = ("epoch", "optimizer", "stats")
_FILE_RE = re.compile(r"^(epoch|optimizer|stats)_(\d+)\.pt$")
# params.txt key -> ModelConfig field: DCLM's eval rebuilds the model from these when the JSON lacks them.
_PARAMS_MODEL_KEYS = {
    "model_norm": "norm_type",
    "qk_norm": "qk_norm",
    "ffn_type": "ffn_type",
    "positional_embedding_type": "positional_embedding_type",
}


@dataclass(frozen=True)
class CheckpointFiles:
    """The three files of checkpoint ``number`` in ``directory``."""

    directory: str
    number: int

    def uri(self, prefix: str) -> str:
        return join_uri(self.directory, f"{prefix}_{self.number}.pt")

    @property
    def epoch(self) -> str:
        return self.uri("epoch")

    @property
    def optimizer(self) -> str:
        return self.uri("optimizer")

    @property
    def stats(self) -> str:
        return self.uri("stats")


def save_torch(obj: Any, uri: str, storage: Storage) -> None:
    """``torch.save`` through an atomic writer: the file appears complete or not at all."""
    with storage.atomic_writer(uri) as fh:
        torch.save(obj, fh)


class CheckpointError(ValueError):
    """A checkpoint file that cannot be loaded safely: corrupt, truncated, or holding more than tensors and data."""


_GLOBAL_RE = re.compile(r"(unsupported GLOBAL [^\s]+|Unsupported global: [^\s]+)", re.IGNORECASE)


def _torch_load(source: str | io.BytesIO, uri: str) -> Any:
    """``torch.load(weights_only=True)``; any failure becomes one :class:`CheckpointError` line naming ``uri``.

    Why reword torch's errors: its refusal suggests retrying with ``weights_only=False``, which is exactly what
    must not happen with a file from an untrusted submission; a torn file gives a bare ``EOFError``.
    """
    try:
        return torch.load(source, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = _GLOBAL_RE.search(str(exc))
        if found:
            raise CheckpointError(
                f"{uri}: refused: the file references code ({found.group(1)}); checkpoints may hold only tensors "
                "and plain data (torch.load weights_only=True)"
            ) from None
        raise CheckpointError(f"{uri}: corrupt checkpoint file (not a torch.save archive of tensors)") from None
    except (RuntimeError, EOFError, ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        reason = str(exc).split(". ")[0] or type(exc).__name__
        raise CheckpointError(f"{uri}: corrupt or truncated checkpoint file ({reason})") from None


def load_torch(uri: str, storage: Storage | None = None) -> Any:
    """``torch.load(weights_only=True)`` of a local path or s3:// object, tensors on the CPU.

    Raises :class:`CheckpointError` (a ValueError naming ``uri``) for a corrupt, truncated or code-carrying file.
    """
    if not is_s3(uri):
        path = local_path(uri)
        if not os.path.isfile(path):
            raise StorageNotFoundError(uri, "no such file")
        return _torch_load(path, uri)
    data = (storage or Storage()).read_bytes(uri)
    return _torch_load(io.BytesIO(data), uri)


def _checkpoints_dir(path: str, storage: Storage) -> str:
    """``path`` itself when it holds checkpoint files, else ``path/checkpoints``."""
    if basename(path) == CHECKPOINTS_DIR:
        return path
    nested = join_uri(path, CHECKPOINTS_DIR)
    return nested if storage.exists(nested) else path


def list_checkpoints(directory: str, storage: Storage) -> dict[int, set[str]]:
    """``{N: {"epoch", "optimizer", "stats"} present}`` for the checkpoint files directly in ``directory``."""
    if not storage.exists(directory):
        return {}
    found: dict[int, set[str]] = {}
    for info in storage.list_files(directory, suffixes=(".pt",), recursive=False):
        match = _FILE_RE.match(basename(info.uri))
        if match:
            found.setdefault(int(match.group(2)), set()).add(match.group(1))
    return found


def find_latest_checkpoint(
    path: str, storage: Storage | None = None, require_optimizer: bool = False
) -> str | None:
    """``epoch_N.pt`` of the newest complete checkpoint under ``path`` (a run dir or its checkpoints dir).

    Complete: ``stats_N.pt`` and ``epoch_N.pt`` exist (and ``optimizer_N.pt`` with ``require_optimizer``).
    ``None`` when there is none.
    """
    storage = storage or Storage()
    directory = _checkpoints_dir(path, storage)
    for number, present in sorted(list_checkpoints(directory, storage).items(), reverse=True):
        needed = {"stats", "epoch"} | ({"optimizer"} if require_optimizer else set())
        if needed <= present:
            return CheckpointFiles(directory, number).epoch
    return None


def checkpoint_number(epoch_uri: str) -> int:
    match = _FILE_RE.match(basename(epoch_uri))
    if not match:
        raise ValueError(f"{epoch_uri}: not an open_lm checkpoint file name (epoch_N.pt)")
    return int(match.group(2))


def write_checkpoint(
    files: CheckpointFiles,
    model: dict[str, Any],
    optimizer: dict[str, Any],
    stats: dict[str, Any],
    storage: Storage,
    delete_previous: bool = True,
) -> None:
    """Write model, optimizer, then stats (last), then drop older checkpoints when ``delete_previous``."""
    storage.makedirs(files.directory)
    save_torch(model, files.epoch, storage)
    save_torch(optimizer, files.optimizer, storage)
    save_torch(stats, files.stats, storage)
    if delete_previous:
        for number in sorted(list_checkpoints(files.directory, storage)):
            if number < files.number:
                delete_checkpoint(CheckpointFiles(files.directory, number), storage)


def delete_checkpoint(files: CheckpointFiles, storage: Storage) -> None:
    """Remove one checkpoint, stats first (so a partial delete never looks complete)."""
    for prefix in ("stats", "epoch", "optimizer"):
        storage.delete(files.uri(prefix), missing_ok=True)


def clean_partial_writes(directory: str) -> int:
    """Delete temp files a killed save left behind in a local checkpoints dir; returns how many."""
    if is_s3(directory) or not os.path.isdir(local_path(directory)):
        return 0
    removed = 0
    for entry in os.scandir(local_path(directory)):
        if entry.name.startswith(".") and entry.name.endswith(".tmp") and entry.is_file():
            os.unlink(entry.path)
            removed += 1
    return removed


def read_params_txt(uri: str, storage: Storage | None = None) -> dict[str, Any]:
    """An open_lm ``params.txt`` as a dict (``yaml.safe_load``; the string "None" becomes None, as DCLM's eval)."""
    text = (storage or Storage()).read_text(uri)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise ValueError(f"{uri}{where}: not a params.txt of 'name: value' lines: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{uri}: not a params.txt of 'name: value' lines")
    return {k: (None if v == "None" else v) for k, v in data.items()}


def load_checkpoint_for_eval(
    path: str, model_json: str | None = None, storage: Storage | None = None
) -> tuple[ModelConfig, dict[str, torch.Tensor]]:
    """``(ModelConfig, clean state dict)`` of a checkpoint, as DCLM's eval rebuilds a trained model.

    ``path``: an ``epoch_N.pt`` file, or a run / checkpoints dir (its latest checkpoint). The model comes from
    ``model_json`` or ``<run dir>/<params.txt "model">.json``; params.txt fills options the JSON lacks
    (model_norm, qk_norm, ffn_type, positional_embedding_type).
    """
    storage = storage or Storage()
    if not path.endswith(".pt"):
        latest = find_latest_checkpoint(path, storage)
        if latest is None:
            raise ValueError(f"{path}: no complete checkpoint (epoch_N.pt with stats_N.pt) found")
        path = latest
    run_dir = parent_uri(parent_uri(path)) if basename(parent_uri(path)) == CHECKPOINTS_DIR else parent_uri(path)
    params_uri = join_uri(run_dir, PARAMS_FILE)
    params = read_params_txt(params_uri, storage) if storage.exists(params_uri) else {}
    if model_json is None:
        stem = params.get("model")
        if not stem:
            raise ValueError(
                f"{path}: no model JSON given and {params_uri} does not name one (key 'model'); pass model_json"
            )
        model_json = join_uri(run_dir, f"{basename(str(stem))}.json")
        if not storage.exists(model_json):
            raise ValueError(f"{path}: model JSON {model_json} (from params.txt 'model: {stem}') does not exist")
    try:
        data = json.loads(storage.read_text(model_json))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{model_json}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    overrides = {
        field: params[key] for key, field in _PARAMS_MODEL_KEYS.items() if key not in data and params.get(key) is not None
    }
    config = ModelConfig.from_open_lm_json(data, **overrides)
    checkpoint = load_torch(path, storage)
    state_dict = strip_open_lm_prefixes(extract_state_dict(checkpoint))
    return config, state_dict
