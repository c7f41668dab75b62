"""The container command of a training pod: ``torchrun <rendezvous> -m dclm_resources.training.worker --config F``.

Rendezvous (multi-node): torchrun's ``c10d`` backend. The rank-0 pod ("master") hosts the rendezvous TCP store
(``--rdzv-conf is_host=1``); a headless Service selecting only that pod gives it a stable DNS name, which every pod
uses as ``--rdzv-endpoint <service>:<port>``. Node ranks are assigned by the rendezvous, so every worker pod runs the
same command (no per-index arithmetic). Each pod announces its own pod IP (``--local-addr $(POD_IP)``, expanded
by Kubernetes from the downward API) so that the address torch hands to NCCL/gloo is routable whichever node wins
rank 0. Single node: ``--standalone`` (a local store on a free port).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dclm_resources.k8s.topology import NodeLayout

WORKER_MODULE = "dclm_resources.training.worker"
CONFIG_DIR = "/etc/dclm"
CONFIG_FILE = "train_config.json"
POD_IP_ENV = "POD_IP"
DEFAULT_RDZV_PORT = 29400


def worker_argv(config_path: str) -> list[str]:
    """The trainer's own arguments (after torchrun's). The one place that knows the worker's CLI.

    The worker reads a ``TrainConfig`` JSON file; in a pod it is the ConfigMap mounted at ``CONFIG_DIR``. Worker
    flags must not be prefixes of torchrun's own (argparse abbreviations: ``--logs`` would abort torchrun as an
    ambiguous ``--logs-specs``), which holds for ``--config``.
    """
    return ["-m", WORKER_MODULE, "--config", config_path]


@dataclass(frozen=True)
class Rendezvous:
    """c10d rendezvous settings shared by all pods of one launch; ``is_host`` differs between master and workers."""

    endpoint_host: str
    run_id: str
    port: int = DEFAULT_RDZV_PORT
    timeout_s: int = 900

    def __post_init__(self) -> None:
        if not 1 <= self.port <= 65535:
            raise ValueError(f"rendezvous port must be within 1..65535, got {self.port}")
        if self.timeout_s < 1:
            raise ValueError(f"rendezvous timeout_s must be positive, got {self.timeout_s}")

    @property
    def endpoint(self) -> str:
        return f"{self.endpoint_host}:{self.port}"


def torchrun_argv(
    layout: NodeLayout,
    worker: Sequence[str],
    rendezvous: Rendezvous | None = None,
    is_host: bool = False,
) -> list[str]:
    """``torchrun`` for one pod. ``rendezvous`` is required exactly when the layout spans several nodes.

    ``join_timeout`` and ``read_timeout`` both get ``rendezvous.timeout_s``: pods start at different times (image
    pulls, node scale-up) and the store client must keep retrying until the master's store is up.
    """
    argv = ["torchrun", "--nnodes", str(layout.nodes), "--nproc-per-node", str(layout.nproc_per_node)]
    if layout.multi_node:
        if rendezvous is None:
            raise ValueError(f"a {layout.nodes}-node launch needs a rendezvous endpoint")
        conf = f"is_host={int(is_host)},join_timeout={rendezvous.timeout_s},read_timeout={rendezvous.timeout_s}"
        argv += [
            "--rdzv-backend",
            "c10d",
            "--rdzv-endpoint",
            rendezvous.endpoint,
            "--rdzv-id",
            rendezvous.run_id,
            "--rdzv-conf",
            conf,
            "--local-addr",
            f"$({POD_IP_ENV})",
        ]
    else:
        if rendezvous is not None:
            raise ValueError("a single-node launch uses --standalone; do not pass a rendezvous")
        argv.append("--standalone")
    return [*argv, *worker]
