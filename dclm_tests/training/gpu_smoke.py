"""One prepared GPU check of the trainer's CUDA paths (not collected by pytest; needs a CUDA device).

What CPU tests cannot reach: NCCL, bf16 autocast, fused AdamW, ``torch.compile`` on CUDA, FSDP2 mixed precision
(``--fsdp-amp``) and the CUDA MFU table. Two runs on synthetic shards (a learnable token pattern, so the loss must
fall), each printing its progress lines and one summary line:

1. ``micro`` in this process, ``amp_bfloat16`` + ``torch.compile`` (the plain, single-process path).
2. ``400m-1x`` under ``torchrun --nproc-per-node 1`` (NCCL) with its FSDP flags, bf16 and ``torch.compile``, on a
   reduced batch (``--global-bs``, ``--acc``) for ``--steps`` steps; reports tokens/s and MFU (H100/H200 peak
   989e12). Then the same run is resumed from its mid checkpoint to check sharded resume on the GPU.

    python3 -m dclm_tests.training.gpu_smoke [--steps 12] [--global-bs 64] [--acc 4] [--out DIR]

Needs in the interpreter: torch (CUDA), numpy, pyyaml, boto3 and zstandard (imported by the storage engine).
Writes ``gpu_smoke.json`` with both results to ``--out`` (default ``$OUT`` or a temp dir). Exit status 1 if a
check fails.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

VOCAB = 50432
CONTEXT = 2049


def write_shards(folder: Path, contexts: int, per_shard: int = 256, seed: int = 0) -> str:
    """open_lm shards whose tokens follow ``t[i+1] = (a * t[i] + b) % 50000`` with 5% noise: learnable."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = []
    for index in range(0, contexts, per_shard):
        name = f"shard_{index // per_shard:08d}"
        count = min(per_shard, contexts - index)
        with tarfile.open(folder / f"{name}.tar", "w", format=tarfile.USTAR_FORMAT) as tar:
            for j in range(count):
                tokens = np.empty(CONTEXT, dtype=np.int64)
                tokens[0] = rng.integers(0, 50000)
                for i in range(1, CONTEXT):
                    tokens[i] = (tokens[i - 1] * 31 + 7) % 50000
                noise = rng.random(CONTEXT) < 0.05
                tokens[noise] = rng.integers(0, 50000, int(noise.sum()))
                data = gzip.compress(json.dumps(tokens.tolist()).encode(), compresslevel=1)
                info = tarfile.TarInfo(f"{index // per_shard:08d}_{j:08d}.json.gz")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        rows.append(json.dumps({"shard": name, "num_sequences": count}))
    (folder / "manifest.jsonl").write_text("\n".join(rows) + "\n")
    return str(folder / "manifest.jsonl")


def main() -> int:
    parser = argparse.ArgumentParser(description="GPU smoke check of dclm_resources.training")
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--global-bs", type=int, default=64)
    parser.add_argument("--acc", type=int, default=4)
    parser.add_argument("--micro-steps", type=int, default=40)
    parser.add_argument("--out", default=os.environ.get("OUT") or tempfile.mkdtemp(prefix="gpu-smoke-"))
    args = parser.parse_args()
    import torch

    from dclm_resources.training import TrainConfig, read_loss_log, run_training, train

    if not torch.cuda.is_available():
        print("no CUDA device", file=sys.stderr)
        return 1
    print(f"device: {torch.cuda.get_device_name()} torch {torch.__version__}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="gpu-smoke-work-"))
    t0 = time.perf_counter()
    manifest = write_shards(work / "shards", max(args.steps * args.global_bs, args.micro_steps * 16 // 8) + 64)
    print(f"shards written in {time.perf_counter() - t0:.1f}s", flush=True)
    summary: dict[str, object] = {}
    failures: list[str] = []

    micro = TrainConfig(scale="micro", data=manifest, logs=str(work / "logs"), vocab_size=VOCAB,
                        precision="amp_bfloat16", torchcompile=True, max_steps=args.micro_steps, log_every=5,
                        name="gpu-micro")
    result = train(micro)
    losses = [r["loss"] for r in read_loss_log(result.loss_log)]
    summary["micro"] = result.to_dict()
    print(f"SUMMARY micro: loss {losses[0]:.3f} -> {losses[-1]:.3f}, {result.tokens_per_s:,.0f} tokens/s", flush=True)
    if not losses[-1] < losses[0] - 1.0:
        failures.append(f"micro loss did not fall: {losses}")

    big = TrainConfig(scale="400m-1x", data=manifest, logs=str(work / "logs"), global_bs=args.global_bs,
                      acc=args.acc, max_steps=args.steps, checkpoint_every=max(1, args.steps // 2), log_every=2,
                      torchcompile=True, name="gpu-400m")
    env = {"DCLM_TRAIN_SIGKILL_AT_STEP": str(args.steps // 2 + 1)}
    try:
        run_training(big, nproc=1, use_torchrun=True, env=env)
        failures.append("400m: the fault-injected run did not die")
    except Exception as err:  # noqa: BLE001 - expected: SIGKILL after the mid checkpoint
        print(f"400m run killed as planned after step {args.steps // 2 + 1}: {type(err).__name__}", flush=True)
    result = run_training(big, nproc=1, use_torchrun=True)
    records = read_loss_log(result.loss_log)
    summary["400m"] = result.to_dict()
    print(f"SUMMARY 400m-1x (FSDP {big.global_bs}x2048/step, resumed from {result.resumed_from_step}): loss "
          f"{records[0]['loss']:.3f} -> {records[-1]['loss']:.3f}, {result.tokens_per_s_per_device:,.0f} "
          f"tokens/s/GPU, MFU {result.mfu if result.mfu is None else f'{result.mfu:.1%}'}", flush=True)
    if result.resumed_from_step != args.steps // 2 or [r["step"] for r in records][-1] != args.steps:
        failures.append(f"400m resume: resumed from {result.resumed_from_step}, log steps {[r['step'] for r in records]}")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "gpu_smoke.json").write_text(json.dumps({**summary, "failures": failures}, indent=2))
    print("FAILURES: " + ("; ".join(failures) if failures else "none"), flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
