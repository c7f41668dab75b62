"""The eval report's chart: centered accuracy per DCLM task category (what a researcher compares first)."""

from __future__ import annotations

import io
from collections.abc import Mapping


def category_bar_png(centered: Mapping[str, float], title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(centered)
    values = [centered[n] for n in names]
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=100)
    colors = ["tab:green" if v >= 0 else "tab:red" for v in values]
    ax.barh(names, values, color=colors)
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set_xlabel("centered accuracy (0 = random baseline, 1 = perfect)")
    ax.set_title(title, fontsize=9)
    if not names:
        ax.text(0.5, 0.5, "no category has a scored task", ha="center", va="center", transform=ax.transAxes)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()
