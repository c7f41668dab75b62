"""Pseudo-text for training the offline LID model, sampled from the ``wordfreq`` package's word-frequency lists.

Why word-frequency lists: offline, the project can only obtain text through registry packages, and ``wordfreq``
ships real frequency lists (Wikipedia, subtitles, news, web, social media) for 42 languages. Sampling words by
their frequency reproduces what a fastText LID model mostly relies on, the frequent function words and the
character n-grams of a language, in the proportions real text has them. The samples are bag-of-words "sentences"
(no grammar), dressed like web text (capitalised sentence starts, punctuation stuck to words, digits, no spaces
in Chinese and Japanese, Korean particles attached to words) so that the features at prediction time look like
the features at training time.

Everything is seeded per language from one integer, so the same package versions give byte-identical text.
"""

from __future__ import annotations

import gzip
import os
import random
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from itertools import accumulate

WORDLIST = "small"  # wordfreq's lists for every language it has (the "large" ones exist for only 22)

# wordfreq language code -> lid.176-style label (lid.176 spells Norwegian "no" and Filipino "tl").
WORDFREQ_LABELS: dict[str, str] = {
    "ar": "ar", "bg": "bg", "bn": "bn", "ca": "ca", "cs": "cs", "da": "da", "de": "de", "el": "el",
    "en": "en", "es": "es", "fa": "fa", "fi": "fi", "fil": "tl", "fr": "fr", "he": "he", "hi": "hi",
    "hu": "hu", "id": "id", "is": "is", "it": "it", "ja": "ja", "ko": "ko", "lt": "lt", "lv": "lv",
    "mk": "mk", "ms": "ms", "nb": "no", "nl": "nl", "pl": "pl", "pt": "pt", "ro": "ro", "ru": "ru",
    "sh": "sh", "sk": "sk", "sl": "sl", "sv": "sv", "ta": "ta", "tr": "tr", "uk": "uk", "ur": "ur",
    "vi": "vi", "zh": "zh",
}  # fmt: skip
# Labels made by transliterating another list: Serbian in Cyrillic from wordfreq's (Latin) Serbo-Croatian.
SERBIAN_CYRILLIC = "sr"
LABELS: tuple[str, ...] = tuple(sorted({*WORDFREQ_LABELS.values(), SERBIAN_CYRILLIC}))

ENGLISH_MIX_RATE = 0.3  # share of Chinese, Japanese and Korean lines with a few English words mixed in
_MIXED_WITH_ENGLISH = frozenset({"zh", "ja", "ko"})
_NO_SPACES = frozenset({"zh", "ja"})  # written without spaces between words
_FULLWIDTH_PUNCT = ("。", "。", "。", "？", "！")
_ASCII_END = (".", ".", ".", ".", "?", "!", ":")
_SERBIAN_DIGRAPHS = {"lj": "љ", "nj": "њ", "dž": "џ"}
_SERBIAN_LETTERS = str.maketrans("abcčćdđefghijklmnoprsštuvzž", "абцчћдђефгхијклмнопрсштувзж")


@dataclass(frozen=True)
class WordSampler:
    """Frequency-weighted sampling from one language's top words (sorted by frequency, then spelling)."""

    words: tuple[str, ...]
    cum_weights: tuple[float, ...]

    def sample(self, rng: random.Random, k: int) -> list[str]:
        total = self.cum_weights[-1]
        return [self.words[bisect_left(self.cum_weights, rng.random() * total)] for _ in range(k)]


def _wordfreq_data_dir() -> str:
    import wordfreq

    return os.path.join(os.path.dirname(wordfreq.__file__), "data")


@cache
def word_sampler(code: str, top_words: int) -> WordSampler:
    """The ``top_words`` most frequent words of wordfreq language ``code`` with their frequencies."""
    import wordfreq

    freqs = wordfreq.get_frequency_dict(code, wordlist=WORDLIST)
    ranked = sorted(freqs.items(), key=lambda item: (-item[1], item[0]))[:top_words]
    return WordSampler(tuple(w for w, _ in ranked), tuple(accumulate(f for _, f in ranked)))


