"""Packing exactly as open_lm/DCLM: 2049-token contexts, EOT after every document, PAD only at the stream end."""

from __future__ import annotations

import numpy as np
import pytest

from dclm_resources.tokenization import ContextPacker, LoadedTokenizer, PackStats, pack_texts


def _expected_stream(texts: list[str], bpe: LoadedTokenizer) -> list[int]:
    out: list[int] = []
    for text in texts:
        out += bpe.tokenizer.encode(text, add_special_tokens=False).ids + [bpe.eot_id]
    return out


def test_contexts_are_the_eot_joined_stream(bpe: LoadedTokenizer, c4_texts: list[str]) -> None:
    texts = c4_texts[:300]
    stats = PackStats()
    contexts = list(pack_texts(texts, bpe, seq_len=2048, batch_size=37, stats=stats))
    stream = _expected_stream(texts, bpe)
    assert all(len(c) == 2049 for c in contexts)
    flat = np.concatenate(contexts).tolist()
    n_pad = len(flat) - len(stream)
    assert 0 < n_pad < 2049
    assert flat[: len(stream)] == stream
    assert flat[len(stream) :] == [bpe.pad_id] * n_pad
    # PAD appears only in the final context; EOT count = documents.
    assert all(bpe.pad_id not in c.tolist() for c in contexts[:-1])
    assert flat.count(bpe.eot_id) == len(texts)
    assert stats == PackStats(documents=300, tokens=len(stream), contexts=len(contexts), pad_tokens=n_pad)
    assert stats.padding_fraction == pytest.approx(n_pad / len(flat))


def test_batching_does_not_change_contexts(bpe: LoadedTokenizer, c4_texts: list[str]) -> None:
    a = np.stack(list(pack_texts(c4_texts[:120], bpe, seq_len=512, batch_size=1)))
    b = np.stack(list(pack_texts(c4_texts[:120], bpe, seq_len=512, batch_size=1000)))
    assert np.array_equal(a, b)


def test_empty_documents_still_get_eot(bpe: LoadedTokenizer) -> None:
    (context,) = pack_texts(["", "a", ""], bpe, seq_len=7)
    a = bpe.tokenizer.encode("a", add_special_tokens=False).ids
    assert context.tolist() == [0, *a, 0, 0] + [bpe.pad_id] * (8 - 3 - len(a))


def test_exact_fit_needs_no_pad_and_empty_stream_no_context(bpe: LoadedTokenizer) -> None:
    ids = bpe.tokenizer.encode("hello world", add_special_tokens=False).ids
    contexts = list(pack_texts(["hello world"] * 3, bpe, seq_len=3 * (len(ids) + 1) - 1))
    assert len(contexts) == 1 and bpe.pad_id not in contexts[0].tolist()
    assert list(pack_texts([], bpe)) == []


def test_packer_keeps_the_remainder_across_feeds(bpe: LoadedTokenizer, c4_texts: list[str]) -> None:
    packer = ContextPacker(bpe, seq_len=1024)
    pieces = [c for i in range(0, 90, 30) for c in packer.feed(c4_texts[i : i + 30])]
    pieces += list(packer.finish())
    whole = list(pack_texts(c4_texts[:90], bpe, seq_len=1024))
    assert np.array_equal(np.stack(pieces), np.stack(whole))
    assert packer.stats.contexts == len(whole)
