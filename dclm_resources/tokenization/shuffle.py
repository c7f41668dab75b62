"""Tokenize, mix and globally shuffle JSONL into open_lm shards on Ray: a two-stage shuffle through spill cells.

Design (after DCLM's ``tokshuf-rs``, ``dclm.md`` §4.2), chosen so memory stays bounded however large the pool:

1. One task per input file: pack the file as one stream (``pack_texts``; only its last context is padded), apply
   the source's sampling frequency, scatter the contexts over ``num_local_cells`` spill files
   (``<spill>/cell_C/file_F.npy``, int32 ``[n, seq_len + 1]``, written atomically). A task holds one file.
2. One task per cell: load the cell's spill files in file order, permute, write tars with ``ShardWriter``. A task
   holds one cell; ``num_local_cells`` defaults to what keeps a cell under ``cell_budget_bytes``.

Every random draw comes from a NumPy generator seeded by (seed, file index) or (seed, cell), and shard indices
are fixed from the per-cell counts before stage 2 starts, so the same seed and inputs give byte-identical shards
whatever order tasks finish in. Each cell ends in one short shard (as tokshuf-rs before its overflow rounds).
"""

from __future__ import annotations

import io
import math
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dclm_resources.compute import map_tasks
from dclm_resources.storage import (
    JsonlFormatError,
    Storage,
    basename,
    is_s3,
    iter_jsonl_lines,
    join_uri,
    parse_jsonl_line,
)
from dclm_resources.storage.compression import codec_for
from dclm_resources.storage.uris import local_path
from dclm_resources.tokenization.mixing import InputFile, MixingSpec, repeat_counts, resolve_inputs
from dclm_resources.tokenization.packing import DEFAULT_SEQ_LEN, PackStats, pack_texts
from dclm_resources.tokenization.shards import (
    DEFAULT_SEQUENCES_PER_SHARD,
    ShardRecord,
    ShardWriter,
    tokenized_dataset_reference,
    write_manifest,
    write_tokenized_reference,
)
from dclm_resources.tokenization.tokenizer import LoadedTokenizer, load_tokenizer

DEFAULT_CELL_BUDGET_BYTES = 512 << 20
SPILL_DIR = ".spill"
# Rough spill bytes per input byte: int32 tokens at ~3 text bytes per token; compressed inputs expand ~3.5x.
_SPILL_PER_TEXT_BYTE = 4 / 3
_COMPRESSED_EXPANSION = 3.5
_JSON_KINDS = {type(None): "null", bool: "a boolean", int: "a number", float: "a number", list: "an array",
               dict: "an object"}


@dataclass(frozen=True)
class _Config:
    tokenizer_path: str
    seq_len: int
    seed: int
    num_cells: int
    spill_uri: str
    content_key: str
    storage: Storage


@dataclass
class _FileResult:
    """What stage 1 reports for one file (small: counts only, the contexts are in the spill)."""

    stats: PackStats
    sequences: int
    tokens: int
    cell_counts: list[int]
    histogram: dict[int, int]


@dataclass
class SourceStats:
    """Per source: input size before sampling and what was realized in the shards (``tokens`` excludes PAD)."""

    frequency: float
    files: int = 0
    documents: int = 0
    input_tokens: int = 0
    sequences: int = 0
    tokens: int = 0


@dataclass
class TokenizeSummary:
    """Totals of one ``tokenize_shuffle`` run; ``tokens`` counts document tokens + EOT written (repeats included)."""

    output_uri: str
    manifest_uri: str
    reference_uri: str
    seq_len: int
    sequences: int
    tokens: int
    pad_tokens: int
    documents: int
    num_local_cells: int
    records: list[ShardRecord]
    per_source: dict[str, SourceStats]
    doc_length_histogram: dict[int, int]
    reference: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def shards(self) -> int:
        return len(self.records)

    @property
    def padding_fraction(self) -> float:
        total = self.tokens + self.pad_tokens
        return self.pad_tokens / total if total else 0.0


_TOKENIZERS: dict[str, LoadedTokenizer] = {}


def _tokenizer(path: str) -> LoadedTokenizer:
    """One load per worker process (tasks on a reused worker skip re-parsing tokenizer.json)."""
    if path not in _TOKENIZERS:
        _TOKENIZERS[path] = load_tokenizer(path)
    return _TOKENIZERS[path]


def _spill_file(cfg: _Config, cell: int, file_index: int) -> str:
    return join_uri(cfg.spill_uri, f"cell_{cell:06d}", f"file_{file_index:08d}.npy")


