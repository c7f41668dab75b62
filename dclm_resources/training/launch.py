"""Local launcher: ``torchrun --standalone --nproc-per-node N -m dclm_resources.training.worker``.

Why a subprocess even on one machine: torch.distributed needs one process per device; torchrun starts them,
sets RANK/WORLD_SIZE/LOCAL_RANK and a local rendezvous, and tears all ranks down when one fails. Its output is
streamed line by line to ``log`` (the Dagster asset forwards it to the run log); a failure raises
``TrainingFailed`` carrying the last lines.
"""

from __future__ import annotations

import collections
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence

from dclm_resources.training.config import TrainConfig, TrainResult
from dclm_resources.training.trainer import train

TAIL_LINES = 40
# A worker's one-line failure, or the last line of a rank's traceback ("[rank0]: RuntimeError: ...").
_ERROR_LINE = re.compile(r"training failed: |^\[rank\d+\]: \w*(Error|Exception)\b")


class TrainingFailed(RuntimeError):
    """torchrun (or a rank) exited with an error; the message holds the exit status and the output's tail."""


def torchrun_command(nproc: int, config_path: str, result_path: str) -> list[str]:
    """The command line that starts ``nproc`` ranks of the worker on this machine."""
    return [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(nproc),
        "-m", "dclm_resources.training.worker", "--config", config_path, "--result", result_path,
    ]


def run_torchrun(
    config: TrainConfig,
    nproc: int,
    log: Callable[[str], None] | None = None,
    env: dict[str, str] | None = None,
) -> TrainResult:
    """Train with ``nproc`` local processes under torchrun; returns rank 0's result."""
    log = log or (lambda line: print(line, flush=True))
    with tempfile.TemporaryDirectory(prefix="dclm-train-") as tmp:
        config_path = os.path.join(tmp, "config.json")
        result_path = os.path.join(tmp, "result.json")
        with open(config_path, "w", encoding="utf-8") as fh:
            fh.write(config.to_json())
        child_env = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
        tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        cmd = torchrun_command(nproc, config_path, result_path)
        with subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=child_env, text=True, bufsize=1
        ) as proc:
            assert proc.stdout is not None
            errors: list[str] = []
            for line in proc.stdout:
                line = line.rstrip("\n")
                tail.append(line)
                if _ERROR_LINE.search(line) and line not in errors:
                    errors.append(line)
                log(line)
            code = proc.wait()
        if code != 0:
            cause = "\n".join(errors[:10]) or "(no error line found)"
            last = "\n".join(tail)
            raise TrainingFailed(
                f"torchrun with {nproc} process(es) exited with status {code}; the ranks reported:\n{cause}\n"
                f"last output:\n{last}"
            )
        if not os.path.isfile(result_path):
            raise TrainingFailed(f"torchrun finished but rank 0 wrote no result ({result_path})")
        with open(result_path, encoding="utf-8") as fh:
            return TrainResult.from_dict(json.load(fh))


def run_training(
    config: TrainConfig,
    nproc: int = 1,
    log: Callable[[str], None] | None = None,
    use_torchrun: bool | None = None,
    env: dict[str, str] | None = None,
) -> TrainResult:
    """Train on this machine: in this process for ``nproc == 1`` (unless ``use_torchrun``), else under torchrun."""
    if nproc < 1:
        raise ValueError(f"nproc must be at least 1, got {nproc}")
    if use_torchrun is None:
        use_torchrun = nproc > 1
    if not use_torchrun:
        if nproc != 1:
            raise ValueError("more than one process needs torchrun")
        return train(config, log=log)
    return run_torchrun(config, nproc, log=log, env=env)


__all__: Sequence[str] = ("TrainingFailed", "run_torchrun", "run_training", "torchrun_command")
