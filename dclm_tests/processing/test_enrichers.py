"""Enrichers: line/word counts, language ID (langdetect and a tiny fastText LID), fastText quality, KenLM.

The fastText models are trained here in a second or two on real labelled text (English C4 lines and BIG-bench
language-ID sentences; DCLM's human quality annotations). They are far too small to be accurate: the tests
check the enrichers' mechanics (keys, preprocessing, label handling, loading) against the models' raw output.
"""

from __future__ import annotations

import json
from itertools import islice
from pathlib import Path
from typing import Any

import pytest

from dclm_resources.processing import get_mapper
from dclm_tests.paths import shared_data
from dclm_tests.processing.models import (
    bigbench_sentences,
    train_tiny_lid,
    train_tiny_quality,
)

TEXT4 = "This is English.\nDies ist Deutsch, die offizielle Sprache in Deutschland.\nזה עברית"


@pytest.fixture(autouse=True)
def _isolated_models_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bare model names must not resolve against the user's real ``~/.dclm/models``."""
    monkeypatch.setenv("DCLM_MODELS_DIR", str(tmp_path_factory.mktemp("models")))
    monkeypatch.delenv("DCLM_LID_MODEL", raising=False)


def enrich(name: str, page: dict[str, Any], **params: Any) -> dict[str, Any]:
    (out,) = get_mapper(name, **params)(page)
    return out


# ------------------------------------------------------------------------------------------------ counts


def test_line_counter_enricher() -> None:
    text = "Hello\n\nWorld and all\nand beyond"
    assert enrich("line_counter_enricher", {"text": text})["num_lines"] == 3
    assert enrich("line_counter_enricher", {"text": text}, remove_empty=False)["num_lines"] == 4
    assert enrich("line_counter_enricher", {"text": text}, paragraph_end="\n\n")["num_lines"] == 2
    assert enrich("line_counter_enricher", {"text": ""})["num_lines"] == 0
    assert enrich("line_counter_enricher", {"text": "Hello World"}, key="n")["n"] == 1
    with pytest.raises(AssertionError, match="cannot overwrite an existing key num_lines"):
        enrich("line_counter_enricher", {"text": text, "num_lines": 1})
    assert enrich("line_counter_enricher", {"text": text, "num_lines": 1}, overwrite=True)["num_lines"] == 3


@pytest.mark.parametrize(
    ("params", "count"),
    [
        ({}, 9),
        ({"model": "uniseg"}, 9),
        ({"ignore_punctuation": False}, 14),
        ({"model": "uniseg", "ignore_punctuation": False}, 18),
        ({"ignore_whitespace": False}, 9),
        ({"model": "split"}, 9),
    ],
)
def test_word_counter_enricher(params: dict[str, Any], count: int) -> None:
    text = "CameCaseWord Line 1\nLine 2!!! e.g.\t  U.S.A.  \n\n\nLine  ????    3\t"
    assert enrich("word_counter_enricher", {"text": text}, **params)["word_count"] == count
    assert enrich("word_counter_enricher", {"text": ""}, **params)["word_count"] == 0


def test_word_counter_enricher_key_and_overwrite() -> None:
    page = enrich("word_counter_enricher", {"text": "one two three"}, key="previous_word_count")
    assert page["previous_word_count"] == 3
    with pytest.raises(AssertionError):
        enrich("word_counter_enricher", page, key="previous_word_count")


# ------------------------------------------------------------------------------------------------ langdetect


def test_langdetect_whole_page_enricher() -> None:
    page = enrich("detect_lang_whole_page_enricher", {"text": TEXT4}, model="langdetect", seed=0)
    scores = page["language_id_whole_page_langdetect"]
    assert list(scores) == ["de"] and round(scores["de"], 1) == 1.0
    mixed = "This is an English text that should be long. Dies ist Deutsch, und das ist gut so."
    first = enrich("detect_lang_whole_page_enricher", {"text": mixed}, model="langdetect", seed=3)
    again = enrich("detect_lang_whole_page_enricher", {"text": mixed}, model="langdetect", seed=3)
    assert first == again
    custom = enrich("detect_lang_whole_page_enricher", {"text": TEXT4}, model="langdetect", key_prefix="lid")
    assert "lid_langdetect" in custom


@pytest.mark.parametrize("text", ["", "     ", "!@#$%^&*()_+", "12345"])
def test_langdetect_nothing_to_detect_gives_empty_dict(text: str) -> None:
    page = enrich("detect_lang_whole_page_enricher", {"text": text}, model="langdetect", seed=0)
    assert page["language_id_whole_page_langdetect"] == {}


