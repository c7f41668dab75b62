"""Source-specific modifiers: StarCoder v2 repos, arXiv LaTeX and StackExchange Q&A (DCLM ``modifiers.py``).

The arXiv and StackExchange steps follow RedPajama v1's cleaners, as DCLM's do; StackExchange pages carry
``question: {text}`` and ``answers: [{text, score}]`` instead of ``text`` until ``stackexchange_qa_formatter``.
"""

from __future__ import annotations

import copy
import random
import re
from collections.abc import Callable

from dclm_resources.processing.registry import Page, factory, mapper

CONTENT = "text"


# --------------------------------------------------------------------------------------------------------------
# StarCoder v2
# --------------------------------------------------------------------------------------------------------------


@mapper("splitter")
def starcoder_v2_repo_splitter(page: Page, max_files: int = 1000, delete_content: bool = True) -> list[Page]:
    """Split a repo page whose ``files`` list is longer than ``max_files`` into pages of ``max_files`` files each.

    Each chunk is an independent (deep) copy of the page with its slice of ``files``; ``text`` is removed from the
    chunks when ``delete_content``. A repo that fits is returned unchanged (``text`` kept), as in DCLM.
    """
    if max_files < 1:
        raise ValueError(f"starcoder_v2_repo_splitter: max_files must be >= 1, got {max_files}")
    files = page["files"]
    if len(files) <= max_files:
        return [page]
    # Copy everything but the file list once per chunk and only that chunk's files (DCLM deep-copies the whole
    # page, all files included, for every chunk; the result is the same).
    skip = {"files", CONTENT} if delete_content else {"files"}
    rest = {k: v for k, v in page.items() if k not in skip}
    chunks = []
    for start in range(0, len(files), max_files):
        chunk = copy.deepcopy(rest)
        chunk["files"] = copy.deepcopy(files[start : start + max_files])
        chunks.append({k: chunk[k] for k in page if k in chunk})  # keep the page's key order
    return chunks


@mapper("modifier")
def starcoder_v2_format_modifier(
    page: Page, add_metadata_prob: float = 0.5, add_sentinels: bool = True
) -> list[Page]:
    """Concatenate a repo's files into ``text`` in StarCoder v2's format.

    With probability ``add_metadata_prob`` (drawn from ``random``, so ``random.seed`` makes it repeatable):
    ``<repo_name>NAME<file_sep>path\\ncode…``; otherwise ``<file_sep>code…``. Without sentinels ``<file_sep>``
    becomes ``"\\n\\n"``, ``<repo_name>`` disappears and the text is stripped.
    """
    if not 0 <= add_metadata_prob <= 1:
        raise ValueError(
            f"starcoder_v2_format_modifier: add_metadata_prob must be in [0, 1], got {add_metadata_prob}"
        )
    files = page["files"]
    if random.random() < add_metadata_prob:
        text = f"<repo_name>{page['repo_name']}" + "".join(
            f"<file_sep>{f['filename']}\n{f['text']}" for f in files
        )
    else:
        text = "".join(f"<file_sep>{f['text']}" for f in files)
    if not add_sentinels:
        text = text.replace("<file_sep>", "\n\n").replace("<repo_name>", "").strip()
    page[CONTENT] = text
    return [page]


# --------------------------------------------------------------------------------------------------------------
# arXiv (LaTeX source)
# --------------------------------------------------------------------------------------------------------------

_APPENDIX = re.compile(
    r"\\appendix|\\begin\{references\}|\\begin\{REFERENCES\}|\\begin\{thebibliography\}|\\bibliography\{.*?\}",
    re.DOTALL,
)


@factory("modifier")
def arxiv_appendix_modifier() -> Callable[[Page], list[Page]]:
    """Cut the text at the first ``\\appendix``, ``\\begin{references}``/``{REFERENCES}``, ``\\begin{thebibliography}``
    or ``\\bibliography{…}``; an empty result drops the page."""

    def modify(page: Page) -> list[Page]:
        text: str = page[CONTENT]
        match = _APPENDIX.search(text)
        if match is not None:
            text = text[: match.start()]
        if text == "":
            return []
        page[CONTENT] = text
        return [page]

    return modify


_COMMENT_LINE = re.compile(r"^%.*\n?", re.MULTILINE)
# An in-line comment: '%' not escaped as '\%', to the end of its line. As in RedPajama, the character before
# the '%' (usually a space) goes too, and a bare '%' at the end of a line is left alone.
_COMMENT_INLINE = re.compile(r"[^\\]%.+$", re.MULTILINE)
_COMMENT_ENV = re.compile(r"\\begin\{comment\}.*?\\end\{comment\}", re.DOTALL)


@factory("modifier")
def arxiv_comment_modifier(remove_multiline: bool = False) -> Callable[[Page], list[Page]]:
    """Remove LaTeX ``%`` comments: whole comment lines (with their newline), then in-line comments.

    ``remove_multiline`` also removes ``\\begin{comment}…\\end{comment}`` blocks (not in RedPajama v1). An empty
    result drops the page.
    """

    def modify(page: Page) -> list[Page]:
        text: str = page[CONTENT]
        if "%" in text:
            text = _COMMENT_INLINE.sub("", _COMMENT_LINE.sub("", text))
        if remove_multiline and "\\begin{comment}" in text:
            text = _COMMENT_ENV.sub("", text)
        if text == "":
            return []
        page[CONTENT] = text
        return [page]

    return modify


