"""llm-foundry's four ICL metric rules (``llmfoundry/eval/metrics/nlp.py``, 0.9.0), as plain functions.

- Multiple choice and schema (``InContextLearningMultipleChoiceAccuracy``): per choice, the MEAN per-token
  cross-entropy of the continuation tokens (llm-foundry takes ``exp`` of it, a perplexity, which orders the same);
  the prediction is the first choice with the lowest value (``list.index(min(...))``). Not lm-eval's summed
  log-likelihood: a long right answer is not penalised for its length.
- Language modeling (``InContextLearningLMAccuracy``): correct iff the argmax at every continuation position is
  the continuation token.
- Generation (``InContextLearningGenerationExactMatchAccuracy``): the output is cut before the first match of the
  early-stopping strings (``re.split('|'.join(stops), out)[0]``, unescaped as in llm-foundry), then after the last
  ``cot_delimiter`` (``out.split(cot)[-1]``); output and answers are normalized (TriviaQA's rule plus ``_`` ->
  space); correct iff the output STARTS WITH any normalized answer. Without normalization both are stripped.
- Categories (DCLM ``eval_openlm_ckpt.py``): a ``has_categories`` task's score is the unweighted mean of its
  per-category accuracies.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Iterable, Sequence

_PUNCTUATION = set(string.punctuation + "\u2018\u2019\u00b4`")
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def mean_token_loss(logprob_sum: float, num_tokens: int) -> float:
    """Mean per-token cross-entropy of a continuation from its summed log-likelihood."""
    if num_tokens <= 0:
        raise ValueError("a continuation must have at least one token")
    return -logprob_sum / num_tokens


def argmin_first(values: Sequence[float]) -> int:
    """Index of the first smallest value (llm-foundry's ``subset.index(min(subset))``)."""
    if not values:
        raise ValueError("no choices to pick from")
    return min(range(len(values)), key=lambda i: (values[i], i))


def multiple_choice_prediction(logprob_sums: Sequence[float], token_counts: Sequence[int]) -> int:
    """The chosen option: lowest mean per-token loss of its continuation (multiple choice and schema tasks)."""
    if len(logprob_sums) != len(token_counts):
        raise ValueError("one token count per choice is needed")
    losses = [mean_token_loss(s, n) for s, n in zip(logprob_sums, token_counts, strict=True)]
    return argmin_first(losses)


def multiple_choice_correct(logprob_sums: Sequence[float], token_counts: Sequence[int], gold: int) -> bool:
    return multiple_choice_prediction(logprob_sums, token_counts) == gold


def language_modeling_correct(greedy_matches: bool) -> bool:
    """Exact greedy match of every continuation token (what lm-eval's ``is_greedy`` reports)."""
    return bool(greedy_matches)


def normalize_answer(text: str) -> str:
    """llm-foundry's answer normalization: ``_`` -> space, lower case, punctuation -> space, articles dropped,
    whitespace collapsed."""
    text = text.replace("_", " ").lower()
    text = "".join(" " if ch in _PUNCTUATION else ch for ch in text)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split()).strip()


def final_answer(output: str, stop_sequences: Sequence[str] | None, cot_delimiter: str | None) -> str:
    """The part of a generation that is compared: before the first stop match, after the last CoT delimiter."""
    if stop_sequences:
        output = re.split("|".join(stop_sequences), output)[0]
    if cot_delimiter:
        output = output.split(cot_delimiter)[-1]
    return output


def generation_correct(
    output: str,
    answers: Iterable[str],
    stop_sequences: Sequence[str] | None = None,
    cot_delimiter: str | None = None,
    do_normalization: bool = True,
) -> bool:
    """llm-foundry's generation accuracy for one sample (prefix match after cutting and normalizing)."""
    answer = final_answer(output, stop_sequences, cot_delimiter)
    if do_normalization:
        cleaned = normalize_answer(answer)
        labels = {normalize_answer(a) for a in answers}
    else:
        cleaned = answer.strip()
        labels = {a.strip() for a in answers}
    return any(cleaned.startswith(label) for label in labels)


def per_category_accuracy(items: Iterable[tuple[str | None, float]]) -> dict[str | None, tuple[float, int]]:
    """(mean, count) per category, categories in sorted order (``None``: a task without categories)."""
    sums: dict[str | None, list[float]] = {}
    for category, value in items:
        sums.setdefault(category, []).append(float(value))
    ordered = sorted(sums, key=lambda c: "" if c is None else c)
    return {c: (math.fsum(sums[c]) / len(sums[c]), len(sums[c])) for c in ordered}


def category_mean(items: Iterable[tuple[str | None, float]]) -> float:
    """DCLM's task score: the unweighted mean over categories of each category's mean (plain mean without them).

    ``items`` are ``(category, correct)`` pairs, one per scored example (the lm-eval metric value of our tasks).
    """
    per_cat = per_category_accuracy(items)
    if not per_cat:
        return float("nan")
    return math.fsum(mean for mean, _ in per_cat.values()) / len(per_cat)
