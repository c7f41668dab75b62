"""Read open_lm shards back: a plain-tarfile reader, a ``webdataset`` reader, text decoding, manifest checks.

Why two readers: the tarfile one follows open_lm's format description exactly (members ``<key>.json.gz``, gzipped
JSON int lists) with no extra dependency; the ``webdataset`` one is what open_lm training actually uses, so a
round trip through it proves the shards load there.
"""

from __future__ import annotations

import gzip
import json
import tarfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from dclm_resources.storage import Storage, join_uri, read_jsonl
from dclm_resources.tokenization.shards import DATA_KEY, MANIFEST_NAME
from dclm_resources.tokenization.tokenizer import LoadedTokenizer


def iter_tar_contexts(tar_uri: str, storage: Storage | None = None) -> Iterator[tuple[str, list[int]]]:
    """(key, tokens) for each ``<key>.json.gz`` member of one tar, in tar order; other members are skipped."""
    with (storage or Storage()).open_read(tar_uri) as fh, tarfile.open(fileobj=fh, mode="r|") as tar:
        for member in tar:
            if not member.isfile():
                continue
            key, _, ext = member.name.partition(".")
            if ext != DATA_KEY:
                continue
            data = tar.extractfile(member)
            assert data is not None
            yield key, json.loads(gzip.decompress(data.read()))


def iter_webdataset_contexts(tar_paths: Sequence[str]) -> Iterator[tuple[str, list[int]]]:
    """(key, tokens) read with the ``webdataset`` package, shards in the given order (local paths or URLs)."""
    import webdataset as wds  # optional at import time: only readers that ask for it need the package

    dataset = wds.WebDataset(list(tar_paths), shardshuffle=False, empty_check=False).decode()
    for sample in dataset:
        yield sample["__key__"], list(sample[DATA_KEY])


def decode_contexts(contexts: Iterable[Sequence[int] | np.ndarray], tokenizer: LoadedTokenizer) -> list[str]:
    """Texts of the documents in packed contexts: streams are joined, split at EOT, PAD dropped.

    Why join first: a document spans context boundaries, and a cut inside a multi-byte character only decodes
    correctly once both halves are together. A trailing piece without EOT (none in open_lm output) is kept.
    """
    eot, pad = tokenizer.eot_id, tokenizer.pad_id
    docs: list[list[int]] = []
    current: list[int] = []
    for context in contexts:
        for token in np.asarray(context).tolist():
            if token == pad:
                continue
            if token == eot:
                docs.append(current)
                current = []
            else:
                current.append(token)
    if current:
        docs.append(current)
    return tokenizer.tokenizer.decode_batch(docs, skip_special_tokens=False)


@dataclass
class ManifestCheck:
    """Outcome of ``check_manifest``; ``ok`` when every manifest count matches its tar and nothing is missing."""

    manifest: dict[str, int] = field(default_factory=dict)
    counted: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def num_sequences(self) -> int:
        return sum(self.counted.values())


def check_manifest(
    dir_uri: str, storage: Storage | None = None, context_len: int | None = None
) -> ManifestCheck:
    """Compare ``manifest.jsonl`` with the tars in ``dir_uri`` (counts; lengths too when ``context_len`` is given)."""
    storage = storage or Storage()
    result = ManifestCheck()
    for row in read_jsonl(join_uri(dir_uri, MANIFEST_NAME), storage):
        count = row.get("num_sequences", row.get("num_chunks"))
        if row.get("shard") in result.manifest:
            result.problems.append(f"shard {row.get('shard')} listed twice")
        result.manifest[str(row.get("shard"))] = int(count) if count is not None else -1
    for info in storage.list_files(dir_uri, suffixes=(".tar",), recursive=False):
        name = info.uri.rsplit("/", 1)[-1][: -len(".tar")]
        n = 0
        for key, tokens in iter_tar_contexts(info.uri, storage):
            n += 1
            if context_len is not None and len(tokens) != context_len:
                result.problems.append(f"{name}/{key}: {len(tokens)} tokens, expected {context_len}")
        result.counted[name] = n
    for name, count in result.manifest.items():
        if name not in result.counted:
            result.problems.append(f"manifest shard {name} has no tar")
        elif result.counted[name] != count:
            result.problems.append(f"{name}: manifest says {count}, tar holds {result.counted[name]}")
    for name in result.counted:
        if name not in result.manifest:
            result.problems.append(f"tar {name}.tar is not in the manifest")
    return result
