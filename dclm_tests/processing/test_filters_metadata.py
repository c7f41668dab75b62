"""Metadata filters, driven through ``get_mapper`` as DCLM's pipeline does, on DCLM's and UT1's real banlists."""

from __future__ import annotations

import pickle
import random
import re
from pathlib import Path

import pytest

from dclm_resources.processing import get_mapper
from dclm_tests.paths import shared_data


def banlist(name: str) -> str:
    return str(shared_data("wordlists", "dclm_banlists", name))


def ut1(category: str) -> Path:
    return shared_data("wordlists", "ut1_sample", category, "domains")


def page(url: str) -> dict:
    return {"url": url, "text": "content"}


# ---------------------------------------------------------------------------------------------- random sampling


def test_random_sampling_keeps_about_the_requested_share() -> None:
    fn = get_mapper("random_sampling_filter", keep_probability=0.1)
    p = page("u")
    for seed in (1, 2, 3):
        random.seed(seed)
        kept = sum(len(fn(p)) for _ in range(10_000))
        assert 900 <= kept <= 1100
    random.seed(0)
    assert all(get_mapper("random_sampling_filter", keep_probability=1.0)(p) == [p] for _ in range(100))
    assert all(get_mapper("random_sampling_filter", keep_probability=0.0)(p) == [] for _ in range(100))


def test_random_sampling_default_and_bounds() -> None:
    random.seed(7)
    kept = sum(len(get_mapper("random_sampling_filter")(page("u"))) for _ in range(2000))
    assert 150 <= kept <= 250  # default keep_probability=0.1
    for bad in (1.1, -0.1):
        with pytest.raises(AssertionError):
            get_mapper("random_sampling_filter", keep_probability=bad)(page("u"))


# ---------------------------------------------------------------------------------------------- language / quality


def test_language_filter_is_strict_and_case_sensitive() -> None:
    key = "language_id_whole_page_langdetect"
    assert get_mapper("language_filter", keep_languages=["en"], threshold=0.8)({key: {"en": 0.81}})
    assert get_mapper("language_filter", keep_languages=["en"], threshold=0.8)({key: {"en": 0.79}}) == []
    assert (
        get_mapper("language_filter", keep_languages=["en"], threshold=0.8)({key: {"en": 0.8}}) == []
    )  # strict >
    assert get_mapper("language_filter", keep_languages=["es", "fr", "de"])({key: {"en": 0.9}}) == []
    p = {key: {"de": 0.1, "en": 0.9}}
    assert get_mapper("language_filter", keep_languages=["es", "en"], threshold=0.8)(p) == [p]
    assert get_mapper("language_filter", keep_languages=[])({key: {"en": 0.9}}) == []
    assert get_mapper("language_filter", keep_languages=["en"])({key: {"EN": 0.9}}) == []
    assert (
        get_mapper("language_filter", keep_languages=["en"])({key: {"en": 0.0}}) == []
    )  # default threshold 0.0
    fasttext_key = "language_id_whole_page_fasttext"
    p = {fasttext_key: {"en": 0.66}}
    assert get_mapper("language_filter", keep_languages=["en"], key=fasttext_key, threshold=0.65)(p) == [p]


def test_language_filter_errors() -> None:
    with pytest.raises(AssertionError):
        get_mapper("language_filter", keep_languages=["en"])({})
    with pytest.raises(TypeError):
        get_mapper("language_filter", keep_languages="en")({"language_id_whole_page_langdetect": {"en": 0.9}})
    with pytest.raises(TypeError):
        get_mapper("language_filter")(
            {"language_id_whole_page_langdetect": {"en": 0.9}}
        )  # keep_languages required


def test_quality_filter_boundaries() -> None:
    p = {"text": "x", "fasttext_hq_prob": 0.75, "kenlm_perplexity": 176.1}
    assert get_mapper("quality_filter", key="fasttext_hq_prob", threshold=0.74)(p) == [p]
    assert get_mapper("quality_filter", key="fasttext_hq_prob", threshold=0.75)(p) == [p]  # >= keeps equality
    assert get_mapper("quality_filter", key="fasttext_hq_prob", threshold=0.9)(p) == []
    assert get_mapper("quality_filter", key="kenlm_perplexity", threshold=176.0, lower_better=True)(p) == []
    assert get_mapper("quality_filter", key="kenlm_perplexity", threshold=176.1, lower_better=True)(p) == [p]
    assert get_mapper("quality_filter", key="kenlm_perplexity", threshold=177.0, lower_better=True)(p) == [p]
    assert (
        get_mapper("quality_filter")({"fasttext_hq_prob": 0.0}) != []
    )  # defaults: key fasttext_hq_prob, ≥ 0.0


