"""llm-foundry ICL tasks: the JSONL formats, few-shot sampling and prompt construction DCLM's scores depend on.

DCLM evaluates with llm-foundry 0.9.0 (``llmfoundry/eval/datasets/in_context_learning_evaluation.py`` and
``utils.py``). A score is only comparable with DCLM's when every prompt is built token for token as there:

- Records are read from JSONL and every top-level string value is ``strip()``-ed (lists are left alone).
- Few-shot examples come from the same file (for ``has_categories`` tasks: the same category's partition), drawn
  with ONE ``random.Random(fewshot_random_seed)`` that advances through the examples in file order: for example
  ``i``, ``rng.sample(range(n), k)`` with ``k = min(n - 1, num_fewshot)``; if ``i`` was drawn it is removed and
  replaced by ``rng.choice(range(n))`` draws until one is neither ``i`` nor already chosen. The shots are then
  used in Python ``set`` iteration order (llm-foundry keeps them in a set), which :func:`fewshot_indices`
  reproduces by building the same set.
- One example renders as ``[example_delimiter if text precedes] + prelimiter + context + continuation_delimiter``
  (+ the answer for a shot). Shot answers never get a prefix space; the scored continuation does when the
  tokenizer is GPT-2-like (``" a"`` is one token) and it does not start with a space already.
- The preamble (prompt string + shots) and the test example's context are tokenized SEPARATELY and concatenated;
  the preamble with special tokens (a trailing EOS is dropped), the context and continuation without. The test
  context is ``rstrip()``-ed (not for schema tasks, whose context options keep their text).
- Schema tasks put each context option where the context goes; with shots present an option renders as
  ``prelimiter + example_delimiter + option + continuation_delimiter.rstrip()``, without shots as
  ``prelimiter + option`` (no delimiter at all).
- Too long an input loses context tokens on the left: ``trim_context``; the continuation is never cut.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dclm_resources.storage import Storage, iter_jsonl_lines, parse_jsonl_line

MULTIPLE_CHOICE = "multiple_choice"
SCHEMA = "schema"
LANGUAGE_MODELING = "language_modeling"
GENERATION = "generation_task_with_answers"
QUESTION_ANSWERING = "question_answering"  # llm-foundry's deprecated alias of generation_task_with_answers
TASK_TYPES = (MULTIPLE_CHOICE, SCHEMA, LANGUAGE_MODELING, GENERATION, QUESTION_ANSWERING)

# Required keys and their JSON types per task type (the llm-foundry record shapes).
REQUIRED_FIELDS: dict[str, dict[str, type | tuple[type, ...]]] = {
    MULTIPLE_CHOICE: {"query": str, "choices": list, "gold": int},
    SCHEMA: {"context_options": list, "continuation": str, "gold": int},
    LANGUAGE_MODELING: {"context": str, "continuation": str},
    GENERATION: {"context": str, "answer": str},
}
# llm-foundry's defaults (llmfoundry.utils.builders.build_icl_evaluators, 0.9.0).
DEFAULT_CONTINUATION_DELIMITER = " "
DEFAULT_EXAMPLE_DELIMITER = "\n"
DEFAULT_FEWSHOT_SEED = 1234
# llm-foundry allows a chain-of-thought answer this many tokens beyond the longest one in the data.
ANSWER_BUFFER_TOKENS = 10


class IclDataError(ValueError):
    """A task file or record is not in the llm-foundry format; the message names ``file:line``."""


def canonical_task_type(task_type: str) -> str:
    """``question_answering`` is llm-foundry's old name for ``generation_task_with_answers``."""
    if task_type not in TASK_TYPES:
        raise ValueError(f"unknown icl_task_type {task_type!r}; expected one of {', '.join(TASK_TYPES)}")
    return GENERATION if task_type == QUESTION_ANSWERING else task_type


def _check_record(record: dict[str, Any], task_type: str, where: str, needs_category: bool) -> None:
    for key, kind in REQUIRED_FIELDS[task_type].items():
        if key not in record:
            raise IclDataError(f"{where}: {task_type} record has no {key!r} key (keys: {sorted(record)})")
        value = record[key]
        if isinstance(value, bool) or not isinstance(value, kind):
            raise IclDataError(f"{where}: {key!r} must be {getattr(kind, '__name__', kind)}, got {type(value).__name__}")
    options = record.get("choices", record.get("context_options"))
    if task_type in (MULTIPLE_CHOICE, SCHEMA):
        if not options or not all(isinstance(o, str) for o in options):
            raise IclDataError(f"{where}: choices must be a non-empty list of strings")
        if not 0 <= record["gold"] < len(options):
            raise IclDataError(f"{where}: gold {record['gold']} is not an index into {len(options)} choices")
    if task_type == GENERATION:
        aliases = record.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise IclDataError(f"{where}: 'aliases' must be a list of strings")
        if "chain_of_thought" in record and not isinstance(record["chain_of_thought"], str):
            raise IclDataError(f"{where}: 'chain_of_thought' must be a string")
    if needs_category and not isinstance(record.get("category"), str):
        raise IclDataError(f"{where}: has_categories is set but the record has no string 'category'")


