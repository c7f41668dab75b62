"""llm-foundry ICL formats: loading with file:line errors, few-shot sampling, prompts checked by hand."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from dclm_resources.evaluation import icl
from dclm_resources.evaluation.icl import IclDataError, PromptFormat
from dclm_resources.evaluation.lm_eval_tasks import build_icl_task
from dclm_tests.evaluation.scripted_models import bpe_tokenizer
from dclm_tests.paths import shared_data


def write_jsonl(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


MC_ROWS = [
    {"query": "Q0?", "choices": ["a0", "b0"], "gold": 0},
    {"query": "Q1?", "choices": ["a1", "b1"], "gold": 1},
    {"query": "Q2?", "choices": ["a2", "b2"], "gold": 0},
]


# -- loading -----------------------------------------------------------------------------------------------


def test_loads_every_real_task_file_of_its_type() -> None:
    root = shared_data("eval", "local_data")
    arc = icl.load_icl_examples(str(root / "world_knowledge" / "arc_easy.jsonl"), icl.MULTIPLE_CHOICE)
    assert len(arc) == 2376 and arc[0]["gold"] == 0 and arc[0]["_line"] == 1
    wino = icl.load_icl_examples(str(root / "language_understanding" / "winogrande.jsonl"), icl.SCHEMA)
    assert len(wino) == 1267 and len(wino[0]["context_options"]) == 2
    jeopardy = icl.load_icl_examples(
        str(root / "world_knowledge" / "jeopardy_all.jsonl"), icl.LANGUAGE_MODELING, has_categories=True
    )
    assert len(jeopardy) == 2117 and jeopardy[0]["category"] == "world_history"
    trivia = icl.load_icl_examples(str(root / "world_knowledge" / "triviaqa_sm_sub.jsonl"), "question_answering")
    assert trivia[0]["aliases"][0] == trivia[0]["answer"] == "Onion"
    assert len(trivia[0]["aliases"]) == len(set(trivia[0]["aliases"]))


def test_strings_are_stripped_as_llm_foundry_strips(tmp_path: Path) -> None:
    uri = write_jsonl(tmp_path / "lm.jsonl", [{"context": "  ctx  ", "continuation": " cont\n", "x": [" kept "]}])
    (record,) = icl.load_icl_examples(uri, icl.LANGUAGE_MODELING)
    assert record["context"] == "ctx" and record["continuation"] == "cont" and record["x"] == [" kept "]


@pytest.mark.parametrize(
    ("line", "task_type", "message"),
    [
        ('{"query": "q", "choices": ["a"]}', icl.MULTIPLE_CHOICE, "no 'gold' key"),
        ('{"query": "q", "choices": ["a", "b"], "gold": 2}', icl.MULTIPLE_CHOICE, "gold 2 is not an index"),
        ('{"query": "q", "choices": "ab", "gold": 0}', icl.MULTIPLE_CHOICE, "'choices' must be list"),
        ('{"context_options": ["a", "b"], "gold": 0}', icl.SCHEMA, "no 'continuation' key"),
        ('{"context": 3, "continuation": "c"}', icl.LANGUAGE_MODELING, "'context' must be str"),
        ('{"context": "c", "answer": "a", "aliases": "a"}', icl.GENERATION, "'aliases' must be a list"),
        ("{not json", icl.LANGUAGE_MODELING, "invalid JSON"),
    ],
)
def test_bad_records_name_file_and_line(tmp_path: Path, line: str, task_type: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    good = {
        icl.MULTIPLE_CHOICE: MC_ROWS[0],
        icl.SCHEMA: {"context_options": ["a", "b"], "continuation": "c", "gold": 0},
        icl.LANGUAGE_MODELING: {"context": "c", "continuation": "d"},
        icl.GENERATION: {"context": "c", "answer": "a"},
    }[task_type]
    path.write_text(json.dumps(good) + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(IclDataError) as err:
        icl.load_icl_examples(str(path), task_type)
    assert f"{path}:2" in str(err.value) and message in str(err.value)


def test_categories_are_required_when_asked(tmp_path: Path) -> None:
    uri = write_jsonl(tmp_path / "c.jsonl", [{"context": "c", "continuation": "d"}])
    with pytest.raises(IclDataError, match=r"c\.jsonl:1: has_categories"):
        icl.load_icl_examples(uri, icl.LANGUAGE_MODELING, has_categories=True)


def test_unknown_task_type_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown icl_task_type 'ranking'"):
        icl.canonical_task_type("ranking")


# -- few-shot sampling -------------------------------------------------------------------------------------


def _oracle_plan(n: int, k: int, seed: int) -> list[list[int]]:
    """llm-foundry's get_fewshot_sample_idxs, step by step, with one RNG over the examples in order."""
    rng = random.Random(seed)
    plan = []
    for i in range(n):
        picked = set(rng.sample(range(0, n), min(n - 1, k)))
        if i in picked:
            picked.discard(i)
            if len(picked) < n - 1:
                while True:
                    extra = rng.choice(range(0, n))
                    if extra not in picked and extra != i:
                        break
                picked.add(extra)
        plan.append(list(picked))
    return plan


