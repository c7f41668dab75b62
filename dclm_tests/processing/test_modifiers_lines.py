"""Line modifiers: DCLM's documented cases, its quirks, and fast paths checked against per-line oracles on real pages."""

from __future__ import annotations

import gzip
import json
from functools import lru_cache
from itertools import islice
from typing import Any

import pytest

from dclm_resources.processing import OperatorError, get_mapper
from dclm_resources.processing.text import split_words
from dclm_tests.paths import shared_data


def run(name: str, text: Any, **params: Any) -> list[dict[str, Any]]:
    return get_mapper(name, **params)({"text": text})


def texts(result: list[dict[str, Any]]) -> list[Any]:
    return [p["text"] for p in result]


@lru_cache(maxsize=1)
def real_pages() -> tuple[str, ...]:
    """Raw CC page text (boilerplate, counters, menus) plus C4 text: 697 + 300 documents."""
    cc = shared_data(
        "web", "jsonl", "dolma_cc_2019_30", "CC-MAIN-20190717121559-20190717143559-00140.jsonl.gz"
    )
    with gzip.open(cc, "rt", encoding="utf-8") as handle:
        docs = [json.loads(line)["text"] for line in handle]
    c4 = shared_data("web", "jsonl", "c4_en_sample", "c4_sample.jsonl")
    with open(c4, encoding="utf-8") as handle:
        docs += [json.loads(line)["text"] for line in islice(handle, 300)]
    return tuple(docs)


def expected_from_lines(lines: list[str], strip: bool) -> list[str]:
    text = "\n".join(lines)
    text = text.strip() if strip else text
    return [text] if text else []


# ------------------------------------------------------------------------------------------------ substring_line


JS = "JavaScript must be enabled\n\nThis is an article about JavaScript.\njava script enabled "


def test_substring_line_modifier_dclm_cases() -> None:
    assert run("substring_line_modifier", "", banlist="javascript") == []
    assert texts(run("substring_line_modifier", JS, banlist="javascript")) == ["java script enabled"]
    assert texts(run("substring_line_modifier", JS, banlist="javascript", case_sensitive=True)) == [
        JS.strip()
    ]
    js2 = "JavaScript must be enabled\nThis is an article about JavaScript.\n\njava script enabled "
    assert texts(run("substring_line_modifier", js2, banlist="enabled")) == [
        "This is an article about JavaScript."
    ]
    assert run("substring_line_modifier", js2, banlist=["javascript", "enabled"]) == []
    with pytest.raises(KeyError):
        get_mapper("substring_line_modifier", banlist="javascript")({})


def test_substring_line_modifier_refinedweb_rules() -> None:
    long_line = "You have 7 items in cart right now but you can add more by clicking back onto the homepage."
    page = f"You have 7 items in cart right now\n{long_line}"
    assert texts(run("substring_line_modifier", page, banlist="items in cart", max_length=10)) == [long_line]
    page = f"You have 7 items in cart right now\n  items in cart  \n{long_line}"
    out = run(
        "substring_line_modifier", page, banlist="items in cart", max_length=10, remove_substring_only=True
    )
    assert texts(out) == [f"You have 7 right now\n{long_line}"]

    tail = (
        "This is an article about how to sign-in.\n\nsign-in at this page by providing your username and "
        "password. If you forget your password you may contact a site administrator."
    )
    out = run(
        "substring_line_modifier",
        f"sign-in for full access\n{tail}",
        banlist="sign-in",
        location="prefix",
        max_length=10,
    )
    assert texts(out) == [tail]
    out = run(
        "substring_line_modifier",
        f"sign-in for full access\nsign-in  \n{tail}",
        banlist="sign-in",
        location="prefix",
        max_length=10,
        remove_substring_only=True,
    )
    assert texts(out) == [f"for full access\n{tail}"]

    rest = "Read more...and find out!\n\nThis is a short summary about the article, which can be expanded upon if you wish. Read more..."
    out = run(
        "substring_line_modifier",
        f"Please read more...\n{rest}",
        banlist="Read more...",
        location="suffix",
        max_length=10,
    )
    assert texts(out) == [rest]
    out = run(
        "substring_line_modifier",
        f"Please read more...\n  read more...\n{rest}",
        banlist="Read more...",
        location="suffix",
        max_length=10,
        remove_substring_only=True,
    )
    assert texts(out) == [f"Please\n{rest}"]


