"""Backfills per scale through Dagster's own backfill daemon, on the real code location (``dclm_assets.definitions``).

What is checked: which runs the daemon requests, in which order, over which partitions, honouring each asset's
BackfillPolicy and the ``dataset`` -> ``scale|dataset`` partition mapping. The runs are not executed (the run
launcher only records them); each requested run is then completed by writing the materializations it would
report, so the daemon's next iteration sees its parents done, exactly as after real runs.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import dagster as dg
import pytest
from dagster._core.definitions.assets.graph.asset_graph_subset import AssetGraphSubset
from dagster._core.definitions.events import AssetKeyPartitionKey
from dagster._core.definitions.partitions.context import partition_loading_context
from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.storage.dagster_run import DagsterRun, RunsFilter
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    BACKFILL_ID_TAG,
    PARTITION_NAME_TAG,
)
from dagster._core.test_utils import create_test_daemon_workspace_context, instance_for_test
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
from dagster._daemon.backfill import execute_backfill_iteration

from dclm_assets.definitions import defs
from dclm_assets.partitions import dataset_partitions

DATA = ("raw_pool", "heuristic_filtered", "deduplicated_dataset", "filtered_dataset")
DATASETS = ("a", "b", "c")
MAX_ITERATIONS = 10
LOG = logging.getLogger("dclm.test_backfill")


@dataclass(frozen=True)
class Requested:
    """One run the daemon requested: its assets and the partitions it covers (None: unpartitioned)."""

    assets: tuple[str, ...]
    partitions: tuple[str | None, ...]
    checks: frozenset[str]


@dataclass
class Harness:
    instance: dg.DagsterInstance
    workspace: WorkspaceProcessContext

    @property
    def graph(self):  # noqa: ANN201 - Dagster's internal asset graph type
        return defs.resolve_asset_graph()

    def submit(self, targets: Iterable[tuple[str, str | dg.MultiPartitionKey | None]]) -> str:
        """An asset backfill over exactly these asset partitions (what the sensor's request or the UI creates)."""
        subset = AssetGraphSubset.from_asset_partition_set(
            {AssetKeyPartitionKey(dg.AssetKey(asset), key) for asset, key in targets}, self.graph
        )
        backfill_id = uuid.uuid4().hex[:8]
        self.instance.add_backfill(PartitionBackfill.from_asset_graph_subset(
            backfill_id=backfill_id, backfill_timestamp=time.time(), tags={}, dynamic_partitions_store=self.instance,
            asset_graph_subset=subset, title=None, description=None, run_config=None,
        ))
        return backfill_id

    def drive(self, backfill_id: str) -> list[list[Requested]]:
        """Run the backfill daemon until the backfill finishes; the runs each iteration requested, in order."""
        waves: list[list[Requested]] = []
        seen: set[str] = set()
        for _ in range(MAX_ITERATIONS):
            list(execute_backfill_iteration(self.workspace, LOG))
            runs = self.instance.get_runs(filters=RunsFilter(tags={BACKFILL_ID_TAG: backfill_id}))
            new = [run for run in runs if run.run_id not in seen]
            seen.update(run.run_id for run in new)
            if new:
                waves.append(sorted((self.complete(run) for run in new), key=lambda r: (r.assets, r.partitions)))
            if self.instance.get_backfill(backfill_id).status != BulkActionStatus.REQUESTED:
                assert self.instance.get_backfill(backfill_id).status == BulkActionStatus.COMPLETED_SUCCESS
                return waves
        raise AssertionError(f"backfill {backfill_id} did not finish in {MAX_ITERATIONS} iterations: {waves}")

    def partitions_of(self, run: DagsterRun, asset: dg.AssetKey) -> tuple[str | None, ...]:
        partitions_def = self.graph.get(asset).partitions_def
        if partitions_def is None:
            return (None,)
        if PARTITION_NAME_TAG in run.tags:
            return (run.tags[PARTITION_NAME_TAG],)
        span = dg.PartitionKeyRange(run.tags[ASSET_PARTITION_RANGE_START_TAG], run.tags[ASSET_PARTITION_RANGE_END_TAG])
        with partition_loading_context(dynamic_partitions_store=self.instance):
            return tuple(str(key) for key in partitions_def.get_partition_keys_in_range(span))

    def complete(self, run: DagsterRun) -> Requested:
        """Report what the run would: one materialization per asset partition, then success."""
        assets = sorted(run.asset_selection or (), key=lambda k: k.to_user_string())
        partitions = {self.partitions_of(run, key) for key in assets}
        assert len(partitions) == 1, f"run {run.run_id} spans different partitions per asset: {partitions}"
        for key in assets:
            for partition in self.partitions_of(run, key):
                materialization = dg.AssetMaterialization(asset_key=key, partition=partition)
                self.instance.report_dagster_event(DagsterEvent(
                    event_type_value=DagsterEventType.ASSET_MATERIALIZATION.value, job_name=run.job_name,
                    event_specific_data=StepMaterializationData(materialization)), run.run_id)
        for event_type in (DagsterEventType.RUN_START, DagsterEventType.RUN_SUCCESS):
            self.instance.report_dagster_event(DagsterEvent(event_type_value=event_type.value,
                                                            job_name=run.job_name), run.run_id)
        # None: the run executes every check of its assets (Dagster's default for a run of an asset selection).
        selected = run.asset_check_selection
        if selected is None:
            selected = {k for k in self.graph.asset_check_keys if k.asset_key in set(assets)}
        checks = frozenset(k.name for k in selected)
        return Requested(tuple(k.to_user_string() for k in assets), partitions.pop(), checks)


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    launcher = {"module": "dagster._core.test_utils", "class": "MockedRunLauncher"}
    with instance_for_test(overrides={"run_launcher": launcher}) as instance:
        instance.add_dynamic_partitions(dataset_partitions.name, list(DATASETS))
        origin = LoadableTargetOrigin(module_name="dclm_assets.definitions", attribute="defs")
        target = InProcessWorkspaceLoadTarget(InProcessCodeLocationOrigin(origin, location_name="dclm"))
        with create_test_daemon_workspace_context(target, instance) as workspace:
            yield Harness(instance, workspace)


def micro(dataset: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"scale": "micro", "dataset": dataset})


