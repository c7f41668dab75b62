"""Paths a manifest names stay inside the submissions folder or prefix, whatever the spelling."""

from __future__ import annotations

import os

import pytest

from dclm_resources.submissions import ConfinementError, confine
from dclm_resources.submissions.confine import resolve_relative


def test_relative_paths_resolve_under_the_root(tmp_path):
    root = str(tmp_path / "subs")
    assert confine("alice/pool", root, "raw_pool") == os.path.join(root, "alice", "pool")
    assert confine("alice/pool/", root, "raw_pool") == os.path.join(root, "alice", "pool")
    assert confine("p.yaml", root, "pipeline") == os.path.join(root, "p.yaml")


def test_absolute_paths_inside_the_root_are_accepted(tmp_path):
    root = str(tmp_path / "subs")
    inside = os.path.join(root, "alice", "pool")
    assert confine(inside, root, "raw_pool") == inside


def test_allowed_builtins_pass_unchanged(tmp_path):
    assert confine("builtin:sample", str(tmp_path), "raw_pool", ["builtin:sample"]) == "builtin:sample"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("../outside", "'..', '.', '//' are not allowed"),
        ("alice/../../outside", "'..', '.', '//' are not allowed"),
        ("alice/./pool", "'..', '.', '//' are not allowed"),
        ("alice//pool", "'..', '.', '//' are not allowed"),
        ("/etc/passwd", "is outside the submissions folder"),
        ("~/secrets", "no other schemes, no '~'"),
        ("file:///etc/passwd", "no other schemes"),
        ("http://example.org/x.json", "no other schemes"),
        ("gs://bucket/x", "no other schemes"),
        ("s3://other-bucket/x", "is outside the submissions folder"),
        ("builtin:everything", "unknown builtin"),
        ("alice\\..\\x", "backslashes"),
        ("alice/.hidden", "must not start with '.'"),
        ("alice/$(rm -rf)", "may hold only"),
        ("/".join(["d"] * 17), "more than 16 folders deep"),
    ],
)
def test_escapes_are_refused_with_the_key(tmp_path, value, expected):
    with pytest.raises(ConfinementError) as info:
        confine(value, str(tmp_path / "subs"), "raw_pool", ["builtin:sample"])
    assert "key 'raw_pool'" in str(info.value) and expected in str(info.value)


def test_root_itself_and_its_parent_are_refused(tmp_path):
    root = str(tmp_path / "subs")
    for value in (root, str(tmp_path), root + "/../subs/x"):
        with pytest.raises(ConfinementError):
            confine(value, root, "raw_pool")


def test_a_symlink_out_of_the_folder_is_refused(tmp_path):
    root = tmp_path / "subs"
    (root / "alice").mkdir(parents=True)
    secret = tmp_path / "secret"
    secret.mkdir()
    (root / "alice" / "link").symlink_to(secret)
    with pytest.raises(ConfinementError, match="through a link"):
        confine("alice/link", str(root), "raw_pool")
    with pytest.raises(ConfinementError, match="through a link"):
        confine("alice/link/file.jsonl", str(root), "raw_pool")


def test_s3_prefix_confinement():
    root = "s3://bucket/subs"
    assert confine("alice/pool", root, "raw_pool") == "s3://bucket/subs/alice/pool"
    assert confine("s3://bucket/subs/alice/pool", root, "raw_pool") == "s3://bucket/subs/alice/pool"
    for value in ("s3://bucket/subsidiary/x", "s3://bucket/other/x", "s3://bucket2/subs/x",
                  "s3://bucket/subs/../other", "/subs/alice", "s3://bucket/subs"):
        with pytest.raises(ConfinementError):
            confine(value, root, "raw_pool")


def test_reference_entries_resolve_against_the_reference_folder():
    assert resolve_relative("shards/a.jsonl", "/s/alice/ref.json") == "/s/alice/shards/a.jsonl"
    assert resolve_relative("../../x", "/s/alice/ref.json") == "/x"
    assert resolve_relative("a.jsonl", "s3://b/s/alice/ref.json") == "s3://b/s/alice/a.jsonl"
    assert resolve_relative("s3://c/x", "s3://b/s/ref.json") == "s3://c/x"
