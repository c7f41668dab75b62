"""Benchmark tokenize + pack + shuffle + write (``tokenize_shuffle``, 2 Ray workers) against bare ``encode_batch``.

Texts are the real pages under ``../shared/data/web/jsonl``, repeated with letters rotated (new text; it
tokenizes denser than the original) up to ``--mb``. Throughput counts the same tokens on both sides (document tokens + one EOT each).
Memory: ``tokenize_shuffle`` of ``--mem-mb`` and of ``--factor`` × that (every factor-th file of the larger),
each in a fresh subprocess, with the same cell budget; the figure is the largest ``VmHWM`` (peak RSS) among the
Ray worker processes. Timings are best of ``--repeats`` (the machine may be shared).
Prints one ``name: value`` figure per line.

    python -m dclm_tests.bench.bench_tokenize [--mb 20] [--mem-mb 8] [--factor 10] [--tokenizer PATH]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from dclm_resources.storage import write_jsonl
from dclm_resources.tokenization import load_tokenizer, train_bpe_tokenizer
from dclm_tests.bench.bench_bff import load_real_pages, repeated_pages
from dclm_tests.paths import REPO_ROOT, SHARED_DATA

FILE_MB = 2.0
BATCH = 512


def write_files(folder: Path, total_mb: float, file_mb: float = FILE_MB) -> tuple[list[str], list[str]]:
    """JSONL files of about ``file_mb`` each holding ``total_mb`` of text; returns (file URIs, texts)."""
    folder.mkdir(parents=True, exist_ok=True)
    pages = load_real_pages(SHARED_DATA / "web" / "jsonl")
    uris: list[str] = []
    texts: list[str] = []
    batch: list[dict[str, Any]] = []
    size = 0
    for page in repeated_pages(pages, int(total_mb * 2**20)):
        batch.append({"text": page["text"]})
        texts.append(page["text"])
        size += len(page["text"].encode("utf-8"))
        if size >= file_mb * 2**20:
            uris.append(str(folder / f"part_{len(uris):05d}.jsonl"))
            write_jsonl(batch, uris[-1])
            batch, size = [], 0
    if batch:
        uris.append(str(folder / f"part_{len(uris):05d}.jsonl"))
        write_jsonl(batch, uris[-1])
    return uris, texts


def _vmhwm_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


class WorkerPeakSampler(threading.Thread):
    """Polls ``VmHWM`` (the kernel's exact peak RSS) of this process's Ray worker processes (``ray::…``)."""

    def __init__(self, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.peaks: dict[int, float] = {}
        self._halt = threading.Event()

    def _poll(self) -> None:
        import psutil

        for proc in psutil.Process().children(recursive=True):
            try:
                title = " ".join(proc.cmdline())
                if title.startswith("ray::") and "Agent" not in title:
                    self.peaks[proc.pid] = max(self.peaks.get(proc.pid, 0.0), _vmhwm_mb(proc.pid))
            except (psutil.Error, OSError):
                continue

    def run(self) -> None:
        while not self._halt.is_set():
            self._poll()
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._poll()  # workers stay alive after their tasks, so a last look sees every peak
        self._halt.set()
        self.join()


def _warm(item: int) -> int:
    time.sleep(0.5)  # long enough that the two tasks land on two workers
    return item


def child(spec: dict[str, Any]) -> dict[str, Any]:
    """One ``tokenize_shuffle`` on a fresh 2-CPU Ray (after a warm-up task), with worker peak RSS."""
    from dclm_resources.compute import map_tasks, ray_session
    from dclm_resources.tokenization.shuffle import tokenize_shuffle

    with ray_session(num_cpus=2):
        map_tasks(_warm, [0, 1], progress=False)  # start both workers outside the timing
        sampler = WorkerPeakSampler()
        sampler.start()
        wall = float("inf")
        for _ in range(spec.get("repeats", 1)):
            t0 = time.perf_counter()
            summary = tokenize_shuffle(
                spec["inputs"], spec["output"], spec["tokenizer"], progress=False, **spec.get("options", {})
            )
            wall = min(wall, time.perf_counter() - t0)
        sampler.stop()
    return {
        "wall_s": wall,
        "tokens": summary.tokens,
        "sequences": summary.sequences,
        "shards": summary.shards,
        "cells": summary.num_local_cells,
        "phases_s": summary.seconds,
        "max_worker_peak_mb": max(sampler.peaks.values(), default=float("nan")),
        "workers_seen": len(sampler.peaks),
    }


def spawn(spec: dict[str, Any]) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "dclm_tests.bench.bench_tokenize", "--child", json.dumps(spec)]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"child failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bare_tokens_per_s(tokenizer_path: str, texts: list[str], repeats: int) -> tuple[float, int]:
    """``Tokenizer.encode_batch`` alone (all cores, its own thread pool), in batches like the packer's; best of."""
    tok = load_tokenizer(tokenizer_path).tokenizer
    best = float("inf")
    tokens = 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        tokens = 0
        for i in range(0, len(texts), BATCH):
            encodings = tok.encode_batch(texts[i : i + BATCH], add_special_tokens=False)
            tokens += sum(len(e.ids) + 1 for e in encodings)
        best = min(best, time.perf_counter() - t0)
    return tokens / best, tokens


def _emit(name: str, value: Any) -> None:
    print(f"{name}: {value}", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=float, default=20.0, help="text for the throughput run")
    parser.add_argument("--mem-mb", type=float, default=8.0, help="text of the smaller memory run")
    parser.add_argument(
        "--factor", type=int, default=10, help="the larger memory run is this many times bigger"
    )
    parser.add_argument(
        "--tokenizer", help="tokenizer.json or folder; default: a 32k BPE trained on the sample"
    )
    parser.add_argument("--repeats", type=int, default=3, help="best of this many timed runs")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    with tempfile.TemporaryDirectory(prefix="bench_tokenize_") as tmp:
        work = Path(tmp)
        tokenizer = args.tokenizer
        if tokenizer is None:
            pages = load_real_pages(SHARED_DATA / "web" / "jsonl")
            train_bpe_tokenizer((p["text"] for p in pages), work / "bpe", vocab_size=32768)
            tokenizer = str(work / "bpe")
        _emit("tokenizer", load_tokenizer(tokenizer).name)

        uris, texts = write_files(work / "tp", args.mb)
        bare, bare_tokens = bare_tokens_per_s(tokenizer, texts, args.repeats)
        run = spawn(
            {"inputs": uris, "output": str(work / "tp_out"), "tokenizer": tokenizer, "repeats": args.repeats}
        )
        assert run["tokens"] == bare_tokens, (run["tokens"], bare_tokens)
        _emit("text_mb", args.mb)
        _emit("tokens", bare_tokens)
        _emit("bare_encode_batch_tokens_per_s", f"{bare:,.0f}")
        _emit("tokenize_shuffle_2_workers_tokens_per_s", f"{run['tokens'] / run['wall_s']:,.0f}")
        _emit("ratio_vs_bare", f"{run['tokens'] / run['wall_s'] / bare:.2f}")
        _emit("tokenize_shuffle_phases_s", ", ".join(f"{k} {v:.2f}" for k, v in run["phases_s"].items()))

        # The small set is every factor-th file of the large one: same file sizes and token density (rotated
        # repeats tokenize denser than the original text), so only the dataset size differs.
        files, _ = write_files(work / "mem", args.mem_mb * args.factor)
        options = {"cell_budget_bytes": int(args.mem_mb * 2**20 / 2)}
        peaks = []
        for label, subset in (("small", files[:: args.factor]), ("large", files)):
            spec = {
                "inputs": subset,
                "output": str(work / f"mem_{label}"),
                "tokenizer": tokenizer,
                "options": options,
            }
            res = spawn(spec)
            peaks.append(res["max_worker_peak_mb"])
            _emit(
                f"shuffle_{label}",
                f"{len(subset)} files, {res['tokens']:,} tokens, {res['wall_s']:.1f} s, {res['cells']} cells, "
                f"{res['shards']} shards, worker peak RSS {res['max_worker_peak_mb']:.0f} MiB "
                f"({res['workers_seen']} workers)",
            )
        _emit("peak_rss_ratio_large_vs_small", f"{peaks[1] / peaks[0]:.2f}")


if __name__ == "__main__":
    main()
