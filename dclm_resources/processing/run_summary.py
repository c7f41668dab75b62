"""Totals of a processing run, read back from the shards' stats files, and DCLM's untokenized-dataset JSON.

Why from the stats files: after a resume most steps did not run in this call, but the stats files record every
committed step of every shard, so the funnel is the same whether the run was interrupted or not.
"""

from __future__ import annotations

import subprocess
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from dclm_resources.processing.shard_files import CONTROL_LINES, StatsFile
from dclm_resources.storage import Storage
from dclm_resources.storage.base import StorageNotFoundError

MAX_SAMPLES_PER_STEP = 3
MAX_DIFF_CHARS = 1 << 20


@dataclass
class StepTotals:
    """One pipeline step summed over shards (global steps have no removed/kept split: pages_in - pages_out)."""

    position: int
    name: str
    pages_in: int = 0
    pages_out: int = 0
    removed: int = 0
    kept: int = 0
    split: int = 0
    errors: int = 0
    secs: float = 0.0
    shards: int = 0
    samples: list[dict[str, Any]] = field(default_factory=list)

    def add(self, line: dict[str, Any]) -> None:
        pages_in, pages_out = _int(line.get("pages_in")), _int(line.get("pages_out"))
        self.pages_in += pages_in
        self.pages_out += pages_out
        self.shards += 1
        self.secs += float(line.get("total_secs", line.get("secs", 0.0)) or 0.0)
        self.errors += _int(line.get("errors"))
        if "removed" in line:
            self.removed += _int(line.get("removed"))
            self.kept += _int(line.get("kept"))
            self.split += _int(line.get("split"))
        else:
            self.removed += max(pages_in - pages_out, 0)


@dataclass
class ShardTotals:
    """What the collect pass reads for one shard."""

    name: str
    step_lines: list[dict[str, Any]]
    lines_quarantined: int
    bytes_in: int
    bytes_out: int
    output_uri: str | None


@dataclass
class RunSummary:
    base_output_path: str
    dataset_url: str
    reference_uri: str | None
    global_stats_uri: str
    num_shards: int
    pages_in: int = 0
    pages_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    lines_quarantined: int = 0
    pages_errored: int = 0
    steps: list[StepTotals] = field(default_factory=list)
    chunks: list[dict[str, Any]] = field(default_factory=list)
    failed_shards: dict[str, str] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)
    executed_chunks: int = 0
    skipped_inputs: list[str] = field(default_factory=list)  # files in the input folder that are not shards

    @property
    def quarantined(self) -> int:
        """Entries in the quarantine files: unreadable input lines plus pages a mapper raised on."""
        return self.lines_quarantined + self.pages_errored

    def funnel(self) -> dict[str, dict[str, int]]:
        """Step label (``"03 page_length_filter"``) to pages in / out / removed / errors, for asset metadata."""
        return {
            f"{s.position:02d} {s.name}": {"pages_in": s.pages_in, "pages_out": s.pages_out,
                                           "removed": s.removed, "errors": s.errors}
            for s in self.steps
        }

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["quarantined"] = self.quarantined
        data["outputs"] = len(self.outputs)
        return data


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def collect_shard(
    item: tuple[str, str, str, str], storage: Storage
) -> ShardTotals:
    """Ray task: ``(shard name, raw input, stats uri, output uri)`` to that shard's committed totals."""
    name, raw_input, stats_uri, output_uri = item
    stats = StatsFile(stats_uri, storage)
    quarantined = sum(_int(line.get("pages_quarantined")) for line in stats.lines if line["name"] == "process_setup")
    try:
        bytes_out: int | None = storage.size(output_uri)
    except StorageNotFoundError:
        bytes_out = None
    return ShardTotals(
        name=name,
        step_lines=[{k: v for k, v in line.items() if not isinstance(v, dict)}
                    for line in stats.lines if line["name"] not in CONTROL_LINES],
        lines_quarantined=quarantined,
        bytes_in=storage.size(raw_input),
        bytes_out=bytes_out or 0,
        output_uri=output_uri if bytes_out is not None else None,
    )


def summarize(summary: RunSummary, shards: list[ShardTotals], step_names: list[str],
              samples: dict[int, list[dict[str, Any]]]) -> RunSummary:
    """Fill the totals of ``summary`` from the collected shards (failed shards are left out by the caller)."""
    steps = [StepTotals(i, n, samples=samples.get(i, [])[:MAX_SAMPLES_PER_STEP]) for i, n in enumerate(step_names)]
    for shard in shards:
        summary.bytes_in += shard.bytes_in
        summary.bytes_out += shard.bytes_out
        summary.lines_quarantined += shard.lines_quarantined
        if shard.output_uri:
            summary.outputs.append(shard.output_uri)
        if shard.step_lines:
            summary.pages_in += _int(shard.step_lines[0].get("pages_in"))
            summary.pages_out += _int(shard.step_lines[-1].get("pages_out"))
        for i, line in enumerate(shard.step_lines[: len(steps)]):
            steps[i].add(line)
    summary.pages_errored = sum(s.errors for s in steps)
    summary.steps = steps
    return summary


def untokenized_reference(
    name: str, dataset_url: str, size: int, data_key: str, sources: list[dict[str, Any]],
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """DCLM's ``exp_data/datasets/untokenized`` record; a rerun keeps the uuid and creation date it had."""
    commit, diff = _git_state()
    previous = previous or {}
    return {
        "uuid": previous.get("uuid") or str(uuid.uuid4()),
        "name": name,
        "creation_date": previous.get("creation_date") or datetime.now().strftime("%Y_%m_%d-%H_%M_%S"),
        "dataset_url": dataset_url,
        "manifest_url": None,
        "sources": sources,
        "tokenized": False,
        "tokenizer": None,
        "num_tokens": None,
        "size": size,
        "dcnlp_commit_hash": commit,
        "dcnlp_diff": diff,
        "data_key": data_key,
    }


def _git_state() -> tuple[str, str]:
    """This checkout's commit and diff (DCLM records them); empty strings outside a git checkout."""
    root = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        diff = subprocess.run(["git", "-C", str(root), "diff", "HEAD"], capture_output=True, text=True,
                              timeout=20, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return "", ""
    return commit, diff[:MAX_DIFF_CHARS]
