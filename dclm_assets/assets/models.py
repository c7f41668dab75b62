"""checkpoint (a model trained at a scale on a dataset) and eval_report (its DCLM eval JSON), scale × dataset.

Both are thin: the trainer runs through the ``trainer`` resource (local torchrun or Kubernetes), evaluation through
``dclm_resources.evaluation.evaluate``; metadata comes from the files the engines leave, so it is the same
whichever launcher ran. A backfill over several partitions is one run (single-run policy) that walks them in turn.
"""

import json
from collections.abc import Iterator
from typing import Any

import dagster as dg
from pydantic import Field

from dclm_assets.partitions import scale_dataset_partitions
from dclm_resources.evaluation.plots import category_bar_png
from dclm_resources.evaluation.report import category_centered, headline
from dclm_resources.modeling import load_scale
from dclm_resources.registry import registered_record
from dclm_resources.storage import join_uri
from dclm_resources.storage_resource import StorageResource
from dclm_resources.training.summary import loss_curve_png, loss_is_finite_and_falling, run_summary
from dclm_resources.training_resource import TrainingLauncher

_BY_DATASET = dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name="dataset")
_SAME_PARTITION = dg.IdentityPartitionMapping()


def partition_dims(key: str) -> tuple[str, str]:
    """(scale, dataset) of a ``scale × dataset`` partition key string."""
    dims = scale_dataset_partitions.get_partition_key_from_str(key).keys_by_dimension
    return dims["scale"], dims["dataset"]


def training_data_uri(layout: Any, store: Any, dataset: str) -> str:
    """A tokenized submission's own data (registry key ``tokenized``), else the tokenized_shards reference JSON."""
    record = registered_record(layout, store, dataset) or {}
    if record.get("tokenized"):
        return str(record["tokenized"])
    folder = layout.tokenized_dir(dataset)
    reference = join_uri(folder, f"{dataset}_tokshuf.json")
    return reference if store.exists(reference) else folder


class CheckpointConfig(dg.Config):
    max_steps: int | None = Field(default=None, description="Stop after this many steps (the LR schedule follows).")
    seed: int | None = Field(default=None, description="Override the recipe's seed (DCLM: 124).")
    precision: str | None = Field(default=None, description="amp_bfloat16 (GPU default), fp32 (CPU default), ...")
    torchcompile: bool | None = Field(default=None, description="torch.compile the model (recipe default if unset).")
    tensorboard: bool = Field(default=False, description="Also write TensorBoard event files into the run folder.")
    resume: str = Field(default="latest", description="'latest' resumes the last complete checkpoint; 'none' restarts.")
    checkpoint_every: int | None = Field(default=None, description="Checkpoint every N steps instead of N per run.")


