"""Ray: the fan-out helper on a local Ray, and the Dagster Ray resources on local and two-node clusters."""

from __future__ import annotations

import time

import dagster as dg
import pytest
import ray
from dagster_ray import RayResource
from ray.cluster_utils import Cluster

from dclm_resources.compute import map_tasks, ray_session
from dclm_resources.ray_resource import RayCluster, local_ray


def _square(x: int) -> int:
    return x * x


def _fail_on_three(x: int) -> int:
    if x == 3:
        raise ValueError(f"bad item {x}")
    return x


def _node_of(_: int) -> str:
    time.sleep(0.5)  # long enough that one node cannot take every task
    return ray.get_runtime_context().get_node_id()


def _add(x: int, offset: int) -> int:
    return x + offset


def test_map_tasks_needs_ray():
    if ray.is_initialized():
        pytest.skip("a Ray session is open in this process")
    with pytest.raises(RuntimeError, match="Ray is not initialized"):
        map_tasks(_square, [1])


@pytest.fixture(scope="module")
def local_session():
    with ray_session(num_cpus=2):
        yield


def test_map_tasks_keeps_input_order(local_session):
    assert map_tasks(_square, list(range(20)), progress=False) == [x * x for x in range(20)]


def test_map_tasks_passes_shared_args(local_session):
    assert map_tasks(_add, [1, 2, 3], extra_args=(10,), progress=False) == [11, 12, 13]


def test_map_tasks_reraises_the_original_error(local_session):
    with pytest.raises(ValueError, match="bad item 3"):
        map_tasks(_fail_on_three, [1, 2, 3, 4], progress=False)




@dg.asset
def nodes_used(ray: RayResource) -> dg.MaterializeResult:
    nodes = map_tasks(_node_of, list(range(8)), progress=False)
    cpus = ray_cpus()
    return dg.MaterializeResult(metadata={"nodes": len(set(nodes)), "cpus": cpus})


def ray_cpus() -> int:
    import ray as ray_module

    return int(ray_module.cluster_resources().get("CPU", 0))


def _materialize(resource: RayResource) -> dict:
    result = dg.materialize([nodes_used], resources={"ray": resource})
    assert result.success
    return {k: v.value for k, v in result.asset_materializations_for_node("nodes_used")[0].metadata.items()}


def test_local_ray_resource_uses_explicit_cpus_and_shuts_down():
    if ray.is_initialized():
        ray.shutdown()
    meta = _materialize(local_ray(num_cpus=2))
    assert meta == {"nodes": 1, "cpus": 2}
    assert not ray.is_initialized(), "the resource must shut down the Ray it started"


def test_ray_cluster_resource_on_two_nodes():
    if ray.is_initialized():
        ray.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        meta = _materialize(RayCluster(address=cluster.address))
        assert meta == {"nodes": 2, "cpus": 2}
        assert not ray.is_initialized()
    finally:
        if ray.is_initialized():
            ray.shutdown()
        cluster.shutdown()
