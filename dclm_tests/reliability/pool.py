"""The real pool and pipeline the fault tests run, and the checks that a run's output is exactly the reference.

Pool: the 1,000 C4 pages and 697 Dolma Common Crawl pages of ``../shared/data/web/jsonl``, spread over a few
zstd shards in a fixed order, plus one exact copy per shard of another shard's page (so ``exact_dedup`` has
cross-shard duplicates to remove). Pipeline: DCLM C4-style heuristic steps (real operators, no word lists or
models needed), a ``commit`` in the middle, line splitting, a global ``exact_dedup`` and the steps after it.
"""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path
from typing import Any

from dclm_resources.storage import (
    Storage,
    basename,
    iter_jsonl_lines,
    open_decompressed,
    read_jsonl,
    write_jsonl,
)
from dclm_tests.paths import shared_data

C4 = ("web", "jsonl", "c4_en_sample", "c4_sample.jsonl")
DOLMA_CC = ("web", "jsonl", "dolma_cc_2019_30", "CC-MAIN-20190717121559-20190717143559-00140.jsonl.gz")
SOURCE = "cc"
PIPELINE = """
- source: cc
  steps:
    - func: move_url_modifier
    - func: page_length_filter
      length_type: char
      max_length: 190000
    - func: citation_removal_modifier
    - func: punctuation_line_modifier
      remove_ellipses: true
    - func: line_length_modifier
      min_length: 5
    - commit
    - func: substring_line_modifier
      banlist: ['javascript']
    - func: page_length_filter
      length_type: word
      min_length: 50
    - func: split_lines_modifier
    - func: exact_dedup
      content_key: text
      normalize: normalize_whitespace_and_lowercase
    - func: join_lines_modifier
    - func: within_page_dedup
"""
STEP_NAMES = ["move_url_modifier", "page_length_filter", "citation_removal_modifier", "punctuation_line_modifier",
              "line_length_modifier", "substring_line_modifier", "page_length_filter", "split_lines_modifier",
              "exact_dedup", "join_lines_modifier", "within_page_dedup"]
CONTROL = ("process_setup", "process_finished", "commit")


def real_pages() -> list[dict[str, Any]]:
    """C4 and Dolma CC pages as ``{id, text, url}``, in a fixed pseudo-random order (crc32 of the id)."""
    pages = []
    with shared_data(*C4).open(encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            rec = json.loads(line)
            pages.append({"id": f"c4-{i:04d}", "text": rec["text"], "url": rec["url"]})
    with gzip.open(shared_data(*DOLMA_CC), "rt", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            rec = json.loads(line)
            pages.append({"id": f"cc-{i:04d}", "text": rec["text"], "url": rec["metadata"]["url"]})
    pages.sort(key=lambda p: zlib.crc32(p["id"].encode()))
    return pages


def write_pool(folder: Path, shards: int, pages: list[dict[str, Any]] | None = None) -> dict[str, int]:
    """``shards`` zstd shards in ``folder``; returns lines per shard name."""
    pages = pages if pages is not None else real_pages()
    counts = {}
    for s in range(shards):
        part = pages[s::shards]
        twin = pages[(s + 1) % shards]  # a page of the next shard, again: an exact cross-shard duplicate
        part = [*part, {**twin, "id": f"dup-{s:02d}"}]
        counts[f"shard_{s:02d}"] = write_jsonl(part, str(folder / f"shard_{s:02d}.jsonl.zst"))
    return counts


def process_args(config: Path | str, inputs: str, output: str, *extra: str) -> list[str]:
    return ["process", "--config", str(config), "--source-name", SOURCE, "--input", inputs, "--output", output,
            "--workers", "2", *extra]


# ----------------------------------------------------------------------------------------------------------------
# reading an output folder (local or s3://) and checking it against the reference
# ----------------------------------------------------------------------------------------------------------------


def decompressed_outputs(out: str, storage: Storage | None = None) -> dict[str, bytes]:
    """Each visible ``processed_data`` file, decompressed, by file name."""
    storage = storage or Storage()
    found = {}
    for info in storage.list_files(out.rstrip("/") + "/processed_data"):
        with open_decompressed(info.uri, storage) as fh:
            found[basename(info.uri)] = fh.read()
    return found


def stats_lines(out: str, storage: Storage | None = None) -> dict[str, list[dict[str, Any]]]:
    storage = storage or Storage()
    root = out.rstrip("/") + "/stats"
    if not storage.exists(root):
        return {}
    return {basename(i.uri).removesuffix("_stats.jsonl"): [json.loads(x) for x in storage.read_text(i.uri).splitlines()]
            for i in storage.list_files(root)}


def assert_same_as_reference(out: str, ref: str, lines_in: dict[str, int], storage: Storage | None = None,
                             steps: list[str] = STEP_NAMES) -> None:
    """Same files, same pages in the same order (ids), same decompressed bytes; stats that add up; no duplicates."""
    storage = storage or Storage()
    want, got = decompressed_outputs(ref), decompressed_outputs(out, storage)
    assert sorted(got) == sorted(want), "the visible processed_data files differ from the uninterrupted run's"
    ids: list[str] = []
    for name, data in want.items():
        want_ids = [json.loads(x)["id"] for x in data.splitlines()]
        got_ids = [json.loads(x)["id"] for x in got[name].splitlines()]
        assert got_ids == want_ids, f"{name}: page ids differ from the uninterrupted run"
        assert got[name] == data, f"{name}: decompressed bytes differ from the uninterrupted run"
        ids.extend(got_ids)
    assert ids and len(ids) == len(set(ids)), "a page appears twice in the output"
    assert_accounting(out, lines_in, storage, steps)


def assert_accounting(out: str, lines_in: dict[str, int], storage: Storage | None = None,
                      expected_steps: list[str] = STEP_NAMES) -> None:
    """Per shard: every step exactly once, read = kept + removed + split + errors per step, steps chain."""
    stats = stats_lines(out, storage)
    assert sorted(stats) == sorted(lines_in)
    for shard, lines in stats.items():
        steps = [x for x in lines if x["name"] not in CONTROL]
        assert [x["name"] for x in steps] == expected_steps, f"{shard}: steps recorded {[x['name'] for x in steps]}"
        quarantined = sum(x.get("pages_quarantined", 0) for x in lines if x["name"] == "process_setup")
        assert steps[0]["pages_in"] + quarantined == lines_in[shard], shard
        for prev, cur in zip(steps, steps[1:], strict=False):
            assert cur["pages_in"] == prev["pages_out"], f"{shard}: {cur['name']} starts where {prev['name']} ended"
        for step in steps:
            if step["name"] != "exact_dedup":
                assert step["pages_in"] == step["removed"] + step["kept"] + step["split"] + step["errors"], shard


def count_lines(uri: str, storage: Storage | None = None) -> int:
    return sum(1 for _ in iter_jsonl_lines(uri, storage))


def page_ids(uri: str, storage: Storage | None = None) -> list[str]:
    return [p["id"] for p in read_jsonl(uri, storage)]
