"""The training resources: Dagster config, the PipesK8sClient call they build, and launch ordering (no cluster)."""

from __future__ import annotations

import json
from typing import Any

import dagster as dg
import pytest
from dagster_k8s.pipes import build_pod_body
from dagster_pipes import DAGSTER_PIPES_CONTEXT_ENV_VAR, DAGSTER_PIPES_MESSAGES_ENV_VAR

from dclm_resources import training_resource
from dclm_resources.k8s import serialize, validate_manifest
from dclm_resources.training_resource import (
    KubernetesTraining,
    LocalTorchrun,
    SecretKeyConfig,
    TolerationConfig,
    TrainingLauncher,
    train_config,
)
from dclm_tests.k8s.conftest import DATA, IMAGE, LOGS, recipe

PIPES_ENV = {DAGSTER_PIPES_CONTEXT_ENV_VAR: "ctx", DAGSTER_PIPES_MESSAGES_ENV_VAR: "msgs"}


def _resource(**changes: Any) -> KubernetesTraining:
    fields: dict[str, Any] = {
        "image": IMAGE,
        "namespace": "dclm",
        "secret_name": "dclm-s3",
        "node_selector": {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"},
        "tolerations": [TolerationConfig(key="nvidia.com/gpu", operator="Exists", effect="NoSchedule")],
        "secret_env": {"WANDB_API_KEY": SecretKeyConfig(secret="wandb", key="api-key")},
        **changes,
    }
    return KubernetesTraining(**fields)


def _pod_from_pipes_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """What PipesK8sClient.run would submit: dagster-k8s's own pod builder, then our validator."""
    pod = build_pod_body(
        pod_name="dagster-run-1234-train",
        image=None,
        command=None,
        env_vars=PIPES_ENV,
        base_pod_meta=kwargs["base_pod_meta"],
        base_pod_spec=kwargs["base_pod_spec"],
    )
    manifest = {"apiVersion": "v1", "kind": "Pod", **serialize(pod)}
    validate_manifest(manifest)
    return manifest


@pytest.mark.parametrize("scale", ["400m-1x", "7b-2x"])
def test_pipes_run_kwargs_build_a_valid_master_pod(scale: str) -> None:
    resource = _resource()
    plan = resource.plan(recipe(scale), DATA, LOGS, f"{scale}-my_dataset", {"max_steps": 100}, "my_dataset")
    before = json.dumps(plan.master_spec, sort_keys=True)
    kwargs = resource.pipes_run_kwargs(plan, "dclm")
    assert kwargs["namespace"] == "dclm" and kwargs["delete_pod_on_completion"] is True
    assert kwargs["pod_wait_timeout"] >= 48 * 3600
    assert kwargs["extras"]["nodes"] == plan.layout.nodes
    pod = _pod_from_pipes_kwargs(kwargs)
    assert json.dumps(plan.master_spec, sort_keys=True) == before, "dagster-k8s must not mutate the plan"
    container = pod["spec"]["containers"][0]
    assert container["image"] == IMAGE and container["command"] == plan.master_command
    assert container["command"][-2:] == ["--config", "/etc/dclm/train_config.json"]
    assert '"max_steps": 100' in plan.config_map["data"]["train_config.json"]
    env = {e["name"]: e for e in container["env"]}
    assert env[DAGSTER_PIPES_CONTEXT_ENV_VAR]["value"] == "ctx"
    assert env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "dclm-s3"
    assert env["WANDB_API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "wandb", "key": "api-key"}
    assert pod["spec"]["restartPolicy"] == "Never"
    assert pod["spec"]["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}
    labels = pod["metadata"]["labels"]
    assert labels["dclm/role"] == "master" and labels["dclm/scale"] == scale
    assert labels["dclm/dataset"] == "my_dataset"


def test_resource_fields_reach_the_options() -> None:
    resource = _resource(gpus_per_node=4, nodes=8, memory="500Gi", shm_size="100Gi", backoff_limit=1)
    plan = resource.plan(recipe("7b-1x"), DATA, LOGS, "7b")
    assert (plan.layout.nodes, plan.layout.nproc_per_node) == (8, 4)
    limits = plan.master_spec["containers"][0]["resources"]["limits"]
    assert limits == {"cpu": "40", "memory": "500Gi", "nvidia.com/gpu": "4"}
    assert plan.worker_job["spec"]["backoffLimit"] == 1
    assert plan.master_spec["tolerations"] == [
        {"operator": "Exists", "key": "nvidia.com/gpu", "effect": "NoSchedule"}
    ]


def test_bad_resource_config_names_the_field() -> None:
    with pytest.raises(ValueError, match=r"env\[AWS_SECRET_ACCESS_KEY\] looks like a credential"):
        _resource(env={"AWS_SECRET_ACCESS_KEY": "x"}).plan(recipe("1b-1x"), DATA, LOGS, "run")
    with pytest.raises(ValueError, match="shm_size 64Gi must be smaller than the pod memory 32Gi"):
        _resource(memory="32Gi").plan(recipe("1b-1x"), DATA, LOGS, "run")
    with pytest.raises(ValueError, match="global_bs 256 is not divisible by the world size 24"):
        _resource(nodes=3).plan(recipe("1b-1x"), DATA, LOGS, "run")


class _FakePipes:
    def __init__(self, log: list[str], fail: bool) -> None:
        self.log, self.fail = log, fail

    def run(self, *, context: Any, **kwargs: Any) -> str:
        self.log.append(f"run master in {kwargs['namespace']}")
        if self.fail:
            raise RuntimeError("master pod failed")
        return "invocation"


class _Ctx:
    run_id = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"

    class log:  # noqa: N801 (mimics context.log)
        @staticmethod
        def info(msg: str) -> None:
            pass


@pytest.mark.parametrize("fail", [False, True])
def test_launch_creates_workers_first_and_always_cleans_up(monkeypatch: pytest.MonkeyPatch, fail: bool) -> None:
    log: list[str] = []
    monkeypatch.setattr(KubernetesTraining, "pipes_client", lambda self: _FakePipes(log, fail))
    monkeypatch.setattr(KubernetesTraining, "_load_kube_config", lambda self: log.append("config"))
    monkeypatch.setattr(training_resource, "_create", lambda m, ns: log.append(f"create {m['kind']} in {ns}"))
    monkeypatch.setattr(training_resource, "_delete", lambda m, ns: log.append(f"delete {m['kind']}"))
    resource = _resource()
    if fail:
        with pytest.raises(RuntimeError, match="master pod failed"):
            resource.launch(_Ctx(), recipe("3b-1x"), DATA, LOGS, "3b-run", dataset="my_dataset")
    else:
        launch = resource.launch(_Ctx(), recipe("3b-1x"), DATA, LOGS, "3b-run", dataset="my_dataset")
        assert (launch.backend, launch.nodes, launch.world_size, launch.result) == ("kubernetes", 4, 32, "invocation")
        assert launch.details["workers_job"] == "dclm-3b-run-0f1e2d3c-workers"
    assert log == [
        "config", "create ConfigMap in dclm", "create Service in dclm", "create Job in dclm", "run master in dclm",
        "delete Job", "delete Service", "delete ConfigMap",
    ]


def test_single_node_launch_is_just_the_pipes_pod(monkeypatch: pytest.MonkeyPatch) -> None:
    log: list[str] = []
    monkeypatch.setattr(KubernetesTraining, "pipes_client", lambda self: _FakePipes(log, False))
    monkeypatch.setattr(KubernetesTraining, "_load_kube_config", lambda self: None)
    monkeypatch.setattr(training_resource, "_create", lambda m, ns: log.append(f"create {m['kind']}"))
    monkeypatch.setattr(training_resource, "_delete", lambda m, ns: log.append(f"delete {m['kind']}"))
    launch = _resource().launch(_Ctx(), recipe("400m-1x"), DATA, LOGS, "400m-run")
    assert log == ["create ConfigMap", "run master in dclm", "delete ConfigMap"] and launch.world_size == 8


def test_namespace_falls_back_to_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(training_resource, "detect_current_namespace", lambda kubeconfig: None)
    assert _resource(namespace=None).resolve_namespace() == "default"


def test_resources_load_from_dagster_run_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dagster builds the resource from YAML-like run config (nested secrets/tolerations) and injects it."""
    seen: dict[str, Any] = {}

    @dg.asset
    def probe(trainer: TrainingLauncher) -> None:
        assert isinstance(trainer, KubernetesTraining)
        plan = trainer.plan(recipe("1b-1x"), DATA, LOGS, "1b-run", dataset="my_dataset")
        seen["kwargs"] = trainer.pipes_run_kwargs(plan, trainer.resolve_namespace())

    config = {
        "image": IMAGE,
        "namespace": "dclm",
        "secret_name": "dclm-s3",
        "secret_env": {"WANDB_API_KEY": {"secret": "wandb", "key": "api-key"}},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}],
        "node_selector": {"pool": "h100"},
    }
    result = dg.materialize(
        [probe],
        resources={"trainer": KubernetesTraining.configure_at_launch()},
        run_config={"resources": {"trainer": {"config": config}}},
    )
    assert result.success
    pod = _pod_from_pipes_kwargs(seen["kwargs"])
    assert pod["spec"]["nodeSelector"] == {"pool": "h100"}
    assert pod["spec"]["tolerations"] == [{"operator": "Exists", "key": "nvidia.com/gpu"}]


def test_overrides_become_train_config_fields() -> None:
    config = train_config(recipe("1b-1x"), DATA, LOGS, "run", {"max_steps": 5, "lr": 1e-3})
    assert (config.scale, config.data, config.logs, config.name) == ("1b-1x", DATA, LOGS, "run")
    assert (config.max_steps, config.lr) == (5, 1e-3)
    with pytest.raises(ValueError, match=r"unknown training override\(s\) max_step;"):
        train_config(recipe("1b-1x"), DATA, LOGS, "run", {"max_step": 5})
    with pytest.raises(ValueError, match="override 'logs' is set by the launch"):
        train_config(recipe("1b-1x"), DATA, LOGS, "run", {"logs": "/elsewhere"})


def test_local_launcher_config() -> None:
    assert LocalTorchrun().nproc_per_node == 1
    with pytest.raises(Exception, match="nproc_per_node"):
        LocalTorchrun(nproc_per_node=0)


def test_local_launch_hands_the_trainer_its_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """The seam only: the trainer's ``run_training`` gets the TrainConfig and process count (trained elsewhere)."""
    from dclm_resources.training import launch as local_launch

    calls: list[tuple[Any, int]] = []

    def fake_run_training(config: Any, nproc: int = 1, log: Any = None, **_: Any) -> str:
        log("started")
        calls.append((config, nproc))
        return "result"

    monkeypatch.setattr(local_launch, "run_training", fake_run_training)
    lines: list[str] = []

    class Ctx:
        class log:  # noqa: N801
            info = staticmethod(lines.append)

    launch = LocalTorchrun(nproc_per_node=2).launch(Ctx(), recipe("1b-1x"), DATA, LOGS, "run", {"max_steps": 3})
    (config, nproc), = calls
    assert nproc == 2 and (config.scale, config.max_steps, config.logs) == ("1b-1x", 3, LOGS)
    assert (launch.backend, launch.world_size, launch.result) == ("local", 2, "result")
    assert lines[-1] == "started"
