"""BFF fuzzy dedup: BFF's tokens, unit rules, threshold strictness, modes, annotate spans, the saved filter, and
near-duplicates planted in real C4 / Dolma CC pages."""

from __future__ import annotations

import copy
import gzip
import json
import random
from pathlib import Path
from typing import Any

import pytest

from dclm_resources.compute import ray_session
from dclm_resources.processing import registry
from dclm_resources.processing.dedup import bff, bff_filter
from dclm_resources.processing.dedup.bff import BffDeduper, BffParams, NgramFilter, run_bff, sysreq, tokenize
from dclm_resources.storage import Storage, read_jsonl, write_jsonl
from dclm_tests.paths import shared_data

STORAGE = Storage()


@pytest.fixture(scope="module")
def ray_local():
    with ray_session(num_cpus=2):
        yield


def real_pages(limit_c4: int = 300, limit_cc: int = 150) -> list[dict[str, Any]]:
    c4 = shared_data("web", "jsonl", "c4_en_sample", "c4_sample.jsonl")
    cc = shared_data(
        "web", "jsonl", "dolma_cc_2019_30", "CC-MAIN-20190717121559-20190717143559-00140.jsonl.gz"
    )
    pages = [json.loads(line) for line in c4.read_text().splitlines()[:limit_c4]]
    with gzip.open(cc, "rt") as fh:
        pages += [json.loads(line) for _, line in zip(range(limit_cc), fh, strict=False)]
    for i, page in enumerate(pages):
        page["id"] = f"real-{i}"
    return pages


def deduper(mode: str = "paragraph", n: int = 1, min_n: int | None = None, threshold: float = 0.5, **kw: Any):
    """A deduper with a roomy filter (false positives ~1e-9) so tests see only real containment."""
    params = BffParams(min_n or n, n, threshold, mode, **kw)
    return BffDeduper(params, NgramFilter.create(100_000, 1e-9))


def run_pages(d: BffDeduper, texts: list[str], **page_keys: Any) -> list[dict[str, Any] | None]:
    """Decide + shape each text as a page; None where the page would be dropped (blank text)."""
    out = []
    for text, dec in zip(texts, d.decide(texts), strict=True):
        page = d.apply({"text": text, **copy.deepcopy(page_keys)}, text, dec)
        out.append(page if page["text"].strip(bff.WHITESPACE) else None)
    return out


# -- tokenizer ----------------------------------------------------------------------------------------------------

TRICKY = [
    "can't stop 3.14 1,000,000 a.b.c a..b _x_ x_1 foo:bar 12:30 U.S.A.",
    "e\u0301te\u0301 caf\u00e9 na\u00efve",
    "東京都 カタカナ ひらがな 한국어",
    "\U0001f44d\U0001f3fd \U0001f468\u200d\U0001f469\u200d\U0001f467 \U0001f1fa\U0001f1f8\U0001f1eb\U0001f1f7",
    'שלום "עולם" ב"ה',
    "a\u00adb soft hyphen, \u200bzero width",
    "x\x1cy\x1fz \t tab\u00a0nbsp\u3000ideo",
    "\r\n\r\nA\rB\n\nC",
    "ไทยภาษา ١٢٣,٤٥٦ ＡＢＣ１２３ a’b ‘c’ d·e",
]


def test_tokens_match_uniseg_word_bounds_on_real_and_tricky_text():
    """BFF tokenizes with Rust's split_word_bounds (UAX #29) and drops whitespace-only segments; uniseg is the
    Python reference for the same rules."""
    from uniseg.wordbreak import words

    texts = TRICKY + [p["text"][:1500] for p in real_pages(15, 15)]
    for text in texts:
        expected = [w for w in words(text) if w.strip(bff.WHITESPACE)]
        assert tokenize(text) == expected, text[:80]


def test_tokens_match_regex_word_bounds_on_all_real_pages():
    import regex

    bounds = regex.compile(r"(?wV1)\b")
    for page in real_pages(1000, 1000):
        expected = [s for s in bounds.split(page["text"]) if s.strip(bff.WHITESPACE)]
        assert tokenize(page["text"]) == expected, page["id"]


def test_token_and_ngram_hashes_are_stable_and_position_free():
    a = bff._tokenize_batch(["alpha beta gamma"])
    b = bff._tokenize_batch(["zzz\n\nalpha beta gamma", "x"])
    assert a.hashes.tolist() == b.hashes[1:4].tolist()
    # A fixed value pins the scheme: a change must bump HASH_SCHEME (saved filters depend on it).
    assert int(bff._tokenize_batch(["hello"]).hashes[0]) == 1228234943151034588


