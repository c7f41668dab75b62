"""fastText quality classifiers: train one as DCLM does, and measure its agreement with human annotations.

Plain Python (no Dagster): the ``quality_classifier`` asset and the CLI call these functions.
"""

from dclm_resources.quality.evaluate import DCLM_THRESHOLD, AgreementResult, evaluate_agreement, headline
from dclm_resources.quality.metrics import CC_LABEL, HQ_LABEL, LabelMetrics, SplitMetrics, roc_auc
from dclm_resources.quality.sources import TextSource, classifier_text, parse_where
from dclm_resources.quality.train import (
    FastTextParams,
    PreparedExamples,
    TrainingError,
    TrainResult,
    prepare_examples,
    train_quality_classifier,
)

__all__ = [
    "CC_LABEL",
    "DCLM_THRESHOLD",
    "HQ_LABEL",
    "AgreementResult",
    "FastTextParams",
    "LabelMetrics",
    "PreparedExamples",
    "SplitMetrics",
    "TextSource",
    "TrainResult",
    "TrainingError",
    "classifier_text",
    "evaluate_agreement",
    "headline",
    "parse_where",
    "prepare_examples",
    "roc_auc",
    "train_quality_classifier",
]