def load_icl_examples(
    uri: str, task_type: str, has_categories: bool = False, storage: Storage | None = None
) -> list[dict[str, Any]]:
    """All records of one llm-foundry JSONL file, checked for ``task_type`` and stripped as llm-foundry strips.

    Generation records get ``aliases`` = answer first, then the file's aliases, duplicates dropped (llm-foundry
    scores against the set ``{answer} | aliases``). Raises :class:`IclDataError` naming ``file:line``.
    """
    task_type = canonical_task_type(task_type)
    examples: list[dict[str, Any]] = []
    for line_no, raw in iter_jsonl_lines(uri, storage):
        where = f"{uri}:{line_no}"
        try:
            record = parse_jsonl_line(uri, line_no, raw)
        except ValueError as exc:
            raise IclDataError(str(exc)) from None
        _check_record(record, task_type, where, has_categories)
        if task_type == GENERATION:
            record["aliases"] = list(dict.fromkeys([record["answer"], *record.get("aliases", [])]))
        record["_line"] = line_no
        examples.append({k: v.strip() if isinstance(v, str) else v for k, v in record.items()})
    if not examples:
        raise IclDataError(f"{uri}: no records")
    return examples


def partition_by_category(examples: Sequence[dict[str, Any]]) -> dict[str, list[int]]:
    """Positions of the examples of each category, categories sorted (llm-foundry evaluates them in this order)."""
    groups: dict[str, list[int]] = {}
    for i, example in enumerate(examples):
        groups.setdefault(example["category"], []).append(i)
    return {cat: groups[cat] for cat in sorted(groups)}


def fewshot_indices(dataset_size: int, num_fewshot: int, example_idx: int, rng: random.Random) -> list[int]:
    """The shots for one example, in the order llm-foundry uses them (see the module docstring)."""
    k = min(dataset_size - 1, num_fewshot)
    chosen = set(rng.sample(range(0, dataset_size), k))
    if example_idx in chosen:
        chosen.remove(example_idx)
        if len(chosen) < dataset_size - 1:
            extra = rng.choice(range(0, dataset_size))
            while extra in chosen or extra == example_idx:
                extra = rng.choice(range(0, dataset_size))
            chosen.add(extra)
    return list(chosen)


def fewshot_plan(dataset_size: int, num_fewshot: int, seed: int) -> list[list[int]]:
    """Shots for every example of one dataset (one RNG advanced in example order, as in llm-foundry)."""
    if num_fewshot <= 0:
        return [[] for _ in range(dataset_size)]
    rng = random.Random(seed)
    return [fewshot_indices(dataset_size, num_fewshot, i, rng) for i in range(dataset_size)]


@dataclass(frozen=True)
class PromptFormat:
    """The string options of one task entry that shape its prompts (llm-foundry names, llm-foundry defaults)."""

    task_type: str
    continuation_delimiter: str = DEFAULT_CONTINUATION_DELIMITER
    example_delimiter: str = DEFAULT_EXAMPLE_DELIMITER
    prompt_string: str = ""
    prelimiter: str = ""
    cot_delimiter: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "task_type", canonical_task_type(self.task_type))


def shot_answer(example: dict[str, Any], fmt: PromptFormat) -> str:
    """The answer text written after a shot (never with an added prefix space)."""
    if fmt.task_type == MULTIPLE_CHOICE:
        return example["choices"][example["gold"]]
    if fmt.task_type == GENERATION:
        if "chain_of_thought" in example:
            return f"{example['chain_of_thought']}{fmt.cot_delimiter}{example['answer']}"
        return example["answer"]
    return example["continuation"]


def render_example(example: dict[str, Any], fmt: PromptFormat, preceded: bool, with_answer: bool) -> str:
    """One example as llm-foundry writes it; ``preceded``: text comes before it (so the delimiter goes first)."""
    if fmt.task_type == SCHEMA:
        text = example["context_options"][example["gold"]]
        if preceded:
            text = fmt.example_delimiter + text
        return f"{fmt.prelimiter}{text}{fmt.continuation_delimiter}{example['continuation']}"
    body = example["query"] if fmt.task_type == MULTIPLE_CHOICE else example["context"]
    text = fmt.prelimiter + body
    if preceded:
        text = fmt.example_delimiter + text
    text += fmt.continuation_delimiter
    return text + shot_answer(example, fmt) if with_answer else text


