"""``backend``: the same storage tests run against a local tmp folder and a real S3 endpoint."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from dclm_resources.storage import Storage, join_uri, split_s3


@dataclass
class Backend:
    """A storage plus a root URI that is empty at the start of the test."""

    kind: str
    storage: Storage
    root: str

    def uri(self, *parts: str) -> str:
        return join_uri(self.root, *parts)

    def raw_names(self) -> list[str]:
        """Every name under the root, hidden ones included (to catch temp-file litter)."""
        if self.kind == "local":
            out = []
            for dirpath, _dirs, files in os.walk(self.root):
                out += [os.path.relpath(os.path.join(dirpath, f), self.root) for f in files]
            return sorted(out)
        bucket, _ = split_s3(self.root)
        resp = self.storage.client.list_objects_v2(Bucket=bucket)
        return sorted(obj["Key"] for obj in resp.get("Contents", []))


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "local":
        root = tmp_path / "root"
        root.mkdir()
        return Backend("local", Storage(), str(root))
    sandbox = request.getfixturevalue("s3_storage")
    return Backend("s3", sandbox.storage, sandbox.root)
