"""Exact deduplication of content units across every shard: DCLM's ``exact_dedup`` global step.

A page's *units* are ``page[content_key]`` when that is a list (e.g. lines after ``split_lines_modifier``), else
the one value. Units whose md5 (of ``str(normalize(unit))``, or of the raw unit) is equal are duplicates: one is
kept and the others are deleted, pages left with no unit are dropped, and in a rewritten shard lists collapse back
to scalars when every remaining page has exactly one unit (DCLM's ``dedup_jsonl``). Shards without deletions
are copied byte for byte, as DCLM leaves them untouched.

Which copy survives is deterministic here (DCLM takes whatever order Ray's groupby yields): the first in the
global order (shard order as given, then page, then unit), or with ``selection_key`` the one with the smallest
(largest with ``selection_reverse``) selection value, ties going to the first in that order. NaN selection values
sort last.

It runs in three Ray phases: one task per shard hashes its units into compact numpy arrays (16-byte md5 as two
uint64, positions as ints), the keepers are resolved by sorting (split into hash partitions, one task each, for
large inputs), and one task per shard rewrites it. The driver holds ~24-32 bytes per unit between phases.
"""

from __future__ import annotations

import hashlib
import math
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dclm_resources.compute import map_tasks
from dclm_resources.processing.registry import global_step
from dclm_resources.storage import (
    Storage,
    basename,
    iter_jsonl_lines,
    join_uri,
    parse_jsonl_line,
    write_jsonl,
)

# Inputs above this many bytes (as stored) are resolved in hash partitions, one Ray task each.
PARTITION_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class ExactDedupParams:
    """The YAML step's keyword arguments, under DCLM's names."""

    content_key: str = "text"
    normalize: str | None = None
    selection_key: str | None = None
    selection_normalize: str | None = None
    selection_reverse: bool = False

    def normalizer(self) -> Callable[[Any], Any] | None:
        return _resolve_normalizer(self.normalize, "normalize")

    def selection_normalizer(self) -> Callable[[Any], Any] | None:
        return _resolve_normalizer(self.selection_normalize, "selection_normalize")


def _resolve_normalizer(name: str | None, param: str) -> Callable[[Any], Any] | None:
    """A DEDUP_NORMALIZERS entry by name. DCLM silently ignores unknown names; a typo here fails loudly."""
    if name is None:
        return None
    from dclm_resources.processing.text import DEDUP_NORMALIZERS

    try:
        return DEDUP_NORMALIZERS[name]
    except KeyError:
        raise ValueError(
            f"exact_dedup: unknown {param} {name!r}; known: {', '.join(sorted(DEDUP_NORMALIZERS))}"
        ) from None


def units_of(value: Any) -> list[Any]:
    """DCLM's split helper: a list is already a list of units, anything else is one unit."""
    return value if isinstance(value, list) else [value]


def unit_digest(unit: Any, normalize: Callable[[Any], Any] | None) -> bytes:
    """md5 of ``str(normalize(unit))`` (or of the unit itself), as DCLM computes the uid."""
    key = str(normalize(unit)) if normalize is not None else (unit if isinstance(unit, str) else str(unit))
    return hashlib.md5(key.encode("utf-8", "surrogatepass")).digest()


# ---------------------------------------------------------------------------------------------------------------
# Phase 1: one task per shard, units -> (uid, position, selection) arrays, split into hash partitions.


@dataclass
class _Keys:
    """Units of one shard (or one hash partition of it): md5 halves, page and unit index, selection value."""

    uid_hi: np.ndarray  # uint64
    uid_lo: np.ndarray  # uint64
    page: np.ndarray  # int64, index of the page in the shard (non-blank lines, file order)
    unit: np.ndarray  # int64, index of the unit in the page
    selection: np.ndarray | None  # float64 or object (str) per unit; None without selection_key

    def take(self, mask: np.ndarray) -> _Keys:
        sel = None if self.selection is None else self.selection[mask]
        return _Keys(self.uid_hi[mask], self.uid_lo[mask], self.page[mask], self.unit[mask], sel)


@dataclass
class _ShardScan:
    pages: int
    page_units: np.ndarray  # int64 units per page
    parts: list[_Keys] = field(default_factory=list)


def _selection_array(values: list[Any], uri: str) -> np.ndarray:
    """Numbers become float64 (bools too); strings stay strings; anything else cannot be ordered and fails."""
    if all(isinstance(v, (int, float)) for v in values):
        return np.asarray(values, dtype=np.float64)
    if all(isinstance(v, str) for v in values):
        return np.asarray(values, dtype=object)
    kinds = sorted({type(v).__name__ for v in values})
    raise TypeError(
        f"{uri}: exact_dedup selection values must be all numbers or all strings, got {', '.join(kinds)}"
    )


