"""The DCLM task table: the 53 evaluation tasks with category, random baselines (v1 and v2), Core flag and shots.

Why a table and not code: DCLM's scores are defined by data (``eval/eval_meta_data.csv``, its ``_v1`` twin and
``eval/additional_aggregation.json``), so this project ships the same facts as data in ``dclm_assets/configs/eval/``:

- ``tasks.csv``: DCLM's columns ``Eval Task, Task Category, Task Type, #shots, #datapoints, Random baseline`` (the
  current, v2 baselines, so the file is also a valid DCLM ``--eval_meta_data``) plus ``Random baseline v1``,
  ``low_variance`` (the Core flag), ``icl_task_type``, ``dataset_uri`` and ``yaml_extra`` (the task's extra
  llm-foundry keys as a JSON object, as in DCLM's ``heavy.yaml``).
- ``additional_aggregation.json``: the named task groups (``rw_small``, ``95%_CI_above``, ``99%_CI_above``,
  ``low_variance_datasets`` = Core).

A user's own DCLM ``eval_meta_data.csv`` loads too: its single ``Random baseline`` column then serves every version.
Random baselines are percentages, as in DCLM's CSV.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

CURRENT_VERSION = "v2"
VERSIONS = ("v1", "v2")
CORE_GROUP = "low_variance_datasets"

TASKS_CSV = "tasks.csv"
AGGREGATION_JSON = "additional_aggregation.json"

# DCLM's column names (eval_meta_data.csv).
COL_TASK = "Eval Task"
COL_CATEGORY = "Task Category"
COL_TYPE = "Task Type"
COL_SHOTS = "#shots"
COL_POINTS = "#datapoints"
COL_BASELINE = "Random baseline"


class EvalMetaError(ValueError):
    """A task table or aggregation-group file is malformed; the message names the file (and line)."""


@dataclass(frozen=True)
class TaskMeta:
    """One evaluation task as DCLM describes it."""

    name: str
    category: str
    task_type: str = ""
    shots: int | None = None
    datapoints: int | None = None
    random_baselines: Mapping[str, float] = field(default_factory=dict)
    low_variance: bool | None = None
    icl_task_type: str | None = None
    dataset_uri: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def random_baseline(self, version: str = CURRENT_VERSION) -> float:
        """Chance accuracy in percent under baseline ``version`` (``v1`` or ``v2``)."""
        try:
            return self.random_baselines[version]
        except KeyError:
            raise EvalMetaError(
                f"task {self.name!r}: no random baseline for version {version!r} "
                f"(have {sorted(self.random_baselines)})"
            ) from None


@dataclass(frozen=True)
class TaskTable:
    """The task rows in file order (DCLM's aggregation iterates the CSV in this order)."""

    tasks: tuple[TaskMeta, ...]
    source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {t.name: t for t in self.tasks})

    def __iter__(self) -> Iterator[TaskMeta]:
        return iter(self.tasks)

    def __len__(self) -> int:
        return len(self.tasks)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name  # type: ignore[attr-defined]

    def __getitem__(self, name: str) -> TaskMeta:
        try:
            return self._by_name[name]  # type: ignore[attr-defined]
        except KeyError:
            raise KeyError(f"unknown task {name!r} (not in {self.source or 'the task table'})") from None

    def names(self) -> list[str]:
        return [t.name for t in self.tasks]

    def categories(self) -> list[str]:
        """Distinct categories, sorted (the order DCLM's per-category dict comes out in)."""
        return sorted({t.category for t in self.tasks})

    def core_tasks(self) -> list[str]:
        """Tasks flagged low-variance (Core) in the table, in table order."""
        return [t.name for t in self.tasks if t.low_variance]


def eval_config_dir() -> Path:
    """``dclm_assets/configs/eval``: the packaged suites, task table and aggregation groups."""
    return Path(str(resources.files("dclm_assets"))) / "configs" / "eval"


