"""Fuzzy deduplication with a Bloom filter over token n-grams, compatible with DCLM's BFF tool.

BFF (``dedup/bff`` in DCLM, a Rust program) tokenizes each document on Unicode word boundaries (UAX #29, whitespace
tokens dropped), slides an n-gram window over every *unit* (paragraph or whole document), and removes a unit when
more than ``filtering_threshold`` of its n-grams are already in one shared Bloom filter; surviving units insert
their n-grams. This module reproduces those decisions (tokens, windows, short-unit rule, strict ``>`` vs ``>=``,
``old-both``'s whole-document rule, annotate output) on top of ``rbloom``.

What differs from BFF, on purpose:

* Order. BFF processes files in parallel in random order against one filter, so which copy of a duplicate
  survives changes from run to run. Here shards are processed one after another in the given (sorted) order and
  documents in file order, so a rerun gives byte-identical output. The filter is inherently sequential, so the
  whole run is one process: one Ray task when Ray is initialized, else the calling process.
* Hashing. Tokens get a 64-bit polynomial hash of their code points and n-grams a position-weighted sum of
  token hashes, both finished by a 64-bit mixer and computed with numpy for a whole batch; they are stable across
  processes, so a saved filter can be reloaded (BFF's ahash seeds are random). The filter file is not
  interchangeable with BFF's.
* Filter sizing is rbloom's (``m = -n ln p / ln²2`` bits, ``k = floor(m/n · ln 2)`` hashers); ``sysreq`` also
  reports BFF's binary-searched size for comparison.
* Tokens follow the Unicode data of the ``regex`` module, which may be a newer Unicode version than the
  ``unicode-segmentation`` crate BFF was built with (only newly assigned characters can differ).
* ``both`` and ``naive-both`` follow BFF's documented intent, not two bugs in its code: in ``both`` BFF never
  advances its paragraph index (every n-gram past the first paragraph lands in the cross-paragraph bucket), and in
  ``naive-both`` its document pass inserts the document's n-grams before the paragraph pass checks them, so every
  paragraph of a new document matches itself. ``substring`` is not implemented.
"""

from __future__ import annotations

import logging
import math
import operator
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from hashlib import blake2b
from itertools import compress
from typing import Any

import numpy as np

from dclm_resources.processing.dedup.bff_filter import (
    HASH_SCHEME,
    FilterSize,
    NgramFilter,
    _check_filter_args,
    sysreq,
)
from dclm_resources.processing.dedup.bff_tokens import (
    _MAX_WEIGHTS,
    WHITESPACE,
    _Ngrams,
    _TokenBatch,
    _tokenize_batch,
    _unit_ngrams,
    tokenize,
)

__all__ = [
    "HASH_SCHEME",
    "REMOVE_TYPES",
    "BffDeduper",
    "FilterSize",
    "NgramFilter",
    "bff_dedup",
    "estimate_ngram_count",
    "run_bff",
    "sysreq",
    "tokenize",
]
from dclm_resources.processing.registry import global_step
from dclm_resources.storage import (
    Storage,
    basename,
    iter_jsonl_lines,
    join_uri,
    parse_jsonl_line,
    write_jsonl,
)

log = logging.getLogger(__name__)

REMOVE_TYPES = ("paragraph", "document", "both", "naive-both", "old-both", "exact")
# Keys BFF keeps when annotating in old-both mode (it drops every other key of the page).
OLD_BOTH_ANNOTATE_KEYS = ("bff_duplicate_spans", "bff_contained_ngram_count", "id", "source", "text")
_PAGES_PER_BATCH = 2000
_CHARS_PER_BATCH = 1_000_000


# ---------------------------------------------------------------------------------------------------------------
# The deduplicator: per-document decisions, strictly in input order.


