"""Process one shard through a pipeline the way DCLM's ``process_single_file`` does, crash-safely.

Behaviour kept from DCLM: the shard is loaded whole; steps run in YAML order, sequentially and in page order;
a ``commit`` writes the pages and appends the buffered stats lines; the stats file is the resume record (steps
it lists are skipped, a finished shard is a no-op); processing stops at a global step it has not done; a page
whose mapper raises is dropped and counted in ``errors``; a step that fails on every page raises.

Added: dropped and unreadable pages go to a quarantine file with the error, so nothing vanishes silently; and
each commit is crash-safe (see ``shard_files``): after a SIGKILL anywhere, a rerun yields byte-identical output.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dclm_resources.processing import registry
from dclm_resources.processing.pipeline import Pipeline, Step, resolve_aggregate
from dclm_resources.processing.shard_files import (
    CONTROL_LINES,
    ShardPaths,
    StatsFile,
    copy_file,
    load_pages,
    output_ext,
    recover_pending,
    remove_shard_outputs,
    rewrite_quarantine,
    shard_name_for,
    shard_paths,
)
from dclm_resources.storage import Storage, basename, write_jsonl

SAMPLE_TEXT_CHARS = 300
_TIME_FORMAT = "%d/%m/%Y %H:%M:%S"
Page = dict[str, Any]


@dataclass
class ShardResult:
    """What one call did, plus the shard's committed stats lines (the runner derives its counts from them)."""

    shard_name: str
    input_uri: str
    paths: ShardPaths
    stats_lines: list[dict[str, Any]]
    wrote_output: bool
    executed_steps: int = 0
    skipped_steps: int = 0
    removed_samples: dict[int, list[dict[str, Any]]] = field(default_factory=dict)


@dataclass
class _Run:
    """Mutable state of one call: the pages, the uncommitted stats lines and quarantine entries."""

    pipeline: Pipeline
    paths: ShardPaths
    storage: Storage
    stats: StatsFile
    source: str
    pages: list[Page]
    start: int  # step lines already committed when the pages were read
    buffer: list[dict[str, Any]] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)  # every entry of this call
    commits: int = 0


