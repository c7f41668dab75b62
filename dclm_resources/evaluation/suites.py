"""Evaluation suites as data: DCLM / llm-foundry eval YAMLs and the ICL task files they name.

A suite YAML (``dclm_assets/configs/eval/<name>.yaml``, or any DCLM ``eval/*.yaml``) holds top-level settings
(``max_seq_len``, ``seed``, ``device_eval_batch_size``, ...) and ``icl_tasks``: a list of task entries with DCLM's
keys (``label``, ``dataset_uri``, ``num_fewshot: [n]``, ``icl_task_type``, ``continuation_delimiter``,
``has_categories``, ``cot_delimiter``, ``question_prelimiter``, ``early_stopping_criteria``, ...). Entries are
returned as given (no defaults filled in); ``ENTRY_DEFAULTS`` lists llm-foundry's defaults for absent keys.

``dataset_uri`` is relative to the eval data directory: the folder that holds ``local_data/`` (as DCLM's runs have
it), or ``local_data/`` itself. The directory comes from the caller, else ``$DCLM_EVAL_DATA``. A task whose file is
absent is reported missing by ``resolve_task_files``, never dropped silently.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dclm_resources.evaluation.meta import eval_config_dir

ENV_DATA_DIR = "DCLM_EVAL_DATA"
LOCAL_DATA = "local_data"
SUITE_NAMES = ("light", "medium", "mmlu_and_lowvar", "heavy", "core")

ICL_TASK_TYPES = (
    "multiple_choice",
    "schema",
    "language_modeling",
    "generation_task_with_answers",
    "question_answering",  # llm-foundry's older name for generation_task_with_answers (DCLM's early YAMLs)
    "code_evaluation",
)
REQUIRED_KEYS = ("label", "dataset_uri", "num_fewshot", "icl_task_type")
# Keys llm-foundry's ICL builder reads from a task entry; anything else is most likely a typo.
KNOWN_KEYS = frozenset(
    REQUIRED_KEYS
    + (
        "continuation_delimiter",
        "prompt_string",
        "example_delimiter",
        "has_categories",
        "cot_delimiter",
        "question_prelimiter",
        "early_stopping_criteria",
        "pass_at_k",
        "num_beams",
        "batch_size",
        "max_seq_len",
        "fewshot_random_seed",
        "generations_per_sample",
        "generation_kwargs",
        "metric_names",
        "do_normalization",
        "hf_loading_vars",
        "hf_parsing_map",
    )
)
# llm-foundry's values for keys a task entry leaves out (build_icl_evaluators / get_icl_task_dataloader).
ENTRY_DEFAULTS: Mapping[str, Any] = {
    "prompt_string": "",
    "example_delimiter": "\n",
    "continuation_delimiter": " ",
    "question_prelimiter": "",
    "cot_delimiter": "",
    "has_categories": False,
    "early_stopping_criteria": None,
    "fewshot_random_seed": 1234,
    "pass_at_k": 1,
    "generations_per_sample": 1,
    "do_normalization": True,
}


class SuiteError(ValueError):
    """A suite YAML is malformed or unknown; the message names the file and the entry."""


@dataclass(frozen=True)
class Suite:
    """A loaded suite: its name, the file it came from, its task entries and its top-level settings."""

    name: str
    path: str
    tasks: tuple[dict[str, Any], ...]
    settings: dict[str, Any] = field(default_factory=dict)

    def labels(self) -> list[str]:
        return [entry["label"] for entry in self.tasks]


def suite_path(name_or_path: str | os.PathLike[str]) -> Path:
    """A packaged suite by name (``core``, ``heavy``, ...) or a YAML file path."""
    text = os.fspath(name_or_path)
    if text in SUITE_NAMES or (os.sep not in text and "/" not in text and not text.endswith((".yaml", ".yml"))):
        packaged = eval_config_dir() / f"{text}.yaml"
        if packaged.is_file():
            return packaged
        raise SuiteError(f"unknown suite {text!r}: choose one of {list(SUITE_NAMES)} or give a YAML path")
    return Path(text)


def _validate_entry(entry: Any, where: str) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise SuiteError(f"{where}: a task entry must be a mapping, got {type(entry).__name__}")
    for key in REQUIRED_KEYS:
        if entry.get(key) in (None, ""):
            raise SuiteError(f"{where}: missing required key {key!r}")
    label = entry["label"]
    if not isinstance(label, str):
        raise SuiteError(f"{where}: 'label' must be a string")
    where = f"{where} ({label})"
    unknown = sorted(set(entry) - KNOWN_KEYS)
    if unknown:
        raise SuiteError(f"{where}: unknown key(s) {unknown}; known keys: {sorted(KNOWN_KEYS)}")
    if not isinstance(entry["dataset_uri"], str):
        raise SuiteError(f"{where}: 'dataset_uri' must be a string")
    if entry["icl_task_type"] not in ICL_TASK_TYPES:
        raise SuiteError(f"{where}: icl_task_type {entry['icl_task_type']!r} is not one of {list(ICL_TASK_TYPES)}")
    shots = entry["num_fewshot"]
    shot_list = shots if isinstance(shots, list) else [shots]
    if not shot_list or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shot_list):
        raise SuiteError(f"{where}: 'num_fewshot' must be a list of non-negative integers, got {shots!r}")
    stops = entry.get("early_stopping_criteria")
    if stops is not None and not (isinstance(stops, list) and all(isinstance(s, str) for s in stops)):
        raise SuiteError(f"{where}: 'early_stopping_criteria' must be a list of strings")
    if "has_categories" in entry and not isinstance(entry["has_categories"], bool):
        raise SuiteError(f"{where}: 'has_categories' must be true or false")
    return dict(entry)


def parse_suite(document: Any, name: str, source: str) -> Suite:
    """Validate a loaded suite document (the mapping of one YAML file)."""
    if not isinstance(document, dict):
        raise SuiteError(f"{source}: a suite YAML must be a mapping with an 'icl_tasks' list")
    entries = document.get("icl_tasks")
    if not isinstance(entries, list) or not entries:
        raise SuiteError(f"{source}: 'icl_tasks' must be a non-empty list of task entries")
    tasks: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        task = _validate_entry(entry, f"{source}: icl_tasks[{index}]")
        if task["label"] in seen:
            raise SuiteError(f"{source}: icl_tasks[{index}]: label {task['label']!r} appears twice")
        seen.add(task["label"])
        tasks.append(task)
    settings = {key: value for key, value in document.items() if key != "icl_tasks"}
    return Suite(name=name, path=source, tasks=tuple(tasks), settings=settings)


def load_suite(name_or_path: str | os.PathLike[str]) -> Suite:
    """Load and validate a suite YAML (packaged name or path); the suite's name is the file stem."""
    path = suite_path(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SuiteError(f"{path}: cannot read suite: {exc.strerror or exc}") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f": line {mark.line + 1}" if mark is not None else ""
        raise SuiteError(f"{path}{line}: invalid YAML: {getattr(exc, 'problem', None) or exc}") from None
    return parse_suite(document, path.stem, str(path))


def load_suite_tasks(name_or_path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The task entries of a suite, as dicts with DCLM / llm-foundry keys."""
    return [dict(entry) for entry in load_suite(name_or_path).tasks]


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The eval data directory: the argument, else ``$DCLM_EVAL_DATA``; an error when neither is set."""
    chosen = os.fspath(data_dir) if data_dir else os.environ.get(ENV_DATA_DIR, "")
    if not chosen:
        raise SuiteError(
            f"no eval data directory: pass --data-dir (or data_dir=) or set ${ENV_DATA_DIR}; "
            "`dclm eval-data fetch` downloads llm-foundry's local_data"
        )
    return Path(chosen).expanduser()


def _is_local_data_itself(root: Path) -> bool:
    """True when ``root`` is a ``local_data`` folder rather than the folder holding it."""
    if (root / LOCAL_DATA).is_dir():
        return False
    return root.name == LOCAL_DATA or any(
        (root / category).is_dir()
        for category in ("world_knowledge", "commonsense_reasoning", "language_understanding",
                         "symbolic_problem_solving", "reading_comprehension", "safety")
    )


def resolve_dataset_path(dataset_uri: str, data_dir: str | os.PathLike[str]) -> Path:
    """Where ``dataset_uri`` (e.g. ``local_data/world_knowledge/arc_easy.jsonl``) lives under ``data_dir``.

    Absolute URIs are used as they are. With ``data_dir`` pointing at ``local_data`` itself, the ``local_data/``
    prefix is dropped, and other relative URIs (``gpqa_data/...``) resolve beside it.
    """
    uri_path = Path(dataset_uri)
    if uri_path.is_absolute():
        return uri_path
    root = Path(data_dir)
    if _is_local_data_itself(root):
        parts = uri_path.parts
        if parts and parts[0] == LOCAL_DATA:
            return root.joinpath(*parts[1:])
        return root.parent / uri_path
    return root / uri_path


def _entries(suite: Suite | str | os.PathLike[str] | Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(suite, Suite):
        return [dict(entry) for entry in suite.tasks]
    if isinstance(suite, (str, os.PathLike)):
        return load_suite_tasks(suite)
    return [dict(entry) for entry in suite]


def resolve_task_files(
    suite: Suite | str | os.PathLike[str] | Sequence[Mapping[str, Any]],
    data_dir: str | os.PathLike[str] | None = None,
) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """Split a suite's tasks by whether their data file exists.

    Returns ``(present, missing)``: ``present`` holds the task entries (copies) whose file exists, each with an
    added ``dataset_path`` (absolute path of the file); ``missing`` holds ``(label, expected path)`` for the rest.
    Every task lands in exactly one of the two lists, in suite order.
    """
    root = resolve_data_dir(data_dir)
    present: list[dict[str, Any]] = []
    missing: list[tuple[str, str]] = []
    for entry in _entries(suite):
        path = resolve_dataset_path(entry["dataset_uri"], root).resolve()
        if path.is_file():
            entry["dataset_path"] = str(path)
            present.append(entry)
        else:
            missing.append((entry["label"], str(path)))
    return present, missing
