"""Line-level modifiers: drop or trim individual lines of ``page["text"]`` (DCLM ``baselines/mappers/modifiers.py``).

"Lines" are ``text.split("\\n")``. Unless stated otherwise a modifier keeps empty lines, rejoins with ``"\\n"``
and drops the page when the result is ``""``; the ``*_ratio``, counter and substring modifiers also strip the
result, as DCLM does. These run on every page of the DCLM-Baseline pipeline: where it measured faster on real
pages, a modifier first does one C-level scan of the whole text that proves no line can be affected and returns
early (substring, word length, newlines, ratio ≥ 1); otherwise, and on pages that need it, the per-line path
runs and gives DCLM's answer. Tests check each fast path against a per-line oracle on real CC/C4 pages.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from dclm_resources.processing.registry import Page, factory, mapper
from dclm_resources.processing.text import split_paragraphs, split_words

CONTENT = "text"

_LOCATIONS = ("any", "prefix", "suffix")


def _finish(page: Page, lines: list[str], strip: bool) -> list[Page]:
    text = "\n".join(lines)
    if strip:
        text = text.strip()
    if text == "":
        return []
    page[CONTENT] = text
    return [page]


def _keep(page: Page, text: str, strip: bool) -> list[Page]:
    """The fast-path result: no line changed, so only DCLM's final strip/empty rule applies."""
    if strip:
        text = text.strip()
    if text == "":
        return []
    page[CONTENT] = text
    return [page]


# --------------------------------------------------------------------------------------------------------------
# substring_line_modifier
# --------------------------------------------------------------------------------------------------------------


@factory("modifier")
def substring_line_modifier(
    banlist: str | list[str],
    case_sensitive: bool = False,
    location: str = "any",
    max_length: int | None = None,
    remove_substring_only: bool = False,
    escape: bool = False,
) -> Callable[[Page], list[Page]]:
    """Remove lines (or only the banned substring in them) that contain a banlist entry.

    Only lines of at most ``max_length`` whitespace words are eligible. The pattern is ``^(?:b1|b2)\\s?``
    (prefix), ``\\s?(?:…)$`` (suffix) or ``\\s?(?:…)`` (any), IGNORECASE unless ``case_sensitive``. With
    ``remove_substring_only`` a line that becomes empty/whitespace is dropped (as is any whitespace-only
    eligible line, a DCLM quirk kept). The result is stripped; an empty result drops the page.

    Quirk kept by default: DCLM does not escape banlist entries, so ``"Read more..."`` also matches
    ``"Read more!!!"``; ``escape=True`` matches entries literally. Entries are lowercased when not
    ``case_sensitive`` (before escaping), as in DCLM.
    """
    if location not in _LOCATIONS:
        raise ValueError(f"substring_line_modifier: location must be one of {_LOCATIONS}, got {location!r}")
    items = [banlist] if isinstance(banlist, str) else list(banlist)
    if not items:
        raise ValueError("substring_line_modifier: banlist is empty")
    if not case_sensitive:
        items = [b.lower() for b in items]
    raw_items = items
    if escape:
        items = [re.escape(b) for b in items]
    body = f"(?:{'|'.join(items)})"
    if location == "prefix":
        source = rf"^{body}\s?"
    elif location == "suffix":
        source = rf"\s?{body}$"
    else:
        source = rf"\s?{body}"
    flags = 0 if case_sensitive else re.IGNORECASE
    line_re = re.compile(source, flags)
    # Whole-text pre-check for literal entries: a line can only match if it contains an entry, so a page that
    # contains none is left as is (one C-level scan instead of a regex per line).
    # Case-insensitively, an ASCII entry can only match ASCII characters (or one of four twins, see below), so
    # it is looked for in the UTF-8 bytes with ASCII lowercased: several times faster than str.lower().
    literals = raw_items if escape else _required_literals(raw_items)
    ascii_literals = [b.encode("ascii") for b in literals] if all(b.isascii() for b in literals) else []

    def may_match(text: str) -> bool:
        if not literals:
            return True
        if case_sensitive:
            return any(b in text for b in literals)
        if not ascii_literals or (not text.isascii() and any(c in text for c in _IGNORECASE_ASCII_TWINS)):
            return True
        lowered = text.encode("utf-8", "surrogatepass").lower()
        return any(b in lowered for b in ascii_literals)

    def eligible(line: str) -> bool:
        return max_length is None or len(line.split()) <= max_length

    def modify(page: Page) -> list[Page]:
        text: str = page[CONTENT]
        kept: list[str] = []
        if not may_match(text):
            # Only DCLM's whitespace-only-line rule can still apply, and only to inner lines (the result is
            # stripped, which removes blank first/last lines anyway).
            if not remove_substring_only or _INNER_BLANK_LINE.search(text) is None:
                return _keep(page, text, strip=True)
            kept = [ln for ln in text.split("\n") if not ln or not ln.isspace() or not eligible(ln)]
        elif remove_substring_only:
            for line in text.split("\n"):
                if eligible(line):
                    new = line_re.sub("", line)
                    if line and (not new or new.isspace()):
                        continue
                    line = new
                kept.append(line)
        else:
            for line in text.split("\n"):
                if line_re.search(line) is not None and eligible(line):
                    continue
                kept.append(line)
        return _finish(page, kept, strip=True)

    return modify