@cache
def _traditional_chinese() -> dict[int, str]:
    """Simplified -> traditional character map, inverted from wordfreq's traditional -> simplified table.

    Where several traditional characters simplify to one, the lowest code point is kept (deterministic).
    """
    import msgpack

    with gzip.open(os.path.join(_wordfreq_data_dir(), "_chinese_mapping.msgpack.gz")) as handle:
        mapping = msgpack.load(handle, raw=False, strict_map_key=False)
    out: dict[int, str] = {}
    for traditional, simplified in sorted(mapping.items()):
        if len(simplified) == 1 and traditional != ord(simplified):
            out.setdefault(ord(simplified), chr(traditional))
    return out


def to_serbian_cyrillic(word: str) -> str:
    """Serbian Latin -> Cyrillic, digraphs first (``lj`` -> ``љ``); other letters pass through."""
    for latin, cyrillic in _SERBIAN_DIGRAPHS.items():
        word = word.replace(latin, cyrillic)
    return word.translate(_SERBIAN_LETTERS)


def _fix_word(word: str, code: str, rng: random.Random) -> str:
    """Undo wordfreq's normalisations that real text does not have: digits are stored as 0s, Greek casefolding
    turns the final sigma into ``σ``."""
    if "0" in word:
        word = "".join(str(rng.randrange(10)) if c == "0" else c for c in word)
    if code == "el" and word.endswith("σ"):
        word = word[:-1] + "ς"
    return word


def _sentence(sampler: WordSampler, code: str, rng: random.Random) -> str:
    words = [_fix_word(w, code, rng) for w in sampler.sample(rng, rng.randint(3, 18))]
    if code in _NO_SPACES:
        out = ""
        for word in words:
            out += word + ("、" if rng.random() < 0.08 else "")
        return out + rng.choice(_FULLWIDTH_PUNCT)
    if code == "ko":  # wordfreq splits particles and endings off; text attaches them to the word before
        merged: list[str] = []
        for word in words:
            if merged and rng.random() < 0.5:
                merged[-1] += word
            else:
                merged.append(word)
        words = merged
    words[0] = words[0][:1].upper() + words[0][1:]
    for i in range(1, len(words)):
        roll = rng.random()
        if roll < 0.04:
            words[i] = words[i][:1].upper() + words[i][1:]
        elif roll < 0.05:
            words[i] = f"({words[i]})"
        if rng.random() < 0.07 and i < len(words) - 1:
            words[i] += ","
    return " ".join(words) + rng.choice(_ASCII_END)


def _mix_in(text: str, english: WordSampler, rng: random.Random) -> str:
    """Insert 1-4 English words (names, brands, UI strings): web pages in every language carry some, and they
    must not outweigh the page's own words."""
    tokens = text.split(" ")
    for word in english.sample(rng, rng.randint(1, 4)):
        tokens.insert(rng.randint(0, len(tokens)), word.capitalize() if rng.random() < 0.5 else word)
    return " ".join(tokens)


def language_lines(code: str, label: str, n_lines: int, seed: int, top_words: int) -> list[str]:
    """``n_lines`` fastText training lines ``__label__<label> <1-3 pseudo-sentences>`` for one language."""
    rng = random.Random(f"dclm-lid:{seed}:{label}")
    sampler = word_sampler(code, top_words)
    trad = _traditional_chinese() if label == "zh" else None
    english = word_sampler("en", top_words) if code in _MIXED_WITH_ENGLISH else None
    lines = []
    for i in range(n_lines):
        text = " ".join(_sentence(sampler, code, rng) for _ in range(rng.randint(1, 3)))
        if english is not None and rng.random() < ENGLISH_MIX_RATE:
            text = _mix_in(text, english, rng)
        if label == SERBIAN_CYRILLIC:
            text = to_serbian_cyrillic(text.lower())
        elif trad is not None and i % 3 == 0:  # a third in traditional characters (Taiwan, Hong Kong)
            text = text.translate(trad)
        lines.append(f"__label__{label} {text}")
    return lines


def training_lines(n_lines: int, seed: int, top_words: int) -> Iterator[str]:
    """Every language's lines, shuffled together (fastText reads its input in order and does not shuffle)."""
    lines: list[str] = []
    for code, label in sorted(WORDFREQ_LABELS.items()):
        lines += language_lines(code, label, n_lines, seed, top_words)
    lines += language_lines("sh", SERBIAN_CYRILLIC, n_lines, seed, top_words)
    random.Random(f"dclm-lid-shuffle:{seed}").shuffle(lines)
    yield from lines
