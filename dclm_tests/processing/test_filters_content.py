"""Content filters through ``get_mapper``: DCLM's documented thresholds, strictness and quirks, on real text too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dclm_resources.processing import get_mapper
from dclm_resources.processing.filters.content import RPJ_GITHUB_EXTENSIONS
from dclm_tests.paths import shared_data


def keeps(name: str, text: str, **params) -> bool:
    page = {"text": text}
    result = get_mapper(name, **params)(page)
    assert result in ([], [page])
    return bool(result)


def c4_pages(limit: int = 200) -> list[dict]:
    path = shared_data("web", "jsonl", "c4_en_sample", "c4_sample.jsonl")
    return [json.loads(line) for line in path.open()][:limit]


# ---------------------------------------------------------------------------------------------- github / code


def test_rpj_extension_list() -> None:
    assert len(RPJ_GITHUB_EXTENSIONS) == 66
    assert {"Dockerfile", "Makefile", ".C", ".H", ".c++", ".smali"} <= set(RPJ_GITHUB_EXTENSIONS)


def test_github_extension_filter() -> None:
    fn = get_mapper("github_extension_filter")
    for name in ("script.py", "Makefile", "Dockerfile", "main.c++", "x.H", "build/Dockerfile"):
        assert fn({"filename": name}) == [{"filename": name}]
    for name in ("document.txt", "README", "script.PY", "py"):
        assert fn({"filename": name}) == []
    assert fn({"text": "Some content"}) == []  # no filename
    p = {"file_name": "script.py"}
    assert get_mapper("github_extension_filter", filename_key="file_name")(p) == [p]
    custom = get_mapper("github_extension_filter", allowed_extensions=[".txt", ".md"])
    assert custom({"filename": "document.txt"}) != []
    assert custom({"filename": "script.py"}) == []


def test_line_length_filter() -> None:
    assert not keeps("line_length_filter", "a" * 1001 + "\nShort line", max_length=1000, length_type="max")
    assert not keeps("line_length_filter", ("a" * 200 + "\n") * 5, max_length=100, length_type="avg")
    within = "a" * 100 + "\nShort line"
    assert keeps("line_length_filter", within, max_length=100, length_type="avg")  # avg 55
    assert keeps("line_length_filter", within, max_length=1000, length_type="max")
    assert keeps("line_length_filter", within, max_length=100, length_type="max")  # strict '>'
    assert not keeps("line_length_filter", within, max_length=99, length_type="max")
    assert keeps("line_length_filter", "a" * 100)  # defaults: max, 1000
    assert keeps(
        "line_length_filter", "Short line\n" * 50, max_length=10, length_type="max"
    )  # '\n' not counted
    text = "A" * 200 + "\n" + "B" * 800 + "\n" + "C" * 300
    assert not keeps("line_length_filter", text, max_length=750, length_type="max")
    assert not keeps("line_length_filter", text, max_length=433, length_type="avg")
    assert keeps("line_length_filter", text, max_length=434, length_type="avg")
    assert not keeps("line_length_filter", "", length_type="max")
    assert not keeps("line_length_filter", "", length_type="avg")
    with pytest.raises(ValueError):
        keeps("line_length_filter", "x", length_type="median")


def test_alphanumeric_char_ratio_filter() -> None:
    assert not keeps("alphanumeric_char_ratio_filter", "")
    assert keeps("alphanumeric_char_ratio_filter", "Hello123", max_alnum_ratio=0.25)
    assert keeps("alphanumeric_char_ratio_filter", "Hello 123!", max_alnum_ratio=0.25)
    assert not keeps("alphanumeric_char_ratio_filter", "!@#$%", max_alnum_ratio=0.25)
    assert keeps("alphanumeric_char_ratio_filter", "abcd", max_alnum_ratio=1.0)
    assert keeps("alphanumeric_char_ratio_filter", "abcd", max_alnum_ratio=0.0)
    assert keeps("alphanumeric_char_ratio_filter", "ab cd\n123!@#", max_alnum_ratio=0.25)
    assert not keeps("alphanumeric_char_ratio_filter", "    ", max_alnum_ratio=0.25)
    # underscores are not alphanumeric; accented letters and other scripts are
    assert keeps("alphanumeric_char_ratio_filter", "a_", max_alnum_ratio=0.5)
    assert not keeps("alphanumeric_char_ratio_filter", "a__", max_alnum_ratio=0.5)
    assert keeps("alphanumeric_char_ratio_filter", "é漢 ", max_alnum_ratio=0.66)


def test_alphabetic_characters_to_tokens_filter_with_a_local_tokenizer(tmp_path: Path) -> None:
    tokenizers = pytest.importorskip("tokenizers")
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace

    vocab = {"[UNK]": 0, "hello": 1, "world": 2}
    tok = tokenizers.Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = Whitespace()
    path = tmp_path / "tokenizer.json"
    tok.save(str(path))
    fn = get_mapper("alphabetic_characters_to_tokens_filter", tokenizer_name=str(tmp_path))
    assert fn({"text": ""}) == []
    assert fn({"text": "hello world"}) != []  # 10 letters / 2 tokens
    assert fn({"text": "12345 67"}) == []  # 0 letters
    assert fn({"text": "a b c d"}, 0.5) != []  # per-call max_ratio, as in DCLM: 4 letters / 4 tokens
    assert fn({"text": "a b c d"}, 1.5) == []
    strict = get_mapper("alphabetic_characters_to_tokens_filter", tokenizer_name=str(path), max_ratio=1.0)
    assert strict({"text": "a b c d"}) != []


def test_alphabetic_characters_to_tokens_filter_needs_tokenizers() -> None:
    try:
        import tokenizers  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="tokenizers"):
            get_mapper("alphabetic_characters_to_tokens_filter")
    else:
        pytest.skip("tokenizers is installed")


# ---------------------------------------------------------------------------------------------- page length


def test_page_length_empty_and_simple() -> None:
    for unit in ("word", "sentence", "line", "paragraph", "char"):
        assert not keeps("page_length_filter", "", length_type=unit, min_length=1)
    for unit, n in (("word", 2), ("sentence", 1), ("line", 1), ("paragraph", 1), ("char", 12)):
        assert keeps("page_length_filter", "Hello world.", length_type=unit, min_length=n)
        assert not keeps("page_length_filter", "Hello world.", length_type=unit, min_length=n + 1)
        assert keeps("page_length_filter", "Hello world.", length_type=unit, min_length=0, max_length=n)
        assert not keeps(
            "page_length_filter", "Hello world.", length_type=unit, min_length=0, max_length=n - 1
        )


@pytest.mark.parametrize(
    ("text", "words", "sentences", "lines", "paragraphs", "chars"),
    [
        ("Hello world. This is a test.", 6, 2, 1, 1, 28),
        ("Hello world. \n This is a test.", 6, 2, 2, 1, 30),
        ("Hello world. \n\n This is a test.", 6, 2, 2, 2, 31),
        ("Hello world. \n\n\n \n\n\n This is a test.", 6, 2, 2, 2, 36),
    ],
)
def test_page_length_units(
    text: str, words: int, sentences: int, lines: int, paragraphs: int, chars: int
) -> None:
    for unit, n, extra in (
        ("word", words, {"ignore_punctuation": True}),
        ("sentence", sentences, {}),
        ("line", lines, {}),
        ("paragraph", paragraphs, {}),
        ("char", chars, {}),
    ):
        assert keeps("page_length_filter", text, length_type=unit, min_length=n, **extra), unit
        assert not keeps("page_length_filter", text, length_type=unit, min_length=n + 1, **extra), unit


def test_page_length_sentences_and_word_models() -> None:
    assert keeps(
        "page_length_filter",
        "Hello world This is a test Python is great",
        length_type="sentence",
        min_length=1,
    )
    assert not keeps(
        "page_length_filter",
        "Hello world This is a test Python is great",
        length_type="sentence",
        min_length=2,
    )
    mr = "Mr. Smith bought 2.5 kilograms of fruit."
    assert keeps("page_length_filter", mr, length_type="word", min_length=7, ignore_punctuation=True)
    assert not keeps("page_length_filter", mr, length_type="word", min_length=8, ignore_punctuation=True)
    assert keeps("page_length_filter", mr, length_type="sentence", min_length=1)
    assert not keeps("page_length_filter", mr, length_type="sentence", min_length=2)
    yeah = "Hello world! That should be easy, right? I think so...yeah..."
    assert keeps(
        "page_length_filter", yeah, length_type="word", min_length=11, model="uniseg", ignore_punctuation=True
    )
    assert not keeps(
        "page_length_filter", yeah, length_type="word", min_length=12, model="uniseg", ignore_punctuation=True
    )
    # fastText's tokenizer keeps 'so...yeah...' as one word
    assert not keeps("page_length_filter", yeah, length_type="word", min_length=11, ignore_punctuation=True)
    assert keeps("page_length_filter", yeah, length_type="sentence", min_length=3)
    assert not keeps("page_length_filter", yeah, length_type="sentence", min_length=4)
    c4 = "First sentence here. Mr. Jones said so. Third one."
    assert keeps(
        "page_length_filter",
        c4,
        length_type="sentence",
        min_length=3,
        tokenizer="nltk",
        tokenizer_lang="english",
    )
    assert keeps("page_length_filter", "Hello.", length_type="word", min_length=-1)


def test_page_length_sentence_bounds_with_early_stop() -> None:
    text = "One here. Two here. Three here. Four here. Five here."
    for tokenizer in ("blingfire", "nltk"):
        kw = {"length_type": "sentence", "tokenizer": tokenizer, "tokenizer_lang": "en"}
        assert keeps("page_length_filter", text, min_length=5, **kw)
        assert not keeps("page_length_filter", text, min_length=6, **kw)
        assert keeps("page_length_filter", text, min_length=2, max_length=5, **kw)
        assert not keeps("page_length_filter", text, min_length=2, max_length=4, **kw)
        assert keeps("page_length_filter", text, min_length=4.5, **kw)
        assert not keeps("page_length_filter", text, min_length=5.5, **kw)
        assert keeps("page_length_filter", text, min_length=-3, max_length=5.5, **kw)
        assert not keeps("page_length_filter", text, min_length=6, max_length=5, **kw)


def test_page_length_errors() -> None:
    with pytest.raises(TypeError):
        keeps("page_length_filter", None, length_type="word", min_length=1)  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        get_mapper("page_length_filter", length_type="word")({})
    with pytest.raises(ValueError):
        keeps("page_length_filter", "x", length_type="token")


# ---------------------------------------------------------------------------------------------- substrings


def test_substring_filter_basics_location_case() -> None:
    text = "warning: Javascript should be enabled"
    assert not keeps("substring_filter", text, banlist="javascript")
    assert keeps("substring_filter", text, banlist="{")
    assert not keeps("substring_filter", text, banlist=["javascript", "{"])
    assert keeps("substring_filter", text, banlist=["python", "{"])
    assert keeps("substring_filter", text, banlist="javascript", location="prefix")
    assert keeps("substring_filter", text, banlist="javascript", location="suffix")
    assert not keeps("substring_filter", text, banlist="warning", location="prefix")
    assert not keeps("substring_filter", text, banlist=["javascript", "warning"], location="prefix")
    assert not keeps("substring_filter", text, banlist="enabled", location="suffix")
    assert keeps("substring_filter", text, banlist="javascript", case_sensitive=True)
    assert not keeps("substring_filter", text, banlist="Javascript", case_sensitive=True)
    assert not keeps("substring_filter", "Lorem Ipsum dolor", banlist=["lorem ipsum"])


def test_substring_filter_exact_word() -> None:
    text = "warning: Javascript should be enabled"
    assert keeps("substring_filter", text, banlist="java", exact_word=True)
    assert not keeps("substring_filter", text, banlist="javascript", exact_word=True)
    assert not keeps("substring_filter", text, banlist="warning", location="prefix", exact_word=True)
    assert keeps("substring_filter", text, banlist="warn", location="prefix", exact_word=True)
    assert not keeps("substring_filter", text, banlist="enabled", location="suffix", exact_word=True)
    assert keeps("substring_filter", text, banlist="abled", location="suffix", exact_word=True)


def test_substring_filter_entries_are_regexes_unless_escaped() -> None:
    # DCLM does not escape entries: '.' matches any character
    assert not keeps("substring_filter", "read more!!! now", banlist="Read more...")
    assert keeps("substring_filter", "read more!!! now", banlist="Read more...", escape=True)
    assert not keeps("substring_filter", "Read more... now", banlist="Read more...", escape=True)
    assert not keeps("substring_filter", "cost: 100 dollars", banlist=r"\d+ dollars")
    assert keeps("substring_filter", "cost: 100 dollars", banlist=r"\d+ dollars", escape=True)
    # C4's curly-bracket rule is a single literal character
    assert not keeps("substring_filter", "function() { return 1; }", banlist=["{"])
    with pytest.raises(ValueError):
        get_mapper("substring_filter", banlist="x", location="middle")
    with pytest.raises(ValueError, match="banlist"):
        get_mapper("substring_filter")
    with pytest.raises(KeyError):
        get_mapper("substring_filter", banlist="javascript")({})


def test_substring_filter_ldnoobw_file() -> None:
    fname = str(shared_data("wordlists", "dclm_banlists", "ldnoobw.txt"))
    anywhere = get_mapper("substring_filter", banlist_from_fname=fname, exact_word=False)
    whole = get_mapper("substring_filter", banlist_from_fname=fname, exact_word=True)
    for text, any_keeps, whole_keeps in (
        ("this text contains a badword xxx so it should be removed", False, False),
        ("this text contains a badword xxx123 so it should be removed", False, True),
        ("this text contains a badword 123xxx so it should be removed", False, True),
        ("this text does not contain a bad word so it should not be removed", True, True),
    ):
        page = {"text": text}
        assert (anywhere(page) == [page]) is any_keeps
        assert (whole(page) == [page]) is whole_keeps


def test_substring_filter_trie_equals_plain_alternation_on_real_text() -> None:
    """The trie regex used for literal entries finds exactly what DCLM's plain ``(?:a|b|…)`` finds."""
    import re

    fname = shared_data("wordlists", "dclm_banlists", "ldnoobw.txt")
    words = fname.read_text().splitlines()
    plain_any = re.compile(f"(?:{'|'.join(w.lower() for w in words)})")
    plain_word = re.compile(rf"\b(?:{'|'.join(w.lower() for w in words)})\b")
    anywhere = get_mapper("substring_filter", banlist_from_fname=str(fname))
    whole = get_mapper("substring_filter", banlist_from_fname=str(fname), exact_word=True)
    dropped = 0
    for page in c4_pages(300):
        text = page["text"].lower()
        assert (anywhere(page) == []) == bool(plain_any.search(text))
        assert (whole(page) == []) == bool(plain_word.search(text))
        dropped += whole(page) == []
    assert dropped < 300


