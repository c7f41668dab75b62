"""A manifest checked against the deployment: scale, pipeline, tracks, and data inside the prefix (local and S3)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from dclm_assets.partitions import SCALES
from dclm_resources.storage import Storage
from dclm_resources.submissions import SubmissionPolicy, SubmissionRejected, validate_submission

POLICY = SubmissionPolicy(known_scales=SCALES)
GOOD_PIPELINE = """- source: cc
  steps:
    - func: page_length_filter
      length_type: word
      min_length: 5
"""


def _validate(root: str, text: str, storage: Storage | None = None, policy: SubmissionPolicy = POLICY,
              key: str = "m.yaml"):
    data = text.encode()
    store = storage or Storage()
    return validate_submission(f"{root}/{key}", data, hashlib.sha256(data).hexdigest(), root, store, policy)


def _rejected(root: str, text: str, storage: Storage | None = None, policy: SubmissionPolicy = POLICY) -> str:
    with pytest.raises(SubmissionRejected) as info:
        _validate(root, text, storage, policy)
    return " | ".join(info.value.reasons)


def _manifest(**fields: str) -> str:
    base = {"name": "ds1", "track": "filtering", "scale": "micro", "raw_pool": "builtin:sample",
            "pipeline": "dclm_baseline_refinedweb.yaml"}
    base.update(fields)
    return "".join(f"{k}: {v}\n" for k, v in base.items() if v is not None)


def test_filtering_submission_on_the_sample_pool(tmp_path):
    sub = _validate(str(tmp_path), _manifest())
    assert sub.name == "ds1" and sub.raw_pool == "builtin:sample"
    assert sub.pipeline == "dclm_baseline_refinedweb.yaml" and sub.tokenized is None


def test_shipped_pipeline_by_stem_and_its_sources(tmp_path):
    assert _validate(str(tmp_path), _manifest(pipeline="c4", source_name="cc_april_2019")).pipeline == "c4.yaml"
    reasons = _rejected(str(tmp_path), _manifest(pipeline="c4"))
    assert "'cc' is not a source of c4.yaml" in reasons and "cc_april_2019" in reasons


def test_unknown_scale_and_unknown_pipeline(tmp_path):
    reasons = _rejected(str(tmp_path), _manifest(scale="13b-9x", pipeline="nonexistent.yaml"))
    assert "unknown scale '13b-9x'" in reasons and "1b-1x" in reasons
    assert "'nonexistent.yaml' does not exist in the submissions folder" in reasons
    reasons = _rejected(str(tmp_path), _manifest(pipeline="my_pipeline"))
    assert "neither a shipped pipeline" in reasons and "refinedweb.yaml" in reasons


def test_custom_pipeline_inside_the_prefix_is_parsed(tmp_path):
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "p.yaml").write_text(GOOD_PIPELINE)
    sub = _validate(str(tmp_path), _manifest(pipeline="alice/p.yaml"))
    assert sub.pipeline == str(tmp_path / "alice" / "p.yaml")


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        (GOOD_PIPELINE + "    - func: os.system\n", "custom operator 'os.system' refused"),
        (GOOD_PIPELINE + "    - func: no_such_operator\n", "no_such_operator"),
        (GOOD_PIPELINE + "    - func: substring_filter\n      banlist_from_fname: /etc/passwd\n",
         "must be a relative file name"),
        (GOOD_PIPELINE + "    - func: substring_filter\n      banlist_from_fname: ../../x.txt\n",
         "must be a relative file name"),
        (GOOD_PIPELINE + "    - func: substring_filter\n      banlist_from_fname: s3://other/x.txt\n",
         "must be a relative file name"),
        (GOOD_PIPELINE + "    - func: newline_removal_modifier\n      max_consecutiv: 2\n", "max_consecutiv"),
        ("- source: cc\n  steps: [\n", "p.yaml line 3: not valid YAML"),
        ("- source: web\n  steps: [commit]\n", "no pipeline for source 'cc'"),
        ("- source: cc\n  steps:\n    - func: !!python/name:os.system\n", "not valid YAML"),
    ],
)
def test_bad_custom_pipelines(tmp_path, yaml_text, expected):
    (tmp_path / "p.yaml").write_text(yaml_text)
    reasons = _rejected(str(tmp_path), _manifest(pipeline="p.yaml"))
    assert "key 'pipeline'" in reasons and expected in reasons


def test_oversized_pipeline(tmp_path):
    (tmp_path / "p.yaml").write_text(GOOD_PIPELINE + "#" * 300_000)
    assert "larger than the limit" in _rejected(str(tmp_path), _manifest(pipeline="p.yaml"))


def test_filtering_track_must_use_an_allowed_pool(tmp_path):
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "a.jsonl").write_text('{"text": "x"}\n')
    reasons = _rejected(str(tmp_path), _manifest(raw_pool="alice/a.jsonl"))
    assert "the filtering track filters the shared pool" in reasons
    policy = SubmissionPolicy(known_scales=SCALES, allowed_sources=("builtin:sample", "s3://pools/dclm-pool"))
    assert _validate(str(tmp_path), _manifest(raw_pool="s3://pools/dclm-pool"), policy=policy).raw_pool == (
        "s3://pools/dclm-pool"
    )


def test_mixing_track_brings_its_own_pool(tmp_path):
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "a.jsonl").write_text('{"text": "x"}\n')
    sub = _validate(str(tmp_path), _manifest(track="mixing", raw_pool="alice/a.jsonl"))
    assert sub.raw_pool == str(tmp_path / "alice" / "a.jsonl")
    reasons = _rejected(str(tmp_path), _manifest(track="mixing", raw_pool="alice/missing"))
    assert "'alice/missing' does not exist" in reasons
    reasons = _rejected(str(tmp_path), _manifest(track="mixing", raw_pool="/etc"))
    assert "key 'raw_pool'" in reasons and "outside the submissions folder" in reasons


def test_raw_source_reference_must_point_inside(tmp_path):
    (tmp_path / "alice" / "shards").mkdir(parents=True)
    (tmp_path / "alice" / "shards" / "a.jsonl").write_text('{"text": "x"}\n')
    (tmp_path / "alice" / "ok.json").write_text(json.dumps({"dataset_urls": ["shards/a.jsonl"]}))
    (tmp_path / "alice" / "escape.json").write_text(json.dumps({"dataset_urls": ["shards/a.jsonl", "../../../etc"]}))
    (tmp_path / "alice" / "other_bucket.json").write_text(json.dumps({"dataset_url": "s3://someone-else/pool/"}))
    (tmp_path / "alice" / "broken.json").write_text('{"dataset_urls": ')
    assert _validate(str(tmp_path), _manifest(track="mixing", raw_pool="alice/ok.json")).raw_pool.endswith("ok.json")
    assert "outside the submissions folder" in _rejected(str(tmp_path), _manifest(track="mixing",
                                                                                  raw_pool="alice/escape.json"))
    assert "outside the submissions folder" in _rejected(str(tmp_path), _manifest(track="mixing",
                                                                                  raw_pool="alice/other_bucket.json"))
    assert "broken.json line 1: not valid JSON" in _rejected(str(tmp_path), _manifest(track="mixing",
                                                                                      raw_pool="alice/broken.json"))


def _tokenized(**fields: str) -> str:
    return _manifest(track="mixing", raw_pool=None, pipeline=None, **fields)


def test_tokenized_reference(tmp_path):
    tok = tmp_path / "bob" / "tok"
    tok.mkdir(parents=True)
    (tok / "manifest.jsonl").write_text('{"shard": "00000000", "num_sequences": 1}\n')
    (tmp_path / "bob" / "ref.json").write_text(json.dumps(
        {"name": "bob", "dataset_url": "tok/", "manifest_url": "tok/manifest.jsonl", "tokenized": True}))
    sub = _validate(str(tmp_path), _tokenized(tokenized="bob/ref.json"))
    assert sub.tokenized == str(tmp_path / "bob" / "ref.json") and sub.raw_pool is None
    (tmp_path / "bob" / "escape.json").write_text(json.dumps({"manifest_url": "/etc/manifest.jsonl"}))
    assert "outside the submissions folder" in _rejected(str(tmp_path), _tokenized(tokenized="bob/escape.json"))
    (tmp_path / "bob" / "nomanifest.json").write_text(json.dumps({"dataset_url": "tok/"}))
    assert "has no 'manifest_url'" in _rejected(str(tmp_path), _tokenized(tokenized="bob/nomanifest.json"))
    reasons = _rejected(str(tmp_path), _manifest(raw_pool=None, pipeline=None, tokenized="bob/ref.json"))
    assert "tokenized data is the mixing track" in reasons


def test_symlinked_data_is_refused(tmp_path):
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "a.jsonl").write_text('{"text": "x"}\n')
    root = tmp_path / "subs"
    root.mkdir()
    os.symlink(secret, root / "pool")
    assert "through a link" in _rejected(str(root), _manifest(track="mixing", raw_pool="pool"))


def test_s3_prefix_submission(s3_storage):
    store, bucket_root = s3_storage
    root = f"{bucket_root}/submissions"
    store.write_text(f"{root}/alice/a.jsonl", '{"text": "x"}\n')
    store.write_text(f"{root}/alice/p.yaml", GOOD_PIPELINE)
    store.write_text(f"{bucket_root}/private/b.jsonl", '{"text": "y"}\n')
    sub = _validate(root, _manifest(track="mixing", raw_pool="alice/a.jsonl", pipeline="alice/p.yaml"), store)
    assert sub.raw_pool == f"{root}/alice/a.jsonl" and sub.pipeline == f"{root}/alice/p.yaml"
    reasons = _rejected(root, _manifest(track="mixing", raw_pool=f"{bucket_root}/private/b.jsonl"), store)
    assert "outside the submissions folder" in reasons
    reasons = _rejected(root, _manifest(track="mixing", raw_pool="alice/nothing-here"), store)
    assert "does not exist" in reasons


def test_pipelines_dir_is_the_shipped_one():
    shipped = SubmissionPolicy(known_scales=SCALES).shipped_pipelines()
    assert "dclm_baseline_refinedweb.yaml" in shipped and "fasttext_filter.yaml" in shipped
    assert Path(POLICY.pipelines_dir).parts[-3:] == ("dclm_assets", "configs", "pipelines")
