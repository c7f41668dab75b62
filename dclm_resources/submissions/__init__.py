"""Leaderboard submissions: the manifest schema, its validation against the deployment, and one idempotent pass
over a submissions folder or ``s3://`` prefix. Plain Python; ``dclm_assets.sensors`` drives it from Dagster."""

from dclm_resources.submissions.confine import ConfinementError, confine
from dclm_resources.submissions.cursor import ACCEPTED, REJECTED, Decision, Seen, SubmissionCursor
from dclm_resources.submissions.inbox import (
    MAX_PER_PASS,
    Outcome,
    PassResult,
    list_manifests,
    process_submissions,
    read_manifest,
    register_submission,
    registry_record,
)
from dclm_resources.submissions.manifest import (
    FIELD_LIMITS,
    MANIFEST_SUFFIXES,
    MAX_MANIFEST_BYTES,
    TRACKS,
    Manifest,
    ManifestError,
    parse_manifest,
)
from dclm_resources.submissions.records import (
    ACCEPTED_DIR,
    REJECTED_DIR,
    accept_record_uri,
    reject_record_uri,
    write_accept,
    write_reject,
)
from dclm_resources.submissions.validate import (
    PIPELINES_DIR,
    Submission,
    SubmissionPolicy,
    SubmissionRejected,
    validate_submission,
)

__all__ = [
    "ACCEPTED",
    "ACCEPTED_DIR",
    "FIELD_LIMITS",
    "MANIFEST_SUFFIXES",
    "MAX_MANIFEST_BYTES",
    "MAX_PER_PASS",
    "PIPELINES_DIR",
    "REJECTED",
    "REJECTED_DIR",
    "TRACKS",
    "ConfinementError",
    "Decision",
    "Manifest",
    "ManifestError",
    "Outcome",
    "PassResult",
    "Seen",
    "Submission",
    "SubmissionCursor",
    "SubmissionPolicy",
    "SubmissionRejected",
    "accept_record_uri",
    "confine",
    "list_manifests",
    "parse_manifest",
    "process_submissions",
    "read_manifest",
    "register_submission",
    "registry_record",
    "reject_record_uri",
    "validate_submission",
    "write_accept",
    "write_reject",
]
