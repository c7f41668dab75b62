"""DCLM's ICL task types as lm-eval ``Task`` subclasses, built from one suite task entry.

Each task reads its llm-foundry JSONL file, samples shots and builds prompts exactly as llm-foundry 0.9.0 does
(``icl.py``), tokenizes the preamble, context and continuation separately as llm-foundry does and sends them as
:class:`TokenizedText` so the ``dclm`` model scores those exact ids, and scores results with llm-foundry's rules
(``scoring.py``). Each task reports one metric, ``acc``; its per-example value is ``(category, correct)`` and its
aggregation is DCLM's: plain accuracy, or for ``has_categories`` tasks the unweighted mean of category accuracies.

Few-shot sampling is the tasks' own (llm-foundry's RNG and seed), so lm-eval's ``num_fewshot`` machinery is not
used: ``fewshot_context`` returns the llm-foundry prompt. Documents are in file order, so ``limit`` takes a
file's first records; their shots are the same as in a full run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from lm_eval.api.instance import Instance
from lm_eval.api.task import Task
from lm_eval.config.task import TaskConfig

from dclm_resources.evaluation import icl
from dclm_resources.evaluation.icl import IclTokenizer, PromptFormat, as_icl_tokenizer
from dclm_resources.evaluation.lm_eval_model import TokenizedText
from dclm_resources.evaluation.scoring import (
    category_mean,
    generation_correct,
    language_modeling_correct,
    multiple_choice_correct,
    per_category_accuracy,
)
from dclm_resources.evaluation.suites import ENTRY_DEFAULTS, resolve_dataset_path
from dclm_resources.storage import Storage, is_s3

METRIC = "acc"
_STRING_KEYS = ("continuation_delimiter", "example_delimiter", "prompt_string", "question_prelimiter", "cot_delimiter")


class MissingTaskDataError(FileNotFoundError):
    """A task's data file is absent: the task is reported missing, never silently dropped."""

    def __init__(self, label: str, path: str) -> None:
        super().__init__(f"task {label!r}: data file {path} does not exist")
        self.label = label
        self.path = path


@dataclass(frozen=True)
class IclTaskSpec:
    """One suite task entry with llm-foundry's defaults filled in (DCLM / llm-foundry key names)."""

    label: str
    dataset_uri: str
    num_fewshot: int
    fmt: PromptFormat
    has_categories: bool = False
    fewshot_random_seed: int = icl.DEFAULT_FEWSHOT_SEED
    early_stopping_criteria: tuple[str, ...] = ()
    do_normalization: bool = True

    @property
    def task_type(self) -> str:
        return self.fmt.task_type

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any], seed: int | None = None) -> IclTaskSpec:
        """Parse a task entry; ``seed`` overrides every ``fewshot_random_seed`` (DCLM's ``--seed``)."""
        label = entry.get("label")
        if not isinstance(label, str) or not label:
            raise ValueError(f"task entry {dict(entry)!r}: 'label' must be a non-empty string")
        where = f"task {label!r}"
        for key in ("dataset_uri", "icl_task_type"):
            if not isinstance(entry.get(key), str):
                raise ValueError(f"{where}: {key!r} must be a string")
        if entry["icl_task_type"] == "code_evaluation":
            raise ValueError(f"{where}: icl_task_type 'code_evaluation' is not supported (no DCLM suite scores it)")
        shots = entry.get("num_fewshot")
        shots = shots if isinstance(shots, list) else [shots]
        if len(shots) != 1 or not isinstance(shots[0], int) or isinstance(shots[0], bool) or shots[0] < 0:
            raise ValueError(f"{where}: 'num_fewshot' must be one non-negative integer (or a one-item list)")
        values = {key: entry.get(key, ENTRY_DEFAULTS.get(key, "")) for key in _STRING_KEYS}
        for key, value in values.items():
            if not isinstance(value, str):
                raise ValueError(f"{where}: {key!r} must be a string, got {type(value).__name__}")
        stops = entry.get("early_stopping_criteria") or []
        if not isinstance(stops, list | tuple) or not all(isinstance(s, str) for s in stops):
            raise ValueError(f"{where}: 'early_stopping_criteria' must be a list of strings")
        fewshot_seed = seed if seed is not None else entry.get("fewshot_random_seed", icl.DEFAULT_FEWSHOT_SEED)
        if not isinstance(fewshot_seed, int):
            raise ValueError(f"{where}: 'fewshot_random_seed' must be an integer")
        try:
            fmt = PromptFormat(
                task_type=entry["icl_task_type"],
                continuation_delimiter=values["continuation_delimiter"],
                example_delimiter=values["example_delimiter"],
                prompt_string=values["prompt_string"],
                prelimiter=values["question_prelimiter"],
                cot_delimiter=values["cot_delimiter"],
            )
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        return cls(
            label=label,
            dataset_uri=str(entry.get("dataset_path") or entry["dataset_uri"]),
            num_fewshot=shots[0],
            fmt=fmt,
            has_categories=bool(entry.get("has_categories", False)),
            fewshot_random_seed=fewshot_seed,
            early_stopping_criteria=tuple(stops),
            do_normalization=bool(entry.get("do_normalization", True)),
        )


