"""Evaluate one checkpoint on a DCLM suite and write DCLM's eval JSON: what ``dclm eval`` and ``eval_report`` run.

The pieces are the lm-eval model (``lm_eval_model``), the llm-foundry task types (``lm_eval_tasks``), held-out
perplexity (``perplexity``) and DCLM's aggregation (``report``); this module only wires them to a checkpoint
folder as open_lm leaves it (``epoch_N.pt``, ``params.txt``, the model JSON and DCLM's model reference).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from dclm_resources.evaluation.report import build_eval_json, headline, write_eval_json
from dclm_resources.evaluation.suites import load_suite, resolve_data_dir, resolve_task_files
from dclm_resources.storage import Storage, basename, join_uri, parent_uri

DEFAULT_TOKENIZER = "EleutherAI/gpt-neox-20b"
DEFAULT_MAX_SEQ_LEN = 2048  # DCLM's eval YAMLs


@dataclass
class EvalRun:
    """One evaluation: the eval JSON plus what a caller reports (missing tasks, counts, timing)."""

    eval_json: dict[str, Any]
    output: str | None
    checkpoint: str
    suite: str
    missing: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    perplexity: float | None = None
    wall_s: float = 0.0
    tokenizer: str = ""

    @property
    def headline(self) -> dict[str, Any]:
        return headline(self.eval_json)


def run_dir_of(checkpoint: str) -> str:
    """The run folder of ``<run>/checkpoints/epoch_N.pt`` (or of a run folder given directly)."""
    if checkpoint.endswith(".pt"):
        folder = parent_uri(checkpoint)
        return parent_uri(folder) if basename(folder) == "checkpoints" else folder
    return parent_uri(checkpoint) if basename(checkpoint.rstrip("/")) == "checkpoints" else checkpoint.rstrip("/")


def read_model_reference(checkpoint: str, storage: Storage) -> dict[str, Any] | None:
    """DCLM's model reference JSON the trainer wrote next to the run (``<run>/<name>.json``), if any."""
    from dclm_resources.training.checkpoint import read_params_txt

    run_dir = run_dir_of(checkpoint)
    params_uri = join_uri(run_dir, "params.txt")
    if not storage.exists(params_uri):
        return None
    name = read_params_txt(params_uri, storage).get("name")
    uri = join_uri(run_dir, f"{name}.json") if name else None
    if not uri or not storage.exists(uri):
        return None
    try:
        return json.loads(storage.read_text(uri))
    except json.JSONDecodeError as err:
        raise ValueError(f"{uri}:{err.lineno}: model reference is not valid JSON ({err.msg})") from None


def checkpoint_tokenizer(checkpoint: str, storage: Storage) -> str | None:
    """The tokenizer the run trained with: params.txt ``dataset_reference`` -> its ``tokenizer_path`` (our
    addition: the file itself, loadable offline) or DCLM's ``tokenizer`` name."""
    from dclm_resources.training.checkpoint import read_params_txt

    params_uri = join_uri(run_dir_of(checkpoint), "params.txt")
    if not storage.exists(params_uri):
        return None
    reference = read_params_txt(params_uri, storage).get("dataset_reference")
    if not reference or not storage.exists(str(reference)):
        return None
    try:
        data = json.loads(storage.read_text(str(reference)))
    except json.JSONDecodeError as err:
        raise ValueError(f"{reference}:{err.lineno}: dataset reference is not valid JSON ({err.msg})") from None
    return data.get("tokenizer_path") or data.get("tokenizer")


def evaluate_checkpoint(
    checkpoint: str,
    suite: str,
    *,
    data_dir: str | None = None,
    output: str | None = None,
    tokenizer: str | None = None,
    model_json: str | None = None,
    perplexity_data: str | None = None,
    perplexity_max_sequences: int | None = None,
    batch_size: int = 16,
    max_seq_len: int | None = None,
    limit: int | float | None = None,
    seed: int | None = None,
    device: str | None = None,
    extra_tasks: list[dict[str, Any]] | None = None,
    storage: Storage | None = None,
) -> EvalRun:
    """Score ``checkpoint`` on ``suite`` (a name or YAML path) and, with ``output``, write the eval JSON atomically.

    Tasks whose data file is absent are listed in ``missing`` and left out of ``eval_metrics.icl`` (DCLM then
    reports them as missing in its aggregates); with no eval data directory at all every task is missing.
    ``extra_tasks``: entries scored beside the suite (the demo's cloze task), data paths absolute.
    ``max_seq_len``: the prompt budget; default the suite's ``max_seq_len`` (DCLM: 2048) whatever the model's
    training length, as DCLM evaluates every scale with the same prompts (rotary positions extend past it).
    """
    from dclm_resources.evaluation.lm_eval_model import DclmLM
    from dclm_resources.evaluation.perplexity import validation_loss
    from dclm_resources.evaluation.runner import evaluate_tasks

    storage = storage or Storage()
    started = time.perf_counter()
    spec = load_suite(suite)
    tokenizer_name = tokenizer or checkpoint_tokenizer(checkpoint, storage) or DEFAULT_TOKENIZER
    try:
        eval_data = resolve_data_dir(data_dir)
    except ValueError:
        eval_data = None  # no data configured: every suite task is reported missing, perplexity still runs
    if eval_data is not None:
        present, missing_list = resolve_task_files(spec, eval_data)
        missing = {label: path for label, path in missing_list}
    else:
        present, missing = [], {t["label"]: t.get("dataset_uri", "") for t in spec.tasks}
    budget = int(max_seq_len or spec.settings.get("max_seq_len") or DEFAULT_MAX_SEQ_LEN)
    lm = DclmLM(checkpoint=checkpoint, tokenizer=tokenizer_name, batch_size=batch_size, device=device,
                model_json=model_json, max_seq_len=budget)
    scores: dict[str, float] = {}
    counts: dict[str, int] = {}
    entries = [{k: v for k, v in t.items() if k != "dataset_path"} for t in present] + list(extra_tasks or [])
    if entries:
        results = evaluate_tasks(lm, entries, eval_data, limit=limit, seed=seed)
        if results is not None:
            scores, counts = dict(results.scores), results.counts
            missing.update(results.missing)
    perplexity = None
    if perplexity_data:
        from dclm_resources.training.manifest import resolve_data

        held_out = resolve_data(perplexity_data, storage).manifest_uri  # manifest, its folder or a reference JSON
        perplexity = validation_loss(lm.model, held_out, batch_size=batch_size, device=_model_device(lm.model),
                                     max_sequences=perplexity_max_sequences, storage=storage).loss
    reference = read_model_reference(checkpoint, storage) or {}
    model_name = str(reference.get("name") or basename(run_dir_of(checkpoint)))
    eval_json = build_eval_json(model_name, spec.name, scores, perplexity, model_uuid=reference.get("uuid"))
    if output and _rank() == 0:
        write_eval_json(output, eval_json, storage)
    return EvalRun(
        eval_json=eval_json, output=output, checkpoint=checkpoint, suite=spec.name, missing=missing, counts=counts,
        perplexity=perplexity, wall_s=time.perf_counter() - started, tokenizer=tokenizer_name,
    )


def _model_device(model: Any) -> Any:
    import torch

    try:
        return next(model.parameters()).device
    except (AttributeError, StopIteration):
        return torch.device("cpu")


def _rank() -> int:
    import torch.distributed as dist

    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0