def _required_literals(entries: list[str]) -> list[str]:
    """Per unescaped entry, a literal every match of it contains; [] when some entry has none we can tell.

    Plain entries are their own literal. An entry whose only metacharacter is ``.`` (DCLM's ``"Read more..."``)
    needs its longest dot-free piece. Anything else (classes, groups, quantifiers) disables the pre-check.
    """
    out = []
    for entry in entries:
        meta = _REGEX_META.intersection(entry)
        if meta and meta != {"."}:
            return []
        piece = max(entry.split("."), key=len)
        if not piece:
            return []
        out.append(piece)
    return out


_INNER_BLANK_LINE = re.compile(r"\n[^\S\n]+(?=\n)")
_REGEX_META = frozenset(".^$*+?{}[]\\|()")
# The only non-ASCII characters re.IGNORECASE matches to ASCII letters (found by scanning all of Unicode).
# Without them in the text, an ASCII entry matches case-insensitively only where text.lower() contains it.
_IGNORECASE_ASCII_TWINS = ("\u0130", "\u0131", "\u017f", "\u212a")  # İ ı ſ K(elvin)


# --------------------------------------------------------------------------------------------------------------
# punctuation / length modifiers
# --------------------------------------------------------------------------------------------------------------

_END_PUNCT = frozenset('.!?"\u2026')
_ELLIPSES = ("...", "\u2026")


@factory("modifier")
def punctuation_line_modifier(remove_ellipses: bool = False) -> Callable[[Page], list[Page]]:
    """Keep empty lines and lines ending in ``. ! ? " …`` (trailing whitespace allowed); C4's rule.

    ``remove_ellipses=True`` (C4 TFDS behaviour) also drops lines ending in ``...`` or ``…``. Not stripped.
    """

    def ends_ok(line: str) -> bool:
        if not line:
            return True
        tail = line.rstrip()  # rstrip and re's \s agree on what whitespace is
        if not tail or tail[-1] not in _END_PUNCT:
            return False
        return not (remove_ellipses and tail.endswith(_ELLIPSES))

    def modify(page: Page) -> list[Page]:
        lines = page[CONTENT].split("\n")
        return _finish(page, [ln for ln in lines if ends_ok(ln)], strip=False)

    return modify