def test_substring_line_modifier_unescaped_banlist_quirk_and_escape_fix() -> None:
    page = "Great story. Read more!!!\nA second line that stays."
    # DCLM: "Read more..." is a regex, so "..." matches "!!!".
    assert texts(run("substring_line_modifier", page, banlist="Read more...", location="suffix")) == [
        "A second line that stays."
    ]
    assert texts(
        run("substring_line_modifier", page, banlist="Read more...", location="suffix", escape=True)
    ) == [page]
    assert texts(run("substring_line_modifier", "Price: $5 (net)\nok", banlist="$5 (net)", escape=True)) == [
        "ok"
    ]


def test_substring_line_modifier_whitespace_only_lines_dropped_in_substring_mode() -> None:
    # DCLM quirk: in remove_substring_only mode an eligible whitespace-only line is dropped even without a match.
    page = "first line\n   \nsecond line"
    out = run("substring_line_modifier", page, banlist="absent", remove_substring_only=True)
    assert texts(out) == ["first line\nsecond line"]
    assert texts(run("substring_line_modifier", page, banlist="absent")) == [page]


def test_substring_line_modifier_case_folding_twins() -> None:
    """re.IGNORECASE equates dotless 'ı', 'İ', long 'ſ' and the Kelvin sign with ASCII letters; so must we."""
    for line in ("ıtems ın cart", "İTEMS IN CART", "itemſ in cart", "\u212aeep items in cart"):
        page = f"“Intro” line\n{line}\nlast line"
        assert texts(run("substring_line_modifier", page, banlist="items in cart")) == [
            "“Intro” line\nlast line"
        ]
    page = "“Curly” quotes make this non-ASCII\nYou have 3 Items In Cart\nend"
    assert texts(run("substring_line_modifier", page, banlist="items in cart")) == [
        "“Curly” quotes make this non-ASCII\nend"
    ]


def test_substring_line_modifier_bad_location_fails_at_build() -> None:
    with pytest.raises(ValueError, match="location"):
        get_mapper("substring_line_modifier", banlist="x", location="middle")
    with pytest.raises(OperatorError, match="unknown parameter"):
        get_mapper("substring_line_modifier", banlist="x", locaton="prefix")


@pytest.mark.parametrize(
    "params",
    [
        {"banlist": "javascript"},
        {"banlist": "items in cart", "max_length": 10, "remove_substring_only": True},
        {"banlist": "read more", "location": "suffix", "max_length": 10, "remove_substring_only": True},
        {"banlist": "Read more...", "location": "suffix", "max_length": 10, "remove_substring_only": True},
        {"banlist": "Sign-in", "location": "prefix", "max_length": 10, "remove_substring_only": True},
        {"banlist": "Home", "case_sensitive": True},
        {"banlist": "sign in", "location": "prefix", "max_length": 10, "remove_substring_only": True},
        {"banlist": ["terms of use", "privacy policy", "cookie policy", "uses cookies", "use cookies"]},
        {"banlist": ["share", "home"], "location": "prefix"},
    ],
)
def test_substring_line_modifier_fast_path_matches_per_line_path(params: dict[str, Any]) -> None:
    """A banlist entry wrapped in a group disables the whole-text pre-check; results must be identical."""
    banlist = params["banlist"]
    grouped = dict(params, banlist=[f"(?:{b})" for b in ([banlist] if isinstance(banlist, str) else banlist)])
    fast = get_mapper("substring_line_modifier", **params)
    slow = get_mapper("substring_line_modifier", **grouped)
    changed = 0
    for text in real_pages():
        a, b = texts(fast({"text": text})), texts(slow({"text": text}))
        assert a == b
        changed += a != [text]
    assert changed > 0


