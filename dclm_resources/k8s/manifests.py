"""Kubernetes objects for one training launch, generated from a ``ScaleRecipe`` and ``K8sLaunchOptions``.

Layout (documented in ``command.py`` too):
- a **ConfigMap** ``<name>-config`` holding the run's ``TrainConfig`` JSON, mounted read-only at ``/etc/dclm`` in
  every pod: the worker reads ``--config /etc/dclm/train_config.json`` exactly as it does locally.
- one **master pod** (node 0's torchrun; hosts the c10d rendezvous store). Dagster creates it through
  ``PipesK8sClient``, which streams its logs and waits for it, so the master's exit status is the launch's status.
- for N > 1 nodes, an **Indexed Job** ``<name>-workers`` with N-1 completions (one pod per further node, all with the
  same command) and a **headless Service** ``<name>-rdzv`` selecting only the master pod, whose DNS name is the
  rendezvous endpoint. ``publishNotReadyAddresses`` makes the name resolve as soon as the pod has an IP.
Every object carries labels ``dclm/launch``, ``dclm/role``, ``dclm/scale`` and ``dclm/dataset`` (plus the full
dataset name as an annotation, since label values are limited to 63 characters).
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

from dclm_resources.k8s.command import (
    CONFIG_DIR,
    CONFIG_FILE,
    POD_IP_ENV,
    Rendezvous,
    torchrun_argv,
    worker_argv,
)
from dclm_resources.k8s.options import K8sLaunchOptions, SecretRef, k8s_name, label_value
from dclm_resources.k8s.topology import NodeLayout, node_layout
from dclm_resources.k8s.validate import validate_manifest

if TYPE_CHECKING:
    from dclm_resources.modeling import ScaleRecipe
    from dclm_resources.training.config import TrainConfig

CONTAINER_NAME = "trainer"
SHM_VOLUME = "dshm"
CONFIG_VOLUME = "train-config"
# TrainConfig overrides that change how the batch splits over ranks or whether a scale needs GPUs.
LAYOUT_OVERRIDES = ("global_bs", "acc", "precision")
LABEL_PREFIX = "dclm"
APP_NAME = "dclm-train"
# Room left in a 63-character name for "-workers" and the Job controller's "-<index>" pod hostnames.
MAX_BASE_NAME = 40


@dataclass(frozen=True)
class LaunchPlan:
    """The objects of one launch in API form (camelCase dicts), ready for ``PipesK8sClient`` or ``kubectl``."""

    name: str
    namespace: str | None
    layout: NodeLayout
    master_meta: dict[str, Any]
    master_spec: dict[str, Any]
    config_map: dict[str, Any]
    service: dict[str, Any] | None
    worker_job: dict[str, Any] | None

    @property
    def master_command(self) -> list[str]:
        return list(self.master_spec["containers"][0]["command"])

    def master_pod(self, pod_name: str | None = None) -> dict[str, Any]:
        """The master as a standalone Pod manifest (``kubectl`` users; Dagster names the pod itself)."""
        meta = {**copy.deepcopy(self.master_meta), "name": pod_name or f"{self.name}-master"}
        if self.namespace:
            meta["namespace"] = self.namespace
        return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": copy.deepcopy(self.master_spec)}

    def support_objects(self) -> list[dict[str, Any]]:
        """What exists besides the master pod: ConfigMap, then (multi-node) Service and worker Job."""
        return [m for m in (self.config_map, self.service, self.worker_job) if m is not None]

    def manifests(self) -> list[dict[str, Any]]:
        """Every object in creation order (``kubectl apply`` users get the master as a named Pod)."""
        return [*self.support_objects(), self.master_pod()]

    def to_yaml(self) -> str:
        """All manifests as one multi-document YAML, for ``kubectl apply -f -``."""
        return yaml.safe_dump_all(self.manifests(), sort_keys=False)

    def validate(self) -> list[Any]:
        """Every manifest as a typed ``kubernetes`` model; raises ``ManifestError`` naming the first bad field."""
        return [validate_manifest(m) for m in self.manifests()]


def build_plan(
    recipe: ScaleRecipe,
    options: K8sLaunchOptions,
    config: TrainConfig,
    name: str,
    dataset: str | None = None,
) -> LaunchPlan:
    """The launch plan for ``config`` (whose ``scale`` is ``recipe``); bad settings raise ``ValueError``."""
    if config.scale != recipe.name:
        raise ValueError(f"train config is for scale {config.scale!r} but the recipe is {recipe.name!r}")
    if not config.data or not config.logs:
        raise ValueError("train config: data and logs are both required")
    overrides = {k: getattr(config, k) for k in LAYOUT_OVERRIDES if getattr(config, k) is not None}
    effective = dataclasses.replace(recipe, **overrides)
    layout = node_layout(effective, options.gpus_per_node, options.nodes, options.cpu_procs_per_node)
    base = k8s_name(name, MAX_BASE_NAME)
    worker = worker_argv(f"{CONFIG_DIR}/{CONFIG_FILE}")
    labels = {
        **options.labels,
        "app.kubernetes.io/name": APP_NAME,
        f"{LABEL_PREFIX}/launch": base,
        f"{LABEL_PREFIX}/scale": label_value(recipe.name),
    }
    annotations = {f"{LABEL_PREFIX}/scale": recipe.name, f"{LABEL_PREFIX}/logs": config.logs}
    if dataset:
        labels[f"{LABEL_PREFIX}/dataset"] = label_value(dataset)
        annotations[f"{LABEL_PREFIX}/dataset"] = dataset
    master_labels = {**labels, f"{LABEL_PREFIX}/role": "master"}
    config_map = _config_map(f"{base}-config", options, labels, config.to_json())
    config_name = config_map["metadata"]["name"]

    service = worker_job = None
    if layout.multi_node:
        service_name = f"{base}-rdzv"
        rdzv = Rendezvous(service_name, base, options.rdzv_port, options.rendezvous_timeout_s)
        master_cmd = torchrun_argv(layout, worker, rdzv, is_host=True)
        worker_cmd = torchrun_argv(layout, worker, rdzv, is_host=False)
        service = _service(service_name, options, labels, master_labels)
        worker_spec = pod_spec(options, layout, worker_cmd, config_name)
        worker_job = _worker_job(f"{base}-workers", options, layout, worker_spec, labels, annotations)
    else:
        master_cmd = torchrun_argv(layout, worker)
    rdzv_port = options.rdzv_port if layout.multi_node else None
    return LaunchPlan(
        name=base,
        namespace=options.namespace,
        layout=layout,
        master_meta={"labels": master_labels, "annotations": annotations},
        master_spec=pod_spec(options, layout, master_cmd, config_name, rdzv_port),
        config_map=config_map,
        service=service,
        worker_job=worker_job,
    )


def container_env(options: K8sLaunchOptions, with_pod_ip: bool) -> list[dict[str, Any]]:
    """Env of the trainer container: secrets by reference only, then plain settings, then the pod IP."""
    env: list[dict[str, Any]] = []
    if options.s3_secret_name:
        env.append(SecretRef(options.s3_secret_name, options.s3_access_key_id_key).env("AWS_ACCESS_KEY_ID"))
        env.append(SecretRef(options.s3_secret_name, options.s3_secret_access_key_key).env("AWS_SECRET_ACCESS_KEY"))
        if options.s3_session_token_key:
            token = SecretRef(options.s3_secret_name, options.s3_session_token_key, optional=True)
            env.append(token.env("AWS_SESSION_TOKEN"))
    env += [ref.env(var) for var, ref in sorted(options.secret_env.items())]
    plain = {"PYTHONUNBUFFERED": "1", **options.env}
    if options.s3_endpoint_url:
        plain["AWS_ENDPOINT_URL"] = options.s3_endpoint_url
    if options.s3_region:
        plain["AWS_DEFAULT_REGION"] = options.s3_region
    env += [{"name": k, "value": v} for k, v in plain.items()]
    if with_pod_ip:
        env.append({"name": POD_IP_ENV, "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}})
    return env


def pod_spec(
    options: K8sLaunchOptions,
    layout: NodeLayout,
    command: list[str],
    config_map: str,
    rdzv_port: int | None = None,
) -> dict[str, Any]:
    """A PodSpec running ``command`` with the layout's GPUs, CPU, memory, a memory-backed /dev/shm and the
    run's config mounted from ``config_map``."""
    cpu, memory, shm = options.pod_resources(layout.gpus_per_node, layout.nproc_per_node)
    quantities = {"cpu": cpu, "memory": memory}
    if layout.gpus_per_node:
        quantities[options.gpu_resource] = str(layout.gpus_per_node)
    container: dict[str, Any] = {
        "name": CONTAINER_NAME,
        "image": options.image,
        "imagePullPolicy": options.image_pull_policy,
        "command": command,
        "env": container_env(options, with_pod_ip=layout.multi_node),
        # Guaranteed QoS: requests == limits, so the kubelet never evicts a training pod for a neighbour.
        "resources": {"requests": dict(quantities), "limits": dict(quantities)},
        "volumeMounts": [
            {"name": SHM_VOLUME, "mountPath": "/dev/shm"},
            {"name": CONFIG_VOLUME, "mountPath": CONFIG_DIR, "readOnly": True},
        ],
    }
    if rdzv_port is not None:
        container["ports"] = [{"name": "rdzv", "containerPort": rdzv_port, "protocol": "TCP"}]
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "enableServiceLinks": False,
        "containers": [container],
        "volumes": [
            {"name": SHM_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": shm}},
            {"name": CONFIG_VOLUME, "configMap": {"name": config_map}},
        ],
    }
    if options.service_account:
        spec["serviceAccountName"] = options.service_account
    if options.node_selector:
        spec["nodeSelector"] = dict(options.node_selector)
    if options.tolerations:
        spec["tolerations"] = [t.to_api() for t in options.tolerations]
    if options.image_pull_secrets:
        spec["imagePullSecrets"] = [{"name": s} for s in options.image_pull_secrets]
    if options.priority_class_name:
        spec["priorityClassName"] = options.priority_class_name
    if options.active_deadline_seconds:
        spec["activeDeadlineSeconds"] = options.active_deadline_seconds
    return spec


