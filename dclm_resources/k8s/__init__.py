"""Kubernetes launch specs for training: node layout per scale, the torchrun command, Pod/Job/Service manifests.

Plain Python on the ``kubernetes`` client models (no Dagster, no cluster): ``build_plan`` turns a ``ScaleRecipe``
and ``K8sLaunchOptions`` into a ``LaunchPlan`` whose manifests validate against the Kubernetes OpenAPI models.
``dclm_resources.training_resource`` hands the plan to dagster-k8s.
"""

from dclm_resources.k8s.command import (
    DEFAULT_RDZV_PORT,
    WORKER_MODULE,
    Rendezvous,
    torchrun_argv,
    worker_argv,
)
from dclm_resources.k8s.manifests import LaunchPlan, build_plan, container_env, pod_spec
from dclm_resources.k8s.options import K8sLaunchOptions, SecretRef, Toleration, k8s_name, label_value
from dclm_resources.k8s.topology import DEFAULT_GPUS, NodeLayout, check_batch_divides, needs_gpu, node_layout
from dclm_resources.k8s.validate import ManifestError, serialize, to_model, validate_manifest

__all__ = [
    "DEFAULT_GPUS",
    "DEFAULT_RDZV_PORT",
    "WORKER_MODULE",
    "K8sLaunchOptions",
    "LaunchPlan",
    "ManifestError",
    "NodeLayout",
    "Rendezvous",
    "SecretRef",
    "Toleration",
    "build_plan",
    "check_batch_divides",
    "container_env",
    "k8s_name",
    "label_value",
    "needs_gpu",
    "node_layout",
    "pod_spec",
    "serialize",
    "to_model",
    "torchrun_argv",
    "validate_manifest",
    "worker_argv",
]