# ---------------------------------------------------------------------------------------------- line shapes


@pytest.mark.parametrize("ell", ["...", ". . .", "\u2026"])
def test_ellipsis_count_filter(ell: str) -> None:
    half = f"This text has one line that ends with an ellipsis{ell}\n and one line that doesn't."
    assert not keeps("ellipsis_count_filter", half, max_ellipsis_end_ratio=0.49)
    assert keeps("ellipsis_count_filter", half, max_ellipsis_end_ratio=0.51)
    assert keeps("ellipsis_count_filter", half, max_ellipsis_end_ratio=0.5)  # strict '>'
    inside = f"This text has one{ell}line that ends with an ellipsis{ell}and one line that doesn't."
    assert keeps("ellipsis_count_filter", inside, max_ellipsis_end_ratio=0.01)
    two_of_three = (
        f"This text has one{ell}{ell}\n{ell}line that ends with an ellipsis{ell}\nand one line that doesn't."
    )
    assert not keeps("ellipsis_count_filter", two_of_three, max_ellipsis_end_ratio=0.66)
    assert keeps("ellipsis_count_filter", two_of_three, max_ellipsis_end_ratio=0.67)
    # trailing spaces are stripped, blank lines are not counted
    assert not keeps("ellipsis_count_filter", f"a{ell}   \n\n\nb", max_ellipsis_end_ratio=0.49)


