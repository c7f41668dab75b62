"""Test doubles for the evaluation tests: causal "models" whose preferences are known, and a real BPE tokenizer.

``KeyedContinuationModel`` gives a strong logit to the next token of a target sequence right after a key (the last
tokens of a prompt) and while the row keeps following that target; elsewhere all logits are 0, so the argmax is
token 0 (EOT in our BPE) and generation stops. It reads only the row it scores, so a left-trimmed prompt still
matches its key, and padding after a row cannot change it (it is causal by construction).
"""

from __future__ import annotations

import functools
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path

import torch

from dclm_resources.tokenization import LoadedTokenizer, load_tokenizer, train_bpe_tokenizer
from dclm_tests.paths import shared_data

C4_FILE = ("web", "jsonl", "c4_en_sample", "c4_sample.jsonl")
EVAL_DIR = ("eval",)


@functools.lru_cache(maxsize=1)
def _bpe_dir() -> str:
    texts = [json.loads(line)["text"] for line in shared_data(*C4_FILE).open(encoding="utf-8") if line.strip()]
    out = Path(tempfile.mkdtemp(prefix="dclm-eval-bpe-"))
    train_bpe_tokenizer(texts, out, vocab_size=2048)
    return str(out)


def bpe_tokenizer() -> LoadedTokenizer:
    """A byte-level BPE trained on the shared real C4 sample (trained once per test process)."""
    return load_tokenizer(_bpe_dir())


def vocab_size(tokenizer: LoadedTokenizer) -> int:
    return tokenizer.tokenizer.get_vocab_size(with_added_tokens=True)


class KeyedContinuationModel(torch.nn.Module):
    """``model(input_ids) -> logits``: after ``key`` the row is pushed along ``target`` (see the module docstring).

    ``rules``: ``(key_ids, target_ids, boost)``; several targets may share a key (each gets its own boost at the
    position after the key, then the ones the row still follows).
    """

    def __init__(self, rules: Sequence[tuple[Sequence[int], Sequence[int], float]], vocab: int) -> None:
        super().__init__()
        self.vocab = vocab
        self.by_key: dict[tuple[int, ...], list[tuple[tuple[int, ...], float]]] = {}
        self.key_lengths: set[int] = set()
        for key, target, boost in rules:
            key_t = tuple(int(t) for t in key)
            self.by_key.setdefault(key_t, []).append((tuple(int(t) for t in target), float(boost)))
            self.key_lengths.add(len(key_t))
        self.calls = 0

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        batch, width = input_ids.shape
        logits = torch.zeros(batch, width, self.vocab)
        for b, row in enumerate(input_ids.tolist()):
            active: list[tuple[tuple[int, ...], int, float]] = []
            for p in range(width):
                active = [(t, j + 1, s) for t, j, s in active if j < len(t) and row[p] == t[j]]
                for k in self.key_lengths:
                    if p + 1 >= k:
                        active.extend((t, 0, s) for t, s in self.by_key.get(tuple(row[p + 1 - k : p + 1]), ()))
                for target, j, boost in active:
                    if j < len(target):
                        logits[b, p, target[j]] += boost
        return logits


def key_of(context_ids: Sequence[int], length: int = 24) -> list[int]:
    """The last ``length`` tokens of a prompt: the trigger a ``KeyedContinuationModel`` rule fires on."""
    ids = [int(t) for t in context_ids]
    return ids[-length:]
