"""DCLM-Baseline's filtering chain as three assets: heuristics -> BFF near-dedup -> fastText quality filter.

Each stage is its own partitioned asset so a researcher can re-run one (a new BFF threshold, another quality
threshold) without recomputing the others, and the graph reads in DCLM-Baseline's order.
"""

from pathlib import Path

import dagster as dg
from dagster_ray import RayResource
from pydantic import Field

from dclm_assets.partitions import dataset_partitions
from dclm_resources.processing.bff_stage import BffSettings, run_bff_stage
from dclm_resources.processing.report import FunnelRow, funnel_markdown, funnel_png
from dclm_resources.processing.run_summary import RunSummary
from dclm_resources.processing.runner import process_dataset
from dclm_resources.processing.threshold import read_keep_fraction_record, with_keep_fraction
from dclm_resources.storage import basename, is_s3, join_uri
from dclm_resources.storage_resource import StorageResource

PIPELINES_DIR = Path(__file__).resolve().parent.parent / "configs" / "pipelines"


class PipelineConfig(dg.Config):
    pipeline: str = Field(description="A pipeline YAML in DCLM's format: a name under dclm_assets/configs/pipelines or a path.")
    source_name: str = Field(default="cc", description="Which `source` entry of the YAML to run.")
    resource_dirs: list[str] = Field(
        default_factory=list,
        description="Folders holding the banlists and models the YAML names (also $DCLM_RESOURCE_DIRS).",
    )
    overwrite: bool = Field(default=False, description="Start from scratch instead of resuming finished shards.")
    ignore_failures: bool = Field(default=False, description="Finish with the shards that succeeded.")
    allow_custom_operators: bool = Field(
        default=False, description="Allow dotted-path operators in the YAML (they run arbitrary code)."
    )


class HeuristicConfig(PipelineConfig):
    pipeline: str = Field(default="dclm_baseline_refinedweb.yaml", description=PipelineConfig.model_fields["pipeline"].description)


class QualityConfig(PipelineConfig):
    pipeline: str = Field(default="fasttext_filter.yaml", description=PipelineConfig.model_fields["pipeline"].description)
    keep_fraction: float | None = Field(
        default=None,
        description="None: the YAML's fixed quality_filter threshold. Set (0 < f <= 1): keep the top f of the "
        "pages by the quality_filter's key (keep_fraction_filter); the computed threshold is reported.",
    )


class BffConfig(dg.Config):
    min_ngram_size: int = Field(default=13, description="DCLM-Baseline: 13-grams.")
    max_ngram_size: int = Field(default=13, description="DCLM-Baseline: 13-grams.")
    filtering_threshold: float = Field(default=0.8, description="Fraction of contained n-grams that marks a duplicate.")
    fp_rate: float = Field(default=0.01, description="Bloom filter false-positive rate per n-gram.")
    expected_ngram_count: int = Field(default=0, description="Filter sizing; 0 counts the n-grams of the input first.")
    remove_type: str = Field(default="old-both", description="old-both (DCLM), paragraph, document, ...")
    annotate: bool = Field(default=False, description="Annotate duplicate spans instead of removing them.")


def pipeline_path(name: str) -> str:
    """A bare name is one of the shipped DCLM configs; anything else is a path or URI as given."""
    shipped = PIPELINES_DIR / name
    return str(shipped) if "/" not in name and shipped.exists() else name


def _run_pipeline(
    context: dg.AssetExecutionContext, config: PipelineConfig, storage: StorageResource, inputs: str, stage: str
) -> dg.MaterializeResult:
    dataset = context.partition_key
    layout, store = storage.layout(), storage.storage()
    output = layout.filtered_stage_dir(dataset, stage)
    summary = process_dataset(
        pipeline_path(config.pipeline),
        config.source_name,
        inputs,
        output,
        store,
        readable_name=f"{dataset}_{stage}",
        overwrite=config.overwrite,
        ignore_failures=config.ignore_failures,
        allow_custom=config.allow_custom_operators,
        resource_dirs=config.resource_dirs,
        progress=False,
    )
    context.log.info(f"{stage} [{dataset}]: {summary.pages_in} pages in, {summary.pages_out} out -> {output}")
    return dg.MaterializeResult(metadata=run_metadata(summary, store, f"{dataset}: {config.pipeline}"))


def run_metadata(summary: RunSummary, store, title: str) -> dict[str, dg.MetadataValue]:  # noqa: ANN001
    rows = [FunnelRow(s.name, s.pages_in, s.pages_out, s.errors) for s in summary.steps]
    plot_uri = join_uri(summary.base_output_path, "funnel.png")
    store.write_bytes(plot_uri, funnel_png(rows, summary.pages_in, title))
    samples = {f"{s.position:02d} {s.name}": s.samples for s in summary.steps if s.samples}
    return {
        "pages_in": dg.MetadataValue.int(summary.pages_in),
        "pages_out": dg.MetadataValue.int(summary.pages_out),
        "bytes_in": dg.MetadataValue.int(summary.bytes_in),
        "bytes_out": dg.MetadataValue.int(summary.bytes_out),
        "quarantined": dg.MetadataValue.int(summary.quarantined),
        "retention": dg.MetadataValue.float(summary.pages_out / summary.pages_in if summary.pages_in else 0.0),
        "funnel": dg.MetadataValue.md(funnel_markdown(rows, summary.pages_in)),
        "funnel_plot": dg.MetadataValue.path(plot_uri),
        "removed_samples": dg.MetadataValue.json(samples),
        "failed_shards": dg.MetadataValue.json(summary.failed_shards),
        "dataset_url": dg.MetadataValue.path(summary.dataset_url),
        "reference": dg.MetadataValue.path(summary.reference_uri or ""),
        "global_stats": dg.MetadataValue.path(summary.global_stats_uri),
    }