def length_histogram(lengths: np.ndarray) -> dict[int, int]:
    """Counts per power-of-two bucket: key ``b`` holds lengths in ``[b, 2b)``; key 0 holds empty documents."""
    lengths = np.asarray(lengths, dtype=np.int64)
    buckets = np.zeros(lengths.shape, dtype=np.int64)
    positive = lengths > 0
    buckets[positive] = 1 << (np.floor(np.log2(lengths[positive])).astype(np.int64))
    keys, counts = np.unique(buckets, return_counts=True)
    return {int(k): int(c) for k, c in zip(keys, counts, strict=True)}


def _doc_lengths(contexts: np.ndarray, eot: int, pad: int) -> np.ndarray:
    """Token lengths (without EOT) of the documents in one packed stream."""
    flat = contexts.ravel()
    flat = flat[flat != pad]
    ends = np.flatnonzero(flat == eot)
    return np.diff(np.concatenate([[-1], ends])) - 1


def _texts(uri: str, key: str, storage: Storage) -> Iterator[str]:
    """The documents of one file; a page whose ``key`` is missing or not a string fails naming ``file:line``.

    Tokenizing ``str(None)`` or an empty stand-in would put garbage in the shards without a trace (processing
    quarantines such lines; its output never holds them), so here they are an error, not a guess.
    """
    for line_no, raw in iter_jsonl_lines(uri, storage):
        page = parse_jsonl_line(uri, line_no, raw)
        text = page.get(key)
        if not isinstance(text, str):
            got = "nothing (key missing)" if key not in page else _JSON_KINDS.get(type(text), type(text).__name__)
            raise JsonlFormatError(uri, line_no, f"key {key!r} must be a string, got {got}")
        yield text


def _stage1(job: tuple[int, InputFile], cfg: _Config) -> _FileResult:
    """Pack one file, sample it, scatter it over the cells' spill files."""
    index, item = job
    tok = _tokenizer(cfg.tokenizer_path)
    stats = PackStats()
    texts = _texts(item.uri, cfg.content_key, cfg.storage)
    packed = list(pack_texts(texts, tok, cfg.seq_len, stats=stats))
    width = cfg.seq_len + 1
    contexts = np.stack(packed) if packed else np.empty((0, width), dtype=np.int32)
    del packed
    histogram = length_histogram(_doc_lengths(contexts, tok.eot_id, tok.pad_id))
    rng = np.random.default_rng([cfg.seed, index, 1])
    order = np.repeat(np.arange(len(contexts)), repeat_counts(len(contexts), item.frequency, rng))
    cells = rng.integers(cfg.num_cells, size=order.size)
    real = (contexts != tok.pad_id).sum(axis=1)
    counts = np.bincount(cells, minlength=cfg.num_cells)
    for cell in np.flatnonzero(counts):
        buf = io.BytesIO()
        np.save(buf, contexts[order[cells == cell]], allow_pickle=False)
        with cfg.storage.atomic_writer(_spill_file(cfg, int(cell), index)) as fh:
            fh.write(buf.getbuffer())
    return _FileResult(stats, int(order.size), int(real[order].sum()), counts.tolist(), histogram)


def _load_spill(uri: str, storage: Storage) -> np.ndarray:
    if is_s3(uri):
        return np.load(io.BytesIO(storage.read_bytes(uri)), allow_pickle=False)
    return np.load(local_path(uri), allow_pickle=False)


def _stage2(
    job: tuple[int, int, list[int]], cfg: _Config, output_uri: str, per_shard: int
) -> list[ShardRecord]:
    """Shuffle one cell and write its shards starting at the precomputed shard index.

    The spill stays until every cell is done, so a retried task (worker death) still finds its input.
    """
    cell, first_index, file_indices = job
    uris = [_spill_file(cfg, cell, i) for i in file_indices]
    data = np.concatenate([_load_spill(uri, cfg.storage) for uri in uris])
    perm = np.random.default_rng([cfg.seed, cell, 2]).permutation(len(data))
    writer = ShardWriter(output_uri, cfg.storage, per_shard, first_index=first_index)
    return writer.write(data[i] for i in perm)


def estimate_spill_bytes(files: Sequence[InputFile], storage: Storage) -> int:
    """A rough upper guess of the int32 spill size, from input file sizes and frequencies."""
    total = 0.0
    for item in files:
        expansion = _COMPRESSED_EXPANSION if codec_for(item.uri) else 1.0
        total += storage.size(item.uri) * expansion * _SPILL_PER_TEXT_BYTE * max(item.frequency, 0.0)
    return int(total)


def _clear(uri: str, suffixes: tuple[str, ...], storage: Storage, recursive: bool) -> None:
    if storage.exists(uri):
        for info in storage.list_files(uri, suffixes=suffixes, recursive=recursive):
            storage.delete(info.uri, missing_ok=True)


