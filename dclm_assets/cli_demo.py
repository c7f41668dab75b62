"""``dclm demo``: the whole DCLM chain for the ``micro`` scale on the embedded sample pool, offline, through Dagster.

Each asset is materialized as its own run on a persistent instance (``DAGSTER_HOME = <home>/dagster_home``), so
``dagster dev -w workspace.yaml`` later shows the same materializations, and the progress display gets one line
per asset as it starts and finishes. Between assets the demo builds what DCLM's configs assume is already there
(``dclm_resources.demo``): the offline LID model, a TLD list and the quality classifier's positives before the
filters, the held-out perplexity shards and the cloze task before the eval.

Rerun on the same home: an asset whose last materialization carries the same fingerprint (asset, code version,
partition, run config, and the fingerprint of demo-built files it reads) and whose upstream did not run again is
skipped, so a second run takes seconds. When an asset runs after a change upstream or of its config, the engines
that would otherwise resume stale work start over (pipelines get ``overwrite``, the partition's training folder
is cleared); without such a change a run killed half-way resumes where it stopped.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

SCALE = "micro"
FINGERPRINT_TAG = "dclm/demo_fingerprint"
ASSET_TAG = "dclm/demo_asset"  # asset[partition]: finds the demo's last run of it, successful or not
FRESH_TAG = "dclm/demo_fresh"  # "1" when that run was told to start over
DEFAULT_KEEP_FRACTION = 0.8
_QUIET_LOGGERS = {"console": {"config": {"log_level": "CRITICAL"}}}  # a failure is reported once, at the end


def register(subparsers: argparse._SubParsersAction) -> None:
    help_ = "Run the main job end to end on the embedded defaults, offline (micro scale, sample pool)."
    p = subparsers.add_parser("demo", help=help_, description=help_)
    p.set_defaults(func=cmd_demo)
    p.add_argument("--home", help="DCLM home folder (default: $DCLM_HOME or ~/.dclm)")
    p.add_argument("--pages", type=int, default=2000, help="pages in the embedded sample pool (default 2000)")
    p.add_argument("--max-steps", type=int, help="stop training after N steps (default: the micro recipe's budget)")
    p.add_argument("--heldout-pages", type=int, default=1000,
                   help="held-out good pages for perplexity and the cloze task (default 1000)")
    p.add_argument("--cloze-limit", type=int, default=250, help="at most this many cloze items (default 250)")
    p.add_argument("--perplexity-sequences", type=int, default=48,
                   help="held-out 2049-token sequences scored for perplexity (default 48)")
    p.add_argument("--keep-fraction", type=float, default=DEFAULT_KEEP_FRACTION,
                   help=f"share of pages the quality filter keeps, by score (default {DEFAULT_KEEP_FRACTION})")
    p.add_argument("--eval-data", help="DCLM eval data folder (holding local_data/): run the core suite "
                                       "(default: $DCLM_EVAL_DATA; without either, perplexity + cloze only)")
    p.add_argument("--eval-limit", type=int, help="score only the first N examples of each eval task")
    p.add_argument("--workers", type=int, help="local Ray CPUs (default: all cores)")
    p.add_argument("--force", action="store_true", help="recompute every asset from scratch")
    p.add_argument("--verbose", action="store_true", help="show Dagster's run logs")


# ----------------------------------------------------------------------------------------------------------------
# materializing one asset (or skipping it)


@dataclass
class Outcome:
    metadata: dict[str, Any]
    skipped: bool
    run_id: str


@dataclass
class DemoRunner:
    """Materializes assets one run each, skipping those whose last materialization has the same fingerprint."""

    instance: Any
    assets: list[Any]
    resources: dict[str, Any]
    progress: Any  # dclm_resources.demo.progress.Progress
    force: bool = False
    verbose: bool = False
    upstream_ran: bool = False
    timings: list[dict[str, Any]] = field(default_factory=list)

    def fingerprint(
        self, asset: str, partition: str | None, config: dict[str, Any], inputs: Mapping[str, Any] | None = None
    ) -> str:
        """Identity of a materialization: asset, code version, partition, run config, and ``inputs`` (what the
        config points at, e.g. the held-out data's own fingerprint, when the path stays the same)."""
        version = next((a.code_versions_by_key.get(_key(asset)) for a in self.assets if _key(asset) in a.keys), None)
        blob = json.dumps({"asset": asset, "code_version": version, "partition": partition, "config": config,
                           "inputs": dict(inputs or {})}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def previous(self, asset: str, partition: str | None) -> tuple[str | None, Any]:
        """(fingerprint tag, materialization record) of the asset partition's latest materialization."""
        import dagster as dg

        records_filter = dg.AssetRecordsFilter(asset_key=_key(asset), asset_partitions=[partition] if partition else None)
        records = self.instance.fetch_materializations(records_filter, limit=1).records
        if not records:
            return None, None
        run = self.instance.get_run_by_id(records[0].run_id)
        return (run.tags.get(FINGERPRINT_TAG) if run else None), records[0]

    def unfinished(self, run_key: str) -> tuple[bool, bool]:
        """(the demo's last run of ``run_key`` did not succeed, that run was a fresh start)."""
        import dagster as dg

        runs = self.instance.get_runs(filters=dg.RunsFilter(tags={ASSET_TAG: run_key}), limit=1)
        if not runs or runs[0].status == dg.DagsterRunStatus.SUCCESS:
            return False, False
        return True, runs[0].tags.get(FRESH_TAG) == "1"

    def run(
        self, asset: str, partition: str | None, config: dict[str, Any], label: str,
        fresh_config: dict[str, Any] | None = None, on_fresh: Callable[[], None] | None = None,
        describe: Callable[[dict[str, Any]], str] | None = None, inputs: Mapping[str, Any] | None = None,
    ) -> Outcome:
        """Materialize ``asset`` with op ``config``. When its inputs or config changed since the last
        materialization (or ``force``), ``fresh_config`` is merged in (not part of the fingerprint) and ``on_fresh``
        runs first: both make an engine start over instead of resuming stale work."""
        import dagster as dg

        began = self.progress.start(label)
        fp = self.fingerprint(asset, partition, config, inputs)
        last_fp, record = self.previous(asset, partition)
        run_key = f"{asset}[{partition}]" if partition else asset
        failed, failed_fresh = self.unfinished(run_key)  # a failed or killed run may have left outputs half-done
        if not (self.force or self.upstream_ran or failed) and last_fp == fp and record is not None \
                and _outputs_exist(record.asset_materialization.metadata):
            metadata = {k: v.value for k, v in record.asset_materialization.metadata.items()}
            note = describe(metadata) if describe else ""
            seconds = self.progress.finish(label, began, note, skipped=True)
            self.timings.append({"name": label, "seconds": round(seconds, 2), "skipped": True, "note": note})
            return Outcome(metadata, True, record.run_id)
        fresh = self.force or self.upstream_ran or failed_fresh or (record is not None and last_fp != fp)
        op_config = {**config, **(fresh_config or {})} if fresh else config
        if fresh and on_fresh is not None:
            on_fresh()
        run_config: dict[str, Any] = {"ops": {asset: {"config": op_config}}}
        if not self.verbose:
            run_config["loggers"] = _QUIET_LOGGERS
        result = dg.materialize(
            self.assets, instance=self.instance, resources=self.resources, partition_key=partition,
            run_config=run_config, selection=[asset],
            tags={FINGERPRINT_TAG: fp, ASSET_TAG: run_key, FRESH_TAG: "1" if fresh else "0"},
            raise_on_error=False,
        )
        if not result.success:
            raise DemoFailed(asset, _failure_text(result), result.run_id)
        events = result.asset_materializations_for_node(asset)
        metadata = {k: v.value for k, v in events[-1].metadata.items()} if events else {}
        note = describe(metadata) if describe else ""
        seconds = self.progress.finish(label, began, note)
        self.timings.append({"name": label, "seconds": round(seconds, 2), "skipped": False, "note": note})
        self.upstream_ran = True
        return Outcome(metadata, False, result.run_id)

    def step(self, label: str, fn: Callable[[], Any], describe: Callable[[Any], str] | None = None) -> Any:
        """A non-asset step (building resources or eval data), timed and shown like an asset; a result with
        ``reused`` set shows as skipped."""
        began = self.progress.start(label)
        value = fn()
        note = describe(value) if describe else ""
        reused = bool(getattr(value, "reused", False))
        seconds = self.progress.finish(label, began, note, skipped=reused)
        self.timings.append({"name": label, "seconds": round(seconds, 2), "skipped": reused, "note": note})
        return value


def _driver_ray(stack: contextlib.ExitStack, num_cpus: int | None, quiet: bool) -> Any:
    """A Ray resource for one local Ray that the demo process starts when a run first needs it and then shares.

    Why: each run would otherwise start and stop its own local Ray (about 10 s on 2 cores, five times), and a
    rerun that skips every asset needs none. The engines use Ray's global API, so the resource only has to make
    sure Ray is up; ``stack`` shuts it down when the demo ends.
    """
    from dclm_resources.compute import local_ray_init_options
    from dclm_resources.ray_resource import OwnLocalRay

    class DriverRay(OwnLocalRay):
        @contextlib.contextmanager
        def yield_for_execution(self, context: Any) -> Iterator[Any]:  # noqa: ARG002 - Dagster's signature
            import ray

            if not ray.is_initialized():
                level = logging.ERROR if quiet else logging.INFO  # ray.init sets the "ray" logger's level
                ray.init(address="local", logging_level=level, **local_ray_init_options(num_cpus))
                stack.callback(ray.shutdown)
            yield self

    return DriverRay()


class DemoFailed(RuntimeError):
    def __init__(self, asset: str, detail: str, run_id: str) -> None:
        super().__init__(f"{asset} failed (Dagster run {run_id}): {detail}")
        self.asset, self.run_id = asset, run_id


def _key(asset: str) -> Any:
    import dagster as dg

    return dg.AssetKey(asset)


def _outputs_exist(metadata: dict[str, Any]) -> bool:
    """Every local path an earlier materialization reported still exists (a deleted output means: run again)."""
    import dagster as dg

    for value in metadata.values():
        path = str(value.path) if isinstance(value, dg.PathMetadataValue) and value.path else ""
        if path and "://" not in path and not os.path.exists(path):
            return False
    return True


def _failure_text(result: Any) -> str:
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            error = event.step_failure_data.error
            while error.cause is not None and error.cls_name in ("DagsterExecutionStepExecutionError",):
                error = error.cause
            return error.message.strip()  # "module.Class: message", as Dagster records it
    return "see the run's log in the Dagster UI"


# ----------------------------------------------------------------------------------------------------------------
# the demo


def _clear_local(folder: str) -> None:
    """Remove an earlier run's outputs that an engine would resume from (the demo's own partition only)."""
    if "://" not in folder and os.path.isdir(folder):
        shutil.rmtree(folder)


def _quiet() -> None:
    """Dagster's beta/preview notices would bury the progress lines (Ray's are quieted in ``_driver_ray``)."""
    import dagster as dg

    for category in (dg.BetaWarning, dg.PreviewWarning):
        warnings.filterwarnings("ignore", category=category)


def _describe_eval(metadata: dict[str, Any]) -> str:
    from dclm_resources.demo import CLOZE_LABEL

    icl = metadata.get("icl") or {}
    loss, cloze = metadata.get("perplexity"), icl.get(CLOZE_LABEL)
    core = "not run" if "suite_status" in metadata else str(metadata.get("Core"))
    parts = [f"perplexity (loss) {loss:.3f}" if isinstance(loss, float) else f"perplexity {loss}",
             f"cloze {cloze:.3f}" if isinstance(cloze, float) else "", f"{len(icl)} task(s), Core {core[:40]}"]
    return ", ".join(p for p in parts if p)


def _partition_key(scale: str, dataset: str) -> str:
    import dagster as dg

    return str(dg.MultiPartitionKey({"scale": scale, "dataset": dataset}))


def _all_assets() -> list[Any]:
    from dclm_assets.definitions import defs

    return list(defs.assets or [])


def _has_asset(assets: list[Any], name: str) -> bool:
    return any(_key(name) in getattr(a, "keys", ()) for a in assets)


def cmd_demo(args: argparse.Namespace) -> int:
    """Materialize the whole chain; print the leaderboard row and where to look."""
    from dclm_assets.cli import _home, prepare_dagster_home
    from dclm_resources.layout import Layout

    for flag in ("pages", "max_steps", "heldout_pages", "cloze_limit", "perplexity_sequences", "eval_limit"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise ValueError(f"--{flag.replace('_', '-')} must be positive, got {value}")
    if not 0 < args.keep_fraction <= 1:
        raise ValueError(f"--keep-fraction must be in (0, 1], got {args.keep_fraction}")
    home = _home(args)
    layout = Layout(home)
    dagster_home = os.environ.get("DAGSTER_HOME") or layout.dagster_home()
    prepare_dagster_home(dagster_home)
    os.environ["DAGSTER_HOME"] = dagster_home
    if not args.verbose:
        _quiet()
    eval_data = args.eval_data or os.environ.get("DCLM_EVAL_DATA") or ""
    print(f"DCLM home:    {home}\nDagster home: {dagster_home}\n"
          f"eval:         {'core suite from ' + eval_data if eval_data else 'held-out perplexity + cloze (offline)'}",
          flush=True)
    try:
        with contextlib.ExitStack() as stack:
            return _run_demo(args, layout, dagster_home, eval_data, stack)
    except DemoFailed as err:
        print(f"\ndclm demo: error: {err}\nInspect it: DAGSTER_HOME={dagster_home} dagster dev -w workspace.yaml",
              file=sys.stderr)
        return 1


def _run_demo(
    args: argparse.Namespace, layout: Any, dagster_home: str, eval_data: str, stack: contextlib.ExitStack
) -> int:
    import dagster as dg

    from dclm_assets.partitions import dataset_partitions
    from dclm_assets.resources import resources_for
    from dclm_resources.demo import (
        CLOZE_LABEL,
        EVAL_DATA_HINT,
        QUALITY_MODEL_NAME,
        DemoReport,
        demo_dir,
        leaderboard_row,
        prepare_heldout,
        prepare_resources,
    )
    from dclm_resources.demo.progress import Progress
    from dclm_resources.evaluation.suites import load_suite
    from dclm_resources.registry import DEMO_DATASET as DATASET
    from dclm_resources.storage import Storage, join_uri

    assets = _all_assets()
    with_leaderboard = _has_asset(assets, "leaderboard")
    instance = dg.DagsterInstance.get()
    instance.add_dynamic_partitions(dataset_partitions.name, [DATASET])
    progress = Progress(total=12 if with_leaderboard else 11)
    workers = args.workers or int(os.environ.get("DCLM_RAY_NUM_CPUS") or 0) or None
    resources = {**resources_for("local"), "ray": _driver_ray(stack, workers, quiet=not args.verbose)}
    runner = DemoRunner(instance, assets, resources, progress, force=args.force, verbose=args.verbose)
    store = Storage()
    pipeline = "demo.yaml"
    model_key = _partition_key(SCALE, DATASET)

    res = runner.step("demo resources (LID model, TLD list, quality positives)",
                      lambda: prepare_resources(layout, store, reference_count=max(50, args.pages // 2)),
                      lambda r: f"{r.reference_count} reference pages, LID {os.path.basename(r.lid_model)}")
    runner.run("raw_pool", DATASET, {"sample_pages": args.pages}, f"raw_pool[{DATASET}]",
               describe=lambda m: f"{m.get('pages')} pages, {m.get('num_shards')} shards")
    funnel = lambda m: f"{m.get('pages_in')} -> {m.get('pages_out')} pages"  # noqa: E731
    runner.run("heuristic_filtered", DATASET,
               {"pipeline": pipeline, "source_name": "demo_heuristics", "resource_dirs": [res.resource_dir]},
               f"heuristic_filtered[{DATASET}]", fresh_config={"overwrite": True}, describe=funnel,
               inputs={"resources": res.fingerprint})
    runner.run("deduplicated_dataset", DATASET, {}, f"deduplicated_dataset[{DATASET}] (BFF)", describe=funnel)
    runner.run("quality_classifier", None, {
        "positive_sources": [{"uri": res.reference_pages}],
        "negative_sources": [{"uri": f"raw_pool:{DATASET}"}],
        "max_examples_per_label": res.reference_count,  # balanced labels: the pool is half good pages
        "output_name": QUALITY_MODEL_NAME,
    }, "quality_classifier", describe=lambda m: f"valid F1 {m.get('valid_f1', float('nan')):.3f}",
        inputs={"resources": res.fingerprint})
    runner.run("filtered_dataset", DATASET,
               {"pipeline": pipeline, "source_name": "demo_quality", "keep_fraction": args.keep_fraction},
               f"filtered_dataset[{DATASET}]", fresh_config={"overwrite": True}, describe=funnel)
    tok = runner.run("tokenizer", None, {}, "tokenizer",
                     describe=lambda m: f"{m.get('origin')}, vocab {m.get('vocab_size')}")
    runner.run("tokenized_shards", DATASET, {}, f"tokenized_shards[{DATASET}]",
               describe=lambda m: f"{m.get('tokens'):,} tokens, {m.get('sequences')} sequences")
    ckpt_config = {"max_steps": args.max_steps} if args.max_steps else {}
    ckpt = runner.run("checkpoint", model_key, ckpt_config, f"checkpoint[{model_key}]",
                      on_fresh=lambda: _clear_local(layout.training_dir(SCALE, DATASET)),
                      describe=lambda m: f"loss {m.get('final_loss', float('nan')):.3f} after {m.get('steps')} steps")
    held = runner.step("held-out eval data (perplexity shards, cloze task)",
                       lambda: prepare_heldout(layout, str(tok.metadata["path"]), layout.raw_pool_reference(DATASET),
                                               store, pages=args.heldout_pages, cloze_limit=args.cloze_limit,
                                               perplexity_sequences=args.perplexity_sequences),
                       lambda h: f"{h.pages} pages, {h.perplexity_sequences} sequences, {h.cloze_examples} cloze items")
    eval_config: dict[str, Any] = {
        "suite": "core", "data_dir": eval_data, "perplexity_data": held.perplexity_data,
        "extra_tasks": held.cloze_task_yaml,
    }
    if args.eval_limit:
        eval_config["limit"] = args.eval_limit
    report = runner.run("eval_report", model_key, eval_config, f"eval_report[{model_key}]",
                        describe=_describe_eval, inputs={"heldout": held.fingerprint})
    board = None
    if with_leaderboard:
        board = runner.run("leaderboard", None, {}, "leaderboard",
                           describe=lambda m: f"{m.get('our_rows')} of our models, {m.get('dagster/row_count')} rows")

    eval_json = json.loads(store.read_text(str(report.metadata["eval_json"])))
    row = leaderboard_row(
        eval_json, dataset=DATASET, scale=SCALE, params=int(ckpt.metadata.get("parameters", 0)),
        tokens=int(ckpt.metadata.get("tokens_seen", 0)), suite_labels=load_suite("core").labels(),
        cloze_label=CLOZE_LABEL,
    )
    summary = DemoReport(home=layout.home, dagster_home=dagster_home, steps=runner.timings, row=row.to_dict(),
                         total_seconds=round(time.perf_counter() - progress.started, 2))
    summary.files = {
        "raw_pool": layout.raw_pool_reference(DATASET),
        "eval_json": str(report.metadata["eval_json"]),
        "checkpoint": str(ckpt.metadata.get("checkpoint", "")),
        "curated_dataset": join_uri(layout.filtered_stage_dir(DATASET, "quality"), "processed_data"),
        "tokenized_shards": layout.tokenized_dir(DATASET),
        "cloze_task": held.cloze_data,
    }
    if board is not None:
        summary.files.update({f"leaderboard_{k}": str(board.metadata[k]) for k in ("html", "csv", "parquet", "plot")
                              if k in board.metadata})
    else:
        summary.notes.append("leaderboard asset not in the definitions: not materialized")
    if row.suite_tasks_scored == 0:
        summary.notes.append(f"DCLM suites not run (no eval data). To get Core: {EVAL_DATA_HINT}")
    summary.files["demo_report"] = join_uri(demo_dir(layout), "demo_report.json")
    summary.write(summary.files["demo_report"], store)
    print(summary.text())
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m dclm_assets.cli_demo [options]``: the same as ``dclm demo [options]``."""
    parser = argparse.ArgumentParser(prog="dclm")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["demo", *(sys.argv[1:] if argv is None else argv)])
    try:
        return args.func(args)
    except (ValueError, OSError) as err:
        print(f"dclm demo: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
