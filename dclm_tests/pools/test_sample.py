"""The embedded sample pool: deterministic, DCLM-shaped, and planted with pages each DCLM step should catch.

The heuristics below are small re-statements of the DCLM mappers (RefinedWeb / Gopher / C4), written here so the
test checks the pool's design without depending on the processing engine.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from itertools import islice
from pathlib import Path
from typing import Any

import pytest

from dclm_resources.pools import SamplePoolSpec, SamplePoolStats, build_sample_pool, generate_pages
from dclm_resources.pools.sample import KIND_SHARES, kind_counts, shard_sizes
from dclm_resources.storage import open_decompressed, read_jsonl
from dclm_tests.paths import shared_data

STOP_WORDS = {"the", "be", "to", "of", "and", "that", "have", "with"}  # DCLM stop_word_filter
ENGLISH_ONLY = {"the", "and", "with", "that", "have", "which", "this", "from", "were", "their", "would", "should"}
ALL_KINDS = set(KIND_SHARES)


# -- small re-statements of the DCLM heuristics ------------------------------------------------------------

def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _mean_word_length(text: str) -> float:
    tokens = text.split()
    return sum(map(len, tokens)) / len(tokens) if tokens else 0.0


def _symbol_ratio(text: str) -> float:
    tokens = text.split()
    symbols = text.count("#") + text.count("...") + text.count(". . .") + text.count("…")
    return symbols / max(1, len(tokens))


def _lines(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.strip()]


def _punctuated_line_fraction(text: str) -> float:
    lines = _lines(text)
    return sum(bool(re.search(r'[.!?"…]\s*$', line)) for line in lines) / len(lines)


def _duplicate_fraction(units: list[str]) -> float:
    counts = Counter(units)
    return sum(c for c in counts.values() if c > 1) / max(1, len(units))


def _top_ngram_char_fraction(text: str, n: int) -> float:
    words = _words(text)
    if len(words) < n:
        return 0.0
    counts = Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    gram, count = counts.most_common(1)[0]
    return sum(map(len, gram)) * count / sum(map(len, words)) if count > 1 else 0.0


def _fails_repetition(text: str) -> bool:
    """Gopher massive_web_repetition_filters, lines / paragraphs / top-2-gram parts."""
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    return (
        _duplicate_fraction(_lines(text)) > 0.30
        or (len(paragraphs) > 1 and _duplicate_fraction(paragraphs) > 0.30)
        or _top_ngram_char_fraction(text, 2) > 0.20
    )


def _fails_symbol_heuristics(text: str) -> bool:
    tokens = text.split()
    lines = [line.strip() for line in _lines(text)]
    bullets = sum(line.startswith(("●", "•", "*", "-")) for line in lines)
    ellipses = sum(line.endswith(("...", ". . .", "…")) for line in lines)
    non_alpha = sum(not re.search(r"[^\W\d_]", t) for t in tokens) / max(1, len(tokens))
    mean_len = _mean_word_length(text)
    return (
        _symbol_ratio(text) > 0.1
        or bullets > 0.9 * len(lines)
        or ellipses > 0.3 * len(lines)
        or non_alpha > 0.2
        or not 3 <= mean_len <= 10
    )


def _shingles(text: str, n: int = 13) -> set[tuple[str, ...]]:
    words = _words(text)
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def _jaccard(a: set[Any], b: set[Any]) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


# -- fixtures ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def default_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[SamplePoolStats, float]:
    out = tmp_path_factory.mktemp("sample_pool")
    start = time.perf_counter()
    stats = build_sample_pool(str(out))
    return stats, time.perf_counter() - start


@pytest.fixture(scope="module")
def pages(default_build: tuple[SamplePoolStats, float]) -> list[dict[str, Any]]:
    stats, _ = default_build
    return [page for shard in stats.shards for page in read_jsonl(shard)]


@pytest.fixture(scope="module")
def by_kind(pages: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {kind: [] for kind in ALL_KINDS}
    for page in pages:
        out[page["metadata"]["sample_kind"]].append(page)
    return out


@pytest.fixture(scope="module")
def good_by_id(by_kind: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    return {page["metadata"]["WARC-Record-ID"]: page for page in by_kind["good"]}


def _decompressed(stats: SamplePoolStats) -> list[bytes]:
    out = []
    for uri in stats.shards:
        with open_decompressed(uri) as fh:
            out.append(fh.read())
    return out


# -- determinism and layout ------------------------------------------------------------------------------

def test_same_seed_gives_identical_bytes(default_build: tuple[SamplePoolStats, float], tmp_path: Path) -> None:
    stats, _ = default_build
    again = build_sample_pool(str(tmp_path), SamplePoolSpec())
    assert [Path(s).name for s in again.shards] == [Path(s).name for s in stats.shards]
    assert _decompressed(again) == _decompressed(stats)
    assert again.kinds == stats.kinds


def test_different_seed_gives_different_pages() -> None:
    a = [p["text"] for p in generate_pages(SamplePoolSpec(num_pages=60, seed=1))]
    b = [p["text"] for p in generate_pages(SamplePoolSpec(num_pages=60, seed=2))]
    assert a != b
    assert len(set(a) & set(b)) < 10  # only chance collisions among short pages


def _digest(num_pages: int) -> str:
    h = hashlib.sha256()
    for page in generate_pages(SamplePoolSpec(num_pages=num_pages)):
        h.update(json.dumps(page, sort_keys=True).encode())
    return h.hexdigest()


def test_pages_do_not_depend_on_the_process() -> None:
    """Nothing may hang on str hashing or other per-process state: another interpreter gives the same pages."""
    code = "from dclm_tests.pools.test_sample import _digest; print(_digest(300))"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    other = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert other.stdout.strip() == _digest(300)


def test_default_build_is_fast_and_sharded(default_build: tuple[SamplePoolStats, float]) -> None:
    stats, seconds = default_build
    assert seconds < 15, f"default sample pool took {seconds:.1f}s"
    assert [Path(s).name for s in stats.shards] == [f"sample_pool_{i:05d}.jsonl.zst" for i in range(4)]
    assert stats.bytes == sum(Path(s).stat().st_size for s in stats.shards) > 0
    assert [sum(1 for _ in read_jsonl(s)) for s in stats.shards] == shard_sizes(2000, 4) == [500] * 4


def test_counts_per_kind_match_stats_and_total(
    default_build: tuple[SamplePoolStats, float], pages: list[dict[str, Any]]
) -> None:
    stats, _ = default_build
    observed = Counter(p["metadata"]["sample_kind"] for p in pages)
    assert stats.pages == len(pages) == 2000
    assert dict(observed) == stats.kinds == kind_counts(2000)
    assert set(stats.kinds) == ALL_KINDS
    assert 0.45 <= stats.kinds["good"] / stats.pages <= 0.55
    assert all(stats.kinds[k] >= 0.03 * stats.pages for k in ALL_KINDS)


def test_kinds_are_mixed_across_shards(default_build: tuple[SamplePoolStats, float]) -> None:
    stats, _ = default_build
    for shard in stats.shards:
        kinds = Counter(p["metadata"]["sample_kind"] for p in read_jsonl(shard))
        assert set(kinds) == ALL_KINDS
        assert 0.40 <= kinds["good"] / sum(kinds.values()) <= 0.60


@pytest.mark.parametrize("num_pages", [0, 1, 2, 3, 7, 41])
def test_small_pools_keep_the_total_and_the_originals(num_pages: int, tmp_path: Path) -> None:
    spec = SamplePoolSpec(num_pages=num_pages, num_shards=3, compression="none")
    stats = build_sample_pool(str(tmp_path), spec)
    pages = [p for s in stats.shards for p in read_jsonl(s)]
    assert stats.pages == len(pages) == num_pages == sum(stats.kinds.values())
    assert len(stats.shards) == 3
    seen: set[str] = set()
    for page in pages:
        meta = page["metadata"]
        if meta["sample_kind"] in ("exact_duplicate", "near_duplicate"):
            assert meta["sample_duplicate_of"] in seen
        seen.add(meta["WARC-Record-ID"])


def test_compressions_hold_the_same_pages(tmp_path: Path) -> None:
    texts = {}
    for compression, suffix in (("zst", ".jsonl.zst"), ("gz", ".jsonl.gz"), ("none", ".jsonl")):
        stats = build_sample_pool(str(tmp_path / compression), SamplePoolSpec(num_pages=50, compression=compression))
        assert all(s.endswith(suffix) for s in stats.shards)
        texts[compression] = [p for s in stats.shards for p in read_jsonl(s)]
    assert texts["zst"] == texts["gz"] == texts["none"]


def test_rebuild_with_fewer_shards_removes_stale_shards(tmp_path: Path) -> None:
    build_sample_pool(str(tmp_path), SamplePoolSpec(num_pages=30, num_shards=5))
    (tmp_path / "notes.txt").write_text("kept")
    stats = build_sample_pool(str(tmp_path), SamplePoolSpec(num_pages=30, num_shards=2))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "notes.txt", "sample_pool_00000.jsonl.zst", "sample_pool_00001.jsonl.zst"
    ]
    assert stats.pages == 30


def test_generate_pages_streams_a_large_pool() -> None:
    start = time.perf_counter()
    first = list(islice(generate_pages(SamplePoolSpec(num_pages=200_000)), 20))
    assert len(first) == 20
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize(
    "kwargs", [{"num_pages": -1}, {"num_shards": 0}, {"compression": "bz2"}]
)
def test_spec_is_validated(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        SamplePoolSpec(**kwargs)


def test_builds_on_s3(s3_storage: Any) -> None:
    root = f"{s3_storage.root}/pools/sample"
    stats = build_sample_pool(root, SamplePoolSpec(num_pages=40, num_shards=2), s3_storage.storage)
    assert stats.shards == [f"{root}/sample_pool_00000.jsonl.zst", f"{root}/sample_pool_00001.jsonl.zst"]
    remote = [p for s in stats.shards for p in read_jsonl(s, s3_storage.storage)]
    assert remote == list(generate_pages(SamplePoolSpec(num_pages=40, num_shards=2)))


# -- page format ---------------------------------------------------------------------------------------------

def test_every_page_is_a_dclm_raw_page(pages: list[dict[str, Any]]) -> None:
    for page in pages:
        assert isinstance(page["text"], str) and page["text"].strip()
        meta = page["metadata"]
        assert page["url"] == meta["WARC-Target-URI"]
        assert re.fullmatch(r"https?://[a-z0-9.-]+\.[a-z]{2,}/\S*", page["url"]), page["url"]
        assert re.fullmatch(r"<urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}>",
                            meta["WARC-Record-ID"])
        assert re.fullmatch(r"20(19|2[0-3])-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["WARC-Date"])
        assert meta["WARC-Type"] == "response"
        assert meta["sample_kind"] in ALL_KINDS
    assert len({p["metadata"]["WARC-Record-ID"] for p in pages}) == len(pages)
    assert len({p["url"] for p in pages}) == len(pages)


# -- planted kinds ---------------------------------------------------------------------------------------

def test_good_pages_are_distinct_and_not_near_duplicates(by_kind: dict[str, list[dict[str, Any]]]) -> None:
    good = by_kind["good"]
    assert len({p["text"] for p in good}) == len(good)
    shingles = [_shingles(p["text"]) for p in good]
    seen_in: Counter[tuple[str, ...]] = Counter(g for s in shingles for g in s)
    shared = [sum(seen_in[g] > 1 for g in s) / len(s) for s in shingles]
    # A page whose 13-grams are mostly found elsewhere would be flagged by BFF (threshold 0.8).
    assert max(shared) < 0.4
    assert sum(shared) / len(shared) < 0.12


def test_good_pages_pass_simple_heuristics(by_kind: dict[str, list[dict[str, Any]]]) -> None:
    for page in by_kind["good"]:
        text = page["text"]
        tokens = text.split()
        assert 50 <= len(tokens) <= 100_000
        assert 3 <= _mean_word_length(text) <= 10
        assert sum(t.lower() in STOP_WORDS for t in tokens) >= 2
        assert _punctuated_line_fraction(text) >= 0.6
        assert _symbol_ratio(text) <= 0.1
        assert not _fails_repetition(text)
        assert "{" not in text and "lorem ipsum" not in text.lower()


def test_exact_duplicates_copy_an_earlier_good_page(
    pages: list[dict[str, Any]], good_by_id: dict[str, dict[str, Any]]
) -> None:
    position = {p["metadata"]["WARC-Record-ID"]: i for i, p in enumerate(pages)}
    copies = [p for p in pages if p["metadata"]["sample_kind"] == "exact_duplicate"]
    for copy in copies:
        original = good_by_id[copy["metadata"]["sample_duplicate_of"]]
        assert copy["text"] == original["text"]
        assert copy["url"] != original["url"]
        assert position[original["metadata"]["WARC-Record-ID"]] < position[copy["metadata"]["WARC-Record-ID"]]


def test_near_duplicates_differ_slightly_from_a_good_page(
    by_kind: dict[str, list[dict[str, Any]]], good_by_id: dict[str, dict[str, Any]]
) -> None:
    scores = []
    for copy in by_kind["near_duplicate"]:
        original = good_by_id[copy["metadata"]["sample_duplicate_of"]]
        assert copy["text"] != original["text"]
        assert copy["url"] != original["url"]
        scores.append(_jaccard(_shingles(copy["text"]), _shingles(original["text"])))
    assert min(scores) >= 0.6
    assert sum(scores) / len(scores) >= 0.8


def test_some_duplicates_land_in_other_shards(default_build: tuple[SamplePoolStats, float]) -> None:
    stats, _ = default_build
    shard_of: dict[str, int] = {}
    pairs = []
    for i, shard in enumerate(stats.shards):
        for page in read_jsonl(shard):
            shard_of[page["metadata"]["WARC-Record-ID"]] = i
            if "sample_duplicate_of" in page["metadata"]:
                pairs.append((page["metadata"]["sample_duplicate_of"], i))
    crossing = sum(shard_of[source] != i for source, i in pairs)
    assert 0 < crossing < len(pairs)


def test_non_english_pages_hold_no_english(by_kind: dict[str, list[dict[str, Any]]]) -> None:
    languages = Counter(p["metadata"]["sample_language"] for p in by_kind["non_english"])
    assert set(languages) >= {"de", "fr", "es"}
    for page in by_kind["non_english"]:
        words = set(_words(page["text"]))
        assert not words & ENGLISH_ONLY, (words & ENGLISH_ONLY, page["text"][:200])
        assert len(page["text"].split()) >= 50  # long enough that only language ID should reject it


def test_short_pages_fail_page_length(by_kind: dict[str, list[dict[str, Any]]]) -> None:
    assert all(len(p["text"].split()) < 50 for p in by_kind["short"])


def test_repetitive_pages_fail_repetition_filters(by_kind: dict[str, list[dict[str, Any]]]) -> None:
    assert all(_fails_repetition(p["text"]) for p in by_kind["repetitive"])


def test_symbol_pages_fail_symbol_heuristics(by_kind: dict[str, list[dict[str, Any]]]) -> None:
    failing = [p for p in by_kind["symbols"] if _fails_symbol_heuristics(p["text"])]
    assert len(failing) == len(by_kind["symbols"])


def test_boilerplate_pages_carry_line_level_targets(by_kind: dict[str, list[dict[str, Any]]]) -> None:
    markers = ("items in cart", "Read more...", "Sign-in", "cookie", "javascript", "Lorem ipsum",
               "All rights reserved", "Add to cart")
    joined = "\n".join(p["text"] for p in by_kind["boilerplate"])
    assert all(m.lower() in joined.lower() for m in markers)
    for page in by_kind["boilerplate"]:
        lines = _lines(page["text"])
        assert sum(len(line.split()) >= 12 and line.endswith((".", '"')) for line in lines) >= 1  # real content
        assert sum(_punctuated_line_fraction(line) == 0 for line in lines) >= 3  # and chrome around it


def test_spam_pages_carry_banned_words_and_spammy_urls(by_kind: dict[str, list[dict[str, Any]]]) -> None:
    banned = {"casino", "viagra", "xxx", "porn", "sex", "poker", "cialis", "escort", "loans", "replica"}
    for page in by_kind["spam"]:
        assert banned & set(_words(page["text"]))
        assert banned & set(re.findall(r"[a-z]+", page["url"]))
    never_in_good = banned - {"loans"}  # a finance article may mention loans; none mentions casinos
    assert not any(never_in_good & set(_words(p["text"])) for p in by_kind["good"])


def test_dclm_banlists_catch_spam_and_spare_good_pages(by_kind: dict[str, list[dict[str, Any]]]) -> None:
    """With DCLM's own lists (shared data, not in the repo): C4's LDNOOBW word filter and RefinedWeb's URL words."""
    folder = shared_data("wordlists", "dclm_banlists")

    def words(name: str) -> list[str]:
        return [w.strip() for w in (folder / name).read_text(encoding="utf-8").splitlines() if w.strip()]

    bad_word = re.compile(r"\b(?:" + "|".join(map(re.escape, words("ldnoobw.txt"))) + r")\b")
    strict = [w.lower() for w in words("refinedweb_banned_words_strict_reverse_engineered.txt")]
    hard = re.compile(r"\b(?:" + "|".join(map(re.escape, words("refinedweb_banned_words_hard_reverse_engineered.txt")))
                      + r")\b", re.IGNORECASE)

    def flagged(page: dict[str, Any]) -> bool:
        url = page["url"].lower()
        squashed = url.replace("-", "").replace(".", "")
        return bool(bad_word.search(page["text"].lower()) or hard.search(url) or any(w in squashed for w in strict))

    for kind in ("good", "near_duplicate", "exact_duplicate", "non_english"):
        assert not [p["url"] for p in by_kind[kind] if flagged(p)], kind
    spam = by_kind["spam"]
    assert sum(map(flagged, spam)) >= 0.4 * len(spam)