@mapper("modifier")
def line_length_modifier(page: Page, min_length: int = 0, max_length: float = float("inf")) -> list[Page]:
    """Keep empty lines and lines whose whitespace word count is in ``[min_length, max_length]``. Not stripped."""
    lines = page[CONTENT].split("\n")
    kept = [ln for ln in lines if not ln or min_length <= len(ln.split()) <= max_length]
    return _finish(page, kept, strip=False)


# Token separators of the word models whose words never cross them: str.split() whitespace for "split";
# fastText's own separators (a subset of those) for "fasttext". Used only for the fast path's upper bound.
_FASTTEXT_SEPARATORS = re.compile(r"[ \n\r\t\v\f\0]+")


def _longest_token_bound(text: str, model: str) -> int | None:
    """An upper bound on the longest word ``split_words`` can return for any line, or None if unknown."""
    if model == "split":
        return max(map(len, text.split()), default=0)
    if model == "fasttext":
        return max(map(len, _FASTTEXT_SEPARATORS.split(text)), default=0)
    return None


@mapper("modifier")
def word_length_modifier(
    page: Page,
    max_length: int = 1000,
    model: str = "fasttext",
    ignore_punctuation: bool = False,
    ignore_whitespace: bool = True,
) -> list[Page]:
    """Drop lines containing a word (``split_words`` of the line) longer than ``max_length``. Not stripped.

    DCLM forwards ``**kwargs`` to ``split_words``; its three parameters are spelled out here so that a misspelt
    one fails when the step is built. Fast path: when no whitespace token of the page is longer than
    ``max_length`` no line can be dropped, so the per-line tokenization is skipped (``split`` / ``fasttext``).
    """
    text: str = page[CONTENT]
    bound = _longest_token_bound(text, model)
    if bound is not None and bound <= max_length:
        return _keep(page, text, strip=False)
    kept = [
        ln
        for ln in text.split("\n")
        if all(len(w) <= max_length for w in split_words(ln, model, ignore_punctuation, ignore_whitespace))
    ]
    return _finish(page, kept, strip=False)


# --------------------------------------------------------------------------------------------------------------
# character-ratio modifiers
# --------------------------------------------------------------------------------------------------------------

_ASCII_UPPER = bytes(range(ord("A"), ord("Z") + 1))
_ASCII_DIGITS = b"0123456789"


def _count(line: str, ascii_chars: bytes, predicate: Callable[[str], bool]) -> int:
    """How many chars of ``line`` satisfy ``predicate`` (str.isupper / str.isdigit), in C for ASCII lines."""
    if line.isascii():
        return len(line) - len(line.encode("ascii").translate(None, ascii_chars))
    return sum(map(predicate, line))


def _ratio_filter(
    page: Page, max_ratio: float, ascii_chars: bytes, predicate: Callable[[str], bool]
) -> list[Page]:
    text: str = page[CONTENT]
    if max_ratio >= 1.0:  # a ratio can never exceed 1
        return _keep(page, text, strip=True)
    kept = [
        ln for ln in text.split("\n") if not ln or _count(ln, ascii_chars, predicate) / len(ln) <= max_ratio
    ]
    return _finish(page, kept, strip=True)


@mapper("modifier")
def uppercase_ratio_line_modifier(page: Page, max_ratio: float = 0.5) -> list[Page]:
    """Drop non-empty lines whose share of uppercase characters (``str.isupper``) exceeds ``max_ratio``; stripped."""
    return _ratio_filter(page, max_ratio, _ASCII_UPPER, str.isupper)


@mapper("modifier")
def numeric_ratio_line_modifier(page: Page, max_ratio: float = 1.0) -> list[Page]:
    """Drop non-empty lines whose share of digits (``str.isdigit``) exceeds ``max_ratio``; stripped.

    RefinedWeb's "all-numeric line" rule is ``max_ratio=0.999999`` (the ratio is not a strict threshold).
    """
    return _ratio_filter(page, max_ratio, _ASCII_DIGITS, str.isdigit)


