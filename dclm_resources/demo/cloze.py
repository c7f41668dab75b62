"""A LAMBADA-style cloze task built from held-out pages, in llm-foundry's ``language_modeling`` JSONL format.

Why: offline, the DCLM task data is absent, yet the demo should still score its model with the same machinery as
the real tasks. LAMBADA (``lambada_openai`` in DCLM's suites) gives a passage and asks for its last word, scored
as exact greedy match of the continuation. Here the passage is the end of a held-out page: ``context`` is the
page text up to its last word (trailing punctuation dropped), ``continuation`` the last word.

Selection follows LAMBADA's idea that the word should be guessable from the passage, not only from the last
sentence: a page is used only when its last word already occurs earlier in the kept context. The context is cut
to at most ``max_context_words`` words at a sentence start, so that small CPU models (``micro``: 256 positions)
see the whole passage inside their training length.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from dclm_resources.storage import Storage, write_jsonl

CLOZE_LABEL = "demo_cloze"
DEFAULT_MAX_CONTEXT_WORDS = 120
MIN_WORD_CHARS = 3
# The last word, then only closing punctuation/quotes up to the end of the text.
_LAST_WORD = re.compile(r"(?<!\S)([A-Za-z][A-Za-z'\u2019-]*[A-Za-z])[\"'\u2019\u201d).,;:!?]*\s*\Z")
_SENTENCE_START = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"'\u2019\u201d)]))\s+|\n+")


@dataclass(frozen=True)
class ClozeExample:
    context: str
    continuation: str

    def to_record(self) -> dict[str, str]:
        return {"context": self.context, "continuation": self.continuation}


def _clip(context: str, max_words: int) -> str:
    """The longest tail of ``context`` with at most ``max_words`` words that starts at a sentence or line start."""
    if len(context.split()) <= max_words:
        return context
    starts = [m.end() for m in _SENTENCE_START.finditer(context)]
    for start in starts:  # earliest start whose tail fits
        tail = context[start:]
        if len(tail.split()) <= max_words:
            return tail
    return ""


def cloze_example(text: str, max_context_words: int = DEFAULT_MAX_CONTEXT_WORDS) -> ClozeExample | None:
    """The cloze item of one page, or None when the page does not make a fair one.

    None when: the text does not end in a word of at least 3 letters (after closing punctuation), the word is
    glued to the preceding character (a quote or bracket), no sentence-aligned tail fits the word budget, or
    the word does not occur earlier in the kept context (case-insensitive, as a whole word).
    """
    match = _LAST_WORD.search(text)
    if match is None or len(match.group(1)) < MIN_WORD_CHARS:
        return None
    word = match.group(1)
    context = _clip(text[: match.start(1)].rstrip(), max_context_words)
    if not context or context[-1] in "\"'(\u201c\u2018":
        return None
    if not re.search(rf"(?<![\w'\u2019-]){re.escape(word)}(?![\w'\u2019-])", context, flags=re.IGNORECASE):
        return None
    return ClozeExample(context=context, continuation=word)


def cloze_examples(
    texts: Iterable[str], limit: int | None = None, max_context_words: int = DEFAULT_MAX_CONTEXT_WORDS
) -> Iterator[ClozeExample]:
    """Cloze items of the pages that make one, in page order, at most ``limit``."""
    made = 0
    for text in texts:
        if limit is not None and made >= limit:
            return
        example = cloze_example(text, max_context_words)
        if example is not None:
            made += 1
            yield example


def cloze_task_entry(data_path: str, label: str = CLOZE_LABEL) -> dict[str, Any]:
    """The suite task entry (DCLM / llm-foundry keys) scoring ``data_path`` as ``lambada_openai`` is scored."""
    return {
        "label": label,
        "dataset_uri": data_path,
        "num_fewshot": [0],
        "icl_task_type": "language_modeling",
    }


def write_cloze_task(
    examples: Iterable[ClozeExample], data_uri: str, task_yaml_uri: str, storage: Storage | None = None
) -> int:
    """Write the JSONL items and a one-task suite YAML (``icl_tasks``) naming them; returns the item count.

    The YAML loads with ``evaluation.suites.load_suite`` and its entries go to ``evaluate_checkpoint(extra_tasks=)``.
    """
    storage = storage or Storage()
    count = write_jsonl((e.to_record() for e in examples), data_uri, storage)
    if count == 0:
        raise ValueError(f"{data_uri}: no held-out page made a cloze item (need pages ending in a repeated word)")
    header = (
        "# LAMBADA-style cloze task of `dclm demo`, built from held-out sample pages (dclm_resources/demo/cloze.py).\n"
        "# Not a DCLM task: scored like lambada_openai (language_modeling, 0-shot, exact greedy match).\n"
    )
    body = yaml.safe_dump({"icl_tasks": [cloze_task_entry(data_uri)]}, sort_keys=False)
    storage.write_text(task_yaml_uri, header + body)
    return count
