"""tokenizer (GPT-NeoX-20B when present, else a trained BPE) and tokenized_shards (open_lm shards per dataset).

Checks on tokenized_shards: ``manifest_matches_tars`` (in the asset, blocking) and ``token_budget_covered``, a
separate check partitioned like the shards. Why separate: tokenized_shards is per dataset while the budget is per
scale, so the check takes the scales as config (default: the dataset's registered scale, a submission's, else
the CPU scales) and can be run alone from the UI for any scale ("is this dataset enough for 1b-1x?"). It runs
with every materialization of the shards and is blocking; checkpoint (scale x dataset) can never share a run with
the shards, so the hard stop before training is the trainer's own plan, which refuses too little data for a
scale without multiple_data_passes with the same numbers before any step. Scales that allow multiple passes
(micro, small) pass with a warning saying how many passes they make.
"""

from collections.abc import Iterator
from dataclasses import dataclass

import dagster as dg
from dagster_ray import RayResource
from pydantic import Field

from dclm_assets.assets.models import training_data_uri
from dclm_assets.partitions import CPU_SCALES, SCALES, dataset_partitions
from dclm_resources.modeling import ScaleRecipe, load_scale
from dclm_resources.quality.sources import expand_dataset_uri
from dclm_resources.registry import registered_record
from dclm_resources.storage import join_uri
from dclm_resources.storage_resource import StorageResource
from dclm_resources.tokenization import DEFAULT_TOKENIZER, check_manifest
from dclm_resources.tokenization.mixing import load_mixing
from dclm_resources.tokenization.provision import iter_texts, provide_tokenizer
from dclm_resources.tokenization.shuffle import tokenize_shuffle
from dclm_resources.training.data import probe_context_len, windows_per_context
from dclm_resources.training.manifest import DataError, resolve_data


class TokenizerConfig(dg.Config):
    name: str = Field(
        default=DEFAULT_TOKENIZER,
        description="Tokenizer name (HF cache) or path to tokenizer.json / its folder; DCLM uses GPT-NeoX-20B.",
    )
    train_if_missing: bool = Field(
        default=True, description="Offline: train a byte-level BPE when the named tokenizer's file is absent."
    )
    training_source: str = Field(
        default="raw_pool:sample",
        description="Texts for the BPE: raw_pool:<dataset>, filtered:<dataset>[/<stage>], a folder, prefix or file.",
    )
    vocab_size: int = Field(default=8192, description="Vocabulary of the trained BPE.")
    max_documents: int = Field(default=20000, description="At most this many documents train the BPE.")
    trained_name: str = Field(default="dclm-bpe", description="Folder name of the trained tokenizer.")


@dg.asset(group_name="tokens", kinds={"python"}, code_version="1")
def tokenizer(context: dg.AssetExecutionContext, config: TokenizerConfig, storage: StorageResource) -> dg.MaterializeResult:
    """The tokenizer file with its EOT and PAD ids (PAD = base vocabulary + 2, as open_lm)."""
    layout, store = storage.layout(), storage.storage()
    source = expand_dataset_uri(config.training_source, layout)
    texts = iter_texts(source, store, config.max_documents) if config.train_if_missing else None
    provided = provide_tokenizer(
        config.name,
        layout.tokenizer_dir(config.trained_name),
        training_texts=texts,
        training_source=source,
        vocab_size=config.vocab_size,
    )
    info = provided.tokenizer.info
    context.log.info(f"tokenizer {info.name} ({provided.origin}) at {provided.path}")
    return dg.MaterializeResult(
        metadata={
            "name": dg.MetadataValue.text(info.name),
            "origin": dg.MetadataValue.text(provided.origin),
            "path": dg.MetadataValue.path(provided.path),
            "vocab_size": dg.MetadataValue.int(info.vocab_size),
            "eot_id": dg.MetadataValue.int(info.eot_id),
            "pad_id": dg.MetadataValue.int(info.pad_id),
            "trained_on": dg.MetadataValue.text(provided.trained_on or ""),
            "training_documents": dg.MetadataValue.int(provided.documents),
        }
    )


