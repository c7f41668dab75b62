"""``python -m dclm_resources.training.worker --config FILE [--result FILE]``: one torchrun rank.

Why a module entry point: torchrun starts N copies of it; each reads the same config JSON, joins the process
group and trains; rank 0 writes the ``TrainResult`` JSON the launcher reads back.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from dclm_resources.storage.base import StorageError
from dclm_resources.training.config import TrainConfig
from dclm_resources.training.trainer import train


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dclm_resources.training.worker")
    parser.add_argument("--config", required=True, help="TrainConfig JSON file")
    parser.add_argument("--result", help="where rank 0 writes the TrainResult JSON")
    args = parser.parse_args(argv)
    with open(args.config, encoding="utf-8") as fh:
        config = TrainConfig.from_json(fh.read())
    rank = int(os.environ.get("RANK", "0"))
    try:
        result = train(config)
    except (ValueError, StorageError) as err:
        # Input problems: one clear line per rank instead of a traceback from every process.
        print(f"[rank {rank}] training failed: {err}", file=sys.stderr, flush=True)
        return 1
    if rank == 0 and args.result:
        tmp = f"{args.result}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(result.to_dict(), fh, indent=2)
        os.replace(tmp, args.result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