@dataclass(frozen=True)
class BffParams:
    """BFF's knobs under DCLM's names (defaults are BFF's CLI defaults; DCLM ran 13-grams with old-both)."""

    min_ngram_size: int = 20
    max_ngram_size: int = 20
    filtering_threshold: float = 0.8
    remove_type: str = "paragraph"
    annotate: bool = False
    no_update_bloom_filter: bool = False

    def __post_init__(self) -> None:
        if self.remove_type not in REMOVE_TYPES:
            raise ValueError(
                f"remove_type must be one of {', '.join(REMOVE_TYPES)}; got {self.remove_type!r}"
            )
        if not 1 <= self.min_ngram_size <= self.max_ngram_size <= _MAX_WEIGHTS:
            raise ValueError(
                f"need 1 <= min_ngram_size <= max_ngram_size <= {_MAX_WEIGHTS}; "
                f"got {self.min_ngram_size}, {self.max_ngram_size}"
            )
        if not 0.0 <= self.filtering_threshold <= 1.0:
            raise ValueError(f"filtering_threshold must be in [0, 1], got {self.filtering_threshold!r}")


@dataclass
class ShardStats:
    """Counts for one shard; bytes are UTF-8 bytes of the text field."""

    pages_in: int = 0
    pages_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    paragraphs_in: int = 0
    paragraphs_removed: int = 0
    docs_removed: int = 0
    ngrams: int = 0
    contained_ngrams: int = 0


@dataclass
class _Decision:
    """What the filter said about one document: removed unit indices (or the whole text) and n-gram counts."""

    removed_units: list[int]
    whole: bool = False
    contained: int = 0
    total: int = 0
    units: int = 1
    exact_duplicate: bool = False


def _utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _paragraph_windows(text: str) -> list[tuple[int, int]]:
    """BFF's paragraph windows in UTF-8 byte offsets: the text cut at every '\\n' (each '\\n' opens a unit)."""
    raw = text.encode("utf-8", "surrogatepass") if not text.isascii() else text.encode("ascii")
    cuts = np.flatnonzero(np.frombuffer(raw, dtype=np.uint8) == 10).tolist()
    bounds = [0, *cuts, len(raw)]
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def _drop_paragraphs(text: str, removed: list[int]) -> str:
    parts = text.split("\n")
    gone = set(removed)
    return "".join(("\n" + p if i else p) for i, p in enumerate(parts) if i not in gone)


