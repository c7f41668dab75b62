"""DCLM pipeline YAMLs: load one source's step list, validate it up front, and group it into chunks.

Why validate first: a misspelt operator or parameter should fail in a second, naming the YAML file, the step
and the key, not after an hour of Ray tasks. Validation resolves every operator and checks its parameter names
against the registry, but builds nothing (factories may load models), so it is cheap enough to run on the
driver before any page is read.

Format (DCLM ``baselines/baselines_configs/*.yaml``): a list of ``{source: NAME, steps: [...]}``; a step is the
bare string ``commit`` or a dict ``{func: NAME, <mapper kwargs>, _aggregate: {...}}``. Keys starting with ``_``
and the keys ``func`` / ``module`` are not passed to the mapper.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from dclm_resources.processing import registry
from dclm_resources.processing.param_types import check_param_types
from dclm_resources.processing.registry import OperatorError
from dclm_resources.processing.resource_paths import ResourceNotFoundError, resolve_step_paths
from dclm_resources.processing.resource_paths import resource_dirs as all_resource_dirs
from dclm_resources.storage import Storage, basename

COMMIT = "commit"
LOCAL_CHUNK = "local"
_RESERVED_KEYS = ("func", "module")
# A global step is called as fn(inputs, output_dir, storage, **params): those three are not YAML parameters.
_GLOBAL_FIXED_PARAMS = 3


class PipelineError(ValueError):
    """A pipeline YAML that cannot run; the message names the file, the step index and the key."""


@dataclass(frozen=True)
class Aggregate:
    """One ``_aggregate`` entry: ``aggregator(values of page[key], transformed)`` stored in the step's stats."""

    key: str
    aggregator: str
    transform: str | None = None
    transform_kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """One YAML step. ``position`` counts non-commit steps: the k-th step line of a shard's stats file."""

    index: int
    func: str
    params: dict[str, Any] = field(default_factory=dict)
    aggregates: tuple[Aggregate, ...] = ()
    is_global: bool = False
    position: int | None = None

    @property
    def is_commit(self) -> bool:
        return self.func == COMMIT and self.position is None


@dataclass(frozen=True)
class Chunk:
    """A run of local steps (name ``local``) or one global step (named after it), as DCLM's runner groups them.

    ``start``/``end`` are the stats positions the chunk covers: a shard whose stats file holds ``start`` step
    lines is ready for this chunk, one holding ``end`` lines has finished it.
    """

    index: int
    name: str
    steps: tuple[Step, ...]
    start: int
    end: int

    @property
    def is_global(self) -> bool:
        return self.name != LOCAL_CHUNK


@dataclass(frozen=True)
class Pipeline:
    path: str
    source_name: str
    steps: tuple[Step, ...]
    chunks: tuple[Chunk, ...]
    allow_custom: bool = False

    @property
    def name(self) -> str:
        """The config file stem (DCLM names its output folder after it)."""
        stem = basename(self.path)
        for suffix in (".yaml", ".yml"):
            if stem.endswith(suffix):
                return stem[: -len(suffix)]
        return stem

    @property
    def positioned_steps(self) -> tuple[Step, ...]:
        """The non-commit steps, in stats-line order."""
        return tuple(s for s in self.steps if not s.is_commit)


