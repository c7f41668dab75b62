"""Whole-text modifiers: page keys, HTML extraction, citation and URL removal (DCLM ``modifiers.py``)."""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable

from dclm_resources.processing.registry import Page, factory, mapper
from dclm_resources.processing.resource_paths import ResourceNotFoundError, resolve_path, resource_dirs

CONTENT = "text"
URL = "url"

DEFAULT_TLDS_FILEPATH = "baselines/mappers/iana_tlds.txt"


@mapper("modifier")
def move_url_modifier(page: Page, strict: bool = False) -> list[Page]:
    """Copy the WARC target URI to ``page["url"]``: raw DCLM-Pool pages keep it in ``metadata`` only.

    Deviation (so DCLM's configs run unchanged on pre-extracted pools such as C4 or Dolma's CC): a page without
    ``metadata["WARC-Target-URI"]`` keeps its own ``url``, or takes ``metadata["url"]``. ``strict=True`` gives
    DCLM's behaviour: a KeyError, so the page is dropped as an error.
    """
    metadata = page.get("metadata")
    if isinstance(metadata, dict) and "WARC-Target-URI" in metadata:
        page[URL] = metadata["WARC-Target-URI"]
    elif strict:
        page[URL] = page["metadata"]["WARC-Target-URI"]
    elif not isinstance(page.get(URL), str) and isinstance(metadata, dict) and isinstance(metadata.get("url"), str):
        page[URL] = metadata["url"]
    return [page]


@mapper("modifier")
def key_name_modifier(
    page: Page, old_key: str = "content", new_key: str = "text", allow_overwrite: bool = False
) -> list[Page]:
    """Rename ``old_key`` to ``new_key`` (old raw sources used ``content``); no-op when ``old_key`` is absent.

    An existing ``new_key`` is only replaced with ``allow_overwrite``; otherwise a UserWarning is issued and the
    page is left unchanged (DCLM's message, word for word).
    """
    if old_key in page:
        if new_key not in page or allow_overwrite:
            page[new_key] = page.pop(old_key)
        else:
            warnings.warn(
                f"{new_key} is already in the page but allow_overwrite is set to False.", stacklevel=2
            )
    return [page]


@mapper("modifier")
def html_content_extraction_modifier(page: Page, stoplist_language: str | None = None) -> list[Page]:
    """Replace HTML in ``text`` by jusText's paragraphs joined with ``"\\n\\n"``; no paragraph or unparsable → drop.

    DCLM runs jusText with an empty stoplist, under which jusText calls every paragraph boilerplate, and keeps
    *all* paragraphs (menus and footers included). ``stoplist_language`` (a jusText stoplist name such as
    ``"English"``) classifies with that language's stop words and keeps only the paragraphs jusText calls good.
    """
    import justext  # imported lazily: lxml + justext cost ~0.1 s and only HTML sources need them
    from lxml.etree import ParserError

    stoplist = justext.get_stoplist(stoplist_language) if stoplist_language else ()
    try:
        paragraphs = justext.justext(page[CONTENT], stoplist)
    except ParserError:
        return []
    if stoplist_language:
        paragraphs = [p for p in paragraphs if not p.is_boilerplate]
    if not paragraphs:
        return []
    page[CONTENT] = "\n\n".join(p.text for p in paragraphs)
    return [page]


_CITATION = re.compile(r"\[\d*\]|\[edit\]|\[citation needed\]")


@factory("modifier")
def citation_removal_modifier() -> Callable[[Page], list[Page]]:
    """Delete Wikipedia-style citation marks: ``[12]``, ``[]``, ``[edit]``, ``[citation needed]``; empty → drop."""

    def modify(page: Page) -> list[Page]:
        text: str = page[CONTENT]
        if "[" in text:
            text = _CITATION.sub("", text)
        if text == "":
            return []
        page[CONTENT] = text
        return [page]

    return modify


# URL path characters after the host (DCLM's class; "//" in it is just "/").
_PATH = r"[-a-zA-Z0-9()@:%_\+.~#?&/=]*"
_IPV4 = re.compile(r"\s{0,10}\b(?:(?:https?|ftp)://)?(?:[0-2]?[0-9]{1,2}\.){3}[0-2]?[0-9]{1,2}" + _PATH)
_IPV4_HINT = re.compile(r"[0-9]\.[0-9]")  # every IPv4 match contains one: lets most pages skip _IPV4


def _read_tlds(tlds_filepath: str) -> list[str]:
    try:
        path = resolve_path(tlds_filepath, resource_dirs())
        if not os.path.isfile(path):
            raise ResourceNotFoundError(f"{path!r} is not a local file")
    except ResourceNotFoundError as err:
        raise FileNotFoundError(
            f"url_removal_modifier: TLD list {tlds_filepath!r} not found ({err}). Pass tlds_filepath=<path to an "
            "IANA TLD list, one TLD per line> (DCLM ships baselines/mappers/iana_tlds.txt) or add its folder to "
            "the pipeline's resource dirs / $DCLM_RESOURCE_DIRS."
        ) from None
    with open(path, encoding="utf-8") as handle:
        tlds = [line.strip() for line in handle.read().splitlines()]
    tlds = [t for t in tlds if t]
    if not tlds:
        raise ValueError(f"url_removal_modifier: TLD list {path!r} is empty")
    return tlds


@factory("modifier")
def url_removal_modifier(
    tlds_filepath: str = DEFAULT_TLDS_FILEPATH, match_anywhere: bool = False
) -> Callable[[Page], list[Page]]:
    """Remove URLs: host names ending in an IANA TLD (with optional scheme, port and path), and IPv4 URLs.

    Each URL is removed together with up to 10 whitespace characters before it; an empty result drops the page.
    The TLD regex is case-sensitive (the list is lowercase), so ``EXAMPLE.COM`` stays.

    Quirk kept by default: DCLM only runs the TLD-based regex when a (case-insensitive) TLD matches at the
    **start** of the text (``regex.match`` where ``search`` was probably meant), e.g. text starting "This" (.th)
    but not "Hello". ``match_anywhere=True`` always runs it. IPv4 removal always runs.
    Deviation: DCLM escapes the TLDs twice, which breaks entries containing ``-`` (punycode ``xn--…``); they are
    escaped once here. IANA's list as shipped by DCLM has no such entry, so results on it are identical.
    """
    # The same trie-regex builder DCLM uses, so the TLD alternation is identical.
    from retrie.retrie import Blacklist

    tld_trie = Blacklist(_read_tlds(tlds_filepath), match_substrings=True)
    tld_at_start = tld_trie.compiled  # IGNORECASE, as in DCLM
    tlds = tld_trie.compiled.pattern
    url_re = re.compile(
        r"\s{0,10}(?:(?:https?|ftp)://)?[-a-zA-Z0-9@:%._\+~#=]{1,256}\.(?:" + tlds + r")\b" + _PATH
    )
    # Every URL match contains ".<tld>\b"; this regex starts with a literal, so re scans for it quickly.
    url_hint = re.compile(r"\.(?:" + tlds + r")\b")

    def modify(page: Page) -> list[Page]:
        text: str = page[CONTENT]
        if (match_anywhere or tld_at_start.match(text)) and url_hint.search(text):
            text = url_re.sub("", text)
        if _IPV4_HINT.search(text):
            text = _IPV4.sub("", text)
        page[CONTENT] = text
        if text == "":
            return []
        return [page]

    return modify
