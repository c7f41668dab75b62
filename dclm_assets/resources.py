"""Resources per environment: the same keys everywhere, different engines behind them.

``DCLM_ENV`` picks the set: ``local`` (default: local folder or S3 home, local Ray) or ``cluster`` (an existing
Ray cluster at ``DCLM_RAY_ADDRESS``). Missing settings fail when definitions load, not mid-run.
"""

from __future__ import annotations

import os
from typing import Any

from dclm_resources.ray_resource import RayCluster, local_ray
from dclm_resources.storage_resource import StorageResource

ENVIRONMENTS = ("local", "cluster")


def current_env() -> str:
    env = os.environ.get("DCLM_ENV", "local")
    if env not in ENVIRONMENTS:
        raise ValueError(f"DCLM_ENV={env!r} is not one of {', '.join(ENVIRONMENTS)}")
    return env


def _storage() -> StorageResource:
    return StorageResource(s3_endpoint_url=os.environ.get("DCLM_S3_ENDPOINT_URL") or None)


def resources_for(env: str | None = None) -> dict[str, Any]:
    env = env or current_env()
    if env == "cluster":
        address = os.environ.get("DCLM_RAY_ADDRESS")
        if not address:
            raise ValueError("DCLM_ENV=cluster needs DCLM_RAY_ADDRESS (e.g. ray://head:10001)")
        return {"storage": _storage(), "ray": RayCluster(address=address)}
    num_cpus = os.environ.get("DCLM_RAY_NUM_CPUS")
    return {"storage": _storage(), "ray": local_ray(int(num_cpus) if num_cpus else None)}
