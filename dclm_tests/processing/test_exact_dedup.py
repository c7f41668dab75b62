"""Exact dedup (DCLM's ``exact_dedup``): units, normalizers, keeper choice, list collapse, determinism, and
exact copies planted in real C4 / Dolma CC pages."""

from __future__ import annotations

import gzip
import hashlib
import json
import random
from pathlib import Path
from typing import Any

import pytest

from dclm_resources.compute import ray_session
from dclm_resources.processing import registry
from dclm_resources.processing.dedup.exact import exact_dedup
from dclm_resources.storage import Storage, read_jsonl, write_jsonl
from dclm_tests.paths import shared_data

STORAGE = Storage()


@pytest.fixture(scope="module", autouse=True)
def ray_local():
    with ray_session(num_cpus=2):
        yield


def write_shards(root: Path, shards: list[list[dict[str, Any]]], ext: str = ".jsonl") -> list[str]:
    uris = []
    for i, pages in enumerate(shards):
        uri = str(root / f"s{i}{ext}")
        write_jsonl(pages, uri)
        uris.append(uri)
    return uris


def run(tmp_path: Path, shards: list[list[dict[str, Any]]], ext: str = ".jsonl", **params: Any):
    """Run the step; returns (stats per input, output pages per shard)."""
    inputs = write_shards(tmp_path / "in", shards, ext)
    out_dir = tmp_path / "out"
    stats = exact_dedup(inputs, str(out_dir), STORAGE, **params)
    outputs = [list(read_jsonl(str(out_dir / Path(u).name))) for u in inputs]
    return inputs, stats, outputs


def real_pages() -> list[dict[str, Any]]:
    c4 = shared_data("web", "jsonl", "c4_en_sample", "c4_sample.jsonl")
    cc = shared_data(
        "web", "jsonl", "dolma_cc_2019_30", "CC-MAIN-20190717121559-20190717143559-00140.jsonl.gz"
    )
    pages = [json.loads(line) for line in c4.read_text().splitlines()[:400]]
    with gzip.open(cc, "rt") as fh:
        pages += [json.loads(line) for _, line in zip(range(200), fh, strict=False)]
    for i, page in enumerate(pages):
        page["id"] = f"real-{i}"
    return pages


def reference_keep(shards: list[list[dict[str, Any]]]) -> list[list[str]]:
    """The rule spelled out: the first page (in shard, then page order) with a given md5 of its text survives."""
    seen: set[str] = set()
    kept = []
    for pages in shards:
        ids = []
        for page in pages:
            uid = hashlib.md5(page["text"].encode()).hexdigest()
            if uid not in seen:
                seen.add(uid)
                ids.append(page["id"])
        kept.append(ids)
    return kept


def test_exact_copies_planted_in_real_pages(tmp_path: Path):
    pages = real_pages()
    rng = random.Random(1)
    copies = [
        {**p, "id": f"copy-{k}", "url": f"https://copy/{k}"} for k, p in enumerate(rng.sample(pages, 30))
    ]
    near = [{**p, "id": f"near-{k}", "text": p["text"] + " "} for k, p in enumerate(rng.sample(pages, 5))]
    shards = [pages[:200] + copies[:10], pages[200:400] + near + copies[10:], pages[400:], copies[:3]]
    inputs, stats, outputs = run(tmp_path, shards, ext=".jsonl.gz")
    assert [[p["id"] for p in out] for out in outputs] == reference_keep(shards)
    assert {p["id"] for out in outputs for p in out} >= {p["id"] for p in near}  # one byte differs: kept
    s = [stats[u] for u in inputs]
    assert [x["pages_in"] for x in s] == [len(x) for x in shards]
    assert [x["pages_out"] for x in s] == [len(x) for x in outputs]
    assert all(x["content_key"] == "text" and x["units_in"] == x["pages_in"] for x in s)
    assert s[3]["units_removed"] == 3 and outputs[3] == []  # an emptied shard is still written


def test_shard_without_deletions_is_copied_byte_for_byte(tmp_path: Path):
    inputs, stats, _ = run(
        tmp_path, [[{"text": "a"}, {"text": "b"}], [{"text": "a"}], [{"text": "c", "k": [1]}]]
    )
    assert Path(tmp_path / "out" / "s2.jsonl").read_bytes() == Path(inputs[2]).read_bytes()
    assert stats[inputs[2]] == {
        "pages_in": 1,
        "pages_out": 1,
        "content_key": "text",
        "units_in": 1,
        "units_removed": 0,
    }


