"""Filters on page metadata (URL, language scores, quality scores), as DCLM's ``metadata_filters``.

DCLM signals a malformed page (missing score key, bad argument) with ``assert``; these raise AssertionError
explicitly so the behaviour survives ``python -O`` and the processor still counts the page as an error.
"""

from __future__ import annotations

import pickle
import random
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

from dclm_resources.processing.registry import Page, PageFn, factory, mapper

CONTENT = "text"
URL = "url"


@mapper("filter")
def random_sampling_filter(page: Page, keep_probability: float = 0.1) -> list[Page]:
    """Keep a page with probability ``keep_probability`` (module ``random`` state, so ``random.seed`` applies)."""
    if not 0 <= keep_probability <= 1:
        raise AssertionError(f"keep_probability must be in [0, 1], got {keep_probability}")
    return [page] if random.random() < keep_probability else []


@mapper("filter")
def language_filter(
    page: Page,
    keep_languages: list[str],
    key: str = "language_id_whole_page_langdetect",
    threshold: float = 0.0,
) -> list[Page]:
    """Keep iff some language of ``keep_languages`` scores strictly above ``threshold`` in ``page[key]``."""
    if not isinstance(keep_languages, list):
        raise TypeError("The keep_languages argument must be a list.")
    if key not in page:
        raise AssertionError(f"The input JSON object does not have a {key} field")
    scores = page[key]
    for lang in keep_languages:
        if lang in scores and scores[lang] > threshold:
            return [page]
    return []


@mapper("filter")
def quality_filter(
    page: Page,
    key: str = "fasttext_hq_prob",
    threshold: float = 0.0,
    lower_better: bool = False,
    key_must_exist: bool = True,
) -> list[Page]:
    """Keep iff ``page[key] >= threshold`` (``<=`` when ``lower_better``); a missing key asserts or drops the page."""
    if key_must_exist:
        if key not in page:
            raise AssertionError(f"The input JSON object does not have a {key} field")
        score = page[key]
    else:
        score = page.get(key, float("inf") if lower_better else -float("inf"))
    if lower_better:
        return [page] if score <= threshold else []
    return [page] if score >= threshold else []


def read_banlist(path: str | Path) -> list[str]:
    """One entry per line, as DCLM reads banlists (``splitlines``; entries are not stripped)."""
    with open(Path(path).expanduser(), encoding="utf-8") as fh:
        return fh.read().splitlines()


def _as_list(banlist: str | list[str] | tuple[str, ...] | None, name: str) -> list[str]:
    if banlist is None:
        raise ValueError(f"{name}: give banlist or banlist_from_fname")
    return [banlist] if isinstance(banlist, str) else list(banlist)


@factory("filter")
def url_substring_filter(
    banlist: str | list[str] | None = None,
    banlist_from_fname: str | None = None,
    ignore_chars: list[str] | None = None,
    num_banned_substrs: int = 1,
    exact_domain_match: bool = False,
    match_substrings: bool = True,
    case_sensitive: bool = False,
    ignore_chars_as_label: bool = False,
    allow_pickle: bool = False,
) -> PageFn:
    """Drop pages whose URL contains banned substrings, or whose domain is banned (``exact_domain_match``).

    - exact domain: ``urlparse(url).netloc`` (lowercased unless ``case_sensitive``, every ``ignore_chars`` entry
      removed) must not be in the banlist. DCLM quirk, kept by default: ``ignore_chars=['www']`` removes the
      letters anywhere, so ``www.x.com`` becomes ``.x.com`` and no longer matches ``x.com`` (``awwwards.com``
      becomes ``aards.com``). ``ignore_chars_as_label=True`` fixes it: each entry is then removed only as a
      leading domain label (``www.x.com`` → ``x.com``; exact domain matching only).
    - substrings: a trie regex of the (escaped) entries (``retrie``, as DCLM; ``\\b``-bounded unless
      ``match_substrings``, IGNORECASE unless ``case_sensitive``) runs over the whole URL with ``ignore_chars``
      removed; the page is dropped when the number of *distinct* non-overlapping matches reaches
      ``num_banned_substrs``.
    - ``banlist_from_fname`` (one entry per line) takes precedence over ``banlist``. A ``.pkl``/``.pickle`` file
      (DCLM's pickled compiled regex) is refused unless ``allow_pickle=True``: unpickling runs arbitrary code.
    - Blank entries are dropped (in DCLM an empty entry matches every URL).
    """
    pattern: re.Pattern[str] | None = None
    banned_domains: frozenset[str] = frozenset()
    if banlist_from_fname is not None and banlist_from_fname.endswith((".pkl", ".pickle")):
        if not allow_pickle:
            raise ValueError(
                f"url_substring_filter: refusing to unpickle {banlist_from_fname!r} (a pickle can run arbitrary "
                "code); pass a .txt banlist, or allow_pickle=True if you trust the file"
            )
        if exact_domain_match:
            raise AssertionError("pickled banlist cannot be used with exact_domain_match")
        with open(Path(banlist_from_fname).expanduser(), "rb") as fh:
            pattern = pickle.load(fh)  # noqa: S301 - explicitly allowed by the caller
    else:
        entries = (
            read_banlist(banlist_from_fname)
            if banlist_from_fname is not None
            else _as_list(banlist, "url_substring_filter")
        )
        entries = [e if case_sensitive else e.lower() for e in entries if e]
        if exact_domain_match:
            banned_domains = frozenset(entries)
        else:
            from retrie.retrie import Blacklist

            flags = 0 if case_sensitive else re.IGNORECASE
            pattern = re.compile(
                Blacklist(entries, match_substrings=match_substrings, re_flags=flags).compiled
            )

    strip = _make_stripper(list(ignore_chars or []), as_label=ignore_chars_as_label and exact_domain_match)

    if exact_domain_match:

        def domain_filter(page: Page) -> list[Page]:
            domain = urlparse(page[URL]).netloc
            domain = strip(domain if case_sensitive else domain.lower())
            return [] if domain in banned_domains else [page]

        return domain_filter

    assert pattern is not None
    findall = pattern.findall

    def substring_url_filter(page: Page) -> list[Page]:
        url = page[URL]
        url = strip(url if case_sensitive else url.lower())
        return [] if len(set(findall(url))) >= num_banned_substrs else [page]

    return substring_url_filter


def _make_stripper(ignore_chars: list[str], as_label: bool) -> Callable[[str], str]:
    if not ignore_chars:
        return lambda s: s
    if as_label:
        prefixes = tuple(f"{c.rstrip('.')}." for c in ignore_chars if c.rstrip("."))

        def strip_labels(s: str) -> str:
            changed = True
            while changed:
                changed = False
                for prefix in prefixes:
                    if s.startswith(prefix):
                        s, changed = s[len(prefix) :], True
            return s

        return strip_labels
    if all(len(c) == 1 for c in ignore_chars):
        table = {ord(c): None for c in ignore_chars}
        return lambda s: s.translate(table)

    def strip_all(s: str) -> str:
        for c in ignore_chars:
            s = s.replace(c, "")
        return s

    return strip_all