class BffDeduper:
    """Runs BFF's per-document logic over batches of pages against one :class:`NgramFilter`.

    Decisions within a batch are sequential (document order), exactly as if pages arrived one by one; the batch
    only lets tokenizing and n-gram hashing run vectorized.
    """

    def __init__(self, params: BffParams, ngram_filter: NgramFilter) -> None:
        self.params = params
        self.filter = ngram_filter
        self._contains: Callable[[int], bool] = ngram_filter.bloom.__contains__
        self._update: Callable[[Iterable[int]], None] = ngram_filter.bloom.update

    # -- filter primitives -----------------------------------------------------------------------------------
    def _check(self, hashes: list[int]) -> tuple[int, list[bool]]:
        flags = list(map(self._contains, hashes))
        return flags.count(True), flags

    def _insert(self, hashes: list[int], flags: list[bool] | None = None) -> None:
        """Insert unless frozen; n-grams already found in the filter are skipped (their bits are all set)."""
        if self.params.no_update_bloom_filter or not hashes:
            return
        if flags is None or not any(flags):
            self._update(hashes)
        else:
            self._update(compress(hashes, map(operator.not_, flags)))

    # -- per mode ---------------------------------------------------------------------------------------------
    def _decide_units(self, ng: _Ngrams, unit_ranges: list[tuple[int, int]]) -> list[_Decision]:
        """paragraph / document / old-both: a unit goes when contained/total > threshold, else inserts its n-grams."""
        thr = self.params.filtering_threshold
        off = ng.offsets
        hashes = ng.hashes
        out = []
        for u0, u1 in unit_ranges:
            removed: list[int] = []
            contained = total = 0
            for u in range(u0, u1):
                a, b = off[u], off[u + 1]
                if a == b:
                    continue  # too short to check: always kept, never inserted
                grams = hashes[a:b]
                hits, flags = self._check(grams)
                contained += hits
                total += b - a
                if hits / (b - a) > thr:
                    removed.append(u - u0)
                else:
                    self._insert(grams, flags)
            out.append(_Decision(removed, contained=contained, total=total, units=u1 - u0))
        return out

    def _decide_both(self, batch: _TokenBatch, n_docs: int) -> list[_Decision]:
        """both: n-grams run across paragraphs; the whole document goes when contained/total >= threshold,
        otherwise each paragraph goes when the n-grams lying inside it are >= threshold contained. Surviving
        paragraphs insert their n-grams; a cross-paragraph n-gram is inserted when no paragraph it touches went."""
        p = self.params
        ng = _unit_ngrams(batch.hashes, batch.document, n_docs, p.min_ngram_size, p.max_ngram_size)
        thr = p.filtering_threshold
        para = batch.paragraph
        out = []
        for d in range(n_docs):
            a, b = ng.offsets[d], ng.offsets[d + 1]
            p0, p1 = batch.doc_paragraphs[d], batch.doc_paragraphs[d + 1]
            if a == b:
                out.append(_Decision([], units=p1 - p0))
                continue
            grams = ng.hashes[a:b]
            hits, flags = self._check(grams)
            if hits / (b - a) >= thr:
                out.append(_Decision([], whole=True, contained=hits, total=b - a, units=p1 - p0))
                continue
            n_par = p1 - p0
            starts = ng.starts[a:b]
            if starts[0] < 0:  # a short document's single n-gram counts at document level only
                removed: list[int] = []
                keep = [True]
            else:
                first = para[starts] - p0
                last = para[starts + p.max_ngram_size - 1] - p0
                inside = first == last
                tot = np.bincount(first[inside], minlength=n_par)
                con = np.bincount(first[inside & np.array(flags, dtype=bool)], minlength=n_par)
                gone = (tot > 0) & (con / np.maximum(tot, 1) >= thr)
                removed = np.flatnonzero(gone).tolist()
                cum = np.concatenate([[0], np.cumsum(gone)])
                keep = ((cum[last + 1] - cum[first]) == 0).tolist()  # no removed paragraph in [first, last]
            self._insert(list(compress(grams, keep)), list(compress(flags, keep)))
            out.append(_Decision(removed, contained=hits, total=b - a, units=n_par))
        return out

    def _decide_naive_both(self, batch: _TokenBatch, n_docs: int) -> list[_Decision]:
        """naive-both: the document check first (strict >); if the document stays, the paragraph pass decides,
        then the document's own n-grams are inserted as BFF's document pass would have done."""
        p = self.params
        doc_ng = _unit_ngrams(batch.hashes, batch.document, n_docs, p.min_ngram_size, p.max_ngram_size)
        par_ng = _unit_ngrams(
            batch.hashes, batch.paragraph, batch.doc_paragraphs[-1], p.min_ngram_size, p.max_ngram_size
        )
        thr = p.filtering_threshold
        out = []
        for d in range(n_docs):
            a, b = doc_ng.offsets[d], doc_ng.offsets[d + 1]
            p0, p1 = batch.doc_paragraphs[d], batch.doc_paragraphs[d + 1]
            grams = doc_ng.hashes[a:b]
            hits, flags = self._check(grams)
            if b > a and hits / (b - a) > thr:
                out.append(_Decision([], whole=True, contained=hits, total=b - a, units=p1 - p0))
                continue
            out.extend(self._decide_units(par_ng, [(p0, p1)]))
            self._insert(grams)
        return out

    def _decide_exact(self, texts: list[str]) -> list[_Decision]:
        out = []
        for text in texts:
            digest = blake2b(
                text.encode("utf-8", "surrogatepass"), digest_size=8, person=b"bff-exact"
            ).digest()
            key = int.from_bytes(digest, "little")
            if self._contains(key):
                out.append(_Decision([], whole=True, exact_duplicate=True))
            else:
                if not self.params.no_update_bloom_filter:
                    self.filter.bloom.add(key)
                out.append(_Decision([]))
        return out

    def decide(self, texts: list[str]) -> list[_Decision]:
        """Filter decisions for consecutive documents (updates the filter as it goes)."""
        p = self.params
        if p.remove_type == "exact":
            return self._decide_exact(texts)
        batch = _tokenize_batch(texts)
        n = len(texts)
        if p.remove_type == "both":
            return self._decide_both(batch, n)
        if p.remove_type == "naive-both":
            return self._decide_naive_both(batch, n)
        if p.remove_type == "document":
            ng = _unit_ngrams(batch.hashes, batch.document, n, p.min_ngram_size, p.max_ngram_size)
            return self._decide_units(ng, [(d, d + 1) for d in range(n)])
        dp = batch.doc_paragraphs
        ng = _unit_ngrams(batch.hashes, batch.paragraph, dp[-1], p.min_ngram_size, p.max_ngram_size)
        return self._decide_units(ng, [(dp[d], dp[d + 1]) for d in range(n)])

    # -- output ---------------------------------------------------------------------------------------------
    def apply(self, page: dict[str, Any], text: str, dec: _Decision) -> dict[str, Any]:
        """The output page for one decision, shaped as BFF writes it for this mode."""
        p = self.params
        mode = p.remove_type
        if mode == "exact":
            if dec.exact_duplicate:
                if p.annotate:
                    page["bff_exact_duplicate"] = True
                else:
                    page["text"] = ""
            return page
        if mode == "both" and dec.total == 0:
            return page  # BFF returns a too-short document untouched, without annotations
        if p.annotate:
            if dec.whole:
                spans = [[0, _utf8_len(text)]]
            elif mode == "document":
                spans = [[0, _utf8_len(text)]] if dec.removed_units else []
            else:
                windows = _paragraph_windows(text)
                spans = [list(windows[i]) for i in dec.removed_units]
            page["bff_duplicate_spans"] = spans
            page["bff_contained_ngram_count"] = dec.contained
            if mode == "old-both":
                for key in [k for k in page if k not in OLD_BOTH_ANNOTATE_KEYS]:
                    del page[key]
            return page
        if dec.whole:
            new_text = ""
        elif not dec.removed_units:
            new_text = text
        elif mode == "document":
            new_text = ""
        else:
            new_text = _drop_paragraphs(text, dec.removed_units)
        if mode == "old-both":
            if dec.total and dec.contained / dec.total > p.filtering_threshold:
                new_text = ""
            page["bff_contained_ngram_count_before_dedupe"] = dec.contained
        if mode == "both" and new_text:
            new_text = new_text.rstrip(WHITESPACE)  # BFF trims the end in this mode
        page["text"] = new_text
        return page


