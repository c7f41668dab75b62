"""The leaderboard as one static HTML page: no scripts, no external resources, the plot embedded.

Why so plain: the page shows names strangers chose (dataset names, descriptions, file names), so every string is
HTML-escaped and nothing executes; and it must open from a folder, an S3 static site or a CI artefact alike.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import polars as pl

from dclm_resources.leaderboard.table import OURS

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-bottom: 2em; font-size: 0.9em; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3em 0.7em; text-align: right; }
th { background: #f4f4f4; }
td.text { text-align: left; max-width: 28em; min-width: 5em; overflow-wrap: anywhere; }
tr.ours td { background: #fff4d6; font-weight: 600; }
.note { color: #666; font-size: 0.9em; }
img { max-width: 100%; border: 1px solid #eee; }
"""
COLUMNS: tuple[tuple[str, str], ...] = (
    ("dataset", "dataset"), ("source", "source"), ("model", "model"), ("params", "params"),
    ("tokens", "tokens"), ("train_flops", "train FLOPs"), ("Core", "Core"), ("Extended", "Extended"),
    ("MMLU", "MMLU"), ("perplexity", "eval loss"), ("core_version", "agg."), ("eval_suite", "suite"),
    ("created", "created"),
)
_TEXT = {"dataset", "source", "model", "core_version", "eval_suite"}
_TEXT_ATTR = ' class="text"'


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _human(n: float) -> str:
    for unit, size in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.3g}{unit}"
    return f"{n:g}"


def fmt(column: str, value: Any) -> str:
    if value is None:
        return "&ndash;"
    if column in ("params", "tokens"):
        return esc(_human(float(value)))
    if column == "train_flops":
        return esc(f"{value:.2e}")
    if column in ("Core", "Extended", "MMLU", "perplexity"):
        return esc(f"{value:.4f}")
    if isinstance(value, datetime):
        return esc(value.strftime("%Y-%m-%d"))
    return esc(value)


def _table(rows: pl.DataFrame) -> str:
    head = "<tr><th>#</th>" + "".join(f"<th>{esc(label)}</th>" for _, label in COLUMNS) + "</tr>"
    body = []
    for rank, row in enumerate(rows.iter_rows(named=True), start=1):
        cls = ' class="ours"' if row["source"] == OURS else ""
        cells = "".join(
            f"<td{_TEXT_ATTR if key in _TEXT else ''}>{fmt(key, row[key])}</td>" for key, _ in COLUMNS
        )
        body.append(f"<tr{cls}><td>{rank}</td>{cells}</tr>")
    return f"<table>\n<thead>{head}</thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table>"


def render_html(
    frame: pl.DataFrame,
    plot_png: bytes | None = None,
    title: str = "DCLM leaderboard",
    problems: Sequence[str] = (),
    files: Sequence[tuple[str, str]] = (("leaderboard.csv", "CSV"), ("leaderboard.parquet", "Parquet")),
) -> str:
    """The whole page as a string; ``files`` are (relative link, label) pairs for the downloadable tables."""
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    ours = frame.filter(pl.col("source") == OURS).height
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; '
        "style-src 'unsafe-inline'\">",
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        f'<p class="note">{frame.height} models ({ours} ours, {frame.height - ours} from DCLM); generated '
        f"{esc(generated)}. Downloads: "
        + ", ".join(f'<a href="{esc(link)}">{esc(label)}</a>' for link, label in files) + ".</p>",
        '<p class="note">Core: centered accuracy over DCLM\'s 22 low-variance tasks; Extended: over all 53; MMLU: '
        "5-shot accuracy. Column \"agg.\" gives the aggregation version (DCLM's published table is v1 unless "
        "recomputed). Eval loss: mean token cross-entropy on held-out data. Highlighted rows are ours.</p>",
    ]
    if plot_png:
        encoded = base64.b64encode(plot_png).decode("ascii")
        parts.append(f'<p><img alt="Core against training FLOPs" src="data:image/png;base64,{encoded}"></p>')
    if frame.is_empty():
        parts.append("<p>No eval reports yet.</p>")
    for scale in frame["scale"].fill_null("unknown scale").unique(maintain_order=True).to_list():
        rows = frame.filter(pl.col("scale").fill_null("unknown scale") == scale)
        parts.append(f"<h2>{esc(scale)}</h2>")
        parts.append(_table(rows))
    if problems:
        items = "".join(f"<li>{esc(p)}</li>" for p in problems[:200])
        parts.append(f'<h2>Skipped reports</h2><ul class="note">{items}</ul>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
