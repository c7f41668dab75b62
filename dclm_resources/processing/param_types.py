"""Check a pipeline step's YAML values against the operator's type hints, before any page is read.

Why: a wrong type (``min_length: "five"``) otherwise surfaces inside every Ray task as "step failed on all
pages", after the cluster started and every shard was read, without naming the key. The check is deliberately
lenient: it only rejects values of a clearly different JSON kind (a string for a number, a list for a string,
...) and accepts anything whose hint it cannot read (callables, custom classes, unresolvable names).
"""

from __future__ import annotations

import collections.abc
import inspect
import types
import typing
from typing import Any

_NUMBER = (int, float)
_JSON_KINDS = {type(None): "null", bool: "a boolean", int: "a number", float: "a number", str: "a string",
               list: "a list", dict: "a mapping"}


def check_param_types(fn: Any, params: dict[str, Any]) -> str | None:
    """A message naming the first parameter whose value cannot have the hinted type, else None."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    for name, value in params.items():
        param = sig.parameters.get(name)
        if param is None or param.annotation is inspect.Parameter.empty:
            continue
        hint = _resolve(fn, param.annotation)
        if hint is None or _accepts(hint, value) is not False:
            continue
        shown = param.annotation if isinstance(param.annotation, str) else _name(hint)
        kind = _JSON_KINDS.get(type(value), type(value).__name__)
        message = f"parameter {name!r} expects {shown}, got {kind} {value!r}"
        if isinstance(value, str) and _is_number_text(value) and _accepts(hint, 0.0):
            message += " (YAML reads 1e9 as a string; write 1.0e9)"
        return message
    return None


def _resolve(fn: Any, annotation: Any) -> Any:
    """The hint as an object; None when a string annotation names something not importable here."""
    if not isinstance(annotation, str):
        return annotation
    namespace = dict(getattr(inspect.unwrap(fn), "__globals__", {}))
    try:
        return eval(annotation, namespace)  # noqa: S307 - the operator's own annotation, from its module
    except Exception:  # noqa: BLE001 - an unreadable hint is simply not checked
        return None


def _accepts(hint: Any, value: Any) -> bool | None:
    """True / False when the hint decides, None when it is not a plain JSON-ish type."""
    if hint is Any or hint is object:
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        verdicts = [_accepts(arg, value) for arg in typing.get_args(hint)]
        if any(v is True for v in verdicts):
            return True
        return None if any(v is None for v in verdicts) else False
    if origin is typing.Literal:
        return value in typing.get_args(hint)
    if hint is type(None) or hint is None:
        return value is None
    if hint is bool:
        return isinstance(value, bool) or (type(value) is int and value in (0, 1))
    if hint in _NUMBER:
        return isinstance(value, _NUMBER) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    container = origin or hint
    if container in (list, tuple, set, frozenset, collections.abc.Sequence, collections.abc.Iterable):
        if not isinstance(value, (list, tuple)):
            return False
        args = [a for a in typing.get_args(hint) if a is not Ellipsis]
        if len(args) == 1:
            verdicts = [_accepts(args[0], item) for item in value]
            return not any(v is False for v in verdicts)
        return True
    if container in (dict, collections.abc.Mapping):
        return isinstance(value, dict)
    return None


def _name(hint: Any) -> str:
    return hint.__name__ if isinstance(hint, type) else str(hint).replace("typing.", "")


def _is_number_text(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True
