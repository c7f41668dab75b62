"""Node layout per scale: the documented table, GPU-count scaling, CPU scales, and clear errors for bad layouts."""

from __future__ import annotations

import dataclasses

import pytest

from dclm_resources.k8s import DEFAULT_GPUS, node_layout
from dclm_resources.k8s.topology import ASSUMED_GPU_FLOPS, TARGET_WALL_HOURS, estimated_gpus
from dclm_tests.k8s.conftest import CPU_SCALES, GPU_SCALES, recipe

# The table in dclm_resources/k8s/topology.py, restated: nodes of 8 GPUs.
DOCUMENTED_NODES = {"400m-1x": 1, "1b-1x": 2, "1b-5x": 8, "3b-1x": 4, "7b-1x": 16, "7b-2x": 32}


@pytest.mark.parametrize("scale", GPU_SCALES)
def test_gpu_scales_follow_the_table_and_split_the_batch_evenly(scale: str) -> None:
    r = recipe(scale)
    layout = node_layout(r, gpus_per_node=8)
    assert (layout.nodes, layout.nproc_per_node, layout.gpus_per_node) == (DOCUMENTED_NODES[scale], 8, 8)
    assert layout.world_size == DEFAULT_GPUS[scale]
    per_rank = r.global_bs // layout.world_size
    assert per_rank * layout.world_size == r.global_bs and per_rank % r.acc == 0


@pytest.mark.parametrize("scale", GPU_SCALES)
def test_four_gpu_nodes_double_the_node_count(scale: str) -> None:
    layout = node_layout(recipe(scale), gpus_per_node=4)
    assert layout.nodes == 2 * DOCUMENTED_NODES[scale]
    assert layout.world_size == DEFAULT_GPUS[scale]


def test_wall_time_estimates_from_dclm_hours_stay_near_a_day() -> None:
    # DCLM's published H100-hours (1b-5x: five times 1b-1x); the table keeps every run within ~30 h.
    h100_hours = {"400m-1x": 26, "1b-1x": 240, "1b-5x": 1200, "3b-1x": 740, "7b-1x": 3700, "7b-2x": 7300}
    for scale, hours in h100_hours.items():
        assert hours / DEFAULT_GPUS[scale] <= 30, scale


@pytest.mark.parametrize("scale", CPU_SCALES)
def test_cpu_scales_run_on_one_cpu_pod(scale: str) -> None:
    layout = node_layout(recipe(scale), gpus_per_node=0, cpu_procs_per_node=2)
    assert (layout.nodes, layout.nproc_per_node, layout.gpus_per_node) == (1, 2, 0)
    on_gpu = node_layout(recipe(scale), gpus_per_node=1)
    assert (on_gpu.nodes, on_gpu.nproc_per_node, on_gpu.gpus_per_node) == (1, 1, 1)


def test_dclm_scale_on_cpu_pods_is_refused() -> None:
    with pytest.raises(ValueError, match=r"'7b-1x'.*needs GPUs.*gpus_per_node"):
        node_layout(recipe("7b-1x"), gpus_per_node=0)


def test_indivisible_batch_names_the_setting() -> None:
    with pytest.raises(ValueError, match=r"global_bs 512 is not divisible by the world size 24.*nodes"):
        node_layout(recipe("400m-1x"), gpus_per_node=8, nodes=3)
    # 1b-1x wants 16 GPUs: 6 nodes of 3 give 18 ranks, which do not divide 256.
    with pytest.raises(ValueError, match="world size 18"):
        node_layout(recipe("1b-1x"), gpus_per_node=3)
    # 400m-1x accumulates 8 steps: 512 / 128 ranks = 4 per rank cannot be split 8 ways.
    with pytest.raises(ValueError, match="not divisible by acc 8"):
        node_layout(recipe("400m-1x"), gpus_per_node=8, nodes=16)


def test_bad_counts_are_rejected() -> None:
    with pytest.raises(ValueError, match="nodes must be within"):
        node_layout(recipe("1b-1x"), gpus_per_node=8, nodes=0)
    with pytest.raises(ValueError, match="gpus_per_node must be >= 0"):
        node_layout(recipe("1b-1x"), gpus_per_node=-1)


def test_node_override_wins() -> None:
    layout = node_layout(recipe("7b-1x"), gpus_per_node=8, nodes=8)
    assert layout.nodes == 8 and layout.world_size == 64


def test_unlisted_scale_gets_gpus_from_its_flops() -> None:
    custom = dataclasses.replace(recipe("3b-1x"), name="3b-4x", tokens=4 * recipe("3b-1x").tokens)
    gpus = estimated_gpus(custom)
    hours = custom.train_flops() / ASSUMED_GPU_FLOPS / 3600
    assert gpus & (gpus - 1) == 0, "a power of two"
    assert hours / gpus <= TARGET_WALL_HOURS < hours / (gpus / 2)
    layout = node_layout(custom, gpus_per_node=8)
    assert layout.world_size == max(gpus, 8)
