"""DCLM-Baseline's filtering chain as three assets: heuristics -> BFF near-dedup -> fastText quality filter.

Each stage is its own partitioned asset so a researcher can re-run one (a new BFF threshold, another quality
threshold) without recomputing the others, and the graph reads in DCLM-Baseline's order.

Checks, evaluated with each materialization and blocking (a failure fails the step, so nothing downstream in the
run builds on it): ``stats_add_up`` (every page a stage read is kept, removed or quarantined, step by step, and a
stage read what the stage before it wrote) and, on the heuristic and quality stages, ``retention_within_bounds``
(pages out / pages in between the config's ``min_retention`` and ``max_retention``).

The heuristic stage runs the dataset's registered pipeline when its config leaves ``pipeline`` empty: that is
how a submission's choice (``pipeline`` / ``source_name`` in its registry record) reaches the run.
"""

from itertools import pairwise
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
from dclm_resources.registry import registered_record
from dclm_resources.storage import basename, is_s3, join_uri
from dclm_resources.storage_resource import StorageResource

PIPELINES_DIR = Path(__file__).resolve().parent.parent / "configs" / "pipelines"
DEFAULT_HEURISTIC_PIPELINE = "dclm_baseline_refinedweb.yaml"
DEFAULT_SOURCE_NAME = "cc"
STATS_CHECK = "stats_add_up"
RETENTION_CHECK = "retention_within_bounds"


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
    min_retention: float = Field(
        default=0.0001, description="Check retention_within_bounds: fail below this pages out / pages in (0..1)."
    )
    max_retention: float = Field(
        default=1.0, description="Check retention_within_bounds: fail above this pages out / pages in (0..1)."
    )

    def retention_bounds(self) -> tuple[float, float]:
        """(min, max), validated before any work so a typo fails the run at once, naming the key."""
        for key in ("min_retention", "max_retention"):
            value = getattr(self, key)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"config key {key!r} must be within 0..1 (a fraction of pages), got {value}")
        if self.min_retention > self.max_retention:
            raise ValueError(
                f"config key 'min_retention' ({self.min_retention}) is above 'max_retention' ({self.max_retention})"
            )
        return self.min_retention, self.max_retention


class HeuristicConfig(PipelineConfig):
    pipeline: str = Field(
        default="",
        description="A pipeline YAML in DCLM's format: a name under dclm_assets/configs/pipelines or a path. Empty: "
        f"the dataset's registered pipeline (a submission's choice), else {DEFAULT_HEURISTIC_PIPELINE}.",
    )
    source_name: str = Field(
        default="",
        description="Which `source` entry of the YAML to run. Empty: the registered one with a registered "
        f"pipeline, else {DEFAULT_SOURCE_NAME!r}.",
    )


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
) -> tuple[RunSummary, dict[str, dg.MetadataValue]]:
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
    return summary, run_metadata(summary, store, f"{dataset}: {config.pipeline}")


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


def heuristic_choice(config: HeuristicConfig, layout, store, dataset: str) -> tuple[str, str, str]:  # noqa: ANN001
    """(pipeline, source_name, where the choice came from): config, then the dataset's registration, then
    DCLM-Baseline's heuristics. A registered source_name belongs to the registered pipeline only."""
    record = registered_record(layout, store, dataset) or {}
    for key in ("pipeline", "source_name"):
        if record.get(key) is not None and not isinstance(record[key], str):
            raise ValueError(f"{layout.registry_file(dataset)}: key {key!r} must be a string, got {record[key]!r}")
    if config.pipeline:
        return config.pipeline, config.source_name or DEFAULT_SOURCE_NAME, "config"
    if record.get("pipeline"):
        origin = "submission" if record.get("submission_sha256") else "registry"
        return record["pipeline"], config.source_name or record.get("source_name") or DEFAULT_SOURCE_NAME, origin
    return DEFAULT_HEURISTIC_PIPELINE, config.source_name or DEFAULT_SOURCE_NAME, "default"


def step_problems(summary: RunSummary) -> list[str]:
    """Every accounting identity of a processing run that does not hold (empty: the stats add up).

    Per step: pages in = kept + split + removed + errors (quarantined); a global step (dedup) records no kept/split,
    so its survivors are its pages out. Between steps: a step reads what the previous one wrote.
    """
    problems = []
    steps = [s for s in summary.steps if s.shards]
    for s in steps:
        label = f"step {s.position:02d} {s.name}"
        survivors = s.kept + s.split if (s.kept or s.split) else s.pages_out
        if s.pages_in != survivors + s.removed + s.errors:
            problems.append(f"{label}: {s.pages_in} pages in != {survivors} kept + {s.removed} removed + "
                            f"{s.errors} quarantined")
        if (s.kept or s.split) and (s.pages_out != s.kept if not s.split else s.pages_out < s.kept + 2 * s.split):
            problems.append(f"{label}: {s.pages_out} pages out do not match {s.kept} kept and {s.split} split")
    for before, after in pairwise(steps):
        if before.pages_out != after.pages_in:
            problems.append(f"step {after.position:02d} {after.name} read {after.pages_in} pages but step "
                            f"{before.position:02d} {before.name} wrote {before.pages_out}")
    return problems