# ------------------------------------------------------------------------------------------------ punctuation / length


def test_punctuation_line_modifier() -> None:
    page = (
        'Period.\nQuestion?\nExclamation!\n\n"Quotation"\nNothing\nWhitespace.  \nEllipsis...\nEllipsis\u2026'
    )
    expected = 'Period.\nQuestion?\nExclamation!\n\n"Quotation"\nWhitespace.  \nEllipsis...\nEllipsis\u2026'
    assert texts(run("punctuation_line_modifier", page)) == [expected]
    page = 'Period.\nQuestion?\nExclamation!\n\n"Quotation"\nEllipsis... \nNothing\nWhitespace.  \nEllipsis\u2026'
    assert texts(run("punctuation_line_modifier", page, remove_ellipses=True)) == [
        'Period.\nQuestion?\nExclamation!\n\n"Quotation"\nWhitespace.  '
    ]
    assert run("punctuation_line_modifier", "") == []
    assert run("punctuation_line_modifier", "   \nno end") == []  # whitespace-only lines are not "empty"
    with pytest.raises(KeyError):
        get_mapper("punctuation_line_modifier")({})


def test_line_length_modifier() -> None:
    page = "Short line\n\na b c d e f g h i j k\n  There are exactly 10 words present in this line here\nHi"
    assert texts(run("line_length_modifier", page, min_length=2, max_length=10)) == [
        "Short line\n\n  There are exactly 10 words present in this line here"
    ]
    assert texts(run("line_length_modifier", page, min_length=2)) == [
        "Short line\n\na b c d e f g h i j k\n  There are exactly 10 words present in this line here"
    ]
    assert texts(run("line_length_modifier", page, max_length=10)) == [
        "Short line\n\n  There are exactly 10 words present in this line here\nHi"
    ]
    assert run("line_length_modifier", "", min_length=2) == []


def test_word_length_modifier() -> None:
    page = "Regular line    \n\nVerylongword and regular words\nBaaaaarely in the limit."
    assert texts(
        run("word_length_modifier", page, max_length=10, ignore_punctuation=True, model="split")
    ) == ["Regular line    \n\nBaaaaarely in the limit."]
    assert run("word_length_modifier", "", max_length=10, model="split") == []
    with pytest.raises(KeyError):
        get_mapper("word_length_modifier", max_length=10, model="split")({})


@pytest.mark.parametrize("model", ["split", "fasttext"])
def test_word_length_modifier_matches_per_line_oracle(model: str) -> None:
    fn = get_mapper("word_length_modifier", max_length=12, model=model)
    for text in real_pages():
        kept = [ln for ln in text.split("\n") if all(len(w) <= 12 for w in split_words(ln, model=model))]
        assert texts(fn({"text": text})) == expected_from_lines(kept, strip=False)


# ------------------------------------------------------------------------------------------------ ratios


def test_uppercase_ratio_line_modifier() -> None:
    assert run("uppercase_ratio_line_modifier", "") == []
    for ratio, kept in [(1.0, True), (2 / 12, True), (2 / 12 - 1e-6, False), (0.0, False)]:
        assert run("uppercase_ratio_line_modifier", "Hello, World", max_ratio=ratio) == (
            [{"text": "Hello, World"}] if kept else []
        )
    page = "HELLO WORLD\n\nhello world\nHello, World\n\nHello, world"
    assert texts(run("uppercase_ratio_line_modifier", page, max_ratio=1.0)) == [page]
    assert texts(run("uppercase_ratio_line_modifier", page, max_ratio=2 / 12)) == [
        "hello world\nHello, World\n\nHello, world"
    ]
    assert texts(run("uppercase_ratio_line_modifier", page, max_ratio=1 / 12)) == [
        "hello world\n\nHello, world"
    ]
    assert texts(run("uppercase_ratio_line_modifier", page, max_ratio=0)) == ["hello world"]
    # Non-ASCII upper case counts too (str.isupper).
    assert run("uppercase_ratio_line_modifier", "ÉCOLE ÉTÉ", max_ratio=0.5) == []


