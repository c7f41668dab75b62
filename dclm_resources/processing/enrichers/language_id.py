"""Language-ID enrichers (DCLM ``enrichers/language_id_enrichers.py``): fastText LID or langdetect per page/sentence.

The fastText model comes from ``model_path`` or, when that is not given, the configured default LID model:
``$DCLM_LID_MODEL``, else DCLM's ``lid.176.bin`` where found (models dir, resource dirs), else the project's
offline LID model (``dclm_resources.lid``; its scores differ from lid.176's, see that package). Locating,
loading once per process and predicting live in ``enrichers/models.py``.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import Any

from dclm_resources.processing.enrichers.counts import check_key
from dclm_resources.processing.enrichers.models import (
    DCLM_LID_MODEL_FILENAME,
    LID_MODEL_URL,
    ModelFileError,
    fasttext_predict,
    find_lid_model,
    load_fasttext_model,
)
from dclm_resources.processing.registry import Page, factory
from dclm_resources.processing.text import split_sentences

__all__ = [
    "DCLM_LID_MODEL_FILENAME",
    "LID_MODEL_URL",
    "ModelFileError",
    "detect_lang_paragraph_enricher",
    "detect_lang_whole_page_enricher",
    "fasttext_predict",
]

CONTENT = "text"
FASTTEXT = "fasttext"
LANGDETECT = "langdetect"
MODELS = (FASTTEXT, LANGDETECT)
_LABEL_PREFIX = "__label__"
_SPACE_OR_PUNCT = frozenset(string.punctuation + " ")


# --------------------------------------------------------------------------------------------------------------
# detection
# --------------------------------------------------------------------------------------------------------------


def is_space_or_punct(text: str) -> bool:
    """True for text made only of ASCII punctuation and spaces (the empty string included): nothing to detect."""
    return all(c in _SPACE_OR_PUNCT for c in text)


def _fasttext_lang(model: Any, line: str) -> dict[str, float]:
    top = fasttext_predict(model, line, 1)
    if not top:
        return {}
    label, prob = top[0]
    return {label.replace(_LABEL_PREFIX, ""): prob}


def _langdetect_langs(text: str) -> dict[str, float]:
    """All of langdetect's ``{lang: prob}``; text without letters (langdetect raises) gives ``{}``."""
    from langdetect import detect_langs
    from langdetect.lang_detect_exception import LangDetectException

    try:
        return {x.lang: x.prob for x in detect_langs(text)}
    except LangDetectException:
        return {}


def _seed_langdetect(seed: int | None) -> None:
    if seed is not None:
        from langdetect import DetectorFactory

        DetectorFactory.seed = seed


def _lid_model(model_path: str | None, operator: str) -> Any:
    """Located (or built) and loaded when the step is built: a bad model fails before any page is read."""
    return load_fasttext_model(find_lid_model(operator, model_path), operator, "model_path")


def _check_model(model: str, operator: str) -> None:
    if model not in MODELS:
        raise ValueError(f"{operator}: model must be one of {MODELS}, got {model!r}")


@factory("enricher")
def detect_lang_whole_page_enricher(
    model: str,
    key_prefix: str = "language_id_whole_page",
    overwrite: bool = False,
    seed: int | None = None,
    model_path: str | None = None,
) -> Callable[[Page], list[Page]]:
    """``page[f"{key_prefix}_{model}"]`` = language scores of the whole page.

    fastText: the top-1 label of the text with ``"\\n"`` removed *without* a space (DCLM quirk kept: words at line
    ends fuse), as ``{"en": 0.93}``. The model (``model_path``: path, ``s3://`` URI or bare name; default: the
    configured default LID model, see the module docstring) is loaded once per process. langdetect: every
    ``{lang: prob}``; ``seed`` sets ``DetectorFactory.seed`` once, making it deterministic. Text of only ASCII
    punctuation/spaces gives ``{}``.

    Differences from DCLM: bad ``model`` / fastText with ``seed`` fail when the step is built (DCLM: on every
    page); text langdetect has no features for (digits only) gives ``{}`` instead of a page error.
    """
    operator = "detect_lang_whole_page_enricher"
    _check_model(model, operator)
    key = f"{key_prefix}_{model}"
    if model == FASTTEXT:
        if seed is not None:
            raise NotImplementedError(f"{operator}: setting a seed for fasttext detection is not implemented")
        ft_model = _lid_model(model_path, operator)

        def detect(text: str) -> dict[str, float]:
            return _fasttext_lang(ft_model, text.replace("\n", ""))

    else:
        _seed_langdetect(seed)
        detect = _langdetect_langs

    def enrich(page: Page) -> list[Page]:
        check_key(page, key, overwrite)
        text: str = page[CONTENT]
        page[key] = {} if is_space_or_punct(text) else detect(text)
        return [page]

    return enrich


@factory("enricher")
def detect_lang_paragraph_enricher(
    model: str,
    tokenizer: str,
    key_prefix: str = "language_id_paragraph",
    overwrite: bool = False,
    model_path: str | None = None,
) -> Callable[[Page], list[Page]]:
    """``page[f"{key_prefix}_{model}"]`` = ``{lang: {"average_probability", "number_of_sentences"}}``.

    Sentences come from ``split_sentences(text, tokenizer=tokenizer)`` ('blingfire' | 'nltk'); sentences of only
    ASCII punctuation/spaces are skipped; each other sentence's ``{lang: prob}`` (fastText top-1 or all of
    langdetect) is averaged per language. Fixes: DCLM loads the fastText model even for langdetect (here only for
    fastText), and errors on a sentence holding a newline (fastText refuses it; here newlines become spaces).
    """
    operator = "detect_lang_paragraph_enricher"
    _check_model(model, operator)
    if tokenizer not in ("blingfire", "nltk"):
        raise ValueError(f"{operator}: tokenizer must be 'blingfire' or 'nltk', got {tokenizer!r}")
    split_sentences("Probe.", tokenizer=tokenizer)  # a missing tokenizer model fails now, not on every page
    key = f"{key_prefix}_{model}"
    if model == FASTTEXT:
        ft_model = _lid_model(model_path, operator)

        def detect(sentence: str) -> dict[str, float]:
            return _fasttext_lang(ft_model, sentence.replace("\n", " "))

    else:
        detect = _langdetect_langs

    def enrich(page: Page) -> list[Page]:
        check_key(page, key, overwrite)
        probs: dict[str, list[float]] = {}
        for sentence in split_sentences(page[CONTENT], tokenizer=tokenizer):
            if is_space_or_punct(sentence):
                continue
            for lang, prob in detect(sentence).items():
                probs.setdefault(lang, []).append(prob)
        page[key] = {
            lang: {"average_probability": sum(ps) / len(ps), "number_of_sentences": len(ps)}
            for lang, ps in probs.items()
        }
        return [page]

    return enrich
