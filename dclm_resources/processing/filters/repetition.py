"""Gopher repetition filters (Rae et al., 2021) with DCLM's ``repetition_filter`` semantics.

These dominate the heuristic pipeline's runtime on real pages, so the work is shared and cut short: one word
split per page (kept in the ``cache`` dict across the cascade), bigrams counted as tuples by ``Counter`` in C,
longer n-grams counted only where the shorter ones repeat, character counts from prefix sums, and shortcuts that
cannot change a result (no duplicate segment means a zero fraction).
"""

from __future__ import annotations

from collections import Counter
from itertools import accumulate, compress
from typing import Any

from dclm_resources.processing.registry import Page, mapper
from dclm_resources.processing.text import split_paragraphs, uniseg_words

CONTENT = "text"

# Gopher's defaults when ngram_char_ratio is not given.
_MOST_COMMON_SIZES = frozenset({2, 3, 4})
_ALL_SIZES = frozenset({5, 6, 7, 8, 9, 10})


def _segment_stats(
    text: str, granularity: str, cache: dict[str, Any], prefix: str
) -> tuple[list[str], Counter]:
    key = prefix + granularity
    if key not in cache:
        segments = split_paragraphs(text, paragraph_end="\n\n" if granularity == "paragraph" else "\n")
        cache[key] = segments
        cache[key + "/count"] = Counter(segments)
        cache[key + "/chars"] = sum(map(len, segments))  # stripped, non-empty segments only
    return cache[key], cache[key + "/count"]


def _segment_fraction(
    text: str, granularity: str, count_characters: bool, cache: dict[str, Any], prefix: str
) -> float | None:
    """Duplicated share of lines/paragraphs; None when there are no segments (the page is dropped)."""
    segments, counts = _segment_stats(text, granularity, cache, prefix)
    if len(segments) <= 1:
        return None if not segments else 0.0
    if len(counts) == len(segments):
        return 0.0
    if count_characters:
        repeated = sum(len(seg) * n for seg, n in counts.items() if n > 1)
        return repeated / cache[prefix + granularity + "/chars"]
    return sum(n for n in counts.values() if n > 1) / len(segments)


def _words(text: str, cache: dict[str, Any], prefix: str) -> tuple[list[str], int]:
    key = prefix + "words"
    if key not in cache:
        words = uniseg_words(text, ignore_punctuation=True)
        cache[key] = words
        cache[key + "/chars"] = sum(map(len, words))  # whitespace/punctuation are not counted
    return cache[key], cache[key + "/chars"]


def _repeated_ngrams(
    words: list[str], n: int, cache: dict[str, Any], prefix: str
) -> tuple[list[int], Counter]:
    """Start positions of n-grams that occur more than once, and the counts of (at least) those n-grams.

    An n-gram can only repeat where the (n-1)-grams at its position and the next one both repeat, so when the
    (n-1) answer is in the cache only those candidates are counted: every occurrence of a repeated n-gram is a
    candidate, so the counts of repeated n-grams stay exact. Otherwise all n-grams are counted.
    """
    previous = cache.get(f"{prefix}repeated/{n - 1}")
    if previous is not None:
        candidates = [i for i, j in zip(previous, previous[1:], strict=False) if j == i + 1]
        grams = [tuple(words[i : i + n]) for i in candidates]
        counts = Counter(grams)
        repeated = [i for i, gram in zip(candidates, grams, strict=True) if counts[gram] > 1]
    else:
        all_grams = (
            list(zip(*(words[i:] for i in range(n)), strict=False)) if n > 1 else [(w,) for w in words]
        )
        counts = Counter(all_grams)
        if len(counts) == len(all_grams):
            repeated = []
        else:
            flags = map((1).__lt__, map(counts.__getitem__, all_grams))
            repeated = list(compress(range(len(all_grams)), flags))
    cache[f"{prefix}repeated/{n}"] = repeated
    return repeated, counts