# -- unit rules and strictness ------------------------------------------------------------------------------------


def test_threshold_is_strict_in_paragraph_mode_and_inclusive_in_both_mode():
    # unigrams, threshold 0.5: the second paragraph has exactly half of its n-grams seen before
    para = run_pages(deduper("paragraph"), ["a c", "a b"])
    assert para[1]["text"] == "a b"  # 1/2 > 0.5 is false: kept
    both = run_pages(deduper("both"), ["a c", "a b"])
    assert both[1] is None  # 1/2 >= 0.5: the whole document goes
    over = run_pages(deduper("paragraph"), ["a c d", "a c b"])
    assert over[1] is None  # 2/3 > 0.5: the only paragraph goes, the page is blank and dropped


def test_short_units_are_never_checked_nor_inserted():
    d = deduper("paragraph", n=5, min_n=3)
    texts = ["x y", "x y", "one two three", "one two three", "p q r s t u", "p q r s t u"]
    out = run_pages(d, texts)
    assert out[1]["text"] == "x y"  # 2 tokens < min: always kept
    assert out[3] is None  # 3 tokens: one n-gram of the whole unit, seen before
    assert out[5] is None  # 6 tokens: two 5-gram windows, both seen
    d = deduper("paragraph", n=5, min_n=3)
    assert run_pages(d, ["one two", "one two three"])[1]["text"] == "one two three"  # nothing was inserted


def test_paragraphs_are_cut_at_every_newline_and_removal_keeps_the_rest():
    d = deduper("paragraph", n=2)
    first = "alpha beta gamma\ndelta epsilon zeta\neta theta iota"
    second = "alpha beta gamma\nbrand new words here\n\ndelta epsilon zeta"
    out = run_pages(d, [first, second])
    # each '\n' opens a unit, so removing the first and last paragraphs leaves "\nbrand new words here\n"
    assert out[1]["text"] == "\nbrand new words here\n"


def test_document_mode_removes_whole_documents_on_overall_containment():
    d = deduper("document", n=2)
    out = run_pages(d, ["a b c d e f", "a b c d e f\nx y"])
    assert out[1] is None  # 5 of 6 bigrams across the newline... contained > 0.5
    d = deduper("document", n=2)
    out = run_pages(d, ["a b c", "a b\nq r s t u v"])
    assert out[1]["text"] == "a b\nq r s t u v"


def test_old_both_removes_paragraphs_then_the_document_when_most_ngrams_were_seen():
    d = deduper("old-both", n=2)
    base = "one two three four\nfive six seven eight"
    out = run_pages(d, [base, "one two three four\nfresh words only here", base + "\nnine"])
    assert out[1]["text"] == "\nfresh words only here"
    assert out[1]["bff_contained_ngram_count_before_dedupe"] == 3
    assert out[2] is None  # 6 of 6 checked n-grams contained -> whole text emptied, page dropped
    assert out[0]["bff_contained_ngram_count_before_dedupe"] == 0


def test_old_both_later_paragraphs_match_earlier_ones_of_the_same_document():
    out = run_pages(deduper("old-both", n=2), ["same words here\nsame words here\nother stuff there"])
    assert out[0]["text"] == "same words here\nother stuff there"


def test_naive_both_and_exact_modes():
    d = deduper("naive-both", n=2)
    out = run_pages(d, ["a b c\nd e f", "a b c\ng h i", "a b c\nd e f"])
    assert out[0]["text"] == "a b c\nd e f"  # a new document keeps every paragraph (BFF's bug fixed)
    assert out[1]["text"] == "\ng h i"
    assert out[2] is None
    d = deduper("exact")
    out = run_pages(d, ["same", "same", "other"])
    assert [o is None for o in out] == [False, True, False]
    d = deduper("exact", annotate=True)
    assert run_pages(d, ["same", "same"])[1]["bff_exact_duplicate"] is True


def test_no_update_leaves_the_filter_untouched():
    d = deduper("paragraph", n=2, no_update_bloom_filter=True)
    out = run_pages(d, ["a b c", "a b c"])
    assert out[1]["text"] == "a b c"
    assert not d.filter.bloom


# -- annotate -----------------------------------------------------------------------------------------------------