@contextmanager
def _quiet_default_config() -> Iterator[None]:
    """lm-eval's ``Task.__init__`` builds a default generate-until config and warns about it; ours replaces it."""
    logger = logging.getLogger("lm_eval.config.task")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


class DclmIclTask(Task):
    """Common machinery: documents, shot plans per category partition, llm-foundry prompts, DCLM aggregation."""

    VERSION = 1
    OUTPUT_TYPE = "loglikelihood"

    def __init__(self, spec: IclTaskSpec, examples: list[dict[str, Any]], tokenizer: Any, source: str) -> None:
        self.spec = spec
        self.tok: IclTokenizer = as_icl_tokenizer(tokenizer)
        self.source = source
        self._examples = examples
        if spec.has_categories:
            self.partitions = icl.partition_by_category(examples)
        else:
            self.partitions = {None: list(range(len(examples)))}
        self._shots: list[list[int]] = [[] for _ in examples]
        self._category: list[str | None] = [None] * len(examples)
        for category, members in self.partitions.items():
            plan = icl.fewshot_plan(len(members), spec.num_fewshot, spec.fewshot_random_seed)
            for local, index in enumerate(members):
                self._shots[index] = [members[j] for j in plan[local]]
                self._category[index] = category
        self.category_results: dict[str | None, tuple[float, int]] = {}
        self._docs = [
            {**{k: v for k, v in ex.items() if k != "_line"}, "doc_index": i, "category": self._category[i],
             "line": ex["_line"]}
            for i, ex in enumerate(examples)
        ]
        with _quiet_default_config():
            super().__init__()
        self._config = TaskConfig(
            task=spec.label,
            num_fewshot=spec.num_fewshot,
            output_type=self.OUTPUT_TYPE,
            repeats=1,
            generation_kwargs=self._config_generation_kwargs(),
            metadata={"dataset": source, "icl_task_type": spec.task_type, "has_categories": spec.has_categories,
                      "fewshot_random_seed": spec.fewshot_random_seed, "tokenizer": self.tok.name},
        )

    def _config_generation_kwargs(self) -> dict[str, Any] | None:
        return None

    # -- lm-eval plumbing ----------------------------------------------------------------------------------

    def download(self, *args: Any, **kwargs: Any) -> None:
        """Nothing to download: the JSONL was read when the task was built."""

    def has_training_docs(self) -> bool:
        return False

    def has_validation_docs(self) -> bool:
        return False

    def has_test_docs(self) -> bool:
        return True

    def test_docs(self) -> list[dict[str, Any]]:
        return self._docs

    def aggregation(self) -> dict[str, Any]:
        return {METRIC: self._aggregate}

    def _aggregate(self, items: list[tuple[str | None, float]]) -> float:
        """DCLM's score; also keeps ``category_results`` ({category: (accuracy, count)}) for the report."""
        self.category_results = per_category_accuracy(items)
        return category_mean(items)

    def higher_is_better(self) -> dict[str, bool]:
        return {METRIC: True}

    def doc_to_text(self, doc: dict[str, Any]) -> str:
        return icl.scored_contexts(doc, "", self.spec.fmt)[0]

    def doc_to_target(self, doc: dict[str, Any]) -> str:
        if self.spec.task_type == icl.GENERATION:
            return doc["answer"]
        return icl.shot_answer(doc, self.spec.fmt)

    def fewshot_context(self, doc: dict[str, Any], num_fewshot: int | None = None, **kwargs: Any) -> str:
        """The llm-foundry prompt text (shots from the task's own plan; lm-eval's ``num_fewshot`` is not used)."""
        preamble = self.preamble(doc)
        return preamble + icl.scored_contexts(doc, preamble, self.spec.fmt)[0]

    # -- prompts -------------------------------------------------------------------------------------------

    def preamble(self, doc: dict[str, Any]) -> str:
        return icl.render_preamble(self._examples, self._shots[doc["doc_index"]], self.spec.fmt)

    def shots(self, doc: dict[str, Any]) -> list[int]:
        """Positions (in the file) of the examples used as this document's shots, in prompt order."""
        return list(self._shots[doc["doc_index"]])

    def contexts(self, doc: dict[str, Any]) -> list[TokenizedText]:
        """The tokenized context(s) of one document: preamble ids + separately tokenized context ids."""
        preamble = self.preamble(doc)
        preamble_ids = self.tok.encode_preamble(preamble)
        return [
            TokenizedText(preamble + text, preamble_ids + self.tok.encode(text))
            for text in icl.scored_contexts(doc, preamble, self.spec.fmt)
        ]

    def continuations(self, doc: dict[str, Any]) -> list[TokenizedText]:
        texts = icl.scored_continuations(doc, self.spec.fmt, self.tok.prefix_space)
        return [TokenizedText(t, ids) for t, ids in zip(texts, self.tok.encode_batch(texts), strict=True)]

    def _requests(self, doc: dict[str, Any], pairs: list[tuple[Any, Any]], kind: str, **kwargs: Any) -> list[Instance]:
        return [
            Instance(request_type=kind, doc=doc, arguments=args, idx=i, metadata=kwargs.get("metadata"))
            for i, args in enumerate(pairs)
        ]

    def _result(self, doc: dict[str, Any], correct: bool) -> dict[str, Any]:
        return {METRIC: (doc["category"], float(correct))}


