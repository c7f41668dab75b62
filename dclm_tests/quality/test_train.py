"""Training a quality classifier as DCLM's train_fasttext_classifier does, on the shared stand-in data."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from dclm_resources.layout import Layout
from dclm_resources.quality import (
    CC_LABEL,
    HQ_LABEL,
    FastTextParams,
    TextSource,
    TrainingError,
    classifier_text,
    prepare_examples,
    train_quality_classifier,
)
from dclm_resources.quality.evaluate import load_model, score_texts
from dclm_resources.quality.metrics import split_metrics
from dclm_resources.quality.sources import expand_dataset_uri, instruction_text, parse_where
from dclm_resources.storage import Storage
from dclm_tests.paths import shared_data
from dclm_tests.quality.conftest import TEST_PARAMS, instruction_sources

STORAGE = Storage()


def cc_pages() -> list[dict]:
    (path,) = shared_data("web", "jsonl", "dolma_cc_2019_30").glob("*.jsonl.gz")
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def test_examples_per_label_and_metrics(instruction_classifier):
    r = instruction_classifier
    usable_cc = sum(1 for p in cc_pages() if classifier_text(p["text"]))
    assert r.examples == {HQ_LABEL: 1000, CC_LABEL: usable_cc} == r.available
    assert r.skipped[CC_LABEL]["without_text"] == 697 - usable_cc
    n = 1000 + usable_cc
    assert r.split == {"train": int(n * 0.9), "valid": n - int(n * 0.9)}
    assert r.train.examples == r.split["train"] and r.valid is not None and r.valid.examples == r.split["valid"]
    for metrics in (r.train, r.valid):
        assert sum(m.support for m in metrics.labels.values()) == metrics.examples
        for m in metrics.labels.values():
            assert 0 <= m.precision <= 1 and 0 <= m.recall <= 1 and 0 <= m.f1 <= 1
    # DCLM's recipe separates instructions from raw CC well above chance, even on 1.5k examples.
    assert r.valid.accuracy > 0.6 and r.valid.hq.f1 > 0.7
    assert r.params["wordNgrams"] == 2 and r.params["lr"] == 0.1 and r.params["epoch"] == 5


def test_model_is_written_and_scores(instruction_classifier):
    r = instruction_classifier
    path = Path(r.model_uri)
    assert path.stat().st_size == r.model_bytes > 0
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # atomic: no temp file left beside it
    model = load_model(r.model_uri, STORAGE)
    assert sorted(model.get_labels()) == [CC_LABEL, HQ_LABEL]
    instructions = ["How do I bake sourdough bread? Mix flour and water, let the starter ferment, shape, bake."]
    web = [p["text"] for p in cc_pages()[:50]]
    scores = score_texts(model, instructions + web)
    assert ((scores >= 0) & (scores <= 1)).all()
    assert scores[0] > scores[1:].mean()


def test_split_is_deterministic_per_seed(tmp_path):
    positives, negatives = instruction_sources()

    def split(seed: int, name: str) -> tuple[bytes, bytes]:
        folder = tmp_path / name
        folder.mkdir()
        data = prepare_examples(positives, negatives, STORAGE, str(folder), valid_frac=0.2, seed=seed,
                                max_examples_per_label=300)
        assert data.examples == {HQ_LABEL: 300, CC_LABEL: 300} and data.split == {"train": 480, "valid": 120}
        assert data.valid_file is not None
        return Path(data.train_file).read_bytes(), Path(data.valid_file).read_bytes()

    a, b, c = split(42, "a"), split(42, "b"), split(7, "c")
    assert a == b and a != c
    lines = a[0].decode().splitlines() + a[1].decode().splitlines()
    assert len(lines) == 600 and all(ln.startswith((f"{HQ_LABEL} ", f"{CC_LABEL} ")) for ln in lines)
    labels = [ln.split(" ", 1)[0] for ln in lines[:100]]
    assert 20 < labels.count(HQ_LABEL) < 80  # shuffled, not label-grouped


def test_no_split_without_valid_frac(tmp_path):
    positives, negatives = instruction_sources()
    data = prepare_examples(positives, negatives, STORAGE, str(tmp_path), max_examples_per_label=10)
    assert data.valid_file is None and data.split == {"train": 20, "valid": 0}


def test_sources_where_and_s3_output(tmp_path, s3_storage):
    """Human-annotated pages by label, a model written to and read back from S3, trained twice in one process."""
    annotations = str(shared_data("quality", "dclm_human_annotations", "majority_data.jsonl"))
    params = FastTextParams(dim=16, epoch=10, lr=0.5, wordNgrams=2, bucket=5000, thread=1)
    uri = f"{s3_storage.root}/models/human.bin"
    results = [
        train_quality_classifier(
            [TextSource(annotations, where={"label": 1})], [TextSource(annotations, where={"label": 0})],
            uri, s3_storage.storage, params=params,
        )
        for _ in range(2)
    ]
    assert results[0].examples == {HQ_LABEL: 272, CC_LABEL: 227}
    assert results[0].skipped == {HQ_LABEL: {"filtered_out": 227, "without_text": 0},
                                  CC_LABEL: {"filtered_out": 272, "without_text": 0}}
    assert results[0].train == results[1].train and results[0].valid is None
    assert s3_storage.storage.size(uri) == results[0].model_bytes
    assert load_model(uri, s3_storage.storage).get_labels()


def test_errors(tmp_path):
    positives, negatives = instruction_sources()
    empty = tmp_path / "empty.jsonl"
    empty.write_text(json.dumps({"text": "  \n "}) + "\n")
    with pytest.raises(TrainingError, match="__label__cc sources gave no examples"):
        train_quality_classifier(positives, [str(empty)], str(tmp_path / "m.bin"), params=TEST_PARAMS)
    with pytest.raises(TrainingError, match="no __label__hq sources"):
        train_quality_classifier([], negatives, str(tmp_path / "m.bin"))
    with pytest.raises(ValueError, match="valid_frac"):
        train_quality_classifier(positives, negatives, str(tmp_path / "m.bin"), valid_frac=1.0)
    with pytest.raises(ValueError, match="epoch must be >= 1"):
        FastTextParams(epoch=0)
    bad = FastTextParams(dim=8, bucket=1000, thread=1, lr=50.0)  # diverges: fastText raises "Encountered NaN"
    with pytest.raises(TrainingError, match="fastText training failed"):
        train_quality_classifier(positives, negatives, str(tmp_path / "m.bin"), params=bad,
                                 max_examples_per_label=5)
    assert not (tmp_path / "m.bin").exists()


def test_instruction_text_strips_the_template():
    page = {"prompt": "Below is an instruction that describes a task. Write a response that appropriately "
                      "completes the request.\n\n### Instruction:\nName a fruit.\n\n### Input:\nred\n\n"
                      "### Response:\n", "response": "An apple."}
    assert instruction_text(page) == "Name a fruit.\nred\nAn apple."
    chat = {"conversations": [{"from": "system", "value": "be nice"}, {"from": "human", "value": "Hi?"},
                              {"from": "gpt", "value": "Hello."}]}
    assert instruction_text(chat) == "Hi?\nHello."
    assert classifier_text("  a\nb\r\nc  \n") == "a b c"
    assert parse_where({"label": "1", "kind": "hq", "ok": "true"}) == {"label": 1, "kind": "hq", "ok": True}


def test_dataset_shortcuts():
    layout = Layout("/home/x")
    assert expand_dataset_uri("raw_pool:sample", layout) == "/home/x/raw_pools/sample/raw_source.json"
    assert expand_dataset_uri("filtered:sample", layout) == "/home/x/filtered/sample/quality/processed_data"
    assert expand_dataset_uri("filtered:sample/bff", layout) == "/home/x/filtered/sample/bff/processed_data"
    assert expand_dataset_uri("s3://b/pages", layout) == "s3://b/pages"


def test_split_metrics_by_hand():
    m = split_metrics({HQ_LABEL: {HQ_LABEL: 8, CC_LABEL: 2}, CC_LABEL: {HQ_LABEL: 4, CC_LABEL: 6}})
    assert m.examples == 20 and m.accuracy == 0.7
    assert (m.hq.precision, m.hq.recall, m.hq.support) == (8 / 12, 0.8, 10)
    assert m.hq.f1 == pytest.approx(2 * (8 / 12) * 0.8 / (8 / 12 + 0.8))
    assert m.labels[CC_LABEL].precision == 0.75
