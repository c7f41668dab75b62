"""Where a quality classifier's training texts come from, and how a page becomes one fastText example.

A source is anything the pipeline already reads (a JSONL file, a folder or ``s3://`` prefix of shards, a raw
pool's ``raw_source.json`` or a filtered dataset's reference JSON / ``processed_data`` folder), optionally
narrowed by field values (``where={"label": 1}`` picks the human-annotated hq pages). Pages without ``text``
but in an instruction format (Alpaca-style ``prompt``/``response``, ShareGPT/OpenHermes ``conversations``,
chat ``messages``) are read as the instruction plus its answer, as DCLM's OH-2.5 positives were.

Texts are preprocessed exactly as the scoring enricher does (``" ".join(text.strip().splitlines())``) so that a
model sees at training time the same string it will score.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from dclm_resources.layout import Layout
from dclm_resources.pools.rawpool import SourceError, resolve_inputs
from dclm_resources.storage import JSONL_SUFFIXES, Storage, join_uri, read_jsonl

_INSTRUCTION = re.compile(r"###\s*Instruction:\s*(.*?)\s*(?:###\s*Response:.*)?$", re.DOTALL)
_INPUT_HEADER = re.compile(r"\s*###\s*Input:\s*")


def classifier_text(text: str) -> str:
    """DCLM's scoring preprocessing: strip, then join the lines with single spaces (one fastText line)."""
    return " ".join(text.strip().splitlines())


def parse_where(values: Mapping[str, str]) -> dict[str, Any]:
    """Config strings to JSON values (``"1"`` -> 1, ``"true"`` -> True); anything not JSON stays a string.

    Why: Dagster config maps strings to strings, but the annotations' ``label`` is the number 1.
    """
    out: dict[str, Any] = {}
    for key, raw in values.items():
        try:
            out[key] = json.loads(raw)
        except (TypeError, ValueError):
            out[key] = raw
    return out


def expand_dataset_uri(uri: str, layout: Layout) -> str:
    """``raw_pool:NAME`` -> the pool's raw_source.json; ``filtered:NAME[/STAGE]`` -> that stage's processed_data
    (default stage ``quality``, the curated dataset); anything else is returned as given."""
    kind, sep, rest = uri.partition(":")
    if not sep or kind not in ("raw_pool", "filtered"):
        return uri
    if kind == "raw_pool":
        return layout.raw_pool_reference(rest)
    name, _, stage = rest.partition("/")
    return join_uri(layout.filtered_stage_dir(name, stage or "quality"), "processed_data")


@dataclass(frozen=True)
class TextSource:
    """One training source: ``uri`` (file, folder, prefix or reference JSON), the text field, a page filter."""

    uri: str
    text_key: str = "text"
    where: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, value: TextSource | str) -> TextSource:
        return value if isinstance(value, TextSource) else cls(value)

    def files(self, storage: Storage) -> list[str]:
        """The JSONL shards behind ``uri`` (WARC inputs must be extracted into a raw pool first)."""
        uris = resolve_inputs(self.uri, storage)
        other = [u for u in uris if not u.lower().endswith(JSONL_SUFFIXES)]
        if other:
            raise SourceError(
                f"{other[0]}: training sources must be JSONL pages; extract WARC files with raw_pool"
            )
        return uris

    def matches(self, page: Mapping[str, Any]) -> bool:
        return all(key in page and page[key] == value for key, value in self.where.items())


def instruction_text(page: Mapping[str, Any]) -> str | None:
    """Instruction + answer of an instruction-format page, with the Alpaca template's boilerplate removed."""
    prompt, response = page.get("prompt"), page.get("response")
    if isinstance(prompt, str) and isinstance(response, str):
        found = _INSTRUCTION.search(prompt)
        body = _INPUT_HEADER.sub("\n", found.group(1)) if found else prompt
        return f"{body.strip()}\n{response.strip()}"
    turns = page.get("conversations", page.get("messages"))
    if isinstance(turns, list):
        parts = [
            str(t.get("value", t.get("content", "")))
            for t in turns
            if isinstance(t, dict) and t.get("from", t.get("role")) != "system"
        ]
        return "\n".join(p for p in parts if p) or None
    return None


def page_text(page: Mapping[str, Any], text_key: str = "text") -> str | None:
    """The page's text under ``text_key``, else its instruction-format text, else None (not usable)."""
    value = page.get(text_key)
    if isinstance(value, str):
        return value
    return instruction_text(page)


@dataclass
class SourceCounts:
    """What reading one label's sources found: examples yielded, pages filtered out, pages without text."""

    examples: int = 0
    filtered_out: int = 0
    without_text: int = 0


def iter_examples(sources: list[TextSource], storage: Storage, counts: SourceCounts) -> Iterator[str]:
    """Preprocessed, non-empty example texts of every source in order (file order within a source)."""
    for source in sources:
        for uri in source.files(storage):
            for page in read_jsonl(uri, storage):
                if not source.matches(page):
                    counts.filtered_out += 1
                    continue
                text = page_text(page, source.text_key)
                line = classifier_text(text) if text is not None else ""
                if not line:
                    counts.without_text += 1
                    continue
                counts.examples += 1
                yield line
