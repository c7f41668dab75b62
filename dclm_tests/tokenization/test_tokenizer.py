"""Tokenizer loading (local file, HF cache layout, clear error when absent) and deterministic BPE training."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from dclm_resources.tokenization import (
    DEFAULT_TOKENIZER,
    EOT_TOKEN,
    LoadedTokenizer,
    TokenizerNotFoundError,
    load_tokenizer,
    train_bpe_tokenizer,
)
from dclm_tests.tokenization.conftest import VOCAB_SIZE


def test_training_is_deterministic(tmp_path: Path, c4_texts: list[str], bpe_dir: Path) -> None:
    again = train_bpe_tokenizer(c4_texts, tmp_path / "again", vocab_size=VOCAB_SIZE)
    assert (tmp_path / "again" / "tokenizer.json").read_bytes() == (bpe_dir / "tokenizer.json").read_bytes()
    assert again.info.vocab_size == VOCAB_SIZE


def test_ids_follow_open_lm(bpe: LoadedTokenizer, bpe_dir: Path) -> None:
    # EOT is <|endoftext|> id 0 (as GPT-NeoX); PAD = vocab + 2, outside the vocabulary.
    assert bpe.tokenizer.token_to_id(EOT_TOKEN) == 0 == bpe.eot_id
    assert bpe.pad_id == VOCAB_SIZE + 2
    assert bpe.tokenizer.id_to_token(bpe.pad_id) is None
    recorded = json.loads((bpe_dir / "tokenizer_info.json").read_text())
    assert recorded == {"name": "dclm-bpe", "eot_id": 0, "pad_id": VOCAB_SIZE + 2, "vocab_size": VOCAB_SIZE}


def test_byte_level_round_trip(bpe: LoadedTokenizer, c4_texts: list[str]) -> None:
    for text in [*c4_texts[:50], "naïve café — 東京 🎉\n\ttabs  and  spaces "]:
        ids = bpe.tokenizer.encode(text, add_special_tokens=False).ids
        assert bpe.tokenizer.decode(ids, skip_special_tokens=False) == text


def test_loads_from_file_and_folder(bpe_dir: Path) -> None:
    assert load_tokenizer(str(bpe_dir / "tokenizer.json")).info == load_tokenizer(str(bpe_dir)).info


def test_loads_from_hf_cache_layout(tmp_path: Path, bpe_dir: Path) -> None:
    snap = tmp_path / "hub" / "models--EleutherAI--gpt-neox-20b" / "snapshots" / "0123abc"
    snap.mkdir(parents=True)
    shutil.copy(bpe_dir / "tokenizer.json", snap / "tokenizer.json")  # no info sidecar: ids derived
    loaded = load_tokenizer(DEFAULT_TOKENIZER, hf_home=tmp_path)
    assert loaded.path == snap / "tokenizer.json"
    assert (loaded.eot_id, loaded.pad_id, loaded.name) == (0, VOCAB_SIZE + 2, DEFAULT_TOKENIZER)


def test_missing_tokenizer_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(TokenizerNotFoundError) as err:
        load_tokenizer(DEFAULT_TOKENIZER, hf_home=tmp_path)
    expected = (
        tmp_path / "hub" / "models--EleutherAI--gpt-neox-20b" / "snapshots" / "<revision>" / "tokenizer.json"
    )
    assert str(expected) in str(err.value)
    assert "nothing is downloaded" in str(err.value)


def test_missing_local_path_is_named(tmp_path: Path) -> None:
    with pytest.raises(TokenizerNotFoundError, match="no tokenizer file at"):
        load_tokenizer(str(tmp_path / "nope" / "tokenizer.json"))
