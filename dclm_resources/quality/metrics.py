"""Classification metrics for quality classifiers, in plain Python and NumPy (no scikit-learn dependency).

Why own them: the project needs only per-label precision / recall / F1 from a confusion table and a rank-based
ROC AUC, and both are a few lines; a scikit-learn install for that would weigh more than the rest of the stage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

HQ_LABEL = "__label__hq"
CC_LABEL = "__label__cc"


@dataclass(frozen=True)
class LabelMetrics:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class SplitMetrics:
    """Top-1 predictions on one split. ``accuracy`` is what fastText's ``test`` prints as P@1 (= R@1 here)."""

    examples: int
    accuracy: float
    labels: dict[str, LabelMetrics]
    confusion: dict[str, dict[str, int]]

    @property
    def hq(self) -> LabelMetrics:
        return self.labels[HQ_LABEL]


def split_metrics(confusion: dict[str, dict[str, int]]) -> SplitMetrics:
    """Per-label precision / recall / F1 from ``confusion[true][predicted]`` (0 where undefined)."""
    total = sum(sum(row.values()) for row in confusion.values())
    labels: dict[str, LabelMetrics] = {}
    for label in (HQ_LABEL, CC_LABEL):
        tp = confusion.get(label, {}).get(label, 0)
        support = sum(confusion.get(label, {}).values())
        predicted = sum(row.get(label, 0) for row in confusion.values())
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        labels[label] = LabelMetrics(precision, recall, f1, support)
    correct = sum(confusion.get(label, {}).get(label, 0) for label in confusion)
    return SplitMetrics(total, correct / total if total else 0.0, labels, confusion)


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve = P(random positive scores above random negative), ties counting half."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=bool)
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    first_rank = np.cumsum(counts) - counts + 1  # 1-based rank of each distinct score's first member
    mean_rank = first_rank + (counts - 1) / 2.0
    rank_sum = float(mean_rank[inverse][labels].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)
