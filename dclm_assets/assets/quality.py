"""quality_classifier: the fastText hq-vs-cc model behind DCLM-Baseline's quality filter, trained as DCLM does.

Not partitioned: DCLM trains one classifier (OH-2.5 + ELI5 vs RefinedWeb) and applies it to every pool, and the
pipeline YAMLs name it by one file name (``fasttext_oh_eli5.bin``). Its file lands in ``<DCLM_HOME>/models/``,
where ``filtered_dataset`` looks for the YAML's ``model_filename`` after its configured resource folders.
"""

import math

import dagster as dg
from pydantic import Field

from dclm_resources.quality import (
    CC_LABEL,
    DCLM_THRESHOLD,
    HQ_LABEL,
    FastTextParams,
    SplitMetrics,
    TextSource,
    TrainResult,
    evaluate_agreement,
    headline,
    parse_where,
    train_quality_classifier,
)
from dclm_resources.quality.sources import expand_dataset_uri
from dclm_resources.storage import join_uri
from dclm_resources.storage_resource import StorageResource

_DEFAULTS = FastTextParams()


class TrainingSource(dg.Config):
    uri: str = Field(
        description="JSONL file, folder or s3:// prefix of pages, a raw-source / dataset reference JSON, or "
        "raw_pool:<dataset> / filtered:<dataset>[/<stage>] for this home's datasets."
    )
    text_key: str = Field(
        default="text",
        description="Field holding the text; pages without it are read as instruction data "
        "(prompt/response, conversations, messages) when they have it.",
    )
    where: dict[str, str] = Field(
        default_factory=dict,
        description="Keep only pages whose fields equal these values (JSON-parsed: {label: '1'} matches 1).",
    )


class QualityClassifierConfig(dg.Config):
    positive_sources: list[TrainingSource] = Field(description="High-quality examples (__label__hq).")
    negative_sources: list[TrainingSource] = Field(description="Web pool examples (__label__cc).")
    lr: float = Field(default=_DEFAULTS.lr, description="DCLM --lr.")
    dim: int = Field(default=_DEFAULTS.dim, description="DCLM --dim.")
    ws: int = Field(default=_DEFAULTS.ws, description="DCLM --ws.")
    epoch: int = Field(default=_DEFAULTS.epoch, description="DCLM --epoch.")
    minCount: int = Field(default=_DEFAULTS.minCount, description="DCLM --minCount.")
    wordNgrams: int = Field(
        default=2, description="DCLM --wordNgrams: 2 as DCLM's OH-2.5+ELI5 classifier (the script's default is 1)."
    )
    bucket: int = Field(default=_DEFAULTS.bucket, description="fastText hash buckets for word n-grams.")
    thread: int = Field(default=0, description="fastText threads; 0: fastText's default (all cores but one).")
    valid_frac: float = Field(
        default=0.1, description="DCLM --valid_frac: share held out for validation metrics (DCLM's default 0)."
    )
    seed: int = Field(default=42, description="DCLM --seed: seeds the shuffle, split and per-label sampling.")
    max_examples_per_label: int = Field(default=0, description="Cap per label (seeded sample); 0: all.")
    annotations: str = Field(
        default="",
        description="Human quality annotations (file or folder of {text, label} JSONL, e.g. DCLM's "
        "dclm_human_annotations) to measure agreement with; empty: skip.",
    )
    threshold: float = Field(default=DCLM_THRESHOLD, description="Cut for the agreement accuracy (DCLM-Baseline's).")
    output_name: str = Field(default="fasttext_oh_eli5.bin", description="Model file name under <home>/models/.")


def _params(config: QualityClassifierConfig) -> FastTextParams:
    return FastTextParams(
        lr=config.lr,
        dim=config.dim,
        ws=config.ws,
        epoch=config.epoch,
        minCount=config.minCount,
        wordNgrams=config.wordNgrams,
        bucket=config.bucket,
        thread=config.thread or None,
    )


def _model_name(name: str) -> str:
    """A bare file name, with ``.bin`` appended when missing (DCLM's --name)."""
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"output_name must be a file name, got {name!r}")
    return name if name.endswith(".bin") else f"{name}.bin"


