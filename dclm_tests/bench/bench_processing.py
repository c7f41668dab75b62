"""Benchmark the heuristic processing engine on real pages, side by side with datatrove, and its scaling and memory.

Measured on the real pages under ``../shared/data/web/jsonl`` (C4 sample, 1000 pages, and Dolma's CC sample,
697 pages), shaped as DCLM-Pool pages (``text`` plus ``metadata["WARC-Target-URI"]``):

1. Throughput, one process: DCLM-Baseline's ``dclm_baseline_refinedweb.yaml`` step list without its two model
   steps (fastText LID enricher, language_filter): 24 steps, the four url_substring_filter steps included (a
   stand-in for the curated domain banlist is built from the UT1 sample's ``domains`` files; the other banlists
   come from ``wordlists/dclm_banlists``). Measured three ways on the same pages: the mappers alone (built once
   with ``get_mapper``, applied step by step to every page in order, as the shard processor applies them), the
   full ``process_shard`` path (JSONL read, stats, quarantine and output write), and datatrove's closest
   equivalent (GopherRepetitionFilter + GopherQualityFilter + C4QualityFilter, default settings and default
   English word tokenizer, chained over ``Document`` objects as datatrove's executor chains steps; that tokenizer
   is spaCy's blank English pipeline, so the comparison needs the ``spacy`` package but no download). Pages/s are
   input pages per second of CPU time (``time.process_time``, so per core) and of wall time; best of
   ``--repeats``.
2. Scaling: the same pipeline (a YAML in a temp dir) through ``process_dataset`` on Ray with 1 and then 2 worker
   CPUs (separate Ray sessions in fresh subprocesses), on ``--scale-shards`` shards of the real pages each;
   timed after a warm-up run (worker start-up is reported apart), best of ``--scale-repeats``.
3. Memory: peak RSS for a pool and for a pool 10x larger (same shard size): ``process_shard`` over every shard in
   turn in a fresh subprocess (its peak RSS, ``VmHWM``), and ``process_dataset`` on Ray with 2 workers in a fresh
   subprocess (the largest Ray worker RSS, sampled with psutil). Memory must be bounded by one shard per worker.

Prints a short ``#`` header, then one ``name: value`` figure per line.

    python -m dclm_tests.bench.bench_processing [--repeats 3] [--copies 1] [--scale-shards 8] [--scale-repeats 2]
        [--mem-shards 2] [--sections throughput,scaling,memory] [--skip-datatrove] [--skip-ray] [--keep DIR]
"""

from __future__ import annotations

import argparse
import copy
import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from dclm_resources.processing.pipeline import Pipeline, load_pipeline
from dclm_resources.processing.registry import PageFn, get_mapper
from dclm_resources.processing.resource_paths import RESOURCE_DIRS_ENV
from dclm_resources.processing.shard import process_shard
from dclm_resources.storage import write_jsonl
from dclm_tests.paths import REPO_ROOT, shared_data

SHIPPED_CONFIG = REPO_ROOT / "dclm_assets" / "configs" / "pipelines" / "dclm_baseline_refinedweb.yaml"
SOURCE = "cc"
MODEL_STEPS = frozenset({"detect_lang_whole_page_enricher", "language_filter"})
WARMUP_PAGES = 50
Page = dict[str, Any]


# ----------------------------------------------------------------------------------------------------------------
# inputs


