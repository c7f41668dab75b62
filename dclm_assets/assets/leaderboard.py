"""leaderboard: every eval report under the DCLM home as one table (Parquet + CSV), a static page and a plot.

Unpartitioned and downstream of every ``eval_report`` partition (an all-partitions mapping), so a new or updated
report marks it stale in the UI and a submission's backfill rebuilds it last. The table is rebuilt from the files
on each materialization (reports written by the CLI count too); optionally merged with DCLM's published table.
"""

import dagster as dg
import polars as pl
from pydantic import Field

from dclm_resources.leaderboard import (
    DEFAULT_EVAL_PATTERN,
    OURS,
    SCHEMA,
    LeaderboardResult,
    default_rescorer,
    update_leaderboard,
)
from dclm_resources.storage_resource import StorageResource

# The columns of DCLM's table that the UI shows for our rows, in DCLM's order (plus our scale).
SUMMARY_COLUMNS = ("model", "dataset", "scale", "params", "tokens", "Core", "Extended", "MMLU")
MAX_TABLE_ROWS = 100
_POLARS_TYPES = {pl.String: "string", pl.Int64: "int", pl.Float64: "float", pl.Datetime: "datetime"}


class LeaderboardConfig(dg.Config):
    dclm_csv: str = Field(
        default="",
        description="DCLM_model_database.csv (local path or s3://) to merge DCLM's published models into the table; "
        "empty: our reports only.",
    )
    eval_pattern: str = Field(
        default=DEFAULT_EVAL_PATTERN,
        description="Where eval JSONs are, relative to the DCLM home: {scale} and {dataset} name path segments, "
        "* matches within a segment, ** across segments.",
    )
    title: str = Field(default="DCLM leaderboard", description="Heading of the static page and the plot.")


@dg.asset(
    deps=[dg.AssetDep("eval_report", partition_mapping=dg.AllPartitionMapping())],
    group_name="leaderboard",
    kinds={"polars", "parquet", "html"},
    code_version="1",
)
def leaderboard(
    context: dg.AssetExecutionContext, config: LeaderboardConfig, storage: StorageResource
) -> dg.MaterializeResult:
    """DCLM's leaderboard columns (model, params, tokens, Core, Extended, MMLU, dataset) for every eval report,
    with a static HTML page and a plot of Core against training FLOPs per scale."""
    layout, store = storage.layout(), storage.storage()
    result = update_leaderboard(
        layout.home,
        layout.leaderboard_dir(),
        store,
        dclm_csv=config.dclm_csv or None,
        eval_pattern=config.eval_pattern,
        rescore=default_rescorer(),
        title=config.title,
    )
    for problem in result.problems:
        context.log.warning(f"leaderboard: skipped {problem}")
    context.log.info(
        f"leaderboard: {result.ours.height} of our reports, {result.frame.height} rows -> {result.files.html}"
    )
    return dg.MaterializeResult(metadata=leaderboard_metadata(result))


def leaderboard_metadata(result: LeaderboardResult) -> dict[str, dg.MetadataValue]:
    ours = result.ours
    return {
        "dagster/row_count": dg.MetadataValue.int(result.frame.height),
        "dagster/column_schema": dg.MetadataValue.table_schema(
            dg.TableSchema(columns=[dg.TableColumn(name, _type_name(dtype)) for name, dtype in SCHEMA.items()])
        ),
        "our_rows": dg.MetadataValue.int(ours.height),
        "dclm_rows": dg.MetadataValue.int(result.frame.height - ours.height),
        "ours": dg.MetadataValue.md(rows_markdown(ours)),
        "problems": dg.MetadataValue.json(result.problems[:50]),
        "parquet": dg.MetadataValue.path(result.files.parquet),
        "csv": dg.MetadataValue.path(result.files.csv),
        "html": dg.MetadataValue.path(result.files.html),
        "plot": dg.MetadataValue.path(result.files.plot),
    }


def _type_name(dtype: pl.DataType) -> str:
    return next((name for kind, name in _POLARS_TYPES.items() if isinstance(dtype, kind)), str(dtype))


def _cell(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def rows_markdown(frame: pl.DataFrame, limit: int = MAX_TABLE_ROWS) -> str:
    """Our rows as a markdown table in the leaderboard's order (the UI renders it on the materialization)."""
    if frame.is_empty():
        return f"no eval reports yet ({OURS} rows appear once an eval_report partition is materialized)"
    lines = ["| " + " | ".join(SUMMARY_COLUMNS) + " |", "|" + "---|" * len(SUMMARY_COLUMNS)]
    for row in frame.head(limit).select(SUMMARY_COLUMNS).iter_rows():
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    if frame.height > limit:
        lines.append(f"\n... and {frame.height - limit} more rows (all in the Parquet and CSV files)")
    return "\n".join(lines)
