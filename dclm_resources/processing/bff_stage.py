"""BFF as a stage of its own (DCLM-Baseline: heuristics -> BFF -> fastText): one folder in, one folder out.

The stage writes ``<base>/processed_data/`` (one output shard per input shard, same names), per-shard stats in
``<base>/bff_stats.jsonl`` and DCLM's untokenized-dataset reference JSON. The stats file is written last and
is the completion marker: a rerun with the same inputs and settings returns it without recomputing.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from dclm_resources.processing.dedup.bff import estimate_ngram_count, run_bff, sysreq
from dclm_resources.processing.run_summary import untokenized_reference
from dclm_resources.storage import JSONL_SUFFIXES, Storage, join_uri, read_jsonl, write_jsonl


@dataclass(frozen=True)
class BffSettings:
    """DCLM-Baseline's BFF settings (dedup/bff README): 13-grams, threshold 0.8, fp 0.01, old-both."""

    min_ngram_size: int = 13
    max_ngram_size: int = 13
    filtering_threshold: float = 0.8
    fp_rate: float = 0.01
    expected_ngram_count: int = 0  # 0: count the input's n-grams first
    remove_type: str = "old-both"
    annotate: bool = False


@dataclass(frozen=True)
class BffStageResult:
    pages_in: int
    pages_out: int
    bytes_in: int
    bytes_out: int
    filter_bytes: int
    expected_ngram_count: int
    dataset_url: str
    reference_uri: str
    per_shard: list[dict[str, Any]]


def run_bff_stage(
    input_dir: str, base: str, storage: Storage, settings: BffSettings, readable_name: str, overwrite: bool = False
) -> BffStageResult:
    inputs = [f.uri for f in storage.list_files(input_dir, suffixes=JSONL_SUFFIXES)]
    if not inputs:
        raise ValueError(f"{input_dir}: no JSONL shards to deduplicate (did the upstream stage keep any page?)")
    stats_uri = join_uri(base, "bff_stats.jsonl")
    dataset_url = join_uri(base, "processed_data") + "/"
    reference_uri = join_uri(base, f"{readable_name}.json")
    key = {"inputs": inputs, "settings": asdict(settings)}
    if not overwrite and storage.exists(stats_uri):
        lines = list(read_jsonl(stats_uri, storage))
        if lines and lines[0].get("run") == key:
            return _result(lines[1:], lines[0], dataset_url, reference_uri)
    expected = settings.expected_ngram_count or estimate_ngram_count(
        inputs, storage, settings.min_ngram_size, settings.max_ngram_size
    )
    per_input = run_bff(
        inputs,
        join_uri(base, "processed_data"),
        storage,
        fp_rate=settings.fp_rate,
        expected_ngram_count=expected,
        min_ngram_size=settings.min_ngram_size,
        max_ngram_size=settings.max_ngram_size,
        filtering_threshold=settings.filtering_threshold,
        remove_type=settings.remove_type,
        annotate=settings.annotate,
    )
    shard_lines = [{"name": "bff_dedup", "input": uri, **stats} for uri, stats in per_input.items()]
    header = {"run": key, "expected_ngram_count": expected, "filter_bytes": sysreq(expected, settings.fp_rate).size_in_bytes}
    result = _result(shard_lines, header, dataset_url, reference_uri)
    reference = untokenized_reference(
        readable_name, dataset_url, result.bytes_out, "jsonl.zst" if inputs[0].endswith(".zst") else "jsonl",
        sources=[{"name": input_dir}],
        previous=json.loads(storage.read_text(reference_uri)) if storage.exists(reference_uri) else None,
    )
    storage.write_text(reference_uri, json.dumps(reference, indent=2) + "\n")
    write_jsonl([header, *shard_lines], stats_uri, storage)  # last: marks the stage complete
    return result


def _result(lines: list[dict[str, Any]], header: dict[str, Any], dataset_url: str, reference_uri: str) -> BffStageResult:
    def total(key: str) -> int:
        return sum(int(line.get(key, 0)) for line in lines)

    return BffStageResult(
        pages_in=total("pages_in"),
        pages_out=total("pages_out"),
        bytes_in=total("bytes_in"),
        bytes_out=total("bytes_out"),
        filter_bytes=int(header["filter_bytes"]),
        expected_ngram_count=int(header["expected_ngram_count"]),
        dataset_url=dataset_url,
        reference_uri=reference_uri,
        per_shard=lines,
    )
