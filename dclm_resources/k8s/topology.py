"""How many nodes and processes a scale trains on: the layout a Kubernetes launch asks for.

DCLM reports the H100-hours each scale cost (``dclm.md`` §5.3). The default layout gives every GPU scale a power of
two of GPUs that keeps the wall time near a day and divides the global batch evenly over ranks and accumulation steps:

| scale   | GPUs | nodes @ 8 GPUs | DCLM H100-h | est. wall | per-GPU batch (global_bs / GPUs / acc) |
|---------|------|----------------|-------------|-----------|----------------------------------------|
| 400m-1x | 8    | 1              | 26          | ~3 h      | 512 / 8 / 8 = 8                        |
| 1b-1x   | 16   | 2              | 240         | ~15 h     | 256 / 16 / 1 = 16                      |
| 1b-5x   | 64   | 8              | ~1200 (5x)  | ~19 h     | 256 / 64 / 1 = 4                       |
| 3b-1x   | 32   | 4              | 740         | ~23 h     | 256 / 32 / 1 = 8                       |
| 7b-1x   | 128  | 16             | 3700        | ~29 h     | 2048 / 128 / 2 = 8                     |
| 7b-2x   | 256  | 32             | 7300        | ~29 h     | 2048 / 256 / 2 = 4                     |

The table is in GPUs, so nodes with 4 GPUs simply get twice as many nodes. The CPU scales (``micro``, ``small``)
run on one node with ``cpu_procs_per_node`` gloo processes. A scale outside the table (a user's own recipe) gets
the GPUs its train FLOPs need at ``ASSUMED_GPU_FLOPS`` to finish within ``TARGET_WALL_HOURS``, rounded up to a power
of two. ``nodes`` overrides everything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dclm_resources.modeling import ScaleRecipe

DEFAULT_GPUS: dict[str, int] = {
    "400m-1x": 8,
    "1b-1x": 16,
    "1b-5x": 64,
    "3b-1x": 32,
    "7b-1x": 128,
    "7b-2x": 256,
}
# Precisions that only make sense on accelerators (the CPU scales train in fp32).
GPU_PRECISIONS = ("amp_bfloat16", "amp_bf16", "amp", "bf16", "fp16", "pure_bf16", "pure_fp16")
# Effective training throughput per GPU assumed for scales outside the table: about what DCLM's H100-hours imply
# for its 1B and 3B runs (6·N·D / H100-seconds ≈ 2.8e14 and 3.5e14 FLOP/s).
ASSUMED_GPU_FLOPS = 3.0e14
TARGET_WALL_HOURS = 24.0
MAX_NODES = 512


@dataclass(frozen=True)
class NodeLayout:
    """``nodes`` pods, each running ``nproc_per_node`` ranks; ``gpus_per_node`` is 0 for CPU pods."""

    nodes: int
    nproc_per_node: int
    gpus_per_node: int

    @property
    def world_size(self) -> int:
        return self.nodes * self.nproc_per_node

    @property
    def multi_node(self) -> bool:
        return self.nodes > 1


def needs_gpu(recipe: ScaleRecipe) -> bool:
    """A DCLM scale (in the table, or trained in a reduced precision) is not trainable on CPU pods."""
    return recipe.name in DEFAULT_GPUS or recipe.precision in GPU_PRECISIONS


def estimated_gpus(recipe: ScaleRecipe) -> int:
    """GPUs for a scale outside the table: 6·N·D at ``ASSUMED_GPU_FLOPS`` within ``TARGET_WALL_HOURS``."""
    gpu_seconds = recipe.train_flops() / ASSUMED_GPU_FLOPS
    wanted = max(1, math.ceil(gpu_seconds / (TARGET_WALL_HOURS * 3600)))
    return 1 << (wanted - 1).bit_length()


def node_layout(
    recipe: ScaleRecipe,
    gpus_per_node: int,
    nodes: int | None = None,
    cpu_procs_per_node: int = 1,
) -> NodeLayout:
    """The layout for ``recipe``; every inconsistency is a ``ValueError`` naming the setting to change."""
    if gpus_per_node < 0:
        raise ValueError(f"gpus_per_node must be >= 0, got {gpus_per_node}")
    if cpu_procs_per_node < 1:
        raise ValueError(f"cpu_procs_per_node must be >= 1, got {cpu_procs_per_node}")
    if nodes is not None and not 1 <= nodes <= MAX_NODES:
        raise ValueError(f"nodes must be within 1..{MAX_NODES}, got {nodes}")
    if gpus_per_node == 0:
        if needs_gpu(recipe):
            raise ValueError(
                f"scale {recipe.name!r} (precision {recipe.precision}) needs GPUs: set gpus_per_node > 0 "
                "(only the CPU scales train on CPU pods)"
            )
        layout = NodeLayout(nodes or 1, cpu_procs_per_node, 0)
    else:
        if nodes is None:
            gpus = DEFAULT_GPUS.get(recipe.name) if needs_gpu(recipe) else gpus_per_node
            if gpus is None:
                gpus = estimated_gpus(recipe)
            nodes = min(MAX_NODES, max(1, math.ceil(gpus / gpus_per_node)))
        layout = NodeLayout(nodes, gpus_per_node, gpus_per_node)
    check_batch_divides(recipe, layout)
    return layout


def check_batch_divides(recipe: ScaleRecipe, layout: NodeLayout) -> None:
    """DCLM asserts ``global_bs % world_size == 0``; accumulation then splits each rank's share evenly."""
    world, acc = layout.world_size, max(1, recipe.acc)
    if recipe.global_bs % world:
        raise ValueError(
            f"scale {recipe.name!r}: global_bs {recipe.global_bs} is not divisible by the world size {world} "
            f"({layout.nodes} nodes x {layout.nproc_per_node} processes); change nodes or gpus_per_node"
        )
    if (recipe.global_bs // world) % acc:
        raise ValueError(
            f"scale {recipe.name!r}: the per-rank batch {recipe.global_bs // world} is not divisible by acc {acc} "
            f"at world size {world}; change nodes or gpus_per_node"
        )