def upstream_pages_out(context: dg.AssetExecutionContext, asset: str) -> int | None:
    """pages_out of the latest materialization of ``asset`` for this partition (None: not recorded in Dagster)."""
    found = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[context.partition_key]), limit=1
    ).records
    value = found[0].asset_materialization.metadata.get("pages_out") if found and found[0].asset_materialization else None
    return int(value.value) if value is not None and isinstance(value.value, int) else None


def stats_check(
    pages_read: int, kept: int, removed: int, quarantined: int, problems: list[str],
    upstream: tuple[str, int | None] | None = None, created: int = 0,
) -> dg.AssetCheckResult:
    """``stats_add_up``: pages read = kept + removed + quarantined - pages that splits created, and the stage
    read what its upstream stage wrote when Dagster recorded that."""
    problems = list(problems)
    if upstream is not None and upstream[1] is not None and upstream[1] != pages_read:
        problems.append(f"read {pages_read} pages but {upstream[0]} wrote {upstream[1]} (stale outputs? rerun "
                        "with overwrite)")
    return dg.AssetCheckResult(
        check_name=STATS_CHECK,
        passed=not problems,
        description=f"{pages_read} pages read = {kept} kept + {removed} removed + {quarantined} quarantined"
        + (f" - {created} created by splits" if created else "")
        + ("" if not problems else f"; {len(problems)} identities do not hold"),
        metadata={
            "pages_read": dg.MetadataValue.int(pages_read),
            "kept": dg.MetadataValue.int(kept),
            "removed": dg.MetadataValue.int(removed),
            "quarantined": dg.MetadataValue.int(quarantined),
            "upstream_pages_out": dg.MetadataValue.int(upstream[1])
            if upstream and upstream[1] is not None
            else dg.MetadataValue.text("not recorded"),
            "problems": dg.MetadataValue.json(problems[:50]),
        },
    )


def run_stats_check(summary: RunSummary, upstream: tuple[str, int | None] | None = None) -> dg.AssetCheckResult:
    removed = sum(s.removed for s in summary.steps)
    created = sum(s.pages_out - s.kept - s.split for s in summary.steps if s.split)
    problems = step_problems(summary)
    read = summary.pages_in + summary.lines_quarantined
    if read + created != summary.pages_out + removed + summary.quarantined:
        problems.append(f"{read} read + {created} created by splits != {summary.pages_out} kept + {removed} "
                        f"removed + {summary.quarantined} quarantined")
    return stats_check(read, summary.pages_out, removed, summary.quarantined, problems, upstream, created)


def retention_check(pages_in: int, pages_out: int, bounds: tuple[float, float]) -> dg.AssetCheckResult:
    """``retention_within_bounds``: pages out / pages in of the stage within the configured bounds."""
    low, high = bounds
    retention = pages_out / pages_in if pages_in else None
    if retention is None:
        verdict = "no pages read"
    elif retention < low:
        verdict = f"below min_retention {low:g}: the filter removes almost everything (threshold or input wrong?)"
    elif retention > high:
        verdict = f"above max_retention {high:g}: the filter removes too little"
    else:
        verdict = f"within [{low:g}, {high:g}]"
    shown = f"{retention:.4%}" if retention is not None else "n/a"
    return dg.AssetCheckResult(
        check_name=RETENTION_CHECK,
        passed=retention is not None and low <= retention <= high,
        description=f"retention {shown} ({pages_out} of {pages_in} pages) {verdict}",
        metadata={
            "retention": dg.MetadataValue.float(retention if retention is not None else 0.0),
            "min_retention": dg.MetadataValue.float(low),
            "max_retention": dg.MetadataValue.float(high),
            "pages_in": dg.MetadataValue.int(pages_in),
            "pages_out": dg.MetadataValue.int(pages_out),
        },
    )


_CHECK_TEXT = {
    STATS_CHECK: "Every page read is kept, removed or quarantined, step by step; the stage read what upstream wrote.",
    RETENTION_CHECK: "Pages out / pages in within the config's min_retention .. max_retention.",
}


def _checks(asset: str, *names: str) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(name, asset=asset, blocking=True, description=_CHECK_TEXT[name]) for name in names]


