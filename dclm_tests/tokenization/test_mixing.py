"""Mixing YAML parsing, file-to-source resolution, and realized up/down-sampling on real text."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from dclm_resources.compute import ray_session
from dclm_resources.tokenization import LoadedTokenizer, check_manifest, iter_tar_contexts, pack_texts
from dclm_resources.tokenization.mixing import (
    UNKNOWN_SOURCE,
    MixingSpec,
    parse_mixing,
    repeat_counts,
    resolve_inputs,
)
from dclm_resources.tokenization.shuffle import tokenize_shuffle
from dclm_tests.paths import shared_data

SEQ_LEN = 128
OPEN_LM_DEFAULT = """
sources:
  - source: COMMON_CRAWL
    markers: [common_crawl, cc_en]
  - source: C4
    markers: [c4]
  - source: UNKNOWN
    markers: []
sampling_frequencies:
  COMMON_CRAWL: 0.9233485194
  C4: 1.037142857
  UNKNOWN: 0
"""


def test_parse_open_lm_format_and_markers() -> None:
    spec = parse_mixing(OPEN_LM_DEFAULT)
    assert [s.name for s in spec.sources] == ["COMMON_CRAWL", "C4", "UNKNOWN"]
    assert spec.sources[1].frequency == pytest.approx(1.037142857)
    assert spec.source_for("s3://b/rpj/c4/part-0.jsonl").name == "C4"
    assert spec.source_for("s3://b/cc_en_head-0091.jsonl").name == "COMMON_CRAWL"
    unknown = spec.source_for("s3://b/books/x.jsonl")
    assert unknown.name == UNKNOWN_SOURCE and unknown.frequency == 0
    assert spec.raw["sampling_frequencies"]["UNKNOWN"] == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sources: 3", "'sources' list"),
        ("sources: [{markers: [a]}]", "'source' name"),
        ("sources: [{source: A}, {source: A}]", "listed twice"),
        ("sources: [{source: A}]\nsampling_frequencies: {A: -1}", ">= 0"),
        ("sources: [{source: A}]\nsampling_frequencies: {A: many}", "not a number"),
        ("sources: [{source: A}]\nsampling_frequencies: {B: 1}", "unknown sources"),
    ],
)
def test_parse_errors_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_mixing(text)


def test_repeat_counts_up_and_down() -> None:
    rng = np.random.default_rng(0)
    assert repeat_counts(5, 2.0, rng).tolist() == [2] * 5
    assert repeat_counts(5, 0.0, rng).tolist() == [0] * 5
    up = repeat_counts(100_000, 1.3, rng)
    assert set(up.tolist()) == {1, 2} and up.mean() == pytest.approx(1.3, abs=0.01)
    down = repeat_counts(100_000, 0.25, rng)
    assert down.mean() == pytest.approx(0.25, abs=0.01)
    again = repeat_counts(1000, 0.5, np.random.default_rng(3))
    assert again.tolist() == repeat_counts(1000, 0.5, np.random.default_rng(3)).tolist()


@pytest.fixture(scope="module")
def mix_dirs(tmp_path_factory: pytest.TempPathFactory, c4_texts: list[str]) -> dict[str, list[str]]:
    """c4/ (explicit inputs), pool/cc_en_head-*.jsonl (real Dolma CCNet, marker-matched), pool/other.jsonl."""
    root = tmp_path_factory.mktemp("mix")
    (root / "c4").mkdir()
    (root / "pool").mkdir()
    (root / "c4" / "c4_part.jsonl").write_text(
        "".join(json.dumps({"text": t}) + "\n" for t in c4_texts[:300])
    )
    cc_src = shared_data("web", "jsonl", "dolma_ccnet_head", "cc_en_head-0091.jsonl")
    (root / "pool" / "cc_en_head-0091.jsonl").write_bytes(cc_src.read_bytes())
    (root / "pool" / "other.jsonl").write_text(
        "".join(json.dumps({"text": t}) + "\n" for t in c4_texts[300:350])
    )
    return {"root": [str(root)], "c4": c4_texts[:300]}


def _spec(root: str, cc_freq: float, c4_freq: float) -> MixingSpec:
    return parse_mixing(
        f"""
