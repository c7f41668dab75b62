"""Headless Chromium for the UI tests: Debian's ``chromium`` driven by Playwright, never a downloaded browser.

Each test gets a fresh, empty profile and the flags of DESIGN §6 (without the networking ones the browser stalls on
a closed network). Screenshots go to ``test-artifacts/`` at the repo root, where CI collects them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dclm_tests.paths import REPO_ROOT

ARTIFACTS = REPO_ROOT / "test-artifacts"
CHROMIUM_FLAGS = (
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)


def chromium_path() -> str:
    """The system Chromium; a skip (or, with ``DCLM_REQUIRE_BROWSER`` set as in CI, a failure) when absent."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("DCLM_REQUIRE_BROWSER"):
            pytest.fail("chromium is required here (DCLM_REQUIRE_BROWSER is set): apt-get install chromium")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    return path


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    """A persistent Chromium context on an empty profile (Playwright passes it as ``--user-data-dir``)."""
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "chrome-profile"), executable_path=executable, headless=True, args=list(CHROMIUM_FLAGS),
            viewport={"width": 1600, "height": 1000},
        )
        context.set_default_timeout(60_000)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser: Any) -> Any:
    return browser.new_page()
