"""open_lm shards: reproducible bytes, manifest counts, reference JSON, webdataset round trip back to the text."""

from __future__ import annotations

import gzip
import hashlib
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from dclm_resources.storage import Storage
from dclm_resources.tokenization import (
    LoadedTokenizer,
    PackStats,
    ShardWriter,
    check_manifest,
    decode_contexts,
    iter_tar_contexts,
    iter_webdataset_contexts,
    pack_texts,
    tokenized_dataset_reference,
    write_manifest,
    write_tokenized_reference,
)


def _write(out: Path, contexts: list[np.ndarray], per_shard: int = 64) -> list:
    records = ShardWriter(str(out), sequences_per_shard=per_shard).write(contexts)
    write_manifest(str(out), records)
    return records


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_shard_layout_and_reproducible_bytes(
    tmp_path: Path, bpe: LoadedTokenizer, c4_texts: list[str]
) -> None:
    contexts = list(pack_texts(c4_texts, bpe))
    records = _write(tmp_path / "a", contexts)
    _write(tmp_path / "b", contexts)
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")
    assert [r.shard for r in records] == [f"shard_{i:08d}" for i in range(len(records))]
    assert [r.num_sequences for r in records[:-1]] == [64] * (len(records) - 1)
    assert sum(r.num_sequences for r in records) == len(contexts)
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == ["manifest.jsonl"] + [f"{r.shard}.tar" for r in records]
    lines = (tmp_path / "a" / "manifest.jsonl").read_text().splitlines()
    assert json.loads(lines[0]) == {"shard": "shard_00000000", "num_sequences": 64}
    with tarfile.open(tmp_path / "a" / "shard_00000000.tar") as tar:
        member = tar.getmembers()[0]
        assert member.name == "00000000_00000000.json.gz" and member.mtime == 0
        assert json.loads(gzip.decompress(tar.extractfile(member).read())) == contexts[0].tolist()


def test_manifest_check_catches_mismatch(tmp_path: Path, bpe: LoadedTokenizer, c4_texts: list[str]) -> None:
    contexts = list(pack_texts(c4_texts[:200], bpe, seq_len=1024))
    _write(tmp_path, contexts, per_shard=50)
    check = check_manifest(str(tmp_path), context_len=1025)
    assert check.ok, check.problems
    assert check.num_sequences == len(contexts)
    manifest = tmp_path / "manifest.jsonl"
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    rows[0]["num_sequences"] += 1
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows[:-1] + [rows[0]]))
    problems = check_manifest(str(tmp_path)).problems
    assert any("manifest says 51, tar holds 50" in p for p in problems)
    assert any("listed twice" in p for p in problems)
    assert any(rows[-1]["shard"] in p and "not in the manifest" in p for p in problems)


def test_webdataset_round_trip_decodes_to_input(
    tmp_path: Path, bpe: LoadedTokenizer, c4_texts: list[str]
) -> None:
    texts = c4_texts[:400]
    contexts = list(pack_texts(texts, bpe))
    records = _write(tmp_path, contexts, per_shard=40)
    read = list(iter_webdataset_contexts([r.uri for r in records]))
    plain = [kv for r in records for kv in iter_tar_contexts(r.uri)]
    assert read == plain
    assert [tokens for _, tokens in read] == [c.tolist() for c in contexts]
    assert decode_contexts([tokens for _, tokens in read], bpe) == texts


def test_reference_json(tmp_path: Path, bpe: LoadedTokenizer, c4_texts: list[str]) -> None:
    stats = PackStats()
    records = _write(tmp_path, list(pack_texts(c4_texts[:100], bpe, stats=stats)), per_shard=8)
    ref = tokenized_dataset_reference(
        "c4_tok", str(tmp_path), records, tokenizer=bpe.name, sources=[{"uuid": "u1", "name": "c4"}]
    )
    assert ref["num_tokens"] == stats.contexts * 2049
    assert ref["size"] == sum(p.stat().st_size for p in tmp_path.glob("*.tar"))
    assert ref["manifest_url"] == f"{tmp_path}/manifest.jsonl"
    assert (ref["tokenized"], ref["data_key"], ref["sampling_yaml"]) == (True, "json.gz", None)
    assert set(ref) == {
        "uuid", "name", "creation_date", "dataset_url", "manifest_url", "sources", "tokenized", "tokenizer",
        "num_tokens", "size", "dcnlp_commit_hash", "dcnlp_diff", "data_key", "sampling_yaml",
    }  # fmt: skip
    write_tokenized_reference(str(tmp_path / "c4_tok.json"), ref, Storage())
    assert json.loads((tmp_path / "c4_tok.json").read_text()) == ref


def test_shards_on_s3(s3_storage, bpe: LoadedTokenizer, c4_texts: list[str]) -> None:
    storage, root = s3_storage
    contexts = list(pack_texts(c4_texts[:60], bpe, seq_len=512))
    out = f"{root}/tok"
    records = ShardWriter(out, storage, sequences_per_shard=16).write(contexts)
    write_manifest(out, records, storage)
    check = check_manifest(out, storage, context_len=513)
    assert check.ok and check.num_sequences == len(contexts)
    assert [t for r in records for _, t in iter_tar_contexts(r.uri, storage)] == [
        c.tolist() for c in contexts
    ]


def test_failed_shard_leaves_no_tar(tmp_path: Path, bpe: LoadedTokenizer, c4_texts: list[str]) -> None:
    contexts = list(pack_texts(c4_texts[:50], bpe, seq_len=256))

    def broken():
        yield from contexts[:12]
        raise RuntimeError("source died")

    writer = ShardWriter(str(tmp_path), sequences_per_shard=8)
    with pytest.raises(RuntimeError, match="source died"):
        writer.write(broken())
    assert [r.num_sequences for r in writer.records] == [8]  # committed tars stay recorded
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shard_00000000.tar"]