def test_normalized_url_dedup(tmp_path: Path):
    shards = [
        [
            {"text": "t1", "url": "https://www.example.com/a/"},
            {"text": "t2", "url": "http://other.org/x?utm_source=z"},
        ],
        [{"text": "t3", "url": "http://example.com/a"}, {"text": "t4", "url": "https://other.org/x"}],
    ]
    _, _, outputs = run(tmp_path, shards, content_key="url", normalize="normalize_url")
    assert [[p["text"] for p in out] for out in outputs] == [["t1", "t2"], []]


def test_whitespace_and_case_normalizer(tmp_path: Path):
    shards = [[{"text": "Hello World "}, {"text": "hello world"}, {"text": "HELLO  WORLD"}]]
    _, _, outputs = run(tmp_path, shards, normalize="normalize_whitespace_and_lowercase")
    assert [p["text"] for p in outputs[0]] == ["Hello World ", "HELLO  WORLD"]


@pytest.mark.parametrize(("reverse", "expected"), [(False, ["b1", "c1"]), (True, ["a1", "d1"])])
def test_selection_key_keeps_min_or_max_with_ties_to_the_first(
    tmp_path: Path, reverse: bool, expected: list[str]
):
    shards = [
        [{"text": "dup", "id": "a1", "ts": 5}, {"text": "other", "id": "d1", "ts": 3}],
        [{"text": "dup", "id": "b1", "ts": 1}, {"text": "dup", "id": "b2", "ts": 1}, {"text": "other", "id": "c1", "ts": 2}],
    ]  # fmt: skip
    _, _, outputs = run(tmp_path, shards, selection_key="ts", selection_reverse=reverse)
    assert sorted(p["id"] for out in outputs for p in out) == sorted(expected)


def test_selection_normalizer_on_timestamps(tmp_path: Path):
    shards = [
        [{"text": "dup", "id": "new", "date": "2020-05-01T00:00:00Z"}],
        [
            {"text": "dup", "id": "old", "date": "2019-01-01T00:00:00Z"},
            {"text": "dup", "id": "bad", "date": "??"},
        ],
    ]
    _, _, outputs = run(
        tmp_path,
        shards,
        selection_key="date",
        selection_normalize="normalize_timestamps",
        selection_reverse=True,
    )
    assert [p["id"] for out in outputs for p in out] == ["new"]  # unparsable dates normalize to -1.0


def test_list_units_delete_lines_drop_empty_pages_and_collapse_as_dclm(tmp_path: Path):
    shards = [
        [{"id": "p0", "lines": ["a", "b"]}, {"id": "p1", "lines": ["c"]}],
        # after dedup every page here has one line left -> lists collapse to scalars
        [{"id": "p2", "lines": ["a", "x"]}, {"id": "p3", "lines": ["b", "c"]}, {"id": "p4", "lines": "y"}],
        # a page keeps two lines -> everything stays (or becomes) a list
        [{"id": "p5", "lines": ["x", "z", "w"]}, {"id": "p6", "lines": "v"}],
    ]
    inputs, stats, outputs = run(tmp_path, shards, content_key="lines")
    assert outputs[0] == shards[0]
    assert outputs[1] == [{"id": "p2", "lines": "x"}, {"id": "p4", "lines": "y"}]
    assert outputs[2] == [{"id": "p5", "lines": ["z", "w"]}, {"id": "p6", "lines": ["v"]}]
    assert [stats[u]["units_removed"] for u in inputs] == [0, 3, 1]
    assert [stats[u]["units_in"] for u in inputs] == [3, 5, 4]


def test_partitioned_resolution_and_reruns_are_identical(tmp_path: Path):
    pages = real_pages()[:300]
    rng = random.Random(7)
    shards = [pages[i::3] + rng.sample(pages, 15) for i in range(3)]
    inputs = write_shards(tmp_path / "in", shards)
    for name, parts in (("one", 1), ("many", 4), ("again", 4)):
        exact_dedup(inputs, str(tmp_path / name), STORAGE, num_partitions=parts)
    for u in inputs:
        one = (tmp_path / "one" / Path(u).name).read_bytes()
        assert (
            one
            == (tmp_path / "many" / Path(u).name).read_bytes()
            == (tmp_path / "again" / Path(u).name).read_bytes()
        )
    kept = [[p["id"] for p in read_jsonl(str(tmp_path / "one" / Path(u).name))] for u in inputs]
    assert kept == reference_keep(shards)


def test_errors_are_explicit(tmp_path: Path):
    inputs = write_shards(tmp_path / "in", [[{"text": "a"}], [{"body": "b"}]])
    with pytest.raises(ValueError, match="unknown normalize"):
        exact_dedup(inputs, str(tmp_path / "out"), STORAGE, normalize="no_such")
    with pytest.raises(KeyError, match="s1.jsonl:1"):
        exact_dedup(inputs, str(tmp_path / "out"), STORAGE)


def test_registered_as_global_step():
    assert registry.get_global_step("exact_dedup") is exact_dedup
