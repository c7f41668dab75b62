"""The Dagster UI in a real headless Chromium: the whole asset graph renders, and a partition launched from the UI
runs (in a subprocess of the code server, through the default run launcher) and its materialization shows up.

One webserver serves the module: a temporary ``DAGSTER_HOME`` whose ``dagster.yaml`` launches runs at once (no
daemon) and a temporary ``DCLM_HOME``, so nothing touches the developer's instance or data.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dclm_tests.paths import REPO_ROOT
from dclm_tests.ui.conftest import ARTIFACTS, chromium_path

pytestmark = pytest.mark.browser

# Runs start as soon as they are submitted (the default queued coordinator would wait for a daemon), in a
# subprocess of the code server (the default launcher).
DAGSTER_YAML = """\
telemetry:
  enabled: false
run_coordinator:
  module: dagster._core.run_coordinator
  class: DefaultRunCoordinator
run_launcher:
  module: dagster
  class: DefaultRunLauncher
"""
PARTITION = "sample"
SAMPLE_PAGES = 200  # the embedded pool at its smallest sensible size: the run is about Ray start-up, not data
RUN_CONFIG_YAML = f"ops:\n  raw_pool:\n    config:\n      sample_pages: {SAMPLE_PAGES}\n"
MODEL_ASSETS = ("checkpoint", "eval_report")
RUN_TIMEOUT_S = 240


@dataclass(frozen=True)
class Webserver:
    url: str
    dagster_home: Path
    dclm_home: Path
    log: Path

    def instance(self) -> Any:
        import dagster as dg

        return dg.DagsterInstance.from_config(str(self.dagster_home))

    @property
    def community_dialog_seen(self) -> bool:
        """Dagster records a skipped 'Join the Dagster community' dialog in ``$DAGSTER_HOME/.nux``, per instance."""
        return (self.dagster_home / ".nux" / "nux.yaml").exists()

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, proc: subprocess.Popen, server: Webserver, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"webserver exited with {proc.returncode}:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise AssertionError(f"webserver did not answer {url} within {timeout}s:\n{server.log_tail()}")


def _stop(proc: subprocess.Popen) -> None:
    """Stop the webserver and what it started (its code server, runs) by their process group, which is its own."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)  # a code server that outlived the webserver


@pytest.fixture(scope="module")
def webserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Webserver]:
    chromium_path()  # skip before paying for a webserver when there is no browser
    import dagster as dg

    from dclm_assets.partitions import dataset_partitions

    root = tmp_path_factory.mktemp("ui")
    server = Webserver(f"http://127.0.0.1:{_free_port()}", root / "dagster_home", root / "dclm_home",
                       root / "webserver.log")
    server.dagster_home.mkdir()
    (server.dagster_home / "dagster.yaml").write_text(DAGSTER_YAML)
    with dg.DagsterInstance.from_config(str(server.dagster_home)) as instance:
        instance.add_dynamic_partitions(dataset_partitions.name, [PARTITION])
    env = {**os.environ, "DAGSTER_HOME": str(server.dagster_home), "DCLM_HOME": str(server.dclm_home),
           "DCLM_RAY_NUM_CPUS": "1", "DCLM_ENV": "local"}
    port = server.url.rsplit(":", 1)[1]
    with server.log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dagster_webserver", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", port],
            cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        _wait_for(f"{server.url}/server_info", proc, server)
        yield server
    finally:
        _stop(proc)
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copyfile(server.log, ARTIFACTS / "webserver.log")  # for CI: what the server and the run printed


def _open(page: Any, server: Webserver, path: str) -> None:
    """Go to ``path``; on a fresh instance, first skip the community dialog that covers the page (DESIGN §6)."""
    from playwright.sync_api import expect

    page.goto(f"{server.url}{path}", wait_until="domcontentloaded")
    if server.community_dialog_seen:
        return
    dialog = page.get_by_role("dialog").filter(has_text="Join the Dagster community")
    dialog.get_by_role("button", name="Skip", exact=True).click()
    expect(dialog).to_be_hidden()
    deadline = time.monotonic() + 10
    while not server.community_dialog_seen:
        assert time.monotonic() < deadline, "the UI did not record the skipped community dialog"
        time.sleep(0.2)