def test_quality_filter_missing_key() -> None:
    p = {"text": "x", "fasttext_hq_prob": 0.75}
    assert get_mapper("quality_filter", key="other", threshold=0.8, key_must_exist=False)(p) == []
    assert (
        get_mapper("quality_filter", key="other", threshold=1e9, lower_better=True, key_must_exist=False)(p)
        == []
    )
    with pytest.raises(AssertionError):
        get_mapper("quality_filter", key="other", threshold=0.8)(p)


# ---------------------------------------------------------------------------------------------- url substrings


def url_filter(**params):
    return get_mapper("url_substring_filter", **params)


def test_url_substring_presence_and_ignore_chars() -> None:
    p = page("https://www.badword.com")
    assert url_filter(banlist=["badword", "reallybadword"])(p) == []
    assert url_filter(banlist=["reallybadword", "extremelybadword"])(p) == [p]
    p = page("https://www.ba-dwo.rd.com")
    assert url_filter(banlist="badword")(p) == [p]
    assert url_filter(banlist="badword", ignore_chars=["-", "."])(p) == []
    assert url_filter(banlist=["badword"], ignore_chars=["-", "."])(p) == []


def test_url_substring_counts_distinct_non_overlapping_matches() -> None:
    p = page("https://www.badword123-badword2.com")
    three = ["badword1", "badword2", "badword3"]
    assert url_filter(banlist=three, num_banned_substrs=3)(p) == [p]
    assert url_filter(banlist=three, num_banned_substrs=3, match_substrings=False)(p) == [p]
    assert url_filter(banlist=three, num_banned_substrs=2)(p) == []
    # whole words only: 'badword1' is glued to '23', only 'badword2' counts
    assert url_filter(banlist=three, num_banned_substrs=2, match_substrings=False)(p) == [p]
    assert (
        url_filter(
            banlist=["badword123", "badword2", "badword3"], num_banned_substrs=2, match_substrings=False
        )(p)
        == []
    )
    # matches do not overlap: 'word123' is hidden inside the 'badword1' match
    assert url_filter(banlist=[*three, "word123"], num_banned_substrs=3)(p) == [p]
    # the same word twice is one distinct match
    assert url_filter(banlist=["bad"], num_banned_substrs=2)(page("https://bad.com/bad")) == [
        page("https://bad.com/bad")
    ]


def test_url_substring_case_sensitivity() -> None:
    p = page("https://www.badword.com/BadWord2")
    assert url_filter(banlist="BadWord2")(p) == []
    assert url_filter(banlist="badword2")(p) == []
    assert url_filter(banlist="BadWord2", case_sensitive=True)(p) == []
    assert url_filter(banlist="badword2", case_sensitive=True)(p) == [p]
    both = {"num_banned_substrs": 2, "case_sensitive": True}
    assert url_filter(banlist=["badword", "Bad"], match_substrings=True, **both)(p) == []
    assert url_filter(banlist=["badword", "bad"], match_substrings=True, **both)(p) == [p]
    assert url_filter(banlist=["badword", "Bad"], match_substrings=False, **both)(p) == [p]
    assert url_filter(banlist=["badword", "BadWord2"], match_substrings=False, **both)(p) == []
    assert url_filter(banlist=["badword", "badword2"], match_substrings=False, **both)(p) == [p]


def test_url_substring_entries_are_literal() -> None:
    # retrie escapes entries: '.' in a URL banlist is a dot, not "any character"
    assert url_filter(banlist="a.c")(page("https://abc.com")) == [page("https://abc.com")]
    assert url_filter(banlist="a.c")(page("https://a.c.com")) == []
    assert url_filter(banlist=["", "zzz"])(page("https://x.com")) == [
        page("https://x.com")
    ]  # blank entry ignored


def test_url_substring_missing_url_is_key_error() -> None:
    with pytest.raises(KeyError):
        url_filter(banlist=["badword"])({})
    with pytest.raises(KeyError):
        url_filter(banlist=["badword"], exact_domain_match=True)({})
    with pytest.raises(ValueError, match="banlist"):
        url_filter()


def test_substring_vs_exact_domain_match() -> None:
    # 'le.com' as a substring bans google.com; as an exact domain it does not.
    google = page("https://www.google.com/search?q=datacomp")
    assert url_filter(banlist=["le.com"])(google) == []
    assert url_filter(banlist=["le.com"], exact_domain_match=True)(google) == [google]
    assert url_filter(banlist=["google.com"], exact_domain_match=True)(google) == [
        google
    ]  # netloc is www.google.com
    assert url_filter(banlist=["www.google.com"], exact_domain_match=True)(google) == []
    assert url_filter(banlist=["GOOGLE.com"], exact_domain_match=True)(page("https://Google.COM/x")) == []


