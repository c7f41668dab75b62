"""Whole-text modifiers: URL key moves, key renames, jusText extraction, citation and URL removal."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

from dclm_resources.processing import get_mapper
from dclm_tests.paths import shared_data


def texts(result: list[dict[str, Any]]) -> list[Any]:
    return [p["text"] for p in result]


def test_move_url_modifier() -> None:
    page = {"text": "t", "metadata": {"WARC-Target-URI": "https://example.com/a"}}
    assert get_mapper("move_url_modifier")(page) == [{**page, "url": "https://example.com/a"}]
    with pytest.raises(KeyError):
        get_mapper("move_url_modifier", strict=True)({"text": "t", "metadata": {}})
    # Pre-extracted pools (C4: top-level url; Dolma CC: metadata.url) keep working unless strict.
    c4_page = {"text": "t", "url": "https://c4.example/x"}
    assert get_mapper("move_url_modifier")(dict(c4_page)) == [c4_page]
    dolma_page = {"text": "t", "metadata": {"url": "https://cc.example/y"}}
    assert get_mapper("move_url_modifier")(dict(dolma_page))[0]["url"] == "https://cc.example/y"


def test_key_name_modifier() -> None:
    fn = get_mapper("key_name_modifier")
    assert fn({"content": "example text"}) == [{"text": "example text"}]
    assert get_mapper("key_name_modifier", old_key="page_content")({"content": "x"}) == [{"content": "x"}]
    page = {"content": "example text", "text": "existing text"}
    with pytest.warns(UserWarning, match="text is already in the page but allow_overwrite is set to False."):
        assert fn(dict(page)) == [page]
    assert get_mapper("key_name_modifier", allow_overwrite=True)(dict(page)) == [{"text": "example text"}]


# ------------------------------------------------------------------------------------------------ justext


def test_html_content_extraction_modifier_dclm_cases() -> None:
    fn = get_mapper("html_content_extraction_modifier")
    assert fn({"text": ""}) == []
    not_found = (
        '<html><head><meta charset="utf-8" /><title>404 Not Found</title>'
        '<meta name="description" content="404 Not Found" /></head></html>'
    )
    assert fn({"text": not_found}) == []
    sample = (
        "<!DOCTYPE html>\n<html>\n<head><title>Sample title</title></head>\n<body>Sample body</body>\n</html>"
    )
    assert fn({"text": sample}) == [{"text": "Sample body"}]


def test_html_content_extraction_on_real_pages_keeps_boilerplate_unless_a_stoplist_is_given() -> None:
    html = shared_data("web", "html", "dclm_enricher_test_files", "wikipedia_paragraph1.html").read_text(
        encoding="utf-8", errors="replace"
    )
    everything = texts(get_mapper("html_content_extraction_modifier")({"text": html}))[0]
    good = texts(get_mapper("html_content_extraction_modifier", stoplist_language="English")({"text": html}))[
        0
    ]
    assert "\n\n" in everything and "<" not in good
    assert len(good) < len(everything)
    assert all(paragraph in everything for paragraph in good.split("\n\n"))


# ------------------------------------------------------------------------------------------------ citations


def test_citation_removal_modifier() -> None:
    fn = get_mapper("citation_removal_modifier")
    assert fn({"text": ""}) == []
    page = (
        "[edit]This is what a wiki citation looks like[134].\n"
        "Studies show it helps to remove it for LLM training[citation needed]."
    )
    assert texts(fn({"text": page})) == [
        "This is what a wiki citation looks like.\nStudies show it helps to remove it for LLM training."
    ]
    assert texts(fn({"text": "empty [] marks go, [a] stays"})) == ["empty  marks go, [a] stays"]
    assert fn({"text": "[1][2][edit]"}) == []
    with pytest.raises(KeyError):
        fn({})


# ------------------------------------------------------------------------------------------------ url removal


@pytest.fixture(scope="module")
def tlds_file() -> Path:
    return shared_data("wordlists", "dclm_banlists", "iana_tlds.txt")


@pytest.fixture(scope="module")
def url_remover(tlds_file: Path) -> Any:
    return get_mapper("url_removal_modifier", tlds_filepath=str(tlds_file))


# DCLM's own list of URL forms (note its missing comma: the 3rd and 4th entries are one string).
URLS = [
    "https://www.example.com",
    "www.example.org",
    "example.co.ukexample.randomsite.net:9000",
    "blog.samplewebsite.org:8081/post.html",
    "ftp://ftp.example.com/files",
    "ftp://files.example.net:21/downloads",
    "irc.randomchat.org:6667/chatroom",
    "mail.samplecompany.com:25/inbox",
    "www.technewsportal.org:8084/latest-news",
    "gamingcommunity.com:8085/forums/7890",
    "https://blog.samplewebsite.org",
    "https://en.wikipedia.org/wiki/Random_topic",
    "http://www.ecommerce-store.biz/products/sale",
    "https://www.example.com/search?q=url",
    "https://www.example.com/page?id=123&category=tech",
    "https://www.example.com#section1",
    "https://www.example.com/page#comments",
    "ftp://username:password@ftp.example.com",
    "http://username:password@example.com",
    "http://www.example.museum",
    "http://bit.ly/abcdef",
    "https://tinyurl.com/xyz123",
    "http://192.168.1.1",
    "https://10.0.0.1:8080",
    "1.1.1.1",
]
NOT_URLS = ["U.S.A.", "e.g.", "3.14", "1.123.456.7899999.999.999.999123.123.123v3.12.7.4"]


@pytest.mark.parametrize("url", URLS)
def test_url_removal_modifier_removes_urls(url_remover: Any, url: str) -> None:
    assert texts(url_remover({"text": f"This URL {url} should be removed."})) == [
        "This URL should be removed."
    ]
    page = f"This URL should be removed\n{url}\nThis text should still be on a new line."
    assert texts(url_remover({"text": page})) == [
        "This URL should be removed\nThis text should still be on a new line."
    ]


@pytest.mark.parametrize("string", NOT_URLS)
def test_url_removal_modifier_keeps_non_urls(url_remover: Any, string: str) -> None:
    page = f"This text {string} is not a URL.\n{string}"
    assert texts(url_remover({"text": page})) == [page]


def test_url_removal_modifier_edge_cases(url_remover: Any) -> None:
    assert url_remover({"text": ""}) == []
    assert (
        url_remover({"text": "https://example.com"}) == []
    )  # nothing left (the text starts with "ht", a TLD)
    with pytest.raises(KeyError):
        url_remover({})
    # The TLD regex is case-sensitive against a lowercase list.
    assert texts(url_remover({"text": "This is EXAMPLE.COM shouting"})) == ["This is EXAMPLE.COM shouting"]


def test_url_removal_modifier_start_of_text_quirk(tlds_file: Path) -> None:
    """DCLM only runs the TLD regex when a TLD matches at the very start of the text; IPv4 removal always runs."""
    dclm = get_mapper("url_removal_modifier", tlds_filepath=str(tlds_file))
    fixed = get_mapper("url_removal_modifier", tlds_filepath=str(tlds_file), match_anywhere=True)
    page = "Hello, see www.example.com or 10.0.0.1 for details."  # no TLD starts with "he"
    assert texts(dclm({"text": page})) == ["Hello, see www.example.com or for details."]
    assert texts(fixed({"text": page})) == ["Hello, see or for details."]
    page = "Comments: see www.example.com for details."  # "com" is a TLD
    assert texts(dclm({"text": page})) == ["Comments: see for details."]


def test_url_removal_modifier_tld_file_resolution(tlds_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DCLM_RESOURCE_DIRS", raising=False)
    monkeypatch.chdir(tlds_file.parent.parent)  # DCLM's default relative path does not exist from here
    with pytest.raises(FileNotFoundError, match="tlds_filepath"):
        get_mapper("url_removal_modifier")
    with pytest.raises(FileNotFoundError, match="tlds_filepath"):
        get_mapper("url_removal_modifier", tlds_filepath="/nonexistent/tlds.txt")
    # DCLM's path resolves by base name in a resource dir, so DCLM's YAMLs run unchanged.
    monkeypatch.setenv("DCLM_RESOURCE_DIRS", str(tlds_file.parent))
    fn = get_mapper("url_removal_modifier")
    assert texts(fn({"text": "This is www.example.com now"})) == ["This is now"]


@pytest.mark.timeout(30)
def test_url_removal_modifier_on_real_pages(url_remover: Any) -> None:
    import gzip
    import json

    path = shared_data(
        "web", "jsonl", "dolma_cc_2019_30", "CC-MAIN-20190717121559-20190717143559-00140.jsonl.gz"
    )
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        pages = [json.loads(line)["text"] for line in handle]
    changed = 0
    for text in pages:
        out = texts(url_remover({"text": text}))
        if out != [text]:
            changed += 1
            assert not out or len(out[0]) < len(text)
    assert changed > 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        url_remover({"text": "This has no links at all."})
