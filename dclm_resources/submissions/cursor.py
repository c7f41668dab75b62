"""The sensor's memory: which manifest files it has processed, with which content, and the outcome.

Why content hashes and not modification times: S3 and local folders disagree on timestamps, and an edited file
must be told apart from an untouched one whatever its mtime. The rule it implements:

- a manifest file not seen before is validated;
- the same content as last time is skipped (idempotent: nothing is ever run twice);
- a rejected manifest that changes is validated again (fix and resubmit in place);
- an accepted manifest that changes is rejected for good: accepted submissions are immutable, the runs already
  launched belong to the content that was accepted. A new submission needs a new file and a new dataset name.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass

ACCEPTED = "accepted"
REJECTED = "rejected"
_STATUS_CODES = {ACCEPTED: "a", REJECTED: "r"}
_CODE_STATUS = {v: k for k, v in _STATUS_CODES.items()}
CURSOR_VERSION = 1


class Decision(enum.Enum):
    SKIP = "skip"
    VALIDATE = "validate"
    REJECT_EDITED = "reject_edited"


@dataclass(frozen=True)
class Seen:
    status: str  # accepted | rejected
    sha256: str  # the content that was accepted (or last rejected)
    last: str  # the content seen last: differs from sha256 after an accepted manifest was edited


class SubmissionCursor:
    """An ordered record ``{manifest key: Seen}`` that serializes to a compact JSON string."""

    def __init__(self, entries: dict[str, Seen] | None = None) -> None:
        self.entries: dict[str, Seen] = dict(entries or {})

    @classmethod
    def parse(cls, text: str | None) -> SubmissionCursor:
        """An empty cursor for None/''; ValueError (saying why) for anything that is not a cursor we wrote."""
        if not text:
            return cls()
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"submissions cursor is not JSON ({err.msg})") from None
        if not isinstance(data, dict) or data.get("v") != CURSOR_VERSION or not isinstance(data.get("m"), dict):
            raise ValueError(f"submissions cursor is not version {CURSOR_VERSION} of our format")
        entries: dict[str, Seen] = {}
        for key, value in data["m"].items():
            if not (isinstance(value, list) and len(value) == 3 and value[0] in _CODE_STATUS):
                raise ValueError(f"submissions cursor entry {key!r} is malformed")
            entries[key] = Seen(_CODE_STATUS[value[0]], str(value[1]), str(value[2] or value[1]))
        return cls(entries)

    def dumps(self) -> str:
        compact = {
            k: [_STATUS_CODES[s.status], s.sha256, "" if s.last == s.sha256 else s.last]
            for k, s in self.entries.items()
        }
        return json.dumps({"v": CURSOR_VERSION, "m": compact}, separators=(",", ":"))

    def get(self, key: str) -> Seen | None:
        return self.entries.get(key)

    def decide(self, key: str, sha256: str) -> Decision:
        seen = self.entries.get(key)
        if seen is None:
            return Decision.VALIDATE
        if sha256 == seen.last or (seen.status == ACCEPTED and sha256 == seen.sha256):
            return Decision.SKIP
        if seen.status == ACCEPTED:
            return Decision.REJECT_EDITED
        return Decision.VALIDATE

    def record(self, key: str, status: str, sha256: str) -> None:
        """A manifest's content was accepted or rejected."""
        if status not in _STATUS_CODES:
            raise ValueError(f"unknown status {status!r}")
        self.entries[key] = Seen(status, sha256, sha256)

    def mark_seen(self, key: str, sha256: str) -> None:
        """Remember the latest content without changing the outcome (an edit of an accepted manifest)."""
        seen = self.entries[key]
        self.entries[key] = Seen(seen.status, seen.sha256, sha256)