@pytest.mark.parametrize("bullet1", ["●", "•", "*", "-"])
@pytest.mark.parametrize("bullet2", ["●", "•", "*", "-"])
def test_bullet_count_filter(bullet1: str, bullet2: str) -> None:
    two_of_three = (
        f"{bullet1} This text has two lines\n{bullet2} that start with a bullet\n and one line that doesn't."
    )
    assert not keeps("bullet_count_filter", two_of_three, max_bullet_start_ratio=0.66)
    assert keeps("bullet_count_filter", two_of_three, max_bullet_start_ratio=0.67)
    inside = (
        f"This text has two lines{bullet2} that start with a bullet{bullet1}\n and one line that doesn't."
    )
    assert keeps("bullet_count_filter", inside, max_bullet_start_ratio=0.01)
    many = f"{bullet1 * 5}This text has two lines\n{bullet2} that start with a bullet\n and one line that doesn't."
    assert not keeps("bullet_count_filter", many, max_bullet_start_ratio=0.66)
    assert keeps("bullet_count_filter", many, max_bullet_start_ratio=0.67)


def test_line_shape_filters_defaults() -> None:
    assert keeps("bullet_count_filter", "- a\n- b\n- c\n- d\n- e\n- f\n- g\n- h\n- i\nj")  # 0.9 is not > 0.9
    assert not keeps("bullet_count_filter", "- a\n- b")
    assert keeps("bullet_count_filter", "")  # no lines: 0 > 0 is false
    assert keeps("ellipsis_count_filter", "a...\nb\nc\nd")  # 0.25 ≤ 0.3
    assert not keeps("ellipsis_count_filter", "a...\nb\nc")


