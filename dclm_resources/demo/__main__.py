"""``python -m dclm_resources.demo [HOME]``: build the demo pipeline's resources without running the demo.

Useful to run ``demo.yaml`` by hand: ``dclm process --config dclm_assets/configs/pipelines/demo.yaml
--source-name demo_heuristics --resource-dir HOME/demo/resources ...`` (the LID model lands in HOME/models).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from dclm_resources.demo.resources import prepare_resources
from dclm_resources.layout import Layout, default_home


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dclm_resources.demo", description=__doc__.splitlines()[0])
    parser.add_argument("home", nargs="?", help="DCLM home folder (default: $DCLM_HOME or ~/.dclm)")
    parser.add_argument("--reference-pages", type=int, default=1000, help="quality positives to generate")
    args = parser.parse_args(argv)
    if args.home:
        os.environ["DCLM_HOME"] = args.home  # the LID model goes where the enricher will look for it
    built = prepare_resources(Layout(default_home()), reference_count=args.reference_pages)
    print(json.dumps(built.to_dict(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
