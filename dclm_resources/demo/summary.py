"""What the demo prints at the end: the leaderboard row of its model and where everything is.

The row has DCLM's leaderboard columns that make sense for the demo (model, dataset, scale, params, tokens, Core)
plus the two numbers the offline demo can always compute: held-out perplexity and cloze accuracy. Core is
"N/A (DCLM suites not run)" when no suite task was scored, so nobody mistakes a missing score for a bad one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from dclm_resources.demo.cloze import CLOZE_LABEL
from dclm_resources.storage import Storage

NOT_RUN = "N/A (DCLM suites not run)"
EVAL_DATA_HINT = "`dclm eval-data fetch --dest DIR`, then `dclm demo --eval-data DIR` (or set DCLM_EVAL_DATA)"


@dataclass(frozen=True)
class LeaderboardRow:
    model: str
    dataset: str
    scale: str
    params: int
    tokens: int
    core: float | str
    perplexity: float | None  # DCLM's eval_metrics.perplexity: the mean held-out loss
    cloze_accuracy: float | None
    suite: str = "core"
    suite_tasks_scored: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _core(eval_json: Mapping[str, Any], scored: int) -> float | str:
    if scored == 0:
        return NOT_RUN
    value = eval_json.get("Core")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return str(value)  # DCLM's "N/A due to missing tasks: [...]" string for a partial suite


def leaderboard_row(
    eval_json: Mapping[str, Any],
    *,
    dataset: str,
    scale: str,
    params: int,
    tokens: int,
    suite_labels: Sequence[str],
    cloze_label: str = CLOZE_LABEL,
) -> LeaderboardRow:
    """The demo's row from its eval JSON and the checkpoint's parameter and token counts."""
    metrics = eval_json.get("eval_metrics") or {}
    icl = metrics.get("icl") or {}
    scored = sum(1 for label in suite_labels if label in icl)
    perplexity = metrics.get("perplexity")
    cloze = icl.get(cloze_label)
    return LeaderboardRow(
        model=str(eval_json.get("model", "")),
        dataset=dataset,
        scale=scale,
        params=int(params),
        tokens=int(tokens),
        core=_core(eval_json, scored),
        perplexity=float(perplexity) if perplexity is not None else None,
        cloze_accuracy=float(cloze) if cloze is not None else None,
        suite=str(eval_json.get("name", "")),
        suite_tasks_scored=scored,
    )


def _num(value: float | None, fmt: str) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, fmt)


def format_row(row: LeaderboardRow) -> str:
    """A small two-line table (header, values) for the terminal."""
    core = row.core if isinstance(row.core, str) else f"{row.core:.4f}"
    if isinstance(row.core, str) and len(core) > 60:
        core = core[:57] + "..."
    ppl = "n/a" if row.perplexity is None else f"{row.perplexity:.4f} (exp {math.exp(row.perplexity):,.1f})"
    cells = [
        ("model", row.model), ("dataset", row.dataset), ("scale", row.scale), ("params", f"{row.params:,}"),
        ("tokens", f"{row.tokens:,}"), ("Core", core), ("perplexity (loss)", ppl),
        ("cloze acc", _num(row.cloze_accuracy, ".4f")),
    ]
    return "\n".join(f"  {name:<18} {value}" for name, value in cells)


@dataclass
class DemoReport:
    """Everything one `dclm demo` run did: timings per step, the row, and the files to look at."""

    home: str
    dagster_home: str
    steps: list[dict[str, Any]] = field(default_factory=list)  # {name, seconds, skipped, note}
    row: dict[str, Any] | None = None
    files: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    total_seconds: float = 0.0

    def write(self, uri: str, storage: Storage | None = None) -> None:
        (storage or Storage()).write_text(uri, json.dumps(asdict(self), indent=2) + "\n")

    def text(self) -> str:
        """The end of the demo's output: the row, the notes, the files and the command to browse the runs."""
        lines = [f"\nLeaderboard row ({self.total_seconds:.0f}s in all):"]
        if self.row is not None:
            lines.append(format_row(LeaderboardRow(**self.row)))
        lines += [f"Note: {note}" for note in self.notes]
        lines.append("\nWhere to look:")
        lines += [f"  {name:<20} {path}" for name, path in self.files.items()]
        lines.append(f"\nBrowse the materializations: DAGSTER_HOME={self.dagster_home} dagster dev -w workspace.yaml")
        return "\n".join(lines)
