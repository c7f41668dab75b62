"""Train a fastText quality classifier the way DCLM's ``baselines/train_fasttext_classifier.py`` does.

DCLM's script takes a ready fastText file (``__label__hq <text>`` / ``__label__cc <text>`` per line), optionally
shuffles it with ``random.seed(seed)`` and splits off the last ``valid_frac`` as validation, and calls
``fasttext.train_supervised`` with lr 0.1, dim 100, ws 5, epoch 5, minCount 1, wordNgrams 1 (its OH-2.5+ELI5
model: wordNgrams 2). Here the file is built from positive and negative sources (see ``sources.py``):

- each label's examples are streamed to a local scratch file (offsets kept, never the texts), capped at
  ``max_examples_per_label`` by a seeded sample;
- the examples are always shuffled with ``random.Random(seed)`` (DCLM's input would be a shuffled file; ours
  is built label by label, and fastText reads its input in order), then split as DCLM does:
  the first ``int(N * (1 - valid_frac))`` train, the rest validate;
- fastText trains in a fresh subprocess: fastText 0.9.3 can fail with "Encountered NaN" when a process trains
  a second model, and a subprocess also keeps its memory away from the caller (a Dagster run, a Ray worker);
- the model is copied atomically to ``output_uri`` (local or ``s3://``).

``seed`` only seeds sampling and the split (as DCLM, it is not passed to fastText); with ``thread=1`` fastText
itself is deterministic too (its own seed stays at its default 0).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from array import array
from dataclasses import asdict, dataclass, field
from typing import Any

from dclm_resources.quality.metrics import CC_LABEL, HQ_LABEL, SplitMetrics, split_metrics
from dclm_resources.quality.sources import SourceCounts, TextSource, iter_examples
from dclm_resources.storage import Storage

_WORKER = r"""
import json, sys
import fasttext

spec = json.load(open(sys.argv[1], encoding="utf-8"))
model = fasttext.train_supervised(input=spec["train"], **spec["params"])
model.save_model(spec["model"])


def confusion(path):
    # true label -> predicted label -> count; predict through the C++ binding (Python predict breaks on NumPy 2)
    counts = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            label, _, text = line.rstrip("\n").partition(" ")
            top = model.f.predict(text + "\n", 1, 0.0, "strict")
            row = counts.setdefault(label, {})
            pred = top[0][1] if top else ""
            row[pred] = row.get(pred, 0) + 1
    return counts


out = {"train": confusion(spec["train"])}
if spec.get("valid"):
    out["valid"] = confusion(spec["valid"])
