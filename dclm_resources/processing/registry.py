"""The operator registry: every DCLM mapper by its DCLM name, resolved the way DCLM's ``get_mapper`` does.

A mapper is ``fn(page, **params) -> list[page]`` (``[]`` removes, ``[page]`` keeps, several pages split). A
factory mapper is called once with the step's parameters and returns the per-page closure, so regexes, word
lists and models are built once per worker. Operator modules register themselves with :func:`mapper` /
:func:`factory`; they are imported on first lookup so ``import dclm_resources.processing`` stays cheap.

Custom operators by dotted path (``my_pkg.my_module.fn``) are refused unless the caller passes
``allow_custom=True``: a pipeline YAML is data, and must not run code the operator did not choose to trust.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Page = dict[str, Any]
PageFn = Callable[[Page], list[Page]]

# Modules holding operators, aggregators and transforms; imported lazily by _load_all().
OPERATOR_MODULES = (
    "dclm_resources.processing.filters.metadata",
    "dclm_resources.processing.filters.content",
    "dclm_resources.processing.filters.repetition",
    "dclm_resources.processing.modifiers.lines",
    "dclm_resources.processing.modifiers.text",
    "dclm_resources.processing.modifiers.sources",
    "dclm_resources.processing.enrichers.counts",
    "dclm_resources.processing.enrichers.language_id",
    "dclm_resources.processing.enrichers.quality",
    "dclm_resources.processing.aggregators",
    "dclm_resources.processing.dedup.exact",
    "dclm_resources.processing.dedup.bff",
    "dclm_resources.processing.threshold",
)


@dataclass(frozen=True)
class Operator:
    name: str
    fn: Callable[..., Any]
    is_factory: bool
    kind: str  # "filter" | "modifier" | "enricher" | "splitter"


_OPERATORS: dict[str, Operator] = {}
_AGGREGATORS: dict[str, Callable[..., Any]] = {}
_TRANSFORMS: dict[str, Callable[..., Any]] = {}
_GLOBAL_STEPS: dict[str, Callable[..., Any]] = {}
_loaded = False


class OperatorError(ValueError):
    """An operator name or its parameters cannot be used; the message names the operator and parameter."""


def _register(kind: str, is_factory: bool, name: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        key = name or fn.__name__
        if key in _OPERATORS and _OPERATORS[key].fn is not fn:
            raise RuntimeError(f"operator {key!r} registered twice")
        _OPERATORS[key] = Operator(key, fn, is_factory, kind)
        return fn

    return wrap


def mapper(kind: str, name: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a plain mapper ``fn(page, **params) -> list[page]``."""
    return _register(kind, False, name)


def factory(kind: str, name: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a factory ``fn(**params) -> (page -> list[page])`` that builds its state once."""
    return _register(kind, True, name)


def aggregator(fn: Callable[..., Any]) -> Callable[..., Any]:
    _AGGREGATORS[fn.__name__] = fn
    return fn


def transform(fn: Callable[..., Any]) -> Callable[..., Any]:
    _TRANSFORMS[fn.__name__] = fn
    return fn


def global_step(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a global (whole-dataset) step such as ``exact_dedup``.

    Contract: ``fn(inputs: list[str], output_dir: str, storage: Storage, **params) -> dict[str, dict]``. It reads
    every input shard (Ray is initialized by the caller; fan out with ``dclm_resources.compute.map_tasks``),
    writes each shard's surviving pages atomically to ``join_uri(output_dir, basename(input))`` (an empty shard
    is still written, so the next step sees every shard), and returns, per input URI, a stats dict with at least
    ``pages_in`` and ``pages_out`` (plus any step-specific keys). The runner writes the stats lines.
    """

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        _GLOBAL_STEPS[name] = fn
        return fn

    return wrap


def is_global_step(name: str) -> bool:
    _load_all()
    return name in _GLOBAL_STEPS


def get_global_step(name: str) -> Callable[..., Any]:
    _load_all()
    try:
        return _GLOBAL_STEPS[name]
    except KeyError:
        raise OperatorError(f"unknown global step {name!r}; known: {', '.join(sorted(_GLOBAL_STEPS))}") from None


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    for module in OPERATOR_MODULES:
        importlib.import_module(module)
    _loaded = True


def operator_names() -> list[str]:
    _load_all()
    return sorted(_OPERATORS)


def get_operator(name: str) -> Operator:
    _load_all()
    if name in _GLOBAL_STEPS:
        raise OperatorError(f"{name!r} is a global step: it runs over all shards in a pipeline, not page by page")
    try:
        return _OPERATORS[name]
    except KeyError:
        raise OperatorError(f"unknown operator {name!r}; known operators: {', '.join(sorted(_OPERATORS))}") from None


def _check_params(name: str, fn: Callable[..., Any], params: dict[str, Any], skip_first: bool) -> None:
    """Unknown parameter names fail here, naming the operator, instead of deep inside a Ray task."""
    sig = inspect.signature(fn)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values()):
        return
    accepted = list(sig.parameters)[1:] if skip_first else list(sig.parameters)
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise OperatorError(f"operator {name!r}: unknown parameter(s) {', '.join(unknown)}; accepted: {', '.join(accepted)}")


def _load_custom(dotted: str) -> Callable[..., Any]:
    module_name, _, attr = dotted.rpartition(".")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, attr)
    except (ImportError, AttributeError) as err:
        raise OperatorError(f"custom operator {dotted!r} cannot be loaded: {err}") from None


def get_mapper(name: str, *, allow_custom: bool = False, **params: Any) -> PageFn:
    """The callable ``page -> list[page]`` for operator ``name`` with ``params`` bound (factories built once)."""
    if "." in name:
        if not allow_custom:
            raise OperatorError(
                f"custom operator {name!r} refused: dotted-path operators run arbitrary code; "
                "enable them explicitly (allow_custom=True / --allow-custom-operators)"
            )
        fn = _load_custom(name)
        is_factory = bool(getattr(fn, "_is_factory", False))
    else:
        op = get_operator(name)
        fn, is_factory = op.fn, op.is_factory
    _check_params(name, fn, params, skip_first=not is_factory)
    if is_factory:
        return fn(**params)
    return functools.partial(fn, **params)


def get_aggregator(name: str) -> Callable[..., Any]:
    _load_all()
    try:
        return _AGGREGATORS[name]
    except KeyError:
        raise OperatorError(f"unknown aggregator {name!r}; known: {', '.join(sorted(_AGGREGATORS))}") from None


def get_transform(name: str, **params: Any) -> Callable[..., Any]:
    _load_all()
    try:
        fn = _TRANSFORMS[name]
    except KeyError:
        raise OperatorError(f"unknown transform {name!r}; known: {', '.join(sorted(_TRANSFORMS))}") from None
    return functools.partial(fn, **params)
