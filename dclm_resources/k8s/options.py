"""Settings of a Kubernetes training launch (image, resources, secrets, scheduling), checked when built.

Secrets are references only: S3 credentials (and anything in ``secret_env``) reach the pods as ``secretKeyRef``
environment variables, so no credential is ever part of a manifest, run config or log. A literal ``env`` entry
whose name looks like a credential is refused.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from kubernetes.utils import parse_quantity

PULL_POLICIES = ("Always", "IfNotPresent", "Never")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
_SECRET_LIKE = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|API_KEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIAL", re.IGNORECASE)
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")

# Per-GPU defaults sized for 8-GPU nodes (p4d/p5 class: 96-192 vCPU, 1-2 TiB): room for the data loader workers
# and pinned host buffers, leaving headroom for the node's own daemons.
CPU_PER_GPU = 10
MEMORY_GIB_PER_GPU = 100
SHM_GIB_PER_GPU = 8
# Per-process defaults for CPU pods (the micro/small scales).
MEMORY_GIB_PER_CPU_PROC = 8
SHM_GIB_PER_CPU_PROC = 1


@dataclass(frozen=True)
class SecretRef:
    """One key of a Kubernetes Secret, read by the pod at start."""

    secret: str
    key: str
    optional: bool = False

    def __post_init__(self) -> None:
        if not self.secret or len(self.secret) > 253 or not _DNS_LABEL.match(self.secret.replace(".", "-")):
            raise ValueError(f"secret name {self.secret!r} is not a valid Kubernetes object name")
        if not _SECRET_KEY.match(self.key or ""):
            raise ValueError(f"secret key {self.key!r} of secret {self.secret!r} is invalid")

    def env(self, name: str) -> dict:
        ref = {"name": self.secret, "key": self.key}
        if self.optional:
            ref["optional"] = True
        return {"name": name, "valueFrom": {"secretKeyRef": ref}}


@dataclass(frozen=True)
class Toleration:
    key: str | None = None
    operator: str = "Equal"
    value: str | None = None
    effect: str | None = None
    toleration_seconds: int | None = None

    def __post_init__(self) -> None:
        if self.operator not in ("Equal", "Exists"):
            raise ValueError(f"toleration operator must be Equal or Exists, got {self.operator!r}")
        if self.operator == "Exists" and self.value:
            raise ValueError(f"toleration {self.key!r}: operator Exists takes no value")
        if self.operator == "Equal" and not self.key:
            raise ValueError("toleration with operator Equal needs a key")
        if self.effect is not None and self.effect not in TAINT_EFFECTS:
            raise ValueError(f"toleration effect must be one of {TAINT_EFFECTS}, got {self.effect!r}")

    def to_api(self) -> dict:
        out: dict = {"operator": self.operator}
        for api_key, value in (("key", self.key), ("value", self.value), ("effect", self.effect)):
            if value is not None:
                out[api_key] = value
        if self.toleration_seconds is not None:
            out["tolerationSeconds"] = self.toleration_seconds
        return out


@dataclass(frozen=True)
class K8sLaunchOptions:
    """Everything about where and how training pods run; ``cpu``/``memory``/``shm_size`` default from the layout."""

    image: str
    namespace: str | None = None
    gpus_per_node: int = 8
    nodes: int | None = None
    cpu_procs_per_node: int = 1
    cpu: str | None = None
    memory: str | None = None
    shm_size: str | None = None
    gpu_resource: str = "nvidia.com/gpu"
    image_pull_policy: str = "IfNotPresent"
    image_pull_secrets: tuple[str, ...] = ()
    service_account: str | None = None
    s3_secret_name: str | None = None
    s3_access_key_id_key: str = "AWS_ACCESS_KEY_ID"
    s3_secret_access_key_key: str = "AWS_SECRET_ACCESS_KEY"
    s3_session_token_key: str | None = "AWS_SESSION_TOKEN"
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    secret_env: Mapping[str, SecretRef] = field(default_factory=dict)
    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: tuple[Toleration, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    priority_class_name: str | None = None
    backoff_limit: int = 0
    ttl_seconds_after_finished: int | None = 3600
    active_deadline_seconds: int | None = None
    rdzv_port: int = 29400
    rendezvous_timeout_s: int = 900

    def __post_init__(self) -> None:
        if not self.image or any(ch.isspace() for ch in self.image):
            raise ValueError(f"image must be a non-empty image reference, got {self.image!r}")
        if self.image_pull_policy not in PULL_POLICIES:
            raise ValueError(f"image_pull_policy must be one of {PULL_POLICIES}, got {self.image_pull_policy!r}")
        if self.namespace is not None and not _DNS_LABEL.match(self.namespace):
            raise ValueError(f"namespace {self.namespace!r} is not a DNS-1123 label")
        for key in ("cpu", "memory", "shm_size"):
            value = getattr(self, key)
            if value is not None:
                try:
                    parse_quantity(value)
                except ValueError as exc:
                    raise ValueError(f"{key}: {value!r} is not a Kubernetes quantity ({exc})") from exc
        for key in ("backoff_limit", "cpu_procs_per_node", "gpus_per_node"):
            if getattr(self, key) < 0:
                raise ValueError(f"{key} must be >= 0, got {getattr(self, key)}")
        if self.s3_secret_name is not None:
            SecretRef(self.s3_secret_name, self.s3_access_key_id_key)
        for name, value in self.env.items():
            if not _ENV_NAME.match(name):
                raise ValueError(f"env: {name!r} is not a valid environment variable name")
            if not isinstance(value, str):
                raise ValueError(f"env[{name}]: values must be strings, got {type(value).__name__}")
            if _SECRET_LIKE.search(name):
                raise ValueError(
                    f"env[{name}] looks like a credential: literal secrets are never put in a manifest; "
                    "reference a Kubernetes Secret through secret_env (or s3_secret_name) instead"
                )
        for name in self.secret_env:
            if not _ENV_NAME.match(name):
                raise ValueError(f"secret_env: {name!r} is not a valid environment variable name")

    def pod_resources(self, gpus: int, cpu_procs: int) -> tuple[str, str, str]:
        """``(cpu, memory, shm_size)`` for one pod; /dev/shm counts against the memory limit, so it must fit."""
        if gpus:
            cpu, memory, shm = str(CPU_PER_GPU * gpus), f"{MEMORY_GIB_PER_GPU * gpus}Gi", f"{SHM_GIB_PER_GPU * gpus}Gi"
        else:
            cpu, memory = str(cpu_procs), f"{MEMORY_GIB_PER_CPU_PROC * cpu_procs}Gi"
            shm = f"{SHM_GIB_PER_CPU_PROC * cpu_procs}Gi"
        cpu, memory, shm = self.cpu or cpu, self.memory or memory, self.shm_size or shm
        if parse_quantity(shm) >= parse_quantity(memory):
            raise ValueError(f"shm_size {shm} must be smaller than the pod memory {memory} (shm counts against it)")
        return cpu, memory, shm


def k8s_name(raw: str, max_len: int = 63) -> str:
    """A DNS-1035 label from any text (lowercase, '-', starts with a letter); long names keep a hash suffix."""
    name = re.sub(r"[^a-z0-9-]+", "-", raw.lower()).strip("-")
    name = re.sub(r"-{2,}", "-", name)
    if not name or not name[0].isalpha():
        name = f"dclm-{name}".rstrip("-")
    if len(name) > max_len:
        digest = hashlib.sha1(raw.encode()).hexdigest()[:8]
        name = f"{name[: max_len - 9].rstrip('-')}-{digest}"
    return name


def label_value(raw: str) -> str:
    """A valid label value (at most 63 of A-Za-z0-9-_. with alphanumeric ends); long values keep a hash suffix."""
    value = re.sub(r"[^A-Za-z0-9._-]+", "-", raw).strip("-_.")
    if len(value) > 63:
        digest = hashlib.sha1(raw.encode()).hexdigest()[:8]
        value = f"{value[:54].rstrip('-_.')}-{digest}"
    return value
