"""A Definitions for the sensor tests: the real data assets, the real sensor, and stand-ins for the model assets.

The stand-ins (checkpoint, eval_report: scale x dataset; leaderboard: unpartitioned) have the partitioning the
design gives the model assets, so the tests see the sensor request work across all three partition shapes
before the real model assets exist. ``defs`` is loaded lazily by Dagster's workspace loader in the daemon test,
with the DCLM home taken from ``$DCLM_HOME``.
"""

import os

import dagster as dg

from dclm_assets.assets.filtering import deduplicated_dataset, filtered_dataset, heuristic_filtered
from dclm_assets.assets.quality import quality_classifier
from dclm_assets.assets.raw_pool import raw_pool
from dclm_assets.assets.tokens import tokenized_shards, tokenizer
from dclm_assets.partitions import scale_dataset_partitions
from dclm_assets.sensors import submissions_sensor
from dclm_resources.ray_resource import local_ray
from dclm_resources.storage_resource import StorageResource

DATA_ASSETS = [raw_pool, heuristic_filtered, deduplicated_dataset, quality_classifier, filtered_dataset, tokenizer,
               tokenized_shards]


@dg.asset(partitions_def=scale_dataset_partitions, deps=["tokenized_shards"])
def checkpoint() -> None:
    raise NotImplementedError("stand-in: never executed by these tests")


@dg.asset(partitions_def=scale_dataset_partitions, deps=[checkpoint])
def eval_report() -> None:
    raise NotImplementedError("stand-in: never executed by these tests")


@dg.asset(deps=[eval_report])
def leaderboard() -> None:
    raise NotImplementedError("stand-in: never executed by these tests")


def build_defs(storage: StorageResource, with_model_assets: bool = True) -> dg.Definitions:
    assets = [*DATA_ASSETS, *([checkpoint, eval_report, leaderboard] if with_model_assets else [])]
    return dg.Definitions(assets=assets, sensors=[submissions_sensor],
                          resources={"storage": storage, "ray": local_ray(num_cpus=1)})


@dg.definitions
def defs() -> dg.Definitions:
    return build_defs(StorageResource(home=os.environ["DCLM_HOME"]))
