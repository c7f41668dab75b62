"""Validation loss on held-out tokenized shards: DCLM's ``eval_metrics.perplexity`` (which is a mean LOSS).

DCLM (``eval_openlm_ckpt.py``) runs open_lm's ``evaluate`` on a held-out shard: each 2049-token context gives
inputs ``tokens[:-1]`` and targets ``tokens[1:]``; the per-token cross-entropy is averaged per batch and the batch
means are averaged weighted by batch size. Every context has the same number of targets, so that equals the mean
over all target tokens, which is what is computed here (as an exact float64 sum). DCLM's target masks (ids 50400
and 50300) never occur in GPT-NeoX data, so nothing is masked by default: PAD and EOT targets count, as in DCLM;
``ignore_ids`` drops chosen target ids if wanted. DCLM reports the loss under the name "perplexity";
``PerplexityResult.perplexity`` is ``exp(loss)``.

A model with ``seq_len`` shorter than the contexts sees each context as ``(len - 1) // seq_len`` windows of
``seq_len + 1`` tokens (window ``k`` starts at ``k * seq_len``), as our trainer cuts them. With
``torch.distributed`` initialized, ranks take every ``world_size``-th context and the sums are all-reduced.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from dclm_resources.storage import Storage, join_uri, read_jsonl
from dclm_resources.tokenization.readback import iter_tar_contexts
from dclm_resources.tokenization.shards import MANIFEST_NAME


@dataclass(frozen=True)
class PerplexityResult:
    """``loss``: mean target-token cross-entropy (DCLM's ``eval_metrics.perplexity``); ``perplexity = exp(loss)``."""

    loss: float
    perplexity: float
    tokens: int
    sequences: int
    windows: int


def manifest_shards(data_uri: str, storage: Storage | None = None) -> list[str]:
    """Tar URIs in manifest order, for a shard directory or a ``manifest.jsonl`` path."""
    storage = storage or Storage()
    manifest = data_uri if data_uri.endswith(".jsonl") else join_uri(data_uri, MANIFEST_NAME)
    root = manifest.rsplit("/", 1)[0] if "/" in manifest else "."
    shards = []
    for line_no, row in enumerate(read_jsonl(manifest, storage), start=1):
        if not isinstance(row.get("shard"), str):
            raise ValueError(f"{manifest}:{line_no}: manifest line has no string 'shard'")
        shards.append(join_uri(root, row["shard"] + ".tar"))
    if not shards:
        raise ValueError(f"{manifest}: lists no shards")
    return shards


def iter_manifest_contexts(
    data_uri: str, storage: Storage | None = None, max_sequences: int | None = None
) -> Iterator[tuple[str, list[int]]]:
    """(``shard/key``, tokens) for every context of the manifest's shards, in manifest and tar order."""
    count = 0
    for tar_uri in manifest_shards(data_uri, storage):
        shard = tar_uri.rsplit("/", 1)[-1]
        for key, tokens in iter_tar_contexts(tar_uri, storage):
            if max_sequences is not None and count >= max_sequences:
                return
            count += 1
            yield f"{shard}/{key}", tokens


def context_windows(tokens: Sequence[int], seq_len: int, where: str = "context") -> list[np.ndarray]:
    """The ``seq_len + 1``-token windows a model of ``seq_len`` reads from one packed context."""
    ids = np.asarray(tokens, dtype=np.int64)
    if ids.ndim != 1 or len(ids) < 2:
        raise ValueError(f"{where}: a context needs at least 2 tokens, got {len(ids)}")
    if len(ids) - 1 <= seq_len:
        return [ids]
    return [ids[k * seq_len : (k + 1) * seq_len + 1] for k in range((len(ids) - 1) // seq_len)]


def _model_seq_len(model: Any) -> int | None:
    cfg = getattr(model, "cfg", None)
    value = getattr(cfg, "seq_len", None)
    return value if isinstance(value, int) else None


@torch.inference_mode()
def validation_loss(
    model: Any,
    data_uri: str,
    batch_size: int = 8,
    seq_len: int | None = None,
    device: str | torch.device = "cpu",
    max_sequences: int | None = None,
    ignore_ids: Sequence[int] = (),
    storage: Storage | None = None,
) -> PerplexityResult:
    """Mean target-token cross-entropy of ``model`` over the contexts listed by ``data_uri``'s manifest."""
    seq_len = seq_len or _model_seq_len(model) or 2048
    vocab_size = getattr(getattr(model, "cfg", None), "vocab_size", None)
    rank, world = 0, 1
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
    if isinstance(model, torch.nn.Module):
        model.eval()
    ignore = torch.as_tensor(sorted(set(int(i) for i in ignore_ids)), dtype=torch.long)
    totals = {"loss": 0.0, "tokens": 0, "sequences": 0, "windows": 0}
    pending: list[tuple[str, np.ndarray]] = []

    def check_ids(vocab: int) -> None:
        bad = [name for name, w in pending if w.max() >= vocab or w.min() < 0]
        if bad:
            raise ValueError(f"token ids outside the model's vocabulary ({vocab}) in {bad}")

    def flush() -> None:
        if vocab_size is not None:
            check_ids(vocab_size)
        batch = torch.as_tensor(np.stack([w for _, w in pending]), device=device)
        out = model(batch[:, :-1])
        logits = (out[0] if isinstance(out, tuple | list) else out).float()
        targets = batch[:, 1:]
        check_ids(logits.shape[-1])
        losses = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none")
        keep = ~torch.isin(targets.reshape(-1).cpu(), ignore).to(losses.device) if len(ignore) else None
        totals["loss"] += float(losses[keep].double().sum() if keep is not None else losses.double().sum())
        totals["tokens"] += int(keep.sum()) if keep is not None else losses.numel()
        totals["windows"] += len(pending)
        pending.clear()

    for index, (name, tokens) in enumerate(iter_manifest_contexts(data_uri, storage, max_sequences)):
        if index % world != rank:
            continue
        totals["sequences"] += 1
        for window in context_windows(tokens, seq_len, name):
            if pending and len(window) != len(pending[0][1]):
                flush()  # a batch holds windows of one length
            pending.append((name, window))
            if len(pending) == batch_size:
                flush()
    if pending:
        flush()
    if world > 1:
        packed = torch.tensor(
            [totals["loss"], totals["tokens"], totals["sequences"], totals["windows"]], dtype=torch.float64
        )
        torch.distributed.all_reduce(packed)
        totals = dict(zip(("loss", "tokens", "sequences", "windows"), packed.tolist(), strict=True))
    if totals["tokens"] == 0:
        raise ValueError(f"{data_uri}: no target tokens to evaluate")
    loss = totals["loss"] / totals["tokens"]
    return PerplexityResult(
        loss=loss,
        perplexity=math.exp(loss),
        tokens=int(totals["tokens"]),
        sequences=int(totals["sequences"]),
        windows=int(totals["windows"]),
    )