def load_pages() -> list[Page]:
    """The C4 sample and Dolma's CC sample as DCLM-Pool pages: id, text and the WARC target URI in metadata."""
    pages: list[Page] = []
    c4 = shared_data("web", "jsonl", "c4_en_sample", "c4_sample.jsonl")
    with open(c4, encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            record = json.loads(line)
            pages.append({"id": f"c4-{i}", "text": record["text"],
                          "metadata": {"WARC-Target-URI": record["url"]}})
    for path in sorted(shared_data("web", "jsonl", "dolma_cc_2019_30").glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                record = json.loads(line)
                meta = record.get("metadata") or {}
                url = meta.get("warc_url") or meta.get("url") or ""
                pages.append({"id": record["id"], "text": record["text"], "metadata": {"WARC-Target-URI": url}})
    return pages


def copies_of(pages: list[Page], copies: int) -> list[Page]:
    """``copies`` repeats of ``pages`` with distinct ids (deep copies: the mappers modify pages in place)."""
    out = []
    for k in range(copies):
        for page in pages:
            out.append({**copy.deepcopy(page), "id": f"{k}-{page['id']}"})
    return out


def write_resources(folder: Path) -> list[str]:
    """Resource dirs for the YAML: DCLM's banlists, and a stand-in for the (not redistributable) curated domain
    banlist made from the UT1 sample's domain lists, under the file name DCLM's config uses."""
    folder.mkdir(parents=True, exist_ok=True)
    ut1 = shared_data("wordlists", "ut1_sample")
    domains = sorted({
        line.strip() for f in ut1.rglob("domains") for line in f.read_text(encoding="utf-8").splitlines()
        if line.strip()
    })
    (folder / "refinedweb_banned_domains_curated.txt").write_text("\n".join(domains) + "\n", encoding="utf-8")
    return [str(shared_data("wordlists", "dclm_banlists")), str(folder)]


def write_heuristic_config(path: Path) -> int:
    """The shipped DCLM-Baseline config without its model steps, as a YAML at ``path``; returns its step count."""
    data = yaml.safe_load(SHIPPED_CONFIG.read_text(encoding="utf-8"))
    (entry,) = [e for e in data if e["source"] == SOURCE]
    steps = [s for s in entry["steps"] if not (isinstance(s, dict) and s.get("func") in MODEL_STEPS)]
    dropped = len(entry["steps"]) - len(steps)
    if dropped != len(MODEL_STEPS):
        raise RuntimeError(f"{SHIPPED_CONFIG}: expected to drop {len(MODEL_STEPS)} model steps, dropped {dropped}")
    path.write_text(yaml.safe_dump([{"source": SOURCE, "steps": steps}], sort_keys=False), encoding="utf-8")
    return len(steps)


def write_shards(pages: list[Page], folder: Path, count: int, pages_per_shard: int | None = None) -> list[str]:
    """``count`` JSONL shards, each the real pages once (ids made distinct per shard), or their first N."""
    uris = []
    for k in range(count):
        shard = pages if pages_per_shard is None else pages[:pages_per_shard]
        uri = str(folder / f"shard_{k:04d}.jsonl")
        write_jsonl([{**p, "id": f"s{k}-{p['id']}"} for p in shard], uri)
        uris.append(uri)
    return uris


# ----------------------------------------------------------------------------------------------------------------
# 1. throughput


def build_mappers(pipeline: Pipeline) -> list[tuple[str, PageFn]]:
    return [(s.func, get_mapper(s.func, allow_custom=pipeline.allow_custom, **s.params))
            for s in pipeline.steps if not s.is_commit]


def run_mappers(mappers: list[tuple[str, PageFn]], pages: list[Page], step_cpu: list[float]) -> tuple[list[Page], int]:
    """Each mapper over every page in order, as ``process_shard`` applies a step (a raising page is dropped)."""
    errors = 0
    for i, (_, mapper) in enumerate(mappers):
        t0 = time.process_time()
        out: list[Page] = []
        for page in pages:
            try:
                out.extend(mapper(page))
            except Exception:  # noqa: BLE001 - the shard processor drops (quarantines) such a page
                errors += 1
        pages = out
        step_cpu[i] += time.process_time() - t0
        if not pages:
            break
    return pages, errors


def best_of(repeats: int, prepare: Callable[[], Any], run: Callable[[Any], Any]) -> tuple[float, float, Any]:
    """(best CPU seconds, best wall seconds, result of the last run) over ``repeats`` runs of ``run(prepare())``."""
    best_cpu = best_wall = float("inf")
    result = None
    for _ in range(repeats):
        arg = prepare()
        c0, w0 = time.process_time(), time.perf_counter()
        result = run(arg)
        best_cpu = min(best_cpu, time.process_time() - c0)
        best_wall = min(best_wall, time.perf_counter() - w0)
    return best_cpu, best_wall, result


def datatrove_steps() -> list[Any] | None:
    try:
        from datatrove.pipeline.filters import C4QualityFilter, GopherQualityFilter, GopherRepetitionFilter
    except ImportError:
        return None
    return [GopherRepetitionFilter(), GopherQualityFilter(), C4QualityFilter()]


def datatrove_tokenizer() -> str:
    """What datatrove's default English word tokenizer is, loaded (it must work offline)."""
    from datatrove.utils.typeshelper import Languages
    from datatrove.utils.word_tokenizers import load_word_tokenizer

    tok = load_word_tokenizer(Languages.english)
    tok.word_tokenize("Loading the tokenizer.")  # spaCy's blank English pipeline: no model download
    name = type(tok).__name__
    if name == "SpaCyTokenizer":
        import spacy

        return f"SpaCyTokenizer = spacy.blank('en') + sentencizer (spacy {spacy.__version__}, no download)"
    return name


def datatrove_documents(pages: list[Page]) -> list[Any]:
    from datatrove.data import Document

    return [Document(text=p["text"], id=p["id"], metadata=dict(p["metadata"])) for p in pages]


def run_datatrove(steps: list[Any], documents: list[Any]) -> list[Any]:
    """The filters chained over the Documents the way datatrove's executor pipes one step into the next."""
    data: Any = documents
    for step in steps:
        data = step(data, 0, 1)
    return list(data)


# ----------------------------------------------------------------------------------------------------------------
# children (fresh subprocesses): sequential process_shard, or process_dataset on Ray


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _peak_rss_mb() -> float:
    """This process's peak RSS since it started (``VmHWM``).

    Not ``ru_maxrss``: Linux carries it over fork and exec, so a child would report its parent's peak if larger.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_shards(spec: dict[str, Any]) -> dict[str, Any]:
    """process_shard over every shard in turn, in this (fresh) process: its peak RSS."""
    pipeline = load_pipeline(spec["config"], SOURCE, resource_dirs=spec["resource_dirs"])
    setup_rss = _rss_mb()
    pages_in = 0
    t0 = time.perf_counter()
    for uri in spec["inputs"]:
        result = process_shard(pipeline, uri, spec["output"], overwrite=True)
        steps = [line for line in result.stats_lines if "pages_in" in line]
        pages_in += int(steps[0]["pages_in"]) if steps else 0
    return {"wall_s": time.perf_counter() - t0, "pages_in": pages_in, "setup_rss_mb": setup_rss,
            "peak_rss_mb": _peak_rss_mb()}


class _WorkerRssSampler(threading.Thread):
    """Polls the RSS of this process's Ray worker processes (titled ``ray::…``); keeps each one's peak."""

    def __init__(self, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.peaks: dict[int, float] = {}
        self._is_worker: dict[int, bool] = {}
        self._halt = threading.Event()

    def run(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._halt.is_set():
            for proc in me.children(recursive=True):
                try:
                    if proc.pid not in self._is_worker:
                        # Workers retitle themselves "ray::IDLE" / "ray::<task>" once started (decided then);
                        # Ray's agents are "ray::*Agent".
                        title = " ".join(proc.cmdline())
                        if not title.startswith("ray::"):
                            continue
                        self._is_worker[proc.pid] = "Agent" not in title
                    if self._is_worker[proc.pid]:
                        rss = proc.memory_info().rss / 2**20
                        self.peaks[proc.pid] = max(self.peaks.get(proc.pid, 0.0), rss)
                except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                    continue
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def child_ray(spec: dict[str, Any]) -> dict[str, Any]:
    """process_dataset on a fresh local Ray with ``num_cpus`` CPUs: a warm-up run, then the timed run(s)."""
    from dclm_resources.compute import ray_session
    from dclm_resources.processing.runner import process_dataset

    out: dict[str, Any] = {}
    common = {"progress": False, "overwrite": True, "resource_dirs": spec["resource_dirs"]}
    t0 = time.perf_counter()
    with ray_session(num_cpus=spec["num_cpus"]):
        out["ray_init_s"] = time.perf_counter() - t0
        sampler = _WorkerRssSampler() if spec.get("sample_memory") else None
        if sampler is not None:
            sampler.start()
        if spec.get("warmup"):
            t0 = time.perf_counter()
            process_dataset(spec["config"], SOURCE, spec["warmup"], spec["output"] + "_warmup", **common)
            out["warmup_s"] = time.perf_counter() - t0
        out["wall_s"] = float("inf")
        for _ in range(spec.get("repeats", 1)):  # best of: the machine may be shared
            t0 = time.perf_counter()
            summary = process_dataset(spec["config"], SOURCE, spec["inputs"], spec["output"], **common)
            out["wall_s"] = min(out["wall_s"], time.perf_counter() - t0)
        if sampler is not None:
            sampler.stop()
            out["max_worker_rss_mb"] = max(sampler.peaks.values(), default=float("nan"))
            out["workers_seen"] = len(sampler.peaks)
    out["pages_in"] = int(summary.chunks[0].get("pages_in", 0)) if summary.chunks else 0
    out["pages_out"] = int(summary.chunks[-1].get("pages_out", 0)) if summary.chunks else 0
    out["driver_peak_rss_mb"] = _peak_rss_mb()
    return out


def spawn_child(spec: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """Run ``spec`` in a fresh interpreter; its last stdout line is the JSON answer."""
    cmd = [sys.executable, "-m", "dclm_tests.bench.bench_processing", "--child", json.dumps(spec)]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"child {spec.get('mode')} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------------------------------------------
# main


def _emit(name: str, value: Any) -> None:
    print(f"{name}: {value}", flush=True)


def _top_steps(names: list[str], secs: list[float], k: int = 6) -> str:
    total = sum(secs) or 1.0
    ranked = sorted(zip(names, secs, strict=True), key=lambda x: -x[1])[:k]
    return ", ".join(f"{n} {100 * s / total:.0f}%" for n, s in ranked)


def _throughput(args: argparse.Namespace, pages: list[Page], pipeline: Pipeline, work: Path) -> None:
    n = len(pages)
    t0 = time.perf_counter()
    mappers = build_mappers(pipeline)
    build_s = time.perf_counter() - t0
    scratch = [0.0] * len(mappers)
    t0 = time.perf_counter()
    run_mappers(mappers, copy.deepcopy(pages[:WARMUP_PAGES]), scratch)  # first-use tables (word splitter)
    _emit("ours_setup_s", f"{build_s + time.perf_counter() - t0:.2f} (build {len(mappers)} mappers + warm-up)")

    step_cpu = [0.0] * len(mappers)
    cpu, wall, (kept, errors) = best_of(args.repeats, lambda: copy.deepcopy(pages),
                                        lambda ps: run_mappers(mappers, ps, step_cpu))
    ours = {"mappers": (n / cpu, n / wall)}
    _emit("ours_mappers_pages_per_s_cpu", round(n / cpu, 1))
    _emit("ours_mappers_pages_per_s_wall", round(n / wall, 1))
    _emit("ours_pages_kept", f"{len(kept)} of {n} ({errors} mapper errors)")
    _emit("ours_top_steps_cpu_share", _top_steps([m[0] for m in mappers], step_cpu))

    shard = str(work / "throughput" / "shard_0000.jsonl")
    write_jsonl(pages, shard)
    runs = iter(range(args.repeats))
    cpu, wall, result = best_of(
        args.repeats, lambda: str(work / "throughput" / f"out_{next(runs)}"),
        lambda out: process_shard(pipeline, shard, out, overwrite=True),
    )
    ours["process_shard"] = (n / cpu, n / wall)
    last = [line for line in result.stats_lines if "pages_out" in line][-1]["pages_out"]
    _emit("ours_process_shard_pages_per_s_cpu", round(n / cpu, 1))
    _emit("ours_process_shard_pages_per_s_wall", round(n / wall, 1))
    _emit("ours_process_shard_pages_kept", f"{last} (same as the mapper loop: {last == len(kept)})")

    if args.skip_datatrove:
        return
    if datatrove_steps() is None:
        _emit("datatrove", "skipped: datatrove is not installed (pip install -e '.[bench]')")
        return
    try:
        _emit("datatrove_word_tokenizer", datatrove_tokenizer())
    except ImportError as err:
        _emit("datatrove", f"skipped: its default English word tokenizer needs spaCy ({err}); pip install spacy")
        return
    t0 = time.perf_counter()
    run_datatrove(datatrove_steps() or [], datatrove_documents(pages[:WARMUP_PAGES]))
    _emit("datatrove_setup_s", f"{time.perf_counter() - t0:.2f} (warm-up)")
    fresh: list[list[Any]] = []  # new filter objects per run, so their timing stats describe one run

    def prepare() -> tuple[list[Any], list[Any]]:
        fresh.append(datatrove_steps() or [])
        return fresh[-1], datatrove_documents(pages)  # C4QualityFilter rewrites doc.text: new Documents

    cpu, wall, kept_dt = best_of(args.repeats, prepare, lambda a: run_datatrove(*a))
    theirs = (n / cpu, n / wall)
    _emit("datatrove_pages_per_s_cpu", round(theirs[0], 1))
    _emit("datatrove_pages_per_s_wall", round(theirs[1], 1))
    _emit("datatrove_pages_kept", f"{len(kept_dt)} of {n}")
    _emit("datatrove_filter_wall_s_last_run",
          ", ".join(f"{type(s).__name__} {s.stats.time_stats.total:.2f}" for s in fresh[-1]))
    for path, (ours_cpu, ours_wall) in ours.items():
        _emit(f"ratio_ours_{path}_over_datatrove_per_core", round(ours_cpu / theirs[0], 2))
        _emit(f"ratio_ours_{path}_over_datatrove_wall", round(ours_wall / theirs[1], 2))


def _scaling(args: argparse.Namespace, base: dict[str, Any], env: dict[str, str], pool: list[str],
             warmup: list[str]) -> None:
    rates = {}
    for cpus in (1, 2):
        spec = {**base, "mode": "ray", "num_cpus": cpus, "inputs": pool[: args.scale_shards],
                "warmup": warmup[:cpus], "repeats": args.scale_repeats,
                "output": str(Path(base["output"]) / f"scale_{cpus}cpu")}
        got = spawn_child(spec, env)
        rates[cpus] = got["pages_in"] / got["wall_s"]
        _emit(f"ray_{cpus}_worker_pages_per_s_wall", f"{rates[cpus]:.1f} ({got['pages_in']} pages, "
              f"{args.scale_shards} shards, best of {args.scale_repeats}: {got['wall_s']:.1f} s; ray init "
              f"{got['ray_init_s']:.1f} s and warm-up {got['warmup_s']:.1f} s not counted)")
    _emit("ray_speedup_2_over_1_workers", round(rates[2] / rates[1], 2))


def _memory(args: argparse.Namespace, base: dict[str, Any], env: dict[str, str], pool: list[str]) -> None:
    small, big = args.mem_shards, 10 * args.mem_shards
    peaks = {}
    for count in (small, big):
        spec = {**base, "mode": "shards", "inputs": pool[:count],
                "output": str(Path(base["output"]) / f"mem_seq_{count}")}
        got = spawn_child(spec, env)
        peaks[count] = got["peak_rss_mb"]
        _emit(f"process_shard_peak_rss_mb_{count}_shards", f"{got['peak_rss_mb']:.1f} (after setup "
              f"{got['setup_rss_mb']:.1f}; {got['pages_in']} pages in one process, {got['wall_s']:.1f} s)")
    _emit("process_shard_peak_rss_ratio_10x_pool", round(peaks[big] / peaks[small], 3))
    if args.skip_ray:
        return
    for count in (small, big):
        spec = {**base, "mode": "ray", "num_cpus": 2, "inputs": pool[:count], "sample_memory": True,
                "output": str(Path(base["output"]) / f"mem_ray_{count}")}
        got = spawn_child(spec, env)
        peaks[count] = got["max_worker_rss_mb"]
        _emit(f"ray_2_workers_max_worker_rss_mb_{count}_shards", f"{got['max_worker_rss_mb']:.1f} "
              f"({got['workers_seen']} worker processes; driver peak {got['driver_peak_rss_mb']:.1f})")
    _emit("ray_max_worker_rss_ratio_10x_pool", round(peaks[big] / peaks[small], 3))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per measurement; the best is kept")
    parser.add_argument("--copies", type=int, default=1, help="repeat the real pages this many times (throughput)")
    parser.add_argument("--scale-shards", type=int, default=8, help="shards for the Ray scaling runs")
    parser.add_argument("--scale-repeats", type=int, default=2, help="timed Ray runs per worker count")
    parser.add_argument("--mem-shards", type=int, default=2, help="shards in the small memory pool (big: 10x)")
    parser.add_argument("--sections", default="throughput,scaling,memory",
                        help="comma-separated subset of throughput,scaling,memory")
    parser.add_argument("--skip-datatrove", action="store_true")
    parser.add_argument("--skip-ray", action="store_true", help="no Ray runs (scaling, Ray memory)")
    parser.add_argument("--keep", help="write inputs/outputs here and keep them (default: a temp dir)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        spec = json.loads(args.child)
        answer = child_shards(spec) if spec["mode"] == "shards" else child_ray(spec)
        print(json.dumps(answer), flush=True)
        return
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_processing_"))
    old_env = os.environ.get(RESOURCE_DIRS_ENV)
    try:
        _run(args, work)
    except pytest.skip.Exception as err:  # shared_data() outside pytest: the real pages are not there
        raise SystemExit(f"bench_processing: {err.msg}") from None
    finally:
        if old_env is None:
            os.environ.pop(RESOURCE_DIRS_ENV, None)
        else:
            os.environ[RESOURCE_DIRS_ENV] = old_env
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def _run(args: argparse.Namespace, work: Path) -> None:
    real = load_pages()
    resource_dirs = write_resources(work / "resources")
    # url_removal_modifier's default TLD list is found through the environment (inherited by Ray workers).
    os.environ[RESOURCE_DIRS_ENV] = os.pathsep.join(resource_dirs)
    config = work / "dclm_baseline_heuristics.yaml"
    n_steps = write_heuristic_config(config)
    pipeline = load_pipeline(str(config), SOURCE, resource_dirs=resource_dirs)
    pages = copies_of(real, args.copies)
    print(f"# DCLM-Baseline heuristics ({SHIPPED_CONFIG.name} without the fastText LID enricher and "
          f"language_filter: {n_steps} steps) on {len(pages)} real pages (C4 sample + Dolma CC, x{args.copies}), "
          "vs datatrove GopherRepetition + GopherQuality + C4Quality (defaults).")
    print(f"# pages/s = input pages per second: _cpu = time.process_time of one process (per core), _wall = "
          f"wall clock; best of {args.repeats}. Ray runs and RSS peaks come from fresh subprocesses. "
          f"{os.cpu_count()} CPUs. Targets: ours/datatrove per core >= 3; RSS ratio for a 10x pool <= 1.3.",
          flush=True)
    sections = {s.strip() for s in args.sections.split(",") if s.strip()}
    if "throughput" in sections:
        _throughput(args, pages, pipeline, work)
    scaling = "scaling" in sections and not args.skip_ray
    if not scaling and "memory" not in sections:
        return
    base = {"config": str(config), "resource_dirs": resource_dirs, "output": str(work / "runs")}
    env = {**os.environ}
    count = max(args.scale_shards if scaling else 0, 10 * args.mem_shards if "memory" in sections else 0)
    pool = write_shards(real, work / "pool", count)
    warmup = write_shards(real, work / "warmup", 2, pages_per_shard=100)
    _emit("pool_shard_pages", len(real))
    if scaling:
        _scaling(args, base, env, pool, warmup)
    if "memory" in sections:
        _memory(args, base, env, pool)


if __name__ == "__main__":
    main()
