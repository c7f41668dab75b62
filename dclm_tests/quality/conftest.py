"""One classifier trained per session on the shared stand-in data, with DCLM's recipe (small hash table).

Positives: Dolly / HH-RLHF instruction pairs (the closest offline analogue of OH-2.5 + ELI5); negatives: raw
Common Crawl pages (Dolma CC 2019-30, standing in for RefinedWeb). Hyper-parameters: DCLM's defaults with its
classifier's bigrams; only ``bucket`` is lowered (2M buckets x 100 dims would be 800 MB) and one thread keeps
the model reproducible.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dclm_resources.quality import FastTextParams, TrainResult, train_quality_classifier
from dclm_tests.paths import shared_data

TEST_PARAMS = FastTextParams(wordNgrams=2, bucket=20_000, thread=1)


def instruction_sources() -> tuple[list[str], list[str]]:
    positives = [str(shared_data("quality", "instruction_positive"))]
    negatives = [str(shared_data("web", "jsonl", "dolma_cc_2019_30"))]
    return positives, negatives


@pytest.fixture(scope="session")
def instruction_classifier(tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    positives, negatives = instruction_sources()
    out = Path(tmp_path_factory.mktemp("classifier")) / "models" / "fasttext_oh_eli5.bin"
    return train_quality_classifier(
        positives, negatives, str(out), params=TEST_PARAMS, valid_frac=0.1, seed=42, timeout=120
    )