class MultipleChoiceTask(DclmIclTask):
    """``multiple_choice`` (``query`` / ``choices`` / ``gold``), llm-foundry's MultipleChoiceAccuracy.

    One log-likelihood request per choice: context = preamble + ``prelimiter + query + continuation_delimiter``
    (rstripped), continuation = the choice (prefix space for GPT-2-like tokenizers). The prediction is the choice
    with the LOWEST MEAN per-token cross-entropy over its continuation tokens (first one on ties); the example is
    correct iff that is ``gold``. (lm-eval's default would sum log-likelihoods instead.)
    """

    OUTPUT_TYPE = "multiple_choice"

    def construct_requests(self, doc: dict[str, Any], ctx: str, **kwargs: Any) -> list[Instance]:
        (context,) = self.contexts(doc)
        return self._requests(doc, [(context, c) for c in self.continuations(doc)], "loglikelihood", **kwargs)

    def process_results(self, doc: dict[str, Any], results: list[tuple[float, bool]]) -> dict[str, Any]:
        counts = [len(c.token_ids) for c in self.continuations(doc)]
        return self._result(doc, multiple_choice_correct([r[0] for r in results], counts, doc["gold"]))


class SchemaTask(DclmIclTask):
    """``schema`` (``context_options`` / ``continuation`` / ``gold``), llm-foundry's MultipleChoiceAccuracy on
    partial evaluation.

    One request per context option, all with the same continuation (prefix space for GPT-2-like tokenizers);
    with shots an option renders as ``prelimiter + example_delimiter + option + continuation_delimiter.rstrip()``,
    without shots as ``prelimiter + option``. The prediction is the option under which the continuation has the
    LOWEST MEAN per-token cross-entropy (first on ties); correct iff it is ``gold``.
    """

    OUTPUT_TYPE = "multiple_choice"

    def construct_requests(self, doc: dict[str, Any], ctx: str, **kwargs: Any) -> list[Instance]:
        (continuation,) = self.continuations(doc)
        return self._requests(doc, [(c, continuation) for c in self.contexts(doc)], "loglikelihood", **kwargs)

    def process_results(self, doc: dict[str, Any], results: list[tuple[float, bool]]) -> dict[str, Any]:
        (continuation,) = self.continuations(doc)
        counts = [len(continuation.token_ids)] * len(results)
        return self._result(doc, multiple_choice_correct([r[0] for r in results], counts, doc["gold"]))