def test_annotate_spans_are_utf8_byte_offsets_and_old_both_keeps_only_bffs_keys():
    first = "héllo wörld ünïcode\nplain ascii line\nçava très bien"
    second = "brand new línea\nhéllo wörld ünïcode\nçava très bien"
    d = deduper("old-both", n=2, annotate=True)
    out = run_pages(d, [first, second], id="x", source="s", url="u", metadata={"a": 1})
    page = out[1]
    assert page["text"] == second  # annotate never edits the text
    raw = second.encode()
    spans = page["bff_duplicate_spans"]
    assert [raw[s:e].decode() for s, e in spans] == ["\nhéllo wörld ünïcode", "\nçava très bien"]
    assert page["bff_contained_ngram_count"] == 4
    assert set(page) == {"text", "id", "source", "bff_duplicate_spans", "bff_contained_ngram_count"}
    d = deduper("paragraph", n=2, annotate=True)
    out = run_pages(d, [first, second], url="u")
    assert out[1]["url"] == "u" and len(out[1]["bff_duplicate_spans"]) == 2


# -- filter sizing and persistence -------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "fp"), [(1000, 0.01), (123_457, 0.001), (5_000_000, 0.05)])
def test_sysreq_matches_the_filter_rbloom_allocates(n: int, fp: float):
    size = sysreq(n, fp)
    f = NgramFilter.create(n, fp)
    assert size.size_in_bits == f.bloom.size_in_bits
    assert size.size_in_bytes == f.size_in_bytes
    assert size.num_hashers == int.from_bytes(f.bloom.save_bytes()[:8], "little")  # rbloom stores k first
    # BFF's search: the smallest byte size meeting the fp rate with ceil(m/n ln 2) hashers
    b = size.bff_size_in_bytes
    assert bff_filter._bff_fp(b, n, bff_filter._bff_hashers(b, n)) <= fp < bff_filter._bff_fp(b - 1, n, bff_filter._bff_hashers(b - 1, n))
    assert size.num_hashers >= 1 and size.bff_num_hashers >= size.num_hashers


def test_filter_round_trips_and_refuses_foreign_files():
    f = NgramFilter.create(1000, 0.01)
    f.bloom.update([1, 2, 3])
    g = NgramFilter.from_bytes(f.to_bytes())
    assert 2 in g.bloom and 99 not in g.bloom and g.info == f.info
    with pytest.raises(ValueError, match="magic"):
        NgramFilter.from_bytes(b"not a filter")


def write_shards(root: Path, shards: list[list[dict[str, Any]]], ext: str = ".jsonl") -> list[str]:
    uris = []
    for i, pages in enumerate(shards):
        uri = str(root / f"shard_{i:02d}{ext}")
        write_jsonl(pages, uri)
        uris.append(uri)
    return uris


def test_saved_filter_dedups_a_later_run(tmp_path: Path):
    pages = real_pages(40, 0)
    [first] = write_shards(tmp_path / "a", [pages[:20]])
    [second] = write_shards(tmp_path / "b", [pages[10:30]])
    fpath = str(tmp_path / "bff.filter")
    common = dict(fp_rate=0.001, expected_ngram_count=200_000, min_ngram_size=13, max_ngram_size=13)
    run_bff([first], str(tmp_path / "out1"), STORAGE, bloom_filter_file=fpath, use_ray=False, **common)
    saved = Path(fpath).read_bytes()
    stats = run_bff(
        [second], str(tmp_path / "out2"), STORAGE, bloom_filter_file=fpath, no_update_bloom_filter=True,
        remove_type="old-both", use_ray=False, **common,
    )  # fmt: skip
    assert Path(fpath).read_bytes() == saved  # frozen filter is not rewritten
    kept = {p["id"] for p in read_jsonl(str(tmp_path / "out2" / "shard_00.jsonl"))}
    # pages seen in run 1 are gone, except those with no paragraph of 13+ tokens (never checked)
    checkable = {p["id"] for p in pages if max(len(tokenize(x)) for x in p["text"].split("\n")) >= 13}
    seen = {p["id"] for p in pages[10:20]}
    assert not kept & seen & checkable and seen - checkable <= kept
    assert len(kept & {p["id"] for p in pages[20:30]}) >= 8
    assert stats[second]["docs_removed"] == len(seen & checkable) + 10 - len(
        kept & {p["id"] for p in pages[20:30]}
    )


# -- whole runs on real pages ---------------------------------------------------------------------------------------


