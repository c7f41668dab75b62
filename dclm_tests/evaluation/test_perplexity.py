"""Validation loss on real packed shards (C4 text -> BPE -> open_lm tars + manifest), as DCLM reports it."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

from dclm_resources.evaluation.perplexity import context_windows, iter_manifest_contexts, validation_loss
from dclm_resources.tokenization.packing import pack_texts
from dclm_resources.tokenization.shards import ShardWriter, write_manifest
from dclm_tests.evaluation.scripted_models import C4_FILE, bpe_tokenizer, vocab_size
from dclm_tests.paths import shared_data

CONTEXT = 128  # shard contexts of 129 tokens (DCLM's are 2049; the code does not care)


def tiny_model(vocab: int, seq_len: int) -> torch.nn.Module:
    modeling = pytest.importorskip("dclm_resources.modeling")
    torch.manual_seed(1)
    return modeling.Transformer(modeling.ModelConfig(dim=32, n_layers=1, n_heads=4, seq_len=seq_len, vocab_size=vocab))


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory) -> str:
    tok = bpe_tokenizer()
    texts = [json.loads(line)["text"] for line in shared_data(*C4_FILE).open(encoding="utf-8")][:15]
    out = tmp_path_factory.mktemp("val_shards")
    writer = ShardWriter(str(out), sequences_per_shard=16)
    writer.write(pack_texts(texts, tok, seq_len=CONTEXT))
    write_manifest(str(out), writer.records)
    assert len(writer.records) >= 2
    return str(out)


def reference_loss(model: torch.nn.Module, contexts: list[list[int]], seq_len: int, skip: set[int] = frozenset()):
    total, count = 0.0, 0
    with torch.no_grad():
        for tokens in contexts:
            for window in context_windows(tokens, seq_len):
                ids = torch.as_tensor(window)[None]
                logits = model(ids[:, :-1])[0][0]
                losses = F.cross_entropy(logits, ids[0, 1:], reduction="none")
                keep = torch.tensor([int(t) not in skip for t in ids[0, 1:]])
                total += float(losses[keep].double().sum())
                count += int(keep.sum())
    return total / count, count


def test_loss_is_the_mean_target_token_cross_entropy(shards: str) -> None:
    tok = bpe_tokenizer()
    model = tiny_model(vocab_size(tok) + 64, seq_len=CONTEXT)
    contexts = [tokens for _, tokens in iter_manifest_contexts(shards)]
    assert all(len(c) == CONTEXT + 1 for c in contexts)
    result = validation_loss(model, shards, batch_size=5)
    loss, count = reference_loss(model, contexts, CONTEXT)
    assert result.loss == pytest.approx(loss, rel=1e-5) and result.perplexity == pytest.approx(math.exp(loss))
    assert result.tokens == count == len(contexts) * CONTEXT and result.sequences == result.windows == len(contexts)
    assert validation_loss(model, shards, batch_size=1).loss == pytest.approx(result.loss, rel=1e-5)


def test_short_models_read_windows_and_limits_apply(shards: str) -> None:
    tok = bpe_tokenizer()
    model = tiny_model(vocab_size(tok) + 64, seq_len=32)
    contexts = [tokens for _, tokens in iter_manifest_contexts(shards, max_sequences=5)]
    result = validation_loss(model, str(Path(shards) / "manifest.jsonl"), batch_size=3, max_sequences=5)
    assert result.sequences == 5 and result.windows == 5 * (CONTEXT // 32) and result.tokens == 5 * CONTEXT
    assert result.loss == pytest.approx(reference_loss(model, contexts, 32)[0], rel=1e-5)
    masked = validation_loss(model, shards, batch_size=3, max_sequences=5, ignore_ids=[tok.eot_id, tok.pad_id])
    assert masked.loss == pytest.approx(reference_loss(model, contexts, 32, {tok.eot_id, tok.pad_id})[0], rel=1e-5)
    assert masked.tokens < result.tokens


def test_bad_inputs_are_named(shards: str, tmp_path: Path) -> None:
    tok = bpe_tokenizer()
    with pytest.raises(ValueError, match="outside the model's vocabulary"):
        validation_loss(tiny_model(100, seq_len=CONTEXT), shards, max_sequences=2)
    bad = tmp_path / "manifest.jsonl"
    bad.write_text('{"shard": "shard_00000000", "num_sequences": 16}\n{"num_sequences": 3}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"manifest.jsonl:2: manifest line has no string 'shard'"):
        validation_loss(tiny_model(vocab_size(tok) + 64, seq_len=CONTEXT), str(tmp_path))


def _worker(rank: int, world: int, init_file: str, shards: str, vocab: int, out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        result = validation_loss(tiny_model(vocab, seq_len=CONTEXT), shards, batch_size=4)
        if rank == 0:
            Path(out).write_text(json.dumps(result.__dict__), encoding="utf-8")
    finally:
        dist.destroy_process_group()


def test_ranks_split_contexts_and_reduce(shards: str, tmp_path: Path) -> None:
    vocab = vocab_size(bpe_tokenizer()) + 64
    out = tmp_path / "r0.json"
    mp.spawn(_worker, args=(2, str(tmp_path / "init"), shards, vocab, str(out)), nprocs=2, join=True)
    parallel = json.loads(out.read_text(encoding="utf-8"))
    single = validation_loss(tiny_model(vocab, seq_len=CONTEXT), shards, batch_size=4)
    assert parallel["tokens"] == single.tokens and parallel["sequences"] == single.sequences
    assert parallel["loss"] == pytest.approx(single.loss, rel=1e-5)
