"""Source-specific modifiers: StarCoder v2 repos, arXiv LaTeX cleaning, StackExchange Q&A formatting."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from dclm_resources.processing import get_mapper, get_operator


def texts(result: list[dict[str, Any]]) -> list[Any]:
    return [p["text"] for p in result]


# ------------------------------------------------------------------------------------------------ StarCoder v2


def _repo(n: int) -> dict[str, Any]:
    return {
        "repo_name": "sample/repo",
        "files": [{"filename": f"/path/to/file{i}", "text": f"code{i}"} for i in range(n)],
        "text": "placeholder text",
    }


def test_starcoder_v2_repo_splitter() -> None:
    assert get_operator("starcoder_v2_repo_splitter").kind == "splitter"
    page = _repo(30)
    out = get_mapper("starcoder_v2_repo_splitter", max_files=10)(copy.deepcopy(page))
    assert out == [
        {"repo_name": "sample/repo", "files": page["files"][0:10]},
        {"repo_name": "sample/repo", "files": page["files"][10:20]},
        {"repo_name": "sample/repo", "files": page["files"][20:30]},
    ]
    assert out[0]["files"][0] is not out[1]["files"][0]
    assert get_mapper("starcoder_v2_repo_splitter", max_files=30)(copy.deepcopy(page)) == [page]
    kept = get_mapper("starcoder_v2_repo_splitter", max_files=7, delete_content=False)(copy.deepcopy(page))
    assert [len(p["files"]) for p in kept] == [7, 7, 7, 7, 2]
    assert all(p["text"] == "placeholder text" for p in kept)
    # Chunks are independent: editing one leaves the others (and the input) alone.
    kept[0]["files"][0]["text"] = "changed"
    assert page["files"][0]["text"] == "code0"


def test_starcoder_v2_format_modifier() -> None:
    base = _repo(3)
    del base["text"]
    base["files"] = [{"filename": f"/path/to/file{i}", "text": f"code{i}"} for i in (1, 2, 3)]
    cases = [
        (
            1,
            True,
            "<repo_name>sample/repo<file_sep>/path/to/file1\ncode1<file_sep>/path/to/file2\ncode2<file_sep>/path/to/file3\ncode3",
        ),
        (0, True, "<file_sep>code1<file_sep>code2<file_sep>code3"),
        (1, False, "sample/repo\n\n/path/to/file1\ncode1\n\n/path/to/file2\ncode2\n\n/path/to/file3\ncode3"),
        (0, False, "code1\n\ncode2\n\ncode3"),
    ]
    for prob, sentinels, want in cases:
        fn = get_mapper("starcoder_v2_format_modifier", add_metadata_prob=prob, add_sentinels=sentinels)
        assert fn(copy.deepcopy(base)) == [{**base, "text": want}]
    with pytest.raises(ValueError, match="add_metadata_prob"):
        get_mapper("starcoder_v2_format_modifier", add_metadata_prob=1.5)(copy.deepcopy(base))


def test_starcoder_v2_format_modifier_draws_from_random() -> None:
    fn = get_mapper("starcoder_v2_format_modifier")
    base = _repo(2)

    def draws() -> list[bool]:
        return [fn(copy.deepcopy(base))[0]["text"].startswith("<repo_name>") for _ in range(200)]

    random.seed(7)
    first = draws()
    random.seed(7)
    assert draws() == first
    assert 60 < sum(first) < 140  # p = 0.5


# ------------------------------------------------------------------------------------------------ arXiv


def test_arxiv_appendix_modifier() -> None:
    fn = get_mapper("arxiv_appendix_modifier")
    assert fn({"text": "\\appendix\nAppendix"}) == []
    assert fn({"text": "\\bibliography{ref}\nBibliography content"}) == []
    for marker in ("\\begin{references}", "\\begin{REFERENCES}", "\\begin{thebibliography}"):
        assert texts(fn({"text": f"Content\n{marker}\nReferences content"})) == ["Content\n"]
    page = "Main content\n\\appendix\nAppendix content\n\\bibliography{ref}\nBibliography content"
    assert texts(fn({"text": page})) == ["Main content\n"]
    assert texts(fn({"text": "No cut here \\bibliography without braces"})) == [
        "No cut here \\bibliography without braces"
    ]


def test_arxiv_comment_modifier() -> None:
    fn = get_mapper("arxiv_comment_modifier")
    multi = get_mapper("arxiv_comment_modifier", remove_multiline=True)
    assert fn({"text": "% This is a single line comment"}) == []
    assert texts(fn({"text": "% Comment 1\n% Comment 2\nContent"})) == ["Content"]
    page = "Content before % Comment\n\\begin{comment}Multi-line comment\\end{comment}Content after"
    assert texts(multi({"text": page})) == ["Content before\nContent after"]
    assert texts(fn({"text": page})) == [
        "Content before\n\\begin{comment}Multi-line comment\\end{comment}Content after"
    ]
    page = "% This is a single line comment\nSome content here\n\\begin{comment}This is a multiline comment\\end{comment}More content"
    assert texts(multi({"text": page})) == ["Some content here\nMore content"]
    assert texts(fn({"text": "Content before comment % This is a comment\nContinued content"})) == [
        "Content before comment\nContinued content"
    ]
    assert fn({"text": ""}) == []
    assert texts(fn({"text": "Regular content without comments"})) == ["Regular content without comments"]
    # An escaped percent sign is text, not a comment.
    assert texts(fn({"text": "We gain 5\\% accuracy."})) == ["We gain 5\\% accuracy."]


def test_arxiv_macro_modifier() -> None:
    fn = get_mapper("arxiv_macro_modifier")
    page = "\\newcommand{\\examplemacro}{ExampleValue}\nUse of \\examplemacro here."
    assert texts(fn({"text": page})) == [
        "\\newcommand{ExampleValue}{ExampleValue}\nUse of ExampleValue here."
    ]
    page = "\\newcommand{\\macroOne}{FirstValue}\n\\newcommand{\\macroTwo}{SecondValue}\nUse of \\macroOne and \\macroTwo."
    assert texts(fn({"text": page})) == [
        "\\newcommand{FirstValue}{FirstValue}\n\\newcommand{SecondValue}{SecondValue}\nUse of FirstValue and SecondValue."
    ]
    assert texts(fn({"text": "Regular LaTeX content without macros"})) == [
        "Regular LaTeX content without macros"
    ]
    # \def macros, values with backslashes inserted literally, longer names not touched.
    page = "\\def\\R{\\mathbb{R}}\nLet $x \\in \\R$ and \\Rset stay."
    assert texts(fn({"text": page})) == [
        "\\def\\mathbb{R}{\\mathbb{R}}\nLet $x \\in \\mathbb{R}$ and \\Rset stay."
    ]
    # Non-ASCII values (DCLM errors on these) are inserted as they are.
    assert texts(fn({"text": "\\newcommand{\\name}{Gödel}\n\\name's theorem"})) == [
        "\\newcommand{Gödel}{Gödel}\nGödel's theorem"
    ]


def test_arxiv_section_strip_modifier() -> None:
    fn = get_mapper("arxiv_section_strip_modifier")
    page = "Content before\\section{First Section}Content in between\\section{Last Section}Content after"
    assert texts(fn({"text": page})) == [
        "\\section{First Section}Content in between\\section{Last Section}Content after"
    ]
    assert texts(fn({"text": "Preamble\\section{Sec1}Content1\\section{Sec2}Content2"})) == [
        "\\section{Sec1}Content1\\section{Sec2}Content2"
    ]
    assert texts(fn({"text": "Preamble\\section{OnlySection}Content"})) == ["\\section{OnlySection}Content"]
    assert fn({"text": "Content without any section"}) == []
    assert fn({"text": ""}) == []
    assert texts(fn({"text": "pre\\subsection*[short]{Long}body"})) == ["\\subsection*[short]{Long}body"]
    assert texts(fn({"text": "pre \\chapter{One} \\section{Two}"})) == ["\\chapter{One} \\section{Two}"]


def test_arxiv_section_strip_modifier_paragraph_quirk() -> None:
    """RedPajama's pattern glues \\paragraph and \\subparagraph together (a missing '|'): kept by default."""
    page = "Preamble\\paragraph{P}text"
    assert get_mapper("arxiv_section_strip_modifier")({"text": page}) == []
    assert texts(get_mapper("arxiv_section_strip_modifier", paragraph_headers=True)({"text": page})) == [
        "\\paragraph{P}text"
    ]
    glued = "Preamble\\paragraph{P}\\subparagraph{S}text"
    assert texts(get_mapper("arxiv_section_strip_modifier")({"text": glued})) == [
        "\\paragraph{P}\\subparagraph{S}text"
    ]