def load_pipeline(
    path: str,
    source_name: str,
    storage: Storage | None = None,
    *,
    allow_custom: bool = False,
    resource_dirs: Sequence[str] = (),
) -> Pipeline:
    """Read ``path`` (local or s3://), pick ``source_name`` and validate every step.

    File parameters (banlists, TLD lists, models) are resolved here against ``resource_dirs`` and
    ``$DCLM_RESOURCE_DIRS``, so a missing file fails before any page is read.
    """
    storage = storage if storage is not None else Storage()
    text = storage.read_text(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise PipelineError(f"{path}: not valid YAML: {err}") from None
    return parse_pipeline(data, source_name, path, allow_custom=allow_custom, resource_dirs=resource_dirs)


def parse_pipeline(
    data: Any,
    source_name: str,
    path: str = "<pipeline>",
    *,
    allow_custom: bool = False,
    resource_dirs: Sequence[str] = (),
) -> Pipeline:
    """Validate already-parsed YAML data (a list of ``{source, steps}`` entries)."""
    raw_steps = _pick_source(data, source_name, path)
    search_dirs = all_resource_dirs(resource_dirs)
    steps: list[Step] = []
    position = 0
    for index, raw in enumerate(raw_steps):
        step = _parse_step(raw, index, position, path, allow_custom, search_dirs)
        steps.append(step)
        if not step.is_commit:
            position += 1
    if steps and steps[0].is_global:
        raise PipelineError(
            f"{path}: step 0 (func: {steps[0].func}): a global step cannot be the first step; "
            "it needs the output of a local step before it"
        )
    return Pipeline(path, source_name, tuple(steps), _chunks(steps), allow_custom)


def _pick_source(data: Any, source_name: str, path: str) -> list[Any]:
    if not isinstance(data, list):
        raise PipelineError(f"{path}: a pipeline YAML is a list of {{source, steps}} entries, got {type(data).__name__}")
    matches = []
    names = []
    for i, entry in enumerate(data):
        if not isinstance(entry, dict) or "source" not in entry:
            raise PipelineError(f"{path}: entry {i} must be a mapping with keys 'source' and 'steps'")
        names.append(str(entry["source"]))
        if entry["source"] == source_name:
            matches.append((i, entry))
    if not matches:
        raise PipelineError(
            f"{path}: no pipeline for source {source_name!r}; available sources: {', '.join(names) or '(none)'}"
        )
    if len(matches) > 1:
        raise PipelineError(f"{path}: source {source_name!r} is defined {len(matches)} times (entries "
                            f"{', '.join(str(i) for i, _ in matches)})")
    i, entry = matches[0]
    steps = entry.get("steps")
    if not isinstance(steps, list) or not steps:
        raise PipelineError(f"{path}: entry {i} (source {source_name!r}): key 'steps' must be a non-empty list")
    return steps


def _parse_step(
    raw: Any, index: int, position: int, path: str, allow_custom: bool, search_dirs: Sequence[str] = ()
) -> Step:
    where = f"{path}: step {index}"
    if raw == COMMIT:
        return Step(index, COMMIT)
    if isinstance(raw, str):
        raise PipelineError(f"{where}: the only bare-string step is 'commit', got {raw!r}")
    if not isinstance(raw, dict):
        raise PipelineError(f"{where}: a step is 'commit' or a mapping with 'func', got {type(raw).__name__}")
    func = raw.get("func")
    if not isinstance(func, str) or not func:
        raise PipelineError(f"{where}: key 'func' is missing or not a string")
    where = f"{where} (func: {func})"
    params = {k: v for k, v in raw.items() if not str(k).startswith("_") and k not in _RESERVED_KEYS}
    try:
        params = resolve_step_paths(params, search_dirs)
    except ResourceNotFoundError as err:
        raise PipelineError(f"{where}: {err}; pass the folder holding it as a resource dir") from None
    try:
        is_global = "." not in func and registry.is_global_step(func)
        if is_global:
            _check_signature(func, registry.get_global_step(func), params, skip=_GLOBAL_FIXED_PARAMS)
        else:
            _check_local(func, params, allow_custom)
        aggregates = _parse_aggregates(raw.get("_aggregate"), allow_custom)
    except OperatorError as err:
        raise PipelineError(f"{where}: {err}") from None
    except ImportError as err:  # a broken install names the step that needed the operator catalogue
        raise PipelineError(f"{where}: the operator catalogue cannot be imported: {err}") from err
    return Step(index, func, params, aggregates, is_global, position)


def _check_local(func: str, params: dict[str, Any], allow_custom: bool) -> None:
    """The registry's own parameter check, without building the mapper (factories may load models)."""
    if "." in func:
        if not allow_custom:
            raise OperatorError(
                f"custom operator {func!r} refused: dotted-path operators run arbitrary code; "
                "enable them explicitly (allow_custom=True / --allow-custom-operators)"
            )
        fn = registry._load_custom(func)
        is_factory = bool(getattr(fn, "_is_factory", False))
    else:
        op = registry.get_operator(func)
        fn, is_factory = op.fn, op.is_factory
    registry._check_params(func, fn, params, skip_first=not is_factory)
    _check_signature(func, fn, params, skip=0 if is_factory else 1)


def _check_signature(func: str, fn: Any, params: dict[str, Any], skip: int) -> None:
    """Unknown names and missing required parameters, reported with the operator's name."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return
    fixed = list(sig.parameters.values())[:skip]
    try:
        sig.bind(*([None] * len(fixed)), **params)
    except TypeError as err:
        accepted = [p for p in list(sig.parameters)[skip:]]
        raise OperatorError(f"operator {func!r}: {err}; accepted: {', '.join(accepted) or '(none)'}") from None
    wrong = check_param_types(fn, params)
    if wrong:
        raise OperatorError(f"operator {func!r}: {wrong}")


def _parse_aggregates(spec: Any, allow_custom: bool) -> tuple[Aggregate, ...]:
    if spec is None:
        return ()
    if not isinstance(spec, dict):
        raise OperatorError("key '_aggregate' must map page keys to an aggregator name or {type, transform, ...}")
    out = []
    for key, value in spec.items():
        if isinstance(value, str):
            agg = Aggregate(str(key), value)
        elif isinstance(value, dict) and isinstance(value.get("type"), str):
            transform = value.get("transform")
            if transform is not None and not isinstance(transform, str):
                raise OperatorError(f"_aggregate.{key}.transform must be a transform name")
            kwargs = {k: v for k, v in value.items() if k not in ("type", "transform")}
            agg = Aggregate(str(key), value["type"], transform, kwargs)
        else:
            raise OperatorError(f"_aggregate.{key}: expected an aggregator name or a mapping with 'type'")
        resolve_aggregate(agg, allow_custom)  # unknown names fail now, not after the step ran
        out.append(agg)
    return tuple(out)


def resolve_aggregate(agg: Aggregate, allow_custom: bool = False) -> tuple[Any, Any]:
    """``(aggregator, transform or None)`` callables for an ``_aggregate`` entry."""

    def custom(name: str) -> Any:
        if not allow_custom:
            raise OperatorError(f"custom aggregator/transform {name!r} refused: enable custom operators explicitly")
        return registry._load_custom(name)

    aggregator = custom(agg.aggregator) if "." in agg.aggregator else registry.get_aggregator(agg.aggregator)
    transform = None
    if agg.transform is not None:
        if "." in agg.transform:
            fn = custom(agg.transform)
            kwargs = agg.transform_kwargs

            def transform(value: Any, _fn: Any = fn) -> Any:
                return _fn(value, **kwargs)
        else:
            transform = registry.get_transform(agg.transform, **agg.transform_kwargs)
    return aggregator, transform


def _chunks(steps: list[Step]) -> tuple[Chunk, ...]:
    """Maximal runs of local steps (commits included) form one chunk; each global step is its own chunk."""
    chunks: list[Chunk] = []
    current: list[Step] = []
    position = 0

    def close(name: str, members: list[Step], start: int) -> None:
        end = start + sum(1 for s in members if not s.is_commit)
        chunks.append(Chunk(len(chunks), name, tuple(members), start, end))

    start = 0
    for step in steps:
        if step.is_global:
            if current:
                close(LOCAL_CHUNK, current, start)
                current = []
            close(step.func, [step], position)
            position += 1
            start = position
            continue
        current.append(step)
        if not step.is_commit:
            position += 1
    if current:
        close(LOCAL_CHUNK, current, start)
    return tuple(chunks)
