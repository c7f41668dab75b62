"""The demo's held-out data: never a pool page, full contexts only, reused when nothing changed."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from dclm_resources.demo.heldout import heldout_texts, prepare_heldout, text_key, write_perplexity_shards
from dclm_resources.layout import Layout
from dclm_resources.pools.sample import SamplePoolSpec, generate_pages
from dclm_resources.storage import Storage, read_jsonl, write_jsonl
from dclm_resources.tokenization import check_manifest, iter_tar_contexts, load_tokenizer, train_bpe_tokenizer


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    texts = [p["text"] for p in generate_pages(SamplePoolSpec(num_pages=300, seed=11))]
    out = tmp_path_factory.mktemp("tok")
    train_bpe_tokenizer(texts, out, vocab_size=600)
    return out


def _pool(tmp_path: Path, planted: list[str]) -> str:
    """A raw pool of 60 sample pages plus ``planted`` texts, with its raw-source reference JSON."""
    pages = [*generate_pages(SamplePoolSpec(num_pages=60, seed=3)), *({"text": t} for t in planted)]
    shard = tmp_path / "pool" / "shard_0.jsonl.zst"
    write_jsonl(pages, str(shard))
    reference = tmp_path / "pool" / "raw_source.json"
    reference.write_text(json.dumps({"name": "t", "dataset_urls": [str(shard)]}))
    return str(reference)


def test_heldout_texts_skip_pool_pages() -> None:
    first, dropped = heldout_texts(6, set())
    assert dropped == 0 and len(set(first)) == 6
    exclude = {text_key(first[1]), text_key("  " + first[3].upper() + "\n")}  # normalized: case and spacing
    kept, dropped = heldout_texts(6, exclude)
    assert dropped == 2
    assert first[1] not in kept and first[3] not in kept and kept[:2] == [first[0], first[2]]


def test_perplexity_shards_hold_only_full_contexts(tmp_path: Path, tokenizer_dir: Path) -> None:
    texts, _ = heldout_texts(40, set())
    tok = load_tokenizer(str(tokenizer_dir))
    out = tmp_path / "ppl"
    (out).mkdir()
    (out / "stale.tar").write_bytes(b"old")
    count = write_perplexity_shards(texts, str(tokenizer_dir), str(out), Storage(), max_sequences=3)
    assert count == 3 and not (out / "stale.tar").exists()
    assert check_manifest(str(out), context_len=2049).ok
    contexts = [np.asarray(c) for tar in sorted(out.glob("*.tar")) for _, c in iter_tar_contexts(str(tar))]
    assert len(contexts) == 3
    assert all(len(c) == 2049 and not (c == tok.pad_id).any() for c in contexts)
    assert (contexts[0] == tok.eot_id).sum() >= 1  # documents are EOT-separated as in training data


def test_prepare_heldout_is_disjoint_and_reused(tmp_path: Path, tokenizer_dir: Path) -> None:
    planted, _ = heldout_texts(3, set())  # the held-out generator's own first pages, planted in the pool
    reference = _pool(tmp_path, planted)
    layout, store = Layout(str(tmp_path / "home")), Storage()
    held = prepare_heldout(layout, str(tokenizer_dir), reference, store, pages=30, cloze_limit=50,
                           perplexity_sequences=2)
    assert held.pages == 30 and held.excluded_overlaps == 3 and held.perplexity_sequences == 2
    pool = {text_key(p["text"]) for p in read_jsonl(str(tmp_path / "pool" / "shard_0.jsonl.zst"))}
    heldout = [p["text"] for p in read_jsonl(held.pages_uri)]
    assert len(heldout) == 30 and not pool & {text_key(t) for t in heldout}
    items = [json.loads(line) for line in Path(held.cloze_data).read_text().splitlines()]
    assert len(items) == held.cloze_examples > 0
    assert all(any(f"{i['context']} {i['continuation']}" in t for t in heldout) for i in items)  # from held-out pages

    stamp = Path(held.cloze_data).stat().st_mtime_ns
    again = prepare_heldout(layout, str(tokenizer_dir), reference, store, pages=30, cloze_limit=50,
                            perplexity_sequences=2)
    assert not held.reused and again.reused and replace(again, reused=False) == held
    assert Path(held.cloze_data).stat().st_mtime_ns == stamp  # reused, not rebuilt
    more = prepare_heldout(layout, str(tokenizer_dir), reference, store, pages=30, cloze_limit=50,
                           perplexity_sequences=3)
    assert more.perplexity_sequences == 3 and not more.reused  # a changed input rebuilds
    assert more.fingerprint != held.fingerprint  # so the eval that reads it runs again