class TokenizedShardsConfig(dg.Config):
    tokenizer: str = Field(
        default="",
        description="Tokenizer name or path; empty: the tokenizer asset's trained BPE (tokenizers/dclm-bpe).",
    )
    stage: str = Field(default="quality", description="Which filtering stage's output to tokenize (quality = curated).")
    mixing: str = Field(default="", description="A DCLM mixing YAML; empty: the dataset's curated pages alone.")
    seq_len: int = Field(default=2048, description="Context length; samples hold seq_len + 1 tokens.")
    sequences_per_shard: int = Field(default=8192, description="Sequences per tar (open_lm's wds chunk size).")
    seed: int = Field(default=0, description="Global shuffle seed: same seed and inputs give identical shards.")


@dg.asset(
    partitions_def=dataset_partitions,
    deps=["filtered_dataset", tokenizer],
    group_name="tokens",
    kinds={"ray"},
    code_version="1",
    backfill_policy=dg.BackfillPolicy.single_run(),
    check_specs=[dg.AssetCheckSpec("manifest_matches_tars", asset="tokenized_shards", blocking=True)],
)
def tokenized_shards(
    context: dg.AssetExecutionContext, config: TokenizedShardsConfig, storage: StorageResource, ray: RayResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """open_lm webdataset shards of a curated dataset: tokenized, packed, mixed and globally shuffled on Ray.

    A backfill over several datasets is one run (single-run policy) and one Ray job; each dataset gets its own
    shards, manifest and reference JSON, reported as an observation per partition.
    """
    layout, store = storage.layout(), storage.storage()
    name = config.tokenizer or layout.tokenizer_dir("dclm-bpe")
    problems: list[str] = []
    summaries = []
    for dataset in context.partition_keys:
        inputs = (
            load_mixing(config.mixing, store)
            if config.mixing
            else [join_uri(layout.filtered_stage_dir(dataset, config.stage), "processed_data")]
        )
        summary = tokenize_shuffle(
            inputs, layout.tokenized_dir(dataset), name, store, seq_len=config.seq_len,
            sequences_per_shard=config.sequences_per_shard, seed=config.seed, name=f"{dataset}_tokshuf",
            progress=False,
        )
        check = check_manifest(summary.output_uri, store, context_len=config.seq_len + 1)
        problems += [f"{dataset}: {p}" for p in check.problems]
        summaries.append(summary)
        context.log_event(
            dg.AssetObservation(asset_key="tokenized_shards", partition=dataset, metadata=shards_metadata(summary))
        )
    metadata = shards_metadata(summaries[0]) if len(summaries) == 1 else {
        "datasets": dg.MetadataValue.int(len(summaries)),
        "tokens": dg.MetadataValue.int(sum(s.tokens for s in summaries)),
    }
    yield dg.MaterializeResult(metadata=metadata)
    yield dg.AssetCheckResult(
        check_name="manifest_matches_tars",
        passed=not problems,
        metadata={"problems": dg.MetadataValue.json(problems[:50])},
    )


def shards_metadata(summary) -> dict[str, dg.MetadataValue]:  # noqa: ANN001
    histogram = "\n".join(
        ["| doc length (tokens) ≥ | documents |", "|---|---|"]
        + [f"| {low} | {count} |" for low, count in sorted(summary.doc_length_histogram.items())]
    )
    mix = {name: {"frequency": s.frequency, "tokens": s.tokens, "documents": s.documents}
           for name, s in summary.per_source.items()}
    return {
        "tokens": dg.MetadataValue.int(summary.tokens),
        "sequences": dg.MetadataValue.int(summary.sequences),
        "shards": dg.MetadataValue.int(len(summary.records)),
        "padding_fraction": dg.MetadataValue.float(summary.padding_fraction),
        "documents": dg.MetadataValue.int(summary.documents),
        "per_source": dg.MetadataValue.json(mix),
        "doc_length_histogram": dg.MetadataValue.md(histogram),
        "manifest": dg.MetadataValue.path(summary.manifest_uri),
        "reference": dg.MetadataValue.path(summary.reference_uri),
    }


@dataclass(frozen=True)
class TokenBudget:
    """Tokens a scale trains on (steps x global batch x seq_len, as the trainer counts) vs one pass of the data."""

    scale: str
    needed: int
    available: int
    multiple_data_passes: bool
    problem: str = ""

    @property
    def passes(self) -> float:
        return self.needed / self.available if self.available else float("inf")

    @property
    def verdict(self) -> str:
        if self.problem:
            return "unusable"
        if self.available >= self.needed:
            return "covered"
        return f"{self.passes:.1f} passes" if self.multiple_data_passes and self.available else "not covered"

    @property
    def ok(self) -> bool:
        return self.verdict == "covered" or self.verdict.endswith("passes")


def token_budget(recipe: ScaleRecipe, num_sequences: int, context_len: int) -> TokenBudget:
    """The budget of ``recipe`` against ``num_sequences`` contexts of ``context_len`` tokens (cut into windows)."""
    seq_len = recipe.model.seq_len
    needed = recipe.total_steps() * recipe.global_bs * seq_len
    try:
        windows = windows_per_context(context_len, seq_len)
    except DataError as err:
        return TokenBudget(recipe.name, needed, 0, recipe.multiple_data_passes, str(err))
    return TokenBudget(recipe.name, needed, num_sequences * windows * seq_len, recipe.multiple_data_passes)


class TokenBudgetConfig(dg.Config):
    scales: list[str] = Field(
        default_factory=list,
        description="Scales whose token budget the shards must cover. Empty: the dataset's registered scale (a "
        f"submission's), else the CPU scales ({', '.join(CPU_SCALES)}).",
    )


def budget_scales(config: TokenBudgetConfig, layout, store, dataset: str) -> list[str]:  # noqa: ANN001
    unknown = [s for s in config.scales if s not in SCALES]
    if unknown:
        raise ValueError(f"config key 'scales': unknown scales {unknown}; known: {', '.join(SCALES)}")
    if config.scales:
        return list(config.scales)
    registered = (registered_record(layout, store, dataset) or {}).get("scale")
    return [registered] if isinstance(registered, str) and registered in SCALES else list(CPU_SCALES)


@dg.asset_check(
    asset=tokenized_shards,
    name="token_budget_covered",
    blocking=True,
    partitions_def=dataset_partitions,
    description="The tokenized data holds the token budget of the target scales (tokens needed vs available).",
)
def token_budget_covered(
    context: dg.AssetCheckExecutionContext, config: TokenBudgetConfig, storage: StorageResource
) -> dg.AssetCheckResult:
    layout, store = storage.layout(), storage.storage()
    rows: list[str] = []
    budgets: dict[str, dict[str, object]] = {}
    failed: list[str] = []
    for dataset in context.op_execution_context.partition_keys:
        scales = budget_scales(config, layout, store, dataset)
        try:
            source = resolve_data(training_data_uri(layout, store, dataset), store)
            context_len = probe_context_len(source, store)
        except DataError as err:
            failed.append(f"{dataset}: {err}")
            continue
        for scale in scales:
            budget = token_budget(load_scale(scale), source.num_sequences, context_len)
            budgets[f"{dataset}|{scale}"] = {"needed": budget.needed, "available": budget.available,
                                             "verdict": budget.verdict}
            rows.append(f"| {dataset} | {scale} | {budget.needed:,} | {budget.available:,} | {budget.verdict} |")
            line = (f"{dataset} at {scale}: needs {budget.needed:,} tokens, one pass of the data has "
                    f"{budget.available:,}" + (f" ({budget.problem})" if budget.problem else ""))
            if not budget.ok:
                failed.append(line)
            elif budget.verdict != "covered":
                context.log.warning(f"{line}: the scale allows multiple passes, it makes {budget.passes:.1f}")
    table = "\n".join(["| dataset | scale | tokens needed | tokens available | verdict |", "|---|---|---|---|---|", *rows])
    return dg.AssetCheckResult(
        passed=not failed,
        description="; ".join(failed) if failed else f"{len(rows)} scale budgets covered or allowed to repeat data",
        metadata={"budgets": dg.MetadataValue.md(table), "budget_numbers": dg.MetadataValue.json(budgets),
                  "failed": dg.MetadataValue.json(failed)},
    )
