"""Filters on page text (lengths, ratios, banned substrings, code-file heuristics), as DCLM's ``content_filters``.

Thresholds keep DCLM's strictness exactly (``<`` vs ``<=``): they decide which pages survive, and the Gopher /
RefinedWeb recipes were tuned against them. The repetition filters live in ``repetition.py``.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from dclm_resources.processing.filters.metadata import _as_list, read_banlist
from dclm_resources.processing.registry import Page, PageFn, factory, mapper
from dclm_resources.processing.text import REGEX_METACHARS, count_sentences, split_paragraphs, split_words

CONTENT = "text"

# RedPajama-v1's GitHub extension allow-list (66 entries; the last two without a dot are whole file names).
RPJ_GITHUB_EXTENSIONS: tuple[str, ...] = (
    ".asm", ".bat", ".cmd", ".c", ".h", ".cs", ".cpp", ".hpp", ".c++", ".h++", ".cc", ".hh", ".C", ".H",
    ".cmake", ".css", ".dockerfile", ".f90", ".f", ".f03", ".f08", ".f77", ".f95", ".for", ".fpp", ".go",
    ".hs", ".html", ".java", ".js", ".jl", ".lua", ".md", ".markdown", ".php", ".php3", ".php4", ".php5",
    ".phps", ".phpt", ".pl", ".pm", ".pod", ".perl", ".ps1", ".psd1", ".psm1", ".py", ".rb", ".rs", ".sql",
    ".scala", ".sh", ".bash", ".command", ".zsh", ".ts", ".tsx", ".tex", ".vb", "Dockerfile", "Makefile",
    ".xml", ".rst", ".m", ".smali",
)  # fmt: skip


def _text(page: Page) -> str:
    """``page['text']``; KeyError when absent and TypeError when not a string, as DCLM's filters fail."""
    text = page[CONTENT]
    if not isinstance(text, str):
        raise TypeError(f"page[{CONTENT!r}] must be a str, got {type(text).__name__}")
    return text


@mapper("filter")
def github_extension_filter(
    page: Page, filename_key: str = "filename", allowed_extensions: list[str] | tuple[str, ...] | None = None
) -> list[Page]:
    """Keep code files whose name ends with an allowed extension (case-sensitive; a missing name is dropped)."""
    extensions = RPJ_GITHUB_EXTENSIONS if allowed_extensions is None else tuple(allowed_extensions)
    return [page] if page.get(filename_key, "").endswith(extensions) else []


@mapper("filter")
def line_length_filter(page: Page, length_type: str = "max", max_length: float = 1000) -> list[Page]:
    """Drop empty pages and pages whose longest (or mean) ``splitlines`` line exceeds ``max_length`` chars."""
    text = page[CONTENT]
    if not text:
        return []
    lines = text.splitlines()
    if length_type == "max":
        length: float = max(map(len, lines))
    elif length_type == "avg":
        length = sum(map(len, lines)) / len(lines)
    else:
        raise ValueError("length_type must be one of {max, avg}")
    return [] if length > max_length else [page]


_NOT_ALNUM_RE = re.compile(r"[\W_]+")  # complement of str.isalnum (re's \w is isalnum() plus '_')


@mapper("filter")
def alphanumeric_char_ratio_filter(page: Page, max_alnum_ratio: float = 0.25) -> list[Page]:
    """Drop empty pages and pages whose alphanumeric-character fraction is below ``max_alnum_ratio`` (DCLM's name).

    The parameter is a *minimum* despite its name (RedPajama's GitHub filter keeps files with ≥ 25% alnum).
    """
    text = _text(page)
    if text == "":
        return []
    alnum = len(_NOT_ALNUM_RE.sub("", text))
    return [] if alnum / len(text) < max_alnum_ratio else [page]


def _load_hf_tokenizer(tokenizer_name: str) -> Any:
    """A Hugging Face ``tokenizers`` tokenizer from a local file/dir (offline) or the Hub by name."""
    try:
        from tokenizers import Tokenizer
    except ImportError as err:
        raise ImportError(
            "alphabetic_characters_to_tokens_filter needs the 'tokenizers' package (pip install tokenizers)"
        ) from err
    path = Path(tokenizer_name).expanduser()
    if path.is_dir():
        path = path / "tokenizer.json"
    if path.is_file():
        return Tokenizer.from_file(str(path))
    return Tokenizer.from_pretrained(tokenizer_name)


