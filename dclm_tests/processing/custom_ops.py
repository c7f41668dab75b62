"""Small operators for the pipeline / shard / runner tests, usable by name (``t_*``) or dotted path.

They are deliberately observable: ``tag_modifier`` appends to a list (so a step applied twice shows), the
counter factory numbers pages in the order it sees them (so reordering shows), and ``DCLM_TEST_SLEEP`` makes
``tag_modifier`` slow enough for a test to kill a run in the middle.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from dclm_resources.processing import registry
from dclm_resources.processing.registry import factory, global_step, mapper
from dclm_resources.storage import Storage, basename, join_uri, read_jsonl, write_jsonl

Page = dict[str, Any]
PREFIX = "dclm_tests.processing.custom_ops."


def real_operators_available() -> bool:
    """Whether every operator module the registry lists imports (they are written concurrently)."""
    try:
        registry._load_all()
        return True
    except ImportError:
        return False


def use_registry_without_missing_modules(monkeypatch: Any) -> bool:
    """Let the registry serve the ``t_*`` operators even while some operator modules are still missing."""
    if real_operators_available():
        return True
    monkeypatch.setattr(registry, "_loaded", True)
    return False


@mapper("modifier", name="t_upper")
def upper_modifier(page: Page) -> list[Page]:
    page["text"] = page["text"].upper()
    return [page]


@mapper("filter", name="t_min_chars")
def min_chars_filter(page: Page, min_chars: int = 10) -> list[Page]:
    return [page] if len(page["text"]) >= min_chars else []


@mapper("modifier", name="t_tag")
def tag_modifier(page: Page, tag: str) -> list[Page]:
    """Not idempotent: a step run twice on a page leaves two tags."""
    delay = float(os.environ.get("DCLM_TEST_SLEEP", "0") or 0)
    if delay:
        time.sleep(delay)
    page.setdefault("tags", []).append(tag)
    return [page]


@mapper("filter", name="t_boom")
def boom_filter(page: Page, marker: str = "BOOM") -> list[Page]:
    if marker in page["text"]:
        raise ValueError(f"found {marker}")
    return [page]


@mapper("splitter", name="t_split")
def split_modifier(page: Page, sep: str = "||") -> list[Page]:
    """Shallow copies on purpose: the parts share ``tags``, as split pages from real mappers often do."""
    parts = page["text"].split(sep)
    return [{**page, "text": part, "part": i} for i, part in enumerate(parts)] if len(parts) > 1 else [page]


@mapper("enricher", name="t_length")
def length_enricher(page: Page, key: str = "length") -> list[Page]:
    page[key] = len(page["text"])
    return [page]


@factory("enricher", name="t_counter")
def counter_enricher(key: str = "n") -> Callable[[Page], list[Page]]:
    """A factory: built once per shard, numbers the pages it sees."""
    seen = [0]

    def fn(page: Page) -> list[Page]:
        page[key] = seen[0]
        seen[0] += 1
        return [page]

    return fn


counter_enricher._is_factory = True  # type: ignore[attr-defined]  # DCLM's marker, for dotted-path use


@global_step("t_dedup_text")
def dedup_text(inputs: list[str], output_dir: str, storage: Storage, key: str = "text") -> dict[str, dict]:
    """A global step following the registry contract: keep the first page of each ``key`` value, pool-wide."""
    seen: set[str] = set()
    stats: dict[str, dict] = {}
    for uri in inputs:
        kept = []
        pages = list(read_jsonl(uri, storage))
        for page in pages:
            value = str(page.get(key))
            if value not in seen:
                seen.add(value)
                kept.append(page)
        write_jsonl(kept, join_uri(output_dir, basename(uri)), storage)
        stats[uri] = {"content_key": key, "pages_in": len(pages), "pages_out": len(kept)}
    return stats