def process_shard(
    pipeline: Pipeline,
    input_uri: str,
    base_output_path: str,
    storage: Storage | None = None,
    *,
    shard_name: str | None = None,
    chunk_start: int = 0,
    overwrite: bool = False,
    allow_all_errors: bool = False,
    require_text: bool = True,
    sample_removed: int = 0,
) -> ShardResult:
    """Run the steps of ``pipeline`` this shard has not committed yet, up to the next global step.

    ``input_uri`` holds the pages as they were after ``chunk_start`` step lines (the raw shard for the first
    chunk, a global step's output later). If the stats file shows progress past that, the committed output is
    read instead. ``require_text`` quarantines raw lines without a string ``text`` (only at position 0: split
    steps legitimately turn ``text`` into a list).
    """
    t_start = time.perf_counter()
    started_at = datetime.now().strftime(_TIME_FORMAT)
    storage = storage if storage is not None else Storage()
    name = shard_name or shard_name_for(basename(input_uri))
    paths = shard_paths(base_output_path, name, output_ext(input_uri))
    if overwrite:
        remove_shard_outputs(paths, storage)
    t0 = time.perf_counter()
    stats = StatsFile(paths.stats, storage)
    stats_load_secs = time.perf_counter() - t0
    done = len(stats.step_lines)
    _check_history(pipeline, stats)
    recover_pending(paths, storage, done)
    result = ShardResult(name, input_uri, paths, stats.lines, wrote_output=False)
    if not _has_work(pipeline, stats, done, chunk_start):
        result.skipped_steps = done
        return result

    source = paths.output if done > chunk_start else input_uri
    t0 = time.perf_counter()
    pages, bad = load_pages(source, storage, name, done, require_text and done == 0)
    load_secs = time.perf_counter() - t0
    if not pages and not bad:
        if chunk_start > 0 and source == input_uri:
            # A global step emptied this shard: its output must not keep the pages from before that step.
            write_jsonl([], paths.output, storage)
            result.wrote_output = True
        return result  # DCLM: an empty input shard is returned at once, nothing else written
    if done < chunk_start and pages:
        raise RuntimeError(
            f"{paths.stats}: records {done} steps but the input {input_uri} is for step {chunk_start}; "
            "the outputs are inconsistent (rerun with overwrite)"
        )
    run = _Run(pipeline, paths, storage, stats, source, pages, done, quarantine=bad)
    run.buffer.append({
        "name": "process_setup",
        "jsonl_load_secs": load_secs,
        "stats_load_secs": stats_load_secs,
        "jsonl_path": source,
        "source_name": pipeline.source_name,
        "output_path": paths.output,
        "stats_output_path": paths.stats,
        "workers": 1,
        "first_run": not stats.exists,
        "graceful_continuation": len(stats.lines) >= 4 and stats.graceful,
        "execution_start_time": started_at,
        "pages_quarantined": len(bad),
    })

    executed = skipped = 0
    dirty = bool(bad)  # an all-bad shard still commits, so its quarantine is recorded once
    early_exit = False
    for step in pipeline.steps:
        if step.is_commit:
            if dirty:
                _commit(run, write_data=True)
                dirty = False
            continue
        assert step.position is not None
        if step.position < done:
            skipped += 1
            continue
        if step.is_global:
            early_exit = True
            break
        if not run.pages:
            break
        samples = _run_step(run, step, allow_all_errors, sample_removed)
        if samples:
            result.removed_samples[step.position] = samples
        executed += 1
        dirty = True
        if not run.pages:
            break  # DCLM: no pages left, stop (the final commit still writes the empty shard)

    if executed or dirty or run.commits:
        run.buffer.append({
            "name": "process_finished",
            "total_secs": time.perf_counter() - t_start,
            "executed_steps": executed,
            "skipped_steps": skipped,
            "commit_steps": run.commits,
            "finished_processing": not early_exit,
            "execution_end_time": datetime.now().strftime(_TIME_FORMAT),
        })
        _commit(run, write_data=dirty)
        result.wrote_output = True
    result.stats_lines = run.stats.lines
    result.executed_steps, result.skipped_steps = executed, skipped
    return result


def _check_history(pipeline: Pipeline, stats: StatsFile) -> None:
    """The stats file must describe a prefix of this pipeline, or resuming would skip the wrong steps."""
    expected = pipeline.positioned_steps
    for i, line in enumerate(stats.step_lines):
        if i >= len(expected) or line["name"] != expected[i].func:
            want = expected[i].func if i < len(expected) else "(no such step)"
            raise RuntimeError(
                f"{stats.uri}: step line {i} is {line['name']!r} but the pipeline's step {i} is {want!r}; "
                "the pipeline changed since this shard was processed (rerun with overwrite)"
            )


def _has_work(pipeline: Pipeline, stats: StatsFile, done: int, chunk_start: int) -> bool:
    """False when the next step is a global one (or none is left): a rerun after completion reads nothing."""
    remaining = [s for s in pipeline.positioned_steps if s.position is not None and s.position >= done]
    if not remaining or remaining[0].is_global:
        return False
    # An input without one valid page is committed with zero step lines; reading it again would only
    # quarantine its lines a second time.
    return not (done == chunk_start and stats.graceful and _last_run_had_no_steps(stats))


def _last_run_had_no_steps(stats: StatsFile) -> bool:
    names = [line["name"] for line in stats.lines]
    if "process_setup" not in names:
        return False
    last = len(names) - 1 - names[::-1].index("process_setup")
    return all(n in CONTROL_LINES for n in names[last:])


