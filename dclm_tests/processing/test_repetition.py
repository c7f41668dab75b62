"""Gopher repetition filters: DCLM's exact fractions, and the fast implementation against a plain one on real pages."""

from __future__ import annotations

import functools
import gzip
import json
import time
from collections import Counter

import pytest

from dclm_resources.processing import get_mapper
from dclm_resources.processing.filters.repetition import (
    MASSIVE_WEB_CHECKS,
    _ngram_fraction,
    _segment_fraction,
)
from dclm_resources.processing.text import _uniseg_fast, split_paragraphs, uniseg_words
from dclm_tests.paths import shared_data


def rep(text: str, granularity: str | int, max_fraction: float, **params) -> bool:
    """True when the page is kept."""
    page = {"text": text}
    result = get_mapper("repetition_filter", granularity=granularity, max_fraction=max_fraction, **params)(
        page
    )
    assert result in ([], [page])
    return bool(result)


def test_empty_text_is_dropped_at_every_granularity() -> None:
    for granularity in ("line", "paragraph", 2, 8):
        assert not rep("", granularity, 1)
    assert not rep("\n \n", "line", 1)  # no non-empty segment


def test_single_segment_is_kept() -> None:
    assert rep("Hello, World.", "line", 0.0, count_characters=False)
    assert rep("Hello, World.", "line", 0.0, count_characters=True)
    assert rep("Hello, World.\nagain", "paragraph", 0.0)


def test_line_fractions_ignore_empty_lines() -> None:
    text = "Hello\nHello\n\n\n\nHello"
    assert rep(text, "line", 1, count_characters=False)
    assert not rep(text, "line", 0.99, count_characters=False)
    assert rep(text, "line", 1, count_characters=True)
    assert not rep(text, "line", 0.99, count_characters=True)


@pytest.mark.parametrize(
    ("text", "granularity", "by_count", "by_chars"),
    [
        ("Hello, World.\nHello, World.\n\nHello", "line", 2 / 3, 26 / 31),
        ("Hello, World.\n\nHello, World.\n\nHello, World.\nHello", "paragraph", 2 / 3, 26 / 45),
    ],
)
def test_segment_fractions_are_exact(text: str, granularity: str, by_count: float, by_chars: float) -> None:
    assert rep(text, granularity, by_count + 1e-2, count_characters=False)
    assert not rep(text, granularity, by_count - 1e-2, count_characters=False)
    assert rep(text, granularity, by_count, count_characters=False)  # strict '>'
    assert rep(text, granularity, by_chars + 1e-2, count_characters=True)
    assert not rep(text, granularity, by_chars - 1e-2, count_characters=True)


def test_segments_are_stripped_before_comparison() -> None:
    assert not rep("  same line\nsame line  \n\tsame line", "line", 0.5)


def test_ngrams_need_enough_words() -> None:
    assert rep("hello", 2, 0.0)
    assert rep("hello", 5, 0.0)
    assert rep("hello", 11, 0.0)  # too few words: kept before the unknown-size error


def test_most_common_ngram_covers_everything() -> None:
    for n in (2, 3, 4):
        assert not rep("hello world hello world hello world", n, 0.99)


def test_ngrams_ignore_punctuation_and_spacing() -> None:
    text = "hello      world hello apple.... world hello\n world hello"
    assert rep(text, 2, 30 / 40 + 1e-2)
    assert not rep(text, 2, 30 / 40 - 1e-2)
    assert rep(text, 3, 30 / 40 + 1e-2)
    assert not rep(text, 3, 30 / 40 - 1e-2)
    assert rep(text, 4, 0)


@pytest.mark.parametrize(
    "text", ["a b a b a b ab cd ab cd ab cd abc def abc def", "a b a b a b abc def abc def ab cd ab cd ab cd"]
)
def test_most_common_ties_take_the_longest_ngram(text: str) -> None:
    # (a b) and (ab cd) both occur 3 times: the longer one counts, 4 chars × 3 / 30 chars
    assert rep(text, 2, 12 / 30 + 1e-2)
    assert not rep(text, 2, 12 / 30 - 1e-2)


