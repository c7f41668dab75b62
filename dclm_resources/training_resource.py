"""The Dagster seam to training: ``LocalTorchrun`` on this machine, ``KubernetesTraining`` on a cluster.

Both are ``TrainingLauncher`` resources with one method, ``launch(context, recipe, data_uri, logs_uri, name,
overrides, dataset)``; the checkpoint asset annotates ``trainer: TrainingLauncher``. Either way the trainer gets the
same ``TrainConfig`` and writes checkpoints, ``params.txt`` and the model reference under ``logs_uri``. This module is the only place that knows about Kubernetes: the manifests come from the plain-Python
``dclm_resources.k8s`` and dagster-k8s's ``PipesK8sClient`` runs the master pod (streaming its logs into the run).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import dagster as dg
import kubernetes
from dagster_k8s import PipesK8sClient
from dagster_k8s.utils import detect_current_namespace
from pydantic import Field

from dclm_resources.k8s import K8sLaunchOptions, LaunchPlan, SecretRef, Toleration, build_plan

if TYPE_CHECKING:
    from dclm_resources.modeling import ScaleRecipe
    from dclm_resources.training.config import TrainConfig

# PipesK8sClient's default is 24 h; 7b-2x trains for about 29 h on 32 nodes (see dclm_resources.k8s.topology).
DEFAULT_POD_WAIT_TIMEOUT_S = 7 * 24 * 3600.0


@dataclass
class TrainingLaunch:
    """What a launch did. ``result``: the trainer's own result (local) or the Pipes invocation (Kubernetes)."""

    backend: str
    name: str
    scale: str
    logs_uri: str
    nodes: int
    nproc_per_node: int
    result: Any = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def world_size(self) -> int:
        return self.nodes * self.nproc_per_node


class TrainingLauncher(dg.ConfigurableResource):
    """Base of the training launchers; assets depend on this type, run config picks the subclass.

    ``recipe`` names the scale; per-run changes (``max_steps``, ``lr``, ``global_bs``, ...) are ``TrainConfig``
    fields in ``overrides``, so both launchers hand the trainer the same config.
    """

    def launch(
        self,
        context: Any,
        recipe: ScaleRecipe,
        data_uri: str,
        logs_uri: str,
        name: str,
        overrides: Mapping[str, Any] | None = None,
        dataset: str | None = None,
    ) -> TrainingLaunch:
        raise NotImplementedError(f"{type(self).__name__} does not implement launch")


def train_config(
    recipe: ScaleRecipe,
    data_uri: str,
    logs_uri: str,
    name: str,
    overrides: Mapping[str, Any] | None = None,
    **defaults: Any,
) -> TrainConfig:
    """The trainer's ``TrainConfig`` for one launch; an unknown override names itself."""
    from dclm_resources.training.config import TrainConfig

    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    given = {**defaults, "name": name, **(overrides or {})}
    unknown = sorted(set(given) - fields)
    if unknown:
        raise ValueError(f"unknown training override(s) {', '.join(unknown)}; TrainConfig fields: {sorted(fields)}")
    for key in ("scale", "data", "logs"):
        if key in given:
            raise ValueError(f"override {key!r} is set by the launch itself (recipe / data_uri / logs_uri)")
    return TrainConfig(scale=recipe.name, data=data_uri, logs=logs_uri, **given)


def _log(context: Any) -> Callable[[str], None]:
    return context.log.info if context is not None else (lambda line: print(line, flush=True))


class LocalTorchrun(TrainingLauncher):
    """``torchrun --nproc-per-node N`` on this machine (gloo on CPU, NCCL when CUDA is present)."""

    nproc_per_node: int = Field(default=1, ge=1, description="Training processes on this machine.")

    def launch(
        self,
        context: Any,
        recipe: ScaleRecipe,
        data_uri: str,
        logs_uri: str,
        name: str,
        overrides: Mapping[str, Any] | None = None,
        dataset: str | None = None,
    ) -> TrainingLaunch:
        """Train here; the trainer's launcher owns torchrun, the worker's argv and its config file."""
        from dclm_resources.training.launch import run_training

        config = train_config(recipe, data_uri, logs_uri, name, overrides)
        log = _log(context)
        log(f"training {recipe.name} locally on {self.nproc_per_node} process(es) -> {logs_uri}")
        result = run_training(config, self.nproc_per_node, log=log)
        return TrainingLaunch("local", name, recipe.name, logs_uri, 1, self.nproc_per_node, result=result)


class TolerationConfig(dg.Config):
    key: str | None = None
    operator: str = "Equal"
    value: str | None = None
    effect: str | None = None
    toleration_seconds: int | None = None


class SecretKeyConfig(dg.Config):
    """An environment variable filled from one key of a Kubernetes Secret."""

    secret: str
    key: str
    optional: bool = False


