"""Manifests for every scale: valid against the Kubernetes OpenAPI models, secrets by reference only, clear errors."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest
import yaml
from dagster_k8s.models import k8s_model_from_dict, k8s_snake_case_dict
from kubernetes.client import V1ConfigMap, V1Job, V1Pod, V1Service
from torch.distributed.run import get_args_parser

from dclm_resources.k8s import (
    DEFAULT_GPUS,
    K8sLaunchOptions,
    ManifestError,
    SecretRef,
    Toleration,
    build_plan,
    serialize,
    validate_manifest,
)
from dclm_resources.k8s.command import WORKER_MODULE
from dclm_resources.training.config import TrainConfig
from dclm_tests.k8s.conftest import CPU_SCALES, GPU_SCALES, IMAGE, LOGS, options, recipe, train_config

ALL_SCALES = (*CPU_SCALES, *GPU_SCALES)
KINDS = {"Pod": V1Pod, "Service": V1Service, "Job": V1Job, "ConfigMap": V1ConfigMap}


def _plan(scale: str, **changes: object):
    opts = options(gpus_per_node=0 if scale in CPU_SCALES else 8, **changes)
    return build_plan(recipe(scale), opts, train_config(scale), f"{scale}-my_dataset", dataset="my_dataset")


def _pod_specs(plan) -> list[dict]:
    return [plan.master_spec] + ([plan.worker_job["spec"]["template"]["spec"]] if plan.worker_job else [])


@pytest.mark.parametrize("scale", ALL_SCALES)
def test_every_scale_validates_and_round_trips(scale: str) -> None:
    plan = _plan(scale)
    manifests = plan.manifests()
    models = plan.validate()
    for manifest, model in zip(manifests, models, strict=True):
        assert isinstance(model, KINDS[manifest["kind"]])
        assert serialize(model) == manifest, "nothing dropped or renamed by the models"
        # dagster-k8s's own strict loader (snake_case) accepts the same objects.
        k8s_model_from_dict(KINDS[manifest["kind"]], k8s_snake_case_dict(KINDS[manifest["kind"]], manifest))
    assert list(yaml.safe_load_all(plan.to_yaml())) == manifests
    kinds = [m["kind"] for m in manifests]
    assert kinds == (["ConfigMap", "Service", "Job", "Pod"] if plan.layout.multi_node else ["ConfigMap", "Pod"])


@pytest.mark.parametrize("scale", ["micro", "1b-1x"])
def test_the_train_config_is_mounted_for_the_worker(scale: str) -> None:
    config = train_config(scale, max_steps=100, lr=1e-3, global_bs=64 if scale == "micro" else None)
    plan = build_plan(recipe(scale), options(gpus_per_node=0 if scale == "micro" else 8), config, "run")
    data = plan.config_map["data"]
    assert TrainConfig.from_json(data["train_config.json"]) == config
    for spec in _pod_specs(plan):
        container = spec["containers"][0]
        assert {"name": "train-config", "mountPath": "/etc/dclm", "readOnly": True} in container["volumeMounts"]
        assert {"name": "train-config", "configMap": {"name": plan.config_map["metadata"]["name"]}} in spec["volumes"]
        assert container["command"][-2:] == ["--config", "/etc/dclm/train_config.json"]


def test_batch_overrides_are_checked_against_the_layout() -> None:
    with pytest.raises(ValueError, match="global_bs 100 is not divisible by the world size 16"):
        build_plan(recipe("1b-1x"), options(), train_config("1b-1x", global_bs=100), "run")
    with pytest.raises(ValueError, match="needs GPUs"):
        build_plan(recipe("micro"), options(gpus_per_node=0), train_config("micro", precision="amp_bfloat16"), "run")
    with pytest.raises(ValueError, match="train config is for scale 'micro'"):
        build_plan(recipe("1b-1x"), options(), train_config("micro"), "run")


@pytest.mark.parametrize("scale", GPU_SCALES)
def test_gpu_pods_request_the_layout(scale: str) -> None:
    plan = _plan(scale)
    for spec in _pod_specs(plan):
        container = spec["containers"][0]
        assert container["image"] == IMAGE
        res = container["resources"]
        assert res["requests"] == res["limits"]
        assert res["limits"]["nvidia.com/gpu"] == "8"
        assert spec["restartPolicy"] == "Never"
        assert {"name": "dshm", "mountPath": "/dev/shm"} in container["volumeMounts"]
        assert {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "64Gi"}} in spec["volumes"]
        args = get_args_parser().parse_args(container["command"][1:])
        assert int(args.nnodes) * int(args.nproc_per_node) == DEFAULT_GPUS[scale]
        assert args.training_script == WORKER_MODULE
        assert args.training_script_args == ["--config", "/etc/dclm/train_config.json"]
    if plan.worker_job:
        job = plan.worker_job["spec"]
        assert job["completionMode"] == "Indexed"
        assert job["completions"] == job["parallelism"] == plan.layout.nodes - 1
        assert job["backoffLimit"] == 0


@pytest.mark.parametrize("scale", CPU_SCALES)
def test_cpu_scale_pod_has_no_gpus(scale: str) -> None:
    plan = _plan(scale, cpu_procs_per_node=2)
    container = plan.master_spec["containers"][0]
    assert container["resources"]["limits"] == {"cpu": "2", "memory": "16Gi"}
    assert "--standalone" in container["command"] and "2" in container["command"]


def test_multi_node_wiring_service_selects_only_the_master() -> None:
    plan = _plan("3b-1x")
    selector = plan.service["spec"]["selector"]
    master_labels = plan.master_meta["labels"]
    worker_labels = plan.worker_job["spec"]["template"]["metadata"]["labels"]
    assert all(master_labels[k] == v for k, v in selector.items())
    assert not all(worker_labels.get(k) == v for k, v in selector.items())
    assert plan.service["spec"]["clusterIP"] == "None" and plan.service["spec"]["publishNotReadyAddresses"]
    endpoint = f"{plan.service['metadata']['name']}:29400"
    worker_cmd = plan.worker_job["spec"]["template"]["spec"]["containers"][0]["command"]
    for cmd in (plan.master_command, worker_cmd):
        assert cmd[cmd.index("--rdzv-endpoint") + 1] == endpoint
    assert "is_host=1" in plan.master_command[plan.master_command.index("--rdzv-conf") + 1]
    assert "is_host=0" in worker_cmd[worker_cmd.index("--rdzv-conf") + 1]
    envs = plan.master_spec["containers"][0]["env"]
    assert {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}} in envs
    assert plan.master_spec["containers"][0]["ports"][0]["containerPort"] == 29400


def test_labels_carry_scale_and_dataset() -> None:
    long_dataset = "DCLM baseline / fastText top-10% (OH-2.5 + ELI5) " * 3
    plan = build_plan(recipe("1b-1x"), options(), train_config("1b-1x"), "1b-1x " + long_dataset, long_dataset)
    plan.validate()
    for manifest in plan.manifests():
        labels = manifest["metadata"]["labels"]
        assert labels["dclm/scale"] == "1b-1x"
        assert len(labels["dclm/dataset"]) <= 63 and labels["dclm/dataset"].startswith("DCLM-baseline")
        assert len(manifest["metadata"]["name"]) <= 63
    assert plan.master_meta["annotations"]["dclm/dataset"] == long_dataset
    assert plan.master_meta["annotations"]["dclm/logs"] == LOGS


def test_secrets_are_references_never_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "do-not-leak-0123456789")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIADONOTLEAK")
    plan = _plan("1b-1x", secret_env={"WANDB_API_KEY": SecretRef("wandb", "api-key")}, env={"NCCL_DEBUG": "INFO"})
    text = json.dumps(plan.manifests())
    assert "do-not-leak" not in text and "AKIADONOTLEAK" not in text
    for manifest in plan.manifests():
        if manifest["kind"] in ("Service", "ConfigMap"):
            continue
        spec = manifest["spec"]["template"]["spec"] if manifest["kind"] == "Job" else manifest["spec"]
        env = {e["name"]: e for e in spec["containers"][0]["env"]}
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "WANDB_API_KEY"):
            assert "value" not in env[name] and "secretKeyRef" in env[name]["valueFrom"], name
        assert env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"] == {
            "name": "dclm-s3", "key": "AWS_SECRET_ACCESS_KEY"
        }
        assert env["AWS_SESSION_TOKEN"]["valueFrom"]["secretKeyRef"]["optional"] is True
        assert env["NCCL_DEBUG"] == {"name": "NCCL_DEBUG", "value": "INFO"}


def test_without_a_secret_the_pods_rely_on_their_service_account() -> None:
    plan = _plan("400m-1x", s3_secret_name=None, service_account="dclm-irsa", s3_endpoint_url="http://minio:9000")
    spec = plan.master_spec
    names = [e["name"] for e in spec["containers"][0]["env"]]
    assert not any(n.startswith("AWS_") and n != "AWS_ENDPOINT_URL" for n in names)
    assert spec["serviceAccountName"] == "dclm-irsa"
    plan.validate()


@pytest.mark.parametrize("name", ["AWS_SECRET_ACCESS_KEY", "HF_TOKEN", "WANDB_API_KEY", "db_password"])
def test_literal_secret_env_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match=rf"env\[{name}\] looks like a credential.*secret_env"):
        K8sLaunchOptions(image=IMAGE, env={name: "x"})


def test_scheduling_options_reach_every_pod() -> None:
    plan = _plan(
        "1b-1x",
        node_selector={"node.kubernetes.io/instance-type": "p5.48xlarge"},
        tolerations=(Toleration("nvidia.com/gpu", "Exists", effect="NoSchedule"),),
        image_pull_secrets=("regcred",),
        priority_class_name="training",
    )
    plan.validate()
    for spec in _pod_specs(plan):
        assert spec["nodeSelector"] == {"node.kubernetes.io/instance-type": "p5.48xlarge"}
        assert spec["tolerations"] == [{"operator": "Exists", "key": "nvidia.com/gpu", "effect": "NoSchedule"}]
        assert spec["imagePullSecrets"] == [{"name": "regcred"}]
        assert spec["priorityClassName"] == "training"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"image": ""}, "image must be"),
        ({"cpu": "lots"}, "cpu: 'lots' is not a Kubernetes quantity"),
        ({"memory": "16Gi", "shm_size": "32Gi"}, "shm_size 32Gi must be smaller than the pod memory 16Gi"),
        ({"image_pull_policy": "Sometimes"}, "image_pull_policy must be one of"),
        ({"namespace": "Bad_NS"}, "namespace 'Bad_NS'"),
        ({"s3_secret_name": "Bad Secret"}, "secret name 'Bad Secret'"),
        ({"gpus_per_node": 0}, "needs GPUs"),
    ],
)
def test_bad_options_give_clear_errors(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_plan(recipe("1b-1x"), options(**changes), train_config("1b-1x"), "run")


def test_bad_toleration_is_rejected() -> None:
    with pytest.raises(ValueError, match="operator Exists takes no value"):
        Toleration("gpu", "Exists", value="yes")
    with pytest.raises(ValueError, match="effect must be one of"):
        Toleration("gpu", "Equal", "yes", effect="Sometimes")


def test_validator_names_the_bad_field() -> None:
    pod = _plan("1b-1x").master_pod()
    typo = copy.deepcopy(pod)
    typo["spec"]["nodeSelecter"] = {"a": "b"}
    with pytest.raises(ManifestError, match=r"Pod\.spec: unknown field 'nodeSelecter'"):
        validate_manifest(typo)
    wrong_type = copy.deepcopy(pod)
    wrong_type["spec"]["containers"][0]["command"] = "torchrun"
    with pytest.raises(ManifestError, match=r"Pod\.spec\.containers\[0\]\.command: expected a list"):
        validate_manifest(wrong_type)
    missing = copy.deepcopy(pod)
    del missing["spec"]["containers"][0]["name"]
    with pytest.raises(ManifestError, match=r"containers\[0\].*name"):
        validate_manifest(missing)
    gpu = copy.deepcopy(pod)
    gpu["spec"]["containers"][0]["resources"]["requests"]["nvidia.com/gpu"] = "4"
    with pytest.raises(ManifestError, match="nvidia.com/gpu needs requests == limits"):
        validate_manifest(gpu)
    label = copy.deepcopy(pod)
    label["metadata"]["labels"]["dclm/dataset"] = "has spaces"
    with pytest.raises(ManifestError, match="label value 'has spaces'"):
        validate_manifest(label)
    with pytest.raises(ManifestError, match="unsupported apiVersion/kind"):
        validate_manifest({"apiVersion": "v1", "kind": "Deployment"})


def test_job_pods_must_not_restart_always() -> None:
    job = copy.deepcopy(_plan("1b-1x").worker_job)
    job["spec"]["template"]["spec"]["restartPolicy"] = "Always"
    with pytest.raises(ManifestError, match="restartPolicy must be Never or OnFailure"):
        validate_manifest(job)


def test_missing_uris_are_rejected() -> None:
    with pytest.raises(ValueError, match="data and logs are both required"):
        build_plan(recipe("1b-1x"), options(), train_config("1b-1x", data=""), "run")


def test_the_engine_does_not_import_dagster() -> None:
    """House rule: dclm_resources.k8s is plain Python; only training_resource.py knows Dagster."""
    code = "import sys, dclm_resources.k8s; print(any(m.split('.')[0].startswith('dagster') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