def test_all_repeated_ngrams_fraction() -> None:
    text = "hello world hello\n world hello. apple world hello world hello world hello world"
    assert rep(text, 5, 60 / 65 + 1e-2)
    assert not rep(text, 5, 60 / 65 - 1e-2)


def test_explicit_ngram_char_ratio_and_ignore_case() -> None:
    text = "Red fish blue fish red Fish blue fish"
    assert rep(text, 2, 0.0, ngram_char_ratio="all", ignore_case=False) is False
    # case-insensitively 'red fish blue fish' repeats whole: every word is covered
    assert not rep(text, 4, 0.99, ngram_char_ratio="all", ignore_case=True)
    assert rep(text, 4, 0.99, ngram_char_ratio="all", ignore_case=False)
    assert not rep("a a a a", 1, 0.5, ngram_char_ratio="most_common")


def test_errors() -> None:
    with pytest.raises(ValueError, match="granularity must be one of"):
        rep("a b a b a b a b a b a b", 11, 0.5)
    with pytest.raises(ValueError, match="ngram_char_ratio"):
        rep("a b a b", 2, 0.5, ngram_char_ratio="median")
    with pytest.raises(AssertionError):
        rep("a\nb", "sentence", 0.5)
    with pytest.raises(ValueError):
        rep("a\nb", 2.5, 0.5)
    with pytest.raises(TypeError):
        rep(None, "line", 0.5)  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        get_mapper("repetition_filter", granularity="line", max_fraction=0.3)({})


# ---------------------------------------------------------------------------------------------- the cascade

LONG_OK = (
    "This is a complex sentence with unique words.\n"
    "Here is another one.\n We can say a lot of things, because we want this page to not be filtered out.\n"
    "However, in order to make sure all parts of the code are reached,\nwe craete a long n-gram that is repeated:\n"
    "a complex sentence with unique words.\nNow just making sure that the freq count is low enough so it will not "
    "filter out anything.\nSince our n-gram is quite long, need to add a lot of text here in order to verify it is "
    "indeed not filtered out. I hope that is enough.\nLorem ipsum dolor sit amet, consectetur adipiscing elit, sed do "
    "eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation "
    "ullamco laboris nisi ut aliquip ex ea commodo consequat."
)


def test_massive_web_repetition_filters_cases_and_speed() -> None:
    fn = get_mapper("massive_web_repetition_filters")
    start = time.perf_counter()
    for _ in range(100):
        ok = {"text": "This is a complex sentence with unique words.\n Here is another one."}
        assert fn(ok) == [ok]
        assert fn({"text": "Repeat repeat repeat repeat."}) == []
        assert fn({"text": ""}) == []
        long_ok = {"text": LONG_OK}
        assert fn(long_ok) == [long_ok]
        with pytest.raises(TypeError):
            fn({"text": None})
    assert time.perf_counter() - start < 1.0


def test_skip_paragraph_only_skips_the_paragraph_checks() -> None:
    cascade = get_mapper("massive_web_repetition_filters")
    # a real C4 page (one paragraph of many distinct lines) that passes, behind a short paragraph said twice:
    # 2 of 3 paragraphs are duplicates (> 0.3) while only 2 of >10 lines are (< 0.3)
    base = next(
        t
        for t in _real_pages()[:150]
        if "\n\n" not in t and t.count("\n") >= 10 and cascade({"text": t}) == [{"text": t}]
    )
    page = {"text": f"Contact us\n\nContact us\n\n{base}"}
    assert cascade(page) == []
    assert get_mapper("massive_web_repetition_filters", skip_paragraph=True)(page) == [page]
    assert (
        get_mapper("repetition_filter", granularity="paragraph", max_fraction=0.3, count_characters=False)(
            page
        )
        == []
    )
    assert get_mapper("repetition_filter", granularity="line", max_fraction=0.3, count_characters=False)(
        page
    ) == [page]