class LanguageModelingTask(DclmIclTask):
    """``language_modeling`` (``context`` / ``continuation``), llm-foundry's LMAccuracy.

    One request: context = preamble + ``prelimiter + context + continuation_delimiter`` (rstripped), continuation
    with a prefix space for GPT-2-like tokenizers. Correct iff the greedy argmax at EVERY continuation position
    equals the continuation token (lm-eval's ``is_greedy``).
    """

    OUTPUT_TYPE = "loglikelihood"

    def construct_requests(self, doc: dict[str, Any], ctx: str, **kwargs: Any) -> list[Instance]:
        (context,) = self.contexts(doc)
        (continuation,) = self.continuations(doc)
        return self._requests(doc, [(context, continuation)], "loglikelihood", **kwargs)

    def process_results(self, doc: dict[str, Any], results: list[tuple[float, bool]]) -> dict[str, Any]:
        return self._result(doc, language_modeling_correct(results[0][1]))


class GenerationTask(DclmIclTask):
    """``generation_task_with_answers`` (``context`` / ``answer`` / ``aliases`` [/ ``chain_of_thought``]),
    llm-foundry's GenerationExactMatchAccuracy.

    Greedy generation after preamble + ``prelimiter + context + continuation_delimiter`` (rstripped); shots end
    in ``chain_of_thought + cot_delimiter + answer`` when the data has chains of thought. At most
    ``max_answer_tokens`` new tokens: the longest tokenized answer/alias (with its chain of thought) in the
    task's data, plus 10 when ``cot_delimiter`` is set; generation also stops at EOT and at the
    ``early_stopping_criteria``. Scoring: cut at the first stop string, keep what follows the last
    ``cot_delimiter``, normalize, and count it correct iff it STARTS WITH a normalized answer or alias.
    """

    OUTPUT_TYPE = "generate_until"

    def _config_generation_kwargs(self) -> dict[str, Any]:
        self.max_answer_tokens = {cat: self._max_answer_tokens(members) for cat, members in self.partitions.items()}
        return {"until": list(self.spec.early_stopping_criteria), "do_sample": False,
                "max_gen_toks": max(self.max_answer_tokens.values())}

    def _max_answer_tokens(self, members: list[int]) -> int:
        responses = []
        for index in members:
            example = self._examples[index]
            cot = example.get("chain_of_thought")
            for answer in example["aliases"]:
                responses.append(answer if cot is None else f"{cot}{self.spec.fmt.cot_delimiter}{answer}")
        longest = max((len(ids) for ids in self.tok.encode_batch(responses, special=True)), default=0)
        longest += icl.ANSWER_BUFFER_TOKENS if self.spec.fmt.cot_delimiter else 0
        return max(longest, 1)

    def construct_requests(self, doc: dict[str, Any], ctx: str, **kwargs: Any) -> list[Instance]:
        (context,) = self.contexts(doc)
        gen_kwargs = {
            "until": list(self.spec.early_stopping_criteria),
            "max_gen_toks": self.max_answer_tokens[doc["category"]],
            "do_sample": False,
        }
        return self._requests(doc, [(context, gen_kwargs)], "generate_until", **kwargs)

    def process_results(self, doc: dict[str, Any], results: list[str]) -> dict[str, Any]:
        correct = generation_correct(
            results[0],
            icl.generation_answers(doc),
            stop_sequences=self.spec.early_stopping_criteria,
            cot_delimiter=self.spec.fmt.cot_delimiter,
            do_normalization=self.spec.do_normalization,
        )
        return self._result(doc, correct)


TASK_CLASSES: dict[str, type[DclmIclTask]] = {
    icl.MULTIPLE_CHOICE: MultipleChoiceTask,
    icl.SCHEMA: SchemaTask,
    icl.LANGUAGE_MODELING: LanguageModelingTask,
    icl.GENERATION: GenerationTask,
}


def task_data_path(spec: IclTaskSpec, data_dir: str | None) -> str:
    """Where a task's JSONL lives: an absolute or ``s3://`` URI as given, else under ``data_dir``."""
    if is_s3(spec.dataset_uri) or data_dir is None:
        return spec.dataset_uri
    return str(resolve_dataset_path(spec.dataset_uri, data_dir))


def build_icl_task(
    entry: Mapping[str, Any],
    data_dir: str | None,
    tokenizer: Any,
    seed: int | None = None,
    storage: Storage | None = None,
) -> DclmIclTask:
    """The lm-eval task for one suite entry; :class:`MissingTaskDataError` when its file is absent."""
    spec = IclTaskSpec.from_entry(entry, seed)
    storage = storage or Storage()
    path = task_data_path(spec, data_dir)
    if not storage.exists(path):
        raise MissingTaskDataError(spec.label, path)
    examples = icl.load_icl_examples(path, spec.task_type, spec.has_categories, storage)
    return TASK_CLASSES[spec.task_type](spec, examples, tokenizer, path)
