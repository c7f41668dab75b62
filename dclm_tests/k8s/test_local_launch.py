"""``LocalTorchrun`` end to end: a Dagster asset trains ``micro`` for a few steps on 2 gloo processes."""

from pathlib import Path

import dagster as dg

from dclm_resources.modeling import load_scale
from dclm_resources.training_resource import LocalTorchrun, TrainingLaunch, TrainingLauncher
from dclm_tests.tokenization.conftest import bpe, bpe_dir, c4_texts  # noqa: F401 - fixtures
from dclm_tests.training.conftest import Shards, c4_contexts, shards  # noqa: F401 - fixtures


def test_local_torchrun_resource_trains_micro_on_two_processes(tmp_path: Path, shards: Shards) -> None:  # noqa: F811
    launches: list[TrainingLaunch] = []
    logs = tmp_path / "logs"

    @dg.asset
    def checkpoint(context: dg.AssetExecutionContext, trainer: TrainingLauncher) -> None:
        launches.append(
            trainer.launch(context, load_scale("micro"), str(shards.reference), str(logs), "micro-c4",
                           {"max_steps": 2, "checkpoint_every": 2})
        )

    result = dg.materialize([checkpoint], resources={"trainer": LocalTorchrun(nproc_per_node=2)})
    assert result.success
    (launch,) = launches
    assert (launch.backend, launch.world_size) == ("local", 2)
    train_result = launch.result
    assert train_result.world_size == 2 and train_result.steps == 2
    assert Path(train_result.checkpoint).is_file() and Path(train_result.checkpoint).is_relative_to(logs)
