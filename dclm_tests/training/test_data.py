"""Data order: manifest reading, seeded shard order per pass, window cutting, world-size invariance, resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dclm_resources.storage import Storage
from dclm_resources.tokenization import ShardWriter, write_manifest
from dclm_resources.training import BatchLoader, DataError, resolve_data, shard_order

CONTEXT_LEN = 129
PER_SHARD = 5
NUM_CONTEXTS = 23  # shards of 5, 5, 5, 5, 3


def _contexts(n: int = NUM_CONTEXTS, length: int = CONTEXT_LEN) -> list[np.ndarray]:
    return [(np.arange(length) + i * length) % 1000 for i in range(n)]


@pytest.fixture()
def synthetic(tmp_path: Path) -> Path:
    records = ShardWriter(str(tmp_path), sequences_per_shard=PER_SHARD).write(_contexts())
    write_manifest(str(tmp_path), records)
    return tmp_path


def _loader(folder: Path, **kwargs) -> BatchLoader:
    args = {"seed": 7, "seq_len": 32, "context_len": CONTEXT_LEN, "vocab_size": 1000, "global_batch": 8,
            "prefetch": 0}
    args.update(kwargs)
    return BatchLoader(resolve_data(str(folder)), Storage(), **args)


def _expected_stream(seed: int, seq_len: int, passes: int) -> list[np.ndarray]:
    """The documented order, computed independently: shards by default_rng(seed + pass), windows in order."""
    contexts = _contexts()
    shards = [contexts[i : i + PER_SHARD] for i in range(0, NUM_CONTEXTS, PER_SHARD)]
    out: list[np.ndarray] = []
    for p in range(passes):
        for s in np.random.default_rng(seed + p).permutation(len(shards)):
            for ctx in shards[s]:
                for w in range((CONTEXT_LEN - 1) // seq_len):
                    out.append(ctx[w * seq_len : w * seq_len + seq_len + 1])
    return out


def _take(loader: BatchLoader, n: int) -> list:
    out = []
    for batch in loader:
        out.append(batch)
        if len(out) == n:
            break
    return out


def test_order_and_windows_match_the_documented_stream(synthetic: Path) -> None:
    batches = _take(_loader(synthetic), 11)  # 88 of the 92 windows of one pass
    got = np.concatenate([b.tokens for b in batches])
    expected = np.stack(_expected_stream(7, 32, 1)[:88])
    assert got.shape == (88, 33)
    np.testing.assert_array_equal(got, expected)
    # Neighbouring windows of one context share exactly one token: every target is predicted once.
    assert got[0, -1] == got[1, 0]
    assert list(shard_order(5, 7, 0)) == list(np.random.default_rng(7).permutation(5))


def test_windows_drop_the_remainder_when_seq_len_does_not_divide(synthetic: Path) -> None:
    batch = _take(_loader(synthetic, seq_len=50, global_batch=4), 1)[0]
    first = _contexts()[int(shard_order(5, 7, 0)[0]) * PER_SHARD]
    np.testing.assert_array_equal(batch.tokens[0], first[0:51])
    np.testing.assert_array_equal(batch.tokens[1], first[50:101])  # 2 windows; tokens 101..128 unused
    np.testing.assert_array_equal(batch.tokens[2], _contexts()[int(shard_order(5, 7, 0)[0]) * PER_SHARD + 1][0:51])


@pytest.mark.parametrize("world_size", [2, 4])
def test_global_batches_do_not_depend_on_world_size(synthetic: Path, world_size: int) -> None:
    single = [b.tokens for b in _take(_loader(synthetic, multiple_passes=True), 15)]
    per_rank = [
        _take(_loader(synthetic, rank=r, world_size=world_size, multiple_passes=True), 15) for r in range(world_size)
    ]
    for k in range(15):
        np.testing.assert_array_equal(np.concatenate([per_rank[r][k].tokens for r in range(world_size)]), single[k])
        assert len({per_rank[r][k].position for r in range(world_size)}) == 1  # every rank agrees on the position


def test_resume_from_a_position_continues_the_same_stream(synthetic: Path) -> None:
    straight = _take(_loader(synthetic, multiple_passes=True, prefetch=2), 20)
    for cut in (3, 5, 11, 12):  # mid-shard, shard boundary, across the pass boundary
        position = straight[cut - 1].position
        resumed = _take(_loader(synthetic, multiple_passes=True, position=position), 20 - cut)
        for a, b in zip(straight[cut:], resumed, strict=True):
            np.testing.assert_array_equal(a.tokens, b.tokens)
            assert a.position == b.position


def test_second_pass_reshuffles_and_positions_count_shards_across_passes(synthetic: Path) -> None:
    batches = _take(_loader(synthetic, multiple_passes=True), 20)
    got = np.concatenate([b.tokens for b in batches])
    np.testing.assert_array_equal(got, np.stack(_expected_stream(7, 32, 2)[:160]))
    last = batches[-1].position
    assert last.samples_seen == 160 and last.pass_index(5) == 1 and last.next_shard >= 5


def test_one_pass_only_raises_a_clear_error_when_data_runs_out(synthetic: Path) -> None:
    with pytest.raises(DataError, match="ran out of data after one pass"):
        _take(_loader(synthetic), 12)  # 92 windows, the 12th batch needs 96


def test_token_id_outside_vocab_names_shard_and_sample(synthetic: Path) -> None:
    with pytest.raises(DataError, match=r"shard_0000000\d\.tar: sample \d+_\d+ holds token id \d+, outside"):
        _take(_loader(synthetic, vocab_size=500), 12)


def test_negative_ids_wrap_modulo_vocab(tmp_path: Path) -> None:
    contexts = [np.full(CONTEXT_LEN, -1)]
    write_manifest(str(tmp_path), ShardWriter(str(tmp_path)).write(contexts))
    batch = _take(_loader(tmp_path, global_batch=4), 1)[0]
    assert (batch.tokens == 999).all()


def test_manifest_count_mismatch_is_an_error(synthetic: Path) -> None:
    manifest = synthetic / "manifest.jsonl"
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    rows[-1]["num_sequences"] += 1
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(DataError, match="holds 3 samples but the manifest .* says 4"):
        _take(_loader(synthetic), 12)  # the manifest now promises 96 windows: every shard gets read


def test_manifest_errors_name_file_and_line(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.jsonl"
    cases = {
        '{"shard": "a", "num_sequences": 3}\n{"shard": "b", "num_sequences": 3\n': r"manifest\.jsonl:2: invalid JSON",
        '{"shard": "a", "num_sequences": 3}\n{"num_sequences": 3}\n': r"manifest\.jsonl:2: missing or empty \"shard\"",
        '{"shard": "a", "num_sequences": -1}\n': r"manifest\.jsonl:1: \"num_sequences\" must be",
        '{"shard": "a", "num_sequences": 1}\n{"shard": "a", "num_sequences": 1}\n': r"manifest\.jsonl:2: shard 'a' already",
    }
    for text, pattern in cases.items():
        manifest.write_text(text)
        with pytest.raises(DataError, match=pattern):
            resolve_data(str(manifest))
    with pytest.raises(DataError, match="manifest not found"):
        resolve_data(str(tmp_path / "nowhere"))


def test_missing_shard_is_reported_before_training(synthetic: Path) -> None:
    (synthetic / "shard_00000002.tar").unlink()
    with pytest.raises(DataError, match=r"manifest\.jsonl:3: shard 'shard_00000002' is missing"):
        resolve_data(str(synthetic))
    source = resolve_data(str(synthetic), check_files=False)
    loader = BatchLoader(source, Storage(), seed=7, seq_len=32, context_len=CONTEXT_LEN, vocab_size=1000,
                         global_batch=8, prefetch=1)
    with pytest.raises(DataError, match="shard_00000002.*cannot be read"):
        _take(loader, 12)


def test_reference_json_manifest_and_folder_resolve_alike(shards) -> None:  # noqa: ANN001
    by_ref = resolve_data(str(shards.reference))
    by_manifest = resolve_data(str(shards.manifest))
    by_folder = resolve_data(str(shards.root))
    assert by_ref.shards == by_manifest.shards == by_folder.shards
    assert by_ref.dataset_name == "c4_test_tokshuf" and by_ref.tokenizer == str(shards.tokenizer_dir)
    assert by_ref.dataset_uuid and by_manifest.dataset_uuid is None
    assert by_ref.num_sequences == len(shards.contexts)
