"""The Dagster seam to Ray: dagster-ray's ``LocalRay`` on one machine, ``RayCluster`` for an existing cluster.

Both are dagster-ray ``RayResource`` subclasses, so assets annotate ``ray: RayResource`` and never care which
one runs. KubeRay users can plug in ``dagster_ray.kuberay.KubeRayInteractiveJob`` under the same key.
"""

from __future__ import annotations

from urllib.parse import urlparse

from dagster_ray import LocalRay, RayResource
from pydantic import Field

from dclm_resources.compute import local_ray_init_options


class OwnLocalRay(LocalRay):
    """dagster-ray's LocalRay, always starting its own local instance (``address="local"``).

    Why: LocalRay passes ``address=None``, and Ray then joins any cluster already running on the machine and
    refuses the explicit ``num_cpus``.
    """

    @property
    def ray_address(self) -> str:  # type: ignore[override]
        return "local"


def local_ray(num_cpus: int | None = None) -> LocalRay:
    """Local Ray with explicit CPUs and no dashboard (see DESIGN §6: Ray on 2 cores)."""
    return OwnLocalRay(ray_init_options=local_ray_init_options(num_cpus))


class RayCluster(RayResource):
    """Connects to a Ray cluster that already runs (``ray://host:10001`` or a GCS ``host:port``); never deletes it."""

    address: str = Field(description="Ray cluster address, e.g. 'ray://head:10001' or '10.0.0.5:6379'.")

    @property
    def host(self) -> str:
        parsed = urlparse(self.address if "://" in self.address else f"ray://{self.address}")
        return parsed.hostname or self.address

    @property
    def ray_address(self) -> str:  # type: ignore[override]
        return self.address

    @property
    def name(self) -> str:
        return f"RayCluster({self.address})"

    @property
    def created(self) -> bool:
        return True

    @property
    def ready(self) -> bool:
        return True


def ray_resource(address: str | None = None, num_cpus: int | None = None) -> RayResource:
    return RayCluster(address=address) if address else local_ray(num_cpus)
