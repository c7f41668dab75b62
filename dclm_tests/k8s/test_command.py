"""The torchrun command: parsed by torchrun's own parser, and the c10d layout actually rendezvouses (2 agents, gloo)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from torch.distributed.run import get_args_parser

from dclm_resources.k8s import NodeLayout, Rendezvous, torchrun_argv, worker_argv
from dclm_resources.k8s.command import POD_IP_ENV, WORKER_MODULE

WORKER = worker_argv("/etc/dclm/train_config.json")


def test_worker_argv_is_the_trainer_module_with_its_config() -> None:
    assert WORKER == ["-m", WORKER_MODULE, "--config", "/etc/dclm/train_config.json"]


def test_single_node_is_standalone_and_parses() -> None:
    argv = torchrun_argv(NodeLayout(1, 8, 8), WORKER)
    args = get_args_parser().parse_args(argv[1:])
    assert argv[0] == "torchrun"
    assert (args.nnodes, args.nproc_per_node, args.standalone) == ("1", "8", True)
    assert args.module and args.training_script == WORKER_MODULE
    assert args.training_script_args == WORKER[2:]


def test_multi_node_master_hosts_the_store_and_workers_join() -> None:
    layout = NodeLayout(4, 8, 8)
    rdzv = Rendezvous("run-rdzv", "run", port=29400, timeout_s=600)
    master = torchrun_argv(layout, WORKER, rdzv, is_host=True)
    worker = torchrun_argv(layout, WORKER, rdzv, is_host=False)
    for argv, host in ((master, "1"), (worker, "0")):
        args = get_args_parser().parse_args(argv[1:])
        assert (args.nnodes, args.nproc_per_node, args.rdzv_backend) == ("4", "8", "c10d")
        assert (args.rdzv_endpoint, args.rdzv_id) == ("run-rdzv:29400", "run")
        assert dict(kv.split("=") for kv in args.rdzv_conf.split(",")) == {
            "is_host": host, "join_timeout": "600", "read_timeout": "600"
        }
        assert args.local_addr == f"$({POD_IP_ENV})" and not args.standalone
        assert args.training_script_args == WORKER[2:]
    # Only is_host differs: every worker pod of the Indexed Job runs one command.
    assert [a for a in master if "is_host" not in a] == [a for a in worker if "is_host" not in a]


def test_worker_flags_must_not_abbreviate_torchrun_flags() -> None:
    """Why the worker takes ``--config``: torchrun would read a worker's ``--logs`` as its own ``--logs-specs``."""
    bare = ["torchrun", "--standalone", "-m", WORKER_MODULE, "--scale", "micro", "--logs", "runs/x"]
    with pytest.raises(SystemExit):
        get_args_parser().parse_args(bare[1:])


def test_rendezvous_mismatches_are_errors() -> None:
    with pytest.raises(ValueError, match="needs a rendezvous"):
        torchrun_argv(NodeLayout(2, 8, 8), WORKER)
    with pytest.raises(ValueError, match="single-node"):
        torchrun_argv(NodeLayout(1, 8, 8), WORKER, Rendezvous("x", "x"))
    with pytest.raises(ValueError, match="port"):
        Rendezvous("x", "x", port=0)


PROBE = textwrap.dedent(
    """
    import json, os, sys
    import torch
    import torch.distributed as dist
    dist.init_process_group("gloo")
    total = torch.tensor([dist.get_rank() + 1.0])
    dist.all_reduce(total)
    out = {"rank": dist.get_rank(), "world": dist.get_world_size(), "sum": total.item(),
           "master_addr": os.environ["MASTER_ADDR"], "argv": sys.argv[1:]}
    with open(os.path.join(os.environ["PROBE_OUT"], f"rank{dist.get_rank()}.json"), "w") as f:
        json.dump(out, f)
    dist.destroy_process_group()
    """
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_c10d_layout_rendezvouses_two_nodes_on_loopback(tmp_path: Path) -> None:
    """Two torchrun agents as two 'pods': the master hosts the store, the worker joins; gloo all-reduce works.

    Kubernetes would expand $(POD_IP); here both pods are 127.0.0.1 and the Service name is 127.0.0.1 too.
    """
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    layout = NodeLayout(2, 1, 0)
    rdzv = Rendezvous("127.0.0.1", "k8s-test", port=_free_port(), timeout_s=60)
    env = {**os.environ, "PROBE_OUT": str(tmp_path), "OMP_NUM_THREADS": "1"}
    procs = []
    for is_host in (False, True):  # the worker starts first, as on a cluster where the master pod is slower
        argv = torchrun_argv(layout, [str(script), "--config", "x.json"], rdzv, is_host)
        argv = [a.replace(f"$({POD_IP_ENV})", "127.0.0.1") for a in argv]
        cmd = [sys.executable, "-m", "torch.distributed.run", *argv[1:]]
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, out
    results = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    assert [r["world"] for r in results] == [2, 2]
    assert [r["sum"] for r in results] == [3.0, 3.0]
    assert all(r["master_addr"] == "127.0.0.1" and r["argv"] == ["--config", "x.json"] for r in results)
