"""The demo's held-out evaluation data: pages the model never trained on, as perplexity shards and a cloze task.

Why a separate seed instead of a split of the pool: the pool flows through the filters, dedup and the global
shuffle, so a split would have to be threaded through every asset. Good articles generated under their own seed
(``HELDOUT_SEED``) come from the same distribution as the pool's good pages, yet none of them is in the pool:
pages whose normalized text equals a pool page are dropped (``disjoint_texts``), so the check does not rest on
the seeds alone.

Outputs under ``<home>/demo/heldout``: ``pages.jsonl.zst``, ``perplexity/`` (open_lm shards + manifest, only full
2049-token contexts so PAD never counts in the loss), ``demo_cloze.jsonl`` and ``demo_cloze.yaml`` (the task
entry for ``evaluate_checkpoint(extra_tasks=...)``). A marker records what they were built from; a rerun with the
same inputs reuses them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from itertools import islice
from typing import Any

from dclm_resources.demo.cloze import DEFAULT_MAX_CONTEXT_WORDS, cloze_examples, write_cloze_task
from dclm_resources.demo.resources import demo_dir
from dclm_resources.layout import Layout
from dclm_resources.pools.reference import read_reference_inputs
from dclm_resources.pools.sample import SamplePoolSpec, generate_pages
from dclm_resources.storage import Storage, join_uri, read_jsonl, write_jsonl
from dclm_resources.tokenization import (
    ShardWriter,
    load_tokenizer,
    pack_texts,
    tokenized_dataset_reference,
    write_manifest,
    write_tokenized_reference,
)

HELDOUT_SEED = 777001
DEFAULT_HELDOUT_PAGES = 400  # good pages (about 250k tokens with the demo BPE)
DEFAULT_CLOZE_LIMIT = 250
DEFAULT_PERPLEXITY_SEQUENCES = 48  # about 98k target tokens: a stable mean loss, seconds to score on 2 cores
CONTEXT_TOKENS = 2048  # open_lm / DCLM contexts: 2049 tokens
_MARKER = "heldout.json"


@dataclass(frozen=True)
class HeldOut:
    """Where the held-out data is and how much of it there is."""

    folder: str
    pages_uri: str
    pages: int
    excluded_overlaps: int
    perplexity_data: str  # the manifest.jsonl of the shards
    perplexity_sequences: int
    cloze_data: str
    cloze_task_yaml: str
    cloze_examples: int
    fingerprint: str = ""  # of the inputs: changes whenever the files' contents would
    reused: bool = False  # True when an earlier build with the same inputs was returned

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def heldout_dir(layout: Layout) -> str:
    return join_uri(demo_dir(layout), "heldout")


def text_key(text: str) -> str:
    """Identity of a page for the overlap check: md5 of its whitespace-normalized, lowercased text."""
    return hashlib.md5(" ".join(text.lower().split()).encode("utf-8")).hexdigest()


def pool_text_keys(reference_uri: str, storage: Storage) -> set[str]:
    """``text_key`` of every page of a raw pool (streamed shard by shard)."""
    _, shards = read_reference_inputs(reference_uri, storage)
    return {text_key(page.get("text", "")) for shard in shards for page in read_jsonl(shard, storage)}


def disjoint_texts(texts: Iterable[str], exclude: set[str]) -> Iterator[tuple[str, bool]]:
    """Each text with ``True`` when it is kept (not in ``exclude``), ``False`` when it overlaps."""
    for text in texts:
        yield text, text_key(text) not in exclude


def heldout_texts(count: int, exclude: set[str], seed: int = HELDOUT_SEED) -> tuple[list[str], int]:
    """``count`` good articles under ``seed`` that are not in ``exclude``; also how many overlaps were dropped."""
    kept: list[str] = []
    dropped = 0
    spec = SamplePoolSpec(num_pages=max(3 * count + 50, 100), seed=seed)
    goods = (p["text"] for p in generate_pages(spec) if p["metadata"].get("sample_kind") == "good")
    for text, ok in disjoint_texts(goods, exclude):
        if len(kept) >= count:
            break
        if ok:
            kept.append(text)
        else:
            dropped += 1
    if len(kept) < count:
        raise ValueError(f"the held-out generator gave {len(kept)} pages not in the pool, {count} were asked for")
    return kept, dropped


def write_perplexity_shards(
    texts: list[str], tokenizer_path: str, output_uri: str, storage: Storage, max_sequences: int | None = None
) -> int:
    """Pack ``texts`` into open_lm shards (full 2049-token contexts only, at most ``max_sequences``); returns the
    number of sequences. Earlier tars in ``output_uri`` are removed first."""
    tok = load_tokenizer(tokenizer_path)
    full = (c for c in pack_texts(texts, tok, seq_len=CONTEXT_TOKENS) if not (c == tok.pad_id).any())
    if storage.exists(output_uri):
        for old in storage.list_files(output_uri, suffixes=(".tar",), recursive=False):
            storage.delete(old.uri)
    writer = ShardWriter(output_uri, storage)
    records = writer.write(islice(full, max_sequences))
    sequences = sum(r.num_sequences for r in records)
    if sequences == 0:
        raise ValueError(f"{output_uri}: the held-out pages fill no full {CONTEXT_TOKENS + 1}-token context")
    write_manifest(output_uri, records, storage)
    reference = tokenized_dataset_reference("demo_heldout", output_uri, records, tok.name, seq_len=CONTEXT_TOKENS)
    reference["tokenizer_path"] = str(tok.path)
    write_tokenized_reference(join_uri(output_uri, "demo_heldout.json"), reference, storage)
    return sequences


def _fingerprint(path: str) -> str:
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def prepare_heldout(
    layout: Layout,
    tokenizer_path: str,
    pool_reference: str,
    storage: Storage | None = None,
    *,
    pages: int = DEFAULT_HELDOUT_PAGES,
    cloze_limit: int = DEFAULT_CLOZE_LIMIT,
    max_context_words: int = DEFAULT_MAX_CONTEXT_WORDS,
    perplexity_sequences: int = DEFAULT_PERPLEXITY_SEQUENCES,
) -> HeldOut:
    """Build (or reuse) the held-out pages, perplexity shards and cloze task for a pool and tokenizer.

    ``tokenizer_path``: the ``tokenizer.json`` the model trained with (a local file); ``pool_reference``: the raw
    pool's reference JSON (its pages are excluded).
    """
    from dclm_resources.tokenization.tokenizer import find_tokenizer_file

    storage = storage or Storage()
    folder = heldout_dir(layout)
    tok_file = str(find_tokenizer_file(tokenizer_path))
    wanted = {
        "pages": pages,
        "seed": HELDOUT_SEED,
        "cloze_limit": cloze_limit,
        "max_context_words": max_context_words,
        "perplexity_sequences": perplexity_sequences,
        "tokenizer_sha256": _fingerprint(tok_file),
        "pool_reference_sha256": hashlib.sha256(storage.read_bytes(pool_reference)).hexdigest(),
    }
    marker = join_uri(folder, _MARKER)
    if storage.exists(marker):
        try:
            done = json.loads(storage.read_text(marker))
        except json.JSONDecodeError:
            done = {}
        if done.get("inputs") == wanted and all(storage.exists(u) for u in _outputs(folder)):
            return HeldOut(**{**done["result"], "reused": True})
    texts, dropped = heldout_texts(pages, pool_text_keys(pool_reference, storage))
    pages_uri = join_uri(folder, "pages.jsonl.zst")
    write_jsonl(({"text": t, "source": "demo_heldout"} for t in texts), pages_uri, storage)
    shards_uri = join_uri(folder, "perplexity")
    sequences = write_perplexity_shards(texts, tok_file, shards_uri, storage, perplexity_sequences)
    cloze_data, cloze_yaml = join_uri(folder, "demo_cloze.jsonl"), join_uri(folder, "demo_cloze.yaml")
    count = write_cloze_task(cloze_examples(texts, cloze_limit, max_context_words), cloze_data, cloze_yaml, storage)
    result = HeldOut(
        folder=folder, pages_uri=pages_uri, pages=len(texts), excluded_overlaps=dropped,
        perplexity_data=join_uri(shards_uri, "manifest.jsonl"), perplexity_sequences=sequences,
        cloze_data=cloze_data, cloze_task_yaml=cloze_yaml, cloze_examples=count,
        fingerprint=hashlib.sha256(json.dumps(wanted, sort_keys=True).encode()).hexdigest()[:16],
    )
    storage.write_text(marker, json.dumps({"inputs": wanted, "result": result.to_dict()}, indent=2) + "\n")
    return result


def _outputs(folder: str) -> list[str]:
    return [join_uri(folder, name) for name in
            ("pages.jsonl.zst", "perplexity/manifest.jsonl", "demo_cloze.jsonl", "demo_cloze.yaml")]