_NEWCOMMAND = re.compile(r"\\newcommand\b\*?\{(\\[a-zA-Z0-9]+?)\}\{(.*?)\}$", re.MULTILINE)
_DEF = re.compile(r"\\def\s*(\\[a-zA-Z0-9]+?)\s*\{(.*?)\}$", re.MULTILINE)


@factory("modifier")
def arxiv_macro_modifier() -> Callable[[Page], list[Page]]:
    """Inline-expand argument-less macros defined by ``\\newcommand{\\x}{…}`` or ``\\def\\x{…}`` (definition at line end).

    Every use of ``\\x`` followed by a non-alphanumeric character becomes the value, the definition's own
    ``\\x`` included (so ``\\newcommand{\\x}{V}`` turns into ``\\newcommand{V}{V}``, as in RedPajama). Macros are
    expanded one after the other in definition order (``\\newcommand`` ones first; a later definition of the same
    name replaces the value). Deviation: DCLM feeds the value through ``unicode-escape`` into a regex template,
    which fails on non-ASCII values (the page errors); here the value is inserted literally, which is what DCLM
    does for every ASCII value.
    """

    def modify(page: Page) -> list[Page]:
        text: str = page.get(CONTENT, "")
        if "\\newcommand" in text or "\\def" in text:
            macros: dict[str, str] = {}
            for regex in (_NEWCOMMAND, _DEF):
                for match in regex.finditer(text):
                    macros[match.group(1)] = match.group(2)
            for name, value in macros.items():
                text = re.sub(re.escape(name) + r"([^a-zA-Z0-9])", lambda m, v=value: v + m.group(1), text)
        if text == "":
            return []
        page[CONTENT] = text
        return [page]

    return modify


def _header(name: str) -> str:
    return rf"\\{name}\b\*?(?:\[.*?\])?\{{.*?\}}"


@factory("modifier")
def arxiv_section_strip_modifier(paragraph_headers: bool = False) -> Callable[[Page], list[Page]]:
    """Drop the preamble: keep the text from the first section-like header on; no header drops the page.

    Headers: ``\\chapter``, ``\\part``, ``\\section``, ``\\subsection``, ``\\subsubsection`` (optional ``*`` and
    ``[short]``, then ``{title}``). Quirk kept by default: RedPajama's pattern lacks a ``|`` between the
    ``\\paragraph`` and ``\\subparagraph`` alternatives, so those only count as the pair
    ``\\paragraph{…}\\subparagraph{…}``; ``paragraph_headers=True`` accepts each on its own.
    """
    names = ["chapter", "part", "section", "subsection", "subsubsection"]
    alternatives = [_header(n) for n in names]
    if paragraph_headers:
        alternatives += [_header("paragraph"), _header("subparagraph")]
    else:
        alternatives.append(_header("paragraph") + _header("subparagraph"))
    header = re.compile("|".join(alternatives), re.DOTALL)

    def modify(page: Page) -> list[Page]:
        text: str = page[CONTENT]
        match = header.search(text)
        if match is None:
            return []
        page[CONTENT] = text[match.start() :]
        return [page]

    return modify


# --------------------------------------------------------------------------------------------------------------
# StackExchange (question / answers)
# --------------------------------------------------------------------------------------------------------------


def _each_text(page: Page, fn: Callable[[str], str]) -> None:
    page["question"]["text"] = fn(page["question"]["text"])
    for answer in page.get("answers", ()):
        answer["text"] = fn(answer["text"])


def _reformat_lists(text: str) -> str:
    return text.replace("<li>", "\n*").replace("</li>", "").replace("<ol>", "\n*").replace("</ol>", "")


@mapper("modifier")
def stackexchange_list_modifier(page: Page) -> list[Page]:
    """In question and answers: ``<li>`` and ``<ol>`` → ``"\\n*"``, ``</li>`` and ``</ol>`` removed (RedPajama v1)."""
    _each_text(page, _reformat_lists)
    return [page]


@mapper("modifier")
def stackexchange_answer_sort_modifier(page: Page, descending: bool = True) -> list[Page]:
    """Sort ``answers`` by ``score`` (missing → 0), highest first unless ``descending=False``; stable for ties."""
    answers = page.get("answers")
    if isinstance(answers, list):
        answers.sort(key=lambda a: a.get("score", 0), reverse=descending)
    return [page]


@factory("modifier")
def stackexchange_html_extraction_modifier() -> Callable[[Page], list[Page]]:
    """Replace the HTML of question and answers by ``BeautifulSoup(html, "lxml").get_text()`` (RedPajama v1)."""
    from bs4 import BeautifulSoup

    def extract(html: str) -> str:
        return BeautifulSoup(html, "lxml").get_text()

    def modify(page: Page) -> list[Page]:
        _each_text(page, extract)
        return [page]

    return modify


@mapper("modifier")
def stackexchange_qa_formatter(page: Page, remove_qa: bool = False) -> list[Page]:
    """Build ``text`` = ``"Q: question\\nA: answer1\\nA: answer2…"``; a page without ``question`` is dropped.

    ``remove_qa`` deletes the ``question`` and ``answers`` keys afterwards.
    """
    if "question" not in page:
        return []
    text = f"Q: {page['question']['text']}"
    if "answers" in page:
        text += "\nA: " + "\nA: ".join(a["text"] for a in page["answers"])
    page[CONTENT] = text
    if remove_qa:
        page.pop("question", None)
        page.pop("answers", None)
    return [page]