def _run_step(run: _Run, step: Step, allow_all_errors: bool, sample_removed: int) -> list[dict[str, Any]]:
    """Apply one mapper to every page in order; update the pages, buffer its stats line, return samples."""
    t_step = time.perf_counter()
    mapper = registry.get_mapper(step.func, allow_custom=run.pipeline.allow_custom, **step.params)
    assert step.position is not None
    counts = [0, 0, 0]  # removed, kept, split (DCLM's index: min(len(result), 2))
    errors = 0
    secs = 0.0
    out: list[Page] = []
    samples: list[dict[str, Any]] = []
    pages_in = len(run.pages)
    for page in run.pages:
        before = dict(page)  # mappers modify pages in place; quarantine what the step was given
        t0 = time.perf_counter()
        try:
            produced = mapper(page)
            if not isinstance(produced, list) or not all(isinstance(p, dict) for p in produced):
                raise TypeError(f"mapper returned {type(produced).__name__}, expected a list of page dicts")
        except Exception as exc:  # noqa: BLE001 - DCLM's _safe: any mapper error drops the page
            secs += time.perf_counter() - t0
            errors += 1
            run.quarantine.append({"shard": run.paths.shard_name, "position": step.position, "step": step.func,
                                   "source": run.source, "error": repr(exc), "page": before})
            continue
        secs += time.perf_counter() - t0
        if len(produced) > 1:
            # Split pages often share values ({**page, ...}); writing and re-reading them (a commit, then a
            # resume) would unshare them, so later in-place edits must not see the sharing either.
            produced = [produced[0], *(copy.deepcopy(p) for p in produced[1:])]
        counts[min(len(produced), 2)] += 1
        if not produced and len(samples) < sample_removed:
            samples.append(_sample_view(page))
        out.extend(produced)
    if errors and errors == pages_in and not allow_all_errors:
        first = run.quarantine[-errors]["error"]  # so the cause shows without opening the quarantine file
        raise RuntimeError(f"Step {step.func} (step {step.index}) failed on all pages of {run.source}; "
                           f"first error: {first}")
    run.pages = out
    line: dict[str, Any] = {
        "name": step.func,
        "pages_in": pages_in,
        "pages_out": len(out),
        "secs": secs,
        "secs/page": secs / pages_in if pages_in else 0.0,
        "errors": errors,
        "removed": counts[0],
        "kept": counts[1],
        "split": counts[2],
        "total_secs": time.perf_counter() - t_step,
        "workers": 1,
    }
    for agg in step.aggregates:
        line[agg.key] = _aggregate(run.pages, agg, run.pipeline.allow_custom)
    run.buffer.append(line)
    return samples


def _aggregate(pages: list[Page], agg: Any, allow_custom: bool) -> dict[str, Any]:
    """DCLM's ``_aggregate``; a failure is recorded in the stats instead of failing the shard."""
    t0 = time.perf_counter()
    try:
        aggregator, transform = resolve_aggregate(agg, allow_custom)
        values = [p[agg.key] for p in pages if agg.key in p]
        if transform is not None:
            values = [transform(v) for v in values]
        result = aggregator(values)
        result = dict(result) if isinstance(result, dict) else {"value": result}
    except Exception as exc:  # noqa: BLE001
        result = {"error": repr(exc)}
    result["_secs"] = time.perf_counter() - t0
    return result


def _sample_view(page: Page) -> dict[str, Any]:
    metadata = page.get("metadata") if isinstance(page.get("metadata"), dict) else {}
    text = page.get("text", "")
    text = "\n".join(map(str, text)) if isinstance(text, list) else str(text)
    return {"url": page.get("url") or metadata.get("WARC-Target-URI", ""), "chars": len(text),
            "text": text[:SAMPLE_TEXT_CHARS]}


def _commit(run: _Run, write_data: bool) -> None:
    """Pending data, then quarantine, then the stats file (the commit point), then the output itself."""
    t0 = time.perf_counter()
    step_lines = len(run.stats.step_lines) + sum(1 for s in run.buffer if s["name"] not in CONTROL_LINES)
    pending = run.paths.pending(step_lines)
    if write_data:
        write_jsonl(run.pages, pending, run.storage)
    # Entries from before this call's read stay; this call's entries replace any a killed run left.
    rewrite_quarantine(run.paths, run.storage, run.start, run.quarantine)
    run.buffer.append({"name": "commit", "secs": time.perf_counter() - t0})
    run.stats.commit(run.buffer)
    if write_data:
        copy_file(run.storage, pending, run.paths.output)
        run.storage.delete(pending, missing_ok=True)
    run.buffer = []
    run.commits += 1
