"""Build the offline LID model: pseudo-text from ``wordfreq`` (see corpus.py) -> fastText supervised -> quantized.

Why a subprocess for training: fastText 0.9.3 can fail with "Encountered NaN" when a process trains a second
model, and training must not leave state in a long-lived worker. Why a lock and an atomic rename: several Ray
workers on one machine may ask for the model at the same moment; one builds it, the others wait and reuse it,
and nobody ever loads a half-written file.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

from dclm_resources.lid.corpus import LABELS, training_lines

OFFLINE_LID_MODEL_NAME = "lid_offline_v1.ftz"
BUILD_TIMEOUT_S = 900

_TRAIN_SCRIPT = """
import json, sys, fasttext
data, out, params, quantize = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4] == "1"
model = fasttext.train_supervised(input=data, **params)
if quantize:
    model.quantize(input=None, qnorm=True, retrain=False)
model.save_model(out)
"""


class LidBuildError(RuntimeError):
    """Building the offline LID model failed (wordfreq missing, training crashed); says how to avoid it."""


@dataclass(frozen=True)
class LidRecipe:
    """Everything that decides the model's bytes (with the wordfreq and fasttext versions).

    Defaults: 129,000 lines (~2.6M tokens) over 43 labels, dim 16 like lid.176, character 1-4-grams (the
    1-grams carry Chinese and Japanese, written without spaces), product-quantized to ~5 MB. ~30 s on one core.
    """

    lines_per_language: int = 3000
    top_words: int = 20000
    seed: int = 0
    dim: int = 16
    minn: int = 1
    maxn: int = 4
    epoch: int = 5
    lr: float = 0.5
    bucket: int = 200_000
    min_count: int = 3
    quantize: bool = True

    def fasttext_params(self) -> dict[str, object]:
        """``train_supervised`` keyword arguments; one thread, fixed seed: deterministic."""
        return {
            "dim": self.dim, "minn": self.minn, "maxn": self.maxn, "epoch": self.epoch, "lr": self.lr,
            "bucket": self.bucket, "minCount": self.min_count, "wordNgrams": 1, "loss": "softmax",
            "thread": 1, "seed": self.seed, "verbose": 0,
        }  # fmt: skip


DEFAULT_RECIPE = LidRecipe()


def _package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def build_offline_lid_model(output_path: str | os.PathLike[str], recipe: LidRecipe = DEFAULT_RECIPE) -> str:
    """Train the offline LID model into ``output_path`` (atomically replaced) and return the path.

    A ``<output_path>.json`` sidecar records the recipe, the package versions, the labels and the sha256.
    """
    if _package_version("wordfreq") is None:
        raise LidBuildError(
            "building the offline LID model needs the 'wordfreq' package (pip install wordfreq); or give a "
            "fastText LID model instead (model_path=..., DCLM_LID_MODEL, or lid.176.bin in the models dir)"
        )
    out = Path(output_path).expanduser().resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.build-", dir=out.parent))
    try:
        data = work / "train.txt"
        with open(data, "w", encoding="utf-8") as handle:
            for line in training_lines(recipe.lines_per_language, recipe.seed, recipe.top_words):
                handle.write(line + "\n")
        model = work / out.name
        proc = subprocess.run(
            [
                sys.executable, "-c", _TRAIN_SCRIPT, str(data), str(model),
                json.dumps(recipe.fasttext_params()), "1" if recipe.quantize else "0",
            ],
            capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False,
        )  # fmt: skip
        if proc.returncode != 0 or not model.is_file():
            raise LidBuildError(
                f"fastText training of {out} failed (exit {proc.returncode}): {proc.stderr[-2000:]}"
            )
        digest = hashlib.sha256(model.read_bytes()).hexdigest()
        info = {
            "model": out.name,
            "labels": list(LABELS),
            "recipe": asdict(recipe),
            "packages": {name: _package_version(name) for name in ("wordfreq", "fasttext")},
            "sha256": digest,
            "build_seconds": round(time.monotonic() - started, 1),
        }
        sidecar = work / "info.json"
        sidecar.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        os.replace(model, out)  # the model first: a sidecar never describes a model that is not there
        os.replace(sidecar, f"{out}.json")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return str(out)


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_offline_lid_model(folder: str | os.PathLike[str], name: str = OFFLINE_LID_MODEL_NAME) -> str:
    """``<folder>/<name>``, built there first if absent (once per machine: concurrent callers wait on a lock)."""
    target = Path(folder).expanduser().resolve() / name
    if target.is_file():
        return str(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with _file_lock(target.parent / f".{name}.lock"):
        if not target.is_file():
            build_offline_lid_model(target)
    return str(target)