def _parse_float(value: str, where: str, column: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise EvalMetaError(f"{where}: column {column!r} is not a number: {value!r}") from None
    if not math.isfinite(number):
        raise EvalMetaError(f"{where}: column {column!r} is not finite: {value!r}")
    return number


def _parse_int(value: str | None, where: str, column: str) -> int | None:
    if value is None or value.strip() == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise EvalMetaError(f"{where}: column {column!r} is not an integer: {value!r}") from None


def _parse_bool(value: str | None, where: str, column: str) -> bool | None:
    if value is None or value.strip() == "":
        return None
    lowered = value.strip().lower()
    if lowered in ("true", "yes", "1", "y"):
        return True
    if lowered in ("false", "no", "0", "n"):
        return False
    raise EvalMetaError(f"{where}: column {column!r} is not a boolean: {value!r}")


def _row_to_task(row: dict[str, str | None], where: str, baseline_columns: dict[str, str]) -> TaskMeta:
    name = (row.get(COL_TASK) or "").strip()
    if not name:
        raise EvalMetaError(f"{where}: empty {COL_TASK!r}")
    category = (row.get(COL_CATEGORY) or "").strip()
    if not category:
        raise EvalMetaError(f"{where}: task {name!r} has no {COL_CATEGORY!r}")
    baselines = {
        version: _parse_float((row.get(column) or "").strip(), where, column)
        for version, column in baseline_columns.items()
    }
    extra_text = (row.get("yaml_extra") or "").strip()
    extra: dict[str, Any] = {}
    if extra_text:
        try:
            extra = json.loads(extra_text)
        except json.JSONDecodeError as exc:
            raise EvalMetaError(f"{where}: column 'yaml_extra' is not JSON: {exc}") from None
        if not isinstance(extra, dict):
            raise EvalMetaError(f"{where}: column 'yaml_extra' must be a JSON object")
    return TaskMeta(
        name=name,
        category=category,
        task_type=(row.get(COL_TYPE) or "").strip(),
        shots=_parse_int(row.get(COL_SHOTS), where, COL_SHOTS),
        datapoints=_parse_int(row.get(COL_POINTS), where, COL_POINTS),
        random_baselines=baselines,
        low_variance=_parse_bool(row.get("low_variance"), where, "low_variance"),
        icl_task_type=(row.get("icl_task_type") or "").strip() or None,
        dataset_uri=(row.get("dataset_uri") or "").strip() or None,
        extra=extra,
    )


def parse_task_table(text: str, source: str) -> TaskTable:
    """Parse a task table CSV (DCLM's ``eval_meta_data.csv`` or the packaged ``tasks.csv``)."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    for needed in (COL_TASK, COL_CATEGORY):
        if needed not in header:
            raise EvalMetaError(f"{source}: line 1: missing column {needed!r} (have {header})")
    baseline_columns: dict[str, str] = {}
    for version in VERSIONS:
        specific = f"{COL_BASELINE} {version}"
        if specific in header:
            baseline_columns[version] = specific
        elif COL_BASELINE in header:
            baseline_columns[version] = COL_BASELINE
    if not baseline_columns:
        raise EvalMetaError(f"{source}: line 1: missing column {COL_BASELINE!r}")
    tasks: list[TaskMeta] = []
    seen: set[str] = set()
    for row in reader:
        where = f"{source}: line {reader.line_num}"
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue
        task = _row_to_task(row, where, baseline_columns)
        if task.name in seen:
            raise EvalMetaError(f"{where}: task {task.name!r} listed twice")
        seen.add(task.name)
        tasks.append(task)
    if not tasks:
        raise EvalMetaError(f"{source}: no tasks")
    return TaskTable(tuple(tasks), source)


def load_task_table(path: str | Path | None = None) -> TaskTable:
    """The packaged task table, or a user's CSV (DCLM ``eval_meta_data.csv`` format) at ``path``."""
    target = Path(path) if path is not None else eval_config_dir() / TASKS_CSV
    try:
        text = target.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise EvalMetaError(f"{target}: cannot read task table: {exc.strerror or exc}") from None
    return parse_task_table(text, str(target))


def load_aggregation_groups(path: str | Path | None = None) -> dict[str, list[str]]:
    """Named task groups (DCLM ``additional_aggregation.json``), in file order."""
    target = Path(path) if path is not None else eval_config_dir() / AGGREGATION_JSON
    try:
        text = target.read_text(encoding="utf-8")
    except OSError as exc:
        raise EvalMetaError(f"{target}: cannot read aggregation groups: {exc.strerror or exc}") from None
    try:
        groups = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EvalMetaError(f"{target}: line {exc.lineno}: not valid JSON: {exc.msg}") from None
    if not isinstance(groups, dict):
        raise EvalMetaError(f"{target}: must be a JSON object of group name -> list of task names")
    for key, tasks in groups.items():
        if not isinstance(tasks, list) or not all(isinstance(t, str) for t in tasks):
            raise EvalMetaError(f"{target}: group {key!r} must be a list of task names")
    return {key: list(tasks) for key, tasks in groups.items()}