def test_exact_domain_www_quirk_and_fix() -> None:
    p = page("https://www.xxx.com")
    domains = ["xxx.com"]
    assert url_filter(banlist=domains, exact_domain_match=True)(p) == [p]
    assert url_filter(banlist=domains, exact_domain_match=True, ignore_chars=["www."])(p) == []
    # RefinedWeb configs pass ['www']: 'www.xxx.com' becomes '.xxx.com' and is kept (DCLM's behaviour) ...
    assert url_filter(banlist=domains, exact_domain_match=True, ignore_chars=["www"])(p) == [p]
    assert url_filter(banlist=[".xxx.com"], exact_domain_match=True, ignore_chars=["www"])(p) == []
    # ... letters are removed anywhere: 'awwwards.com' → 'aards.com'
    assert (
        url_filter(banlist=["aards.com"], exact_domain_match=True, ignore_chars=["www"])(
            page("http://awwwards.com")
        )
        == []
    )
    # the fix: ignore_chars only as a leading domain label
    fixed = {"exact_domain_match": True, "ignore_chars": ["www"], "ignore_chars_as_label": True}
    assert url_filter(banlist=domains, **fixed)(p) == []
    assert url_filter(banlist=domains, **fixed)(page("https://xxx.com/path")) == []
    assert url_filter(banlist=["awwwards.com"], **fixed)(page("http://awwwards.com")) == []
    assert url_filter(banlist=["xxx.com"], **{**fixed, "ignore_chars": ["www."]})(p) == []


def test_refinedweb_domain_list_from_ut1_file() -> None:
    path = str(ut1("gambling"))
    domains = Path(path).read_text().splitlines()
    blocked = url_filter(banlist_from_fname=path, exact_domain_match=True, ignore_chars=["www."])
    for domain in (domains[0], domains[len(domains) // 2], domains[-1]):
        assert blocked(page(f"https://www.{domain}/some/page")) == []
        assert blocked(page(f"http://{domain}")) == []
    # high-quality sources stay
    for url in ("https://en.wikipedia.org/wiki/Large_language_model", "https://arxiv.org/abs/2304.14108"):
        assert blocked(page(url)) == [page(url)]
    # the RefinedWeb high-quality-domain exclusion step (refinedweb.yaml step 3)
    hq = url_filter(
        banlist=["arxiv.org", "github.com", "en.wikipedia.org", "reddit.com"],
        exact_domain_match=True,
        ignore_chars=["www"],
    )
    assert hq(page("https://arxiv.org/abs/2304.14108")) == []
    assert hq(page("https://github.com/mlfoundations/datacomp")) == []
    assert hq(page("https://www.reddit.com/r/x")) == [page("https://www.reddit.com/r/x")]  # the www quirk


def test_refinedweb_url_word_lists() -> None:
    strict = url_filter(
        banlist_from_fname=banlist("refinedweb_banned_words_strict_reverse_engineered.txt"),
        ignore_chars=["-", "."],
    )
    hard = url_filter(
        banlist_from_fname=banlist("refinedweb_banned_words_hard_reverse_engineered.txt"),
        match_substrings=False,
    )
    soft = url_filter(
        banlist_from_fname=banlist("refinedweb_banned_words_soft_reverse_engineered.txt"),
        num_banned_substrs=2,
        match_substrings=False,
    )
    clean = page("https://en.wikipedia.org/wiki/Large_language_model")
    for fn in (strict, hard, soft):
        assert fn(clean) == [clean]
    # strict: substring anywhere after removing '-' and '.'
    assert strict(page("https://example.com/2-g-i-r-l-s-1-c-u-p")) == []
    assert strict(page("https://www.acrotomo.philia.net")) == []
    # hard: whole words only
    assert hard(page("https://example.com/bdsm/page")) == []
    assert hard(page("https://example.com/xbdsmx")) == [page("https://example.com/xbdsmx")]
    # soft: two distinct soft words are needed
    one, two = page("https://example.com/boobs"), page("https://example.com/boobs/bullshit")
    assert soft(one) == [one]
    assert soft(two) == []


def test_pickled_banlist_is_refused_unless_allowed(tmp_path: Path) -> None:
    pkl = tmp_path / "banned.pkl"
    pkl.write_bytes(pickle.dumps(re.compile("casino|poker", re.IGNORECASE)))
    with pytest.raises(ValueError, match="unpickle"):
        url_filter(banlist_from_fname=str(pkl))
    fn = url_filter(banlist_from_fname=str(pkl), allow_pickle=True)
    assert fn(page("https://best-Casino.com")) == []
    assert fn(page("https://example.com")) == [page("https://example.com")]
    with pytest.raises(AssertionError):
        url_filter(banlist_from_fname=str(pkl), allow_pickle=True, exact_domain_match=True)


def test_banlist_file_takes_precedence(tmp_path: Path) -> None:
    f = tmp_path / "b.txt"
    f.write_text("alpha\nbeta\n")
    fn = url_filter(banlist=["gamma"], banlist_from_fname=str(f))
    assert fn(page("https://alpha.com")) == []
    assert fn(page("https://gamma.com")) == [page("https://gamma.com")]