class KubernetesTraining(TrainingLauncher):
    """Training pods on Kubernetes through dagster-k8s: a master pod via ``PipesK8sClient``, workers as a Job.

    Credentials are never fields: S3 keys come from the Secret ``secret_name`` (keys ``AWS_ACCESS_KEY_ID``,
    ``AWS_SECRET_ACCESS_KEY``, optional ``AWS_SESSION_TOKEN``) or from the pods' service account (IRSA).
    """

    image: str = Field(description="Container image with this project installed (torchrun on PATH).")
    namespace: str | None = Field(default=None, description="None: the current namespace, else 'default'.")
    gpus_per_node: int = Field(default=8, ge=0, description="GPUs per pod; 0 runs CPU pods (micro/small only).")
    nodes: int | None = Field(default=None, ge=1, description="Override the per-scale node count.")
    cpu_procs_per_node: int = Field(default=1, ge=1, description="Processes per CPU pod (gpus_per_node=0).")
    cpu: str | None = Field(default=None, description="CPU per pod (requests = limits); None: 10 per GPU.")
    memory: str | None = Field(default=None, description="Memory per pod; None: 100Gi per GPU (8Gi per CPU rank).")
    shm_size: str | None = Field(default=None, description="/dev/shm size (memory-backed); None: 8Gi per GPU.")
    gpu_resource: str = Field(default="nvidia.com/gpu", description="Extended resource name of a GPU.")
    image_pull_policy: str = "IfNotPresent"
    image_pull_secrets: list[str] = Field(default_factory=list)
    service_account: str | None = Field(default=None, description="Pod service account (e.g. with IRSA for S3).")
    secret_name: str | None = Field(default=None, description="Secret holding the S3 credentials.")
    secret_access_key_id_key: str = "AWS_ACCESS_KEY_ID"
    secret_secret_access_key_key: str = "AWS_SECRET_ACCESS_KEY"
    secret_session_token_key: str | None = "AWS_SESSION_TOKEN"
    s3_endpoint_url: str | None = Field(default=None, description="S3 endpoint for non-AWS stores.")
    s3_region: str | None = None
    env: dict[str, str] = Field(default_factory=dict, description="Plain (non-secret) environment variables.")
    secret_env: dict[str, SecretKeyConfig] = Field(default_factory=dict, description="Env vars from Secrets.")
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[TolerationConfig] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)
    priority_class_name: str | None = None
    backoff_limit: int = Field(default=0, ge=0, description="Retries of a failed worker pod (0: fail the launch).")
    ttl_seconds_after_finished: int | None = 3600
    active_deadline_seconds: int | None = None
    rdzv_port: int = 29400
    rendezvous_timeout_s: int = 900
    load_incluster_config: bool | None = None
    kubeconfig_file: str | None = None
    kube_context: str | None = None
    poll_interval_s: float = 10.0
    pod_wait_timeout_s: float = DEFAULT_POD_WAIT_TIMEOUT_S
    delete_on_completion: bool = True

    def launch_options(self) -> K8sLaunchOptions:
        """The engine's options; a bad value raises ``ValueError`` naming the field."""
        return K8sLaunchOptions(
            image=self.image,
            namespace=self.namespace,
            gpus_per_node=self.gpus_per_node,
            nodes=self.nodes,
            cpu_procs_per_node=self.cpu_procs_per_node,
            cpu=self.cpu,
            memory=self.memory,
            shm_size=self.shm_size,
            gpu_resource=self.gpu_resource,
            image_pull_policy=self.image_pull_policy,
            image_pull_secrets=tuple(self.image_pull_secrets),
            service_account=self.service_account,
            s3_secret_name=self.secret_name,
            s3_access_key_id_key=self.secret_access_key_id_key,
            s3_secret_access_key_key=self.secret_secret_access_key_key,
            s3_session_token_key=self.secret_session_token_key,
            s3_endpoint_url=self.s3_endpoint_url,
            s3_region=self.s3_region,
            env=dict(self.env),
            secret_env={k: SecretRef(v.secret, v.key, v.optional) for k, v in self.secret_env.items()},
            node_selector=dict(self.node_selector),
            tolerations=tuple(Toleration(**t.model_dump()) for t in self.tolerations),
            labels=dict(self.labels),
            priority_class_name=self.priority_class_name,
            backoff_limit=self.backoff_limit,
            ttl_seconds_after_finished=self.ttl_seconds_after_finished,
            active_deadline_seconds=self.active_deadline_seconds,
            rdzv_port=self.rdzv_port,
            rendezvous_timeout_s=self.rendezvous_timeout_s,
        )

    def plan(
        self,
        recipe: ScaleRecipe,
        data_uri: str,
        logs_uri: str,
        name: str,
        overrides: Mapping[str, Any] | None = None,
        dataset: str | None = None,
        launch_id: str | None = None,
    ) -> LaunchPlan:
        """The validated manifests of one launch (no cluster needed).

        ``launch_id`` (the Dagster run id's head) suffixes the Kubernetes object names so that a retry in a new
        run never collides with objects an earlier attempt left behind; the trainer's run name stays ``name``.
        """
        config = train_config(recipe, data_uri, logs_uri, name, overrides, s3_endpoint_url=self.s3_endpoint_url)
        object_name = f"{name}-{launch_id}" if launch_id else name
        plan = build_plan(recipe, self.launch_options(), config, object_name, dataset)
        plan.validate()
        return plan

    def resolve_namespace(self) -> str:
        return self.namespace or detect_current_namespace(self.kubeconfig_file) or "default"

    def pipes_client(self) -> PipesK8sClient:
        return PipesK8sClient(
            load_incluster_config=self.load_incluster_config,
            kubeconfig_file=self.kubeconfig_file,
            kube_context=self.kube_context,
            poll_interval=self.poll_interval_s,
        )

    def pipes_run_kwargs(self, plan: LaunchPlan, namespace: str) -> dict[str, Any]:
        """Keyword arguments of ``PipesK8sClient.run`` (besides ``context``) for the master pod."""
        return {
            "namespace": namespace,
            "base_pod_meta": plan.master_meta,
            "base_pod_spec": plan.master_spec,
            "extras": {
                "launch": plan.name,
                "nodes": plan.layout.nodes,
                "nproc_per_node": plan.layout.nproc_per_node,
                "command": plan.master_command,
            },
            "pod_wait_timeout": self.pod_wait_timeout_s,
            "delete_pod_on_completion": self.delete_on_completion,
        }

    def launch(
        self,
        context: Any,
        recipe: ScaleRecipe,
        data_uri: str,
        logs_uri: str,
        name: str,
        overrides: Mapping[str, Any] | None = None,
        dataset: str | None = None,
    ) -> TrainingLaunch:
        """Create the ConfigMap (and, multi-node, the rendezvous Service and worker Job), run the master through
        Pipes, and delete what was created, whether training succeeded or not."""
        run_id = getattr(context, "run_id", None)
        plan = self.plan(recipe, data_uri, logs_uri, name, overrides, dataset, run_id[:8] if run_id else None)
        namespace = self.resolve_namespace()
        client = self.pipes_client()
        support = plan.support_objects()
        self._load_kube_config()
        created: list[Mapping[str, Any]] = []
        _log(context)(
            f"training {recipe.name} on Kubernetes: {plan.layout.nodes} node(s) x {plan.layout.nproc_per_node} "
            f"in namespace {namespace}: {' '.join(plan.master_command)}"
        )
        try:
            for manifest in support:
                _create(manifest, namespace)
                created.append(manifest)
            invocation = client.run(context=context, **self.pipes_run_kwargs(plan, namespace))
        finally:
            if self.delete_on_completion:
                for manifest in reversed(created):
                    _delete(manifest, namespace)
        details = {"namespace": namespace, "command": plan.master_command, "workers_job": _name(plan.worker_job)}
        return TrainingLaunch(
            "kubernetes", plan.name, recipe.name, logs_uri, plan.layout.nodes, plan.layout.nproc_per_node,
            result=invocation, details=details,
        )

    def _load_kube_config(self) -> None:
        """The same configuration choice ``PipesK8sClient`` makes, for the objects we create ourselves."""
        if self.load_incluster_config or (
            self.load_incluster_config is None
            and self.kubeconfig_file is None
            and self.kube_context is None
            and _in_cluster()
        ):
            kubernetes.config.load_incluster_config()
        else:
            kubernetes.config.load_kube_config(config_file=self.kubeconfig_file, context=self.kube_context)


