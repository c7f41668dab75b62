"""Data-parallel evaluation: two gloo processes split the documents through lm-eval and agree with one process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from dclm_resources.evaluation.lm_eval_model import DclmLM
from dclm_resources.evaluation.runner import evaluate_tasks
from dclm_resources.tokenization import load_tokenizer
from dclm_tests.evaluation.scripted_models import bpe_tokenizer, vocab_size
from dclm_tests.evaluation.test_lm_eval_tasks import COPA, LAMBADA, TRIVIAQA
from dclm_tests.paths import shared_data

ENTRIES = [COPA, LAMBADA, TRIVIAQA]
LIMITS = 4


def _model(vocab: int) -> torch.nn.Module:
    from dclm_resources.modeling import ModelConfig, Transformer

    torch.manual_seed(0)
    return Transformer(ModelConfig(dim=32, n_layers=2, n_heads=4, seq_len=1024, vocab_size=vocab)).eval()


def _evaluate(tokenizer_dir: str, data_dir: str) -> dict:
    tok = load_tokenizer(tokenizer_dir)
    lm = DclmLM(_model(vocab_size(tok)), tok, batch_size=4)
    results = evaluate_tasks(lm, ENTRIES, data_dir, limit=LIMITS)
    if results is None:
        return {}
    return {"scores": results.scores, "counts": results.counts, "world_size": lm.world_size}


def _worker(rank: int, world: int, init_file: str, tokenizer_dir: str, data_dir: str, out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        result = _evaluate(tokenizer_dir, data_dir)
        if rank == 0:
            Path(out).write_text(json.dumps(result), encoding="utf-8")
        else:
            assert result == {}
    finally:
        dist.destroy_process_group()


def test_two_processes_match_one(tmp_path: Path) -> None:
    pytest.importorskip("dclm_resources.modeling")
    tokenizer_dir = str(bpe_tokenizer().path.parent)
    data_dir = str(shared_data("eval"))
    out = tmp_path / "rank0.json"
    mp.spawn(_worker, args=(2, str(tmp_path / "init"), tokenizer_dir, data_dir, str(out)), nprocs=2, join=True)
    parallel = json.loads(out.read_text(encoding="utf-8"))
    single = _evaluate(tokenizer_dir, data_dir)
    assert parallel["world_size"] == 2 and single["world_size"] == 1
    assert parallel["counts"] == single["counts"] == {e["label"]: LIMITS for e in ENTRIES}
    assert parallel["scores"] == pytest.approx(single["scores"])
