"""The manifest schema on its own: every key known, every value a short clean string, every problem reported."""

from __future__ import annotations

import json

import pytest

from dclm_resources.submissions import MAX_MANIFEST_BYTES, Manifest, ManifestError, parse_manifest
from dclm_resources.submissions.manifest import peek_name

VALID = (
    "name: alice_ds\n"
    "track: filtering\n"
    "scale: micro\n"
    "raw_pool: builtin:sample\n"
    "pipeline: dclm_baseline_refinedweb.yaml\n"
    "contact: alice@example.org\n"
    "description: |\n  Heuristics only.\n  Second line.\n"
)


def _reasons(text: str | bytes, uri: str = "m.yaml") -> list[str]:
    with pytest.raises(ManifestError) as info:
        parse_manifest(text.encode() if isinstance(text, str) else text, uri)
    assert info.value.uri == uri
    return info.value.reasons


def test_valid_yaml_and_json_give_the_same_manifest():
    from_yaml = parse_manifest(VALID.encode(), "alice.yaml")
    assert from_yaml == Manifest(
        name="alice_ds", track="filtering", scale="micro", raw_pool="builtin:sample",
        pipeline="dclm_baseline_refinedweb.yaml", source_name="cc", contact="alice@example.org",
        description="Heuristics only.\nSecond line.\n",
    )
    from_json = parse_manifest(json.dumps(from_yaml.to_dict()).encode(), "alice.json")
    assert from_json == from_yaml


def test_tokenized_manifest_needs_no_pipeline():
    m = parse_manifest(b"name: tok\ntrack: mixing\nscale: 1b-1x\ntokenized: mine/ref.json\n", "t.yml")
    assert m.tokenized == "mine/ref.json" and m.raw_pool is None and m.pipeline is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (VALID + "run_this: rm -rf /\n", "unknown keys ['run_this']"),
        (VALID.replace("scale: micro", "scale: 7"), "key 'scale' must be a string, got int"),
        (VALID.replace("track: filtering", "track: [a, b]"), "key 'track' must be a string, got list"),
        (VALID.replace("track: filtering", "track: ~"), "key 'track' must be a string, got null"),
        (VALID.replace("track: filtering", "track: pretraining"), "key 'track' must be one of"),
        (VALID.replace("name: alice_ds\n", ""), "key 'name' is required"),
        (VALID.replace("name: alice_ds", "name: ''"), "key 'name' must not be empty"),
        (VALID.replace("name: alice_ds", "name: ../../etc"), "key 'name': invalid dataset name"),
        (VALID.replace("name: alice_ds", "name: a/b"), "key 'name': invalid dataset name"),
        (VALID.replace("name: alice_ds", "name: 'a,b'"), "key 'name': invalid dataset name"),
        (VALID.replace("name: alice_ds", "name: " + "a" * 101), "key 'name' is 101 characters long; the limit is 100"),
        (VALID.replace("contact: alice@example.org", "contact: " + "c" * 300), "key 'contact' is 300 characters"),
        (VALID.replace("contact: alice@example.org", 'contact: "a\\u202eb"'), "control character U+202E"),
        (VALID.replace("contact: alice@example.org", 'contact: "a\\x00b"'), "control character U+0000"),
        (VALID.replace("contact: alice@example.org", 'contact: " padded"'), "leading or trailing whitespace"),
        (VALID.replace("pipeline: dclm_baseline_refinedweb.yaml\n", ""), "key 'pipeline' is required with 'raw_pool'"),
        (VALID + "tokenized: t.json\n", "give exactly one of 'raw_pool'"),
        (VALID.replace("raw_pool: builtin:sample\n", ""), "give exactly one of 'raw_pool'"),
        ("name: t\ntrack: mixing\nscale: micro\ntokenized: t.json\npipeline: c4.yaml\n", "applies to 'raw_pool' only"),
        ("name: t\ntrack: mixing\nscale: micro\ntokenized: t.json\nsource_name: cc\n", "'source_name' applies only"),
    ],
)
def test_schema_errors_name_the_key(text, expected):
    reasons = _reasons(text)
    assert any(expected in r for r in reasons), reasons


def test_every_problem_is_reported_at_once():
    reasons = _reasons("name: ../x\ntrack: foo\nscale: 1\nextra: 1\n")
    assert len(reasons) >= 4
    joined = " | ".join(reasons)
    for part in ("unknown keys ['extra']", "key 'scale' must be a string", "key 'track' must be one of",
                 "key 'name': invalid dataset name"):
        assert part in joined


def test_size_limit_is_checked_before_parsing():
    big = VALID + "description: " + "x" * MAX_MANIFEST_BYTES + "\n"
    (reason,) = _reasons(big)
    assert f"the limit is {MAX_MANIFEST_BYTES}" in reason


@pytest.mark.parametrize(
    ("data", "uri", "expected"),
    [
        (b"name: [unclosed\n", "m.yaml", "line 2: not valid YAML"),
        (b'{"name": "a",\n"track": }', "m.json", "line 2: not valid JSON"),
        (b"\xff\xfename: a\n", "m.yaml", "not valid UTF-8 at byte 0"),
        (b"- a\n- b\n", "m.yaml", "got list"),
        (b"just a string\n", "m.yaml", "got str"),
        (b"", "m.yaml", "got null"),
        (b"name: a\n---\nname: b\n", "m.yaml", "not valid YAML"),
        (b"name: !!python/object/apply:os.system ['true']\n", "m.yaml", "not valid YAML"),
        (VALID.encode(), "m.txt", "ends with one of"),
    ],
)
def test_unreadable_manifests(data, uri, expected):
    (reason,) = _reasons(data, uri)
    assert expected in reason


def test_alias_bomb_is_rejected_without_expanding_it():
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 20):
        lines.append(f"a{i}: &a{i} [*{'a' if i == 1 else f'a{i - 1}'}, *{'a' if i == 1 else f'a{i - 1}'}]")
    bomb = "\n".join(lines) + "\nname: *a19\ntrack: mixing\nscale: micro\n"
    reasons = _reasons(bomb)
    assert any("key 'name' must be a string, got list" in r for r in reasons)


def test_peek_name_only_returns_safe_names():
    assert peek_name(VALID.encode(), "m.yaml") == "alice_ds"
    assert peek_name(b"name: ../etc\n", "m.yaml") is None
    assert peek_name(b"name: [1]\n", "m.yaml") is None
    assert peek_name(b"{{{", "m.json") is None