def _scan_shard(item: tuple[str, int], params: ExactDedupParams, storage: Storage) -> _ShardScan:
    uri, n_parts = item
    normalize = params.normalizer()
    sel_normalize = params.selection_normalizer()
    digests = bytearray()
    page_idx: list[int] = []
    unit_idx: list[int] = []
    page_units: list[int] = []
    selection: list[Any] = []
    for page_no, (line_no, raw) in enumerate(iter_jsonl_lines(uri, storage)):
        page = parse_jsonl_line(uri, line_no, raw)
        if params.content_key not in page:
            raise KeyError(f"{uri}:{line_no}: exact_dedup content_key {params.content_key!r} missing")
        units = units_of(page[params.content_key])
        page_units.append(len(units))
        for i, unit in enumerate(units):
            digests += unit_digest(unit, normalize)
            page_idx.append(page_no)
            unit_idx.append(i)
        if params.selection_key is not None and units:
            if params.selection_key not in page:
                raise KeyError(f"{uri}:{line_no}: exact_dedup selection_key {params.selection_key!r} missing")
            value = page[params.selection_key]
            if sel_normalize is not None:
                value = sel_normalize(value)
            selection.extend([value] * len(units))
    uid = np.frombuffer(bytes(digests), dtype="<u8").reshape(-1, 2)
    keys = _Keys(
        uid[:, 0].copy(),
        uid[:, 1].copy(),
        np.asarray(page_idx, dtype=np.int64),
        np.asarray(unit_idx, dtype=np.int64),
        _selection_array(selection, uri) if params.selection_key is not None else None,
    )
    part = keys.uid_lo % np.uint64(n_parts)
    parts = [keys.take(part == p) for p in range(n_parts)] if n_parts > 1 else [keys]
    return _ShardScan(len(page_units), np.asarray(page_units, dtype=np.int64), parts)


# ---------------------------------------------------------------------------------------------------------------
# Phase 2: keepers per hash partition.


def _selection_rank(values: list[np.ndarray], reverse: bool) -> np.ndarray:
    """One sortable float key for the selection values of every shard (strings ranked, reverse negated)."""
    values = [v for v in values if v.size]
    if len({v.dtype == object for v in values}) > 1:
        raise TypeError("exact_dedup selection values mix numbers and strings across shards")
    joined = np.concatenate(values) if values else np.zeros(0)
    if joined.dtype == object:
        _, rank = np.unique(joined.astype(str), return_inverse=True)
        key = rank.astype(np.float64)
    else:
        key = joined.astype(np.float64)
    return -key if reverse else key


def _resolve_partition(parts: list[_Keys], reverse: bool) -> list[np.ndarray]:
    """For each shard, the (page, unit) rows to delete: every member of a duplicate group except its keeper."""
    shard = np.concatenate([np.full(p.page.size, s, dtype=np.int64) for s, p in enumerate(parts)])
    page = np.concatenate([p.page for p in parts])
    unit = np.concatenate([p.unit for p in parts])
    hi = np.concatenate([p.uid_hi for p in parts])
    lo = np.concatenate([p.uid_lo for p in parts])
    keys = [unit, page, shard]
    if parts and parts[0].selection is not None:
        keys.append(_selection_rank([p.selection for p in parts], reverse))  # type: ignore[misc]
    order = np.lexsort((*keys, lo, hi))
    hi, lo = hi[order], lo[order]
    first = np.ones(order.size, dtype=bool)
    first[1:] = (hi[1:] != hi[:-1]) | (lo[1:] != lo[:-1])
    drop = order[~first]
    out = []
    for s in range(len(parts)):
        rows = drop[shard[drop] == s]
        out.append(
            np.stack([page[rows], unit[rows]], axis=1) if rows.size else np.zeros((0, 2), dtype=np.int64)
        )
    return out


# ---------------------------------------------------------------------------------------------------------------
# Phase 3: rewrite each shard.


@dataclass(frozen=True)
class _Rewrite:
    uri: str
    out_uri: str
    pages_in: int
    units_in: int
    deletions: np.ndarray  # (k, 2) int64 rows (page, unit)
    collapse: bool  # every remaining page has exactly one unit