def _ngram_fraction(
    text: str, n: int, ngram_char_ratio: str | None, cache: dict[str, Any], prefix: str
) -> float:
    """Repeated-character share for word n-grams ('most_common' or 'all'); 0.0 when nothing repeats."""
    words, total_chars = _words(text, cache, prefix)
    if len(words) < n:
        return 0.0
    if ngram_char_ratio is None:
        if n in _MOST_COMMON_SIZES:
            ngram_char_ratio = "most_common"
        elif n in _ALL_SIZES:
            ngram_char_ratio = "all"
        else:
            raise ValueError(
                "For n-gram counts, if ngram_char_ratio is not given, the granularity must be one of "
                "{2,3,4,5,6,7,8,9,10}"
            )
    repeated, counts = _repeated_ngrams(words, n, cache, prefix)
    if not repeated:
        return 0.0
    if ngram_char_ratio not in ("most_common", "all"):
        raise ValueError("For n-gram counts, ngram_char_ratio must be one of {None, 'most_common', 'all'}")

    if ngram_char_ratio == "most_common":
        top = max(counts.values())
        # Ties on the count: the longest n-gram (in characters) is the one measured.
        longest = max(sum(map(len, gram)) for gram, c in counts.items() if c == top)
        return longest * top / total_chars

    key = prefix + "words/prefix_chars"
    if key not in cache:
        cache[key] = list(accumulate(map(len, words), initial=0))
    offsets = cache[key]
    covered = 0
    end = 0  # words before `end` are already counted
    for start in repeated:
        stop = start + n
        covered += offsets[stop] - offsets[start if start > end else end]
        end = stop
    return covered / total_chars


@mapper("filter")
def repetition_filter(
    page: Page,
    granularity: str | int,
    max_fraction: float,
    count_characters: bool = True,
    ngram_char_ratio: str | None = None,
    ignore_case: bool = False,
    cache: dict[str, Any] | None = None,
) -> list[Page]:
    """Drop the page if its repeated fraction at ``granularity`` exceeds ``max_fraction`` (strict ``>``).

    - 'line' / 'paragraph' (split on '\\n' / '\\n\\n', segments stripped, empty ones ignored; one segment →
      keep, none → drop): duplicated segments' share of segments (``count_characters=False``) or of characters.
    - int n: over uniseg words without punctuation, 'most_common' (default for n = 2..4) = characters of the
      most frequent n-gram (the longest among ties) × its count / word characters; 'all' (default for 5..10) =
      characters of words covered by any repeated n-gram / word characters. Fewer than n words → keep.
    - Empty text is dropped. ``cache`` shares splits between calls on the same page (and same ``ignore_case``).
    """
    text = page[CONTENT]
    if not isinstance(text, str):
        raise TypeError(f"page[{CONTENT!r}] must be a str, got {type(text).__name__}")
    if text == "":
        return []
    if cache is None:
        cache = {}
    prefix = ""
    if ignore_case:
        text, prefix = text.lower(), "lower:"

    if isinstance(granularity, str):
        if granularity not in ("line", "paragraph"):
            raise AssertionError("granularity must be either 'line', 'paragraph', or an int")
        fraction = _segment_fraction(text, granularity, count_characters, cache, prefix)
        if fraction is None:
            return []
    elif isinstance(granularity, int) and granularity >= 1:
        fraction = _ngram_fraction(text, granularity, ngram_char_ratio, cache, prefix)
    else:
        raise ValueError("granularity must be either 'line', 'paragraph', or an int")
    return [] if fraction > max_fraction else [page]


# DCLM's Gopher cascade: (granularity, max_fraction, count_characters); the first failing check drops the page.
MASSIVE_WEB_CHECKS: tuple[tuple[str | int, float, bool], ...] = (
    ("line", 0.3, False),
    ("paragraph", 0.3, False),
    ("line", 0.2, True),
    ("paragraph", 0.2, True),
    (2, 0.2, True),
    (3, 0.18, True),
    (4, 0.16, True),
    (5, 0.15, True),
    (6, 0.14, True),
    (7, 0.13, True),
    (8, 0.12, True),
    (9, 0.11, True),
    (10, 0.10, True),
)


@mapper("filter")
def massive_web_repetition_filters(page: Page, skip_paragraph: bool = False) -> list[Page]:
    """Gopher's repetition rules with DCLM's thresholds; ``skip_paragraph`` drops the paragraph checks."""
    cache: dict[str, Any] = {}
    for granularity, max_fraction, count_characters in MASSIVE_WEB_CHECKS:
        if skip_paragraph and granularity == "paragraph":
            continue
        if not repetition_filter(
            page, granularity, max_fraction, count_characters=count_characters, cache=cache
        ):
            return []
    return [page]
