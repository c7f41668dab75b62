"""Each DCLM task type on real llm-foundry task data, through lm-eval, with scripted models whose answers are known:
one that prefers the gold answer (accuracy 1.0) and one that prefers a wrong one (accuracy 0.0)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from dclm_resources.evaluation.lm_eval_model import DclmLM
from dclm_resources.evaluation.lm_eval_tasks import DclmIclTask, build_icl_task
from dclm_resources.evaluation.runner import evaluate_tasks
from dclm_resources.evaluation.scoring import normalize_answer
from dclm_tests.evaluation.scripted_models import KeyedContinuationModel, bpe_tokenizer, key_of, vocab_size
from dclm_tests.paths import shared_data

# DCLM's task entries (eval/heavy.yaml), as the suite files give them.
ARC_EASY = {"label": "arc_easy", "dataset_uri": "local_data/world_knowledge/arc_easy.jsonl", "num_fewshot": [10],
            "icl_task_type": "multiple_choice", "continuation_delimiter": "\nAnswer: "}
COPA = {"label": "copa", "dataset_uri": "local_data/commonsense_reasoning/copa.jsonl", "num_fewshot": [0],
        "icl_task_type": "multiple_choice"}
WINOGRANDE = {"label": "winogrande", "dataset_uri": "local_data/language_understanding/winogrande.jsonl",
              "num_fewshot": [0], "icl_task_type": "schema"}
LAMBADA = {"label": "lambada_openai", "dataset_uri": "local_data/language_understanding/lambada_openai.jsonl",
           "num_fewshot": [0], "icl_task_type": "language_modeling"}
OPERATORS = {"label": "bigbench_operators", "dataset_uri": "local_data/symbolic_problem_solving/bigbench_operators.jsonl",
             "num_fewshot": [10], "icl_task_type": "language_modeling"}
JEOPARDY_SMALL = {"label": "jeopardy", "dataset_uri": "local_data/world_knowledge/jeopardy_small.jsonl",
                  "num_fewshot": [10], "icl_task_type": "language_modeling", "continuation_delimiter": "\nAnswer: ",
                  "has_categories": True}
TRIVIAQA = {"label": "triviaqa_sm_sub", "dataset_uri": "local_data/world_knowledge/triviaqa_sm_sub.jsonl",
            "num_fewshot": [3], "icl_task_type": "generation_task_with_answers"}
GSM8K = {"label": "gsm8k_cot", "dataset_uri": "local_data/symbolic_problem_solving/gsm8k.jsonl", "num_fewshot": [3],
         "icl_task_type": "generation_task_with_answers", "cot_delimiter": " #### ",
         "continuation_delimiter": "\nA: Let's think step by step. ", "question_prelimiter": "Q: ",
         "early_stopping_criteria": ["\n\n", "Q:", "Q: "]}
LIMIT = 8


def data_dir() -> str:
    return str(shared_data("eval"))


def requests_by_doc(entry: dict[str, Any], limit: int = LIMIT, directory: str | None = None) -> tuple[DclmIclTask, dict]:
    """The task and its lm-eval requests grouped by document (what the scripted models are keyed on)."""
    task = build_icl_task(entry, directory or data_dir(), bpe_tokenizer())
    task.build_all_requests(limit=limit)
    grouped: dict[int, list] = defaultdict(list)
    for inst in task.instances:
        grouped[inst.doc_id].append(inst)
    return task, dict(grouped)


def run(entry: dict[str, Any], rules: list, limit: int = LIMIT, directory: str | None = None):
    tok = bpe_tokenizer()
    lm = DclmLM(KeyedContinuationModel(rules, vocab_size(tok)), tok, batch_size=8, max_seq_len=2048)
    results = evaluate_tasks(lm, [entry], directory or data_dir(), limit=limit)
    assert results is not None and not results.missing
    return results


def assert_no_choice_is_a_prefix(conts: list) -> None:
    ids = [c.token_ids.tolist() for c in conts]
    for i, a in enumerate(ids):
        for j, b in enumerate(ids):
            assert i == j or b[: len(a)] != a, "test slice needs choices that are not token prefixes of each other"


@pytest.mark.parametrize("entry", [ARC_EASY, COPA], ids=["arc_easy-10shot", "copa-0shot"])
def test_multiple_choice(entry: dict[str, Any]) -> None:
    _, by_doc = requests_by_doc(entry)
    gold_rules, wrong_rules = [], []
    for insts in by_doc.values():
        gold = insts[0].doc["gold"]
        assert_no_choice_is_a_prefix([i.args[1] for i in insts])
        key = key_of(insts[0].args[0].token_ids)
        gold_rules.append((key, insts[gold].args[1].token_ids, 30.0))
        wrong_rules.append((key, insts[(gold + 1) % len(insts)].args[1].token_ids, 30.0))
    assert run(entry, gold_rules).scores == {entry["label"]: 1.0}
    assert run(entry, wrong_rules).scores == {entry["label"]: 0.0}


def test_multiple_choice_picks_lowest_mean_loss_not_lowest_sum(tmp_path: Path) -> None:
    """Gold answers that are long and likely per token beat short wrong ones that have the higher total score."""
    tok = bpe_tokenizer()
    rows = [json.loads(line) for line in shared_data("eval", "local_data", "world_knowledge", "arc_easy.jsonl").open()]
    chosen = []
    for row in rows[:400]:
        lengths = [len(tok.tokenizer.encode(" " + c).ids) for c in row["choices"]]
        if lengths[row["gold"]] >= 3 * min(n for i, n in enumerate(lengths) if i != row["gold"]):
            chosen.append(row)
    assert len(chosen) >= 4
    (tmp_path / "arc_long_gold.jsonl").write_text("".join(json.dumps(r) + "\n" for r in chosen[:6]), encoding="utf-8")
    entry = {**ARC_EASY, "dataset_uri": str(tmp_path / "arc_long_gold.jsonl"), "num_fewshot": [0]}
    _, by_doc = requests_by_doc(entry, limit=None, directory=str(tmp_path))
    rules = []
    for insts in by_doc.values():
        gold = insts[0].doc["gold"]
        short = min((i for i in range(len(insts)) if i != gold), key=lambda i: len(insts[i].args[1].token_ids))
        key = key_of(insts[0].args[0].token_ids)
        rules += [(key, insts[gold].args[1].token_ids, 8.0), (key, insts[short].args[1].token_ids, 7.5)]
    model = KeyedContinuationModel(rules, vocab_size(tok))
    lm = DclmLM(model, tok, batch_size=4, max_seq_len=2048)
    for insts in by_doc.values():  # precondition: the two rules disagree on every document
        scores = lm.loglikelihood(insts)
        counts = [len(i.args[1].token_ids) for i in insts]
        by_mean = min(range(len(scores)), key=lambda i: -scores[i][0] / counts[i])
        by_sum = max(range(len(scores)), key=lambda i: scores[i][0])
        assert by_mean == insts[0].doc["gold"] != by_sum
    results = evaluate_tasks(lm, [entry], str(tmp_path))
    assert results is not None and results.scores == {"arc_easy": 1.0} and results.counts == {"arc_easy": len(by_doc)}


def test_schema() -> None:
    _, by_doc = requests_by_doc(WINOGRANDE)
    gold_rules, wrong_rules = [], []
    for insts in by_doc.values():
        gold = insts[0].doc["gold"]
        continuation = insts[0].args[1].token_ids
        gold_rules.append((key_of(insts[gold].args[0].token_ids), continuation, 30.0))
        wrong_rules.append((key_of(insts[1 - gold].args[0].token_ids), continuation, 30.0))
    assert run(WINOGRANDE, gold_rules).scores == {"winogrande": 1.0}
    assert run(WINOGRANDE, wrong_rules).scores == {"winogrande": 0.0}


@pytest.mark.parametrize("entry", [LAMBADA, OPERATORS], ids=["lambada-0shot", "bigbench_operators-10shot"])
def test_language_modeling(entry: dict[str, Any]) -> None:
    _, by_doc = requests_by_doc(entry)
    gold_rules, wrong_rules = [], []
    for (inst,) in by_doc.values():
        key, cont = key_of(inst.args[0].token_ids), inst.args[1].token_ids.tolist()
        gold_rules.append((key, cont, 30.0))
        # the right continuation except its last token: exact greedy match must fail on one position
        wrong = cont[:-1] + [(cont[-1] + 1) % 2048]
        wrong_rules.append((key, wrong, 30.0))
    assert run(entry, gold_rules).scores == {entry["label"]: 1.0}
    assert run(entry, wrong_rules).scores == {entry["label"]: 0.0}


def test_categories_are_averaged_unweighted_over_real_jeopardy() -> None:
    task, by_doc = requests_by_doc(JEOPARDY_SMALL, limit=12)
    rules = [
        (key_of(inst.args[0].token_ids), inst.args[1].token_ids, 30.0)
        for (inst,) in by_doc.values()
        if inst.doc["category"] == "world_history"
    ]
    results = run(JEOPARDY_SMALL, rules, limit=12)
    detail = results.details["jeopardy"]
    assert detail.categories == {"word_origins": (0.0, 4), "world_history": (1.0, 8)}
    assert results.scores == {"jeopardy": 0.5}  # not 8/12: categories weigh the same
    assert detail.num_examples == 12 and detail.num_fewshot == 10


def _answer_rules(by_doc: dict, text_for) -> list:
    tok = bpe_tokenizer()
    return [
        (key_of(inst.args[0].token_ids), tok.tokenizer.encode(text_for(inst.doc)).ids, 30.0)
        for (inst,) in by_doc.values()
    ]


def test_generation_with_aliases() -> None:
    _, by_doc = requests_by_doc(TRIVIAQA)
    docs = [insts[0].doc for insts in by_doc.values()]
    gold = _answer_rules(by_doc, lambda d: " " + d["aliases"][-1])
    answers = [d["answer"] for d in docs]
    rotated = {d["doc_index"]: answers[(n + 1) % len(docs)] for n, d in enumerate(docs)}
    for d in docs:
        assert not any(normalize_answer(rotated[d["doc_index"]]).startswith(normalize_answer(a)) for a in d["aliases"])
    wrong = _answer_rules(by_doc, lambda d: " " + rotated[d["doc_index"]])
    assert run(TRIVIAQA, gold).scores == {"triviaqa_sm_sub": 1.0}
    assert run(TRIVIAQA, wrong).scores == {"triviaqa_sm_sub": 0.0}


def test_generation_with_chain_of_thought_and_stop_sequences() -> None:
    task, by_doc = requests_by_doc(GSM8K, limit=4)
    (inst, *_) = next(iter(by_doc.values()))
    assert inst.args[1]["until"] == ["\n\n", "Q:", "Q: "] and inst.args[1]["max_gen_toks"] > 10
    assert str(inst.args[0]).endswith(f"\nQ: {inst.doc['context']}\nA: Let's think step by step.")
    # the model writes its reasoning, the answer after " #### ", then rambles on past a stop sequence
    gold = _answer_rules(by_doc, lambda d: f" {d['chain_of_thought']} #### {d['answer']}\n\nQ: And? #### 0")
    wrong = _answer_rules(by_doc, lambda d: f" {d['chain_of_thought']} #### {int(d['answer']) + 1}\n\nQ: #### 0")
    assert run(GSM8K, gold, limit=4).scores == {"gsm8k_cot": 1.0}
    assert run(GSM8K, wrong, limit=4).scores == {"gsm8k_cot": 0.0}


def test_missing_task_files_are_reported_not_dropped() -> None:
    hellaswag = {"label": "hellaswag", "dataset_uri": "local_data/language_understanding/hellaswag.jsonl",
                 "num_fewshot": [10], "icl_task_type": "multiple_choice"}
    results = run_random([COPA, hellaswag], limit=3)
    assert set(results.scores) == {"copa"}
    assert results.missing == {"hellaswag": str(Path(data_dir()) / "local_data/language_understanding/hellaswag.jsonl")}


def run_random(entries: list[dict[str, Any]], limit: int):
    tok = bpe_tokenizer()
    lm = DclmLM(KeyedContinuationModel([], vocab_size(tok)), tok, batch_size=8, max_seq_len=2048)
    return evaluate_tasks(lm, entries, data_dir(), limit=limit)


def test_bad_entries_are_named() -> None:
    tok = bpe_tokenizer()
    with pytest.raises(ValueError, match="task 'copa': 'num_fewshot'"):
        build_icl_task({**COPA, "num_fewshot": [0, 5]}, data_dir(), tok)
    with pytest.raises(ValueError, match="'continuation_delimiter' must be a string"):
        build_icl_task({**COPA, "continuation_delimiter": 3}, data_dir(), tok)
    with pytest.raises(ValueError, match="unknown icl_task_type"):
        build_icl_task({**COPA, "icl_task_type": "ranking"}, data_dir(), tok)