@dg.asset(
    partitions_def=dataset_partitions,
    deps=["raw_pool"],
    group_name="data",
    kinds={"ray"},
    code_version="2",  # 2: a registered (submitted) pipeline is run when the config names none
    check_specs=_checks("heuristic_filtered", RETENTION_CHECK, STATS_CHECK),
)
def heuristic_filtered(
    context: dg.AssetExecutionContext, config: HeuristicConfig, storage: StorageResource, ray: RayResource
) -> dg.MaterializeResult:
    """The raw pool after DCLM's heuristic pipeline (the dataset's registered one, else dclm_baseline_refinedweb)."""
    bounds = config.retention_bounds()
    layout, store = storage.layout(), storage.storage()
    dataset = context.partition_key
    pipeline, source_name, origin = heuristic_choice(config, layout, store, dataset)
    # A submitted YAML lives in the submitter's prefix: never let it name code to import, whatever the config says.
    allow_custom = config.allow_custom_operators and origin != "submission"
    if allow_custom != config.allow_custom_operators:
        context.log.warning(f"heuristic [{dataset}]: custom operators stay disabled for a submitted pipeline")
    context.log.info(f"heuristic [{dataset}]: pipeline {pipeline} (source {source_name!r}, from {origin})")
    chosen = config.model_copy(
        update={"pipeline": pipeline, "source_name": source_name, "allow_custom_operators": allow_custom}
    )
    summary, metadata = _run_pipeline(context, chosen, storage, layout.raw_pool_reference(dataset), "heuristic")
    metadata["pipeline"] = dg.MetadataValue.text(pipeline_path(pipeline))
    metadata["source_name"] = dg.MetadataValue.text(source_name)
    metadata["pipeline_from"] = dg.MetadataValue.text(origin)
    return dg.MaterializeResult(
        metadata=metadata,
        check_results=[retention_check(summary.pages_in, summary.pages_out, bounds), run_stats_check(summary)],
    )


@dg.asset(
    partitions_def=dataset_partitions,
    deps=[heuristic_filtered],
    group_name="data",
    kinds={"ray"},
    code_version="1",
    check_specs=_checks("deduplicated_dataset", STATS_CHECK),
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
    removed = sum(int(line.get("docs_removed", 0)) for line in result.per_shard)
    problems = [
        f"{basename(str(line.get('input', '?')))}: {line.get('pages_in')} pages in != {line.get('pages_out')} out + "
        f"{line.get('docs_removed')} removed"
        for line in result.per_shard
        if int(line.get("pages_in", 0)) != int(line.get("pages_out", 0)) + int(line.get("docs_removed", 0))
    ]
    check = stats_check(result.pages_in, result.pages_out, removed, 0, problems,
                        ("heuristic_filtered", upstream_pages_out(context, "heuristic_filtered")))
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
        },
        check_results=[check],
    )


@dg.asset(
    partitions_def=dataset_partitions,
    deps=[deduplicated_dataset, "quality_classifier"],
    group_name="data",
    kinds={"ray"},
    code_version="1",
    check_specs=_checks("filtered_dataset", RETENTION_CHECK, STATS_CHECK),
)
def filtered_dataset(
    context: dg.AssetExecutionContext, config: QualityConfig, storage: StorageResource, ray: RayResource
) -> dg.MaterializeResult:
    """The curated dataset: deduplicated pages kept by the fastText quality filter (fasttext_filter.yaml).

    The YAML's model file is looked up in the configured resource folders, then in ``<home>/models`` (where
    quality_classifier writes). With ``keep_fraction`` a derived YAML is written next to the outputs.
    """
    bounds = config.retention_bounds()
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
    summary, metadata = _run_pipeline(context, config.model_copy(update=updates), storage, inputs, "quality")
    checks = [
        retention_check(summary.pages_in, summary.pages_out, bounds),
        run_stats_check(summary, ("deduplicated_dataset", upstream_pages_out(context, "deduplicated_dataset"))),
    ]
    record = read_keep_fraction_record(output, store) if config.keep_fraction is not None else None
    if record is None:
        return dg.MaterializeResult(metadata=metadata, check_results=checks)
    if record["keep_fraction"] != config.keep_fraction:
        context.log.warning(
            f"quality [{dataset}]: the finished run used keep_fraction {record['keep_fraction']}, not "
            f"{config.keep_fraction}; rerun with overwrite to recompute"
        )
    context.log.info(f"quality [{dataset}]: keep_fraction {record['keep_fraction']} -> threshold {record['threshold']}")
    threshold = record["threshold"]
    metadata.update({
        "keep_fraction": dg.MetadataValue.float(float(record["keep_fraction"])),
        "quality_threshold": dg.MetadataValue.float(threshold)
        if threshold is not None
        else dg.MetadataValue.text("none (no page has a score)"),
        "pages_missing_key": dg.MetadataValue.int(record["pages_missing_key"]),
        "derived_pipeline": dg.MetadataValue.path(str(updates["pipeline"])),
    })
    return dg.MaterializeResult(metadata=metadata, check_results=checks)
