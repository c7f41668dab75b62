"""submissions_sensor: a manifest dropped into the submissions folder becomes a dataset partition and its runs.

Each tick lists the manifests at the top level of the submissions folder or ``s3://`` prefix (``$DCLM_SUBMISSIONS``,
else ``<DCLM home>/submissions``), validates new and changed ones (``dclm_resources.submissions``), and for each
accepted one registers the dataset, adds the ``dataset`` partition and requests the chain for its scale. Rejects
are written to ``<submissions>/rejected/<manifest file>.json`` with their reasons and logged; accepted ones to
``<submissions>/accepted/<manifest file>.json``.

Cursor: a JSON record of every processed manifest file with the sha256 of the content processed and the outcome,
so a manifest is never run twice, even after a restart; a rejected manifest can be fixed in place, an accepted one
is immutable (an edit is rejected). If the cursor is lost, the registry record and the ``dclm/submission_sha256``
tag on launched backfills keep it idempotent.

How the runs cross partition definitions: the chain is dataset-partitioned (raw_pool ... tokenized_shards), then
scale x dataset (checkpoint, eval_report), then unpartitioned (leaderboard). One run cannot span those, and a
plain ``RunRequest`` carries one partition key. Dagster 1.13 has no public ``RunRequest.for_asset_graph_backfill``;
it has ``RunRequest.for_asset_graph_subset(AssetGraphSubset, tags)`` (what declarative automation uses), which the
sensor daemon turns into an *asset backfill*. The backfill daemon then launches each asset partition once its
parents are done, in dependency order, honouring each asset's ``BackfillPolicy`` and the partition mappings
between ``dataset`` and ``scale|dataset``. That is the choice here: one backfill per accepted submission, tagged
with the submission's name, scale and content hash. (Run config cannot ride along on such a request, so the
submission's pipeline, source name and data location live in the dataset's registry record, where the assets
read them.)

The asset list is ``SUBMISSION_ASSETS`` (extend it as assets land); keys not in the Definitions are skipped, so
the sensor works before the model assets exist. Data assets are left out for tokenized (mixing-track) data.
"""

import os
import re

import dagster as dg
from dagster._core.definitions.assets.graph.asset_graph_subset import AssetGraphSubset
from dagster._core.definitions.assets.graph.base_asset_graph import BaseAssetGraph
from dagster._core.definitions.events import AssetKeyPartitionKey

from dclm_assets.partitions import SCALES, dataset_partitions
from dclm_resources.registry import BUILTIN_SAMPLE
from dclm_resources.storage_resource import StorageResource
from dclm_resources.submissions import (
    Outcome,
    SubmissionCursor,
    SubmissionPolicy,
    process_submissions,
    write_accept,
)

SUBMISSION_ASSETS: list[str] = [
    "raw_pool",
    "heuristic_filtered",
    "deduplicated_dataset",
    "filtered_dataset",
    "tokenized_shards",
    "checkpoint",
    "eval_report",
    "leaderboard",
]
# Skipped when a submission brings tokenized data.
DATA_ASSETS = frozenset({"raw_pool", "heuristic_filtered", "deduplicated_dataset", "filtered_dataset",
                         "tokenized_shards"})
SUBMISSIONS_ENV = "DCLM_SUBMISSIONS"
# Extra pools the filtering track may name besides builtin:sample (comma- or space-separated URIs).
POOLS_ENV = "DCLM_SUBMISSION_POOLS"
TAG_SUBMISSION = "dclm/submission"
TAG_SHA256 = "dclm/submission_sha256"
TAG_SCALE = "dclm/scale"
TAG_TRACK = "dclm/track"
_BACKFILL_PAGE = 200


def submissions_root(storage: StorageResource) -> str:
    return os.environ.get(SUBMISSIONS_ENV) or storage.layout().submissions_dir()


def submission_policy() -> SubmissionPolicy:
    """Known scales = the scale partitions; allowed pools = builtin:sample plus ``$DCLM_SUBMISSION_POOLS``."""
    extra = [p for p in re.split(r"[,\s]+", os.environ.get(POOLS_ENV, "")) if p]
    return SubmissionPolicy(known_scales=tuple(SCALES), allowed_sources=(BUILTIN_SAMPLE, *extra))


def backfill_launched(instance: dg.DagsterInstance, sha256: str) -> bool:
    """Whether any backfill carries this manifest content's tag (filtered here: tag indexes vary by storage)."""
    cursor = None
    while True:
        page = instance.get_backfills(cursor=cursor, limit=_BACKFILL_PAGE)
        if any(b.tags.get(TAG_SHA256) == sha256 for b in page):
            return True
        if len(page) < _BACKFILL_PAGE:
            return False
        cursor = page[-1].backfill_id