def _rewrite_shard(job: _Rewrite, params: ExactDedupParams, storage: Storage) -> dict[str, Any]:
    stats: dict[str, Any] = {
        "pages_in": job.pages_in,
        "pages_out": job.pages_in,
        "content_key": params.content_key,
        "units_in": job.units_in,
        "units_removed": int(job.deletions.shape[0]),
    }
    if job.deletions.shape[0] == 0:
        with storage.open_read(job.uri) as src, storage.atomic_writer(job.out_uri) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)  # untouched, as DCLM leaves shards without duplicates
        return stats
    gone: dict[int, set[int]] = {}
    for page_no, unit_no in job.deletions.tolist():
        gone.setdefault(page_no, set()).add(unit_no)
    key = params.content_key

    def pages() -> Iterator[dict[str, Any]]:
        for page_no, (line_no, raw) in enumerate(iter_jsonl_lines(job.uri, storage)):
            page = parse_jsonl_line(job.uri, line_no, raw)
            units = units_of(page[key])
            drop = gone.get(page_no)
            if drop:
                units = [u for i, u in enumerate(units) if i not in drop]
            if not units:
                continue
            page[key] = units[0] if job.collapse else list(units)
            yield page

    stats["pages_out"] = write_jsonl(pages(), job.out_uri, storage)
    return stats


# ---------------------------------------------------------------------------------------------------------------
# Entry point.


def _partitions(inputs: list[str], storage: Storage, num_partitions: int | None) -> int:
    if num_partitions is not None:
        if num_partitions < 1:
            raise ValueError(f"num_partitions must be >= 1, got {num_partitions}")
        return num_partitions
    total = sum(storage.size(u) for u in inputs)
    return max(1, math.ceil(total / PARTITION_BYTES))


def _output_uris(inputs: list[str], output_dir: str) -> list[str]:
    outs = [join_uri(output_dir, basename(u)) for u in inputs]
    if len(set(outs)) != len(outs):
        dupes = sorted({basename(u) for u in inputs if sum(basename(v) == basename(u) for v in inputs) > 1})
        raise ValueError(
            f"exact_dedup: input basenames must be unique (outputs would collide): {', '.join(dupes)}"
        )
    return outs


@global_step("exact_dedup")
def exact_dedup(
    inputs: list[str],
    output_dir: str,
    storage: Storage,
    *,
    content_key: str = "text",
    normalize: str | None = None,
    selection_key: str | None = None,
    selection_normalize: str | None = None,
    selection_reverse: bool = False,
    num_partitions: int | None = None,
) -> dict[str, dict[str, Any]]:
    """Deduplicate units of ``content_key`` across all ``inputs`` (see the module docstring for the rules).

    ``num_partitions`` (not a DCLM knob) fixes how many hash partitions resolve keepers; by default one per
    512 MiB of input. Returns per input: pages_in, pages_out, content_key, units_in, units_removed.
    """
    params = ExactDedupParams(content_key, normalize, selection_key, selection_normalize, selection_reverse)
    params.normalizer()  # unknown normalizer names fail here, before any task starts
    params.selection_normalizer()
    inputs = list(inputs)
    if not inputs:
        return {}
    outs = _output_uris(inputs, output_dir)
    n_parts = _partitions(inputs, storage, num_partitions)
    scans: list[_ShardScan] = map_tasks(
        _scan_shard, [(u, n_parts) for u in inputs], desc="exact_dedup: hash", extra_args=(params, storage)
    )
    by_partition = [[scan.parts[p] for scan in scans] for p in range(n_parts)]
    if n_parts == 1:
        resolved = [_resolve_partition(by_partition[0], selection_reverse)]
    else:
        resolved = map_tasks(
            _resolve_partition, by_partition, desc="exact_dedup: resolve", extra_args=(selection_reverse,)
        )
    jobs = []
    for s, (uri, out_uri, scan) in enumerate(zip(inputs, outs, scans, strict=True)):
        deletions = np.concatenate([r[s] for r in resolved])
        deletions = deletions[np.lexsort((deletions[:, 1], deletions[:, 0]))]
        remaining = scan.page_units - np.bincount(deletions[:, 0], minlength=scan.pages)
        collapse = bool(np.all(remaining[remaining > 0] == 1))
        jobs.append(_Rewrite(uri, out_uri, scan.pages, int(scan.page_units.sum()), deletions, collapse))
    stats = map_tasks(_rewrite_shard, jobs, desc="exact_dedup: rewrite", extra_args=(params, storage))
    return dict(zip(inputs, stats, strict=True))
