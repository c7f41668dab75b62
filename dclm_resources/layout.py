"""Where every artefact lives under one DCLM home (a local folder or an ``s3://`` prefix).

One place decides the layout so that the CLI, the assets and later sessions never disagree about paths.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from dclm_resources.storage import is_s3, join_uri

DEFAULT_HOME = "~/.dclm"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.=-]{0,199}$")


def default_home() -> str:
    """``DCLM_HOME`` if set, else ``~/.dclm``; local paths are made absolute so runs agree on them."""
    home = os.environ.get("DCLM_HOME", DEFAULT_HOME)
    return home if is_s3(home) else str(Path(home).expanduser().resolve())


def check_dataset_name(name: str) -> str:
    """Dataset names become path components and partition keys: no separators, no traversal, no commas."""
    if not _SAFE_NAME.match(name) or ".." in name:
        raise ValueError(
            f"invalid dataset name {name!r}: use 1-200 characters from letters, digits, '_', '-', '.', '=' "
            "starting with a letter or digit, and no '..'"
        )
    return name


@dataclass(frozen=True)
class Layout:
    home: str

    def raw_pool_dir(self, dataset: str) -> str:
        return join_uri(self.home, "raw_pools", check_dataset_name(dataset))

    def raw_pool_reference(self, dataset: str) -> str:
        """DCLM raw-source reference JSON describing the materialized pool."""
        return join_uri(self.raw_pool_dir(dataset), "raw_source.json")

    def extracted_dir(self, dataset: str) -> str:
        """WARC inputs are extracted here as raw-pool JSONL."""
        return join_uri(self.raw_pool_dir(dataset), "extracted")

    def sample_pool_dir(self, dataset: str) -> str:
        return join_uri(self.raw_pool_dir(dataset), "sample")

    def filtered_stage_dir(self, dataset: str, stage: str) -> str:
        """One folder per filtering stage (heuristic, bff, quality), each in DCLM's processed-data layout."""
        return join_uri(self.home, "filtered", check_dataset_name(dataset), stage)

    def models_dir(self) -> str:
        """Trained models shared by every dataset (the quality classifier): ``<home>/models``."""
        return join_uri(self.home, "models")

    def tokenizer_dir(self, name: str) -> str:
        """A tokenizer the project trained (``tokenizer.json`` + ids); local, because HF tokenizers load files."""
        if is_s3(self.home):
            raise ValueError("tokenizers are kept in a local folder; use a local DCLM home to train one")
        return join_uri(self.home, "tokenizers", check_dataset_name(name))

    def tokenized_dir(self, dataset: str) -> str:
        return join_uri(self.home, "tokenized", check_dataset_name(dataset))

    def training_dir(self, scale: str, dataset: str) -> str:
        """open_lm's ``--logs`` folder of one (scale, dataset) run: ``<run name>/checkpoints/`` lives under it."""
        return join_uri(self.home, "training", check_dataset_name(scale), check_dataset_name(dataset))

    def evals_dir(self, scale: str, dataset: str) -> str:
        """DCLM eval JSONs of one (scale, dataset) model, one file per suite."""
        return join_uri(self.home, "evals", check_dataset_name(scale), check_dataset_name(dataset))

    def registry_file(self, dataset: str) -> str:
        """A registered dataset's source spec (written by the CLI or the submissions sensor)."""
        return join_uri(self.home, "registry", f"{check_dataset_name(dataset)}.json")

    def dagster_home(self) -> str:
        if is_s3(self.home):
            raise ValueError("DAGSTER_HOME must be a local folder; set it explicitly when DCLM_HOME is on S3")
        return join_uri(self.home, "dagster_home")

    def submissions_dir(self) -> str:
        """Where submitters drop manifests (``*.yaml`` / ``*.json`` at the top level) and the data they name."""
        return join_uri(self.home, "submissions")

    def submission_rejects_dir(self) -> str:
        """Reject records (``<manifest file>.json`` with the reasons), beside the manifests so submitters see them."""
        return join_uri(self.submissions_dir(), "rejected")

    def leaderboard_dir(self) -> str:
        """The leaderboard table (Parquet, CSV), its static HTML page and the Core-vs-FLOPs plot."""
        return join_uri(self.home, "leaderboard")
