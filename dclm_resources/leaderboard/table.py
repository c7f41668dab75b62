"""The leaderboard table: one schema for our rows and DCLM's, sorted per scale, written as Parquet and CSV.

Columns follow DCLM's table (model, params, tokens, Core, Extended, MMLU, dataset) plus what a reader of a
mixed table needs: the scale, training FLOPs (6 N D), which source a row comes from, which Core version its
numbers are, the eval suite and file, and when it was evaluated.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from dclm_resources.storage import Storage, join_uri

SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "dataset": pl.String(),
    "scale": pl.String(),
    "model": pl.String(),
    "params": pl.Int64(),
    "tokens": pl.Int64(),
    "train_flops": pl.Float64(),
    "Core": pl.Float64(),
    "Extended": pl.Float64(),
    "MMLU": pl.Float64(),
    "core_version": pl.String(),
    "perplexity": pl.Float64(),
    "eval_suite": pl.String(),
    "eval_file": pl.String(),
    "model_uuid": pl.String(),
    "created": pl.Datetime("us", "UTC"),
}
OURS, DCLM = "ours", "dclm"
# Scale order on the page: the CPU scales, then DCLM's competition scales by compute.
SCALE_ORDER = ("micro", "small", "400m-1x", "1b-1x", "1b-5x", "3b-1x", "7b-1x", "7b-2x")


def to_frame(rows: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """Rows (dicts with the schema's keys, ``train_flops`` optional) -> a frame with exactly the schema."""
    records = [{k: row.get(k) for k in SCHEMA} for row in rows]
    frame = pl.DataFrame(records, schema=SCHEMA) if records else pl.DataFrame(schema=SCHEMA)
    return frame.with_columns(
        pl.when(pl.col("params").is_not_null() & pl.col("tokens").is_not_null())
        .then(6.0 * pl.col("params").cast(pl.Float64) * pl.col("tokens").cast(pl.Float64))
        .otherwise(pl.col("train_flops"))
        .alias("train_flops")
    )


def build_leaderboard(*parts: pl.DataFrame) -> pl.DataFrame:
    """Concatenate row sets and sort: scale (known order, then by compute), ours before DCLM's, best Core first."""
    frame = pl.concat([p.select(list(SCHEMA)) for p in parts], how="vertical") if parts else to_frame([])
    order = {name: i for i, name in enumerate(SCALE_ORDER)}
    return (
        frame.with_columns(
            pl.col("scale").replace_strict(order, default=len(order), return_dtype=pl.Int64).alias("_scale_rank"),
            (pl.col("source") != OURS).alias("_not_ours"),
        )
        .sort(["_scale_rank", "scale", "_not_ours", "Core", "dataset"],
              descending=[False, False, False, True, False], nulls_last=True)
        .drop(["_scale_rank", "_not_ours"])
    )


@dataclass(frozen=True)
class LeaderboardFiles:
    parquet: str
    csv: str
    html: str
    plot: str


def write_table(frame: pl.DataFrame, out_dir: str, storage: Storage) -> tuple[str, str]:
    """``leaderboard.parquet`` and ``leaderboard.csv`` under ``out_dir``, each written atomically."""
    parquet_uri = join_uri(out_dir, "leaderboard.parquet")
    csv_uri = join_uri(out_dir, "leaderboard.csv")
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    storage.write_bytes(parquet_uri, buffer.getvalue())
    storage.write_text(csv_uri, frame.write_csv())
    return parquet_uri, csv_uri


def read_table(uri: str, storage: Storage) -> pl.DataFrame:
    """Read back a written ``leaderboard.parquet``."""
    return pl.read_parquet(io.BytesIO(storage.read_bytes(uri)))