def _service(
    name: str, options: K8sLaunchOptions, labels: dict[str, str], selector: dict[str, str]
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": {**labels, f"{LABEL_PREFIX}/role": "rendezvous"}}
    if options.namespace:
        meta["namespace"] = options.namespace
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {
            "clusterIP": "None",
            "publishNotReadyAddresses": True,
            "selector": {k: selector[k] for k in (f"{LABEL_PREFIX}/launch", f"{LABEL_PREFIX}/role")},
            "ports": [{"name": "rdzv", "port": options.rdzv_port, "targetPort": options.rdzv_port, "protocol": "TCP"}],
        },
    }


def _config_map(name: str, options: K8sLaunchOptions, labels: dict[str, str], config_json: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": {**labels, f"{LABEL_PREFIX}/role": "config"}}
    if options.namespace:
        meta["namespace"] = options.namespace
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {CONFIG_FILE: config_json}}


def _worker_job(
    name: str,
    options: K8sLaunchOptions,
    layout: NodeLayout,
    worker_spec: dict[str, Any],
    labels: dict[str, str],
    annotations: dict[str, str],
) -> dict[str, Any]:
    workers = layout.nodes - 1
    pod_labels = {**labels, f"{LABEL_PREFIX}/role": "worker"}
    meta: dict[str, Any] = {"name": name, "labels": pod_labels, "annotations": dict(annotations)}
    if options.namespace:
        meta["namespace"] = options.namespace
    spec: dict[str, Any] = {
        "completionMode": "Indexed",
        "completions": workers,
        "parallelism": workers,
        "backoffLimit": options.backoff_limit,
        "template": {
            "metadata": {"labels": pod_labels, "annotations": dict(annotations)},
            "spec": worker_spec,
        },
    }
    if options.ttl_seconds_after_finished is not None:
        spec["ttlSecondsAfterFinished"] = options.ttl_seconds_after_finished
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": spec}
