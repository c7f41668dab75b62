"""submissions_sensor through the Dagster API: a real instance, the real assets and sensor, the daemons' own code."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.execution.backfill import PartitionBackfill

from dclm_assets.partitions import dataset_partitions
from dclm_assets.sensors import (
    SUBMISSIONS_ENV,
    TAG_SCALE,
    TAG_SHA256,
    TAG_SUBMISSION,
    submissions_sensor,
)
from dclm_resources.storage_resource import StorageResource
from dclm_resources.submissions import REJECTED_DIR
from dclm_tests.submissions.graph import build_defs

ALICE = ("name: alice_ds\ntrack: filtering\nscale: micro\nraw_pool: builtin:sample\n"
         "pipeline: dclm_baseline_refinedweb.yaml\n")
DATA_KEYS = {"raw_pool", "heuristic_filtered", "deduplicated_dataset", "filtered_dataset", "tokenized_shards"}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(SUBMISSIONS_ENV, raising=False)
    (tmp_path / "submissions").mkdir()
    return tmp_path


def _evaluate(home: Path, instance: dg.DagsterInstance, cursor: str | None = None, with_model_assets: bool = True,
              storage: StorageResource | None = None):
    storage = storage or StorageResource(home=str(home))
    defs = build_defs(storage, with_model_assets)
    context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs,
                                      resources={"storage": storage})
    return submissions_sensor(context)


def _subset_keys(run_request: dg.RunRequest) -> dict[str, set[str] | None]:
    subset = run_request.asset_graph_subset
    out: dict[str, set[str] | None] = {k.to_user_string(): None for k in subset.non_partitioned_asset_keys}
    for key, partitions in subset.partitions_subsets_by_asset_key.items():
        out[key.to_user_string()] = set(partitions.get_partition_keys())
    return out


def _apply_like_the_daemon(instance: dg.DagsterInstance, result: dg.SensorResult) -> None:
    """What the sensor daemon does with a result: add the partitions, then store each backfill request."""
    for request in result.dynamic_partitions_requests:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    for i, run_request in enumerate(result.run_requests):
        instance.add_backfill(PartitionBackfill.from_asset_graph_subset(
            backfill_id=f"test{i}{int(time.time() * 1000)}", backfill_timestamp=time.time(), tags=run_request.tags,
            dynamic_partitions_store=instance, asset_graph_subset=run_request.asset_graph_subset, title=None,
            description=None, run_config=None))


def test_valid_manifest_adds_partition_and_requests_the_chain_for_its_scale(home):
    (home / "submissions" / "alice.yaml").write_text(ALICE)
    instance = dg.DagsterInstance.ephemeral()
    result = _evaluate(home, instance)
    assert isinstance(result, dg.SensorResult)
    (partitions_request,) = result.dynamic_partitions_requests
    assert partitions_request.partitions_def_name == "dataset" and list(partitions_request.partition_keys) == [
        "alice_ds"]
    (request,) = result.run_requests
    assert request.requires_backfill_daemon()
    keys = _subset_keys(request)
    assert {k: v for k, v in keys.items() if k in DATA_KEYS} == {k: {"alice_ds"} for k in DATA_KEYS}
    assert keys["checkpoint"] == keys["eval_report"] == {"alice_ds|micro"}
    assert keys["leaderboard"] is None
    assert "tokenizer" not in keys and "quality_classifier" not in keys  # shared assets are not rebuilt per submission
    assert request.tags[TAG_SUBMISSION] == "alice_ds" and request.tags[TAG_SCALE] == "micro"
    accepted = json.loads((home / "submissions" / "accepted" / "alice.yaml.json").read_text())
    assert accepted["launched"] and accepted["partitions"] == ["alice_ds", "alice_ds|micro"]
    assert json.loads((home / "registry" / "alice_ds.json").read_text())["submission_sha256"] == request.tags[
        TAG_SHA256]
    _apply_like_the_daemon(instance, result)
    assert instance.get_dynamic_partitions("dataset") == ["alice_ds"]
    (backfill,) = instance.get_backfills()
    assert backfill.asset_backfill_data.target_subset == request.asset_graph_subset


def test_second_evaluation_and_a_restart_add_nothing(home):
    (home / "submissions" / "alice.yaml").write_text(ALICE)
    instance = dg.DagsterInstance.ephemeral()
    first = _evaluate(home, instance)
    _apply_like_the_daemon(instance, first)
    again = _evaluate(home, instance, cursor=first.cursor)
    assert isinstance(again, dg.SkipReason) and "1 unchanged" in again.skip_message
    restarted = _evaluate(home, instance, cursor=None)  # cursor lost: registry + backfill tag recognise it
    assert isinstance(restarted, dg.SensorResult)
    assert restarted.run_requests == [] and restarted.dynamic_partitions_requests == []
    assert len(instance.get_backfills()) == 1


def test_registered_but_never_launched_is_launched_after_a_restart(home):
    (home / "submissions" / "alice.yaml").write_text(ALICE)
    instance = dg.DagsterInstance.ephemeral()
    _evaluate(home, instance)  # the tick's result is lost: no partition, no backfill
    recovered = _evaluate(home, instance, cursor=None)
    assert len(recovered.run_requests) == 1 and recovered.dynamic_partitions_requests


def test_edited_manifest_is_rejected_and_nothing_runs(home):
    manifest = home / "submissions" / "alice.yaml"
    manifest.write_text(ALICE)
    instance = dg.DagsterInstance.ephemeral()
    first = _evaluate(home, instance)
    _apply_like_the_daemon(instance, first)
    manifest.write_text(ALICE.replace("scale: micro", "scale: small"))
    edited = _evaluate(home, instance, cursor=first.cursor)
    assert edited.run_requests == [] and edited.dynamic_partitions_requests == []
    record = json.loads((home / "submissions" / REJECTED_DIR / "alice.yaml.json").read_text())
    assert "changed after it was accepted" in record["reasons"][0]
    assert isinstance(_evaluate(home, instance, cursor=edited.cursor), dg.SkipReason)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (ALICE + "image: evil:latest\n", "unknown keys ['image']"),
        (ALICE.replace("alice_ds", "../../etc"), "invalid dataset name"),
        (ALICE.replace("alice_ds", "a|b"), "invalid dataset name"),
        (ALICE.replace("scale: micro", "scale: 70b-1x"), "unknown scale '70b-1x'"),
        (ALICE.replace("dclm_baseline_refinedweb.yaml", "mine.yaml"), "'mine.yaml' does not exist"),
        (ALICE.replace("builtin:sample", "/etc"), "the filtering track filters the shared pool"),
        (ALICE.replace("track: filtering", "track: mixing").replace("builtin:sample", "/etc"),
         "outside the submissions folder"),
        (ALICE.replace("track: filtering", "track: mixing").replace("builtin:sample", "s3://other/pool"),
         "outside the submissions folder"),
        (ALICE + "description: " + "x" * 70_000 + "\n", "the limit is 65536"),
        ("name: [oops\n", "not valid YAML"),
    ],
)
def test_invalid_manifests_get_a_reject_record(home, capfd, text, expected):
    (home / "submissions" / "m.yaml").write_text(text)
    instance = dg.DagsterInstance.ephemeral()
    result = _evaluate(home, instance)
    assert result.run_requests == [] and result.dynamic_partitions_requests == []
    record = json.loads((home / "submissions" / REJECTED_DIR / "m.yaml.json").read_text())
    assert record["status"] == "rejected" and record["manifest"] == "m.yaml" and record["time"]
    assert any(expected in r for r in record["reasons"]), record["reasons"]
    logged = [line for line in capfd.readouterr().err.splitlines() if "WARNING" in line and "m.yaml: rejected" in line]
    assert logged and expected in logged[0]
    assert not (home / "registry").exists()
    assert instance.get_dynamic_partitions("dataset") == []


def test_an_existing_partition_name_is_refused(home):
    (home / "submissions" / "alice.yaml").write_text(ALICE)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(dataset_partitions.name, ["alice_ds"])
    result = _evaluate(home, instance)
    assert result.run_requests == []
    record = json.loads((home / "submissions" / REJECTED_DIR / "alice.yaml.json").read_text())
    assert "dataset 'alice_ds' already exists" in record["reasons"][0]


def test_without_model_assets_only_the_data_chain_is_requested(home):
    (home / "submissions" / "alice.yaml").write_text(ALICE)
    result = _evaluate(home, dg.DagsterInstance.ephemeral(), with_model_assets=False)
    (request,) = result.run_requests
    assert set(_subset_keys(request)) == DATA_KEYS


def test_tokenized_submission_skips_the_data_assets(home):
    tok = home / "submissions" / "bob" / "tok"
    tok.mkdir(parents=True)
    (tok / "manifest.jsonl").write_text('{"shard": "00000000", "num_sequences": 8}\n')
    (home / "submissions" / "bob" / "ref.json").write_text(json.dumps({"manifest_url": "tok/manifest.jsonl"}))
    (home / "submissions" / "bob.yaml").write_text(
        "name: bob_tok\ntrack: mixing\nscale: 1b-1x\ntokenized: bob/ref.json\n")
    (request,) = _evaluate(home, dg.DagsterInstance.ephemeral()).run_requests
    assert _subset_keys(request) == {"checkpoint": {"bob_tok|1b-1x"}, "eval_report": {"bob_tok|1b-1x"},
                                     "leaderboard": None}


def test_operator_pools_for_the_filtering_track(home, monkeypatch):
    monkeypatch.setenv("DCLM_SUBMISSION_POOLS", "s3://pools/dclm-pool, /data/refinedweb")
    (home / "submissions" / "alice.yaml").write_text(ALICE.replace("builtin:sample", "s3://pools/dclm-pool"))
    (home / "submissions" / "bob.yaml").write_text(ALICE.replace("alice_ds", "bob").replace("builtin:sample",
                                                                                             "s3://pools/other"))
    result = _evaluate(home, dg.DagsterInstance.ephemeral())
    assert [r.tags[TAG_SUBMISSION] for r in result.run_requests] == ["alice_ds"]
    assert json.loads((home / "registry" / "alice_ds.json").read_text())["source"] == "s3://pools/dclm-pool"
    assert (home / "submissions" / REJECTED_DIR / "bob.yaml.json").exists()


def test_missing_folder_is_a_skip(tmp_path, monkeypatch):
    monkeypatch.setenv(SUBMISSIONS_ENV, str(tmp_path / "not-there"))
    result = _evaluate(tmp_path, dg.DagsterInstance.ephemeral())
    assert isinstance(result, dg.SkipReason) and "does not exist" in result.skip_message


def test_dagster_accepts_the_backfill_request_for_this_sensor(home):
    """evaluate_tick runs Dagster's own checks (backfill requests must stay inside the sensor's asset selection)."""
    (home / "submissions" / "alice.yaml").write_text(ALICE)
    storage = StorageResource(home=str(home))
    defs = build_defs(storage)
    context = dg.build_sensor_context(instance=dg.DagsterInstance.ephemeral(), definitions=defs,
                                      resources={"storage": storage})
    data = submissions_sensor.evaluate_tick(context)
    (request,) = data.run_requests
    assert request.tags["dagster/sensor_name"] == "submissions_sensor" and request.asset_graph_subset is not None


def test_s3_prefix(s3_storage, s3_endpoint, tmp_path, monkeypatch):
    store, bucket_root = s3_storage
    root = f"{bucket_root}/inbox"
    monkeypatch.setenv(SUBMISSIONS_ENV, root)
    store.write_text(f"{root}/alice/pool/a.jsonl", '{"text": "hello world", "url": "https://a.example"}\n')
    store.write_text(f"{root}/alice.yaml", ALICE.replace("track: filtering", "track: mixing")
                     .replace("builtin:sample", "alice/pool"))
    store.write_text(f"{root}/eve.yaml", ALICE.replace("alice_ds", "eve").replace("track: filtering", "track: mixing")
                     .replace("builtin:sample", f"{bucket_root}/private"))
    storage = StorageResource(home=f"{bucket_root}/home", s3_endpoint_url=s3_endpoint, s3_region="us-east-1")
    instance = dg.DagsterInstance.ephemeral()
    result = _evaluate(tmp_path, instance, storage=storage)
    (request,) = result.run_requests
    assert request.tags[TAG_SUBMISSION] == "alice_ds"
    registry = json.loads(store.read_text(f"{bucket_root}/home/registry/alice_ds.json"))
    assert registry["source"] == f"{root}/alice/pool"
    reject = json.loads(store.read_text(f"{root}/{REJECTED_DIR}/eve.yaml.json"))
    assert "outside the submissions folder" in reject["reasons"][0]
    assert store.exists(f"{root}/accepted/alice.yaml.json")
    again = _evaluate(tmp_path, instance, cursor=result.cursor, storage=storage)
    assert isinstance(again, dg.SkipReason)


def test_daemons_launch_the_chain_in_dependency_order(home, monkeypatch):
    """The sensor and backfill daemons' own iterations: tick -> partition + backfill -> first run is the data chain.

    Runs are queued, not executed (QueuedRunCoordinator and no run queue daemon), so the test shows what the
    daemons launch and in which order without running Ray.
    """
    from dagster._core.remote_origin import InProcessCodeLocationOrigin
    from dagster._core.test_utils import create_test_daemon_workspace_context
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
    from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
    from dagster._daemon.backfill import execute_backfill_iteration
    from dagster._daemon.sensor import execute_sensor_iteration

    monkeypatch.setenv("DCLM_HOME", str(home))
    (home / "submissions" / "alice.yaml").write_text(ALICE)
    origin = LoadableTargetOrigin(module_name="dclm_tests.submissions.graph", attribute="defs")
    target = InProcessWorkspaceLoadTarget(InProcessCodeLocationOrigin(origin, location_name="submissions_test"))
    overrides = {"run_coordinator": {"module": "dagster._core.run_coordinator", "class": "QueuedRunCoordinator"}}
    logger = logging.getLogger("submissions_test")
    with dg.instance_for_test(overrides=overrides) as instance, \
            create_test_daemon_workspace_context(target, instance) as workspace:
        list(execute_sensor_iteration(workspace, logger, None, None))
        assert instance.get_dynamic_partitions("dataset") == ["alice_ds"]
        (backfill,) = instance.get_backfills()
        assert backfill.tags[TAG_SUBMISSION] == "alice_ds"
        list(execute_backfill_iteration(workspace, logger))
        runs = instance.get_runs()
        assert runs, "the backfill daemon launched nothing"
        launched = {k.to_user_string() for run in runs for k in (run.asset_selection or ())}
        assert launched and launched <= {"raw_pool", "heuristic_filtered", "deduplicated_dataset", "filtered_dataset"}
        assert "raw_pool" in launched  # the root first; model assets wait for their parents
        assert {run.tags.get("dagster/partition") for run in runs} == {"alice_ds"}
        assert all(run.tags.get(TAG_SUBMISSION) == "alice_ds" for run in runs)
        list(execute_sensor_iteration(workspace, logger, None, None))  # next tick: nothing new
        assert len(instance.get_backfills()) == 1