@dg.asset(
    partitions_def=dataset_partitions,
    deps=["raw_pool"],
    group_name="data",
    kinds={"ray"},
    code_version="1",
)
def heuristic_filtered(
    context: dg.AssetExecutionContext, config: HeuristicConfig, storage: StorageResource, ray: RayResource
) -> dg.MaterializeResult:
    """The raw pool after DCLM's heuristic pipeline (dclm_baseline_refinedweb.yaml by default)."""
    layout = storage.layout()
    return _run_pipeline(context, config, storage, layout.raw_pool_reference(context.partition_key), "heuristic")


@dg.asset(
    partitions_def=dataset_partitions,
    deps=[heuristic_filtered],
    group_name="data",
    kinds={"ray"},
    code_version="1",
)
def deduplicated_dataset(
    context: dg.AssetExecutionContext, config: BffConfig, storage: StorageResource, ray: RayResource
) -> dg.MaterializeResult:
    """Heuristically filtered pages after BFF near-duplicate removal (DCLM: 13-grams, 0.8, old-both)."""
    dataset = context.partition_key
    layout, store = storage.layout(), storage.storage()
    settings = BffSettings(**config.model_dump())
    result = run_bff_stage(
        join_uri(layout.filtered_stage_dir(dataset, "heuristic"), "processed_data"),
        layout.filtered_stage_dir(dataset, "bff"),
        store,
        settings,
        readable_name=f"{dataset}_bff",
    )
    context.log.info(f"bff [{dataset}]: {result.pages_in} pages in, {result.pages_out} out")
    return dg.MaterializeResult(
        metadata={
            "pages_in": dg.MetadataValue.int(result.pages_in),
            "pages_out": dg.MetadataValue.int(result.pages_out),
            "bytes_in": dg.MetadataValue.int(result.bytes_in),
            "bytes_out": dg.MetadataValue.int(result.bytes_out),
            "retention": dg.MetadataValue.float(result.pages_out / result.pages_in if result.pages_in else 0.0),
            "bloom_filter_bytes": dg.MetadataValue.int(result.filter_bytes),
            "expected_ngram_count": dg.MetadataValue.int(result.expected_ngram_count),
            "dataset_url": dg.MetadataValue.path(result.dataset_url),
            "reference": dg.MetadataValue.path(result.reference_uri),
        }
    )


@dg.asset(
    partitions_def=dataset_partitions,
    deps=[deduplicated_dataset, "quality_classifier"],
    group_name="data",
    kinds={"ray"},
    code_version="1",
)
def filtered_dataset(
    context: dg.AssetExecutionContext, config: QualityConfig, storage: StorageResource, ray: RayResource
) -> dg.MaterializeResult:
    """The curated dataset: deduplicated pages kept by the fastText quality filter (fasttext_filter.yaml).

    The YAML's model file is looked up in the configured resource folders, then in ``<home>/models`` (where
    quality_classifier writes). With ``keep_fraction`` a derived YAML is written next to the outputs.
    """
    layout, store = storage.layout(), storage.storage()
    dataset = context.partition_key
    inputs = join_uri(layout.filtered_stage_dir(dataset, "bff"), "processed_data")
    output = layout.filtered_stage_dir(dataset, "quality")
    updates: dict[str, object] = {}
    if not is_s3(layout.models_dir()):
        updates["resource_dirs"] = [*config.resource_dirs, layout.models_dir()]
    if config.keep_fraction is not None:
        source = pipeline_path(config.pipeline)
        derived = join_uri(output, f"{basename(source).rsplit('.', 1)[0]}_keep_fraction.yaml")
        updates["pipeline"] = with_keep_fraction(source, config.source_name, config.keep_fraction, store, derived)
    result = _run_pipeline(context, config.model_copy(update=updates), storage, inputs, "quality")
    record = read_keep_fraction_record(output, store) if config.keep_fraction is not None else None
    if record is None:
        return result
    if record["keep_fraction"] != config.keep_fraction:
        context.log.warning(
            f"quality [{dataset}]: the finished run used keep_fraction {record['keep_fraction']}, not "
            f"{config.keep_fraction}; rerun with overwrite to recompute"
        )
    context.log.info(f"quality [{dataset}]: keep_fraction {record['keep_fraction']} -> threshold {record['threshold']}")
    threshold = record["threshold"]
    extra = {
        "keep_fraction": dg.MetadataValue.float(float(record["keep_fraction"])),
        "quality_threshold": dg.MetadataValue.float(threshold)
        if threshold is not None
        else dg.MetadataValue.text("none (no page has a score)"),
        "pages_missing_key": dg.MetadataValue.int(record["pages_missing_key"]),
        "derived_pipeline": dg.MetadataValue.path(str(updates["pipeline"])),
    }
    return dg.MaterializeResult(metadata={**(result.metadata or {}), **extra})
