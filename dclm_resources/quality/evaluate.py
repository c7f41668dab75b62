"""How well a quality classifier agrees with DCLM's human quality annotations.

DCLM released ~500 web documents labelled by people (``majority_data.jsonl``: majority vote; ``agreement_data.jsonl``:
the subset where annotators agreed; ``label`` 1 = high quality). Each document is scored exactly as the
``classify_fasttext_hq_prob_enricher`` scores pages (that module's ``fasttext_hq_prob``: P(hq), ``1 - p`` when
the top label is ``__label__cc``), and two numbers say how well the scores rank and cut:

- ROC AUC (rank-based, Mann-Whitney U with tied scores sharing their mean rank): threshold-free;
- accuracy at ``threshold`` (a page counts as kept, i.e. judged hq, iff ``score >= threshold`` as in
  ``quality_filter``; DCLM-Baseline's cut is 0.018112), with the kept fraction and precision / recall of "kept".

A folder of annotation files is evaluated file by file (the agreement file is a subset of the majority file, so
pooling them would count documents twice).
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from dclm_resources.processing.enrichers.quality import fasttext_hq_prob
from dclm_resources.quality.metrics import roc_auc
from dclm_resources.storage import JSONL_SUFFIXES, Storage, basename, is_s3, read_jsonl

DCLM_THRESHOLD = 0.018112
MAIN_FILE = "majority_data"
_HQ_VALUES = {"1", "hq", "__label__hq", "true", "high"}
_CC_VALUES = {"0", "cc", "__label__cc", "false", "low"}


@dataclass(frozen=True)
class AgreementResult:
    """Agreement of one annotation file with the model's scores."""

    name: str
    documents: int
    positives: int
    negatives: int
    roc_auc: float  # NaN when one class is absent
    threshold: float
    accuracy: float
    kept_fraction: float
    precision: float  # of "kept" against human hq
    recall: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def agreement(name: str, scores: np.ndarray, labels: np.ndarray, threshold: float) -> AgreementResult:
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=bool)
    kept = scores >= threshold
    tp = int((kept & labels).sum())
    n = int(labels.size)
    return AgreementResult(
        name=name,
        documents=n,
        positives=int(labels.sum()),
        negatives=n - int(labels.sum()),
        roc_auc=roc_auc(scores, labels),
        threshold=threshold,
        accuracy=float((kept == labels).mean()) if n else math.nan,
        kept_fraction=float(kept.mean()) if n else math.nan,
        precision=tp / int(kept.sum()) if kept.any() else 0.0,
        recall=tp / int(labels.sum()) if labels.any() else 0.0,
    )


def parse_label(value: Any, where: str) -> bool:
    """1 / 0, true / false, or hq / cc (with or without ``__label__``) to True for high quality."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return value == 1
    text = str(value).strip().lower()
    if text in _HQ_VALUES:
        return True
    if text in _CC_VALUES:
        return False
    raise ValueError(f"{where}: label {value!r} is neither hq (1, hq, true) nor cc (0, cc, false)")


def read_annotations(
    uri: str, storage: Storage, text_key: str = "text", label_key: str = "label"
) -> tuple[list[str], np.ndarray]:
    """Texts and hq flags of one annotation file."""
    texts: list[str] = []
    labels: list[bool] = []
    for i, row in enumerate(read_jsonl(uri, storage), start=1):
        if not isinstance(row.get(text_key), str) or label_key not in row:
            raise ValueError(f"{uri}: record {i} needs a string {text_key!r} and a {label_key!r}")
        texts.append(row[text_key])
        labels.append(parse_label(row[label_key], f"{uri}: record {i}"))
    return texts, np.asarray(labels, dtype=bool)


def annotation_files(uri: str, storage: Storage) -> dict[str, str]:
    """Name (file stem) to URI: ``uri`` itself when it is a file, else every JSONL file under it."""
    files = [f.uri for f in storage.list_files(uri, JSONL_SUFFIXES)]
    if not files:
        raise FileNotFoundError(f"{uri}: no annotation files ({', '.join(JSONL_SUFFIXES)})")
    return {_stem(f): f for f in files}


def _stem(uri: str) -> str:
    name = basename(uri)
    for suffix in JSONL_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _load_local(path: str, shown: str) -> Any:
    import fasttext

    if not os.path.isfile(path):
        raise FileNotFoundError(f"quality model {shown!r} does not exist or is not a file")
    try:
        return fasttext.load_model(path)
    except (ValueError, RuntimeError, MemoryError) as err:
        raise ValueError(f"quality model {shown!r} is not a loadable fastText model: {err}") from err


def load_model(model_uri: str, storage: Storage) -> Any:
    """Load a fastText model from a local path or ``s3://`` URI (copied to a temp file first)."""
    if not is_s3(model_uri):
        return _load_local(model_uri, model_uri)
    with tempfile.TemporaryDirectory(prefix="dclm_model_") as tmp:
        local = os.path.join(tmp, basename(model_uri) or "model.bin")
        with storage.open_read(model_uri) as src, open(local, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 22)
        return _load_local(local, model_uri)


def score_texts(model: Any, texts: list[str]) -> np.ndarray:
    """P(hq) of each text, exactly as the scoring enricher computes it."""
    return np.fromiter((fasttext_hq_prob(model, t) for t in texts), dtype=np.float64, count=len(texts))


def evaluate_agreement(
    model_uri: str,
    annotations_uri: str,
    storage: Storage | None = None,
    *,
    threshold: float = DCLM_THRESHOLD,
    text_key: str = "text",
    label_key: str = "label",
) -> dict[str, AgreementResult]:
    """Score every annotated document of each annotation file under ``annotations_uri``; results by file stem."""
    storage = storage if storage is not None else Storage()
    model = load_model(model_uri, storage)
    results: dict[str, AgreementResult] = {}
    for name, uri in annotation_files(annotations_uri, storage).items():
        texts, labels = read_annotations(uri, storage, text_key, label_key)
        results[name] = agreement(name, score_texts(model, texts), labels, threshold)
    return results


def headline(results: Mapping[str, AgreementResult]) -> AgreementResult:
    """The result to report first: DCLM's ``majority_data`` when present, else the largest file."""
    if MAIN_FILE in results:
        return results[MAIN_FILE]
    return max(results.values(), key=lambda r: (r.documents, r.name))