def render_preamble(examples: Sequence[dict[str, Any]], shots: Sequence[int], fmt: PromptFormat) -> str:
    """Prompt string followed by the shots (each shot checks the text before it for the delimiter rule)."""
    text = fmt.prompt_string
    for idx in shots:
        text += render_example(examples[idx], fmt, preceded=len(text) > 0, with_answer=True)
    return text


def scored_contexts(example: dict[str, Any], preamble: str, fmt: PromptFormat) -> list[str]:
    """The context text(s) of the scored example, tokenized after the preamble: one, or one per schema option."""
    if fmt.task_type == SCHEMA:
        if preamble:
            delim = fmt.continuation_delimiter.rstrip()
            return [f"{fmt.prelimiter}{fmt.example_delimiter}{c}{delim}" for c in example["context_options"]]
        return [f"{fmt.prelimiter}{c}" for c in example["context_options"]]
    return [render_example(example, fmt, preceded=len(preamble) > 0, with_answer=False).rstrip()]


def with_prefix_space(text: str, prefix_space: bool) -> str:
    """llm-foundry's continuation rule: GPT-2-like tokenizers get ``" " + text`` unless it starts with a space."""
    return f" {text}" if prefix_space and not text.startswith(" ") else text


def scored_continuations(example: dict[str, Any], fmt: PromptFormat, prefix_space: bool) -> list[str]:
    """The continuation text(s) whose log-likelihood is scored: one per choice, or the single continuation."""
    if fmt.task_type == MULTIPLE_CHOICE:
        return [with_prefix_space(c, prefix_space) for c in example["choices"]]
    if fmt.task_type in (SCHEMA, LANGUAGE_MODELING):
        return [with_prefix_space(example["continuation"], prefix_space)]
    raise ValueError(f"{fmt.task_type} tasks generate; they have no scored continuation")


def generation_answers(example: dict[str, Any]) -> list[str]:
    """What a generation counts as correct against: the answer and its aliases."""
    return list(example["aliases"])


def trim_context(context: Sequence[int], continuation_len: int, max_seq_len: int) -> Sequence[int]:
    """Keep the last ``max_seq_len - continuation_len`` context tokens (llm-foundry's ``trim_context``)."""
    if continuation_len + len(context) <= max_seq_len:
        return context
    budget = max_seq_len - continuation_len
    if budget < 0:
        raise ValueError(f"continuation of {continuation_len} tokens is longer than max_seq_len {max_seq_len}")
    return context[len(context) - budget :]


class IclTokenizer:
    """The tokenizer calls llm-foundry makes, over an HF ``tokenizers.Tokenizer`` (or our ``LoadedTokenizer``).

    ``eos_id`` is the EOT id: generation stops on it, and a preamble ending in it loses it (``_fix_eos_on_preamble``).
    """

    def __init__(self, tokenizer: Any, eos_id: int | None = None) -> None:
        inner = getattr(tokenizer, "tokenizer", tokenizer)
        if not hasattr(inner, "encode") or not hasattr(inner, "decode"):
            raise TypeError(f"expected a tokenizers.Tokenizer or LoadedTokenizer, got {type(tokenizer).__name__}")
        self.inner = inner
        self.source = tokenizer
        if eos_id is None:
            eos_id = getattr(tokenizer, "eot_id", None)
        if eos_id is None and hasattr(inner, "token_to_id"):
            eos_id = inner.token_to_id("<|endoftext|>")
        self.eos_id = eos_id
        self.prefix_space = len(self.encode(" a")) == 1

    @property
    def name(self) -> str:
        return str(getattr(self.source, "name", type(self.inner).__name__))

    def encode(self, text: str, special: bool = False) -> list[int]:
        return list(self.inner.encode(text, add_special_tokens=special).ids)

    def encode_batch(self, texts: Sequence[str], special: bool = False) -> list[list[int]]:
        return [list(e.ids) for e in self.inner.encode_batch(list(texts), add_special_tokens=special)]

    def encode_preamble(self, text: str) -> list[int]:
        """Prompt + shots: with special tokens, minus a trailing EOS when more than one token came out."""
        ids = self.encode(text, special=True)
        if self.eos_id is not None and len(ids) > 1 and ids[-1] == self.eos_id:
            ids = ids[:-1]
        return ids

    def decode(self, ids: Sequence[int]) -> str:
        return self.inner.decode(list(ids), skip_special_tokens=True)


def as_icl_tokenizer(tokenizer: Any) -> IclTokenizer:
    return tokenizer if isinstance(tokenizer, IclTokenizer) else IclTokenizer(tokenizer)
