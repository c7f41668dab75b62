"""The S3 endpoint goes down in the middle of a ``dclm process`` run on ``s3://`` input and output, then comes back.

The run talks to a TCP forwarder in front of moto's real S3 server (``tcp_proxy``); killing the forwarder makes the
endpoint refuse connections while moto keeps the bucket. Expected: botocore's bounded retries (standard mode,
``S3Settings.max_attempts``) give up, the run ends with one clear error line that names an ``s3://`` URI (no
traceback); no object ever visible under the output is a partial one (every shard object decompresses whole, read
directly from moto while the run is failing and after it); with the endpoint back, a rerun completes and its
output is exactly the uninterrupted local run's.
"""

from __future__ import annotations

import http.server
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from dclm_resources.storage import S3Settings, Storage, StorageError, open_decompressed
from dclm_tests.paths import REPO_ROOT
from dclm_tests.reliability import procs
from dclm_tests.reliability.conftest import Reference
from dclm_tests.reliability.pool import assert_same_as_reference, process_args

RETRY_BOUND_S = 150  # five attempts with standard-mode backoff per request, a few requests per shard task


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_proxy(port: int, target_port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "dclm_tests.reliability.tcp_proxy", str(port), str(target_port)],
                            cwd=REPO_ROOT, stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
    return proc


def stop_proxy(proc: subprocess.Popen[bytes]) -> None:
    proc.kill()
    proc.wait(timeout=10)


def check_visible_objects(storage: Storage, out: str) -> set[str]:
    """Every object under ``out`` a reader can see is whole: data decompresses to the end, stats parse."""
    seen = set()
    for info in storage.list_files(out):
        seen.add(info.uri)
        if info.uri.endswith(".jsonl.zst"):
            try:
                with open_decompressed(info.uri, storage) as fh:
                    fh.read()
            except Exception as err:  # noqa: BLE001 - any failure here is a partial object
                raise AssertionError(f"{info.uri} is visible but not a whole zstd stream: {err}") from err
        elif info.uri.endswith(".jsonl"):
            for i, line in enumerate(storage.read_text(info.uri).splitlines(), 1):
                try:
                    json.loads(line)
                except ValueError as err:
                    raise AssertionError(f"{info.uri}:{i} is not a whole JSON line") from err
    return seen


@pytest.mark.timeout(480)
def test_s3_endpoint_down_mid_run_bounded_retries_clear_error_then_rerun(reference: Reference, s3_storage,
                                                                         s3_endpoint: str, tmp_path: Path):
    storage, root = s3_storage
    for shard in sorted(reference.pool.iterdir()):
        storage.write_bytes(f"{root}/pool/{shard.name}", shard.read_bytes())
    out = f"{root}/out"
    port = _free_port()
    proxy = start_proxy(port, int(s3_endpoint.rsplit(":", 1)[1]))
    args = process_args(reference.config, f"{root}/pool", out, "--s3-endpoint-url", f"http://127.0.0.1:{port}")
    try:
        run = procs.start(args, tmp_path / "logs", tag="outage")

        def some_shards_done() -> bool:
            return len(storage.list_files(f"{out}/stats")) >= 2

        while not some_shards_done():  # freeze the run at this state, take the endpoint down, let it go on
            assert run.proc.poll() is None, f"run ended before the outage: {run.stderr()[-2000:]}"
            time.sleep(0.05)
        frozen = procs.freeze(run)
        stop_proxy(proxy)
        down_at = time.monotonic()
        procs.thaw(frozen)

        seen: set[str] = set()
        while run.proc.poll() is None and time.monotonic() - down_at < RETRY_BOUND_S:
            seen |= check_visible_objects(storage, out)  # straight from moto, while the run retries
            time.sleep(0.5)
        code = run.wait(timeout=30)
        failed_after = time.monotonic() - down_at
        seen |= check_visible_objects(storage, out)
        err = run.stderr()
        assert code == 1, err[-3000:]
        assert failed_after < RETRY_BOUND_S
        assert "Traceback" not in err, err[-3000:]
        last = [line for line in err.splitlines() if line.startswith("dclm process: error:")]
        assert last and f"s3://{storage_bucket(root)}/" in last[-1], err[-3000:]
        assert any("/stats/" in u for u in seen)

        proxy = start_proxy(port, int(s3_endpoint.rsplit(":", 1)[1]))  # the endpoint is back, same address
        code, rerun = procs.run(args, tmp_path / "logs", tag="rerun")
        assert code == 0, rerun.stderr()[-3000:]
        check_visible_objects(storage, out)
        assert_same_as_reference(out, str(reference.out), reference.lines_in, storage)
    finally:
        stop_proxy(proxy)


def storage_bucket(root: str) -> str:
    return root[len("s3://"):]


class _SlowDown(http.server.BaseHTTPRequestHandler):
    """Answers every S3 request with 503 SlowDown (a retryable error) and counts the requests."""

    requests: list[str]

    def _answer(self) -> None:
        self.requests.append(f"{self.command} {self.path}")
        length = int(self.headers.get("Content-Length") or 0)
        if length and self.headers.get("Expect", "").lower() != "100-continue":
            self.rfile.read(length)
        body = b"" if self.command == "HEAD" else (
            b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>SlowDown</Code>"
            b"<Message>Please reduce your request rate.</Message></Error>")
        self.send_response(503)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _answer

    def log_message(self, *args: object) -> None:  # keep the test output clean
        pass


@pytest.fixture
def slowdown_endpoint(s3_endpoint: str):
    """``(url, requests)`` of a local endpoint that throttles every request; ``s3_endpoint`` sets the dummy keys."""
    requests: list[str] = []
    handler = type("Handler", (_SlowDown,), {"requests": requests})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("action", ["read", "write", "list"])
def test_s3_retries_are_bounded_by_max_attempts_then_error_names_the_uri(slowdown_endpoint, action):
    url, requests = slowdown_endpoint
    storage = Storage(S3Settings(endpoint_url=url, region_name="us-east-1", max_attempts=3))
    uri = "s3://throttled-bucket/out/shard_00_processed.jsonl.zst"
    started = time.monotonic()
    with pytest.raises(StorageError) as info:
        if action == "read":
            storage.read_bytes(uri)
        elif action == "write":
            storage.write_bytes(uri, b"x" * 1000)
        else:
            storage.list_files("s3://throttled-bucket/out/")
    assert time.monotonic() - started < 30
    assert len(requests) == 3, requests  # max_attempts, not one more
    message = str(info.value)
    assert message.startswith("s3://throttled-bucket/out/") and "SlowDown" in message, message
