"""Training samples from open_lm shards in one deterministic global order, independent of the world size.

Order: passes over the manifest; pass ``p`` visits the shards in the order given by
``numpy.random.default_rng(seed + p).permutation(num_shards)`` (open_lm's ``shard_shuffle_seed`` + pass index),
each tar's contexts in tar order. Global batch ``k`` is samples ``[k*G, (k+1)*G)`` of that stream; rank ``r`` of
``W`` takes the contiguous slice ``[r*G/W, (r+1)*G/W)``. So batch ``k`` holds the same sequences whatever ``W`` is,
which is what makes a 2-process run reproduce a 1-process one. The cost: every rank reads every tar (it only
decodes the contexts it owns), i.e. W times the I/O of open_lm's shard-per-worker split.

Windows: when the model's ``seq_len`` is shorter than the shards' contexts (CPU scales: 256 vs 2048), each context
of ``L`` tokens is cut into ``(L - 1) // seq_len`` consecutive windows of ``seq_len + 1`` tokens (neighbours share
one token, so every target is predicted once). open_lm instead takes one random crop per context; cutting keeps
every token and needs no RNG, so resuming is exact. A sample is one window; ``samples_seen`` counts windows.

Position (stored in checkpoints): ``next_shard`` counts shards across passes (pass = next_shard // num_shards, as
open_lm's ``next_shard_per_source``) and ``shard_offset`` the windows of that shard already used. Resuming skips
whole shards by manifest counts and then ``shard_offset`` windows of the next one without decoding them.
"""

from __future__ import annotations

import gzip
import json
import queue
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from dclm_resources.storage import Storage, StorageError
from dclm_resources.training.manifest import DataError, DataSource, ShardEntry


@dataclass(frozen=True)
class DataPosition:
    """Where the next sample comes from; see the module docstring."""

    next_shard: int = 0
    shard_offset: int = 0
    samples_seen: int = 0

    def pass_index(self, num_shards: int) -> int:
        return self.next_shard // num_shards


@dataclass
class LocalBatch:
    """This rank's rows of one global batch (``[rows, seq_len + 1]`` int64) and the position after the batch."""

    tokens: np.ndarray
    position: DataPosition
    shards: list[str] = field(default_factory=list)


def windows_per_context(context_len: int, seq_len: int) -> int:
    """How many ``seq_len + 1`` windows one context yields; DataError when the context is too short."""
    if context_len - 1 < seq_len:
        raise DataError(
            f"the shards hold contexts of {context_len} tokens, too short for seq_len {seq_len} "
            f"(needs at least {seq_len + 1})"
        )
    return (context_len - 1) // seq_len


def shard_order(num_shards: int, seed: int, pass_index: int) -> np.ndarray:
    """Indices into the manifest for one pass (open_lm: numpy default_rng(shard_shuffle_seed + pass))."""
    return np.random.default_rng(seed + pass_index).permutation(num_shards)


def iter_members(shard: ShardEntry, storage: Storage, data_key: str) -> Iterator[tuple[str, tarfile.TarFile, tarfile.TarInfo]]:
    """(key, tar, member) for each ``<key>.<data_key>`` member in tar order; the caller reads only what it needs."""
    try:
        fh = storage.open_read(shard.uri)
    except StorageError as exc:
        raise DataError(f"shard {shard.name!r} (manifest line {shard.line}) cannot be read: {exc}") from exc
    try:
        with fh, tarfile.open(fileobj=fh, mode="r|") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                key, _, ext = member.name.partition(".")
                if ext == data_key:
                    yield key, tar, member
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DataError(f"{shard.uri}: corrupt or truncated tar: {exc}") from exc


def decode_member(
    shard: ShardEntry, key: str, tar: tarfile.TarFile, member: tarfile.TarInfo, data_key: str
) -> np.ndarray:
    """The token list of one member as int64 (gzipped JSON for ``json.gz``, plain JSON for ``json``)."""
    handle = tar.extractfile(member)
    if handle is None:
        raise DataError(f"{shard.uri}: member {member.name} has no data")
    raw = handle.read()
    try:
        if data_key == "json.gz":
            raw = gzip.decompress(raw)
        values = json.loads(raw)
        return np.asarray(values, dtype=np.int64)
    except (OSError, EOFError, ValueError, TypeError) as exc:
        raise DataError(f"{shard.uri}: sample {key}: not a JSON list of token ids ({exc})") from exc


def check_tokens(tokens: np.ndarray, vocab_size: int, context_len: int, shard: ShardEntry, key: str) -> np.ndarray:
    """Validate one context: its length, and ids < vocab (negative ids wrap modulo vocab, as open_lm does)."""
    if tokens.ndim != 1 or tokens.shape[0] != context_len:
        raise DataError(
            f"{shard.uri}: sample {key} has {tokens.size} tokens; the dataset's contexts have {context_len}"
        )
    if tokens.size and tokens.max() >= vocab_size:
        bad = int(tokens.max())
        raise DataError(
            f"{shard.uri}: sample {key} holds token id {bad}, outside the model vocabulary ({vocab_size}); "
            "the data was tokenized with a larger tokenizer than the model was built for"
        )
    if tokens.size and tokens.min() < 0:
        tokens = np.mod(tokens, vocab_size)
    return tokens


def probe_context_len(source: DataSource, storage: Storage) -> int:
    """Length of the first context of the first non-empty shard (all contexts of a dataset share it)."""
    for shard in source.shards:
        if shard.num_sequences == 0:
            continue
        for key, tar, member in iter_members(shard, storage, source.data_key):
            return int(decode_member(shard, key, tar, member, source.data_key).shape[0])
        raise DataError(f"{shard.uri}: holds no {source.data_key} samples but the manifest lists {shard.num_sequences}")
    raise DataError(f"{source.manifest_uri}: no shard has samples")