# ---------------------------------------------------------------------------------------------------------------
# Shard streaming and the engine entry point.


def _text_of(page: dict[str, Any], uri: str, line_no: int) -> str:
    text = page.get("text")
    if not isinstance(text, str):
        raise ValueError(f"{uri}:{line_no}: BFF needs a string 'text' field, got {type(text).__name__}")
    return text


def _batches(uri: str, storage: Storage) -> Iterator[list[tuple[dict[str, Any], str]]]:
    batch: list[tuple[dict[str, Any], str]] = []
    chars = 0
    for line_no, raw in iter_jsonl_lines(uri, storage):
        page = parse_jsonl_line(uri, line_no, raw)
        text = _text_of(page, uri, line_no)
        batch.append((page, text))
        chars += len(text)
        if len(batch) >= _PAGES_PER_BATCH or chars >= _CHARS_PER_BATCH:
            yield batch
            batch, chars = [], 0
    if batch:
        yield batch


def dedup_shard(deduper: BffDeduper, uri: str, out_uri: str, storage: Storage) -> ShardStats:
    """Stream one shard through the filter into ``out_uri``; pages whose text ends up blank are dropped."""
    stats = ShardStats()
    mode = deduper.params.remove_type

    def pages() -> Iterator[dict[str, Any]]:
        for batch in _batches(uri, storage):
            texts = [t for _, t in batch]
            for (page, text), dec in zip(batch, deduper.decide(texts), strict=True):
                stats.pages_in += 1
                stats.bytes_in += _utf8_len(text)
                stats.paragraphs_in += 1 if mode in ("document", "exact") else dec.units
                stats.ngrams += dec.total
                stats.contained_ngrams += dec.contained
                out = deduper.apply(page, text, dec)
                new_text = out.get("text", "")
                emptied = not new_text.strip(WHITESPACE)
                whole = dec.whole or (emptied and not deduper.params.annotate)
                stats.paragraphs_removed += dec.units if whole else len(dec.removed_units)
                if emptied:
                    stats.docs_removed += 1
                    continue
                stats.pages_out += 1
                stats.bytes_out += _utf8_len(new_text)
                yield out

    write_jsonl(pages(), out_uri, storage)
    return stats