@dg.asset(
    partitions_def=scale_dataset_partitions,
    deps=[dg.AssetDep("tokenized_shards", partition_mapping=_BY_DATASET)],
    group_name="models",
    kinds={"pytorch"},
    code_version="1",
    backfill_policy=dg.BackfillPolicy.single_run(),
    check_specs=[dg.AssetCheckSpec("loss_finite_and_falling", asset="checkpoint", blocking=True)],
)
def checkpoint(
    context: dg.AssetExecutionContext, config: CheckpointConfig, storage: StorageResource, trainer: TrainingLauncher
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult | dg.AssetObservation]:
    """An open_lm checkpoint trained with the scale's DCLM recipe on the dataset's tokenized shards."""
    from dclm_resources.training import make_plan
    from dclm_resources.training_resource import train_config

    layout, store = storage.layout(), storage.storage()
    overrides = {k: v for k, v in config.model_dump().items() if v is not None}
    results: list[tuple[str, dict[str, dg.MetadataValue], tuple[bool, str]]] = []
    for key in context.partition_keys:
        scale, dataset = partition_dims(key)
        recipe = load_scale(scale)
        data_uri = training_data_uri(layout, store, dataset)
        logs = layout.training_dir(scale, dataset)
        plan = make_plan(train_config(recipe, data_uri, logs, None, overrides), storage=store)
        launch = trainer.launch(context, recipe, data_uri, logs, plan.name, overrides, dataset=dataset)
        summary = run_summary(plan.run_dir, plan.name, store)
        plot_uri = join_uri(plan.run_dir, "loss_curve.png")
        store.write_bytes(plot_uri, loss_curve_png(summary.losses, f"{plan.name[:90]}"))
        local = getattr(launch, "result", None)
        tokens_per_s = getattr(local, "tokens_per_s", None) or summary.mean_of("tokens_per_s")
        mfu = getattr(local, "mfu", None) or summary.mean_of("mfu")
        wall = getattr(local, "wall_s", None) or float(summary.stats.get("wall_s", 0.0))
        metadata = {
            "final_loss": dg.MetadataValue.float(summary.final_loss if summary.final_loss is not None else float("nan")),
            "tokens_seen": dg.MetadataValue.int(summary.tokens_seen),
            "steps": dg.MetadataValue.int(summary.steps),
            "tokens_per_s": dg.MetadataValue.float(float(tokens_per_s or 0.0)),
            "mfu": dg.MetadataValue.float(float(mfu)) if mfu is not None else dg.MetadataValue.text("n/a (CPU)"),
            "wall_time_s": dg.MetadataValue.float(float(wall)),
            "world_size": dg.MetadataValue.int(launch.world_size),
            "launcher": dg.MetadataValue.text(launch.backend),
            "parameters": dg.MetadataValue.int(int(summary.model_reference.get("hyperparameters", {}).get("params", 0))
                                               or recipe.params),
            "checkpoint": dg.MetadataValue.path(summary.checkpoint),
            "model_reference": dg.MetadataValue.path(summary.model_reference_uri),
            "model_reference_json": dg.MetadataValue.json(summary.model_reference),
            "loss_curve": dg.MetadataValue.path(plot_uri),
            "loss_curve_md": dg.MetadataValue.md(_loss_table(summary.losses)),
        }
        verdict = loss_is_finite_and_falling([float(r["loss"]) for r in summary.losses])
        context.log.info(f"checkpoint [{key}]: {summary.checkpoint}; {verdict[1]}")
        results.append((key, metadata, verdict))
    for key, metadata, _ in results[1:] if len(results) > 1 else []:
        yield dg.AssetObservation(asset_key="checkpoint", partition=key, metadata=metadata)
    yield dg.MaterializeResult(metadata=results[0][1] if len(results) == 1 else {"runs": dg.MetadataValue.int(len(results))})
    failed = [f"{key}: {verdict[1]}" for key, _, verdict in results if not verdict[0]]
    yield dg.AssetCheckResult(
        check_name="loss_finite_and_falling",
        passed=not failed,
        metadata={"detail": dg.MetadataValue.json([f"{k}: {v[1]}" for k, _, v in results])},
    )


