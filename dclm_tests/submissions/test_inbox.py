"""One pass over a submissions folder, without Dagster: the cursor rules, records, registry and recovery."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dclm_assets.partitions import SCALES
from dclm_resources.layout import Layout
from dclm_resources.storage import Storage
from dclm_resources.submissions import (
    ACCEPTED,
    MAX_MANIFEST_BYTES,
    REJECTED,
    REJECTED_DIR,
    SubmissionCursor,
    SubmissionPolicy,
    process_submissions,
)

POLICY = SubmissionPolicy(known_scales=SCALES)
ALICE = "name: alice_ds\ntrack: filtering\nscale: micro\nraw_pool: builtin:sample\npipeline: refinedweb.yaml\n"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "submissions").mkdir()
    return tmp_path


def _pass(home: Path, cursor: SubmissionCursor | None = None, **kwargs):
    layout = Layout(str(home))
    return process_submissions(layout.submissions_dir(), Storage(), layout, POLICY, cursor or SubmissionCursor(),
                               **kwargs)


def _write(home: Path, name: str, text: str) -> None:
    (home / "submissions" / name).write_text(text)


def _record(home: Path, folder: str, manifest: str) -> dict:
    return json.loads((home / "submissions" / folder / f"{manifest}.json").read_text())


def test_accept_register_and_reject(home):
    _write(home, "alice.yaml", ALICE)
    _write(home, "bob.json", json.dumps({"name": "bob", "track": "filtering", "scale": "99b",
                                        "raw_pool": "builtin:sample", "pipeline": "c4.yaml"}))
    (home / "submissions" / "notes.txt").write_text("not a manifest")
    result = _pass(home)
    assert [(o.key, o.status) for o in result.outcomes] == [("alice.yaml", ACCEPTED), ("bob.json", REJECTED)]
    alice = result.accepted[0]
    assert alice.launch and alice.submission.pipeline == "refinedweb.yaml"
    registry = json.loads((home / "registry" / "alice_ds.json").read_text())
    assert registry["source"] == "builtin:sample" and registry["pipeline"] == "refinedweb.yaml"
    assert registry["scale"] == "micro" and registry["track"] == "filtering" and registry["source_name"] == "cc"
    assert registry["submission_sha256"] == alice.sha256
    assert registry["submission_manifest"] == str(home / "submissions" / "alice.yaml")
    reject = _record(home, REJECTED_DIR, "bob.json")
    assert reject["status"] == "rejected" and reject["name"] == "bob" and reject["manifest"] == "bob.json"
    assert any("unknown scale '99b'" in r for r in reject["reasons"]) and reject["time"]
    assert result.cursor.get("alice.yaml").status == ACCEPTED
    assert result.cursor.get("bob.json").status == REJECTED


def test_second_pass_does_nothing(home):
    _write(home, "alice.yaml", ALICE)
    _write(home, "bob.yaml", "name: bob\n")
    first = _pass(home)
    again = _pass(home, SubmissionCursor.parse(first.cursor.dumps()))
    assert again.outcomes == [] and again.skipped == 2
    assert again.cursor.dumps() == first.cursor.dumps()


def test_edit_after_acceptance_is_rejected_once_and_revert_is_quiet(home):
    _write(home, "alice.yaml", ALICE)
    first = _pass(home)
    _write(home, "alice.yaml", ALICE.replace("micro", "small"))
    edited = _pass(home, first.cursor)
    (outcome,) = edited.outcomes
    assert outcome.status == REJECTED and "changed after it was accepted" in outcome.reasons[0]
    assert edited.cursor.get("alice.yaml").status == ACCEPTED  # the accepted content still stands
    assert _record(home, REJECTED_DIR, "alice.yaml")["name"] == "alice_ds"
    assert json.loads((home / "registry" / "alice_ds.json").read_text())["scale"] == "micro"
    assert _pass(home, edited.cursor).outcomes == []  # the edit is reported once
    _write(home, "alice.yaml", ALICE)
    reverted = _pass(home, edited.cursor)
    assert reverted.outcomes == [] and not (home / "submissions" / REJECTED_DIR / "alice.yaml.json").exists()


def test_a_rejected_manifest_can_be_fixed_in_place(home):
    _write(home, "alice.yaml", ALICE.replace("micro", "huge"))
    first = _pass(home)
    assert first.rejected and (home / "submissions" / REJECTED_DIR / "alice.yaml.json").exists()
    _write(home, "alice.yaml", ALICE)
    fixed = _pass(home, first.cursor)
    assert [o.status for o in fixed.outcomes] == [ACCEPTED] and fixed.outcomes[0].launch
    assert not (home / "submissions" / REJECTED_DIR / "alice.yaml.json").exists()


def test_lost_cursor_recovers_without_running_twice(home):
    _write(home, "alice.yaml", ALICE)
    first = _pass(home)
    sha = first.accepted[0].sha256
    launched = _pass(home, already_launched=lambda s: s == sha)
    (outcome,) = launched.outcomes
    assert outcome.status == ACCEPTED and not outcome.launch
    crashed = _pass(home, already_launched=lambda s: False)  # registered, but the launch never happened
    assert crashed.outcomes[0].status == ACCEPTED and crashed.outcomes[0].launch


def test_duplicates_and_taken_names(home):
    _write(home, "alice.yaml", ALICE)
    first = _pass(home)
    _write(home, "alice_copy.yaml", ALICE)
    _write(home, "mallory.yaml", ALICE.replace("refinedweb.yaml", "c4.yaml\nsource_name: cc_april_2019"))
    _write(home, "sample.yaml", ALICE.replace("alice_ds", "sample"))
    result = _pass(home, first.cursor, name_in_use=lambda name: name == "sample")
    reasons = {o.key: " ".join(o.reasons) for o in result.outcomes}
    assert set(reasons) == {"alice_copy.yaml", "mallory.yaml", "sample.yaml"}
    assert all(o.status == REJECTED for o in result.outcomes)
    assert "identical to manifest 'alice.yaml'" in reasons["alice_copy.yaml"]
    assert "dataset 'alice_ds' is already registered" in reasons["mallory.yaml"]
    assert "dataset 'sample' already exists" in reasons["sample.yaml"]


def test_per_pass_limit_defers_the_rest(home):
    for i in range(5):
        _write(home, f"m{i}.yaml", ALICE.replace("alice_ds", f"ds{i}"))
    first = _pass(home, max_items=3)
    assert len(first.outcomes) == 3 and first.deferred == 2
    second = _pass(home, first.cursor, max_items=3)
    assert [o.key for o in second.outcomes] == ["m3.yaml", "m4.yaml"] and second.skipped == 3


def test_oversized_manifest_is_rejected_by_its_size(home):
    _write(home, "big.yaml", ALICE + "description: " + "x" * (2 * MAX_MANIFEST_BYTES) + "\n")
    (outcome,) = _pass(home).outcomes
    assert outcome.status == REJECTED and f"the limit is {MAX_MANIFEST_BYTES}" in outcome.reasons[0]
    assert outcome.sha256.endswith(f"-{(home / 'submissions' / 'big.yaml').stat().st_size}")


def test_missing_folder_and_hidden_files(tmp_path):
    layout = Layout(str(tmp_path / "nowhere"))
    result = process_submissions(layout.submissions_dir(), Storage(), layout, POLICY, SubmissionCursor())
    assert result.root_missing and result.outcomes == []
    (tmp_path / "submissions").mkdir()
    (tmp_path / "submissions" / ".alice.yaml.tmp").write_text(ALICE)
    (tmp_path / "submissions" / "_draft.yaml").write_text(ALICE)
    assert _pass(tmp_path).outcomes == []


def test_layout_and_records_agree(tmp_path):
    layout = Layout(str(tmp_path))
    assert layout.submission_rejects_dir() == str(tmp_path / "submissions" / REJECTED_DIR)
    assert layout.leaderboard_dir() == str(tmp_path / "leaderboard")


@pytest.mark.parametrize("text", ["{", '{"v": 2, "m": {}}', '{"v": 1, "m": {"a.yaml": ["x", "1", ""]}}', "[]"])
def test_foreign_cursors_are_refused(text):
    with pytest.raises(ValueError, match="submissions cursor"):
        SubmissionCursor.parse(text)


def test_cursor_round_trip():
    cursor = SubmissionCursor()
    cursor.record("a.yaml", ACCEPTED, "1" * 64)
    cursor.mark_seen("a.yaml", "2" * 64)
    cursor.record("b.yaml", REJECTED, "3" * 64)
    again = SubmissionCursor.parse(cursor.dumps())
    assert again.entries == cursor.entries