def test_scale_backfill_over_two_datasets(harness: Harness):
    """A submission-style backfill of the micro scale over datasets a and b, from the raw pool to the leaderboard."""
    assert dg.AssetKey("leaderboard") in harness.graph.get_all_asset_keys(), "definitions.py lacks the leaderboard"
    targets = [(asset, d) for d in ("a", "b") for asset in (*DATA, "tokenized_shards")]
    targets += [(asset, micro(d)) for d in ("a", "b") for asset in ("checkpoint", "eval_report")]
    waves = harness.drive(harness.submit([*targets, ("leaderboard", None)]))

    data_runs, tokens, models, board = waves
    # Ray data stages: no policy, one run per dataset, the four stages together in each.
    assert data_runs == [Requested(tuple(sorted(DATA)), (d,), data_runs[i].checks) for i, d in enumerate("ab")]
    assert {"stats_add_up", "retention_within_bounds"} <= data_runs[0].checks
    # Single-run policy: one run (one Ray job) tokenizes both datasets, after both curated datasets exist,
    # with its checks (manifest, token budget) in the same run.
    assert tokens == [Requested(("tokenized_shards",), ("a", "b"), tokens[0].checks)]
    assert {"manifest_matches_tars", "token_budget_covered"} <= tokens[0].checks
    # One training run walks both scale x dataset partitions, its eval in the same run (same policy and
    # partitions), only once both datasets' shards are there.
    assert models == [Requested(("checkpoint", "eval_report"), ("a|micro", "b|micro"), models[0].checks)]
    assert {"loss_finite_and_falling", "eval_complete_for_suite"} <= models[0].checks
    assert board == [Requested(("leaderboard",), (None,), frozenset())]


def test_single_run_backfills_follow_contiguous_dataset_ranges(harness: Harness):
    """Dataset c's shards exist already; a micro backfill over a and c (not b) is one run per contiguous key range,
    so every requested partition runs exactly once and b is never trained."""
    waves = harness.drive(harness.submit([(asset, micro(d)) for d in ("a", "c") for asset in ("checkpoint",
                                                                                            "eval_report")]))
    assert [sorted(r.partitions for r in wave) for wave in waves] == [[("a|micro",), ("c|micro",)]]


def test_ui_backfill_of_one_scale_over_every_dataset(harness: Harness):
    """The UI's "backfill" of checkpoint + eval_report for scale small over all datasets: one run, three partitions."""
    names = [str(dg.MultiPartitionKey({"scale": "small", "dataset": d})) for d in DATASETS]
    backfill_id = uuid.uuid4().hex[:8]
    harness.instance.add_backfill(PartitionBackfill.from_asset_partitions(
        backfill_id=backfill_id, asset_graph=harness.graph, partition_names=names,
        asset_selection=[dg.AssetKey("checkpoint"), dg.AssetKey("eval_report")], backfill_timestamp=time.time(),
        tags={}, dynamic_partitions_store=harness.instance, all_partitions=False, title=None, description=None,
        run_config=None,
    ))
    ((run,),) = harness.drive(backfill_id)
    assert run.assets == ("checkpoint", "eval_report") and run.partitions == ("a|small", "b|small", "c|small")
