"""Training logs: the loss-curve JSONL, optional TensorBoard, throughput and MFU.

MFU = ``6 * N * tokens_per_s_per_device / peak`` (N = model parameters; attention FLOPs left out, as DCLM's 6ND).
Peak per device: CUDA bf16 dense from a small table (H100/H200 989e12); CPUs have no honest default, so MFU is
reported as ``None`` there unless ``--peak-flops`` gives one (e.g. cores x GHz x FLOPs/cycle of the machine).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# Dense bf16 tensor-core peak per device, FLOP/s (vendor data sheets, without sparsity).
CUDA_BF16_PEAK = (
    ("H200", 989e12),
    ("H100", 989e12),
    ("GH200", 989e12),
    ("A100", 312e12),
    ("L40S", 362e12),
    ("A10G", 70e12),
    ("L4", 121e12),
)
LOSS_LOG = "loss.jsonl"


def peak_flops(device_type: str, override: float | None = None) -> float | None:
    """Per-device peak FLOP/s for MFU: ``override``, else the CUDA table by device name, else None."""
    if override is not None:
        return override
    if device_type != "cuda":
        return None
    import torch

    name = torch.cuda.get_device_name().upper()
    for key, value in CUDA_BF16_PEAK:
        if key in name:
            return value
    return None


def mfu(params: int, tokens_per_s_per_device: float, peak: float | None) -> float | None:
    if not peak or tokens_per_s_per_device <= 0:
        return None
    return 6.0 * params * tokens_per_s_per_device / peak


def read_loss_log(path: str) -> list[dict[str, Any]]:
    """The records of a loss log (missing file: empty); a torn last line (killed mid-write) is dropped."""
    if not os.path.isfile(path):
        return []
    records: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.endswith("\n"):
                break
            records.append(json.loads(line))
    return records


class LossLog:
    """Append-only JSONL of logged steps; on resume, records beyond the restored step are dropped first.

    Why truncate: steps done after the last checkpoint of a killed run are redone after resuming, and the curve
    must list each step once, as the uninterrupted run would.
    """

    def __init__(self, path: str, keep_until_step: int) -> None:
        self.path = path
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        kept = [r for r in read_loss_log(path) if int(r["step"]) <= keep_until_step]
        tmp = f"{path}.tmp-{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in kept)
        os.replace(tmp, path)
        self._fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed by close()

    def write(self, record: dict[str, Any]) -> None:
        self._fh.write(json.dumps(record) + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(read_loss_log(self.path))


@dataclass
class TensorBoardLog:
    """open_lm's TensorBoard keys (``train/loss``, ``train/lr``, ``train/tokens``, ``train/samples_per_second``...).

    As in open_lm, ``samples_per_second`` is global tokens/s and ``samples_per_second_per_gpu`` tokens/s/device.
    """

    log_dir: str

    def __post_init__(self) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self._writer = SummaryWriter(log_dir=self.log_dir)

    def write(self, record: dict[str, Any]) -> None:
        step = int(record["step"])
        keys = {
            "train/loss": record.get("loss"),
            "train/lr": record.get("lr"),
            "train/tokens": record.get("tokens"),
            "train/samples_per_second": record.get("tokens_per_s"),
            "train/samples_per_second_per_gpu": record.get("tokens_per_s_per_device"),
            "train/mfu": record.get("mfu"),
        }
        for key, value in keys.items():
            if value is not None:
                self._writer.add_scalar(key, value, step)

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        self._writer.flush()
        self._writer.close()
