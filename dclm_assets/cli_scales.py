"""``dclm scales [--json]``: the training scales with parameters, tokens, train FLOPs and batch size."""

from __future__ import annotations

import argparse


def cmd_scales(args: argparse.Namespace) -> int:
    from dclm_resources.modeling.scales import scales_report

    print(scales_report(as_json=args.json))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``scales`` subcommand to ``dclm``'s subparsers."""
    help_ = "List the training scales: parameters, tokens, train FLOPs (6ND), global batch."
    p = subparsers.add_parser("scales", help=help_, description=help_)
    p.add_argument("--json", action="store_true", help="print a JSON list instead of the table")
    p.set_defaults(func=cmd_scales)