def test_fewshot_plan_matches_llm_foundry_sampling() -> None:
    # Literal values of CPython's Mersenne Twister seeded 1234 (llm-foundry's default fewshot_random_seed).
    assert icl.fewshot_plan(5, 2, 1234) == [[3, 4], [0, 4], [0, 1], [0, 4], [0, 2]]
    assert icl.fewshot_plan(3, 1, 1234) == [[1], [0], [0]]
    for n, k, seed in [(2376, 10, 1234), (100, 3, 1), (40, 10, 7)]:
        plan = icl.fewshot_plan(n, k, seed)
        assert plan == _oracle_plan(n, k, seed)
        assert all(i not in shots and len(shots) == len(set(shots)) == k for i, shots in enumerate(plan))
    assert icl.fewshot_plan(40, 10, 7) == icl.fewshot_plan(40, 10, 7) != icl.fewshot_plan(40, 10, 8)


def test_fewshot_never_exceeds_the_other_examples() -> None:
    assert icl.fewshot_plan(4, 10, 1234) == [[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]]
    assert icl.fewshot_plan(3, 0, 1234) == [[], [], []]


# -- prompts (hand-checked strings) ----------------------------------------------------------------------------


def test_multiple_choice_prompt_by_hand() -> None:
    fmt = PromptFormat(icl.MULTIPLE_CHOICE, continuation_delimiter="\nAnswer: ")
    shots = icl.fewshot_plan(3, 2, 1234)[0]
    assert shots == [1, 2]
    preamble = icl.render_preamble(MC_ROWS, shots, fmt)
    assert preamble == "Q1?\nAnswer: b1\nQ2?\nAnswer: a2"
    assert icl.scored_contexts(MC_ROWS[0], preamble, fmt) == ["\nQ0?\nAnswer:"]
    assert icl.scored_contexts(MC_ROWS[0], "", fmt) == ["Q0?\nAnswer:"]
    assert icl.scored_continuations(MC_ROWS[0], fmt, prefix_space=True) == [" a0", " b0"]
    assert icl.scored_continuations(MC_ROWS[0], fmt, prefix_space=False) == ["a0", "b0"]


def test_prelimiter_prompt_string_and_cot_by_hand() -> None:
    rows = [
        {"context": "1+1?", "answer": "2", "chain_of_thought": "one and one", "aliases": ["2"]},
        {"context": "2+2?", "answer": "4", "chain_of_thought": "two and two", "aliases": ["4"]},
    ]
    fmt = PromptFormat(icl.GENERATION, continuation_delimiter="\nA: ", prompt_string="Math.",
                       prelimiter="Q: ", cot_delimiter=" #### ")
    preamble = icl.render_preamble(rows, [1], fmt)
    assert preamble == "Math.\nQ: 2+2?\nA: two and two #### 4"
    assert icl.scored_contexts(rows[0], preamble, fmt) == ["\nQ: 1+1?\nA:"]


