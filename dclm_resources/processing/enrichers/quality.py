"""Model-based quality scores (DCLM ``quality_prediction_enrichers_calc_fasttext.py`` / ``..._kenlm_model.py``).

``classify_fasttext_hq_prob_enricher`` is the scorer behind DCLM-Baseline's final step (the OH2.5+ELI5 fastText
classifier, kept at ``>= 0.018112``); ``ken_lm_perplexity_enricher`` is CCNet's Wikipedia-KenLM perplexity.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

from dclm_resources.processing.enrichers.counts import check_key
from dclm_resources.processing.enrichers.models import (
    ModelFileError,
    fasttext_predict,
    load_fasttext_model,
    locate_model,
)
from dclm_resources.processing.registry import Page, factory

CONTENT = "text"
HQ_LABEL = "__label__hq"
CC_LABEL = "__label__cc"
DCLM_QUALITY_MODEL_DIR = "baselines/mappers/enrichers/quality_prediction_enrichment_models"


def fasttext_hq_prob(model: Any, text: str) -> float:
    """P(hq) of ``text``: lines joined by spaces, top-1 prediction; ``1 - p`` when the top label is ``__label__cc``.

    The text is stripped and its ``splitlines()`` joined with ``" "`` (DCLM's preprocessing: unlike language ID,
    line ends become word breaks). A top label other than hq/cc gives its own probability, as in DCLM.
    """
    top = fasttext_predict(model, " ".join(text.strip().splitlines()), 1)
    if not top:
        return 0.0
    label, prob = top[0]
    return 1.0 - prob if label == CC_LABEL else prob


@factory("enricher")
def classify_fasttext_hq_prob_enricher(
    model_filename: str = "model.bin", key: str = "fasttext_hq_prob", overwrite: bool = False
) -> Callable[[Page], list[Page]]:
    """``page[key]`` = the fastText classifier's probability that the page is high quality (see fasttext_hq_prob).

    ``model_filename`` is used as given when it is an ``s3://`` URI (downloaded once per process) or an existing
    path; a bare name such as DCLM's ``openhermes_reddit_eli5_vs_rw_v2_bigram_200k_train.bin`` is looked up in
    the models dir (``$DCLM_MODELS_DIR``, default ``<DCLM_HOME>/models``), then the resource dirs. The model is
    located and loaded (once per process) when the step is built: a missing or corrupt file fails then, naming
    the file, before any page is read.
    """
    operator = "classify_fasttext_hq_prob_enricher"
    hint = f"a fastText classifier with labels {HQ_LABEL}/{CC_LABEL} (DCLM keeps them in {DCLM_QUALITY_MODEL_DIR}/)"
    path = locate_model(model_filename, operator, "model_filename", hint)
    model = load_fasttext_model(path, operator, "model_filename")

    def enrich(page: Page) -> list[Page]:
        check_key(page, key, overwrite)
        page[key] = fasttext_hq_prob(model, page[CONTENT])
        return [page]

    return enrich


# --------------------------------------------------------------------------------------------------------------
# KenLM perplexity (CCNet normalisation + SentencePiece + KenLM)
# --------------------------------------------------------------------------------------------------------------

# CCNet's unicode punctuation → ASCII map (cc_net/text_normalizer.py), plus deletion of C0/C1 control chars
# (which removes newlines: the whole document is scored as one line).
_UNICODE_PUNCT = {
    "，": ",", "。": ".", "、": ",", "„": '"', "”": '"', "“": '"', "«": '"', "»": '"', "１": '"',
    "」": '"', "「": '"', "《": '"', "》": '"', "´": "'", "∶": ":", "：": ":", "？": "?", "！": "!",
    "（": "(", "）": ")", "；": ";", "–": "-", "—": " - ", "．": ". ", "～": "~", "’": "'", "…": "...",
    "━": "-", "〈": "<", "〉": ">", "【": "[", "】": "]", "％": "%", "►": "-",
}  # fmt: skip
_PUNCT_AND_CONTROL: dict[int, str | None] = {ord(k): v for k, v in _UNICODE_PUNCT.items()}
_PUNCT_AND_CONTROL.update({cp: None for cp in [*range(0, 32), *range(127, 160)]})
_DIGIT = re.compile(r"\d")


def ccnet_normalize(text: str) -> str:
    """CCNet's normalisation as DCLM's KenLM scorer configures it: strip, every digit → ``0``, unicode punctuation
    mapped to ASCII, control characters removed; no lowercasing, accents kept.

    Digits are replaced first, so CCNet's ``"１" → '"'`` entry never fires (as in CCNet).
    """
    text = text.strip()
    if not text:
        return text
    return _DIGIT.sub("0", text).translate(_PUNCT_AND_CONTROL)


def kenlm_perplexity(lm: Any, sp: Any, text: str) -> float:
    """``10 ** (-Σ log10 P(line) / Σ (#pieces + 1))`` over the SentencePiece-tokenized lines, rounded to 0.1."""
    tokenized = " ".join(sp.encode_as_pieces(ccnet_normalize(text)))
    log_score = 0.0
    length = 0
    for line in tokenized.split("\n"):
        log_score += lm.score(line)
        length += len(line.split()) + 1
    return round(10.0 ** (-log_score / length), 1)


@factory("enricher")
def ken_lm_perplexity_enricher(
    key: str = "kenlm_perplexity",
    overwrite: bool = False,
    model_path: str | None = None,
    sp_model_path: str | None = None,
) -> Callable[[Page], list[Page]]:
    """``page[key]`` = KenLM perplexity of the page (lower = more Wikipedia-like).

    Needs the ``kenlm`` and ``sentencepiece`` packages and two files: the KenLM model (``model_path``, default
    DCLM's ``en.arpa.bin``) and its SentencePiece model (``sp_model_path``, default ``en.sp.model``), both from
    HF ``edugp/kenlm`` ``wikipedia/``; located like the fastText models (models dir, then resource dirs;
    ``s3://`` URIs downloaded once per process). Loaded once per step.
    """
    operator = "ken_lm_perplexity_enricher"
    try:
        import kenlm
        import sentencepiece
    except ImportError as err:
        raise ImportError(
            f"{operator} needs the 'kenlm' and 'sentencepiece' packages (pip install kenlm sentencepiece): {err}"
        ) from err
    hint = "DCLM uses en.arpa.bin / en.sp.model from https://huggingface.co/edugp/kenlm (wikipedia/)"
    lm_path = locate_model(model_path or "en.arpa.bin", operator, "model_path", f"a KenLM model; {hint}")
    sp_path = locate_model(
        sp_model_path or "en.sp.model", operator, "sp_model_path", f"the LM's SentencePiece model; {hint}"
    )
    for path, param in ((lm_path, "model_path"), (sp_path, "sp_model_path")):
        if not os.path.isfile(path):
            raise ModelFileError(f"{operator}: {path!r} ({param}) does not exist or is not a file")
    try:
        lm = kenlm.Model(lm_path)
    except (OSError, RuntimeError, ValueError) as err:
        raise ValueError(
            f"{operator}: {lm_path!r} (model_path) is not a loadable KenLM model: {err}"
        ) from err
    sp = sentencepiece.SentencePieceProcessor()
    try:
        sp.load(sp_path)
    except (OSError, RuntimeError, ValueError) as err:
        raise ValueError(
            f"{operator}: {sp_path!r} (sp_model_path) is not a SentencePiece model: {err}"
        ) from err

    def enrich(page: Page) -> list[Page]:
        check_key(page, key, overwrite)
        page[key] = kenlm_perplexity(lm, sp, page[CONTENT])
        return [page]

    return enrich
