"""The tokenizer a run uses: the named pretrained one when its file is here, else a BPE trained on a dataset.

DCLM tokenizes with GPT-NeoX-20B. Offline, its ``tokenizer.json`` is usually absent, so the project can train a
byte-level BPE on a dataset it already has; the choice and its origin are recorded next to the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from dclm_resources.pools.rawpool import resolve_inputs
from dclm_resources.storage import JSONL_SUFFIXES, Storage, read_jsonl
from dclm_resources.tokenization.tokenizer import (
    LoadedTokenizer,
    TokenizerNotFoundError,
    load_tokenizer,
    train_bpe_tokenizer,
)


@dataclass(frozen=True)
class ProvidedTokenizer:
    tokenizer: LoadedTokenizer
    origin: str  # "pretrained" or "trained"
    path: str
    trained_on: str | None = None
    documents: int = 0


def iter_texts(source: str, storage: Storage, max_documents: int) -> Iterator[str]:
    """Page texts of a raw pool / dataset (reference JSON, folder, prefix or file), in shard order."""
    shards = [u for u in resolve_inputs(source, storage) if u.lower().endswith(JSONL_SUFFIXES)]
    if not shards:
        raise ValueError(f"{source}: no JSONL shards to train a tokenizer on")
    pages = (p for shard in shards for p in read_jsonl(shard, storage))
    texts = (p["text"] for p in pages if isinstance(p.get("text"), str) and p["text"].strip())
    return islice(texts, max_documents)


def provide_tokenizer(
    name: str,
    output_dir: str,
    *,
    training_texts: Iterable[str] | None = None,
    training_source: str | None = None,
    vocab_size: int = 8192,
) -> ProvidedTokenizer:
    """Load ``name`` (path, folder or HF-cache name); if absent and texts are given, train a BPE into ``output_dir``.

    A BPE trained earlier into ``output_dir`` from the same source and vocabulary size is reused as it is.
    """
    try:
        loaded = load_tokenizer(name)
        return ProvidedTokenizer(loaded, "pretrained", str(loaded.path))
    except TokenizerNotFoundError:
        if training_texts is None:
            raise
    folder = Path(output_dir)
    origin_file = folder / "tokenizer_origin.json"
    origin = {"trained_on": training_source, "vocab_size": vocab_size, "instead_of": name}
    if origin_file.exists() and json.loads(origin_file.read_text()).get("recipe") == origin:
        loaded = load_tokenizer(str(folder))
        record = json.loads(origin_file.read_text())
        return ProvidedTokenizer(loaded, "trained", str(loaded.path), training_source, record["documents"])
    counted = _Counted(training_texts)
    loaded = train_bpe_tokenizer(counted, folder, vocab_size=vocab_size, name=f"dclm-bpe-{vocab_size}")
    origin_file.write_text(json.dumps({"recipe": origin, "documents": counted.n}, indent=2) + "\n")
    return ProvidedTokenizer(loaded, "trained", str(loaded.path), training_source, counted.n)


class _Counted:
    def __init__(self, items: Iterable[str]) -> None:
        self._items = items
        self.n = 0

    def __iter__(self) -> Iterator[str]:
        for item in self._items:
            self.n += 1
            yield item
