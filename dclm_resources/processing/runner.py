"""Run a pipeline over a pool on Ray, as DCLM's ``ray_processing/process.py`` does, resumably.

Steps are grouped into chunks (runs of local steps; each global step alone). A local chunk is one Ray task
per shard (:func:`process_shard`, which resumes from the shard's stats file); a global chunk calls the
registered global step on all shards, then records its per-shard stats line so later chunks skip past it.
``global_stats.jsonl`` gets one DCLM row per chunk, rewritten atomically after each; on a rerun, finished chunks
are skipped and a chunk's failed shards are retried.

Layout decision: the output folder *is* DCLM's ``base_output_path`` (DCLM uses ``<output_dir>/<config stem>``);
the asset gives each dataset its own folder, so the extra level would only be noise. Global steps write to
``<base>/working/<NN>_<step>/``; if a global step ends the pipeline, its outputs are copied to
``processed_data/`` so the dataset is always ``<base>/processed_data/<shard>_processed.<ext>``.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dclm_resources.compute import map_tasks
from dclm_resources.layout import check_dataset_name
from dclm_resources.pools.rawpool import SourceError, resolve_inputs
from dclm_resources.pools.reference import read_reference_inputs
from dclm_resources.processing.pipeline import Chunk, Pipeline, load_pipeline
from dclm_resources.processing.registry import get_global_step
from dclm_resources.processing.run_summary import RunSummary, collect_shard, summarize, untokenized_reference
from dclm_resources.processing.shard import process_shard
from dclm_resources.processing.shard_files import (
    CONTROL_LINES,
    copy_file,
    dumps_line,
    output_ext,
    record_global_step,
    shard_name_for,
    shard_paths,
)
from dclm_resources.storage import JSONL_SUFFIXES, Storage, basename, join_uri, read_jsonl
from dclm_resources.storage.base import StorageNotFoundError

log = logging.getLogger(__name__)
SAMPLE_SHARDS = 16  # shards that keep removed-page samples (bounds driver memory on huge pools)
_OUTPUT_DIRS = ("processed_data", "stats", "quarantine", "working")


class ProcessingFailed(RuntimeError):
    """Some shards failed; ``failed`` maps shard name to its error. Rerun to retry just those shards."""

    def __init__(self, chunk: str, failed: dict[str, str], global_stats_uri: str) -> None:
        self.failed = failed
        shown = "; ".join(f"{k}: {v}" for k, v in list(failed.items())[:5])
        more = f" (+{len(failed) - 5} more)" if len(failed) > 5 else ""
        super().__init__(f"chunk {chunk}: {len(failed)} shard(s) failed: {shown}{more}. "
                         f"Details in {global_stats_uri}; rerun to retry only the failed shards.")


@dataclass(frozen=True)
class Shard:
    name: str
    raw_uri: str
    ext: str


@dataclass
class _TaskResult:
    name: str
    ok: bool
    error: str = ""
    step_lines: list[dict[str, Any]] | None = None
    samples: dict[int, list[dict[str, Any]]] | None = None


def process_dataset(
    config_path: str,
    source_name: str,
    inputs: str | list[str],
    output_dir: str,
    storage: Storage | None = None,
    *,
    readable_name: str | None = None,
    overwrite: bool = False,
    ignore_failures: bool = False,
    allow_custom: bool = False,
    num_shards: int | None = None,
    progress: bool = True,
    task_cpus: float = 1,
    allow_all_errors: bool = False,
    require_text: bool = True,
    resource_dirs: Sequence[str] = (),
) -> RunSummary:
    """Filter ``inputs`` (shard URIs, or a folder / prefix / raw-source reference JSON) into ``output_dir``.

    Ray must already be initialized (the Ray resource or ``ray_session``). Raises :class:`ProcessingFailed`
    after recording the failed shards unless ``ignore_failures``; a rerun resumes where this one stopped.
    ``allow_all_errors`` keeps a step that raised on every page of a shard from failing it (DCLM fails it);
    ``require_text`` quarantines raw lines without a string ``text``. ``resource_dirs`` are searched for the
    banlists and models the YAML names by relative path (see ``resource_paths``).
    """
    storage = storage if storage is not None else Storage()
    pipeline = load_pipeline(  # before any page
        config_path, source_name, storage, allow_custom=allow_custom, resource_dirs=resource_dirs
    )
    name = check_dataset_name(readable_name or basename(output_dir))
    skipped: list[str] = []
    shards, sources = resolve_shards(inputs, storage, num_shards, skipped=skipped)
    if skipped:
        log.warning("%d file(s) in the input are not JSONL shards and were skipped: %s%s", len(skipped),
                    ", ".join(skipped[:10]), " ..." if len(skipped) > 10 else "")
    base = output_dir.rstrip("/") or output_dir
    gs_uri = join_uri(base, "global_stats.jsonl")
    if overwrite:
        _clear_outputs(base, storage)
    rows = list(read_jsonl(gs_uri, storage)) if storage.exists(gs_uri) else []
    current = {s.name: s.raw_uri for s in shards}  # each active shard's input for the next chunk
    failed: dict[str, str] = {}
    samples: dict[int, list[dict[str, Any]]] = {}
    executed = 0
    options = {"allow_all_errors": allow_all_errors, "require_text": require_text}
    for chunk in pipeline.chunks:
        row = rows[chunk.index] if chunk.index < len(rows) and rows[chunk.index].get("name") == chunk.name else None
        errors: dict[str, str] = {}
        if row is not None and (not row.get("num_failures") or ignore_failures):
            failed.update({s: "failed in an earlier run" for s in row.get("failed_shards", [])})
        else:
            if chunk.is_global:
                row = _run_global(chunk, current, base, storage, progress)
            else:
                retry = set(row["failed_shards"]) if row is not None else None
                row, errors = _run_local(chunk, pipeline, shards, current, retry, row, base, storage,
                                         progress, task_cpus, samples, options)
                failed.update(errors)
            executed += 1
            rows[chunk.index:] = [row]  # a chunk that ran invalidates the rows after it
            _write_rows(gs_uri, rows, storage)
            if errors and not ignore_failures:
                raise ProcessingFailed(f"{chunk.index} ({chunk.name})", errors, gs_uri)
        current = _next_inputs(chunk, current, row, shards, base, storage)
    if pipeline.chunks and pipeline.chunks[-1].is_global:
        for shard in shards:
            if shard.name in current:
                copy_file(storage, current[shard.name], shard_paths(base, shard.name, shard.ext).output)

    summary = RunSummary(base, join_uri(base, "processed_data") + "/", None, gs_uri, len(shards),
                         chunks=rows, executed_chunks=executed, failed_shards=failed, skipped_inputs=skipped)
    items = [(s.name, s.raw_uri, p.stats, p.output) for s in shards if s.name not in failed
             for p in [shard_paths(base, s.name, s.ext)]]
    totals = map_tasks(collect_shard, items, desc="collect stats", progress=progress, extra_args=(storage,))
    summarize(summary, totals, [s.func for s in pipeline.positioned_steps], samples)
    summary.reference_uri = _write_reference(base, name, summary, shards, sources, storage, overwrite)
    return summary


def resolve_shards(
    inputs: str | list[str], storage: Storage, num_shards: int | None = None, skipped: list[str] | None = None
) -> tuple[list[Shard], list[dict[str, Any]]]:
    """Shard list (named by their path below the inputs' common folder, as DCLM does) and the DCLM sources.

    Files in an input folder that are neither JSONL nor WARC are appended to ``skipped`` (when given).
    """
    entries = [inputs] if isinstance(inputs, str) else list(inputs)
    uris: list[str] = []
    sources: list[dict[str, Any]] = []
    for entry in entries:
        if entry.endswith(".json"):
            record, _ = read_reference_inputs(entry, storage)
            sources.append({"uuid": record.get("uuid"), "name": record.get("name")})
        uris.extend(resolve_inputs(entry, storage, skipped))
    warcs = [u for u in uris if not u.endswith(JSONL_SUFFIXES)]
    if warcs:
        raise SourceError(f"{warcs[0]}: processing needs JSONL shards; extract WARC files first (dclm raw-pool)")
    if num_shards is not None:
        uris = uris[:num_shards]
    if not uris:
        raise SourceError(f"{entries}: no input shards")
    root = _common_dir(uris)
    shards = [Shard(shard_name_for(u[len(root):].lstrip("/") if root else basename(u)), u, output_ext(u))
              for u in uris]
    dupes = [n for n, c in Counter(s.name for s in shards).items() if c > 1]
    if dupes:
        raise SourceError(f"several input files map to shard name {dupes[0]!r} (e.g. .jsonl and .jsonl.zst)")
    return shards, sources


def _common_dir(uris: list[str]) -> str:
    parts = [u.split("/")[:-1] for u in uris]
    common: list[str] = []
    for level in zip(*parts, strict=False):
        if any(p != level[0] for p in level):
            break
        common.append(level[0])
    return "/".join(common)


def _local_task(item: tuple[str, str, bool], pipeline: Pipeline, base: str, storage: Storage,
                options: dict[str, Any]) -> _TaskResult:
    """Ray task: one shard through one local chunk; errors come back as data so one shard cannot stop all."""
    name, uri, want_samples = item
    try:
        result = process_shard(pipeline, uri, base, storage, shard_name=name, chunk_start=options["start"],
                               allow_all_errors=options["allow_all_errors"], require_text=options["require_text"],
                               sample_removed=3 if want_samples else 0)
    except Exception as exc:  # noqa: BLE001 - reported per shard, as DCLM counts failures
        return _TaskResult(name, False, f"{type(exc).__name__}: {exc}")
    lines = [line for line in result.stats_lines if line["name"] not in CONTROL_LINES]
    return _TaskResult(name, True, step_lines=lines, samples=result.removed_samples)


def _run_local(chunk: Chunk, pipeline: Pipeline, shards: list[Shard], current: dict[str, str],
               retry: set[str] | None, row: dict[str, Any] | None, base: str, storage: Storage,
               progress: bool, task_cpus: float, samples: dict[int, list[dict[str, Any]]],
               options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    t0 = time.time()
    order = {s.name: i for i, s in enumerate(shards)}
    todo = [n for n in current if retry is None or n in retry]
    items = [(n, current[n], order[n] < SAMPLE_SHARDS) for n in todo]
    results = map_tasks(_local_task, items, desc=f"chunk {chunk.index} (local)", progress=progress,
                        num_cpus=task_cpus, extra_args=(pipeline, base, storage, {**options, "start": chunk.start}))
    errors = {r.name: r.error for r in results if not r.ok}
    pages_in = pages_out = 0
    for r in results:
        if not r.ok or not r.step_lines or len(r.step_lines) <= chunk.start:
            continue
        mine = r.step_lines[chunk.start:chunk.end]
        pages_in += int(mine[0].get("pages_in", 0))
        pages_out += int(mine[-1].get("pages_out", 0))
        for pos, found in (r.samples or {}).items():
            samples.setdefault(pos, []).extend(found[: 3 - len(samples.get(pos, []))])
    successes = len(results) - len(errors)
    failed_shards = sorted(errors, key=order.__getitem__)
    if row is None:
        row = {"name": "local", "secs": time.time() - t0, "num_successes": successes, "num_failures": len(errors),
               "pages_in": pages_in, "pages_out": pages_out, "working_dir": join_uri(base, "processed_data") + "/",
               "resumptions": 0, "failed_shards": failed_shards}
        return row, errors
    # A retry of the failed shards: DCLM updates the row in place and counts the resumption.
    row = {**row, "secs": row["secs"] + time.time() - t0, "num_successes": row["num_successes"] + successes,
           "num_failures": len(errors), "pages_in": row["pages_in"] + pages_in,
           "pages_out": row["pages_out"] + pages_out, "resumptions": row["resumptions"] + 1,
           "failed_shards": failed_shards}
    return row, errors


def _record_task(item: tuple[str, dict[str, Any]], position: int, storage: Storage) -> str:
    return record_global_step(item[0], storage, position, item[1])


def _run_global(chunk: Chunk, current: dict[str, str], base: str, storage: Storage,
                progress: bool) -> dict[str, Any]:
    t0 = time.time()
    (step,) = chunk.steps
    names = list(current)
    clash = [b for b, c in Counter(basename(current[n]) for n in names).items() if c > 1]
    if clash:
        raise SourceError(f"global step {step.func}: shard file name {clash[0]!r} occurs in several folders; "
                          "global steps need distinct file names")
    working = join_uri(base, "working", f"{chunk.index:02d}_{step.func}")
    per_input = get_global_step(step.func)([current[n] for n in names], working, storage, **step.params)
    items = []
    for n in names:
        stats = per_input.get(current[n])
        if stats is None:
            raise RuntimeError(f"global step {step.func} returned no stats for {current[n]}")
        items.append((shard_paths(base, n, output_ext(current[n])).stats, {"name": step.func, **stats}))
    map_tasks(_record_task, items, desc=f"chunk {chunk.index} ({step.func}) stats", progress=progress,
              extra_args=(chunk.start, storage))
    return {"name": step.func, "secs": time.time() - t0, "working_dir": working,
            "pages_in": sum(int(i[1].get("pages_in", 0)) for i in items),
            "pages_out": sum(int(i[1].get("pages_out", 0)) for i in items)}


def _next_inputs(chunk: Chunk, current: dict[str, str], row: dict[str, Any], shards: list[Shard], base: str,
                 storage: Storage) -> dict[str, str]:
    """Each still-active shard's file after ``chunk``; shards without one (empty, or failed) drop out."""
    failed = set(row.get("failed_shards", []))
    if chunk.is_global:
        candidates = {n: join_uri(row["working_dir"], basename(u)) for n, u in current.items()}
        listing = row["working_dir"]
    else:
        ext = {s.name: s.ext for s in shards}
        candidates = {n: shard_paths(base, n, ext[n]).output for n in current if n not in failed}
        listing = join_uri(base, "processed_data")
    try:
        present = {f.uri for f in storage.list_files(listing)}
    except StorageNotFoundError:
        present = set()
    return {n: u for n, u in candidates.items() if u in present}


def _write_rows(uri: str, rows: list[dict[str, Any]], storage: Storage) -> None:
    storage.write_text(uri, "".join(dumps_line(r) for r in rows))


def _clear_outputs(base: str, storage: Storage) -> None:
    """``overwrite``: forget the previous run's data, stats, quarantine and working files."""
    storage.delete(join_uri(base, "global_stats.jsonl"), missing_ok=True)
    for sub in (*_OUTPUT_DIRS, "processed_data/_pending"):
        folder = join_uri(base, sub)
        if storage.exists(folder):
            for info in storage.list_files(folder):
                storage.delete(info.uri, missing_ok=True)


def _write_reference(base: str, name: str, summary: RunSummary, shards: list[Shard],
                     sources: list[dict[str, Any]], storage: Storage, overwrite: bool) -> str:
    uri = join_uri(base, f"{name}.json")
    previous = None
    if not overwrite and storage.exists(uri):
        try:
            previous = json.loads(storage.read_text(uri))
        except ValueError:
            previous = None
    data_key = shards[0].ext if shards else "jsonl"
    record = untokenized_reference(name, summary.dataset_url, summary.bytes_out, data_key, sources, previous)
    storage.write_text(uri, json.dumps(record, indent=2) + "\n")
    return uri
