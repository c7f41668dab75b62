"""Session fixtures of the reliability tests: the real pool, the pipeline, and one uninterrupted reference run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from dclm_resources.compute import ray_session
from dclm_tests.reliability import procs
from dclm_tests.reliability.pool import PIPELINE, process_args, write_pool

POOL_SHARDS = 8


class Reference(NamedTuple):
    pool: Path
    config: Path
    out: Path
    lines_in: dict[str, int]  # input lines per shard name


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """The pool, the pipeline YAML and what an uninterrupted ``dclm process`` makes of them."""
    root = tmp_path_factory.mktemp("reliability_ref")
    pool = root / "pool"
    lines_in = write_pool(pool, POOL_SHARDS)
    config = root / "pipeline.yaml"
    config.write_text(PIPELINE)
    out = root / "out"
    code, run = procs.run(process_args(config, str(pool), str(out)), root / "logs")
    assert code == 0, run.stderr()[-3000:]
    return Reference(pool, config, out, lines_in)


@pytest.fixture(scope="session")
def tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small byte-level BPE trained on the shared C4 pages (about a second)."""
    from dclm_resources.tokenization import train_bpe_tokenizer
    from dclm_tests.reliability.pool import real_pages

    out = tmp_path_factory.mktemp("bpe")
    train_bpe_tokenizer([p["text"] for p in real_pages()[:1000]], out, vocab_size=1024)
    return out


@pytest.fixture(scope="package")
def ray_local() -> Iterator[None]:
    """One local Ray in this process for the in-process runs of this package (``ray_session`` reuses it).

    Package scope: it is shut down after the last reliability test, so other test packages never see it.
    """
    with ray_session(num_cpus=2):
        yield