@pytest.mark.parametrize("tokenizer", ["blingfire", "nltk"])
def test_langdetect_paragraph_enricher(tokenizer: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from langdetect import DetectorFactory

    monkeypatch.setattr(DetectorFactory, "seed", 0)  # the paragraph enricher has no seed parameter (DCLM)
    fn = get_mapper("detect_lang_paragraph_enricher", model="langdetect", tokenizer=tokenizer)
    scores = fn({"text": TEXT4})[0]["language_id_paragraph_langdetect"]
    assert list(scores) == ["en", "de", "he"]
    assert all(v["number_of_sentences"] == 1 for v in scores.values())
    assert [round(v["average_probability"], 1) for v in scores.values()] == [1.0, 1.0, 1.0]
    assert fn({"text": "  ... !!"})[0]["language_id_paragraph_langdetect"] == {}


def test_language_id_bad_arguments_fail_at_build() -> None:
    with pytest.raises(ValueError, match="model must be one of"):
        get_mapper("detect_lang_whole_page_enricher", model="cld3")
    with pytest.raises(ValueError, match="tokenizer"):
        get_mapper("detect_lang_paragraph_enricher", model="langdetect", tokenizer="spacy")
    with pytest.raises(AssertionError, match="cannot overwrite"):
        enrich(
            "detect_lang_whole_page_enricher",
            {"text": "x", "language_id_whole_page_langdetect": {}},
            model="langdetect",
        )


# ------------------------------------------------------------------------------------------------ tiny fastText models


@pytest.fixture(scope="module")
def lid_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 6-language fastText LID model (labels like lid.176's ``__label__en``)."""
    return train_tiny_lid(tmp_path_factory.mktemp("lid"))


@pytest.fixture(scope="module")
def raw_lid(lid_model: Path) -> Any:
    import fasttext

    return fasttext.load_model(str(lid_model))


def top1(model: Any, line: str) -> tuple[str, float]:
    prob, label = model.f.predict(line + "\n", 1, 0.0, "strict")[0]
    return label, prob


def test_fasttext_whole_page_enricher(lid_model: Path, raw_lid: Any) -> None:
    german = bigbench_sentences()["German"][0]
    page = enrich(
        "detect_lang_whole_page_enricher", {"text": german}, model="fasttext", model_path=str(lid_model)
    )
    scores = page["language_id_whole_page_fasttext"]
    assert list(scores) == ["de"]
    assert scores["de"] == top1(raw_lid, german)[1]
    assert isinstance(scores["de"], float)


def test_fasttext_lid_removes_newlines_without_spaces(lid_model: Path, raw_lid: Any) -> None:
    text = "Der Hund\nschläft im Garten\nund die Katze\nauch"
    page = enrich(
        "detect_lang_whole_page_enricher", {"text": text}, model="fasttext", model_path=str(lid_model)
    )
    label, prob = top1(raw_lid, text.replace("\n", ""))  # "Hundschläft": DCLM's quirk
    assert page["language_id_whole_page_fasttext"] == {label.removeprefix("__label__"): prob}
    assert top1(raw_lid, text.replace("\n", " ")) != (label, prob)


@pytest.mark.parametrize("text", ["", "   ", "!@#$%^&*()_+", "... ---"])
def test_fasttext_lid_nothing_to_detect(lid_model: Path, text: str) -> None:
    page = enrich(
        "detect_lang_whole_page_enricher", {"text": text}, model="fasttext", model_path=str(lid_model)
    )
    assert page["language_id_whole_page_fasttext"] == {}


def test_fasttext_lid_only_newlines_is_still_predicted(lid_model: Path) -> None:
    """Only spaces and ASCII punctuation count as 'nothing': a page of newlines gets fastText's guess (DCLM)."""
    page = enrich(
        "detect_lang_whole_page_enricher", {"text": "\n\n"}, model="fasttext", model_path=str(lid_model)
    )
    assert len(page["language_id_whole_page_fasttext"]) == 1


def test_fasttext_paragraph_enricher(lid_model: Path, raw_lid: Any) -> None:
    from dclm_resources.processing.text import split_sentences

    german = bigbench_sentences()["German"]
    en = "The weather was very nice and we went for a long walk in the park."
    text = f"{en} {german[1]}\n{german[2]} {german[3]} ..."
    sentences = split_sentences(text)
    assert any("\n" in s for s in sentences)  # blingfire keeps this newline: DCLM's fastText call would raise
    expected: dict[str, list[float]] = {}
    for sentence in sentences:
        if sentence != "...":
            label, prob = top1(raw_lid, sentence.replace("\n", " "))
            expected.setdefault(label.removeprefix("__label__"), []).append(prob)
    page = enrich(
        "detect_lang_paragraph_enricher",
        {"text": text},
        model="fasttext",
        tokenizer="blingfire",
        model_path=str(lid_model),
    )
    scores = page["language_id_paragraph_fasttext"]
    assert list(scores) == list(expected) and "en" in scores and "de" in scores
    for lang, probs in expected.items():
        assert scores[lang]["number_of_sentences"] == len(probs)
        assert scores[lang]["average_probability"] == pytest.approx(sum(probs) / len(probs))


def test_fasttext_lid_model_errors(lid_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dclm_resources.processing.enrichers.language_id import ModelFileError

    monkeypatch.delenv("DCLM_RESOURCE_DIRS", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelFileError, match="missing.bin"):
        get_mapper(
            "detect_lang_whole_page_enricher", model="fasttext", model_path=str(tmp_path / "missing.bin")
        )
    corrupt = tmp_path / "corrupt.bin"
    corrupt.write_bytes(b"not a fastText model" * 50)
    with pytest.raises(ModelFileError, match="corrupt.bin"):
        get_mapper("detect_lang_whole_page_enricher", model="fasttext", model_path=str(corrupt))
    with pytest.raises(ModelFileError, match=r"model_path='nowhere\.bin'.*models dir"):
        get_mapper(
            "detect_lang_paragraph_enricher",
            model="fasttext",
            tokenizer="blingfire",
            model_path="nowhere.bin",
        )
    monkeypatch.setenv("DCLM_LID_MODEL", str(tmp_path / "configured.bin"))
    with pytest.raises(ModelFileError, match=r"configured\.bin"):
        get_mapper("detect_lang_whole_page_enricher", model="fasttext")
    monkeypatch.delenv("DCLM_LID_MODEL")
    with pytest.raises(NotImplementedError):
        get_mapper("detect_lang_whole_page_enricher", model="fasttext", seed=1, model_path=str(lid_model))
    # DCLM's file name is found in a resource dir.
    (tmp_path / "res").mkdir()
    (tmp_path / "res" / "lid.176.bin").symlink_to(lid_model)
    monkeypatch.setenv("DCLM_RESOURCE_DIRS", str(tmp_path / "res"))
    fn = get_mapper("detect_lang_whole_page_enricher", model="fasttext")
    assert fn({"text": "hello"})[0]["language_id_whole_page_fasttext"]


def test_fasttext_model_loads_once_per_process(lid_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every shard builds its mappers again: the model must come from the process cache, not the disk."""
    import fasttext

    from dclm_resources.processing.enrichers.models import clear_model_cache

    clear_model_cache()
    calls: list[str] = []
    real = fasttext.load_model
    monkeypatch.setattr(fasttext, "load_model", lambda path: calls.append(path) or real(path))
    for _shard in range(3):
        whole = get_mapper("detect_lang_whole_page_enricher", model="fasttext", model_path=str(lid_model))
        para = get_mapper(
            "detect_lang_paragraph_enricher",
            model="fasttext",
            tokenizer="blingfire",
            model_path=str(lid_model),
        )
        for text in ("one page", "another page", "a third"):
            whole({"text": text})
            para({"text": text})
    assert calls == [str(lid_model.resolve())]


# ------------------------------------------------------------------------------------------------ fastText quality


@pytest.fixture(scope="module")
def quality_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """hq = DCLM human-annotated good pages (label 1), cc = the rest; bigrams as in DCLM's classifier."""
    return train_tiny_quality(tmp_path_factory.mktemp("quality"))


def test_classify_fasttext_hq_prob_enricher(quality_model: Path) -> None:
    import fasttext

    raw = fasttext.load_model(str(quality_model))
    fn = get_mapper("classify_fasttext_hq_prob_enricher", model_filename=str(quality_model))
    path = shared_data("quality", "dclm_human_annotations", "agreement_data.jsonl")
    with open(path, encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    seen = set()
    for row in rows[:60]:
        score = fn({"text": row["text"]})[0]["fasttext_hq_prob"]
        label, prob = top1(raw, " ".join(row["text"].strip().splitlines()))
        seen.add(label)
        assert score == pytest.approx(1 - prob if label == "__label__cc" else prob)
        assert -1e-4 <= score <= 1 + 1e-4
    assert seen == {"__label__hq", "__label__cc"}  # both branches exercised
    # The classifier learnt something: training positives score higher on average.
    scores = {0: [], 1: []}
    for row in rows:
        scores[row["label"]].append(fn({"text": row["text"]})[0]["fasttext_hq_prob"])
    assert sum(scores[1]) / len(scores[1]) > sum(scores[0]) / len(scores[0])


def test_quality_preprocessing_joins_lines_with_spaces(quality_model: Path) -> None:
    fn = get_mapper("classify_fasttext_hq_prob_enricher", model_filename=str(quality_model), key="q")
    a = fn({"text": "  The committee met on Tuesday\nto discuss the budget.\r\nIt approved it.  "})[0]["q"]
    b = fn({"text": "The committee met on Tuesday to discuss the budget. It approved it."})[0]["q"]
    assert a == b
    with pytest.raises(AssertionError):
        fn({"text": "x", "q": 0.5})
    assert (
        get_mapper(
            "classify_fasttext_hq_prob_enricher", model_filename=str(quality_model), key="q", overwrite=True
        )({"text": "x", "q": 0.5})[0]["q"]
        != 0.5
    )


def test_quality_model_file_resolution(
    quality_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dclm_resources.processing.enrichers.language_id import ModelFileError

    monkeypatch.delenv("DCLM_RESOURCE_DIRS", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelFileError, match=r"model_filename='fasttext_oh_eli5\.bin' was not found"):
        get_mapper("classify_fasttext_hq_prob_enricher", model_filename="fasttext_oh_eli5.bin")
    monkeypatch.setenv("DCLM_RESOURCE_DIRS", str(quality_model.parent))
    fn = get_mapper("classify_fasttext_hq_prob_enricher", model_filename=quality_model.name, key="k")
    assert isinstance(fn({"text": "some text"})[0]["k"], float)


# ------------------------------------------------------------------------------------------------ KenLM


@pytest.fixture(scope="module")
def kenlm_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A SentencePiece model trained on C4 lines and a hand-written unigram ARPA LM over its pieces."""
    pytest.importorskip("kenlm")
    spm = pytest.importorskip("sentencepiece")
    folder = tmp_path_factory.mktemp("kenlm")
    c4 = shared_data("web", "jsonl", "c4_en_sample", "c4_sample.jsonl")
    corpus = folder / "corpus.txt"
    with open(c4, encoding="utf-8") as src, open(corpus, "w", encoding="utf-8") as dst:
        for line in islice(src, 200):
            dst.write(json.loads(line)["text"] + "\n")
    spm.SentencePieceTrainer.train(
        input=str(corpus), model_prefix=str(folder / "en.sp"), vocab_size=300, minloglevel=2, num_threads=1
    )
    sp = spm.SentencePieceProcessor(model_file=str(folder / "en.sp.model"))
    # Unigram log10 probabilities from the SentencePiece unigram model's own (natural-log) piece scores.
    unigrams = ["-6.0\t<unk>\t0", "-99\t<s>\t0", "-1.0\t</s>\t0"]
    for i in range(sp.get_piece_size()):
        if not (sp.is_control(i) or sp.is_unknown(i)):
            unigrams.append(f"{sp.get_score(i) / 2.302585:.4f}\t{sp.id_to_piece(i)}\t0")
    bigrams = ["-0.5\t<s> <unk>"]  # KenLM needs at least a bigram model; this one never fires below
    arpa = folder / "en.arpa"
    arpa.write_text(
        f"\\data\\\nngram 1={len(unigrams)}\nngram 2={len(bigrams)}\n\n\\1-grams:\n"
        + "\n".join(unigrams)
        + "\n\n\\2-grams:\n"
        + "\n".join(bigrams)
        + "\n\n\\end\\\n",
        encoding="utf-8",
    )
    return arpa, folder / "en.sp.model"


def test_ken_lm_perplexity_enricher(kenlm_files: tuple[Path, Path]) -> None:
    import kenlm
    import sentencepiece

    arpa, sp_model = kenlm_files
    fn = get_mapper("ken_lm_perplexity_enricher", model_path=str(arpa), sp_model_path=str(sp_model))
    text = "the cat sat on the mat and looked at the garden"
    pieces = sentencepiece.SentencePieceProcessor(model_file=str(sp_model)).encode_as_pieces(text)
    score = kenlm.Model(str(arpa)).score(" ".join(pieces))
    expected = round(10 ** (-score / (len(pieces) + 1)), 1)
    assert fn({"text": f"  {text}  "})[0]["kenlm_perplexity"] == expected

    def ppl(t: str) -> float:
        return fn({"text": t})[0]["kenlm_perplexity"]

    # CCNet normalisation: digits → 0, unicode punctuation → ASCII, control chars (newlines too) removed.
    assert ppl("In 1999 there were 42 cats") == ppl("In 0000 there were 00 cats")
    assert ppl("He said “hello” – twice…") == ppl('He said "hello" - twice...')
    assert ppl("the cat\nsat") == ppl("the catsat")
    assert ppl("the cat sat on the mat") < ppl("zq xv jk qz vx")
    with pytest.raises(AssertionError):
        fn({"text": "x", "kenlm_perplexity": 1.0})


def test_ken_lm_missing_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("kenlm")
    pytest.importorskip("sentencepiece")
    from dclm_resources.processing.enrichers.language_id import ModelFileError

    monkeypatch.delenv("DCLM_RESOURCE_DIRS", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelFileError, match=r"model_path.*en\.arpa\.bin"):
        get_mapper("ken_lm_perplexity_enricher")
    with pytest.raises(ModelFileError, match="nope.bin"):
        get_mapper("ken_lm_perplexity_enricher", model_path="/nope.bin", sp_model_path="/nope.model")