def test_schema_prompt_by_hand() -> None:
    rows = [
        {"context_options": ["Tom ate because Tom", "Tom ate because food"], "continuation": "was hungry.", "gold": 0},
        {"context_options": ["It rained so we", "It rained so it"], "continuation": "stayed in.", "gold": 0},
    ]
    fmt = PromptFormat(icl.SCHEMA)  # continuation_delimiter " " (llm-foundry's default)
    preamble = icl.render_preamble(rows, [1], fmt)
    assert preamble == "It rained so we stayed in."
    assert icl.scored_contexts(rows[0], preamble, fmt) == ["\nTom ate because Tom", "\nTom ate because food"]
    assert icl.scored_contexts(rows[0], "", fmt) == ["Tom ate because Tom", "Tom ate because food"]
    assert icl.scored_continuations(rows[0], fmt, prefix_space=True) == [" was hungry."]


def test_task_tokenizes_preamble_and_context_separately() -> None:
    tok = bpe_tokenizer()
    entry = {"label": "arc_easy", "dataset_uri": "local_data/world_knowledge/arc_easy.jsonl", "num_fewshot": [10],
             "icl_task_type": "multiple_choice", "continuation_delimiter": "\nAnswer: "}
    task = build_icl_task(entry, str(shared_data("eval")), tok)
    doc = task.test_docs()[0]
    shots = task.shots(doc)
    assert len(shots) == 10 and 0 not in shots and shots == icl.fewshot_plan(2376, 10, 1234)[0]
    first = task.test_docs()[shots[0]]
    preamble = task.preamble(doc)
    assert preamble.startswith(f"{first['query']}\nAnswer: {first['choices'][first['gold']]}\n")
    (context,) = task.contexts(doc)
    assert str(context) == preamble + f"\n{doc['query']}\nAnswer:"
    ids = tok.tokenizer.encode(preamble).ids + tok.tokenizer.encode(f"\n{doc['query']}\nAnswer:").ids
    assert context.token_ids.tolist() == ids
    conts = task.continuations(doc)
    assert [str(c) for c in conts] == [" " + c for c in doc["choices"]]
    assert conts[0].token_ids.tolist() == tok.tokenizer.encode(" " + doc["choices"][0]).ids
    # DCLM's --seed overrides the entry's fewshot_random_seed
    reseeded = build_icl_task(entry, str(shared_data("eval")), tok, seed=1)
    assert reseeded.shots(doc) == icl.fewshot_plan(2376, 10, 1)[0] != shots


def test_category_tasks_draw_shots_within_their_category() -> None:
    tok = bpe_tokenizer()
    entry = {"label": "jeopardy", "dataset_uri": "local_data/world_knowledge/jeopardy_small.jsonl",
             "num_fewshot": [3], "icl_task_type": "language_modeling", "continuation_delimiter": "\nAnswer: ",
             "has_categories": True}
    task = build_icl_task(entry, str(shared_data("eval")), tok)
    docs = task.test_docs()
    assert list(task.partitions) == ["word_origins", "world_history"]
    members = task.partitions["word_origins"]
    plan = icl.fewshot_plan(len(members), 3, 1234)
    for local, index in enumerate(members):
        assert task.shots(docs[index]) == [members[j] for j in plan[local]]
        assert all(docs[s]["category"] == "word_origins" for s in task.shots(docs[index]))


def test_trim_context_keeps_the_right_end() -> None:
    assert icl.trim_context([1, 2, 3, 4, 5], 2, 5) == [3, 4, 5]
    assert icl.trim_context([1, 2], 2, 5) == [1, 2]
    with pytest.raises(ValueError, match="longer than max_seq_len"):
        icl.trim_context([1], 6, 5)
