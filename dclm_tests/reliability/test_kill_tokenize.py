"""SIGKILL a real ``dclm tokenize`` run (CLI, its Ray, every worker); the rerun's shards are byte-identical to an
uninterrupted run's.

Kill points: ``stage2_partial_tars`` (some tars written, the manifest not yet: the commit point of a tokenized
dataset is its manifest) and ``stage1_spill`` (some files tokenized into the hidden spill folder, others not).
The input is the processed output of the reference ``dclm process`` run: process, then tokenize, as in DCLM.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from dclm_tests.reliability import procs
from dclm_tests.reliability.conftest import Reference

SEQ_LEN, PER_SHARD = 128, 200


def _args(ref: Reference, tokenizer: Path, out: Path) -> list[str]:
    return ["tokenize", "--input", str(ref.out / "processed_data"), "--output", str(out), "--tokenizer",
            str(tokenizer), "--seq-len", str(SEQ_LEN), "--sequences-per-shard", str(PER_SHARD), "--seed", "7",
            "--workers", "2"]


def stage2_partial_tars(out: Path) -> bool:
    try:
        names = os.listdir(out)
    except OSError:
        return False
    return any(n.endswith(".tar") for n in names) and "manifest.jsonl" not in names


def stage1_spill(out: Path) -> bool:
    try:
        files = [n for _, _, names in os.walk(out / ".spill") for n in names if n.endswith(".npy")]
    except OSError:
        return False
    return bool(files) and not any(n.endswith(".tar") for n in os.listdir(out))


def _shards(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.suffix == ".tar" or p.name == "manifest.jsonl"}


@pytest.fixture(scope="module")
def uninterrupted(reference: Reference, tokenizer_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tok_ref") / "out"
    code, run = procs.run(_args(reference, tokenizer_dir, out), out.parent / "logs")
    assert code == 0, run.stderr()[-3000:]
    assert len([n for n in _shards(out) if n.endswith(".tar")]) >= 5  # enough tars for a kill between them
    return out


def _kill_then_rerun(reference: Reference, tokenizer: Path, expected: Path, tmp_path: Path,
                     points: list[Callable[[Path], bool]]) -> None:
    out = tmp_path / "out"
    for point in points:
        run = procs.start(_args(reference, tokenizer, out), tmp_path / "logs", tag=point.__name__)
        assert procs.kill_when(run, lambda p=point: p(out), poll=0.001), f"the run ended before {point.__name__}"
        assert point(out)
    code, run = procs.run(_args(reference, tokenizer, out), tmp_path / "logs", tag="rerun")
    assert code == 0, run.stderr()[-3000:]
    want, got = _shards(expected), _shards(out)
    assert sorted(got) == sorted(want)
    for name in want:
        assert got[name] == want[name], f"{name} differs from the uninterrupted run"
    assert not (out / ".spill").exists(), "the spill folder is removed after a successful run"


@pytest.mark.timeout(300)
def test_sigkill_tokenize_mid_shard_writing_then_rerun_is_byte_identical(reference, tokenizer_dir, uninterrupted,
                                                                          tmp_path):
    _kill_then_rerun(reference, tokenizer_dir, uninterrupted, tmp_path, [stage2_partial_tars])


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_sigkill_tokenize_in_stage1_then_rerun_is_byte_identical(reference, tokenizer_dir, uninterrupted, tmp_path):
    _kill_then_rerun(reference, tokenizer_dir, uninterrupted, tmp_path, [stage1_spill])
