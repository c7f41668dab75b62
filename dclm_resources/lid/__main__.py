"""``python -m dclm_resources.lid [OUTPUT]``: build the offline LID model (default: into the models directory)."""

from __future__ import annotations

import argparse
import os
import time


def main(argv: list[str] | None = None) -> int:
    from dclm_resources.lid.build import OFFLINE_LID_MODEL_NAME, build_offline_lid_model
    from dclm_resources.processing.enrichers.models import local_models_dir

    parser = argparse.ArgumentParser(prog="python -m dclm_resources.lid", description=__doc__)
    parser.add_argument(
        "output", nargs="?", help=f"model file to write (default: <models dir>/{OFFLINE_LID_MODEL_NAME})"
    )
    args = parser.parse_args(argv)
    output = args.output or os.path.join(local_models_dir(), OFFLINE_LID_MODEL_NAME)
    started = time.monotonic()
    path = build_offline_lid_model(output)
    print(f"{path} ({os.path.getsize(path) / 1e6:.1f} MB, {time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
