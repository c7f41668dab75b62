"""The raw-pool engine on real data: WARC files, DCLM reference JSONs, local folders, broken shards."""

from __future__ import annotations

import gzip
import json

import pytest

from dclm_resources.compute import ray_session
from dclm_resources.layout import Layout
from dclm_resources.pools.rawpool import SourceError, build_raw_pool, resolve_inputs, scan_shard
from dclm_resources.pools.reference import ReferenceError, read_reference_inputs
from dclm_resources.storage import Storage
from dclm_tests.paths import shared_data


@pytest.fixture(scope="module")
def ray2():
    with ray_session(num_cpus=2):
        yield


def test_dclm_raw_source_reference_is_read():
    ref = shared_data("dclm_exp_data", "datasets", "raw_sources__CC_1e12_approx_tokens_sample_v2.json")
    record, inputs = read_reference_inputs(str(ref), Storage())
    assert record["name"] == "CC_1e12_approx_tokens_sample_v2"
    assert len(inputs) == len(record["dataset_urls"]) > 10_000
    # WARC URIs are inputs as they stand: resolving them lists nothing and touches no network.
    assert resolve_inputs(str(ref), Storage()) == inputs


def test_reference_errors_name_file_and_key(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x",\n "dataset_urls": [1]}')
    with pytest.raises(ReferenceError, match=f"{bad}: key 'dataset_urls'"):
        read_reference_inputs(str(bad), Storage())
    broken = tmp_path / "broken.json"
    broken.write_text('{"name": "x",\n oops}')
    with pytest.raises(ReferenceError, match=f"{broken}:2"):
        read_reference_inputs(str(broken), Storage())


def test_pool_from_warc_folder_counts_broken_records(tmp_path, ray2):
    warcs = shared_data("web", "warc", "resiliparse_tests")
    pool = build_raw_pool("cc_head", str(warcs), Layout(str(tmp_path)), Storage(), progress=False)
    assert pool.warc is not None and pool.warc.files == 3
    assert pool.warc.records_failed >= 1  # clipped.warc.gz is truncated mid-record
    assert pool.pages == pool.warc.pages_written > 16
    record = json.loads((tmp_path / "raw_pools" / "cc_head" / "raw_source.json").read_text())
    assert record["num_pages"] == pool.pages
    assert record["warc_extraction"]["records_failed"] == pool.warc.records_failed
    assert all(u.startswith(str(tmp_path / "raw_pools" / "cc_head" / "extracted")) for u in record["dataset_urls"])


def test_pool_from_reference_json_with_relative_paths(tmp_path, ray2):
    c4 = shared_data("web", "jsonl", "c4_en_sample", "c4_sample.jsonl")
    dolma = shared_data("web", "jsonl", "dolma_cc_2019_30")
    ref = tmp_path / "refs" / "mixed.json"
    ref.parent.mkdir()
    (tmp_path / "data").symlink_to(c4.parent)
    ref.write_text(json.dumps({"name": "mixed", "dataset_urls": ["../data/c4_sample.jsonl", str(dolma)]}))
    pool = build_raw_pool("mixed", str(ref), Layout(str(tmp_path / "home")), Storage(), progress=False)
    assert [s.pages for s in pool.shards] == [1000, 697]
    assert pool.invalid_lines == 0
    assert pool.sample(3)[0]["url"].startswith("http")


def test_scan_counts_bad_lines_and_truncation(tmp_path):
    shard = tmp_path / "bad.jsonl"
    shard.write_text('{"text": "ok"}\nnot json\n{"text": 5}\n[1]\n{"text": "fine"}\n')
    scan = scan_shard(str(shard), Storage())
    assert (scan.pages, scan.invalid_lines) == (2, 3)
    assert scan.errors[0].startswith(f"{shard}:2")
    truncated = tmp_path / "cut.jsonl.gz"
    data = gzip.compress(b"".join(b'{"text": "page %d"}\n' % i for i in range(2000)))
    truncated.write_bytes(data[: len(data) // 2])
    scan = scan_shard(str(truncated), Storage())
    assert scan.invalid_lines == 1 and 0 < scan.pages < 2000
    assert "truncated" in scan.errors[0] or "corrupt" in scan.errors[0]


def test_empty_folder_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="no raw-pool inputs"):
        resolve_inputs(str(tmp_path / "empty"), Storage())
