"""Human-readable views of a processing run: the retention funnel as a Markdown table and as a PNG chart.

The asset shows both in the Dagster UI; the PNG also sits next to the data, so a researcher can compare
funnels of two pipelines without Dagster.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class FunnelRow:
    step: str
    pages_in: int
    pages_out: int
    errors: int = 0

    @property
    def removed(self) -> int:
        return max(self.pages_in - self.pages_out - self.errors, 0)

    @property
    def retention(self) -> float:
        return self.pages_out / self.pages_in if self.pages_in else 0.0


def funnel_markdown(rows: Sequence[FunnelRow], pages_read: int) -> str:
    """One line per step: pages in/out, removed, errors, kept fraction of the step and of the whole pool."""
    lines = [
        "| # | step | pages in | pages out | removed | errors | step retention | of pool | |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for i, row in enumerate(rows, 1):
        of_pool = row.pages_out / pages_read if pages_read else 0.0
        bar = "█" * round(of_pool * 20)
        lines.append(
            f"| {i} | {row.step} | {row.pages_in} | {row.pages_out} | {row.removed} | {row.errors} "
            f"| {row.retention:.1%} | {of_pool:.1%} | {bar} |"
        )
    return "\n".join(lines)


def funnel_png(rows: Sequence[FunnelRow], pages_read: int, title: str) -> bytes:
    """A horizontal bar chart of pages left after each step (first step at the top)."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and Ray workers
    import matplotlib.pyplot as plt

    labels = ["input", *[f"{i}. {r.step}" for i, r in enumerate(rows, 1)]]
    values = [pages_read, *[r.pages_out for r in rows]]
    height = max(2.5, 0.32 * len(labels) + 1.2)
    fig, ax = plt.subplots(figsize=(9, height), dpi=100)
    try:
        positions = list(range(len(labels)))[::-1]
        ax.barh(positions, values, color="#4f7cac")
        ax.set_yticks(positions, labels, fontsize=8)
        for pos, value in zip(positions, values, strict=True):
            share = value / pages_read if pages_read else 0.0
            ax.text(value, pos, f" {value} ({share:.0%})", va="center", fontsize=7)
        ax.set_xlabel("pages kept")
        ax.set_title(title, fontsize=10)
        ax.set_xlim(0, max(values + [1]) * 1.18)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(fig)