def test_numeric_ratio_line_modifier() -> None:
    assert run("numeric_ratio_line_modifier", "") == []
    assert texts(run("numeric_ratio_line_modifier", "12345", max_ratio=1.0)) == ["12345"]
    assert run("numeric_ratio_line_modifier", "12345", max_ratio=1.0 - 1e-6) == []
    assert run("numeric_ratio_line_modifier", "12345", max_ratio=0.0) == []
    page = "1a\n\n2bb\n\n3cc\nabcd"
    assert texts(run("numeric_ratio_line_modifier", page, max_ratio=1.0)) == [page]
    assert texts(run("numeric_ratio_line_modifier", page, max_ratio=0.5)) == [page]
    assert texts(run("numeric_ratio_line_modifier", page, max_ratio=1 / 3)) == ["2bb\n\n3cc\nabcd"]
    assert texts(run("numeric_ratio_line_modifier", page, max_ratio=0.0)) == ["abcd"]
    assert run("numeric_ratio_line_modifier", "١٢٣", max_ratio=0.5) == []  # Arabic-Indic digits are digits


@pytest.mark.parametrize(
    ("name", "ratio", "predicate"),
    [
        ("uppercase_ratio_line_modifier", 0.5, str.isupper),
        ("uppercase_ratio_line_modifier", 0.1, str.isupper),
        ("numeric_ratio_line_modifier", 0.999999, str.isdigit),
        ("numeric_ratio_line_modifier", 0.2, str.isdigit),
    ],
)
def test_ratio_modifiers_match_per_character_oracle(name: str, ratio: float, predicate: Any) -> None:
    fn = get_mapper(name, max_ratio=ratio)
    pages = [*real_pages(), "ÀÉÎ õü\nНовости ДНЯ\n٣٤٥ abc\n²³ sup"]
    for text in pages:
        kept = [ln for ln in text.split("\n") if not ln or sum(map(predicate, ln)) / len(ln) <= ratio]
        assert texts(fn({"text": text})) == expected_from_lines(kept, strip=True)


# ------------------------------------------------------------------------------------------------ counters


COUNTERS = ["likes", "shares", "comments", "retweets", "reposts", "quotes", "bookmarks", "upvotes"]
COUNTERS += ["downvotes", "downloads", "views", "followers"]


@pytest.mark.timeout(10)
def test_counter_line_modifier() -> None:
    fn = get_mapper("counter_line_modifier")
    assert fn({"text": ""}) == []
    for counter in COUNTERS:
        page = f"3 {counter}\n3,000 {counter}\n123K {counter}!\n 5.1M   {counter}  \nThis line does not contain a counter."
        assert texts(fn({"text": page})) == ["This line does not contain a counter."]
    page = "123K quotes\n\nHello, World.\n\nHello, World with 3 views.\n3 views"
    assert texts(fn({"text": page})) == ["Hello, World.\n\nHello, World with 3 views."]
    assert texts(fn({"text": "12 LIKES\nkept"})) == ["kept"]  # matched lowercased
    fn({"text": "12345" * 10 + "\n" + "12345" * 10 + " likes"})  # no catastrophic backtracking


def test_counter_line_modifier_matches_per_line_oracle() -> None:
    import re

    counter = re.compile(r"^\W*\d(?:,|\.|\d)*(?:K|k|M|m|B|b)?\s+(?:" + "|".join(COUNTERS) + r")\W*$")
    fn = get_mapper("counter_line_modifier")
    for text in [*real_pages(), "Views\n12 views\n"]:
        kept = [ln for ln in text.split("\n") if not counter.search(ln.lower())]
        assert texts(fn({"text": text})) == expected_from_lines(kept, strip=True)


