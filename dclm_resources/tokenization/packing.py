"""Streaming packer with open_lm/DCLM semantics (``dclm.md`` §4, ``open_lm.md`` §3.2).

Each document is tokenized (no special tokens added), EOT is appended after it (also after an empty document),
the token stream is concatenated across document boundaries and cut into contexts of ``seq_len + 1`` tokens.
Only the final partial context of a stream is padded with PAD; DCLM treats each input file as one stream, so a
caller packs one file per ``pack_texts`` call (or per ``ContextPacker``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

import numpy as np

from dclm_resources.tokenization.tokenizer import LoadedTokenizer

DEFAULT_SEQ_LEN = 2048
DEFAULT_BATCH_SIZE = 512
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass
class PackStats:
    """Running counts; ``tokens`` counts document tokens plus EOTs, never PAD."""

    documents: int = 0
    tokens: int = 0
    contexts: int = 0
    pad_tokens: int = 0

    def add(self, other: PackStats) -> None:
        self.documents += other.documents
        self.tokens += other.tokens
        self.contexts += other.contexts
        self.pad_tokens += other.pad_tokens

    @property
    def padding_fraction(self) -> float:
        total = self.tokens + self.pad_tokens
        return self.pad_tokens / total if total else 0.0


class ContextPacker:
    """Turns batches of texts into int32 contexts of ``seq_len + 1`` tokens, keeping the remainder between calls.

    Why a class: a stream may arrive in pieces (files read in chunks); ``finish`` pads the one partial context.
    """

    def __init__(self, tokenizer: LoadedTokenizer, seq_len: int = DEFAULT_SEQ_LEN) -> None:
        if seq_len < 1:
            raise ValueError(f"seq_len must be positive, got {seq_len}")
        self.tokenizer = tokenizer
        self.context_len = seq_len + 1
        self.stats = PackStats()
        self._rest = np.empty(0, dtype=np.int32)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Token ids of ``texts``, each followed by EOT, as one flat int32 array."""
        try:
            encodings = self.tokenizer.tokenizer.encode_batch(texts, add_special_tokens=False)
        except TypeError:
            # The Rust tokenizer takes only valid Unicode; JSON may carry lone surrogates ("\\ud800"), which
            # processing keeps (escaped) as DCLM does. They become U+FFFD here instead of failing the file.
            texts = [_LONE_SURROGATE.sub("\ufffd", t) if isinstance(t, str) else t for t in texts]
            encodings = self.tokenizer.tokenizer.encode_batch(texts, add_special_tokens=False)
        eot = self.tokenizer.eot_id
        flat: list[int] = []
        for enc in encodings:
            flat.extend(enc.ids)
            flat.append(eot)
        self.stats.documents += len(texts)
        self.stats.tokens += len(flat)
        return np.asarray(flat, dtype=np.int32)

    def feed(self, texts: list[str]) -> Iterator[np.ndarray]:
        """Contexts completed by ``texts``; the tail waits for more input or ``finish``."""
        stream = self.encode(texts)
        if self._rest.size:
            stream = np.concatenate([self._rest, stream])
        full = stream.size // self.context_len
        for i in range(full):
            self.stats.contexts += 1
            yield stream[i * self.context_len : (i + 1) * self.context_len]
        self._rest = stream[full * self.context_len :].copy()

    def finish(self) -> Iterator[np.ndarray]:
        """The final partial context, padded with PAD up to ``seq_len + 1``; nothing if the stream ended evenly."""
        if not self._rest.size:
            return
        pad = self.context_len - self._rest.size
        context = np.concatenate([self._rest, np.full(pad, self.tokenizer.pad_id, dtype=np.int32)])
        self._rest = np.empty(0, dtype=np.int32)
        self.stats.contexts += 1
        self.stats.pad_tokens += pad
        yield context


def pack_texts(
    texts: Iterable[str],
    tokenizer: LoadedTokenizer,
    seq_len: int = DEFAULT_SEQ_LEN,
    batch_size: int = DEFAULT_BATCH_SIZE,
    stats: PackStats | None = None,
) -> Iterator[np.ndarray]:
    """Pack one stream (e.g. one input file) into contexts; ``stats`` (if given) receives the counts at the end."""
    packer = ContextPacker(tokenizer, seq_len)
    it = iter(texts)
    while batch := list(islice(it, batch_size)):
        yield from packer.feed(batch)
    yield from packer.finish()
    if stats is not None:
        stats.add(packer.stats)
