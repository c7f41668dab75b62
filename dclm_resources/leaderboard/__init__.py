"""The leaderboard engine: every eval report (plus, optionally, DCLM's published table) as one table, a static
page and a Core-vs-compute plot. Plain Python; the ``leaderboard`` asset calls ``update_leaderboard``."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from dclm_resources.leaderboard.collect import (
    DEFAULT_EVAL_PATTERN,
    DEFAULT_MODEL_PATTERNS,
    LeaderboardError,
    PathPattern,
    collect_eval_rows,
    find_files,
)
from dclm_resources.leaderboard.dclm_table import Rescorer, default_rescorer, load_dclm_table, scale_label
from dclm_resources.leaderboard.html import render_html
from dclm_resources.leaderboard.plot import core_vs_flops_png
from dclm_resources.leaderboard.table import (
    DCLM,
    OURS,
    SCHEMA,
    LeaderboardFiles,
    build_leaderboard,
    read_table,
    to_frame,
    write_table,
)
from dclm_resources.storage import Storage, join_uri

__all__ = [
    "DCLM",
    "DEFAULT_EVAL_PATTERN",
    "DEFAULT_MODEL_PATTERNS",
    "OURS",
    "SCHEMA",
    "LeaderboardError",
    "LeaderboardFiles",
    "LeaderboardResult",
    "PathPattern",
    "Rescorer",
    "build_leaderboard",
    "collect_eval_rows",
    "core_vs_flops_png",
    "default_rescorer",
    "find_files",
    "load_dclm_table",
    "read_table",
    "render_html",
    "scale_label",
    "to_frame",
    "update_leaderboard",
    "write_table",
]


@dataclass(frozen=True)
class LeaderboardResult:
    frame: pl.DataFrame
    files: LeaderboardFiles
    problems: list[str]

    @property
    def ours(self) -> pl.DataFrame:
        return self.frame.filter(pl.col("source") == OURS)


def update_leaderboard(
    root: str,
    out_dir: str,
    storage: Storage,
    *,
    dclm_csv: str | None = None,
    eval_pattern: str = DEFAULT_EVAL_PATTERN,
    model_patterns: tuple[str, ...] = DEFAULT_MODEL_PATTERNS,
    rescore: Rescorer | None = None,
    title: str = "DCLM leaderboard",
    strict: bool = False,
) -> LeaderboardResult:
    """Collect every report under ``root``, merge DCLM's CSV if given, and write the table, page and plot.

    ``rescore`` recomputes Core/Extended of DCLM's rows from their per-task columns (see ``default_rescorer``).
    Every file is written atomically; the HTML embeds the plot, which is also written as a PNG beside it.
    """
    rows, problems = collect_eval_rows(root, storage, eval_pattern, model_patterns, strict=strict)
    parts = [to_frame(rows)]
    if dclm_csv:
        parts.append(to_frame(load_dclm_table(dclm_csv, storage, rescore)))
    frame = build_leaderboard(*parts)
    parquet_uri, csv_uri = write_table(frame, out_dir, storage)
    png = core_vs_flops_png(frame, title=f"{title}: Core vs training compute")
    plot_uri = join_uri(out_dir, "core_vs_flops.png")
    storage.write_bytes(plot_uri, png)
    html_uri = join_uri(out_dir, "index.html")
    storage.write_text(html_uri, render_html(frame, png, title=title, problems=problems))
    return LeaderboardResult(frame, LeaderboardFiles(parquet_uri, csv_uri, html_uri, plot_uri), problems)
