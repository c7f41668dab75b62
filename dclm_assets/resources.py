"""Resources per environment: the same keys everywhere, different engines behind them.

``DCLM_ENV`` picks the set: ``local`` (default: local folder or S3 home, local Ray, training with local torchrun)
or ``cluster`` (an existing Ray cluster at ``DCLM_RAY_ADDRESS``; training on Kubernetes when
``DCLM_TRAIN_IMAGE`` names the image, else local torchrun). Missing settings fail when definitions load, not mid-run.
``DCLM_TRAIN_NPROC`` sets the local training processes (default 1).
"""

from __future__ import annotations

import os
from typing import Any

from dclm_resources.ray_resource import RayCluster, local_ray
from dclm_resources.storage_resource import StorageResource
from dclm_resources.training_resource import KubernetesTraining, LocalTorchrun, TrainingLauncher

ENVIRONMENTS = ("local", "cluster")


def current_env() -> str:
    env = os.environ.get("DCLM_ENV", "local")
    if env not in ENVIRONMENTS:
        raise ValueError(f"DCLM_ENV={env!r} is not one of {', '.join(ENVIRONMENTS)}")
    return env


def _storage() -> StorageResource:
    return StorageResource(s3_endpoint_url=os.environ.get("DCLM_S3_ENDPOINT_URL") or None)


def _local_trainer() -> LocalTorchrun:
    nproc = os.environ.get("DCLM_TRAIN_NPROC", "1")
    if not nproc.isdigit() or int(nproc) < 1:
        raise ValueError(f"DCLM_TRAIN_NPROC={nproc!r} must be a positive integer")
    return LocalTorchrun(nproc_per_node=int(nproc))


def _cluster_trainer() -> TrainingLauncher:
    image = os.environ.get("DCLM_TRAIN_IMAGE")
    if not image:
        return _local_trainer()
    return KubernetesTraining(
        image=image,
        namespace=os.environ.get("DCLM_K8S_NAMESPACE") or None,
        gpus_per_node=int(os.environ.get("DCLM_K8S_GPUS_PER_NODE", "8")),
        secret_name=os.environ.get("DCLM_K8S_S3_SECRET") or None,
    )


def resources_for(env: str | None = None) -> dict[str, Any]:
    env = env or current_env()
    if env == "cluster":
        address = os.environ.get("DCLM_RAY_ADDRESS")
        if not address:
            raise ValueError("DCLM_ENV=cluster needs DCLM_RAY_ADDRESS (e.g. ray://head:10001)")
        return {"storage": _storage(), "ray": RayCluster(address=address), "trainer": _cluster_trainer()}
    num_cpus = os.environ.get("DCLM_RAY_NUM_CPUS")
    return {"storage": _storage(), "ray": local_ray(int(num_cpus) if num_cpus else None), "trainer": _local_trainer()}
