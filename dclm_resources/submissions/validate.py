"""Validate a submission against the deployment: known scale, known pipeline, data that exists inside the prefix.

``parse_manifest`` checks the file on its own; this module checks what it points at, with storage access. The
result is a ``Submission`` whose locations are resolved URIs that the runs may use as they are.

Track rules (DCLM's two tracks): *filtering* competes on a shared pool, so ``raw_pool`` must be one of the
allowed sources (``builtin:sample`` and whatever pools the operator lists); *mixing* is "bring your own data": a
raw pool (folder, JSONL/WARC file or raw-source reference JSON) or a tokenized-dataset reference JSON inside the
submissions prefix. A pipeline is a shipped YAML by name or a YAML inside the prefix; a submitted YAML is parsed
with custom (dotted-path) operators refused and its file parameters kept relative, so it can name only the
deployment's own resource files.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dclm_resources.registry import BUILTIN_SAMPLE
from dclm_resources.storage import Storage, StorageError, basename
from dclm_resources.submissions.confine import ConfinementError, confine, resolve_relative
from dclm_resources.submissions.manifest import Manifest, ManifestError, parse_manifest

PIPELINES_DIR = Path(__file__).resolve().parents[2] / "dclm_assets" / "configs" / "pipelines"
MAX_PIPELINE_BYTES = 256 * 1024
MAX_REFERENCE_BYTES = 16 * 1024 * 1024
PIPELINE_SUFFIXES = (".yaml", ".yml")


class SubmissionRejected(ManifestError):
    """A submission that cannot run; ``reasons`` lists every problem found."""


@dataclass(frozen=True)
class SubmissionPolicy:
    """What this deployment accepts."""

    known_scales: tuple[str, ...]
    allowed_sources: tuple[str, ...] = (BUILTIN_SAMPLE,)
    pipelines_dir: Path = PIPELINES_DIR
    resource_dirs: tuple[str, ...] = ()

    def shipped_pipelines(self) -> list[str]:
        return sorted(p.name for p in self.pipelines_dir.glob("*.yaml"))


@dataclass(frozen=True)
class Submission:
    """An accepted manifest with every location resolved."""

    manifest: Manifest
    manifest_uri: str
    sha256: str
    raw_pool: str | None = None
    tokenized: str | None = None
    pipeline: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.manifest.name


def _read_limited(uri: str, storage: Storage, limit: int, key: str) -> bytes:
    with storage.open_read(uri) as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"key {key!r}: {basename(uri)} is larger than the limit of {limit} bytes")
    return data


def _source_names(data: Any) -> list[str]:
    if not isinstance(data, list):
        return []
    return [str(e["source"]) for e in data if isinstance(e, dict) and "source" in e]


def _check_step_paths(data: Any, key: str) -> None:
    """File parameters of a submitted pipeline must be relative names looked up in the resource folders."""
    from dclm_resources.processing.resource_paths import PATH_PARAMS

    for entry in data if isinstance(data, list) else []:
        steps = entry.get("steps") if isinstance(entry, dict) else None
        for i, step in enumerate(steps if isinstance(steps, list) else []):
            if not isinstance(step, dict):
                continue
            for param in PATH_PARAMS & set(step):
                value = step[param]
                if isinstance(value, str) and (
                    value.startswith(("/", "~")) or ":" in value or ".." in value.replace("\\", "/").split("/")
                ):
                    raise ValueError(
                        f"key {key!r}: step {i} parameter {param!r} must be a relative file name from the "
                        "deployment's resource folders (no absolute paths, URIs or '..')"
                    )


def resolve_pipeline(manifest: Manifest, root: str, storage: Storage, policy: SubmissionPolicy) -> str:
    """A shipped pipeline's file name, else the URI of a YAML inside the prefix that must parse."""
    value = manifest.pipeline or ""
    shipped = policy.shipped_pipelines()
    if "/" not in value:
        for candidate in (value, f"{value}.yaml"):
            if candidate in shipped:
                path = policy.pipelines_dir / candidate
                sources = _source_names(yaml.safe_load(path.read_text(encoding="utf-8")))
                if manifest.source_name not in sources:
                    raise ValueError(
                        f"key 'source_name': {manifest.source_name!r} is not a source of {candidate}; "
                        f"its sources: {sources}"
                    )
                return candidate  # by name: the filtering assets resolve shipped names wherever the code runs
    if not value.lower().endswith(PIPELINE_SUFFIXES):
        raise ValueError(
            f"key 'pipeline': {value[:100]!r} is neither a shipped pipeline ({shipped}) nor a .yaml file in the "
            "submissions folder"
        )
    uri = confine(value, root, "pipeline")
    if not storage.exists(uri):
        raise ValueError(f"key 'pipeline': {value[:200]!r} does not exist in the submissions folder")
    text = _read_limited(uri, storage, MAX_PIPELINE_BYTES, "pipeline").decode("utf-8", errors="strict")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise ValueError(f"key 'pipeline': {basename(uri)}{line}: not valid YAML") from None
    _check_step_paths(data, "pipeline")
    from dclm_resources.processing.pipeline import PipelineError, parse_pipeline

    try:
        parse_pipeline(data, manifest.source_name, basename(uri), allow_custom=False,
                       resource_dirs=policy.resource_dirs)
    except PipelineError as err:
        raise ValueError(f"key 'pipeline': {err}") from None
    return uri