@factory("filter")
def alphabetic_characters_to_tokens_filter(
    tokenizer_name: str = "EleutherAI/pythia-6.9b-deduped", max_ratio: float = 1.5
) -> PageFn:
    """Drop empty pages and pages with fewer than ``max_ratio`` alphabetic characters per tokenizer token.

    RedPajama-v1's GitHub filter. ``tokenizer_name`` is a Hub name or a local ``tokenizer.json`` (or its folder).
    As in DCLM the returned closure also takes ``max_ratio`` per call; here it can be set on the step as well.
    """
    tokenizer = _load_hf_tokenizer(tokenizer_name)
    default_ratio = max_ratio

    def filter_fn(page: Page, max_ratio: float = default_ratio) -> list[Page]:
        text = _text(page)
        if text == "":
            return []
        num_tokens = len(tokenizer.encode(text, add_special_tokens=False).tokens)
        num_alpha = sum(map(str.isalpha, text))
        if num_tokens == 0:
            return []
        return [] if num_alpha / num_tokens < max_ratio else [page]

    return filter_fn


@mapper("filter")
def page_length_filter(
    page: Page, length_type: str, min_length: float = 1, max_length: float = float("inf"), **kwargs: Any
) -> list[Page]:
    """Drop pages shorter than ``min_length`` or longer than ``max_length`` in words/sentences/lines/paragraphs/chars.

    ``kwargs`` go to the splitter (``split_words``: model, ignore_punctuation…; ``split_sentences``: tokenizer,
    tokenizer_lang; ``split_paragraphs``: remove_empty).
    """
    text = _text(page)
    if length_type == "word":
        length = len(split_words(text, **kwargs))
    elif length_type == "sentence":
        # Counting past what decides the outcome is wasted work: stop at min_length (or just past max_length).
        limit = math.floor(max_length) + 1 if max_length != float("inf") else max(math.ceil(min_length), 0)
        length = count_sentences(text, at_most=max(limit, 0), **kwargs)
    elif length_type == "line":
        length = len(split_paragraphs(text, paragraph_end="\n", **kwargs))
    elif length_type == "paragraph":
        length = len(split_paragraphs(text, paragraph_end="\n\n", **kwargs))
    elif length_type == "char":
        length = len(text)
    else:
        raise ValueError("length_type needs to be one of {word, sentence, line, paragraph, char}")
    return [] if length < min_length or length > max_length else [page]


@factory("filter")
def substring_filter(
    banlist: str | list[str] | None = None,
    banlist_from_fname: str | None = None,
    location: str = "any",
    case_sensitive: bool = False,
    exact_word: bool = False,
    escape: bool = False,
) -> PageFn:
    """Drop pages containing a banned substring (anywhere, as a prefix or as a suffix; optionally a whole word).

    DCLM quirk, kept by default: entries are regex patterns, not escaped (``'Read more...'`` matches any three
    characters after "more"), and they are lowercased with the text unless ``case_sensitive``. ``escape=True``
    matches them literally. ``banlist_from_fname`` (one entry per line) takes precedence over ``banlist``.
    """
    if location not in {"any", "prefix", "suffix"}:
        raise ValueError("location must be one of {any, prefix, suffix}")
    entries = (
        read_banlist(banlist_from_fname)
        if banlist_from_fname is not None
        else _as_list(banlist, "substring_filter")
    )
    if not case_sensitive:
        entries = [e.lower() for e in entries]
    pattern = _alternation(entries, escape)
    if exact_word:
        pattern = rf"\b{pattern}\b"
    if location == "prefix":
        pattern = rf"^{pattern}"
    elif location == "suffix":
        pattern = rf"{pattern}$"
    search = re.compile(pattern).search

    def filter_fn(page: Page) -> list[Page]:
        text = page[CONTENT]
        return [] if search(text if case_sensitive else text.lower()) else [page]

    return filter_fn


def _alternation(entries: list[str], escape: bool) -> str:
    """``(?:e1|e2|…)`` matching the same strings as DCLM's plain alternation, faster for long word lists.

    Entries without regex metacharacters (all of them when ``escape``) are folded into one trie regex
    (``retrie``, which escapes them): a search finds a match at the same places whatever the alternation order,
    since ``re`` backtracks through every alternative. An empty entry stays an empty alternative (it matches
    everywhere, as in DCLM).
    """
    if escape:
        literal = [e for e in entries if e]
        regex = [e for e in entries if not e]
    else:
        literal = [e for e in entries if e and REGEX_METACHARS.isdisjoint(e)]
        regex = [e for e in entries if not (e and REGEX_METACHARS.isdisjoint(e))]
    parts = regex
    if literal:
        from retrie.trie import Trie

        trie = Trie()
        trie.add(*literal)
        parts = [trie.pattern(), *regex]
    return f"(?:{'|'.join(parts)})"