# ---------------------------------------------------------------------------------------------- words


def test_stop_word_filter() -> None:
    assert keeps("stop_word_filter", "The best of the best", count_unique=False, min_stop_word=3)
    assert not keeps("stop_word_filter", "The best of the best", count_unique=True, min_stop_word=3)
    all_eight = "the be to of and that have with"
    assert keeps("stop_word_filter", all_eight, count_unique=False, min_stop_word=8)
    assert keeps("stop_word_filter", all_eight, count_unique=True, min_stop_word=8)
    assert not keeps("stop_word_filter", "Then Tom and Sally withheld bees", min_stop_word=2)
    assert not keeps(
        "stop_word_filter", "Then Tom and Sally withheld bees", count_unique=True, min_stop_word=2
    )
    assert not keeps("stop_word_filter", "THE cat, and...", min_stop_word=2)  # 'and...' is not 'and'
    assert keeps("stop_word_filter", "THE cat AND dog")  # defaults: 2, case-insensitive
    # DCLM quirk kept: min_stop_word=0 still needs one stop word
    assert not keeps("stop_word_filter", "no stop words here", min_stop_word=0)
    for unique in (False, True):
        with pytest.raises(KeyError):
            get_mapper("stop_word_filter", count_unique=unique, min_stop_word=3)({})


