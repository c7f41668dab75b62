"""Fixtures of the demo tests: the offline LID model, built once per machine and reused by every session."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def cached_lid_model() -> Path:
    """The project's offline LID model from a per-user cache folder (built there on first use, ~30-60 s).

    Why: building it is part of a demo from a clean home (measured separately), not what these tests check; the
    demo finds it in ``<home>/models`` exactly as if an earlier run had built it there.
    """
    from dclm_resources.lid import ensure_offline_lid_model

    folder = Path(tempfile.gettempdir()) / f"dclm-test-lid-{os.getuid()}"
    return Path(ensure_offline_lid_model(folder))