def estimate_ngram_count(
    inputs: list[str], storage: Storage, min_ngram_size: int, max_ngram_size: int, sample_every: int = 16
) -> int:
    """Estimate of the n-grams in ``inputs``: total JSONL line bytes times n-grams per byte measured on every
    ``sample_every``-th page, plus 10%. Costs one decompress pass and tokenizing 1/``sample_every`` of the text."""
    total_bytes = sample_bytes = sample_ngrams = 0
    sample: list[str] = []
    sampled_raw = 0
    index = 0

    def flush() -> None:
        nonlocal sample_ngrams, sample
        if sample:
            batch = _tokenize_batch(sample)
            ng = _unit_ngrams(
                batch.hashes, batch.paragraph, batch.doc_paragraphs[-1], min_ngram_size, max_ngram_size
            )
            sample_ngrams += len(ng.hashes)
            sample = []

    for uri in inputs:
        for line_no, raw in iter_jsonl_lines(uri, storage):
            total_bytes += len(raw)
            if index % sample_every == 0:
                sample.append(_text_of(parse_jsonl_line(uri, line_no, raw), uri, line_no))
                sample_bytes += len(raw)
                sampled_raw += len(raw)
                if sampled_raw >= _CHARS_PER_BATCH:
                    flush()
                    sampled_raw = 0
            index += 1
    flush()
    if sample_bytes == 0:
        return 1
    return max(1, math.ceil(total_bytes * sample_ngrams / sample_bytes * 1.1))


def _output_uris(inputs: list[str], output_dir: str) -> list[str]:
    outs = [join_uri(output_dir, basename(u)) for u in inputs]
    seen: dict[str, str] = {}
    for uri, out in zip(inputs, outs, strict=True):
        if out in seen:
            raise ValueError(
                f"inputs {seen[out]} and {uri} would both be written to {out}: basenames must be unique"
            )
        seen[out] = uri
    return outs


@dataclass(frozen=True)
class _BffJob:
    inputs: list[str]
    output_dir: str
    storage: Storage
    params: BffParams
    expected_ngram_count: int | None
    fp_rate: float
    bloom_filter_file: str | None
    no_save_bloom_filter: bool


def _run_job(job: _BffJob) -> dict[str, dict[str, Any]]:
    """The whole sequential run: load or size the filter, stream every shard in order, save the filter."""
    storage = job.storage
    started = time.monotonic()
    ngram_filter: NgramFilter | None = None
    if job.bloom_filter_file and storage.exists(job.bloom_filter_file):
        ngram_filter = NgramFilter.from_bytes(
            storage.read_bytes(job.bloom_filter_file), job.bloom_filter_file
        )
        log.info("BFF: loaded filter %s (%d bytes)", job.bloom_filter_file, ngram_filter.size_in_bytes)
    else:
        expected = job.expected_ngram_count
        if expected is None:
            p = job.params
            expected = estimate_ngram_count(job.inputs, storage, p.min_ngram_size, p.max_ngram_size)
            log.info("BFF: estimated %d n-grams in the inputs", expected)
        ngram_filter = NgramFilter.create(expected, job.fp_rate)
    deduper = BffDeduper(job.params, ngram_filter)
    results: dict[str, dict[str, Any]] = {}
    for uri, out_uri in zip(job.inputs, _output_uris(job.inputs, job.output_dir), strict=True):
        stats = dedup_shard(deduper, uri, out_uri, storage)
        results[uri] = {
            **asdict(stats),
            "output": out_uri,
            "remove_type": job.params.remove_type,
            "bloom_filter_bytes": ngram_filter.size_in_bytes,
        }
    if job.bloom_filter_file and not job.params.no_update_bloom_filter and not job.no_save_bloom_filter:
        storage.write_bytes(job.bloom_filter_file, ngram_filter.to_bytes())
    total_in = sum(r["bytes_in"] for r in results.values())
    total_out = sum(r["bytes_out"] for r in results.values())
    log.info(
        "BFF: %d shards, %d -> %d text bytes (%.2f%% removed) in %.1fs; filter %d bytes, ~%.0f items",
        len(results), total_in, total_out, 100.0 * (total_in - total_out) / max(total_in, 1),
        time.monotonic() - started, ngram_filter.size_in_bytes, ngram_filter.bloom.approx_items,
    )  # fmt: skip
    return results


