"""GPU training throughput of the DCLM 400m-1x model (411M params): tokens/s/GPU and MFU on one GPU.

Trains our open_lm-compatible ``Transformer`` on synthetic tokens for a fixed number of steps per configuration
(micro-batch of ``B`` sequences of 2048 tokens): bf16 autocast, fp32 master weights, fused AdamW with DCLM's
betas/wd, grad clipping at 1, z-loss 1e-4, TF32 on, ``torch.compile``. Warmup steps (which include compilation)
are not timed. One line per configuration is printed as soon as it is measured, then a one-line summary.

MFU = achieved FLOP/s / peak. Two FLOP counts per token: ``6 N`` (DCLM's 6ND convention, N = DCLM's params) and
``6 N + 12 L d seq`` (adds attention scores and values). Peak defaults to 989 TFLOP/s (H100/H200 SXM dense bf16).

Compile modes: ``blocks`` compiles each transformer block (one graph reused by all 24; fast to compile) and the
final norm + output head + loss as one graph, so the float32 logits never reach memory; ``model`` compiles the
whole forward + loss as one graph; ``none`` runs eager. The attention kernel can be pinned per configuration
(``auto`` = torch's choice, FlashAttention-2 on Hopper; ``cudnn`` = cuDNN's fused attention).

    python dclm_tests/bench/gpu_train_bench.py                      # default configs; ~7 min budget
    python dclm_tests/bench/gpu_train_bench.py --configs 16:model,16:blocks:flash --steps 20
    python dclm_tests/bench/gpu_train_bench.py --smoke             # CPU, tiny model, 2 steps, no compile
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from dclm_resources.modeling import ModelConfig, Transformer, cross_entropy_with_z_loss, load_scale  # noqa: E402

H100_BF16_DENSE_TFLOPS = 989.0


def log(message: str) -> None:
    print(message, flush=True)


@dataclass
class Result:
    batch: int
    mode: str
    sdpa: str
    tokens_per_s: float
    step_s: float
    mfu: float
    mfu_attn: float
    peak_mem_gib: float
    compile_s: float
    loss: float


COMPILE_MODES = ("blocks", "model", "none")
SDPA_BACKENDS = ("auto", "flash", "cudnn", "efficient")


def parse_configs(text: str, default_mode: str) -> list[tuple[int, str, str]]:
    """``"16,32:model,16:cudnn"`` -> ``[(16, "blocks", "auto"), (32, "model", "auto"), (16, "blocks", "cudnn")]``."""
    out = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        batch, *options = item.split(":")
        mode, sdpa = default_mode, "auto"
        for option in options:
            if option in COMPILE_MODES:
                mode = option
            elif option in SDPA_BACKENDS:
                sdpa = option
            else:
                raise SystemExit(f"--configs: unknown option {option!r} in {item!r} "
                                 f"(compile: {', '.join(COMPILE_MODES)}; attention: {', '.join(SDPA_BACKENDS)})")
        out.append((int(batch), mode, sdpa))
    return out


def select_sdpa(backend: str) -> None:
    """Restrict ``F.scaled_dot_product_attention`` to one fused kernel ("auto": torch's own choice)."""
    if not torch.cuda.is_available():
        return
    cuda = torch.backends.cuda
    cuda.enable_flash_sdp(backend in ("auto", "flash"))
    cuda.enable_mem_efficient_sdp(backend in ("auto", "efficient"))
    cuda.enable_cudnn_sdp(backend in ("auto", "cudnn"))
    cuda.enable_math_sdp(backend == "auto")


def head_loss(norm: torch.nn.Module, output: torch.nn.Module, hidden: torch.Tensor, targets: torch.Tensor,
              z_loss: float) -> torch.Tensor:
    """Final norm + output head + loss: compiled as one graph, the float32 logits are never written out."""
    logits = output(norm(hidden)).float()
    return cross_entropy_with_z_loss(logits, targets, z_loss=z_loss)[0]


def full_loss(model: Transformer, x: torch.Tensor, y: torch.Tensor, z_loss: float) -> torch.Tensor:
    return cross_entropy_with_z_loss(model(x)[0], y, z_loss=z_loss)[0]


def build_step(model: Transformer, mode: str, z_loss: float, device_type: str, autocast: bool):
    """A function ``(x, y) -> loss`` that runs forward + loss (backward is done by the caller)."""
    amp = torch.autocast(device_type=device_type, dtype=torch.bfloat16, enabled=autocast)
    if mode == "model":
        compiled = torch.compile(full_loss, dynamic=False)

        def step(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            with amp:
                return compiled(model, x, y, z_loss)

        return step
    head = head_loss
    if mode == "blocks":
        for layer in model.layers:
            layer.compile(dynamic=False)
        head = torch.compile(head_loss, dynamic=False)

    def step(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        with amp:
            h = model.post_embed_norm(model.tok_embeddings(x))
            for layer in model.layers:
                h = layer(h)
            return head(model.norm, model.output, h, y, z_loss)

    return step


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_config(cfg: ModelConfig, params: int, batch: int, mode: str, sdpa: str, args: argparse.Namespace,
               device: torch.device) -> Result:
    # Compiled graphs bake in the attention kernel: start each configuration from a clean compiler state.
    torch._dynamo.reset()
    select_sdpa(sdpa)
    torch.manual_seed(0)
    with torch.device(device):
        model = Transformer(cfg)
    fused = device.type == "cuda"
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.033,
                            fused=fused)
    step_fn = build_step(model, mode, args.z_loss, device.type, autocast=not args.fp32)
    data = torch.randint(0, cfg.vocab_size, (4, batch, cfg.seq_len + 1), device=device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    def train_step(i: int) -> torch.Tensor:
        tokens = data[i % data.shape[0]]
        loss = step_fn(tokens[:, :-1], tokens[:, 1:])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0, foreach=fused or None)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    t0 = time.perf_counter()
    loss = train_step(0)
    synchronize(device)
    compile_s = time.perf_counter() - t0
    for i in range(1, args.warmup_steps):
        loss = train_step(i)
    synchronize(device)
    start = time.perf_counter()
    for i in range(args.steps):
        loss = train_step(i)
    synchronize(device)
    elapsed = time.perf_counter() - start
    tokens_per_s = batch * cfg.seq_len * args.steps / elapsed
    peak = args.peak_tflops * 1e12
    attn_flops = 12 * cfg.n_layers * cfg.dim * cfg.seq_len
    mem = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else 0.0
    result = Result(batch, mode, sdpa, tokens_per_s, elapsed / args.steps, 6 * params * tokens_per_s / peak,
                    (6 * params + attn_flops) * tokens_per_s / peak, mem, compile_s, float(loss.item()))
    return result


def release(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="400m-1x", help="scale recipe whose model is trained (default 400m-1x)")
    parser.add_argument("--configs", default="16,16:cudnn,32,8",
                        help="micro-batch sizes (sequences) to try, in order, each optionally followed by "
                             "':blocks|model|none' (compile) and ':auto|flash|cudnn|efficient' (attention kernel)")
    parser.add_argument("--compile", default="blocks", choices=["blocks", "model", "none"],
                        help="compile mode for configs that name none (default blocks)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per config")
    parser.add_argument("--warmup-steps", type=int, default=4, help="untimed steps first (compile happens here)")
    parser.add_argument("--peak-tflops", type=float, default=H100_BF16_DENSE_TFLOPS,
                        help="peak dense bf16 TFLOP/s of the GPU (default 989: H100/H200 SXM)")
    parser.add_argument("--budget-s", type=float, default=420.0,
                        help="skip further configs when the next one would likely end after this many seconds")
    parser.add_argument("--z-loss", type=float, default=1e-4)
    parser.add_argument("--fp32", action="store_true", help="no bf16 autocast")
    parser.add_argument("--smoke", action="store_true", help="tiny model, 2 steps, no compile (CPU ok)")
    args = parser.parse_args(argv)
    started = time.perf_counter()

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    log(f"torch {torch.__version__} cuda {torch.version.cuda} python {sys.version.split()[0]}")
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        log(f"device: {props.name}, {props.total_memory / 2**30:.0f} GiB, {props.multi_processor_count} SMs, "
            f"capability {props.major}.{props.minor}")
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    else:
        log(f"device: cpu ({torch.get_num_threads()} threads)")
    torch.set_float32_matmul_precision("high")
    for name in ("recompile_limit", "cache_size_limit"):
        if hasattr(torch._dynamo.config, name):
            setattr(torch._dynamo.config, name, 64)

    if args.smoke:
        cfg = ModelConfig(dim=64, n_layers=2, n_heads=4, seq_len=64, vocab_size=256)
        params = sum(p.numel() for p in Transformer(cfg).parameters())
        configs = [(2, "none", "auto")]
        args.steps, args.warmup_steps = 2, 1
        label = "smoke"
    else:
        recipe = load_scale(args.scale)
        cfg, params, label = recipe.model, recipe.params, recipe.name
        configs = parse_configs(args.configs, args.compile)
        if device.type != "cuda":
            log("warning: no CUDA device; this will be slow (use --smoke for a quick CPU check)")
    log(f"model {label}: d {cfg.dim}, layers {cfg.n_layers}, heads {cfg.n_heads}, seq {cfg.seq_len}, "
        f"vocab {cfg.vocab_size}, N = {params:,}; FLOPs/token 6N = {6 * params:.3e}, "
        f"+attn = {6 * params + 12 * cfg.n_layers * cfg.dim * cfg.seq_len:.3e}; peak {args.peak_tflops:g} TFLOP/s")

    results: list[Result] = []
    last_cost = 150.0
    for batch, mode, sdpa in configs:
        name = f"batch {batch} compile={mode} attn={sdpa}"
        elapsed = time.perf_counter() - started
        if elapsed + last_cost > args.budget_s:
            log(f"{name}: skipped (elapsed {elapsed:.0f}s, budget {args.budget_s:.0f}s)")
            continue
        t0 = time.perf_counter()
        r = None
        try:
            r = run_config(cfg, params, batch, mode, sdpa, args, device)
        except torch.cuda.OutOfMemoryError:
            log(f"{name}: out of memory")
        except Exception as err:  # noqa: BLE001 - report and try the next config
            log(f"{name}: failed: {type(err).__name__}: {(str(err).splitlines() or [''])[0][:300]}")
            traceback.print_exc(limit=3, file=sys.stdout)
        release(device)  # outside the except blocks: the traceback no longer pins the failed model
        if r is None:
            if not results and (batch, "none", "auto") not in configs and mode != "none":
                configs.append((batch, "none", "auto"))  # nothing measured yet: make sure an eager number comes out
            continue
        last_cost = time.perf_counter() - t0
        results.append(r)
        log(f"batch {r.batch:>3} x {cfg.seq_len} compile={r.mode:<6} attn={r.sdpa:<9} {r.tokens_per_s:>10,.0f} "
            f"tokens/s/GPU  step {r.step_s * 1e3:7.1f} ms  MFU {100 * r.mfu:5.1f}% (6N)  "
            f"{100 * r.mfu_attn:5.1f}% (6N+attn)  peak mem {r.peak_mem_gib:5.1f} GiB  "
            f"first step {r.compile_s:5.1f}s  loss {r.loss:.3f}  [config wall {last_cost:.0f}s]")
    total = time.perf_counter() - started
    if not results:
        log(f"SUMMARY {label}: no configuration completed (wall {total:.0f}s)")
        return 1
    best = max(results, key=lambda r: r.tokens_per_s)
    log(f"SUMMARY {label}: best batch {best.batch} compile={best.mode} attn={best.sdpa}: {best.tokens_per_s:,.0f} tokens/s/GPU, "
        f"MFU {100 * best.mfu:.1f}% (6N) / {100 * best.mfu_attn:.1f}% (6N+attn) at peak {args.peak_tflops:g} "
        f"TFLOP/s on {torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'}; wall {total:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
