"""DCLM's processing engine: the operator catalogue, pipeline YAMLs, the per-shard processor and the Ray runner.

Plain Python (no Dagster). ``get_mapper(name, **params)`` is the public entry point to any operator, as in DCLM.
"""

from dclm_resources.processing.registry import (
    OperatorError,
    get_aggregator,
    get_mapper,
    get_operator,
    get_transform,
    operator_names,
)

__all__ = ["OperatorError", "get_aggregator", "get_mapper", "get_operator", "get_transform", "operator_names"]
