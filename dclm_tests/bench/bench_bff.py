"""Benchmark BFF dedup on the real pages under ``../shared/data/web/jsonl`` with DCLM's settings.

DCLM ran BFF with 13-grams, fp rate 0.01, threshold 0.8 and ``old-both``. The real sample (~6 MB of text) is
repeated up to ``--target-mb``; each repeat gets distinct ids and its ASCII letters and digits rotated, so repeats
are new text with the same token structure rather than exact duplicates. The run is one process (no Ray),
so MB/s is per core. Prints one ``name: value`` figure per line.

    python -m dclm_tests.bench.bench_bff [--target-mb 50] [--remove-type old-both] [--keep DIR]
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import shutil
import string
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dclm_resources.processing.dedup.bff import estimate_ngram_count, run_bff, sysreq
from dclm_resources.storage import Storage, write_jsonl
from dclm_tests.paths import SHARED_DATA

PAGES_PER_SHARD = 2000


def load_real_pages(root: Path) -> list[dict[str, Any]]:
    """Every page with a text field in the shared JSONL samples (.jsonl, .jsonl.gz, .json.gz)."""
    pages = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or not path.name.endswith((".jsonl", ".jsonl.gz", ".json.gz")):
            continue
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    page = json.loads(line)
                    if isinstance(page.get("text"), str):
                        pages.append({"id": page.get("id"), "url": page.get("url"), "text": page["text"]})
    return pages


def _rotation(shift: int) -> dict[int, int]:
    """Rotate ASCII letters and digits by ``shift``: new n-grams, same UAX #29 token classes."""
    table: dict[int, int] = {}
    for alphabet in (string.ascii_lowercase, string.ascii_uppercase, string.digits):
        for i, ch in enumerate(alphabet):
            table[ord(ch)] = ord(alphabet[(i + shift) % len(alphabet)])
    return table


def repeated_pages(pages: list[dict[str, Any]], target_bytes: int) -> Iterator[dict[str, Any]]:
    done = 0
    repeat = 0
    while done < target_bytes:
        table = _rotation(repeat)
        for i, page in enumerate(pages):
            text = page["text"].translate(table) if repeat else page["text"]
            done += len(text.encode("utf-8"))
            yield {**page, "id": f"r{repeat}-{i}", "text": text}
            if done >= target_bytes:
                return
        repeat += 1


def write_inputs(pages: list[dict[str, Any]], folder: Path, target_bytes: int) -> tuple[list[str], int]:
    uris: list[str] = []
    batch: list[dict[str, Any]] = []
    total = 0

    def flush() -> None:
        uri = str(folder / f"shard_{len(uris):04d}.jsonl")
        write_jsonl(batch, uri)
        uris.append(uri)
        batch.clear()

    for page in repeated_pages(pages, target_bytes):
        batch.append(page)
        total += len(page["text"].encode("utf-8"))
        if len(batch) >= PAGES_PER_SHARD:
            flush()
    if batch:
        flush()
    return uris, total


def _rss_mb() -> float:
    try:
        import psutil
    except ImportError:
        return float("nan")
    return psutil.Process().memory_info().rss / 2**20


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--target-mb", type=float, default=50.0, help="text volume to deduplicate (MB of UTF-8)"
    )
    parser.add_argument("--remove-type", default="old-both")
    parser.add_argument("--keep", help="write inputs/outputs here and keep them (default: a temp dir)")
    args = parser.parse_args(argv)

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_bff_"))
    storage = Storage()
    try:
        pages = load_real_pages(SHARED_DATA / "web" / "jsonl")
        inputs, text_bytes = write_inputs(pages, work / "in", int(args.target_mb * 1e6))
        del pages
        started = time.perf_counter()
        expected = estimate_ngram_count(inputs, storage, 13, 13)
        estimate_s = time.perf_counter() - started
        rss_before = _rss_mb()
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        stats = run_bff(
            inputs,
            str(work / "out"),
            storage,
            fp_rate=0.01,
            expected_ngram_count=expected,
            min_ngram_size=13,
            max_ngram_size=13,
            filtering_threshold=0.8,
            remove_type=args.remove_type,
            use_ray=False,
        )
        wall = time.perf_counter() - started
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
        bytes_out = sum(s["bytes_out"] for s in stats.values())
        ngrams = sum(s["ngrams"] for s in stats.values())
        filter_size = sysreq(expected, 0.01)
        figures = {
            "settings": f"{args.remove_type}, 13-grams, fp_rate 0.01, threshold 0.8, one process",
            "input_text_mb": round(text_bytes / 1e6, 2),
            "input_shards": len(inputs),
            "input_pages": sum(s["pages_in"] for s in stats.values()),
            "ngrams_checked": ngrams,
            "expected_ngram_count_estimate": expected,
            "estimate_seconds": round(estimate_s, 2),
            "wall_seconds": round(wall, 2),
            "cpu_seconds": round(cpu, 2),
            "mb_per_s_per_core": round(text_bytes / 1e6 / cpu, 2),
            "mb_per_s_wall": round(text_bytes / 1e6 / wall, 2),
            "ngrams_per_s": round(ngrams / cpu),
            "removed_text_fraction": round(1 - bytes_out / text_bytes, 4),
            "pages_removed": sum(s["docs_removed"] for s in stats.values()),
            "bloom_filter_bytes": filter_size.size_in_bytes,
            "bloom_filter_hashers": filter_size.num_hashers,
            "bff_rust_filter_bytes_same_settings": filter_size.bff_size_in_bytes,
            "rss_before_run_mb": round(rss_before, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }
        for name, value in figures.items():
            print(f"{name}: {value}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