_BULLETS = ("●", "•", "*", "-")
_ELLIPSES = ("...", ". . .", "\u2026")


@mapper("filter")
def bullet_count_filter(page: Page, max_bullet_start_ratio: float = 0.9) -> list[Page]:
    """Drop pages where more than ``max_bullet_start_ratio`` of the non-empty (stripped) lines start with a bullet."""
    lines = split_paragraphs(_text(page), paragraph_end="\n")
    count = sum(1 for line in lines if line.startswith(_BULLETS))
    return [] if count > max_bullet_start_ratio * len(lines) else [page]


@mapper("filter")
def ellipsis_count_filter(page: Page, max_ellipsis_end_ratio: float = 0.3) -> list[Page]:
    """Drop pages where more than ``max_ellipsis_end_ratio`` of the non-empty lines end with '...', '. . .' or '…'."""
    lines = split_paragraphs(_text(page), paragraph_end="\n")
    count = sum(1 for line in lines if line.endswith(_ELLIPSES))
    return [] if count > max_ellipsis_end_ratio * len(lines) else [page]


_STOP_WORDS = frozenset({"the", "be", "to", "of", "and", "that", "have", "with"})


@mapper("filter")
def stop_word_filter(page: Page, count_unique: bool = False, min_stop_word: int = 2) -> list[Page]:
    """Keep pages with at least ``min_stop_word`` Gopher stop words (or distinct ones), whitespace-split, any case."""
    words = page[CONTENT].split()
    if count_unique:
        seen: set[str] = set()
        for word in words:
            lower = word.lower()
            if lower in _STOP_WORDS:
                seen.add(lower)
                if len(seen) >= min_stop_word:
                    return [page]
        return []
    count = 0
    for word in words:
        if word.lower() in _STOP_WORDS:
            count += 1
            if count >= min_stop_word:
                return [page]
    return []


@mapper("filter")
def word_length_filter(page: Page, min_length: float = 0, max_length: float = float("inf")) -> list[Page]:
    """Drop pages without words or whose mean whitespace-token length is outside [min_length, max_length]."""
    words = page[CONTENT].split()
    if not words:
        return []
    mean = sum(map(len, words)) / len(words)
    return [] if mean < min_length or mean > max_length else [page]


@mapper("filter")
def symbol_ratio_filter(page: Page, max_symbol_to_word_ratio: float = 0.1) -> list[Page]:
    """Drop pages without words or with more than ``max_symbol_to_word_ratio`` '#'/ellipses per whitespace word."""
    text = page[CONTENT]
    symbols = text.count("#") + text.count("...") + text.count(". . .") + text.count("\u2026")
    num_words = len(text.split())
    if num_words == 0 or symbols / num_words > max_symbol_to_word_ratio:
        return []
    return [page]


@mapper("filter")
def word_removal_ratio_filter(
    page: Page,
    prev_word_count_key: str,
    new_word_count_key: str | None = None,
    max_removed_ratio: float = 0.05,
    ignore_punctuation: bool = True,
    **kwargs: Any,
) -> list[Page]:
    """Drop pages that lost more than ``max_removed_ratio`` of their words since ``page[prev_word_count_key]``.

    The new count is ``page[new_word_count_key]`` when present, else ``split_words`` (``kwargs``: model…) now.
    """
    if prev_word_count_key not in page:
        raise AssertionError(f"'{prev_word_count_key}' key must exist in the page dictionary")
    prev = page[prev_word_count_key]
    if prev == 0:
        return []
    if new_word_count_key and new_word_count_key in page:
        new = page[new_word_count_key]
    else:
        new = len(split_words(page[CONTENT], ignore_punctuation=ignore_punctuation, **kwargs))
    return [] if (prev - new) / prev > max_removed_ratio else [page]


@mapper("filter")
def alphabetic_word_ratio_filter(page: Page, max_ratio: float = 0.2) -> list[Page]:
    """Drop pages without words or where more than ``max_ratio`` of whitespace tokens have no alphabetic char."""
    words = page[CONTENT].split()
    if not words:
        return []
    without_alpha = sum(1 for word in words if not _has_letter(word))
    return [page] if without_alpha / len(words) <= max_ratio else []


def _has_letter(word: str) -> bool:
    """``any(c.isalpha() for c in word)``; for ASCII the letters are exactly the cased characters (cheaper test)."""
    if word.isascii():
        return word.lower() != word.upper()
    return any(map(str.isalpha, word))