def plant_near_duplicates(pages: list[dict[str, Any]], count: int, seed: int = 0) -> list[dict[str, Any]]:
    """Copies of random pages with small edits: a word changed in a quarter of the long paragraphs (a 13-gram
    window sees it in up to 13 places), a sentence appended."""
    rng = random.Random(seed)
    planted = []
    # sources with some paragraph long enough to be checked at all (13+ tokens)
    sources = [p for p in pages if max(len(tokenize(x)) for x in p["text"].split("\n")) >= 40]
    for k, src in enumerate(rng.sample(sources, count)):
        paragraphs = []
        for para in src["text"].split("\n"):
            words = para.split(" ")
            if len(words) > 80 and rng.random() < 0.25:
                words[rng.randrange(len(words))] = "EDITED"
            paragraphs.append(" ".join(words))
        text = "\n".join(paragraphs) + "\nThis sentence was appended to the copy."
        planted.append({**src, "id": f"planted-{k}", "text": text, "source_id": src["id"]})
    return planted


def test_near_duplicates_planted_in_real_pages_are_removed(tmp_path: Path, ray_local: None):
    pages = real_pages()
    planted = plant_near_duplicates(pages[:150], 40)  # the originals come first, so the copies must go
    shards = [pages[:150], pages[150:300] + planted[:20], pages[300:] + planted[20:]]
    inputs = write_shards(tmp_path / "in", shards, ext=".jsonl.gz")
    stats = run_bff(
        inputs, str(tmp_path / "out"), STORAGE, fp_rate=0.01, expected_ngram_count=None, min_ngram_size=13,
        max_ngram_size=13, filtering_threshold=0.8, remove_type="old-both",
    )  # fmt: skip
    out = {p["id"]: p for u in inputs for p in read_jsonl(str(tmp_path / "out" / Path(u).name))}
    survivors = [p for p in planted if p["id"] in out]
    # each copy loses (almost) everything: dropped outright, or only its appended sentence (and short lines) remain
    for p in survivors:
        assert len(out[p["id"]]["text"]) < 0.3 * len(p["text"]), p["id"]
    assert len(survivors) <= 5
    originals = [p for p in pages if p["id"] in {q["source_id"] for q in planted}]
    assert sum(out.get(p["id"], {}).get("text") == p["text"] for p in originals) >= 35
    total = {k: sum(s[k] for s in stats.values()) for k in ("pages_in", "pages_out", "docs_removed")}
    assert total["pages_in"] == len(pages) + len(planted)
    assert total["pages_out"] == len(out) == total["pages_in"] - total["docs_removed"]
    assert all(s["bytes_out"] <= s["bytes_in"] for s in stats.values())


def test_runs_are_deterministic_in_and_out_of_ray(tmp_path: Path, ray_local: None):
    pages = real_pages(200, 60)
    inputs = write_shards(
        tmp_path / "in", [pages[:130], pages[130:] + plant_near_duplicates(pages[:100], 20)]
    )
    common = dict(fp_rate=0.01, expected_ngram_count=150_000, min_ngram_size=13, max_ngram_size=13)
    run_bff(inputs, str(tmp_path / "a"), STORAGE, remove_type="old-both", use_ray=True, **common)
    run_bff(inputs, str(tmp_path / "b"), STORAGE, remove_type="old-both", use_ray=False, **common)
    for name in ("shard_00.jsonl", "shard_01.jsonl"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_estimated_ngram_count_is_close(tmp_path: Path):
    pages = real_pages(300, 100)
    inputs = write_shards(tmp_path, [pages[:200], pages[200:]])
    batch = bff._tokenize_batch([p["text"] for p in pages])
    exact = len(bff._unit_ngrams(batch.hashes, batch.paragraph, batch.doc_paragraphs[-1], 13, 13).hashes)
    estimate = bff.estimate_ngram_count(inputs, STORAGE, 13, 13, sample_every=4)
    assert exact <= estimate <= 1.6 * exact


def test_global_step_contract(tmp_path: Path):
    """Registered as ``bff_dedup``: every input gets an output (blank pages dropped), stats per input."""
    step = registry.get_global_step("bff_dedup")
    inputs = write_shards(tmp_path / "in", [[{"text": "  \n "}, {"text": "kept page"}], []])
    stats = step(inputs, str(tmp_path / "out"), STORAGE, fp_rate=0.01, expected_ngram_count=1000)
    assert [stats[u]["pages_out"] for u in inputs] == [1, 0]
    assert (tmp_path / "out" / "shard_01.jsonl").exists()
    with pytest.raises(ValueError, match="remove_type"):
        step(inputs, str(tmp_path / "out"), STORAGE, fp_rate=0.01, remove_type="substring")
