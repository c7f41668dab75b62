"""lm-eval model ``dclm``: any causal LM callable (``model(input_ids) -> logits`` or a tuple led by logits).

Why our own ``LM``: lm-eval's HF wrapper needs a ``transformers`` model; ours is an open_lm-compatible module. The
request plumbing (tasks, few-shot, data-parallel sharding of documents, gathering) stays lm-eval's; this class only
turns requests into batched forward passes:

- ``loglikelihood``: requests sorted longest first and right-padded into batches (padding after a row cannot
  change a causal model's earlier logits); requests with identical model input (one-token choices after one
  context, as MMLU's letters) share one row. Context is cut on the left to fit ``max_seq_len`` by
  llm-foundry's rule (keep ``max_seq_len - len(continuation)`` tokens). A request whose context and continuation
  are :class:`TokenizedText` is scored on exactly those token ids (our DCLM tasks tokenize as llm-foundry does);
  plain strings are tokenized by lm-eval's convention (trailing context spaces move to the continuation, an
  empty context becomes EOT).
- ``loglikelihood_rolling``: lm-eval's disjoint rolling windows of ``max_seq_len`` after an EOT prefix.
- ``generate_until``: greedy, batched, until EOT, a stop string, ``max_gen_toks`` or ``max_seq_len``; the output
  is cut before the first stop string.
- Data parallel: ``rank``/``world_size`` come from ``torch.distributed`` when it is initialized (``torchrun``),
  so ``lm_eval.evaluator.evaluate`` gives each process its share of documents and gathers the results.

From the lm-eval CLI: ``python -m dclm_resources.evaluation.lm_eval_model run --model dclm --model_args
checkpoint=PATH,tokenizer=NAME_OR_PATH --tasks ...`` (this module must be imported for ``dclm`` to be registered).
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from lm_eval.api.instance import Instance
from lm_eval.api.model import LM
from lm_eval.api.registry import register_model
from lm_eval.models.utils import Collator
from lm_eval.utils import get_rolling_token_windows, make_disjoint_window

from dclm_resources.evaluation.icl import IclTokenizer, as_icl_tokenizer, trim_context

log = logging.getLogger(__name__)

DEFAULT_LOADER = "dclm_resources.training.checkpoint:load_checkpoint_for_eval"
DEFAULT_MAX_SEQ_LEN = 2048  # DCLM's eval max_seq_len
DEFAULT_MAX_GEN_TOKS = 256


class TokenizedText(str):
    """A request string that carries the exact token ids it stands for (kept as int32, shared, picklable)."""

    token_ids: np.ndarray

    def __new__(cls, text: str, token_ids: Sequence[int] | np.ndarray) -> TokenizedText:
        obj = super().__new__(cls, text)
        obj.token_ids = np.asarray(token_ids, dtype=np.int64).astype(np.int32)
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        return (TokenizedText, (str(self), self.token_ids))


def resolve_loader(loader: str | Callable[[str], Any]) -> Callable[[str], Any]:
    """A checkpoint loader given as a callable or an import path ``package.module:function``."""
    if callable(loader):
        return loader
    module_name, sep, attr = loader.partition(":")
    if not sep:
        module_name, _, attr = loader.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ImportError(f"checkpoint loader {loader!r}: cannot import {module_name!r} ({exc})") from exc
    if not hasattr(module, attr):
        raise ImportError(f"checkpoint loader {loader!r}: {module_name} has no {attr!r}")
    return getattr(module, attr)


def _unwrap_loaded(loaded: Any) -> torch.nn.Module:
    """The model out of what a loader returns: a module, ``(ModelConfig, state_dict)`` (built here with the
    modeling package), a ``(module, ...)`` tuple, or an object with ``.model``."""
    is_pair = isinstance(loaded, tuple | list) and len(loaded) == 2 and isinstance(loaded[1], Mapping)
    if is_pair and not callable(loaded[0]):
        from dclm_resources.modeling import Transformer, load_open_lm_state_dict

        model = Transformer(loaded[0])
        load_open_lm_state_dict(model, loaded[1])
        return model
    if isinstance(loaded, tuple | list) and loaded:
        loaded = loaded[0]
    if not isinstance(loaded, torch.nn.Module) and isinstance(getattr(loaded, "model", None), torch.nn.Module):
        loaded = loaded.model
    if not callable(loaded):
        raise TypeError(f"checkpoint loader returned {type(loaded).__name__}, not a model")
    return loaded


def _model_seq_len(model: Any) -> int | None:
    for holder in (getattr(model, "cfg", None), getattr(model, "config", None), model):
        value = getattr(holder, "seq_len", None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def _pick_device(device: str | torch.device | None) -> torch.device:
    """The asked device; CUDA (this rank's GPU under torchrun) when none is asked and one exists; else CPU.

    lm-eval's CLI asks for ``cuda`` by default: on a machine without CUDA that falls back to the CPU with a warning.
    """
    cuda = torch.cuda.is_available()
    if device is None or str(device) == "":
        return torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}") if cuda else torch.device("cpu")
    chosen = torch.device(device)
    if chosen.type == "cuda" and not cuda:
        log.warning("device %s asked for but CUDA is not available; using the CPU", device)
        return torch.device("cpu")
    if chosen.type == "cuda" and chosen.index is None and "LOCAL_RANK" in os.environ:
        return torch.device(f"cuda:{int(os.environ['LOCAL_RANK'])}")  # one GPU per torchrun process
    return chosen


@register_model("dclm")
class DclmLM(LM):
    """Batched scoring and greedy generation for this project's models (see the module docstring)."""

    def __init__(
        self,
        model: Any = None,
        tokenizer: Any = None,
        batch_size: int | str | None = 4,
        device: str | torch.device | None = None,
        max_seq_len: int | None = None,
        checkpoint: str | None = None,
        loader: str | Callable[[str], Any] = DEFAULT_LOADER,
        max_gen_toks: int = DEFAULT_MAX_GEN_TOKS,
        max_batch_size: int | None = None,
        model_json: str | None = None,
    ) -> None:
        super().__init__()
        if tokenizer is None:
            raise ValueError("dclm model needs a tokenizer (model_args tokenizer=NAME_OR_PATH)")
        if isinstance(tokenizer, str):
            from dclm_resources.tokenization.tokenizer import load_tokenizer

            tokenizer = load_tokenizer(tokenizer)
        self.tok: IclTokenizer = as_icl_tokenizer(tokenizer)
        if self.tok.eos_id is None:
            raise ValueError("the tokenizer has no <|endoftext|> (EOT) id, which scoring and generation need")
        if (model is None) == (checkpoint is None):
            raise ValueError("give exactly one of model= (a loaded model) or checkpoint= (a path to load)")
        if model is None:
            load = resolve_loader(loader)
            model = _unwrap_loaded(load(checkpoint, model_json=model_json) if model_json else load(checkpoint))
        self._device = _pick_device(device)
        if isinstance(model, torch.nn.Module):
            model = model.to(self._device).eval()
        self.model = model
        self.max_seq_len = int(max_seq_len or _model_seq_len(model) or DEFAULT_MAX_SEQ_LEN)
        if batch_size in (None, "auto") or str(batch_size).startswith("auto"):
            raise ValueError("batch_size must be a positive integer ('auto' is not supported)")
        self.batch_size = max(1, int(batch_size))
        if max_batch_size:
            self.batch_size = min(self.batch_size, int(max_batch_size))
        self.max_gen_toks = int(max_gen_toks)
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            self._rank = torch.distributed.get_rank()
            self._world_size = torch.distributed.get_world_size()

    @property
    def eot_token_id(self) -> int:
        return int(self.tok.eos_id)  # type: ignore[arg-type]

    # -- forward -------------------------------------------------------------------------------------------

    @torch.inference_mode()
    def _logits(self, rows: Sequence[Sequence[int]]) -> torch.Tensor:
        """Float32 logits ``[B, max_len, V]`` of right-padded rows (pad = EOT; never read past a row's end)."""
        width = max(len(r) for r in rows)
        batch = torch.full((len(rows), width), self.eot_token_id, dtype=torch.long)
        for i, row in enumerate(rows):
            batch[i, : len(row)] = torch.as_tensor(np.asarray(row, dtype=np.int64))
        out = self.model(batch.to(self._device))
        logits = out[0] if isinstance(out, tuple | list) else out
        return logits.float()

    def _token_pair(self, context: str, continuation: str) -> tuple[Sequence[int], Sequence[int]]:
        if isinstance(context, TokenizedText) and isinstance(continuation, TokenizedText):
            return context.token_ids, continuation.token_ids
        if isinstance(continuation, TokenizedText):
            return self.tok.encode(context), continuation.token_ids
        if isinstance(context, TokenizedText):
            return context.token_ids, self.tok.encode(continuation)
        n_spaces = len(context) - len(context.rstrip())
        if n_spaces:
            context, continuation = context[:-n_spaces], context[-n_spaces:] + continuation
        ctx = self.tok.encode(context)
        whole = self.tok.encode(context + continuation)
        cont = whole[len(ctx) :] if whole[: len(ctx)] == ctx else self.tok.encode(continuation)
        return ctx, cont

    def _score(
        self, pairs: Sequence[tuple[Sequence[int], Sequence[int]]], slack: int = 0
    ) -> list[tuple[float, bool]]:
        """(sum of continuation log-probs, every continuation token is the argmax) per (context, continuation).

        Context + continuation may hold ``max_seq_len + slack`` tokens: 0 is llm-foundry's rule (its input holds
        the whole continuation), 1 is lm-eval's rolling windows (the last token is only a target).
        """
        limit = self.max_seq_len + slack
        rows: dict[bytes, int] = {}  # identical model inputs (e.g. one-token choices after one context) run once
        inputs: list[np.ndarray] = []
        readers: list[list[tuple[int, int, Sequence[int]]]] = []  # per input row: (request, context length, cont)
        for index, (ctx, cont) in enumerate(pairs):
            if len(cont) == 0:
                raise ValueError("a continuation must have at least one token")
            if len(cont) >= limit:
                raise ValueError(f"continuation of {len(cont)} tokens leaves no context in max_seq_len {self.max_seq_len}")
            ctx = trim_context(ctx, len(cont), limit)
            if len(ctx) == 0:
                ctx = [self.eot_token_id]
            row = np.concatenate([np.asarray(ctx), np.asarray(cont[:-1])]).astype(np.int64)
            slot = rows.setdefault(row.tobytes(), len(inputs))
            if slot == len(inputs):
                inputs.append(row)
                readers.append([])
            readers[slot].append((index, len(ctx), cont))
        order = sorted(range(len(inputs)), key=lambda r: (-len(inputs[r]), r))  # longest first: little padding
        results: list[tuple[float, bool]] = [(0.0, False)] * len(pairs)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            logits = self._logits([inputs[r] for r in chunk])
            for position, slot in enumerate(chunk):
                for index, ctx_len, cont in readers[slot]:
                    window = logits[position, ctx_len - 1 : ctx_len - 1 + len(cont)]
                    target = torch.as_tensor(np.asarray(cont, dtype=np.int64), device=window.device)
                    logprobs = F.log_softmax(window, dim=-1).gather(1, target[:, None]).squeeze(1)
                    greedy = bool((window.argmax(dim=-1) == target).all())
                    results[index] = (float(logprobs.double().sum()), greedy)
        return results

    # -- lm-eval API ---------------------------------------------------------------------------------------

    def loglikelihood(self, requests: list[Instance], disable_tqdm: bool = False) -> list[tuple[float, bool]]:
        pairs = [self._token_pair(*req.args) for req in requests]
        results = self._score(pairs)
        for req, res in zip(requests, results, strict=True):
            self.cache_hook.add_partial("loglikelihood", req.args, res)
        return results

    def loglikelihood_rolling(self, requests: list[Instance], disable_tqdm: bool = False) -> list[float]:
        pairs: list[tuple[Sequence[int], Sequence[int]]] = []
        owner: list[int] = []
        for i, req in enumerate(requests):
            (text,) = req.args[:1]
            ids = list(text.token_ids) if isinstance(text, TokenizedText) else self.tok.encode(text)
            windows = get_rolling_token_windows(
                token_list=ids, prefix_token=self.eot_token_id, max_seq_len=self.max_seq_len, context_len=1
            )
            for window in map(make_disjoint_window, windows):
                pairs.append(window)
                owner.append(i)
        totals = [0.0] * len(requests)
        for i, (logprob, _) in zip(owner, self._score(pairs, slack=1), strict=True):
            totals[i] += logprob
        for req, total in zip(requests, totals, strict=True):
            self.cache_hook.add_partial("loglikelihood_rolling", req.args, total)
        return totals

    def generate_until(self, requests: list[Instance], disable_tqdm: bool = False) -> list[str]:
        items = []
        for req in requests:
            context, gen_kwargs = req.args[0], dict(req.args[1] or {})
            if gen_kwargs.get("do_sample"):
                raise ValueError("the dclm model generates greedily only (do_sample=True was asked)")
            until = gen_kwargs.get("until") or []
            until = [until] if isinstance(until, str) else list(until)
            max_new = int(gen_kwargs.get("max_gen_toks", self.max_gen_toks))
            ctx = list(context.token_ids) if isinstance(context, TokenizedText) else self.tok.encode(context)
            items.append((ctx, until, max_new))
        collator = Collator(
            list(enumerate(items)),
            sort_fn=lambda x: (-len(x[1][0]), x[0]),
            group_fn=lambda x: {"until": x[1][1], "max_gen_toks": x[1][2]},
            group_by="gen_kwargs",
        )
        outputs: list[str] = []
        for chunk in collator.get_batched(n=self.batch_size):
            outputs.extend(self._generate([item for _, item in chunk]))
        results = collator.get_original(outputs)
        for req, text in zip(requests, results, strict=True):
            self.cache_hook.add_partial("generate_until", req.args, text)
        return results

    def _generate(self, items: Sequence[tuple[list[int], list[str], int]]) -> list[str]:
        """Greedy decoding of one batch sharing stop strings and token budget (no KV cache: full re-forward)."""
        until, max_new = items[0][1], items[0][2]
        budget = max(self.max_seq_len - max_new, 1)
        seqs = [list(trim_context(ctx, 0, budget)) or [self.eot_token_id] for ctx, _, _ in items]
        generated: list[list[int]] = [[] for _ in items]
        active = [len(s) < self.max_seq_len for s in seqs]
        for _ in range(max_new):
            rows = [i for i, a in enumerate(active) if a]
            if not rows:
                break
            logits = self._logits([seqs[i] for i in rows])
            for j, i in enumerate(rows):
                token = int(logits[j, len(seqs[i]) - 1].argmax())
                if token == self.eot_token_id:
                    active[i] = False
                    continue
                seqs[i].append(token)
                generated[i].append(token)
                text = self.tok.decode(generated[i])
                if any(stop in text for stop in until) or len(seqs[i]) >= self.max_seq_len:
                    active[i] = False
        outputs = []
        for tokens in generated:
            text = self.tok.decode(tokens)
            for stop in until:
                text = text.split(stop)[0]
            outputs.append(text)
        return outputs

    # -- distributed primitives (used by lm_eval.evaluator when world_size > 1) ----------------------------

    def all_gather(self, tensor: torch.Tensor) -> torch.Tensor:
        if self.world_size == 1:
            return tensor
        tensor = tensor.reshape(1) if tensor.dim() == 0 else tensor
        parts = [torch.empty_like(tensor) for _ in range(self.world_size)]
        torch.distributed.all_gather(parts, tensor)
        return torch.cat(parts)

    def gather_object(self, obj: Any, dst: int = 0) -> list[Any] | None:
        if self.world_size == 1:
            return [obj]
        gathered: list[Any] | None = [None] * self.world_size if self.rank == dst else None
        torch.distributed.gather_object(obj, gathered, dst=dst)
        return gathered

    def barrier(self) -> None:
        if self.world_size > 1:
            torch.distributed.barrier()


def main(argv: Sequence[str] | None = None) -> None:
    """lm-eval's own CLI with the ``dclm`` model registered (``python -m dclm_resources.evaluation.lm_eval_model``)."""
    import sys

    from lm_eval.__main__ import cli_evaluate

    if argv is not None:
        sys.argv = [sys.argv[0], *argv]
    cli_evaluate()


if __name__ == "__main__":
    # Under ``python -m`` this file is ``__main__``; alias it so a later import of the package path finds the
    # class already registered instead of registering a second ``DclmLM`` under the same name.
    import sys

    sys.modules.setdefault("dclm_resources.evaluation.lm_eval_model", sys.modules[__name__])
    main()
