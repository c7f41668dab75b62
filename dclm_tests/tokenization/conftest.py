"""Fixtures: real C4 texts and one BPE trained on them (session-scoped, since training takes ~1 s)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dclm_resources.tokenization import LoadedTokenizer, train_bpe_tokenizer
from dclm_tests.paths import shared_data

C4_FILE = ("web", "jsonl", "c4_en_sample", "c4_sample.jsonl")
VOCAB_SIZE = 2048


@pytest.fixture(scope="session")
def c4_texts() -> list[str]:
    """The texts of the shared C4 sample (1000 real documents)."""
    path = shared_data(*C4_FILE)
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line)["text"] for line in fh if line.strip()]


@pytest.fixture(scope="session")
def bpe_dir(tmp_path_factory: pytest.TempPathFactory, c4_texts: list[str]) -> Path:
    out = tmp_path_factory.mktemp("bpe")
    train_bpe_tokenizer(c4_texts, out, vocab_size=VOCAB_SIZE)
    return out


@pytest.fixture(scope="session")
def bpe(bpe_dir: Path) -> LoadedTokenizer:
    from dclm_resources.tokenization import load_tokenizer

    return load_tokenizer(str(bpe_dir))
