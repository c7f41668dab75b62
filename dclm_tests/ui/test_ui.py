"""The Dagster UI loads our asset graph in a real headless Chromium (Debian's ``chromium``, never a download)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from dclm_tests.paths import REPO_ROOT

pytestmark = pytest.mark.browser

ARTIFACTS = REPO_ROOT / "test-artifacts"
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("DCLM_REQUIRE_BROWSER"):
            pytest.fail("chromium is required here (DCLM_REQUIRE_BROWSER is set): apt-get install chromium")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, proc: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"webserver exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise AssertionError(f"webserver did not answer {url} within {timeout}s:\n{log.read_text()[-4000:]}")


def _materialize_sample(dagster_home: Path, dclm_home: Path) -> None:
    """Put one real materialization in the instance so the UI has metadata and a partition to show."""
    import dagster as dg

    from dclm_assets.assets.raw_pool import raw_pool
    from dclm_assets.partitions import dataset_partitions
    from dclm_resources.ray_resource import local_ray
    from dclm_resources.storage_resource import StorageResource

    instance = dg.DagsterInstance.from_config(str(dagster_home))
    instance.add_dynamic_partitions(dataset_partitions.name, ["sample"])
    result = dg.materialize(
        [raw_pool], instance=instance, partition_key="sample",
        resources={"storage": StorageResource(home=str(dclm_home)), "ray": local_ray(num_cpus=2)},
        run_config={"ops": {"raw_pool": {"config": {"sample_pages": 200}}}},
    )
    assert result.success


@pytest.fixture
def webserver(tmp_path):
    port = _free_port()
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    _materialize_sample(tmp_path, tmp_path / "home")
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "DCLM_HOME": str(tmp_path / "home")}
    log = tmp_path / "webserver.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dagster_webserver", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
            cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(f"http://127.0.0.1:{port}/server_info", proc, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _dismiss_community_dialog(page) -> None:
    """First visits show a 'Join the Dagster community' dialog over the page; skip it."""
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.wait_for(timeout=5000)
        skip.click()
    except Exception:  # noqa: BLE001 - no dialog on this visit
        pass


def test_asset_graph_shows_our_assets(webserver, tmp_path):
    chromium = _chromium()
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        # A fresh, empty profile each run (Playwright passes it as --user-data-dir).
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "chrome"), executable_path=chromium, headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 900},
        )
        try:
            page = browser.new_page()
            # The catalog lists every asset of the code location by key.
            page.goto(f"{webserver}/assets", wait_until="domcontentloaded")
            _dismiss_community_dialog(page)
            for key in ("raw_pool", "filtered_dataset", "tokenized_shards"):
                page.get_by_text(key, exact=True).first.wait_for(timeout=60000)
            page.screenshot(path=str(ARTIFACTS / "asset_catalog.png"), full_page=True)

            # The lineage graph shows our groups (collapsed when there are several).
            page.goto(f"{webserver}/asset-groups", wait_until="domcontentloaded")
            _dismiss_community_dialog(page)
            page.get_by_text("tokens", exact=True).first.wait_for(timeout=60000)
            page.screenshot(path=str(ARTIFACTS / "asset_graph.png"), full_page=True)

            page.goto(f"{webserver}/assets/raw_pool", wait_until="domcontentloaded")
            _dismiss_community_dialog(page)
            # The materialization's metadata, as the engine reported it, is on the page.
            page.get_by_text("num_shards").first.wait_for(timeout=60000)
            page.get_by_text("raw_source.json").first.wait_for(timeout=60000)
            page.screenshot(path=str(ARTIFACTS / "raw_pool_asset.png"), full_page=True)
        finally:
            browser.close()