# --------------------------------------------------------------------------------------------------------------
# counters, dedup, newlines, split/join
# --------------------------------------------------------------------------------------------------------------

_COUNTER_WORDS = (
    "likes|shares|comments|retweets|reposts|quotes|bookmarks|upvotes|downvotes|downloads|views|followers"
)
_COUNTER_LINE = re.compile(rf"^\W*\d(?:,|\.|\d)*(?:K|k|M|m|B|b)?\s+(?:{_COUNTER_WORDS})\W*$")


@factory("modifier")
def counter_line_modifier() -> Callable[[Page], list[Page]]:
    """Drop lines that are only a social counter (``3 likes``, ``5.1M views``, ...), matched lowercased; stripped.

    (A whole-text pre-check measured slower than this per-line scan on real pages: Python's regex engine has no
    fast path for a 12-word alternation.)
    """

    def modify(page: Page) -> list[Page]:
        lines = page[CONTENT].split("\n")
        kept = [ln for ln in lines if _COUNTER_LINE.search(ln.lower()) is None]
        return _finish(page, kept, strip=True)

    return modify


@mapper("modifier")
def within_page_dedup(page: Page, granularity: str = "line", normalize: bool = True) -> list[Page]:
    """Keep only the first occurrence of each line (``"line"``) or ``"\\n\\n"`` paragraph (``"paragraph"``).

    With ``normalize`` units compare stripped and lowercased; empty units are always kept. The page is kept even
    when it ends up empty (DCLM). DCLM's ``**kwargs`` are not accepted: they could only have failed later.
    """
    if granularity == "line":
        sep = "\n"
    elif granularity == "paragraph":
        sep = "\n\n"
    else:
        raise ValueError(f"within_page_dedup: granularity must be 'line' or 'paragraph', got {granularity!r}")
    seen: set[str] = set()
    kept: list[str] = []
    for unit in split_paragraphs(page[CONTENT], paragraph_end=sep, remove_empty=False):
        key = unit.strip().lower() if normalize else unit
        if not key or key not in seen:
            kept.append(unit)
            seen.add(key)
    page[CONTENT] = sep.join(kept)
    return [page]


@factory("modifier")
def newline_removal_modifier(max_consecutive: int = 2) -> Callable[[Page], list[Page]]:
    """Collapse runs of more than ``max_consecutive`` newlines to exactly ``max_consecutive``; never drops a page."""
    if max_consecutive < 0:
        raise ValueError(f"newline_removal_modifier: max_consecutive must be >= 0, got {max_consecutive}")
    too_many = "\n" * (max_consecutive + 1)
    pattern = re.compile(f"\n{{{max_consecutive + 1},}}")
    replacement = "\n" * max_consecutive

    def modify(page: Page) -> list[Page]:
        text: str = page[CONTENT]
        if too_many in text:
            page[CONTENT] = pattern.sub(replacement, text)
        return [page]

    return modify


@mapper("modifier")
def split_lines_modifier(page: Page, delimiter: str = "\n") -> list[Page]:
    """Turn ``text`` into a list of units (for unit-level exact dedup); a list is left as is, ``""`` drops the page."""
    content = page[CONTENT]
    if isinstance(content, list):
        return [page]
    if not isinstance(content, str):
        raise TypeError(f"split_lines_modifier: page text must be str or list, got {type(content).__name__}")
    if content == "":
        return []
    page[CONTENT] = content.split(delimiter)
    return [page]


@mapper("modifier")
def join_lines_modifier(page: Page, delimiter: str = "\n") -> list[Page]:
    """Join a list ``text`` back into a string; a string is left as is, ``[]`` drops the page."""
    content = page[CONTENT]
    if isinstance(content, str):
        return [page]
    if not isinstance(content, list):
        raise TypeError(f"join_lines_modifier: page text must be str or list, got {type(content).__name__}")
    if not content:
        return []
    page[CONTENT] = delimiter.join(content)
    return [page]
