"""One pass over the submissions folder: list manifests, decide by the cursor, validate, register, record.

Plain Python so the whole decision logic is testable without Dagster; the sensor supplies two questions about
its instance (is this dataset name already a partition? was a backfill for this manifest content already
launched?) and turns accepted outcomes into partition and backfill requests.

Idempotence has three layers: the cursor (fast path), the registry record of each accepted submission (which
carries the manifest's URI and content hash), and the launch tags the sensor queries. If the cursor is lost, an
accepted manifest is recognised from its registry record and is launched again only if no launch carries its
hash (a crash between registration and launch); a copy of an accepted manifest under another file name is
rejected as a duplicate.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dclm_resources.layout import Layout
from dclm_resources.registry import register_dataset
from dclm_resources.storage import FileInfo, Storage, StorageError, StorageNotFoundError, basename
from dclm_resources.submissions.cursor import ACCEPTED, REJECTED, Decision, SubmissionCursor
from dclm_resources.submissions.manifest import MANIFEST_SUFFIXES, MAX_MANIFEST_BYTES, peek_name
from dclm_resources.submissions.records import clear_reject, write_reject
from dclm_resources.submissions.validate import (
    Submission,
    SubmissionPolicy,
    SubmissionRejected,
    validate_submission,
)

MAX_PER_PASS = 25


@dataclass(frozen=True)
class Outcome:
    """What one pass did with one manifest file."""

    key: str
    uri: str
    status: str  # accepted | rejected
    sha256: str
    submission: Submission | None = None
    reasons: list[str] = field(default_factory=list)
    launch: bool = False  # accepted and no launch for this content exists yet
    reject_record: str | None = None


@dataclass
class PassResult:
    outcomes: list[Outcome]
    cursor: SubmissionCursor
    skipped: int = 0  # unchanged manifests
    deferred: int = 0  # left for the next pass (MAX_PER_PASS reached or unreadable now)
    root_missing: bool = False  # a local submissions folder that does not exist (nothing to do)

    @property
    def accepted(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == ACCEPTED]

    @property
    def rejected(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == REJECTED]


def list_manifests(root: str, storage: Storage) -> list[FileInfo] | None:
    """Manifest files at the top level of ``root``, sorted; None when a local ``root`` does not exist."""
    try:
        return storage.list_files(root, suffixes=MANIFEST_SUFFIXES, recursive=False)
    except StorageNotFoundError:
        return None


def read_manifest(info: FileInfo, storage: Storage) -> tuple[bytes, str]:
    """The bytes (at most the size limit + 1) and their identity: sha256, plus the size for oversized files."""
    with storage.open_read(info.uri) as fh:
        data = fh.read(MAX_MANIFEST_BYTES + 1)
    digest = hashlib.sha256(data).hexdigest()
    if len(data) > MAX_MANIFEST_BYTES:
        digest = f"{digest}-{info.size}"
    return data, digest


def registry_record(layout: Layout, storage: Storage, name: str) -> dict[str, Any] | None:
    uri = layout.registry_file(name)
    if not storage.exists(uri):
        return None
    try:
        record = json.loads(storage.read_text(uri))
    except (json.JSONDecodeError, StorageError):
        return {}
    return record if isinstance(record, dict) else {}


def register_submission(layout: Layout, storage: Storage, sub: Submission) -> dict[str, Any]:
    """The registry record the data and model assets read: where the data is and how to curate it."""
    m = sub.manifest
    return register_dataset(
        layout,
        storage,
        m.name,
        sub.raw_pool or sub.tokenized or "",
        track=m.track,
        scale=m.scale,
        pipeline=sub.pipeline,
        source_name=m.source_name if sub.pipeline else None,
        tokenized=sub.tokenized,
        description=m.description,
        submission_manifest=sub.manifest_uri,
        submission_sha256=sub.sha256,
    )


def _check_registration(
    sub: Submission, layout: Layout, storage: Storage, name_in_use: Callable[[str], bool]
) -> tuple[list[str], bool]:
    """(reasons to reject, whether this content was registered before from this very file)."""
    record = registry_record(layout, storage, sub.name)
    if record is None:
        if name_in_use(sub.name):
            return [f"key 'name': dataset {sub.name!r} already exists; choose another name"], False
        return [], False
    if record.get("submission_sha256") == sub.sha256:
        if record.get("submission_manifest") == sub.manifest_uri:
            return [], True
        other = basename(str(record.get("submission_manifest", "")))
        return [f"identical to manifest {other!r}, which was already accepted as dataset {sub.name!r}"], False
    return [f"key 'name': dataset {sub.name!r} is already registered; choose another name"], False


def process_submissions(
    root: str,
    storage: Storage,
    layout: Layout,
    policy: SubmissionPolicy,
    cursor: SubmissionCursor,
    *,
    name_in_use: Callable[[str], bool] = lambda name: False,
    already_launched: Callable[[str], bool] = lambda sha256: False,
    max_items: int = MAX_PER_PASS,
    log: Callable[[str], None] = lambda msg: None,
    warn: Callable[[str], None] | None = None,
) -> PassResult:
    """Process new and changed manifests under ``root`` (at most ``max_items``); returns outcomes + new cursor.

    ``log`` hears about accepted manifests, ``warn`` (default: ``log``) about rejected and unreadable ones.
    """
    warn = warn or log
    cursor = SubmissionCursor(cursor.entries)
    result = PassResult([], cursor)
    infos = list_manifests(root, storage)
    result.root_missing = infos is None
    for info in infos or []:
        if len(result.outcomes) >= max_items:
            result.deferred += 1
            continue
        key = basename(info.uri)
        try:
            data, sha = read_manifest(info, storage)
        except StorageError as err:
            warn(f"{info.uri}: cannot be read now, retrying on the next pass ({err.reason})")
            result.deferred += 1
            continue
        decision = cursor.decide(key, sha)
        if decision is Decision.SKIP:
            seen = cursor.get(key)
            if seen is not None and seen.last != sha:  # an accepted manifest reverted to what was accepted
                cursor.mark_seen(key, sha)
                clear_reject(root, storage, key)
            result.skipped += 1
            continue
        if decision is Decision.REJECT_EDITED:
            seen = cursor.get(key)
            reasons = [
                "the manifest changed after it was accepted; accepted submissions are immutable (their runs "
                "belong to the accepted content): submit again under a new file name and a new dataset name"
            ]
            cursor.mark_seen(key, sha)
            uri = write_reject(root, storage, key, info.uri, reasons, sha, peek_name(data, info.uri))
            result.outcomes.append(Outcome(key, info.uri, REJECTED, sha, reasons=reasons, reject_record=uri))
            warn(f"{info.uri}: rejected: {reasons[0]} (accepted content sha256 {seen.sha256 if seen else '?'})")
            continue
        result.outcomes.append(
            _validate_one(root, storage, layout, policy, cursor, key, info.uri, data, sha, name_in_use,
                          already_launched, log, warn)
        )
    return result


def _validate_one(
    root: str,
    storage: Storage,
    layout: Layout,
    policy: SubmissionPolicy,
    cursor: SubmissionCursor,
    key: str,
    uri: str,
    data: bytes,
    sha: str,
    name_in_use: Callable[[str], bool],
    already_launched: Callable[[str], bool],
    log: Callable[[str], None],
    warn: Callable[[str], None],
) -> Outcome:
    try:
        sub = validate_submission(uri, data, sha, root, storage, policy)
        reasons, seen_before = _check_registration(sub, layout, storage, name_in_use)
    except SubmissionRejected as err:
        sub, reasons, seen_before = None, err.reasons, False
    if reasons:
        cursor.record(key, REJECTED, sha)
        record = write_reject(root, storage, key, uri, reasons, sha, peek_name(data, uri))
        warn(f"{uri}: rejected: " + "; ".join(reasons))
        return Outcome(key, uri, REJECTED, sha, sub, reasons, reject_record=record)
    assert sub is not None
    launch = not (seen_before and already_launched(sha))
    register_submission(layout, storage, sub)
    clear_reject(root, storage, key)
    cursor.record(key, ACCEPTED, sha)
    how = "accepted" if not seen_before else ("recovered, relaunching" if launch else "already launched")
    log(f"{uri}: {how}: dataset {sub.name!r}, track {sub.manifest.track}, scale {sub.manifest.scale}")
    return Outcome(key, uri, ACCEPTED, sha, sub, launch=launch)