def _in_cluster() -> bool:
    return bool(os.getenv("KUBERNETES_SERVICE_HOST"))


def _name(manifest: Mapping[str, Any] | None) -> str | None:
    return None if manifest is None else manifest["metadata"]["name"]


def _create(manifest: Mapping[str, Any], namespace: str) -> None:
    if manifest["kind"] == "ConfigMap":
        kubernetes.client.CoreV1Api().create_namespaced_config_map(namespace, manifest)
    elif manifest["kind"] == "Service":
        kubernetes.client.CoreV1Api().create_namespaced_service(namespace, manifest)
    elif manifest["kind"] == "Job":
        kubernetes.client.BatchV1Api().create_namespaced_job(namespace, manifest)
    else:
        raise ValueError(f"cannot create a {manifest['kind']} here")


def _delete(manifest: Mapping[str, Any], namespace: str) -> None:
    """Best-effort cleanup: a Job's pods go with it (background propagation); already-gone objects are fine."""
    name = manifest["metadata"]["name"]
    try:
        if manifest["kind"] == "ConfigMap":
            kubernetes.client.CoreV1Api().delete_namespaced_config_map(name, namespace)
        elif manifest["kind"] == "Service":
            kubernetes.client.CoreV1Api().delete_namespaced_service(name, namespace)
        else:
            kubernetes.client.BatchV1Api().delete_namespaced_job(name, namespace, propagation_policy="Background")
    except kubernetes.client.ApiException as exc:
        if exc.status != 404:
            raise