class BatchLoader:
    """Yields this rank's slice of consecutive global batches, starting at ``position``.

    ``prefetch > 0`` reads ahead in a background thread (decoding overlaps the training step); errors raised there
    surface in the consumer.
    """

    def __init__(
        self,
        source: DataSource,
        storage: Storage,
        *,
        seed: int,
        seq_len: int,
        context_len: int,
        vocab_size: int,
        global_batch: int,
        rank: int = 0,
        world_size: int = 1,
        multiple_passes: bool = False,
        position: DataPosition | None = None,
        prefetch: int = 2,
    ) -> None:
        if global_batch % world_size:
            raise ValueError(f"global batch {global_batch} is not divisible by the world size {world_size}")
        self.source, self.storage = source, storage
        self.seed, self.seq_len, self.context_len, self.vocab_size = seed, seq_len, context_len, vocab_size
        self.windows = windows_per_context(context_len, seq_len)
        self.global_batch, self.rank, self.world_size = global_batch, rank, world_size
        self.rows = global_batch // world_size
        self.multiple_passes = multiple_passes
        self.position = position or DataPosition()
        self.prefetch = prefetch
        self._stop = threading.Event()
        self._order, self._order_pass = np.empty(0, dtype=np.int64), -1

    @property
    def samples_per_pass(self) -> int:
        return self.source.num_sequences * self.windows

    # -- the sample stream ----------------------------------------------------------------------------------
    def _shard_at(self, cumulative: int) -> ShardEntry:
        n = len(self.source.shards)
        pass_index, i = divmod(cumulative, n)
        if pass_index > 0 and not self.multiple_passes:
            raise DataError(
                f"{self.source.manifest_uri}: ran out of data after one pass ({self.samples_per_pass} samples of "
                f"{self.seq_len + 1} tokens); train fewer tokens or allow multiple_data_passes"
            )
        if self._order_pass != pass_index:
            self._order, self._order_pass = shard_order(n, self.seed, pass_index), pass_index
        return self.source.shards[int(self._order[i])]

    def _batches(self) -> Iterator[LocalBatch]:
        pos = self.position
        if pos.samples_seen % self.global_batch:
            raise ValueError(f"position {pos} is not at a global-batch boundary ({self.global_batch})")
        g_index = pos.samples_seen  # global index of the next sample
        rows: list[np.ndarray] = []
        shards: list[str] = []
        lo, hi = self.rank * self.rows, (self.rank + 1) * self.rows
        cumulative, offset = pos.next_shard, pos.shard_offset
        while not self._stop.is_set():
            shard = self._shard_at(cumulative)
            total = shard.num_sequences * self.windows
            if offset >= total:  # an empty shard, or a position saved at its very end
                cumulative, offset = cumulative + 1, 0
                continue
            if not shards or shards[-1] != shard.name:
                shards.append(shard.name)
            skip_contexts, first_window = divmod(offset, self.windows)
            seen = 0
            for key, tar, member in iter_members(shard, self.storage, self.source.data_key):
                seen += 1
                if seen > shard.num_sequences:
                    raise DataError(f"{shard.uri}: holds more samples than the {shard.num_sequences} in the manifest")
                if seen <= skip_contexts:
                    continue
                needed = [
                    w for w in range(first_window, self.windows)
                    if lo <= (g_index + w - first_window) % self.global_batch < hi
                ]
                tokens = None
                if needed:
                    tokens = decode_member(shard, key, tar, member, self.source.data_key)
                    tokens = check_tokens(tokens, self.vocab_size, self.context_len, shard, key)
                for w in range(first_window, self.windows):
                    if tokens is not None and w in needed:
                        start = w * self.seq_len
                        rows.append(tokens[start : start + self.seq_len + 1])
                    g_index += 1
                    offset += 1
                    if g_index % self.global_batch == 0:
                        after = (cumulative + 1, 0) if offset >= total else (cumulative, offset)
                        yield LocalBatch(np.stack(rows), DataPosition(after[0], after[1], g_index), shards)
                        rows, shards = [], [shard.name]
                        if self._stop.is_set():
                            return
                first_window = 0
            if seen < shard.num_sequences:
                raise DataError(
                    f"{shard.uri}: holds {seen} samples but the manifest ({self.source.manifest_uri} line "
                    f"{shard.line}) says {shard.num_sequences}"
                )
            cumulative, offset = cumulative + 1, 0
            if g_index % self.global_batch == 0:  # the shard ended on a batch boundary: the next batch skips it
                shards = []

    # -- iteration, optionally through a read-ahead thread ------------------------------------------------------
    def __iter__(self) -> Iterator[LocalBatch]:
        if self.prefetch <= 0:
            yield from self._batches()
            return
        q: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=self.prefetch)

        def produce() -> None:
            try:
                for batch in self._batches():
                    while not self._stop.is_set():
                        try:
                            q.put(("batch", batch), timeout=0.1)
                            break
                        except queue.Full:
                            continue
                    if self._stop.is_set():
                        return
                q.put(("end", None))
            except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it
                q.put(("error", exc))

        thread = threading.Thread(target=produce, name="dclm-data", daemon=True)
        thread.start()
        try:
            while True:
                kind, item = q.get()
                if kind == "end":
                    return
                if kind == "error":
                    raise item  # type: ignore[misc]
                yield item  # type: ignore[misc]
        finally:
            self.close()
            thread.join(timeout=5)

    def close(self) -> None:
        self._stop.set()