# ------------------------------------------------------------------------------------------------ StackExchange

LIST_HTML = "Question 1\n<ol>\n\t<li>Choice 1</li>\n\t<li>Choice 2</li></ol>"


def test_stackexchange_list_modifier() -> None:
    fn = get_mapper("stackexchange_list_modifier")
    assert fn({"question": {"text": LIST_HTML}}) == [
        {"question": {"text": "Question 1\n\n*\n\t\n*Choice 1\n\t\n*Choice 2"}}
    ]
    page = {
        "question": {"text": LIST_HTML},
        "answers": [
            {"text": "Choice 1"},
            {"text": "<ol>\n\t<li>Choice 1 is correct</li>\n\t<li>Choice 2 is incorrect</li></ol>"},
        ],
    }
    assert fn(page) == [
        {
            "question": {"text": "Question 1\n\n*\n\t\n*Choice 1\n\t\n*Choice 2"},
            "answers": [
                {"text": "Choice 1"},
                {"text": "\n*\n\t\n*Choice 1 is correct\n\t\n*Choice 2 is incorrect"},
            ],
        }
    ]


def test_stackexchange_answer_sort_modifier() -> None:
    def page() -> dict[str, Any]:
        return {
            "question": {"text": "Question 1"},
            "answers": [
                {"text": "Answer 1", "score": 10},
                {"text": "Answer 2", "score": 5},
                {"text": "Answer 3", "score": 15},
                {"text": "Answer 4"},
            ],
        }

    out = get_mapper("stackexchange_answer_sort_modifier")(page())[0]
    assert [a["text"] for a in out["answers"]] == ["Answer 3", "Answer 1", "Answer 2", "Answer 4"]
    out = get_mapper("stackexchange_answer_sort_modifier", descending=False)(page())[0]
    assert [a["text"] for a in out["answers"]] == ["Answer 4", "Answer 2", "Answer 1", "Answer 3"]
    no_answers = {"question": {"text": "Question 1"}}
    assert get_mapper("stackexchange_answer_sort_modifier")(dict(no_answers)) == [no_answers]


