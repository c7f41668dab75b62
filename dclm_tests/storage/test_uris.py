"""URI helpers: the two spellings (local path, s3://) behave the same way."""

from __future__ import annotations

import os

import pytest

from dclm_resources.storage import basename, is_s3, join_uri, parent_uri, split_s3
from dclm_resources.storage.uris import has_suffix, is_hidden_relpath, local_path


def test_is_s3() -> None:
    assert is_s3("s3://bucket/key")
    assert not is_s3("/data/s3://x")
    assert not is_s3("relative/path")


def test_split_s3() -> None:
    assert split_s3("s3://b/k/x.jsonl") == ("b", "k/x.jsonl")
    assert split_s3("s3://bucket") == ("bucket", "")
    with pytest.raises(ValueError):
        split_s3("s3:///key")
    with pytest.raises(ValueError):
        split_s3("/local")


@pytest.mark.parametrize(
    ("base", "parts", "expected"),
    [
        ("s3://b", ("a", "b.jsonl"), "s3://b/a/b.jsonl"),
        ("s3://b/", ("/a/", "b.jsonl"), "s3://b/a/b.jsonl"),
        ("s3://b/pre", (), "s3://b/pre"),
        ("s3://b/pre/", ("", "x"), "s3://b/pre/x"),
    ],
)
def test_join_s3(base: str, parts: tuple[str, ...], expected: str) -> None:
    assert join_uri(base, *parts) == expected


def test_join_local_treats_parts_as_relative() -> None:
    assert join_uri("/data", "pool", "x.jsonl") == os.path.join("/data", "pool", "x.jsonl")
    assert join_uri("/data", "/abs") == os.path.join("/data", "abs")
    assert join_uri("rel") == "rel"


def test_basename_and_parent() -> None:
    assert basename("s3://b/a/x.jsonl.zst") == "x.jsonl.zst"
    assert basename("/a/b/") == "b"
    assert parent_uri("s3://b/a/x.jsonl") == "s3://b/a"
    assert parent_uri("s3://b/x.jsonl") == "s3://b"
    assert parent_uri("/a/b/c") == "/a/b"


def test_hidden_and_suffix_helpers() -> None:
    assert is_hidden_relpath(".tmp")
    assert is_hidden_relpath("sub/_SUCCESS")
    assert is_hidden_relpath("_tmp/a.jsonl")
    assert not is_hidden_relpath("a/b.jsonl")
    assert has_suffix("X.JSONL.GZ", (".jsonl.gz",))
    assert has_suffix("x", None)
    assert not has_suffix("x.json", (".jsonl",))
    assert local_path("file:///data/x") == "/data/x"
