"""The GPU benchmark script runs (``--smoke`` on CPU as a subprocess) and its compiled paths give the same loss."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import torch

from dclm_resources.modeling import ModelConfig, Transformer, cross_entropy_with_z_loss
from dclm_tests.bench import gpu_train_bench
from dclm_tests.paths import REPO_ROOT

SCRIPT = REPO_ROOT / "dclm_tests" / "bench" / "gpu_train_bench.py"


def test_smoke_subprocess() -> None:
    proc = subprocess.run([sys.executable, str(SCRIPT), "--smoke"], capture_output=True, text=True, timeout=300,
                          cwd=REPO_ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert re.search(r"^torch \S+", out, re.M) and re.search(r"^device: ", out, re.M)
    line = re.search(r"batch +2 x 64 compile=none +attn=auto +([\d,]+) tokens/s/GPU .* MFU +[\d.]+% \(6N\) .* loss ([\d.]+)", out)
    assert line, out
    assert int(line.group(1).replace(",", "")) > 0
    assert 3.0 < float(line.group(2)) < 8.0  # ~ln(256) on random tokens
    assert re.search(r"^SUMMARY smoke: best batch 2 compile=none attn=auto: [\d,]+ tokens/s/GPU, MFU", out, re.M)


def test_config_parsing() -> None:
    assert gpu_train_bench.parse_configs("16, 32:model,8:cudnn:none", "blocks") == [
        (16, "blocks", "auto"), (32, "model", "auto"), (8, "none", "cudnn")]
    with pytest.raises(SystemExit, match="unknown option 'fast'"):
        gpu_train_bench.parse_configs("16:fast", "blocks")


def test_eager_step_equals_model_loss() -> None:
    """The bench's split forward (embeddings, blocks, head+loss) is the model's forward + loss."""
    cfg = ModelConfig(dim=32, n_layers=2, n_heads=2, seq_len=16, vocab_size=64)
    model = Transformer(cfg)
    x = torch.randint(0, 64, (2, 17))
    step = gpu_train_bench.build_step(model, "none", 1e-4, "cpu", autocast=False)
    want = cross_entropy_with_z_loss(model(x[:, :-1])[0], x[:, 1:], z_loss=1e-4)[0]
    torch.testing.assert_close(step(x[:, :-1], x[:, 1:]), want)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["blocks", "model"])
def test_compiled_modes_match_eager_on_cpu(mode: str) -> None:
    """torch.compile (inductor on CPU) traces the model without graph breaks and gives the eager loss."""
    torch._dynamo.reset()
    cfg = ModelConfig(dim=32, n_layers=2, n_heads=2, seq_len=16, vocab_size=64)
    torch.manual_seed(0)
    model = Transformer(cfg)
    x = torch.randint(0, 64, (2, 17))
    want = gpu_train_bench.build_step(model, "none", 1e-4, "cpu", autocast=False)(x[:, :-1], x[:, 1:])
    got = gpu_train_bench.build_step(model, mode, 1e-4, "cpu", autocast=False)(x[:, :-1], x[:, 1:])
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
    assert not torch._dynamo.utils.counters["graph_break"]
