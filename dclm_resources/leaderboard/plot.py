"""Core against training compute, one marker and colour per scale, our models highlighted (DCLM's Figure 1 view).

Why this plot: DCLM's question is "how good a dataset is at a given compute", so the x axis is training FLOPs
(6 N D, log scale) and each scale forms a vertical band; a dataset that beats DCLM's at equal compute stands above
that band's grey points.
"""

from __future__ import annotations

import io

import polars as pl

from dclm_resources.leaderboard.table import OURS, SCALE_ORDER

_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")
MAX_LABELS = 20
OTHER = "other scales"
_COLOUR_INDEX = (0, 1, 2, 3, 4, 5, 6, 8, 9)  # tab10 without its grey, which marks the other scales


def core_vs_flops_png(frame: pl.DataFrame, title: str = "Core vs training compute") -> bytes:
    """A PNG of the scored rows (Core and train_flops both known); a note instead of points when there are none."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scored = frame.filter(pl.col("Core").is_not_null() & pl.col("train_flops").is_not_null()).with_columns(
        pl.when(pl.col("scale").is_in(list(SCALE_ORDER))).then(pl.col("scale")).otherwise(pl.lit(OTHER))
        .alias("_group")
    )
    groups = [s for s in (*SCALE_ORDER, OTHER) if s in set(scored["_group"].to_list())]
    colours = plt.get_cmap("tab10")
    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=110)
    try:
        for scale in groups:
            rows = scored.filter(pl.col("_group") == scale)
            i = (SCALE_ORDER + (OTHER,)).index(scale)
            marker = _MARKERS[i % len(_MARKERS)]
            colour = "grey" if scale == OTHER else colours(_COLOUR_INDEX[i % len(_COLOUR_INDEX)])
            for source, style in ((None, "dclm"), (OURS, OURS)):
                part = rows.filter(pl.col("source") == OURS) if source else rows.filter(pl.col("source") != OURS)
                if part.is_empty():
                    continue
                ours = style == OURS
                ax.scatter(
                    part["train_flops"].to_list(), part["Core"].to_list(), marker=marker, color=colour,
                    s=90 if ours else 22, alpha=1.0 if ours else 0.45, edgecolors="black" if ours else "none",
                    linewidths=1.2, zorder=3 if ours else 2,
                    label=f"{scale} ({'ours' if ours else 'DCLM'})",
                )
        labelled = scored.filter(pl.col("source") == OURS).head(MAX_LABELS)
        for row in labelled.iter_rows(named=True):
            ax.annotate(str(row["dataset"] or "?")[:28], (row["train_flops"], row["Core"]),
                        xytext=(6, 4), textcoords="offset points", fontsize=7)
        if scored.is_empty():
            ax.text(0.5, 0.5, "no scored models yet (Core needs the DCLM core suite)", ha="center", va="center",
                    transform=ax.transAxes, fontsize=10, color="grey")
        else:
            ax.set_xscale("log")
            ax.legend(fontsize=7, loc="best", ncol=2)
        ax.set_xlabel("training FLOPs (6 x params x tokens)")
        ax.set_ylabel("Core (centered accuracy, 22 low-variance tasks)")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.25)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(fig)