def test_stackexchange_html_extraction_modifier() -> None:
    fn = get_mapper("stackexchange_html_extraction_modifier")
    html = "<!DOCTYPE html>\n<html>\n<head><title>Question title</title></head>\n<body>Question body</body>\n</html>"
    page = {
        "question": {"text": html},
        "answers": [
            {"text": "Answer 3", "score": 15},
            {"text": "<ol>\n\t<li>Here is the answer.</li>\n\t<li>This is why.</li></ol>", "score": 10},
        ],
    }
    assert fn(page) == [
        {
            "question": {"text": "\nQuestion title\nQuestion body\n"},
            "answers": [
                {"text": "Answer 3", "score": 15},
                {"text": "\nHere is the answer.\nThis is why.", "score": 10},
            ],
        }
    ]
    assert fn({"question": {"text": html}}) == [{"question": {"text": "\nQuestion title\nQuestion body\n"}}]


def test_stackexchange_qa_formatter() -> None:
    answers = [
        {"text": "Answer 3", "score": 15},
        {"text": "Answer 1", "score": 10},
        {"text": "Answer 2", "score": 5},
    ]
    page = {"question": {"text": "Question 1"}, "answers": answers}
    qa = "Q: Question 1\nA: Answer 3\nA: Answer 1\nA: Answer 2"
    assert get_mapper("stackexchange_qa_formatter")(copy.deepcopy(page)) == [{**page, "text": qa}]
    assert get_mapper("stackexchange_qa_formatter", remove_qa=True)(copy.deepcopy(page)) == [{"text": qa}]
    only_q = {"question": {"text": "Question 1"}}
    assert get_mapper("stackexchange_qa_formatter")(dict(only_q)) == [{**only_q, "text": "Q: Question 1"}]
    assert get_mapper("stackexchange_qa_formatter", remove_qa=True)(dict(only_q)) == [
        {"text": "Q: Question 1"}
    ]
    assert get_mapper("stackexchange_qa_formatter")({"answers": answers}) == []


def test_stackexchange_pipeline_order() -> None:
    """The RedPajama order: lists → HTML → sort → format."""
    page = {
        "question": {"text": "<p>Which?</p><ol><li>a</li><li>b</li></ol>"},
        "answers": [{"text": "<p>low</p>", "score": 1}, {"text": "<p>high</p>", "score": 9}],
    }
    for name in ("stackexchange_list_modifier", "stackexchange_html_extraction_modifier"):
        (page,) = get_mapper(name)(page)
    (page,) = get_mapper("stackexchange_answer_sort_modifier")(page)
    (page,) = get_mapper("stackexchange_qa_formatter", remove_qa=True)(page)
    assert page == {"text": "Q: Which?\n*\n*a\n*b\nA: high\nA: low"}  # <ol> also becomes "\n*"
