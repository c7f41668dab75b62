"""Validate manifests against the Kubernetes OpenAPI models of the ``kubernetes`` client, without a cluster.

Why our own walk: ``ApiClient.deserialize`` silently drops unknown keys, so a typo (``nodeSelecter``) would vanish
instead of failing. Here every key must be a camelCase field of the model at that path, every value must have the
model's type, required fields must be present (the models' own client-side validation), and a few API-server rules
the schema cannot express are checked too (names, label syntax, quantities, GPU requests == limits, Job restart
policy). Errors name the path, e.g. ``Job.spec.template.spec.containers[0].resources.limits['cpu']``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import kubernetes.client.models as k8s_models
from kubernetes.client import ApiClient, Configuration
from kubernetes.utils import parse_quantity

KINDS: dict[tuple[str, str], type] = {
    ("v1", "Pod"): k8s_models.V1Pod,
    ("v1", "Service"): k8s_models.V1Service,
    ("v1", "ConfigMap"): k8s_models.V1ConfigMap,
    ("batch/v1", "Job"): k8s_models.V1Job,
}
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$")
_LABEL_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_PRIMITIVES: dict[str, type | tuple[type, ...]] = {"str": str, "int": int, "bool": bool, "float": (int, float)}
# One shared configuration: building one per model takes a global logging lock (kubernetes-client issue 1921).
_CONFIG = Configuration()


class ManifestError(ValueError):
    """A manifest that the API server would reject; the message names the offending path."""


def validate_manifest(manifest: Mapping[str, Any]) -> Any:
    """The typed ``kubernetes`` model of ``manifest`` (a Pod, Service, ConfigMap or Job); raises ``ManifestError`` if invalid."""
    key = (manifest.get("apiVersion"), manifest.get("kind"))
    model_cls = KINDS.get(key)  # type: ignore[arg-type]
    if model_cls is None:
        raise ManifestError(f"unsupported apiVersion/kind {key}; known: {sorted(KINDS)}")
    model = to_model(model_cls, manifest, key[1])
    check_semantics(manifest, key[1])
    return model


def to_model(model_cls: type, data: Any, path: str) -> Any:
    """Build ``model_cls`` from API-form (camelCase) ``data``, strictly."""
    if not isinstance(data, Mapping):
        raise ManifestError(f"{path}: expected an object for {model_cls.__name__}, got {type(data).__name__}")
    by_json_key = {json_key: attr for attr, json_key in model_cls.attribute_map.items()}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        attr = by_json_key.get(key)
        if attr is None:
            raise ManifestError(
                f"{path}: unknown field {key!r} for {model_cls.__name__} (known: {sorted(by_json_key)})"
            )
        kwargs[attr] = _value(model_cls.openapi_types[attr], value, f"{path}.{key}")
    try:
        return model_cls(local_vars_configuration=_CONFIG, **kwargs)
    except ValueError as exc:
        raise ManifestError(f"{path}: {exc}") from exc


def _value(type_name: str, value: Any, path: str) -> Any:
    if value is None:
        return None
    if type_name.startswith("list["):
        if not isinstance(value, list):
            raise ManifestError(f"{path}: expected a list, got {type(value).__name__}")
        inner = type_name[5:-1]
        return [_value(inner, item, f"{path}[{i}]") for i, item in enumerate(value)]
    if type_name.startswith("dict["):
        if not isinstance(value, Mapping):
            raise ManifestError(f"{path}: expected a map, got {type(value).__name__}")
        inner = type_name[5:-1].split(",", 1)[1].strip()
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ManifestError(f"{path}: map keys must be strings, got {k!r}")
            out[k] = _value(inner, v, f"{path}[{k!r}]")
        return out
    if type_name == "object":  # IntOrString and free-form fields
        return value
    if type_name in _PRIMITIVES:
        expected = _PRIMITIVES[type_name]
        if not isinstance(value, expected) or (type_name != "bool" and isinstance(value, bool)):
            raise ManifestError(f"{path}: expected {type_name}, got {value!r}")
        return value
    if type_name in ("datetime", "date"):
        raise ManifestError(f"{path}: timestamps are server-set; do not write them")
    return to_model(getattr(k8s_models, type_name), value, path)


def check_semantics(manifest: Mapping[str, Any], kind: str) -> None:
    """API-server rules outside the OpenAPI types, for the fields our launcher writes."""
    meta = manifest.get("metadata") or {}
    _check_name(meta.get("name"), f"{kind}.metadata.name")
    _check_labels(meta.get("labels") or {}, f"{kind}.metadata.labels")
    spec = manifest.get("spec") or {}
    if kind == "Pod":
        _check_pod_spec(spec, f"{kind}.spec")
    elif kind == "Job":
        template = spec.get("template") or {}
        _check_labels((template.get("metadata") or {}).get("labels") or {}, f"{kind}.spec.template.metadata.labels")
        pod_spec = template.get("spec") or {}
        if pod_spec.get("restartPolicy") not in ("Never", "OnFailure"):
            raise ManifestError(f"{kind}.spec.template.spec.restartPolicy must be Never or OnFailure for a Job")
        _check_pod_spec(pod_spec, f"{kind}.spec.template.spec")
    elif kind == "ConfigMap":
        size = sum(len(k) + len(v.encode()) for k, v in (manifest.get("data") or {}).items())
        if size > 1024 * 1024:
            raise ManifestError(f"{kind}.data: {size} bytes exceed the 1 MiB ConfigMap limit")
    elif kind == "Service":
        _check_labels(spec.get("selector") or {}, f"{kind}.spec.selector")


def _check_name(name: Any, path: str) -> None:
    if not isinstance(name, str) or len(name) > 63 or not _DNS_LABEL.match(name):
        raise ManifestError(f"{path}: {name!r} is not a DNS-1123 label (lowercase a-z0-9 and '-', at most 63)")


def _check_labels(labels: Mapping[str, Any], path: str) -> None:
    for key, value in labels.items():
        prefix, _, name = key.rpartition("/")
        if prefix and (len(prefix) > 253 or not _LABEL_PREFIX.match(prefix)):
            raise ManifestError(f"{path}: label key prefix {prefix!r} is not a DNS subdomain")
        if len(name) > 63 or not _LABEL_NAME.match(name):
            raise ManifestError(f"{path}: label key {key!r} is invalid")
        if not isinstance(value, str) or len(value) > 63 or (value and not _LABEL_NAME.match(value)):
            raise ManifestError(f"{path}[{key!r}]: label value {value!r} is invalid (at most 63 of A-Za-z0-9-_.)")


def _check_pod_spec(spec: Mapping[str, Any], path: str) -> None:
    if spec.get("restartPolicy") == "Always":
        raise ManifestError(f"{path}.restartPolicy: a training pod must not restart forever (use Never)")
    for i, container in enumerate(spec.get("containers") or []):
        cpath = f"{path}.containers[{i}]"
        _check_name(container.get("name"), f"{cpath}.name")
        for j, env in enumerate(container.get("env") or []):
            if not _ENV_NAME.match(env.get("name", "")):
                raise ManifestError(f"{cpath}.env[{j}].name: {env.get('name')!r} is not a valid variable name")
            if "value" in env and "valueFrom" in env:
                raise ManifestError(f"{cpath}.env[{j}]: value and valueFrom are mutually exclusive")
        resources = container.get("resources") or {}
        requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
        for section, values in (("requests", requests), ("limits", limits)):
            for name, quantity in values.items():
                try:
                    parse_quantity(quantity)
                except ValueError as exc:
                    raise ManifestError(f"{cpath}.resources.{section}[{name!r}]: {exc}") from exc
        for name, quantity in requests.items():
            if name in limits and parse_quantity(quantity) > parse_quantity(limits[name]):
                raise ManifestError(f"{cpath}.resources: request {name}={quantity} exceeds its limit {limits[name]}")
            if "/" in name and name in limits and parse_quantity(quantity) != parse_quantity(limits[name]):
                raise ManifestError(f"{cpath}.resources: extended resource {name} needs requests == limits")


def serialize(model: Any) -> Any:
    """The API-form dict of a model (what ``kubectl`` would send)."""
    return ApiClient().sanitize_for_serialization(model)
