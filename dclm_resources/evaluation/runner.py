"""Run DCLM task entries through ``lm_eval.evaluator.evaluate`` and collect DCLM's per-task scores.

lm-eval does the request plumbing (building requests, dispatching them to the model, data-parallel sharding
and gathering across ``torch.distributed`` ranks, per-sample bookkeeping); our tasks supply llm-foundry's prompts
and metric rules. A task whose data file is absent is listed in ``missing`` (label -> expected path), never
dropped silently.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lm_eval.api.model import LM
from lm_eval.evaluator import evaluate

from dclm_resources.evaluation.lm_eval_tasks import METRIC, DclmIclTask, MissingTaskDataError, build_icl_task
from dclm_resources.storage import Storage

log = logging.getLogger(__name__)


@dataclass
class TaskDetail:
    """One task's outcome: DCLM score, examples scored, and per-category (accuracy, count) when it has categories."""

    label: str
    score: float
    num_examples: int
    num_fewshot: int
    icl_task_type: str
    categories: dict[str, tuple[float, int]] = field(default_factory=dict)
    dataset: str = ""


@dataclass
class IclResults:
    """``scores``: {label: score} as DCLM's ``eval_metrics.icl``; ``details`` per task; ``missing`` tasks."""

    scores: dict[str, float] = field(default_factory=dict)
    details: dict[str, TaskDetail] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        return {label: d.num_examples for label, d in self.details.items()}


def build_tasks(
    task_entries: Sequence[Mapping[str, Any]],
    data_dir: str | None,
    tokenizer: Any,
    seed: int | None = None,
    storage: Storage | None = None,
) -> tuple[dict[str, DclmIclTask], dict[str, str]]:
    """Tasks by label for the entries whose data is present, and {label: expected path} for the others."""
    tasks: dict[str, DclmIclTask] = {}
    missing: dict[str, str] = {}
    for entry in task_entries:
        label = str(entry.get("label"))
        if label in tasks or label in missing:
            raise ValueError(f"task label {label!r} appears twice")
        try:
            tasks[label] = build_icl_task(entry, data_dir, tokenizer, seed=seed, storage=storage)
        except MissingTaskDataError as exc:
            log.warning("%s", exc)
            missing[label] = exc.path
    return tasks, missing


def evaluate_tasks(
    lm: LM,
    task_entries: Sequence[Mapping[str, Any]],
    data_dir: str | None,
    limit: int | float | None = None,
    seed: int | None = None,
    tokenizer: Any = None,
    storage: Storage | None = None,
) -> IclResults | None:
    """Evaluate suite task entries with ``lm``; returns the results on rank 0 and ``None`` on other ranks.

    ``seed`` overrides every task's ``fewshot_random_seed`` (DCLM's ``--seed``); ``limit`` scores only the
    first N (or fraction of) examples of each task (for tests). ``tokenizer`` defaults to ``lm.tok``.
    """
    tok = tokenizer if tokenizer is not None else getattr(lm, "tok", None)
    if tok is None:
        raise ValueError("no tokenizer: pass tokenizer= or use an LM with a .tok (the dclm model)")
    tasks, missing = build_tasks(task_entries, data_dir, tok, seed=seed, storage=storage)
    results = IclResults(missing=missing)
    if not tasks:
        return results if lm.rank == 0 else None
    output = evaluate(
        lm=lm,
        task_dict={"tasks": tasks, "groups": {}},
        limit=limit,
        bootstrap_iters=0,
        log_samples=False,
    )
    if output is None:
        return None
    for label, task in tasks.items():
        per_category = task.category_results  # filled by the task's aggregation, on rank 0, over all ranks' items
        results.scores[label] = float(output["results"][label][f"{METRIC},none"])
        results.details[label] = TaskDetail(
            label=label,
            score=results.scores[label],
            num_examples=sum(count for _, count in per_category.values()),
            num_fewshot=task.spec.num_fewshot,
            icl_task_type=task.spec.task_type,
            categories={c: v for c, v in per_category.items() if c is not None},
            dataset=task.source,
        )
    return results
