"""Shared fixtures: a real S3 endpoint (moto's server in a subprocess on loopback) and per-test buckets.

Why a subprocess and not ``mock_aws``: the code under test must talk HTTP to an external endpoint exactly as it
would to S3 or MinIO (retries, timeouts, multipart, streaming bodies), and Ray workers in other processes must be
able to reach it too.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from dclm_resources.storage import S3Settings, Storage

S3_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    # Never pick up a developer's real profile or config while tests run.
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}
_UNSET_FOR_S3 = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3")
STARTUP_TIMEOUT_S = 30.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(proc: subprocess.Popen[bytes], url: str, deadline: float) -> bool:
    """Poll until the server answers HTTP (True) or the process dies / time runs out (False)."""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=1.0):
                return True
        except urllib.error.HTTPError:
            return True  # any HTTP answer means the server is up
        except OSError:
            time.sleep(0.1)
    return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="session", autouse=True)
def isolated_model_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests never see (or write) the developer's ~/.dclm/models: models dir and download cache are temporary."""
    saved = {k: os.environ.get(k) for k in ("DCLM_MODELS_DIR", "DCLM_MODEL_CACHE")}
    os.environ["DCLM_MODELS_DIR"] = str(tmp_path_factory.mktemp("models"))
    os.environ["DCLM_MODEL_CACHE"] = str(tmp_path_factory.mktemp("model_cache"))
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a real S3 API (``python -m moto.server``) on 127.0.0.1, with dummy credentials in os.environ.

    The dummy AWS_* variables stay set for the whole session (restored afterwards) so every boto3 client,
    including ones built inside the code under test or in child processes, authenticates against it.
    """
    saved = {k: os.environ.get(k) for k in (*S3_TEST_ENV, *_UNSET_FOR_S3, "NO_PROXY", "no_proxy")}
    os.environ.update(S3_TEST_ENV)
    for key in _UNSET_FOR_S3:
        os.environ.pop(key, None)
    for key in ("NO_PROXY", "no_proxy"):
        os.environ[key] = ",".join(filter(None, [os.environ.get(key), "127.0.0.1", "localhost"]))
    log_path: Path = tmp_path_factory.mktemp("moto") / "moto_server.log"
    proc: subprocess.Popen[bytes] | None = None
    url = ""
    try:
        for _attempt in range(3):  # the free port can be taken between probing and binding: retry
            port = _free_port()
            url = f"http://127.0.0.1:{port}"
            with open(log_path, "ab") as log:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=os.environ.copy(),
                )
            if _wait_ready(proc, url, time.monotonic() + STARTUP_TIMEOUT_S):
                break
            _stop(proc)
            proc = None
        if proc is None:
            tail = log_path.read_text(errors="replace")[-2000:]
            pytest.fail(f"moto server did not start; log tail:\n{tail}")
        yield url
    finally:
        if proc is not None:
            _stop(proc)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class S3Sandbox(NamedTuple):
    """A Storage pointed at the test endpoint plus a fresh, empty bucket (``root`` is ``s3://<bucket>``)."""

    storage: Storage
    root: str

    @property
    def bucket(self) -> str:
        return self.root[len("s3://") :]


def _empty_and_delete_bucket(client: Any, bucket: str) -> None:
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=bucket, Delete={"Objects": keys})
    for up in client.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
        client.abort_multipart_upload(Bucket=bucket, Key=up["Key"], UploadId=up["UploadId"])
    client.delete_bucket(Bucket=bucket)


@pytest.fixture
def s3_storage(s3_endpoint: str) -> Iterator[S3Sandbox]:
    """``(storage, root)``: a Storage for the moto endpoint and a new bucket, emptied and deleted afterwards."""
    storage = Storage(S3Settings(endpoint_url=s3_endpoint, region_name="us-east-1", max_attempts=2))
    bucket = f"dclm-test-{uuid.uuid4().hex[:12]}"
    storage.client.create_bucket(Bucket=bucket)
    try:
        yield S3Sandbox(storage, f"s3://{bucket}")
    finally:
        _empty_and_delete_bucket(storage.client, bucket)


# Native extensions loaded together in one interpreter (Ray, torch, fastText, pyarrow) have been seen to crash
# during interpreter teardown after every test had passed (exit 139 once the summary was printed). The results
# are final by then, so the session ends with pytest's own exit status and skips that teardown.
# DCLM_TEST_NORMAL_EXIT=1 keeps the normal shutdown (to hunt the crash).
_SESSION_EXIT: dict[str, int] = {}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _SESSION_EXIT["status"] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    if "status" in _SESSION_EXIT and not os.environ.get("DCLM_TEST_NORMAL_EXIT"):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_SESSION_EXIT["status"])