def _loss_table(losses: list[dict[str, Any]], rows: int = 12) -> str:
    """A short markdown loss curve (every k-th logged step), readable in the UI without opening the PNG."""
    if not losses:
        return "no loss logged"
    stride = max(1, len(losses) // rows)
    picked = losses[::stride] + ([losses[-1]] if (len(losses) - 1) % stride else [])
    lines = ["| step | loss | lr | tokens/s |", "|---|---|---|---|"]
    lines += [f"| {r['step']} | {r['loss']:.4f} | {r.get('lr', float('nan')):.2e} | {r.get('tokens_per_s', 0):,.0f} |"
              for r in picked]
    return "\n".join(lines)


class EvalReportConfig(dg.Config):
    suite: str = Field(default="core", description="light, medium, core, mmlu_and_lowvar, heavy, or a suite YAML.")
    data_dir: str = Field(default="", description="ICL data folder holding local_data/ (empty: $DCLM_EVAL_DATA).")
    perplexity_data: str = Field(default="", description="Held-out tokenized shards for eval_metrics.perplexity.")
    perplexity_max_sequences: int | None = Field(default=None, description="Score at most this many sequences.")
    batch_size: int = Field(default=16, description="Sequences per forward pass.")
    limit: int | None = Field(default=None, description="Score only the first N examples per task (smoke runs).")
    extra_tasks: str = Field(
        default="", description="A suite YAML whose tasks are scored beside the suite (the demo's cloze task)."
    )


@dg.asset(
    partitions_def=scale_dataset_partitions,
    deps=[dg.AssetDep("checkpoint", partition_mapping=_SAME_PARTITION)],
    group_name="models",
    kinds={"pytorch"},
    code_version="1",
    backfill_policy=dg.BackfillPolicy.single_run(),
    check_specs=[dg.AssetCheckSpec("eval_complete_for_suite", asset="eval_report", blocking=False)],
)
def eval_report(
    context: dg.AssetExecutionContext, config: EvalReportConfig, storage: StorageResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult | dg.AssetObservation]:
    """DCLM's eval JSON of the partition's checkpoint: per-task accuracies, Core / Extended / MMLU."""
    from dclm_resources.evaluation.evaluate import evaluate_checkpoint
    from dclm_resources.evaluation.suites import load_suite

    layout, store = storage.layout(), storage.storage()
    suite = load_suite(config.suite)
    suite_name = suite.name
    extra = [dict(t) for t in load_suite(config.extra_tasks).tasks] if config.extra_tasks else None
    outcomes = []
    for key in context.partition_keys:
        scale, dataset = partition_dims(key)
        output = join_uri(layout.evals_dir(scale, dataset), f"{suite_name}.json")
        run = evaluate_checkpoint(
            latest_run_dir(store, layout.training_dir(scale, dataset)),
            config.suite, data_dir=config.data_dir or None, output=output,
            perplexity_data=config.perplexity_data or None,
            perplexity_max_sequences=config.perplexity_max_sequences, batch_size=config.batch_size,
            limit=config.limit, extra_tasks=extra, storage=store,
        )
        chart_uri = join_uri(layout.evals_dir(scale, dataset), f"{suite_name}_categories.png")
        store.write_bytes(chart_uri, category_bar_png(category_centered(run.eval_json), f"{key}: {suite_name}"))
        top = headline(run.eval_json)
        context.log.info(f"eval_report [{key}]: Core {top['Core']}, Extended {top['Extended']} -> {output}")
        metadata = {
            "Core": _value(top["Core"]),
            "Extended": _value(top["Extended"]),
            "MMLU": _value(top["MMLU"]),
            "suite": dg.MetadataValue.text(suite_name),
            "perplexity": _value(run.perplexity),
            "icl": dg.MetadataValue.json(run.eval_json["eval_metrics"]["icl"]),
            "examples_per_task": dg.MetadataValue.json(run.counts),
            "missing_tasks": dg.MetadataValue.json(run.missing),
            "categories_centered": dg.MetadataValue.json(category_centered(run.eval_json)),
            "category_chart": dg.MetadataValue.path(chart_uri),
            "eval_json": dg.MetadataValue.path(output),
            "wall_time_s": dg.MetadataValue.float(run.wall_s),
        }
        if all(label in run.missing for label in suite.labels()):
            metadata["suite_status"] = dg.MetadataValue.text(
                f"DCLM suite {suite_name!r} not run: no task data found. Get it with `dclm eval-data fetch`, then "
                "set DCLM_EVAL_DATA (or this asset's data_dir)."
            )
        outcomes.append((key, metadata, run.missing))
    for key, metadata, _ in outcomes[1:] if len(outcomes) > 1 else []:
        yield dg.AssetObservation(asset_key="eval_report", partition=key, metadata=metadata)
    yield dg.MaterializeResult(
        metadata=outcomes[0][1] if len(outcomes) == 1 else {"reports": dg.MetadataValue.int(len(outcomes))}
    )
    missing = {key: sorted(m) for key, _, m in outcomes if m}
    yield dg.AssetCheckResult(
        check_name="eval_complete_for_suite",
        passed=not missing,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"missing_tasks": dg.MetadataValue.json(missing),
                  "how_to_fix": dg.MetadataValue.text("`dclm eval-data fetch`, then set DCLM_EVAL_DATA")},
    )


def latest_run_dir(store: Any, root: str) -> str:
    """The run under a partition's training folder that finished a checkpoint last (by its model reference date).

    Several runs sit side by side when a recipe field of the run name changed (seed, lr, ...); the newest one is
    what the checkpoint asset last produced.
    """
    try:
        files = [f.uri for f in store.list_files(root)]
    except OSError:
        files = []
    runs = sorted({uri.rsplit("/checkpoints/", 1)[0] for uri in files if "/checkpoints/stats_" in uri})
    if not runs:
        raise ValueError(f"no trained checkpoint under {root}: materialize the checkpoint partition first")

    def created(run: str) -> str:
        reference = join_uri(run, f"{run.rstrip('/').rsplit('/', 1)[-1]}.json")
        try:
            return str(json.loads(store.read_text(reference)).get("creation_date", ""))
        except (OSError, ValueError):
            return ""

    return max(runs, key=lambda run: (created(run), run))


def _value(value: Any) -> dg.MetadataValue:
    if isinstance(value, (int, float)) and value is not None:
        return dg.MetadataValue.float(float(value))
    return dg.MetadataValue.text(json.dumps(value) if not isinstance(value, str) else value)
