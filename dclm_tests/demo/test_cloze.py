"""The demo's LAMBADA-style cloze task: which pages make an item, what the item is, and that it scores as a task."""

from __future__ import annotations

import json
from pathlib import Path

from dclm_resources.demo.cloze import CLOZE_LABEL, cloze_example, cloze_examples, write_cloze_task
from dclm_resources.evaluation import icl
from dclm_resources.evaluation.lm_eval_tasks import IclTaskSpec
from dclm_resources.evaluation.suites import load_suite
from dclm_resources.pools.sample import SamplePoolSpec, generate_pages


def test_item_is_the_page_up_to_its_last_word() -> None:
    text = "The Ashby Apiary Club meets on Mondays.\nAnyone can join the Ashby Apiary Club."
    item = cloze_example(text)
    assert item is not None
    assert item.continuation == "Club"
    assert item.context == "The Ashby Apiary Club meets on Mondays.\nAnyone can join the Ashby Apiary"
    assert item.context + " " + item.continuation + "." == text


def test_closing_punctuation_and_quotes_are_dropped_from_the_word() -> None:
    item = cloze_example('She said the kettle was old. "I will keep the kettle," she said, "until it breaks the kettle!"')
    assert item is not None and item.continuation == "kettle"
    assert item.context.endswith("breaks the")


def test_pages_that_make_no_fair_item_are_skipped() -> None:
    assert cloze_example("We walked to the river and then home.") is None  # 'home' never occurs before
    assert cloze_example("The cat sat on the mat next to the other cat 42.") is None  # ends in a number
    assert cloze_example("Go on, go.") is None  # 'go' is shorter than three letters
    assert cloze_example('He wrote "hello" and then wrote "hello"') is None  # word glued to a quote
    assert cloze_example("") is None


def test_three_letter_repeated_word_makes_an_item() -> None:
    item = cloze_example("The dog ran. We fed the dog.")
    assert item is not None and item.continuation == "dog" and item.context == "The dog ran. We fed the"


def test_long_pages_are_cut_at_a_sentence_start() -> None:
    filler = " ".join(f"Sentence number {i} mentions the harbour." for i in range(60))
    text = filler + " Everyone loves the harbour."
    item = cloze_example(text, max_context_words=40)
    assert item is not None and item.continuation == "harbour"
    words = item.context.split()
    assert len(words) <= 40 and item.context.startswith("Sentence number")
    assert cloze_example(text.replace(". ", "; "), max_context_words=40) is None  # no sentence start fits


def test_sample_pages_give_items_and_the_limit_holds() -> None:
    texts = [p["text"] for p in generate_pages(SamplePoolSpec(num_pages=400, seed=5))
             if p["metadata"]["sample_kind"] == "good"]
    items = list(cloze_examples(texts))
    assert len(items) >= 10
    assert len(list(cloze_examples(texts, limit=3))) == 3
    for item in items:
        assert item.continuation.lower() in item.context.lower()
        assert len(item.context.split()) <= 120


def test_written_task_loads_as_a_suite_and_as_llm_foundry_data(tmp_path: Path) -> None:
    texts = [p["text"] for p in generate_pages(SamplePoolSpec(num_pages=200, seed=6))
             if p["metadata"]["sample_kind"] == "good"]
    data, task_yaml = tmp_path / "cloze.jsonl", tmp_path / "cloze.yaml"
    count = write_cloze_task(cloze_examples(texts, limit=8), str(data), str(task_yaml))
    assert count == len(data.read_text().splitlines()) > 0
    (entry,) = load_suite(str(task_yaml)).tasks
    assert entry["label"] == CLOZE_LABEL and entry["dataset_uri"] == str(data)
    spec = IclTaskSpec.from_entry(entry)
    assert spec.task_type == "language_modeling" and spec.num_fewshot == 0
    records = icl.load_icl_examples(str(data), spec.task_type, False)
    assert len(records) == count and all(set(json.loads(line)) == {"context", "continuation"}
                                         for line in data.read_text().splitlines())
