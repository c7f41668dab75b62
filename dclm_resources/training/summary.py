"""What a finished run left behind, read from its folder: the same figures whichever launcher ran it.

A local run hands back a ``TrainResult``; a Kubernetes run leaves only files (on shared storage). The asset
reads both through ``run_summary`` so its metadata never depends on where training happened.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from dclm_resources.storage import Storage, join_uri, parent_uri
from dclm_resources.training.checkpoint import (
    CheckpointFiles,
    checkpoint_number,
    find_latest_checkpoint,
    load_torch,
)
from dclm_resources.training.metrics import LOSS_LOG


@dataclass
class RunSummary:
    run_dir: str
    checkpoint: str
    model_reference_uri: str
    model_reference: dict[str, Any]
    losses: list[dict[str, Any]] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def final_loss(self) -> float | None:
        return float(self.losses[-1]["loss"]) if self.losses else None

    @property
    def tokens_seen(self) -> int:
        if "tokens_seen" in self.stats:
            return int(self.stats["tokens_seen"])
        return int(self.losses[-1].get("tokens", 0)) if self.losses else 0

    @property
    def steps(self) -> int:
        return int(self.stats.get("step", self.losses[-1]["step"] if self.losses else 0))

    def mean_of(self, key: str) -> float | None:
        """Steady-state mean of a logged rate (the first interval, with compilation and warm-up, left out)."""
        values = [float(r[key]) for r in self.losses if isinstance(r.get(key), (int, float))]
        values = values[1:] if len(values) > 1 else values
        return sum(values) / len(values) if values else None


def read_loss_records(uri: str, storage: Storage) -> list[dict[str, Any]]:
    """Loss-log records from local or S3 storage; a torn last line (a killed writer) is dropped."""
    if not storage.exists(uri):
        return []
    text = storage.read_text(uri)
    lines = text.splitlines(keepends=True)
    return [json.loads(line) for line in lines if line.endswith("\n") and line.strip()]


def run_summary(run_dir: str, name: str, storage: Storage | None = None) -> RunSummary:
    """Summary of ``<logs>/<name>`` after training; a run without a complete checkpoint is an error."""
    storage = storage or Storage()
    checkpoint = find_latest_checkpoint(run_dir, storage)
    if checkpoint is None:
        raise ValueError(f"{run_dir}: training left no complete checkpoint (epoch_N.pt with its stats_N.pt)")
    stats_uri = CheckpointFiles(parent_uri(checkpoint), checkpoint_number(checkpoint)).stats
    stats = load_torch(stats_uri, storage) if storage.exists(stats_uri) else {}
    reference_uri = join_uri(run_dir, f"{name}.json")
    reference = json.loads(storage.read_text(reference_uri)) if storage.exists(reference_uri) else {}
    losses = read_loss_records(join_uri(run_dir, LOSS_LOG), storage)
    return RunSummary(run_dir, checkpoint, reference_uri, reference, losses,
                      {k: v for k, v in stats.items() if isinstance(v, (int, float, str, bool))})


def loss_is_finite_and_falling(losses: list[float], fraction: float = 0.1) -> tuple[bool, str]:
    """A sane run: every logged loss finite, and the last tenth's mean below the first tenth's."""
    if not losses:
        return False, "no loss was logged"
    bad = [i for i, v in enumerate(losses) if not math.isfinite(v)]
    if bad:
        return False, f"{len(bad)} non-finite loss value(s), first at record {bad[0]}"
    if len(losses) < 4:
        return True, f"only {len(losses)} logged step(s): finite, too few to judge the trend"
    k = max(1, int(len(losses) * fraction))
    head, tail = sum(losses[:k]) / k, sum(losses[-k:]) / k
    if tail >= head:
        return False, f"loss did not fall: first {k} mean {head:.4f}, last {k} mean {tail:.4f}"
    return True, f"loss fell from {head:.4f} to {tail:.4f} (means of the first and last {k} logged steps)"


def loss_curve_png(losses: list[dict[str, Any]], title: str) -> bytes:
    """Loss against step (and learning rate on a second axis), as PNG bytes."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r["step"] for r in losses]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    ax.plot(steps, [r["loss"] for r in losses], color="tab:blue", label="train loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title, fontsize=9)
    if losses and "lr" in losses[0]:
        lr_ax = ax.twinx()
        lr_ax.plot(steps, [r.get("lr", float("nan")) for r in losses], color="tab:orange", alpha=0.6, label="lr")
        lr_ax.set_ylabel("learning rate")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()