def test_word_length_filter() -> None:
    assert keeps("word_length_filter", "The average word length is 4.33", min_length=4, max_length=5)
    assert not keeps("word_length_filter", "The cat in the hat", min_length=3, max_length=10)  # 2.8
    assert keeps("word_length_filter", "The cat in the hat", max_length=10)
    assert not keeps("word_length_filter", "Loquaciousness verylongwords", min_length=3, max_length=10)
    assert keeps("word_length_filter", "Loquaciousness verylongwords", min_length=3)
    assert keeps("word_length_filter", "abc abc", min_length=3, max_length=3)  # inclusive bounds
    assert not keeps("word_length_filter", "  ", min_length=3, max_length=10)
    with pytest.raises(KeyError):
        get_mapper("word_length_filter", min_length=4, max_length=5)({})


def test_symbol_ratio_filter() -> None:
    assert keeps("symbol_ratio_filter", "No symbols here.", max_symbol_to_word_ratio=0.0)
    assert keeps("symbol_ratio_filter", "#hashtags #on #every #word", max_symbol_to_word_ratio=1.0)
    assert not keeps("symbol_ratio_filter", "#hashtags #on #every #word", max_symbol_to_word_ratio=0.1)
    assert not keeps(
        "symbol_ratio_filter", "#hashtags and ellipses both count...", max_symbol_to_word_ratio=0.3
    )
    assert not keeps(
        "symbol_ratio_filter", "#hashtags and ellipses both count\u2026", max_symbol_to_word_ratio=0.3
    )
    assert not keeps(
        "symbol_ratio_filter", "#hashtags and ellipses both count. . .", max_symbol_to_word_ratio=0.25
    )
    assert keeps(
        "symbol_ratio_filter", "#hashtags and ellipses both count...", max_symbol_to_word_ratio=0.4
    )  # 2/5
    assert not keeps("symbol_ratio_filter", "   ", max_symbol_to_word_ratio=0.1)
    with pytest.raises(KeyError):
        get_mapper("symbol_ratio_filter", max_symbol_to_word_ratio=0.1)({})


def removal(page: dict, **params) -> bool:
    return get_mapper("word_removal_ratio_filter", **params)(page) == [page]


