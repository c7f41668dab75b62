"""BFF tokens and n-gram hashes: UAX #29 word boundaries (whitespace dropped) and stable 64-bit hashes.

Split from :mod:`bff` so the tokenizer can be tested and benchmarked on its own; see that module for why the
hashes differ from BFF's.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import repeat

import numpy as np

# Unicode White_Space (what Rust's char::is_whitespace tests); Python's str.isspace() also accepts \x1c-\x1f.
WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)

# ---------------------------------------------------------------------------------------------------------------
# Tokenizer: UAX #29 word segments minus whitespace-only ones, as token boundaries over code points.

# Bits of the per-code-point class table.
_WORD, _LETTER, _DIGIT, _MID_LETTER, _MID_NUM, _SPACE, _SLOW, _NL = (1 << i for i in range(8))


class _Segmenter:
    """BFF's ``split_word_bounds`` tokens as ``(start, end)`` code-point offsets, computed with numpy.

    For text whose characters have Word_Break ALetter, Numeric, ExtendNumLet, MidLetter, MidNumLet, MidNum,
    Single_Quote, Double_Quote, WSegSpace, CR, LF, Newline or Other, UAX #29 reduces to: letters, digits and
    connectors join (WB5, WB8-10, WB13a/b); one MidLetter/MidNumLetQ between two letters and one MidNum/MidNumLetQ
    between two digits join too (WB6/7, WB11/12); every other character is its own segment. That is a per-character
    table lookup plus neighbour tests, so whole batches are segmented in a few array passes. Lines holding a
    character whose rule looks through or pairs characters (Extend, Format, ZWJ, Katakana, Hebrew letters,
    regional indicators, lone surrogates) go to the ``regex`` module's full UAX #29 word boundaries instead; '\\n'
    always breaks (WB3a/b), so that fallback is exact line by line.
    """

    def __init__(self) -> None:
        import regex

        table = np.zeros(0x110000, dtype=np.uint8)
        props = {
            _WORD: r"[\p{WB=ALetter}\p{WB=Numeric}\p{WB=ExtendNumLet}]",
            _LETTER: r"\p{WB=ALetter}",
            _DIGIT: r"\p{WB=Numeric}",
            _MID_LETTER: r"[\p{WB=MidLetter}\p{WB=MidNumLet}\p{WB=Single_Quote}]",
            _MID_NUM: r"[\p{WB=MidNum}\p{WB=MidNumLet}\p{WB=Single_Quote}]",
            _SPACE: r"\p{White_Space}",
            _SLOW: r"[\p{WB=Extend}\p{WB=Format}\p{WB=ZWJ}\p{WB=Katakana}\p{WB=Hebrew_Letter}\p{WB=Regional_Indicator}]",
        }
        for first, last in ((0, 0xD800), (0xE000, 0x110000)):
            chars = "".join(map(chr, range(first, last)))
            for bit, prop in props.items():
                for m in regex.finditer(prop + "+", chars):
                    table[first + m.start() : first + m.end()] |= bit
        table[0xD800:0xE000] |= _SLOW
        table[10] |= _NL
        self.table = table
        self._bounds = regex.compile(r"(?wV1)\b")

    def segment(self, text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(code points, starts, ends)`` of the tokens of ``text``, each '\\n' included as a one-char token."""
        cp = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        cls = self.table[cp]
        word = (cls & _WORD) != 0
        if cp.size > 2:
            mid = cls[1:-1]
            before, after = cls[:-2], cls[2:]
            join = ((mid & _MID_LETTER) != 0) & ((before & _LETTER) != 0) & ((after & _LETTER) != 0)
            join |= ((mid & _MID_NUM) != 0) & ((before & _DIGIT) != 0) & ((after & _DIGIT) != 0)
            word[1:-1] |= join
        single = ~word & (((cls & _SPACE) == 0) | ((cls & _NL) != 0))
        prev_word = np.zeros_like(word)
        prev_word[1:] = word[:-1]
        next_word = np.zeros_like(word)
        next_word[:-1] = word[1:]
        starts = np.flatnonzero((word & ~prev_word) | single)
        ends = np.flatnonzero((word & ~next_word) | single) + 1
        slow = (cls & _SLOW) != 0
        if slow.any():
            starts, ends = self._fix_slow_lines(text, cp, slow, starts, ends)
        return cp, starts, ends

    def _fix_slow_lines(
        self, text: str, cp: np.ndarray, slow: np.ndarray, starts: np.ndarray, ends: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Replace the tokens of lines holding a context-dependent character by full UAX #29 segmentation.

        The slow lines are joined with '\n' (which always breaks) and segmented in one call; segment offsets
        in the joined string map back to the text line by line."""
        is_nl = cp == 10
        line_of_char = np.cumsum(is_nl) - is_nl  # a '\n' belongs to the line it ends
        bad = np.unique(line_of_char[slow])
        newlines = np.flatnonzero(is_nl)
        line_start = np.concatenate([[0], newlines + 1])[bad]
        line_end = np.concatenate([newlines, [cp.size]])[bad]
        joined = "\n".join(
            [text[lo:hi] for lo, hi in zip(line_start.tolist(), line_end.tolist(), strict=True)]
        )
        segs = self._bounds.split(joined)
        lengths = np.fromiter(map(len, segs), dtype=np.int64, count=len(segs))
        nonblank = np.fromiter(
            map(bool, map(str.strip, segs, repeat(WHITESPACE))), dtype=bool, count=len(segs)
        )
        seg_end = np.cumsum(lengths)
        seg_start = (seg_end - lengths)[nonblank]
        seg_end = seg_end[nonblank]
        joined_start = np.zeros(bad.size, dtype=np.int64)
        np.cumsum(line_end[:-1] - line_start[:-1] + 1, out=joined_start[1:])
        line = np.searchsorted(joined_start, seg_start, side="right") - 1
        shift = line_start[line] - joined_start[line]
        slow_line = np.zeros(newlines.size + 1, dtype=bool)
        slow_line[bad] = True
        keep = ~slow_line[line_of_char[starts]] | is_nl[starts]
        starts = np.concatenate([starts[keep], seg_start + shift])
        ends = np.concatenate([ends[keep], seg_end + shift])
        order = np.argsort(starts, kind="stable")
        return starts[order], ends[order]


@lru_cache(maxsize=1)
def _segmenter() -> _Segmenter:
    return _Segmenter()


def tokenize(text: str) -> list[str]:
    """BFF's tokens of ``text``: UAX #29 word segments that are not all whitespace (newlines dropped too)."""
    cp, starts, ends = _segmenter().segment(text)
    return [text[s:e] for s, e in zip(starts.tolist(), ends.tolist(), strict=True) if cp[s] != 10]


# ---------------------------------------------------------------------------------------------------------------
# Stable hashing: tokens -> 64-bit ints and n-grams -> 64-bit ints, all vectorized.


def _splitmix64(seed: int, count: int) -> np.ndarray:
    mask = (1 << 64) - 1
    out = []
    for _ in range(count):
        seed = (seed + 0x9E3779B97F4A7C15) & mask
        z = seed
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        out.append((z ^ (z >> 31)) | 1)
    return np.array(out, dtype=np.uint64)


_MAX_WEIGHTS = 4096
_WEIGHTS = _splitmix64(0xDC1B0FF, _MAX_WEIGHTS + 2)  # [-2] weights token length, [-1] n-gram length
_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_BASE = 0x100000001B3  # odd, so invertible mod 2^64
_BASE_INV = pow(_BASE, -1, 1 << 64)


def _fmix64(x: np.ndarray) -> np.ndarray:
    """MurmurHash3's finalizer: spreads a sum over all 64 bits (rbloom seeds its index generator with it)."""
    x = x ^ (x >> np.uint64(33))
    x *= _M1
    x ^= x >> np.uint64(33)
    x *= _M2
    x ^= x >> np.uint64(33)
    return x


class _Powers:
    """``BASE**i`` and ``BASE**-i`` mod 2^64 for i < size, grown on demand (shared by every batch)."""

    def __init__(self) -> None:
        self.up = np.ones(1, dtype=np.uint64)
        self.down = np.ones(1, dtype=np.uint64)

    def ensure(self, size: int) -> None:
        if self.up.size >= size:
            return
        size = max(size, 2 * self.up.size)
        self.up = np.ones(size, dtype=np.uint64)
        self.down = np.ones(size, dtype=np.uint64)
        np.cumprod(np.full(size - 1, _BASE, dtype=np.uint64), out=self.up[1:])
        np.cumprod(np.full(size - 1, _BASE_INV, dtype=np.uint64), out=self.down[1:])


_POWERS = _Powers()


def _token_hashes(cp: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Stable 64-bit hash of each token's code points: polynomial hash (position-normalized) plus length, mixed."""
    _POWERS.ensure(cp.size + 1)
    prefix = np.zeros(cp.size + 1, dtype=np.uint64)
    np.cumsum(cp.astype(np.uint64) * _POWERS.up[: cp.size], out=prefix[1:])
    raw = (prefix[ends] - prefix[starts]) * _POWERS.down[starts]
    return _fmix64(raw + (ends - starts).astype(np.uint64) * _WEIGHTS[-2])


@dataclass
class _Ngrams:
    """N-gram hashes of a batch, grouped by unit: unit u owns ``hashes[offsets[u]:offsets[u+1]]``."""

    hashes: list[int]
    offsets: list[int]
    # token index where each full-window n-gram starts (-1 for a short unit's single n-gram)
    starts: np.ndarray


def _unit_ngrams(th: np.ndarray, unit: np.ndarray, n_units: int, min_n: int, max_n: int) -> _Ngrams:
    """Windows of ``max_n`` tokens inside each unit (stride 1); a unit with ``min_n <= tokens < max_n`` gets one
    n-gram of all its tokens; shorter units get none. ``unit`` is the non-decreasing unit id of each token."""
    counts = np.bincount(unit, minlength=n_units).astype(np.int64)
    first = np.cumsum(counts) - counts
    full = np.maximum(counts - max_n + 1, 0)
    short = (counts >= min_n) & (counts < max_n)
    per_unit = full + short
    offsets = np.zeros(n_units + 1, dtype=np.int64)
    np.cumsum(per_unit, out=offsets[1:])
    out = np.empty(int(offsets[-1]), dtype=np.uint64)
    starts = np.full(out.size, -1, dtype=np.int64)
    n_full = int(full.sum())
    if n_full:
        owner = np.repeat(np.arange(n_units), full)
        j = np.arange(n_full) - np.repeat(np.cumsum(full) - full, full)
        tok = first[owner] + j
        span = th.size - max_n + 1
        acc = th[:span] * _WEIGHTS[0]
        for k in range(1, max_n):
            acc += th[k : k + span] * _WEIGHTS[k]
        pos = offsets[owner] + j
        out[pos] = _fmix64(acc[tok] + np.full(n_full, max_n, dtype=np.uint64) * _WEIGHTS[-1])
        starts[pos] = tok
    short_units = np.flatnonzero(short)
    if short_units.size:
        length = counts[short_units]
        base = first[short_units]
        acc = np.zeros(short_units.size, dtype=np.uint64)
        for k in range(max_n - 1):
            take = length > k
            acc += np.where(take, th[base + np.minimum(k, length - 1)] * _WEIGHTS[k], np.uint64(0))
        out[offsets[short_units]] = _fmix64(acc + length.astype(np.uint64) * _WEIGHTS[-1])
    return _Ngrams(out.tolist(), offsets.tolist(), starts)


@dataclass
class _TokenBatch:
    """Token hashes of a batch of documents, with the paragraph and document of every token."""

    hashes: np.ndarray  # uint64, newline markers removed
    paragraph: np.ndarray  # global paragraph id per token (non-decreasing)
    document: np.ndarray  # document index per token (non-decreasing)
    doc_paragraphs: list[int]  # document d owns paragraphs doc_paragraphs[d]:doc_paragraphs[d+1]


def _tokenize_batch(texts: list[str]) -> _TokenBatch:
    """Segment and hash a batch in one pass over ``'\n' + '\n'.join(texts)``: every document then follows a
    newline marker, so paragraph ids follow BFF's windows (the text cut at every '\n'; document d has
    ``text.count('\n') + 1`` paragraphs)."""
    joined = "\n" + "\n".join(texts)
    cp, starts, ends = _segmenter().segment(joined)
    marker = cp[starts] == 10
    para = np.cumsum(marker) - 1
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    doc_marker = np.zeros(len(texts), dtype=np.int64)
    np.cumsum(lengths[:-1] + 1, out=doc_marker[1:])
    doc = np.searchsorted(doc_marker, starts, side="right") - 1
    first_para = para[np.searchsorted(starts, doc_marker)]
    keep = ~marker
    hashes = _token_hashes(cp, starts[keep], ends[keep])
    return _TokenBatch(hashes, para[keep], doc[keep], first_para.tolist() + [int(marker.sum())])
