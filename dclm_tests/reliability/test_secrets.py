"""Planted credentials never leave the environment: not in a run's output, logs, stats, references or any object.

A real ``dclm process`` runs against moto's S3 endpoint with planted AWS credentials (moto accepts any), once to
completion and once into an S3 error (a config object that does not exist). Then every byte the runs produced is searched
for the secrets: captured stdout/stderr, every object in the bucket (data, stats, quarantine, global stats, the
reference JSON), and every file under Ray's temp folder (its session logs of driver, raylet and workers).
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from dclm_tests.paths import REPO_ROOT
from dclm_tests.reliability import procs
from dclm_tests.reliability.conftest import Reference
from dclm_tests.reliability.pool import process_args

SECRETS = {
    "AWS_ACCESS_KEY_ID": "AKIAPLANTEDQ7X2LEAK9",
    "AWS_SECRET_ACCESS_KEY": "plAnted/Secret+Key=zQ8XfR3uDoNotLeak0123456789",
    "AWS_SESSION_TOKEN": "PlantedSessionToken//NeverLogThis==",
}


def _needles() -> dict[str, bytes]:
    """Each secret as written, URL-quoted and base64-encoded (the shapes a leak could take)."""
    out = {}
    for name, value in SECRETS.items():
        out[name] = value.encode()
        out[f"{name} (url-quoted)"] = quote(value, safe="").encode()
        out[f"{name} (base64)"] = base64.b64encode(value.encode()).rstrip(b"=")
    return out


def _leaks(where: str, data: bytes) -> list[str]:
    return [f"{name} in {where}" for name, needle in _needles().items() if needle in data]


@pytest.fixture
def ray_tmp() -> Iterator[Path]:
    """A short private RAY_TMPDIR (Ray's socket paths must stay under ~107 bytes), removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="dclm-r", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.mark.timeout(300)
def test_planted_credentials_never_written_or_logged(reference: Reference, s3_storage, s3_endpoint: str,
                                                     ray_tmp: Path, tmp_path: Path):
    storage, root = s3_storage
    for shard in sorted(reference.pool.iterdir())[:3]:
        storage.write_bytes(f"{root}/pool/{shard.name}", shard.read_bytes())
    env = {**SECRETS, "RAY_TMPDIR": str(ray_tmp), "DCLM_S3_ENDPOINT_URL": s3_endpoint}
    ok_code, ok = procs.run(process_args(reference.config, f"{root}/pool", f"{root}/out"), tmp_path / "logs",
                            env=env, tag="ok")
    assert ok_code == 0, ok.stderr()[-3000:]
    # An error path through boto3 (a config object that is not there), with the credentials in use.
    bad_code, bad = procs.run(process_args(f"{root}/missing.yaml", f"{root}/pool", f"{root}/out2"),
                              tmp_path / "logs", env=env, tag="error")
    assert bad_code == 1 and f"{root}/missing.yaml" in bad.stderr(), bad.stderr()[-3000:]

    leaks: list[str] = []
    searched = 0
    for r in (ok, bad):
        for path in (r.stdout_path, r.stderr_path):
            leaks += _leaks(path.name, path.read_bytes())
            searched += 1
    objects = storage.list_files(root)
    assert any(o.uri.endswith("global_stats.jsonl") for o in objects)
    assert any(o.uri.endswith("_stats.jsonl") for o in objects) and any(o.uri.endswith(".json") for o in objects)
    contents = b""
    for info in objects:
        data = storage.read_bytes(info.uri)
        contents += data[:1 << 20]
        leaks += _leaks(info.uri, data)
        searched += 1
    assert root.encode() in contents  # the search does read what was written (stats name their s3:// paths)
    ray_files = [p for p in ray_tmp.rglob("*") if p.is_file() and not p.is_symlink()]
    assert any(p.suffix in (".log", ".out", ".err") for p in ray_files), "Ray's logs were not where expected"
    for path in ray_files:
        try:
            leaks += _leaks(str(path), path.read_bytes())
        except OSError:  # sockets and the like
            continue
        searched += 1
    assert searched > 20
    assert not leaks, leaks
    assert os.environ.get("AWS_SECRET_ACCESS_KEY") != SECRETS["AWS_SECRET_ACCESS_KEY"]  # planted only in the runs


def _search_tree(folder: Path) -> tuple[list[str], int]:
    leaks, searched = [], 0
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            try:
                leaks += _leaks(str(path), path.read_bytes())
            except OSError:
                continue
            searched += 1
    return leaks, searched


@pytest.mark.timeout(300)
def test_planted_credentials_not_in_dagster_metadata_or_event_log(s3_storage, s3_endpoint: str, ray_tmp: Path,
                                                                   tmp_path: Path):
    """``raw_pool`` materialized through Dagster (a persistent instance, the local resources) into an ``s3://``
    home with planted credentials; the instance (event log with every metadata entry, run storage, compute logs)
    holds none of them."""
    storage, root = s3_storage
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    script = tmp_path / "materialize.py"
    script.write_text(MATERIALIZE_RAW_POOL)
    env = {**os.environ, **SECRETS, "RAY_TMPDIR": str(ray_tmp), "DCLM_S3_ENDPOINT_URL": s3_endpoint,
           "DAGSTER_HOME": str(dagster_home), "DCLM_HOME": f"{root}/home", "DCLM_RAY_NUM_CPUS": "1"}
    proc = subprocess.run([sys.executable, str(script)], cwd=REPO_ROOT, env=env, capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    leaks, searched = _search_tree(dagster_home)
    event_log = b"".join(p.read_bytes() for p in dagster_home.rglob("*.db"))
    assert root.encode() in event_log and b"raw_pool" in event_log  # the search does read the metadata
    leaks += _leaks("stdout", proc.stdout) + _leaks("stderr", proc.stderr)
    objects = storage.list_files(root)
    assert objects
    for info in objects:
        leaks += _leaks(info.uri, storage.read_bytes(info.uri))
    more, n = _search_tree(ray_tmp)
    assert searched + n > 10
    assert not leaks + more, leaks + more


MATERIALIZE_RAW_POOL = """
import dagster as dg

from dclm_assets.assets.raw_pool import raw_pool
from dclm_assets.partitions import dataset_partitions
from dclm_assets.resources import resources_for

instance = dg.DagsterInstance.get()
instance.add_dynamic_partitions(dataset_partitions.name, ["sample"])
result = dg.materialize([raw_pool], instance=instance, resources=resources_for(), partition_key="sample",
                        run_config={"ops": {"raw_pool": {"config": {"sample_pages": 200}}}}, raise_on_error=False)
raise SystemExit(0 if result.success else 1)
"""