# ---------------------------------------------------------------------------------------------- real pages


@functools.lru_cache(maxsize=4)
def _words(text: str) -> list[str]:
    return uniseg_words(text, ignore_punctuation=True)


def _plain_fraction(text: str, granularity: str | int, count_characters: bool) -> float | None:
    """DCLM's definition, written plainly (no cache, no shortcuts); None means the page is dropped outright."""
    if text == "":
        return None
    if isinstance(granularity, str):
        segments = split_paragraphs(text, "\n\n" if granularity == "paragraph" else "\n")
        if len(segments) <= 1:
            return None if not segments else 0.0
        counts = Counter(segments)
        if count_characters:
            return sum(len(s) * c for s, c in counts.items() if c > 1) / sum(len(s) for s in segments)
        return sum(c for c in counts.values() if c > 1) / len(segments)
    words = _words(text)
    n = granularity
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    if not grams:
        return 0.0
    counts = Counter(grams)
    total = sum(len(w) for w in words)
    if n <= 4:
        top = max(counts.values())
        if top == 1:
            return 0.0
        return max(sum(len(w) for w in g) for g, c in counts.items() if c == top) * top / total
    covered = {j for i, g in enumerate(grams) if counts[g] > 1 for j in range(i, i + n)}
    return sum(len(words[j]) for j in covered) / total


def _real_pages() -> list[str]:
    """150 C4 pages, then 150 raw Common Crawl pages (skipping scripts that take uniseg's slow path)."""
    c4 = shared_data("web", "jsonl", "c4_en_sample", "c4_sample.jsonl")
    texts = [json.loads(line)["text"] for line in c4.open()][:150]
    cc = shared_data(
        "web", "jsonl", "dolma_cc_2019_30", "CC-MAIN-20190717121559-20190717143559-00140.jsonl.gz"
    )
    with gzip.open(cc, "rt", encoding="utf-8") as fh:
        raw = [json.loads(line)["text"] for line in fh]
    fast = _uniseg_fast()
    texts += [t for t in raw if len(t) < 30_000 and not fast.is_slow(t)][:150]
    return texts


def test_every_check_matches_the_plain_definition_on_real_pages() -> None:
    cascade = get_mapper("massive_web_repetition_filters")
    kept_count = 0
    for text in _real_pages():
        page = {"text": text}
        expected_keep = True
        shared: dict = {}  # as in the cascade: each n-gram size reuses the previous size's repeated positions
        for granularity, max_fraction, count_characters in MASSIVE_WEB_CHECKS:
            plain = _plain_fraction(text, granularity, count_characters)
            keep = plain is not None and plain <= max_fraction
            params = {"count_characters": count_characters}
            assert rep(text, granularity, max_fraction, **params) == keep, (granularity, text[:80])
            assert rep(text, granularity, max_fraction, cache=shared, **params) == keep, (
                granularity,
                text[:80],
            )
            expected_keep = expected_keep and keep
        assert (cascade(page) == [page]) == expected_keep
        kept_count += expected_keep
    assert 0 < kept_count < 300  # the raw Common Crawl pages include boilerplate that must fail


def test_fractions_equal_the_plain_definition_with_a_shared_cache() -> None:
    """Exact fractions (not just decisions) with the cascade's shared cache, sizes in the cascade's order."""
    for text in _real_pages():
        shared: dict = {}
        for granularity, _, count_characters in MASSIVE_WEB_CHECKS:
            plain = _plain_fraction(text, granularity, count_characters)
            if text == "":
                continue
            if isinstance(granularity, str):
                got = _segment_fraction(text, granularity, count_characters, shared, "")
            else:
                got = _ngram_fraction(text, granularity, None, shared, "")
            assert got == pytest.approx(plain, abs=1e-12), (granularity, text[:60])
