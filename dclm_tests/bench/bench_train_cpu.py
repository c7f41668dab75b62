"""Benchmark CPU training throughput of the ``micro`` and ``small`` scales with 1 and 2 processes.

Data: the shared C4 sample tokenized with a BPE the project trains (the offline default, ``--vocab`` tokens),
packed into open_lm shards in a temp folder. Each configuration is a fresh run of ``--steps`` optimizer steps
(1 process: in this process with all cores as torch threads; 2 processes: torchrun + gloo, 1 thread each).
The figure is the trainer's own steady throughput (every log interval but the first, which holds warm-up), in
tokens/s over all processes. Prints one ``name: value`` figure per line.

    python -m dclm_tests.bench.bench_train_cpu [--steps-micro 30] [--steps-small 6] [--scales micro small]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from dclm_resources.tokenization import (
    ShardWriter,
    pack_texts,
    tokenized_dataset_reference,
    train_bpe_tokenizer,
    write_manifest,
    write_tokenized_reference,
)
from dclm_resources.training import TrainConfig, run_training
from dclm_tests.paths import SHARED_DATA

C4 = SHARED_DATA / "web" / "jsonl" / "c4_en_sample" / "c4_sample.jsonl"


def build_shards(folder: Path, vocab: int) -> str:
    """Tokenize the C4 sample into open_lm shards; returns the reference JSON path."""
    texts = [json.loads(line)["text"] for line in C4.read_text(encoding="utf-8").splitlines() if line.strip()]
    tokenizer = train_bpe_tokenizer(texts, folder / "bpe", vocab_size=vocab)
    contexts = list(pack_texts(texts, tokenizer))
    data = folder / "shards"
    records = ShardWriter(str(data), sequences_per_shard=64).write(contexts)
    write_manifest(str(data), records)
    reference = data / "c4_bench.json"
    write_tokenized_reference(str(reference), tokenized_dataset_reference("c4_bench", str(data), records,
                                                                          str(folder / "bpe")))
    return str(reference)


def run(scale: str, nproc: int, steps: int, data: str, logs: Path) -> dict[str, float]:
    cores = os.cpu_count() or 1
    config = TrainConfig(scale=scale, data=data, logs=str(logs / f"{scale}-{nproc}"), max_steps=steps,
                         checkpoint_every=10**9, threads=max(1, cores // nproc), resume="none", log_every=1,
                         name=f"bench-{scale}-{nproc}")
    start = time.perf_counter()
    result = run_training(config, nproc, log=lambda _: None)
    return {"tokens_per_s": result.tokens_per_s or 0.0, "wall_s": time.perf_counter() - start,
            "final_loss": result.final_loss or 0.0, "params": result.params}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", nargs="+", default=["micro", "small"])
    parser.add_argument("--steps-micro", type=int, default=30)
    parser.add_argument("--steps-small", type=int, default=6)
    parser.add_argument("--vocab", type=int, default=8192)
    parser.add_argument("--nproc", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    print(f"cpu_cores: {os.cpu_count()}")
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        data = build_shards(Path(tmp), args.vocab)
        for scale in args.scales:
            steps = args.steps_micro if scale == "micro" else args.steps_small
            for nproc in args.nproc:
                figures = run(scale, nproc, steps, data, Path(tmp) / "logs")
                prefix = f"{scale}_{nproc}proc"
                print(f"{prefix}_params: {figures['params']}")
                print(f"{prefix}_tokens_per_s: {figures['tokens_per_s']:.0f}")
                print(f"{prefix}_wall_s ({steps} steps, incl. start-up): {figures['wall_s']:.1f}")
                print(f"{prefix}_final_loss: {figures['final_loss']:.3f}", flush=True)


if __name__ == "__main__":
    main()
