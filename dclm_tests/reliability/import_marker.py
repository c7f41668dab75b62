"""A module with an import side effect, to show a pipeline YAML cannot make the runner import it.

Importing it writes the file named by ``$DCLM_TEST_IMPORT_MARKER``; a refused custom operator must leave no file.
"""

from __future__ import annotations

import os
from typing import Any

_marker = os.environ.get("DCLM_TEST_IMPORT_MARKER")
if _marker:
    with open(_marker, "w") as fh:
        fh.write("imported\n")


def passthrough_modifier(page: dict[str, Any]) -> list[dict[str, Any]]:
    return [page]