def _partition_key(
    partitions_def: dg.PartitionsDefinition | None, name: str, scale: str
) -> str | dg.MultiPartitionKey | None | bool:
    """The key of this submission in an asset's partitions; None for unpartitioned; False when it has none."""
    if partitions_def is None:
        return None
    if isinstance(partitions_def, dg.DynamicPartitionsDefinition):
        return name if partitions_def.name == dataset_partitions.name else False
    if isinstance(partitions_def, dg.MultiPartitionsDefinition):
        dims = {d.name: d.partitions_def for d in partitions_def.partitions_defs}
        if set(dims) == {"scale", "dataset"} and scale in dims["scale"].get_partition_keys():
            return dg.MultiPartitionKey({"scale": scale, "dataset": name})
        return False
    if isinstance(partitions_def, dg.StaticPartitionsDefinition) and scale in partitions_def.get_partition_keys():
        return scale
    return False


def submission_targets(asset_graph: BaseAssetGraph, outcome: Outcome) -> set[AssetKeyPartitionKey]:
    """The asset partitions to build for an accepted submission, among the assets the Definitions have."""
    sub = outcome.submission
    assert sub is not None
    wanted = [k for k in SUBMISSION_ASSETS if not (sub.tokenized and k in DATA_ASSETS)]
    present = asset_graph.get_all_asset_keys()
    targets: set[AssetKeyPartitionKey] = set()
    for name in wanted:
        key = dg.AssetKey(name)
        if key not in present:
            continue
        partition = _partition_key(asset_graph.get(key).partitions_def, sub.name, sub.manifest.scale)
        if partition is not False:
            targets.add(AssetKeyPartitionKey(key, partition))
    return targets


@dg.sensor(
    name="submissions_sensor",
    asset_selection=dg.AssetSelection.key_prefixes(*[[k] for k in SUBMISSION_ASSETS]),
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=__doc__.split("\n\n")[0],
)
def submissions_sensor(
    context: dg.SensorEvaluationContext, storage: StorageResource
) -> dg.SensorResult | dg.SkipReason:
    root = submissions_root(storage)
    layout, store = storage.layout(), storage.storage()
    try:
        cursor = SubmissionCursor.parse(context.cursor)
    except ValueError as err:
        context.log.warning(f"{err}; starting from an empty cursor (registry and backfill tags prevent reruns)")
        cursor = SubmissionCursor()
    instance = context.instance
    result = process_submissions(
        root, store, layout, submission_policy(), cursor,
        name_in_use=lambda name: instance.has_dynamic_partition(dataset_partitions.name, name),
        already_launched=lambda sha: backfill_launched(instance, sha),
        log=context.log.info,
        warn=context.log.warning,
    )
    if result.root_missing:
        return dg.SkipReason(f"submissions folder {root} does not exist")
    if result.accepted and context.repository_def is None:
        raise dg.DagsterInvariantViolationError(
            "submissions_sensor needs its Definitions to build requests (build_sensor_context(definitions=...))"
        )
    asset_graph = context.repository_def.asset_graph if result.accepted else None
    new_partitions: list[str] = []
    run_requests: list[dg.RunRequest] = []
    for outcome in result.accepted:
        sub = outcome.submission
        assert sub is not None
        if not instance.has_dynamic_partition(dataset_partitions.name, sub.name):
            new_partitions.append(sub.name)
        targets = submission_targets(asset_graph, outcome) if outcome.launch else set()
        if targets:
            subset = AssetGraphSubset.from_asset_partition_set(targets, asset_graph)
            tags = {TAG_SUBMISSION: sub.name, TAG_SHA256: sub.sha256, TAG_SCALE: sub.manifest.scale,
                    TAG_TRACK: sub.manifest.track}
            run_requests.append(dg.RunRequest.for_asset_graph_subset(subset, tags=tags))
        elif outcome.launch:
            context.log.warning(f"submission {sub.name!r}: none of {SUBMISSION_ASSETS} is defined; nothing to run")
        if not outcome.launch:
            continue  # recognised after a lost cursor: its accepted record already tells of the launch
        write_accept(root, store, outcome.key, {
            "manifest": outcome.key,
            "manifest_uri": outcome.uri,
            "name": sub.name,
            "track": sub.manifest.track,
            "scale": sub.manifest.scale,
            "sha256": sub.sha256,
            "launched": bool(targets),
            "assets": sorted({t.asset_key.to_user_string() for t in targets}),
            "partitions": sorted({str(t.partition_key) for t in targets if t.partition_key is not None}),
        })
    if not result.outcomes and result.cursor.dumps() == cursor.dumps():
        return dg.SkipReason(f"no new or changed manifests in {root} ({result.skipped} unchanged)")
    return dg.SensorResult(
        run_requests=run_requests,
        dynamic_partitions_requests=[dataset_partitions.build_add_request(new_partitions)] if new_partitions else [],
        cursor=result.cursor.dumps(),
    )