def _graph() -> tuple[dict[str, str], dict[str, list[str]]]:
    """(asset -> group, asset -> upstream assets) as the code location defines them."""
    from dclm_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    groups, parents = {}, {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        name = key.to_user_string()
        groups[name] = node.group_name
        parents[name] = sorted(p.to_user_string() for p in node.parent_keys)
    return groups, parents


def _shown_as(key: str, label: str) -> bool:
    """The graph shortens long names in the middle ('deduplica…_dataset'); a label shows ``key`` if it fits."""
    if label == key:
        return True
    head, sep, tail = label.partition("…")
    return bool(sep) and len(head) + len(tail) < len(key) and key.startswith(head) and key.endswith(tail)


_GRAPH_BOXES_JS = """() => {
  const box = e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  return {
    groups: [...document.querySelectorAll('foreignObject.group')].map(e => [e.textContent.trim(), box(e)]),
    assets: [...document.querySelectorAll('foreignObject [class*="assetName"]')]
      .map(e => [e.textContent.trim(), box(e.closest('foreignObject'))]),
  };
}"""


def _expand_all_groups(page: Any) -> None:
    """Several groups start collapsed in the global lineage; the graph's settings menu expands them all."""
    page.get_by_role("button", name="settings", exact=True).click()
    expand = page.get_by_role("menuitem", name=re.compile("Expand all groups"))
    if expand.count():
        expand.click()
    page.keyboard.press("Escape")


def test_asset_graph_renders_every_group_and_asset(webserver, page, artifacts):
    from playwright.sync_api import expect

    groups, parents = _graph()
    assert set(MODEL_ASSETS) <= set(groups) and {groups[k] for k in MODEL_ASSETS} == {"models"}

    # The catalog lists every asset of the code location by key.
    _open(page, webserver, "/assets")
    for key in sorted(groups):
        expect(page.get_by_text(key, exact=True).first).to_be_visible()
    page.screenshot(path=str(artifacts / "asset_catalog.png"), full_page=True)

    # The global lineage: every group as a box, every asset drawn inside its own group's box.
    _open(page, webserver, "/asset-groups")
    for group in set(groups.values()):
        expect(page.locator("foreignObject.group", has_text=group).first).to_be_visible()
    _expand_all_groups(page)
    for key in MODEL_ASSETS:
        expect(page.locator("foreignObject").get_by_text(key, exact=True)).to_be_visible()
    page.wait_for_function(f"document.querySelectorAll('foreignObject [class*=\"assetName\"]').length >= {len(groups)}")
    page.screenshot(path=str(artifacts / "asset_graph.png"))
    drawn = page.evaluate(_GRAPH_BOXES_JS)
    group_boxes = {name: box for name, box in drawn["groups"]}
    assert set(group_boxes) == set(groups.values()), drawn["groups"]

    boxes: dict[str, list[float]] = {}
    for key, group in groups.items():
        matches = [box for label, box in drawn["assets"] if _shown_as(key, label)]
        assert len(matches) == 1, f"asset {key!r} drawn {len(matches)} times among {[a for a, _ in drawn['assets']]}"
        (box,) = matches
        outer = group_boxes[group]
        inside = outer[0] <= box[0] and outer[1] <= box[1] and box[2] <= outer[2] and box[3] <= outer[3]
        assert inside, f"asset {key!r} at {box} is not inside its group {group!r} at {outer}"
        boxes[key] = box
    # Lineage reads left to right: every asset is drawn right of each of its upstream assets.
    for key, ups in parents.items():
        for up in ups:
            assert boxes[up][0] < boxes[key][0], f"{up} -> {key}: upstream drawn at {boxes[up]}, downstream at {boxes[key]}"


def _launch_from_dialog(page: Any, server: Webserver, artifacts: Path) -> None:
    """raw_pool → Materialize… → partition 'sample', config ``sample_pages`` → Launch 1 run."""
    from playwright.sync_api import expect

    _open(page, server, "/assets/raw_pool")
    page.locator("button", has_text="Materialize…").click()
    dialog = page.locator(".bp5-dialog", has_text="Launch runs to materialize raw_pool")
    dialog.get_by_text("Select a partition or create one").click()
    page.locator(".dagster-popover").get_by_text(PARTITION, exact=True).first.click()
    dialog.get_by_text("Launch runs to materialize raw_pool").click()  # closes the partition picker
    expect(dialog).to_contain_text("1 partition")

    dialog.get_by_text("Config", exact=True).click()
    dialog.get_by_role("button", name="Add config").click()
    editor = page.locator(".bp5-dialog", has_text="Config Editor")
    editor.locator(".CodeMirror").click()
    page.keyboard.insert_text(RUN_CONFIG_YAML)  # inserted as typed text, without the editor's auto-indent
    expect(editor).to_contain_text("No errors")
    editor.get_by_role("button", name="Save config").click()
    expect(dialog).to_contain_text("Config saved")
    expect(dialog).to_contain_text(f"sample_pages: {SAMPLE_PAGES}")
    page.screenshot(path=str(artifacts / "launch_dialog.png"))
    dialog.get_by_role("button", name="Launch 1 run").click()


def _wait_for_run(server: Webserver, timeout: float = RUN_TIMEOUT_S) -> Any:
    """The run of raw_pool[sample] that the UI launched, once it has finished (polled through the instance)."""
    import dagster as dg

    instance = server.instance()
    filters = dg.RunsFilter(tags={"dagster/partition": PARTITION})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = instance.get_runs(filters=filters)
        if runs and runs[0].is_finished:
            assert len(runs) == 1, f"the UI launched {len(runs)} runs"
            return runs[0]
        time.sleep(1)
    state = runs[0].status if runs else "no run at all"
    raise AssertionError(f"raw_pool[{PARTITION}] did not finish within {timeout}s ({state}):\n{server.log_tail()}")


def _failure_report(server: Webserver, run_id: str) -> str:
    events = server.instance().all_logs(run_id)
    errors = [f"{e.dagster_event.event_type_value}: {e.message}" for e in events
              if e.dagster_event is not None and e.dagster_event.is_failure]
    return "\n".join(errors) + "\n" + server.log_tail()


def test_partition_launched_from_the_ui_succeeds(webserver, page, artifacts):
    import dagster as dg
    from playwright.sync_api import expect

    _launch_from_dialog(page, webserver, artifacts)
    run = _wait_for_run(webserver)
    assert run.status == dg.DagsterRunStatus.SUCCESS, _failure_report(webserver, run.run_id)
    assert run.run_config == {"ops": {"raw_pool": {"config": {"sample_pages": SAMPLE_PAGES}}}}
    assert run.asset_selection == {dg.AssetKey("raw_pool")}

    # The run really built the pool in our DCLM home, with the config given in the dialog.
    event = webserver.instance().get_latest_materialization_event(dg.AssetKey("raw_pool"))
    materialization = event.asset_materialization
    assert materialization.partition == PARTITION and materialization.metadata["pages"].value == SAMPLE_PAGES
    reference = Path(materialization.metadata["reference"].value)
    assert reference.is_file() and reference.is_relative_to(webserver.dclm_home)

    # The run page says so.
    _open(page, webserver, f"/runs/{run.run_id}")
    expect(page.get_by_text("Success", exact=True).first).to_be_visible()
    expect(page.get_by_text(f"partition: {PARTITION}").first).to_be_visible()
    expect(page.get_by_text("RUN_SUCCESS").first).to_be_visible()
    page.screenshot(path=str(artifacts / "raw_pool_run.png"))

    # The asset page shows the materialization with the metadata the engine reported.
    _open(page, webserver, f"/assets/raw_pool?partition={PARTITION}")
    expect(page.get_by_text("Latest materialization", exact=True).locator("xpath=..")).to_contain_text(PARTITION)
    expect(page.get_by_text("num_shards", exact=True).first).to_be_visible()
    expect(page.get_by_text(str(reference)).first).to_be_visible()
    pages_row = page.locator("tr").filter(has=page.locator("td", has_text=re.compile(r"^\s*pages\s*$")))
    expect(pages_row.first).to_contain_text(str(SAMPLE_PAGES))
    page.screenshot(path=str(artifacts / "raw_pool_asset.png"), full_page=True)
