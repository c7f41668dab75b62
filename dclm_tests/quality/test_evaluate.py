"""Agreement of quality classifiers with DCLM's human annotations: ROC AUC, accuracy at a threshold."""

from __future__ import annotations

import itertools
import json
import math
import random

import numpy as np
import pytest

from dclm_resources.processing.registry import get_mapper
from dclm_resources.quality import (
    DCLM_THRESHOLD,
    FastTextParams,
    TextSource,
    evaluate_agreement,
    headline,
    roc_auc,
    train_quality_classifier,
)
from dclm_resources.quality.evaluate import agreement, load_model, parse_label, read_annotations, score_texts
from dclm_resources.storage import Storage
from dclm_tests.paths import shared_data

STORAGE = Storage()


def pairwise_auc(scores: list[float], labels: list[bool]) -> float:
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


def test_roc_auc_matches_pairwise_counting_with_ties():
    rng = random.Random(0)
    for _ in range(20):
        scores = [rng.choice([0.1, 0.2, 0.2, 0.5, 0.9]) for _ in range(40)]
        labels = [rng.random() < 0.4 for _ in range(40)]
        if any(labels) and not all(labels):
            assert roc_auc(np.array(scores), np.array(labels)) == pytest.approx(pairwise_auc(scores, labels))
    assert roc_auc(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1])) == 1.0
    assert roc_auc(np.array([0.9, 0.8, 0.2, 0.1]), np.array([0, 0, 1, 1])) == 0.0
    assert roc_auc(np.array([0.5] * 4), np.array([0, 1, 0, 1])) == 0.5
    assert math.isnan(roc_auc(np.array([0.1, 0.2]), np.array([1, 1])))


def test_accuracy_at_threshold_keeps_with_ge():
    r = agreement("x", np.array([0.01, 0.018112, 0.5, 0.9]), np.array([0, 0, 1, 0], dtype=bool), DCLM_THRESHOLD)
    assert (r.documents, r.positives, r.negatives) == (4, 1, 3)
    assert r.kept_fraction == 0.75 and r.accuracy == 0.5  # 0.018112 itself is kept, as quality_filter keeps it
    assert r.precision == pytest.approx(1 / 3) and r.recall == 1.0


def test_labels():
    assert [parse_label(v, "x") for v in (1, 0, True, "1", "hq", "__label__cc", 1.0)] == [
        True, False, True, True, True, False, True]
    with pytest.raises(ValueError, match="neither hq"):
        parse_label(2, "f.jsonl: record 3")


def test_instruction_classifier_against_human_annotations(instruction_classifier):
    folder = str(shared_data("quality", "dclm_human_annotations"))
    results = evaluate_agreement(instruction_classifier.model_uri, folder, STORAGE)
    assert set(results) == {"majority_data", "agreement_data"}
    main = headline(results)
    assert main.name == "majority_data" and (main.documents, main.positives, main.negatives) == (499, 272, 227)
    assert results["agreement_data"].documents == 281
    for r in results.values():
        assert 0 <= r.accuracy <= 1 and r.threshold == DCLM_THRESHOLD
    # Trained on instructions vs raw CC only, it still ranks human-judged quality well above chance.
    assert main.roc_auc > 0.65


def test_held_out_human_labels(tmp_path):
    """Trained on the majority-vote pages outside the agreement subset, scored on that subset (held out)."""
    folder = shared_data("quality", "dclm_human_annotations")
    agreed = {json.loads(line)["text"] for line in (folder / "agreement_data.jsonl").open(encoding="utf-8")}
    rest = [line for line in (folder / "majority_data.jsonl").open(encoding="utf-8")
            if json.loads(line)["text"] not in agreed]
    train = tmp_path / "train.jsonl"
    train.write_text("".join(rest), encoding="utf-8")
    model = tmp_path / "human.bin"
    train_quality_classifier(
        [TextSource(str(train), where={"label": 1})], [TextSource(str(train), where={"label": 0})], str(model),
        params=FastTextParams(wordNgrams=2, bucket=20_000, thread=1),
    )
    held_out = evaluate_agreement(str(model), str(folder / "agreement_data.jsonl"), threshold=0.5)
    assert held_out["agreement_data"].roc_auc > 0.75 and held_out["agreement_data"].threshold == 0.5


def test_scores_are_the_enrichers(instruction_classifier):
    """The evaluation scores a document exactly as the pipeline's quality enricher scores a page."""
    texts, _ = read_annotations(
        str(shared_data("quality", "dclm_human_annotations", "agreement_data.jsonl")), STORAGE
    )
    ours = score_texts(load_model(instruction_classifier.model_uri, STORAGE), texts[:60])
    enrich = get_mapper("classify_fasttext_hq_prob_enricher", model_filename=instruction_classifier.model_uri,
                        key="q")
    theirs = [enrich({"text": t})[0]["q"] for t in texts[:60]]
    assert ours.tolist() == theirs


def test_missing_inputs_fail_clearly(tmp_path, instruction_classifier):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_model(str(tmp_path / "nope.bin"), STORAGE)
    (tmp_path / "junk.bin").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a loadable fastText model"):
        load_model(str(tmp_path / "junk.bin"), STORAGE)
    bad = tmp_path / "ann" / "a.jsonl"
    bad.parent.mkdir()
    bad.write_text(json.dumps({"text": "x"}) + "\n")
    with pytest.raises(ValueError, match="record 1 needs"):
        evaluate_agreement(instruction_classifier.model_uri, str(bad.parent), STORAGE)