def resolve_raw_pool(manifest: Manifest, root: str, storage: Storage, policy: SubmissionPolicy) -> str:
    value = manifest.raw_pool or ""
    if value in policy.allowed_sources:
        return value
    if manifest.track == "filtering":
        raise ValueError(
            f"key 'raw_pool': the filtering track filters the shared pool, one of {list(policy.allowed_sources)}; "
            "bring your own data in the mixing track"
        )
    uri = confine(value, root, "raw_pool", policy.allowed_sources)
    if not storage.exists(uri):
        raise ValueError(f"key 'raw_pool': {value[:200]!r} does not exist in the submissions folder")
    if uri.lower().endswith(".json"):
        record = _read_json(uri, storage, "raw_pool")
        urls = record.get("dataset_urls")
        entries = urls if isinstance(urls, list) else [record.get("dataset_url")]
        if not entries or not all(isinstance(e, str) and e for e in entries):
            raise ValueError(f"key 'raw_pool': {basename(uri)} needs 'dataset_urls' (list) or 'dataset_url'")
        for entry in entries:
            confine(resolve_relative(entry, uri), root, "raw_pool")
    return uri


def resolve_tokenized(manifest: Manifest, root: str, storage: Storage) -> str:
    if manifest.track != "mixing":
        raise ValueError("key 'tokenized': bringing tokenized data is the mixing track; set track: mixing")
    value = manifest.tokenized or ""
    if not value.lower().endswith(".json"):
        raise ValueError("key 'tokenized': give a DCLM tokenized-dataset reference JSON (with 'manifest_url')")
    uri = confine(value, root, "tokenized")
    if not storage.exists(uri):
        raise ValueError(f"key 'tokenized': {value[:200]!r} does not exist in the submissions folder")
    record = _read_json(uri, storage, "tokenized")
    manifest_url = record.get("manifest_url")
    if not isinstance(manifest_url, str) or not manifest_url:
        raise ValueError(f"key 'tokenized': {basename(uri)} has no 'manifest_url'")
    located = confine(resolve_relative(manifest_url, uri), root, "tokenized")
    if not storage.exists(located):
        raise ValueError(f"key 'tokenized': its manifest_url {manifest_url[:200]!r} does not exist")
    dataset_url = record.get("dataset_url")
    if isinstance(dataset_url, str) and dataset_url:
        confine(resolve_relative(dataset_url, uri), root, "tokenized")
    return uri


def _read_json(uri: str, storage: Storage, key: str) -> dict[str, Any]:
    data = _read_limited(uri, storage, MAX_REFERENCE_BYTES, key)
    try:
        record = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        line = f" line {err.lineno}" if isinstance(err, json.JSONDecodeError) else ""
        raise ValueError(f"key {key!r}: {basename(uri)}{line}: not valid JSON") from None
    if not isinstance(record, dict):
        raise ValueError(f"key {key!r}: {basename(uri)} must hold a JSON object")
    return record


def validate_submission(
    manifest_uri: str, data: bytes, sha256: str, root: str, storage: Storage, policy: SubmissionPolicy
) -> Submission:
    """Parse and check one manifest; SubmissionRejected lists every problem (schema first, then locations)."""
    try:
        manifest = parse_manifest(data, manifest_uri)
    except ManifestError as err:
        raise SubmissionRejected(manifest_uri, err.reasons) from None
    reasons: list[str] = []
    if manifest.scale not in policy.known_scales:
        reasons.append(f"key 'scale': unknown scale {manifest.scale!r}; known scales: {list(policy.known_scales)}")
    resolved: dict[str, str | None] = {"raw_pool": None, "tokenized": None, "pipeline": None}
    checks: Sequence[tuple[str, Any]] = (
        ("raw_pool", lambda: resolve_raw_pool(manifest, root, storage, policy)),
        ("pipeline", lambda: resolve_pipeline(manifest, root, storage, policy)),
        ("tokenized", lambda: resolve_tokenized(manifest, root, storage)),
    )
    for key, check in checks:
        if getattr(manifest, key) is None:
            continue
        try:
            resolved[key] = check()
        except (ConfinementError, ValueError) as err:
            reasons.append(str(err))
        except StorageError as err:
            reasons.append(f"key {key!r}: cannot be read ({err.reason})")
    if reasons:
        raise SubmissionRejected(manifest_uri, reasons)
    return Submission(manifest, manifest_uri, sha256, **resolved)
