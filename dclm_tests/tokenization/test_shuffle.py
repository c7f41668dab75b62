"""Two-stage tokenize-shuffle on real text (C4 sample + Dolma CC) with a 2-CPU local Ray."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from dclm_resources.compute import ray_session
from dclm_resources.storage import Storage
from dclm_resources.tokenization import (
    LoadedTokenizer,
    check_manifest,
    decode_contexts,
    iter_webdataset_contexts,
    pack_texts,
)
from dclm_resources.tokenization.shuffle import length_histogram, tokenize_shuffle
from dclm_tests.paths import shared_data

SEQ_LEN = 128
PER_SHARD = 150
DOLMA_FILE = ("web", "jsonl", "dolma_cc_2019_30", "CC-MAIN-20190717121559-20190717143559-00140.jsonl.gz")
DOLMA_DOCS = 150


@pytest.fixture(scope="module")
def ray_local() -> Iterator[None]:
    with ray_session(num_cpus=2):
        yield


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, c4_texts: list[str]) -> dict[str, list[list[str]]]:
    """Three C4 files and one gzipped Dolma CC file; returns source folder -> texts per file (sorted by name)."""
    root = tmp_path_factory.mktemp("corpus")
    c4_dir, dolma_dir = root / "c4", root / "dolma"
    c4_dir.mkdir()
    dolma_dir.mkdir()
    chunks = [c4_texts[:250], c4_texts[250:400], c4_texts[400:600]]
    for i, chunk in enumerate(chunks):
        (c4_dir / f"part_{i}.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in chunk))
    with gzip.open(shared_data(*DOLMA_FILE), "rt", encoding="utf-8") as fh:
        dolma = [json.loads(line)["text"] for _, line in zip(range(DOLMA_DOCS), fh, strict=False)]
    with gzip.open(dolma_dir / "cc_0000.jsonl.gz", "wt", encoding="utf-8") as fh:
        fh.writelines(json.dumps({"text": t}) + "\n" for t in dolma)
    return {str(c4_dir): chunks, str(dolma_dir): [dolma]}


def _expected(corpus: dict[str, list[list[str]]], bpe: LoadedTokenizer) -> list[np.ndarray]:
    """The unshuffled packing: each file one stream, files in URI order."""
    out: list[np.ndarray] = []
    for folder in sorted(corpus):
        for texts in corpus[folder]:
            out.extend(pack_texts(texts, bpe, SEQ_LEN))
    return out


def _run(corpus: dict[str, list[list[str]]], bpe: LoadedTokenizer, out: Path, seed: int):
    return tokenize_shuffle(
        sorted(corpus),
        str(out),
        str(bpe.path.parent),
        Storage(),
        seq_len=SEQ_LEN,
        sequences_per_shard=PER_SHARD,
        seed=seed,
        num_local_cells=3,
        progress=False,
    )


def _tar_bytes(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.glob("*.tar"))}


def test_shuffle_reproducible_complete_and_readable(
    ray_local: None, corpus: dict[str, list[list[str]]], bpe: LoadedTokenizer, tmp_path: Path
) -> None:
    expected = _expected(corpus, bpe)
    first = _run(corpus, bpe, tmp_path / "a", seed=7)
    second = _run(corpus, bpe, tmp_path / "b", seed=7)
    other = _run(corpus, bpe, tmp_path / "c", seed=8)

    a, b, c = _tar_bytes(tmp_path / "a"), _tar_bytes(tmp_path / "b"), _tar_bytes(tmp_path / "c")
    assert a and a == b, "same seed and inputs must give byte-identical shards"
    assert a != c, "a different seed must shuffle differently"
    assert not (tmp_path / "a" / ".spill").exists(), "spill is removed at the end"

    # Summary figures agree with the unshuffled packing.
    assert first.sequences == len(expected) == sum(r.num_sequences for r in first.records)
    assert first.shards == len(a) == len(first.records)
    pad = sum(int((ctx == bpe.pad_id).sum()) for ctx in expected)
    assert first.pad_tokens == pad
    assert first.tokens == len(expected) * (SEQ_LEN + 1) - pad
    assert 0 < first.padding_fraction < 0.05
    assert first.documents == sum(len(t) for files in corpus.values() for t in files)
    assert sum(first.doc_length_histogram.values()) == first.documents
    assert set(first.per_source) == {"c4", "dolma"}
    assert first.per_source["c4"].files == 3 and first.per_source["dolma"].files == 1
    assert sum(s.tokens for s in first.per_source.values()) == first.tokens
    assert second.tokens == first.tokens and other.sequences == first.sequences

    # Manifest, reference JSON.
    check = check_manifest(str(tmp_path / "a"), context_len=SEQ_LEN + 1)
    assert check.ok, check.problems
    assert check.num_sequences == len(expected)
    ref = json.loads((tmp_path / "a" / "a.json").read_text())
    assert ref["num_tokens"] == len(expected) * (SEQ_LEN + 1)
    assert ref["manifest_url"].endswith("manifest.jsonl") and ref["tokenizer"] == bpe.name

    # Every input context appears exactly once, read back through webdataset; and the order did change.
    tars = [str(p) for p in sorted((tmp_path / "a").glob("*.tar"))]
    back = [np.asarray(tokens, dtype=np.int32) for _, tokens in iter_webdataset_contexts(tars)]
    assert Counter(x.tobytes() for x in back) == Counter(x.tobytes() for x in expected)
    assert [x.tobytes() for x in back] != [x.tobytes() for x in expected]

    # Put the read-back contexts in stream order (matched by content) and decode: the input texts come back.
    pool: dict[bytes, list[np.ndarray]] = {}
    for ctx in back:
        pool.setdefault(ctx.tobytes(), []).append(ctx)
    restored = [pool[ctx.tobytes()].pop() for ctx in expected]
    texts = [t for folder in sorted(corpus) for chunk in corpus[folder] for t in chunk]
    assert decode_contexts(restored, bpe) == texts


def test_auto_cells_from_budget(
    ray_local: None, corpus: dict[str, list[list[str]]], bpe: LoadedTokenizer, tmp_path: Path
) -> None:
    """A small cell budget gives more cells (each stage-2 task holds one); results stay complete."""
    small = tokenize_shuffle(
        sorted(corpus), str(tmp_path / "s"), str(bpe.path.parent), seq_len=SEQ_LEN, progress=False
    )
    assert small.num_local_cells == 1 and small.shards == 1
    many = tokenize_shuffle(
        sorted(corpus),
        str(tmp_path / "m"),
        str(bpe.path.parent),
        seq_len=SEQ_LEN,
        cell_budget_bytes=200_000,
        progress=False,
    )
    assert many.num_local_cells > 4
    assert many.sequences == small.sequences and many.tokens == small.tokens
    assert check_manifest(str(tmp_path / "m"), context_len=SEQ_LEN + 1).ok


def test_length_histogram_buckets() -> None:
    assert length_histogram(np.array([0, 1, 2, 3, 4, 7, 8, 1000])) == {0: 1, 1: 1, 2: 2, 4: 2, 8: 1, 512: 1}