def test_word_removal_ratio_filter() -> None:
    assert removal(
        {"text": "word 1\nword 2\nword 3", "prev_word_count": 6}, prev_word_count_key="prev_word_count"
    )
    two_of_six = {"text": "word 1\nword 2", "prev_word_count": 6}
    assert not removal(two_of_six, prev_word_count_key="prev_word_count")
    assert removal(two_of_six, prev_word_count_key="prev_word_count", max_removed_ratio=0.34)
    assert removal(
        {"text": "word\n" * 95, "prev_word_count": 100}, prev_word_count_key="prev_word_count"
    )  # 5%
    assert not removal({"text": "word\n" * 94, "prev_word_count": 100}, prev_word_count_key="prev_word_count")
    assert not removal({"text": "", "prev_word_count": 0}, prev_word_count_key="prev_word_count")
    assert not removal({"text": "", "prev_word_count": 100}, prev_word_count_key="prev_word_count")
    messy = " Line 1\nLine 2!!!\t    \n\n\nLine  ????    3\t"
    assert removal(
        {"text": messy, "prev_word_count": 12}, prev_word_count_key="prev_word_count", max_removed_ratio=0.5
    )
    thirteen = {"text": messy, "prev_word_count": 13}
    assert not removal(thirteen, prev_word_count_key="prev_word_count", max_removed_ratio=0.5)
    assert removal(
        thirteen, prev_word_count_key="prev_word_count", max_removed_ratio=0.5, ignore_punctuation=False
    )
    lines = "Line 1\nLine 2\nLine 3"
    keys = {"prev_word_count_key": "prev_word_count", "new_word_count_key": "new_word_count"}
    assert removal({"text": lines, "prev_word_count": 6, "new_word_count": 6}, **keys)
    assert not removal({"text": lines, "prev_word_count": 99, "new_word_count": 6}, **keys)
    assert removal(
        {"text": lines, "prev_word_count": 99, "new_word_count": 99}, **keys
    )  # trusted even if wrong
    # split_words kwargs pass through: uniseg splits 'so...yeah' in two
    assert removal(
        {"text": "so...yeah", "prev_word_count": 2}, prev_word_count_key="prev_word_count", model="uniseg"
    )
    assert not removal({"text": "so...yeah", "prev_word_count": 2}, prev_word_count_key="prev_word_count")
    with pytest.raises(AssertionError):
        removal({"text": "x"}, prev_word_count_key="prev_word_count")


def test_alphabetic_word_ratio_filter() -> None:
    assert not keeps("alphabetic_word_ratio_filter", "", max_ratio=0.2)
    text = "This sentence contains <1,000 non-alphabetic w0rd5 within it but >1."
    assert keeps("alphabetic_word_ratio_filter", text, max_ratio=0.2)  # 2 of 10, inclusive
    assert not keeps("alphabetic_word_ratio_filter", text, max_ratio=0.1)
    spaced = "This sentence contains <1,000     non-alphabetic \nw0rd5 within it but >1."
    assert keeps("alphabetic_word_ratio_filter", spaced, max_ratio=0.2)
    assert not keeps("alphabetic_word_ratio_filter", spaced, max_ratio=0.1)
    assert keeps("alphabetic_word_ratio_filter", "日本 ½ é", max_ratio=0.34)  # '½' has no letter


def test_refinedweb_word_filters_on_c4() -> None:
    """C4 pages are clean English: nearly all pass RefinedWeb's word-level thresholds."""
    steps = [
        get_mapper(
            "page_length_filter",
            length_type="word",
            min_length=50,
            max_length=100000,
            ignore_punctuation=True,
        ),
        get_mapper("word_length_filter", min_length=3, max_length=10),
        get_mapper("symbol_ratio_filter", max_symbol_to_word_ratio=0.1),
        get_mapper("bullet_count_filter", max_bullet_start_ratio=0.9),
        get_mapper("ellipsis_count_filter", max_ellipsis_end_ratio=0.3),
        get_mapper("alphabetic_word_ratio_filter", max_ratio=0.2),
        get_mapper("stop_word_filter", count_unique=False, min_stop_word=2),
    ]
    pages = c4_pages(200)
    survivors = [p for p in pages if all(step(p) for step in steps)]
    assert 100 < len(survivors) < 200  # short pages (< 50 words) go