def tokenize_shuffle(
    inputs: Sequence[str] | MixingSpec,
    output_uri: str,
    tokenizer: str | LoadedTokenizer,
    storage: Storage | None = None,
    *,
    seq_len: int = DEFAULT_SEQ_LEN,
    sequences_per_shard: int = DEFAULT_SEQUENCES_PER_SHARD,
    seed: int = 0,
    num_local_cells: int | None = None,
    cell_budget_bytes: int = DEFAULT_CELL_BUDGET_BYTES,
    spill_uri: str | None = None,
    content_key: str = "text",
    name: str | None = None,
    progress: bool = True,
) -> TokenizeSummary:
    """Tokenize + pack + mix + globally shuffle ``inputs`` into ``output_uri`` (tars, manifest, reference JSON).

    Needs Ray initialized (``ray_session`` or the Dagster Ray resource). Existing tars in ``output_uri`` are
    replaced. ``spill_uri`` defaults to the hidden ``<output_uri>/.spill`` (reachable from every node, and
    skipped by listings), removed at the end.
    """
    storage = storage or Storage()
    tok = tokenizer if isinstance(tokenizer, LoadedTokenizer) else load_tokenizer(tokenizer)
    files = resolve_inputs(inputs, storage)
    if num_local_cells is None:
        num_local_cells = max(1, math.ceil(estimate_spill_bytes(files, storage) / cell_budget_bytes))
    if num_local_cells < 1:
        raise ValueError(f"num_local_cells must be positive, got {num_local_cells}")
    spill_uri = spill_uri or join_uri(output_uri, SPILL_DIR)
    cfg = _Config(str(tok.path), seq_len, seed, num_local_cells, spill_uri, content_key, storage)
    _clear(spill_uri, (".npy",), storage, recursive=True)
    _clear(output_uri, (".tar",), storage, recursive=False)
    storage.makedirs(output_uri)

    t0 = time.perf_counter()
    results = map_tasks(
        _stage1, list(enumerate(files)), desc="tokenize", progress=progress, extra_args=(cfg,)
    )
    t1 = time.perf_counter()
    jobs: list[tuple[int, int, list[int]]] = []
    next_index = 0
    for cell in range(num_local_cells):
        holders = [i for i, r in enumerate(results) if r.cell_counts[cell]]
        count = sum(results[i].cell_counts[cell] for i in holders)
        if count:
            jobs.append((cell, next_index, holders))
            next_index += math.ceil(count / sequences_per_shard)
    shard_lists = map_tasks(
        _stage2, jobs, desc="shuffle", progress=progress, extra_args=(cfg, output_uri, sequences_per_shard)
    )
    t2 = time.perf_counter()
    _clear(spill_uri, (".npy",), storage, recursive=True)
    if not is_s3(spill_uri):
        shutil.rmtree(local_path(spill_uri), ignore_errors=True)
    records = sorted((r for rs in shard_lists for r in rs), key=lambda r: r.shard)
    manifest_uri = write_manifest(output_uri, records, storage)

    per_source: dict[str, SourceStats] = {}
    histogram: dict[int, int] = {}
    for item, res in zip(files, results, strict=True):
        src = per_source.setdefault(item.source, SourceStats(frequency=item.frequency))
        src.files += 1
        src.documents += res.stats.documents
        src.input_tokens += res.stats.tokens
        src.sequences += res.sequences
        src.tokens += res.tokens
        for bucket, n in res.histogram.items():
            histogram[bucket] = histogram.get(bucket, 0) + n
    sequences = sum(r.num_sequences for r in records)
    tokens = sum(s.tokens for s in per_source.values())
    dataset_name = name or basename(output_uri.rstrip("/")) or "tokenized"
    reference = tokenized_dataset_reference(
        dataset_name,
        output_uri,
        records,
        tok.name,
        seq_len=seq_len,
        sampling_yaml=inputs.raw if isinstance(inputs, MixingSpec) else None,
    )
    # Beside DCLM's keys: where the tokenizer file is, so a trainer or evaluator can load it offline by path.
    reference["tokenizer_path"] = str(tok.path)
    reference_uri = join_uri(output_uri, f"{dataset_name}.json")
    write_tokenized_reference(reference_uri, reference, storage)
    return TokenizeSummary(
        output_uri=output_uri,
        manifest_uri=manifest_uri,
        reference_uri=reference_uri,
        seq_len=seq_len,
        sequences=sequences,
        tokens=tokens,
        pad_tokens=sequences * (seq_len + 1) - tokens,
        documents=sum(r.stats.documents for r in results),
        num_local_cells=num_local_cells,
        records=records,
        per_source=per_source,
        doc_length_histogram=dict(sorted(histogram.items())),
        reference=reference,
        seconds={"tokenize_scatter": t1 - t0, "shuffle_write": t2 - t1},
    )


__all__ = ["SourceStats", "TokenizeSummary", "length_histogram", "tokenize_shuffle"]