def run_bff(
    inputs: list[str],
    output_dir: str,
    storage: Storage | None = None,
    *,
    fp_rate: float,
    expected_ngram_count: int | None = None,
    min_ngram_size: int = 20,
    max_ngram_size: int = 20,
    filtering_threshold: float = 0.8,
    remove_type: str = "paragraph",
    annotate: bool = False,
    no_update_bloom_filter: bool = False,
    bloom_filter_file: str | None = None,
    no_save_bloom_filter: bool = False,
    use_ray: bool | None = None,
) -> dict[str, dict[str, Any]]:
    """Deduplicate ``inputs`` (in the given order) into ``output_dir`` with one shared n-gram Bloom filter.

    ``expected_ngram_count=None`` sizes a new filter from :func:`estimate_ngram_count` (ignored when
    ``bloom_filter_file`` exists and is loaded). ``bloom_filter_file`` (local path or s3:// URI) is loaded if it
    exists and saved at the end unless ``no_update_bloom_filter`` / ``no_save_bloom_filter``. The run is one
    sequential process: a single Ray task when Ray is initialized (``use_ray=None``), else this process.
    Returns per input: pages/bytes/paragraphs in and out, documents removed, n-grams checked and contained.
    """
    storage = storage or Storage()
    params = BffParams(
        min_ngram_size, max_ngram_size, filtering_threshold, remove_type, annotate, no_update_bloom_filter
    )
    if expected_ngram_count is not None:
        _check_filter_args(expected_ngram_count, fp_rate)
    elif not 0.0 < fp_rate < 1.0:
        raise ValueError(f"fp_rate must be in (0, 1), got {fp_rate!r}")
    inputs = list(inputs)
    _output_uris(inputs, output_dir)
    job = _BffJob(
        inputs,
        output_dir,
        storage,
        params,
        expected_ngram_count,
        fp_rate,
        bloom_filter_file,
        no_save_bloom_filter,
    )
    if use_ray is None:
        import ray

        use_ray = ray.is_initialized()
    if use_ray and inputs:
        from dclm_resources.compute import map_tasks

        return map_tasks(_run_job, [job], desc="bff", progress=False, max_retries=0)[0]
    return _run_job(job)


@global_step("bff_dedup")
def bff_dedup(
    inputs: list[str],
    output_dir: str,
    storage: Storage,
    *,
    fp_rate: float,
    expected_ngram_count: int | None = None,
    min_ngram_size: int = 20,
    max_ngram_size: int = 20,
    filtering_threshold: float = 0.8,
    remove_type: str = "paragraph",
    annotate: bool = False,
    no_update_bloom_filter: bool = False,
    bloom_filter_file: str | None = None,
    no_save_bloom_filter: bool = False,
) -> dict[str, dict[str, Any]]:
    """Pipeline step ``bff_dedup``: :func:`run_bff` over the step's shards (one Ray task, shards in order)."""
    return run_bff(
        inputs,
        output_dir,
        storage,
        fp_rate=fp_rate,
        expected_ngram_count=expected_ngram_count,
        min_ngram_size=min_ngram_size,
        max_ngram_size=max_ngram_size,
        filtering_threshold=filtering_threshold,
        remove_type=remove_type,
        annotate=annotate,
        no_update_bloom_filter=no_update_bloom_filter,
        bloom_filter_file=bloom_filter_file,
        no_save_bloom_filter=no_save_bloom_filter,
    )