@dg.asset(group_name="data", kinds={"fasttext"}, code_version="1")
def quality_classifier(
    context: dg.AssetExecutionContext, config: QualityClassifierConfig, storage: StorageResource
) -> dg.MaterializeResult:
    """A fastText __label__hq / __label__cc classifier (DCLM's train_fasttext_classifier), scored against
    human annotations when they are configured."""
    layout, store = storage.layout(), storage.storage()

    def sources(entries: list[TrainingSource]) -> list[TextSource]:
        return [TextSource(expand_dataset_uri(s.uri, layout), s.text_key, parse_where(s.where)) for s in entries]

    output = join_uri(layout.models_dir(), _model_name(config.output_name))
    result = train_quality_classifier(
        sources(config.positive_sources),
        sources(config.negative_sources),
        output,
        store,
        params=_params(config),
        valid_frac=config.valid_frac,
        seed=config.seed,
        max_examples_per_label=config.max_examples_per_label or None,
    )
    context.log.info(f"quality classifier: {result.examples} examples -> {output} ({result.model_bytes} bytes)")
    metadata = training_metadata(result)
    if config.annotations:
        agreement = evaluate_agreement(output, config.annotations, store, threshold=config.threshold)
        main = headline(agreement)
        if not math.isnan(main.roc_auc):
            metadata["human_roc_auc"] = dg.MetadataValue.float(main.roc_auc)
        metadata["human_accuracy"] = dg.MetadataValue.float(main.accuracy)
        metadata["human_threshold"] = dg.MetadataValue.float(main.threshold)
        metadata["human_kept_fraction"] = dg.MetadataValue.float(main.kept_fraction)
        metadata["human_documents"] = dg.MetadataValue.int(main.documents)
        metadata["human_agreement"] = dg.MetadataValue.json(
            {name: {k: v for k, v in r.to_dict().items() if not _nan(v)} for name, r in agreement.items()}
        )
    return dg.MaterializeResult(metadata=metadata)


def _nan(value: object) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _metrics_md(splits: dict[str, SplitMetrics | None]) -> str:
    rows = ["| split | label | precision | recall | F1 | support |", "|---|---|---|---|---|---|"]
    for split, metrics in splits.items():
        if metrics is None:
            continue
        for label, m in metrics.labels.items():
            rows.append(f"| {split} | {label} | {m.precision:.3f} | {m.recall:.3f} | {m.f1:.3f} | {m.support} |")
    return "\n".join(rows)


def training_metadata(result: TrainResult) -> dict[str, dg.MetadataValue]:
    metadata: dict[str, dg.MetadataValue] = {
        "model_path": dg.MetadataValue.path(result.model_uri),
        "model_bytes": dg.MetadataValue.int(result.model_bytes),
        "examples_hq": dg.MetadataValue.int(result.examples[HQ_LABEL]),
        "examples_cc": dg.MetadataValue.int(result.examples[CC_LABEL]),
        "examples_available": dg.MetadataValue.json(result.available),
        "pages_skipped": dg.MetadataValue.json(result.skipped),
        "train_examples": dg.MetadataValue.int(result.split["train"]),
        "valid_examples": dg.MetadataValue.int(result.split["valid"]),
        "train_accuracy": dg.MetadataValue.float(result.train.accuracy),
        "metrics": dg.MetadataValue.md(_metrics_md({"train": result.train, "valid": result.valid})),
        "hyperparameters": dg.MetadataValue.json(
            {**result.params, "valid_frac": result.valid_frac, "seed": result.seed}
        ),
        "train_seconds": dg.MetadataValue.float(result.seconds),
    }
    if result.valid is not None:
        hq = result.valid.hq
        metadata["valid_precision"] = dg.MetadataValue.float(hq.precision)
        metadata["valid_recall"] = dg.MetadataValue.float(hq.recall)
        metadata["valid_f1"] = dg.MetadataValue.float(hq.f1)
        metadata["valid_accuracy"] = dg.MetadataValue.float(result.valid.accuracy)
    return metadata