# ------------------------------------------------------------------------------------------------ dedup / newlines


def test_within_page_dedup_lines() -> None:
    page = (
        "This line is duplicated.\n\nThis line is duplicated.\n This line is duplicated.  \n\n"
        "this line is duplicated.\n This line is kept."
    )
    assert texts(run("within_page_dedup", page, granularity="line")) == [
        "This line is duplicated.\n\n\n This line is kept."
    ]
    page = (
        "This line is duplicated.\nThis line is duplicated.\n This line is duplicated.  \n\n"
        "this line is duplicated.\nThis line is kept."
    )
    assert texts(run("within_page_dedup", page, granularity="line", normalize=False)) == [
        "This line is duplicated.\n This line is duplicated.  \n\nthis line is duplicated.\nThis line is kept."
    ]


def test_within_page_dedup_paragraphs() -> None:
    dup = "This line is duplicated."
    page = f"{dup}\n{dup}\n\n this line is duplicated.\nthis line is duplicated.\n\n{dup}"
    assert texts(run("within_page_dedup", page, granularity="paragraph")) == [f"{dup}\n{dup}\n\n{dup}"]
    page = f"{dup}\n{dup}\n\n this line is duplicated.\nthis line is duplicated.\n\n{dup}\n{dup}"
    assert texts(run("within_page_dedup", page, granularity="paragraph", normalize=False)) == [
        f"{dup}\n{dup}\n\n this line is duplicated.\nthis line is duplicated."
    ]


def test_within_page_dedup_keeps_empty_page_and_rejects_bad_granularity() -> None:
    assert run("within_page_dedup", "") == [{"text": ""}]
    with pytest.raises(ValueError, match="granularity"):
        run("within_page_dedup", "a", granularity="sentence")


def test_newline_removal_modifier() -> None:
    two = get_mapper("newline_removal_modifier")
    one = get_mapper("newline_removal_modifier", max_consecutive=1)
    cases = [
        ("", "", ""),
        ("Hello, World", "Hello, World", "Hello, World"),
        ("Hello\n\nWorld", "Hello\n\nWorld", "Hello\nWorld"),
        ("Hello\n\n\n\n\nWorld", "Hello\n\nWorld", "Hello\nWorld"),
        ("Hello\nWorld\nAnother\nLine", "Hello\nWorld\nAnother\nLine", "Hello\nWorld\nAnother\nLine"),
        (
            "Hello\n\n\nWorld\n\n\nAnother\n\n\nLine",
            "Hello\n\nWorld\n\nAnother\n\nLine",
            "Hello\nWorld\nAnother\nLine",
        ),
    ]
    for text, want_two, want_one in cases:
        assert texts(two({"text": text})) == [want_two]
        assert texts(one({"text": text})) == [want_one]


def test_split_and_join_lines_modifiers() -> None:
    assert texts(run("split_lines_modifier", "line1\nline2\n\nline3")) == [["line1", "line2", "", "line3"]]
    assert texts(run("split_lines_modifier", "line1\nline2\n\nline3", delimiter="\n\n")) == [
        ["line1\nline2", "line3"]
    ]
    assert texts(run("split_lines_modifier", ["line1", "line2"], delimiter="\n\n")) == [["line1", "line2"]]
    assert run("split_lines_modifier", "") == []
    assert texts(run("join_lines_modifier", ["line1", "line2", "", "line3"])) == ["line1\nline2\n\nline3"]
    assert texts(run("join_lines_modifier", ["line1\nline2", "line3"], delimiter="\n\n")) == [
        "line1\nline2\n\nline3"
    ]
    assert texts(run("join_lines_modifier", "line1\nline2", delimiter="\n\n")) == ["line1\nline2"]
    assert run("join_lines_modifier", []) == []
    with pytest.raises(TypeError):
        run("split_lines_modifier", 42)
