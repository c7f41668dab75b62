"""Fixtures: small real open_lm shards (C4 sample, project BPE) and tiny scale recipes for fast CPU runs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from dclm_resources.tokenization import (
    LoadedTokenizer,
    ShardWriter,
    pack_texts,
    tokenized_dataset_reference,
    write_manifest,
    write_tokenized_reference,
)
from dclm_tests.tokenization.conftest import bpe, bpe_dir, c4_texts  # noqa: F401 - fixtures reused here

SEQUENCES_PER_SHARD = 24
TINY_SCALE = """\
name: {name}
model_json_name: open_lm_tiny_test
model:
  hidden_dim: 32
  n_layers: 2
  n_heads: 2
  seq_len: 64
  vocab_size: auto
  ffn_type: swiglu_torch
  model_norm: gain_only_lp_layer_norm
  qk_norm: true
  positional_embedding_type: rotary
chinchilla_multiplier: 1
tokens: {tokens}
warmup: 3
lr: 3.0e-3
wd: 0.033
beta2: 0.95
cd: 3.0e-5
global_bs: {global_bs}
acc: {acc}
z_loss: 1.0e-4
grad_clip_norm: 1.0
seed: 124
precision: fp32
num_checkpoints: 2
multiple_data_passes: {passes}
"""


@dataclass(frozen=True)
class Shards:
    """A tokenized dataset on disk: its folder, reference JSON, manifest and contexts."""

    root: Path
    reference: Path
    manifest: Path
    contexts: list
    tokenizer_dir: Path


def make_shards(out: Path, contexts: list, tokenizer_dir: Path, per_shard: int = SEQUENCES_PER_SHARD) -> Shards:
    records = ShardWriter(str(out), sequences_per_shard=per_shard).write(contexts)
    manifest = write_manifest(str(out), records)
    reference = tokenized_dataset_reference("c4_test_tokshuf", str(out), records, str(tokenizer_dir))
    ref_path = out / "c4_test_tokshuf.json"
    write_tokenized_reference(str(ref_path), reference)
    return Shards(out, ref_path, Path(manifest), contexts, tokenizer_dir)


@pytest.fixture(scope="session")
def c4_contexts(bpe: LoadedTokenizer, c4_texts: list[str]) -> list:  # noqa: F811
    """2049-token contexts packed from the first 400 C4 documents."""
    return list(pack_texts(c4_texts[:400], bpe))


@pytest.fixture(scope="session")
def shards(tmp_path_factory: pytest.TempPathFactory, c4_contexts: list, bpe_dir: Path) -> Shards:  # noqa: F811
    return make_shards(tmp_path_factory.mktemp("shards"), c4_contexts, bpe_dir)


def write_scale(
    folder: Path, name: str = "tiny", tokens: int = 20 * 8 * 64, global_bs: int = 8, acc: int = 1,
    passes: bool = False,
) -> Path:
    """A tiny recipe YAML (d 32, 2 layers, seq 64): steps = tokens / (global_bs * 64)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(
        TINY_SCALE.format(name=name, tokens=tokens, global_bs=global_bs, acc=acc, passes=str(passes).lower())
    )
    return path


def read_json(path: Path | str) -> dict:
    return json.loads(Path(path).read_text())