sources:
  - source: C4
    inputs: ["{root}/c4"]
  - source: COMMON_CRAWL
    markers: [cc_en_head]
  - source: UNKNOWN
    markers: []
sampling_frequencies: {{C4: {c4_freq}, COMMON_CRAWL: {cc_freq}, UNKNOWN: 0}}
inputs: ["{root}/pool"]
"""
    )


def test_resolve_inputs(mix_dirs: dict[str, list[str]], tmp_path: Path) -> None:
    root = mix_dirs["root"][0]
    files = resolve_inputs(_spec(root, 0.5, 2), None)
    assert [(Path(f.uri).name, f.source, f.frequency) for f in files] == [
        ("c4_part.jsonl", "C4", 2.0),
        ("cc_en_head-0091.jsonl", "COMMON_CRAWL", 0.5),
        ("other.jsonl", "UNKNOWN", 0.0),
    ]
    plain = resolve_inputs([f"{root}/c4", f"{root}/pool"])
    assert [f.source for f in plain] == ["c4", "pool", "pool"]
    with pytest.raises(ValueError, match="listed twice"):
        resolve_inputs([f"{root}/pool", f"{root}/pool/other.jsonl"])
    with pytest.raises(ValueError, match="no JSONL files"):
        resolve_inputs([str(tmp_path)])


@pytest.fixture(scope="module")
def ray_local() -> Iterator[None]:
    with ray_session(num_cpus=2):
        yield


def test_mixing_frequencies_realized(
    ray_local: None, mix_dirs: dict[str, list[str]], bpe: LoadedTokenizer, tmp_path: Path
) -> None:
    root = mix_dirs["root"][0]
    c4_contexts = list(pack_texts(mix_dirs["c4"], bpe, SEQ_LEN))
    c4_tokens = sum(int((c != bpe.pad_id).sum()) for c in c4_contexts)
    cc_texts = [
        json.loads(line)["text"]
        for line in (Path(root) / "pool" / "cc_en_head-0091.jsonl").read_text().splitlines()
    ]
    cc_contexts = list(pack_texts(cc_texts, bpe, SEQ_LEN))

    spec = _spec(root, 0.5, 2)
    out = tmp_path / "mixed"
    summary = tokenize_shuffle(
        spec, str(out), str(bpe.path.parent), seq_len=SEQ_LEN, sequences_per_shard=100, seed=3, progress=False
    )
    c4, cc, unknown = (summary.per_source[k] for k in ("C4", "COMMON_CRAWL", UNKNOWN_SOURCE))
    # Integer frequency: exactly twice every context and token.
    assert c4.sequences == 2 * len(c4_contexts) and c4.tokens == 2 * c4_tokens == 2 * c4.input_tokens
    # Fractional: a binomial draw around half (5 standard deviations).
    n = len(cc_contexts)
    assert abs(cc.sequences - n / 2) <= 5 * (n * 0.25) ** 0.5 and 0 < cc.sequences < n
    assert unknown.files == 1 and unknown.sequences == 0 and unknown.tokens == 0 and unknown.documents == 50
    assert summary.sequences == c4.sequences + cc.sequences
    assert summary.tokens == c4.tokens + cc.tokens

    # What the shards hold: each C4 context twice, each kept CC context once, nothing from UNKNOWN.
    back = Counter(
        np.asarray(t, dtype=np.int32).tobytes()
        for tar in sorted(out.glob("*.tar"))
        for _, t in iter_tar_contexts(str(tar))
    )
    c4_set = Counter(c.tobytes() for c in c4_contexts)
    cc_set = Counter(c.tobytes() for c in cc_contexts)
    assert all(back[k] == 2 * v for k, v in c4_set.items())
    assert all(k in cc_set and back[k] <= cc_set[k] for k in back if k not in c4_set)
    assert sum(v for k, v in back.items() if k not in c4_set) == cc.sequences
    assert check_manifest(str(out), context_len=SEQ_LEN + 1).ok
    assert json.loads((out / "mixed.json").read_text())["sampling_yaml"] == spec.raw