json.dump(out, open(spec["result"], "w", encoding="utf-8"))
"""


@dataclass(frozen=True)
class FastTextParams:
    """``train_supervised`` arguments under fastText's (and DCLM's flag) names, with DCLM's defaults.

    ``bucket`` and ``thread`` are not DCLM flags (fastText's defaults apply there: 2M buckets, all cores but one);
    with ``wordNgrams >= 2`` the model holds ``bucket * dim`` floats, so small runs lower it.
    """

    lr: float = 0.1
    dim: int = 100
    ws: int = 5
    epoch: int = 5
    minCount: int = 1
    wordNgrams: int = 1
    bucket: int = 2_000_000
    thread: int | None = None

    def __post_init__(self) -> None:
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        for name in ("dim", "ws", "epoch", "minCount", "wordNgrams"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.bucket < 0 or (self.thread is not None and self.thread < 1):
            raise ValueError(f"bucket must be >= 0 and thread >= 1 (or None), got {self.bucket}, {self.thread}")

    def kwargs(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if v is not None}
        return {**out, "verbose": 0}


@dataclass
class TrainResult:
    """What DCLM's script prints (examples, P/R on train and validation) plus what an asset reports."""

    model_uri: str
    model_bytes: int
    examples: dict[str, int]  # per label, used for training + validation
    available: dict[str, int]  # per label, found in the sources (before max_examples_per_label)
    skipped: dict[str, dict[str, int]]  # per label: pages filtered out by ``where`` / without text
    train: SplitMetrics
    valid: SplitMetrics | None
    params: dict[str, Any]
    valid_frac: float
    seed: int
    seconds: float = 0.0
    split: dict[str, int] = field(default_factory=dict)  # examples in the train / valid files

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class TrainingError(RuntimeError):
    """fastText failed, or the sources gave nothing to learn from; the message says which."""


@dataclass
class PreparedExamples:
    """DCLM's fastText input files, built from the sources (``valid_file`` None without a validation split)."""

    train_file: str
    valid_file: str | None
    examples: dict[str, int]
    available: dict[str, int]
    skipped: dict[str, dict[str, int]]
    split: dict[str, int]


def prepare_examples(
    positives: list[TextSource | str],
    negatives: list[TextSource | str],
    storage: Storage,
    folder: str,
    *,
    valid_frac: float = 0.0,
    seed: int = 42,
    max_examples_per_label: int | None = None,
) -> PreparedExamples:
    """Write ``train.txt`` (and ``valid.txt``) into the local ``folder``: sampled, shuffled, split as DCLM does."""
    if not 0.0 <= valid_frac < 1.0:
        raise ValueError(f"valid_frac must be in [0, 1), got {valid_frac}")
    if max_examples_per_label is not None and max_examples_per_label < 1:
        raise ValueError(f"max_examples_per_label must be >= 1 (or None), got {max_examples_per_label}")
    by_label = {
        HQ_LABEL: [TextSource.of(s) for s in positives],
        CC_LABEL: [TextSource.of(s) for s in negatives],
    }
    pool = os.path.join(folder, "examples.txt")
    rng = random.Random(seed)
    chosen: list[tuple[int, int]] = []
    counts: dict[str, SourceCounts] = {}
    examples: dict[str, int] = {}
    with open(pool, "wb") as out:
        for label, sources in by_label.items():
            if not sources:
                raise TrainingError(f"no {label} sources configured")
            counts[label] = SourceCounts()
            spans = _write_examples(out, label, iter_examples(sources, storage, counts[label]))
            found = len(spans) // 2
            if found == 0:
                raise TrainingError(f"the {label} sources gave no examples: {[s.uri for s in sources]}")
            picked = _sample(found, max_examples_per_label, rng)
            chosen.extend((spans[2 * i], spans[2 * i + 1]) for i in picked)
            examples[label] = len(picked)
    random.Random(seed).shuffle(chosen)  # as DCLM: random.seed(seed); random.shuffle(lines)
    n_train = int(len(chosen) * (1 - valid_frac)) if valid_frac > 0 else len(chosen)
    train_file, valid_file = os.path.join(folder, "train.txt"), os.path.join(folder, "valid.txt")
    _copy_spans(pool, chosen[:n_train], train_file)
    has_valid = n_train < len(chosen)
    if has_valid:
        _copy_spans(pool, chosen[n_train:], valid_file)
    os.remove(pool)
    return PreparedExamples(
        train_file=train_file,
        valid_file=valid_file if has_valid else None,
        examples=examples,
        available={label: c.examples for label, c in counts.items()},
        skipped={
            label: {"filtered_out": c.filtered_out, "without_text": c.without_text}
            for label, c in counts.items()
        },
        split={"train": n_train, "valid": len(chosen) - n_train},
    )


def train_quality_classifier(
    positives: list[TextSource | str],
    negatives: list[TextSource | str],
    output_uri: str,
    storage: Storage | None = None,
    *,
    params: FastTextParams | None = None,
    valid_frac: float = 0.0,
    seed: int = 42,
    max_examples_per_label: int | None = None,
    scratch_dir: str | None = None,
    timeout: float | None = None,
) -> TrainResult:
    """Train ``__label__hq`` (positives) vs ``__label__cc`` (negatives) and write the model to ``output_uri``.

    ``scratch_dir`` (a local folder, default the system temp dir) holds the example files while training.
    """
    storage = storage if storage is not None else Storage()
    params = params or FastTextParams()
    start = time.time()
    with tempfile.TemporaryDirectory(prefix="dclm_fasttext_", dir=scratch_dir) as tmp:
        data = prepare_examples(
            positives,
            negatives,
            storage,
            tmp,
            valid_frac=valid_frac,
            seed=seed,
            max_examples_per_label=max_examples_per_label,
        )
        model_file = os.path.join(tmp, "model.bin")
        confusion = _run_fasttext(tmp, data.train_file, data.valid_file, model_file, params, timeout)
        model_bytes = os.path.getsize(model_file)
        with open(model_file, "rb") as src, storage.atomic_writer(output_uri) as dst:
            shutil.copyfileobj(src, dst, 1 << 22)
    return TrainResult(
        model_uri=output_uri,
        model_bytes=model_bytes,
        examples=data.examples,
        available=data.available,
        skipped=data.skipped,
        train=split_metrics(confusion["train"]),
        valid=split_metrics(confusion["valid"]) if "valid" in confusion else None,
        params=asdict(params),
        valid_frac=valid_frac,
        seed=seed,
        seconds=time.time() - start,
        split=data.split,
    )


def _write_examples(out: Any, label: str, texts: Any) -> array:
    """Append ``<label> <text>\\n`` lines to ``out``; returns flat (offset, length) pairs, 16 bytes a line."""
    spans = array("q")
    prefix = f"{label} ".encode()
    for text in texts:
        # "replace": a lone surrogate (a JSON escape) must not make the file invalid UTF-8 for fastText.
        line = prefix + text.encode("utf-8", "replace") + b"\n"
        spans.append(out.tell())
        spans.append(len(line))
        out.write(line)
    return spans


def _sample(n: int, cap: int | None, rng: random.Random) -> list[int]:
    """All indices, or a seeded sample of ``cap`` of them kept in file order."""
    if cap is None or n <= cap:
        return list(range(n))
    return sorted(rng.sample(range(n), cap))


def _copy_spans(pool: str, spans: list[tuple[int, int]], path: str) -> None:
    with open(pool, "rb") as src, open(path, "wb") as dst:
        for offset, length in spans:
            src.seek(offset)
            dst.write(src.read(length))


def _run_fasttext(
    tmp: str, train: str, valid: str | None, model: str, params: FastTextParams, timeout: float | None
) -> dict[str, dict[str, dict[str, int]]]:
    """Train and score both splits in a fresh Python process; its confusion counts come back as JSON."""
    spec = os.path.join(tmp, "spec.json")
    result = os.path.join(tmp, "result.json")
    with open(spec, "w", encoding="utf-8") as fh:
        json.dump(
            {"train": train, "valid": valid, "model": model, "result": result, "params": params.kwargs()}, fh
        )
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _WORKER, spec],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as err:
        raise TrainingError(f"fastText training exceeded {timeout} s") from err
    if proc.returncode != 0 or not os.path.exists(result):
        tail = (proc.stderr or proc.stdout)[-2000:]
        raise TrainingError(f"fastText training failed (exit {proc.returncode}): {tail}")
    with open(result, encoding="utf-8") as fh:
        return json.load(fh)
