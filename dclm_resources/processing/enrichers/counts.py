"""Counting enrichers: lines and words of ``page["text"]`` stored under a key (DCLM ``enrichers/enrichers.py``)."""

from __future__ import annotations

from dclm_resources.processing.registry import Page, mapper
from dclm_resources.processing.text import split_paragraphs, split_words

CONTENT = "text"


def check_key(page: Page, key: str, overwrite: bool) -> None:
    """Refuse to replace an existing enrichment unless ``overwrite``: DCLM's assertion, raised explicitly so that
    it survives ``python -O`` (same type and message, so callers catching AssertionError still work)."""
    if not overwrite and key in page:
        raise AssertionError(f"cannot overwrite an existing key {key}")


@mapper("enricher")
def line_counter_enricher(
    page: Page,
    paragraph_end: str = "\n",
    remove_empty: bool = True,
    key: str = "num_lines",
    overwrite: bool = False,
) -> list[Page]:
    """``page[key]`` = number of lines (``split_paragraphs``; blank ones not counted by default)."""
    check_key(page, key, overwrite)
    page[key] = len(split_paragraphs(page[CONTENT], paragraph_end, remove_empty))
    return [page]


@mapper("enricher")
def word_counter_enricher(
    page: Page,
    key: str = "word_count",
    overwrite: bool = False,
    ignore_punctuation: bool = True,
    model: str = "fasttext",
    ignore_whitespace: bool = True,
) -> list[Page]:
    """``page[key]`` = number of words (``split_words``; punctuation tokens not counted by default).

    DCLM-Baseline stores it as ``previous_word_count`` before the line modifiers, for
    ``word_removal_ratio_filter``. DCLM forwards ``**kwargs`` to ``split_words``; they are spelled out here.
    """
    check_key(page, key, overwrite)
    page[key] = len(split_words(page[CONTENT], model, ignore_punctuation, ignore_whitespace))
    return [page]
