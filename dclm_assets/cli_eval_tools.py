"""``dclm aggregate`` and ``dclm eval-data``: recompute DCLM eval aggregates, fetch and inspect ICL task data.

``register(subparsers)`` adds both commands to the ``dclm`` parser; each command sets ``func`` as the others do.
Input problems raise ValueError / OSError subclasses, which ``dclm``'s main turns into one clear error line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any


def _storage() -> Any:  # noqa: ANN401 - imports stay lazy for a fast --help
    from dclm_resources.storage import S3Settings, Storage

    return Storage(S3Settings(endpoint_url=os.environ.get("DCLM_S3_ENDPOINT_URL") or None))


def cmd_aggregate(args: argparse.Namespace) -> int:
    """Recompute every aggregate of the given eval JSONs; print them, or rewrite the files with --in-place."""
    from dclm_resources.evaluation.aggregation import apply_aggregates
    from dclm_resources.evaluation.meta import load_aggregation_groups, load_task_table
    from dclm_resources.evaluation.report import dumps_eval_json, headline, read_eval_json, write_eval_json

    table = load_task_table(args.eval_meta)
    groups = load_aggregation_groups(args.additional_aggregation)
    storage = _storage()
    # Everything is read and recomputed before anything is written: one bad file changes none.
    results = []
    for path in args.eval_json:
        data = read_eval_json(path, storage)
        results.append((path, apply_aggregates(data, args.version, table, groups, source=path)))
    if args.in_place:
        for path, data in results:
            write_eval_json(path, data, storage)
            top = headline(data)
            print(f"updated {path}: Core={top['Core']} Extended={top['Extended']} ({args.version})")
        return 0
    if len(results) == 1:
        print(dumps_eval_json(results[0][1]))
    else:
        print(json.dumps({path: data for path, data in results}, indent=4))
    return 0


def cmd_eval_data_fetch(args: argparse.Namespace) -> int:
    """Download llm-foundry's local_data into DEST/local_data, verify it, and report each suite's tasks."""
    from dclm_resources.evaluation.fetch import fetch_eval_data, format_checks, format_status, suite_status

    dest = args.dest or os.environ.get("DCLM_EVAL_DATA") or os.getcwd()
    print(f"fetching eval data by {args.method} into {dest} ...", flush=True)
    result = fetch_eval_data(dest, args.method, args.source, args.ref, args.force, args.strict, args.timeout)
    print(f"installed {result.target} from {result.source}")
    print(format_checks(result.checks))
    if result.not_found:
        print(f"not at the source ({len(result.not_found)}): {', '.join(result.not_found)}")
    print(format_status(suite_status(str(result.target.parent))))
    return 0


def cmd_eval_data_status(args: argparse.Namespace) -> int:
    """Report which tasks of each suite have data (and, with --verify, whether the files parse)."""
    from dclm_resources.evaluation.fetch import format_checks, format_status, suite_status, verify_local_data
    from dclm_resources.evaluation.suites import LOCAL_DATA, SUITE_NAMES, resolve_data_dir

    root = resolve_data_dir(args.data_dir)
    note = "" if root.is_dir() else " (does not exist: run `dclm eval-data fetch`)"
    print(f"eval data directory: {root}{note}")
    print(format_status(suite_status(str(root), tuple(args.suite or SUITE_NAMES))))
    if args.verify:
        local = root if root.name == LOCAL_DATA or not (root / LOCAL_DATA).is_dir() else root / LOCAL_DATA
        checks = verify_local_data(local)
        print(format_checks(checks))
        if any(c.status == "invalid" for c in checks):
            return 1
    return 0


def register(subparsers: Any) -> None:  # noqa: ANN401 - argparse's _SubParsersAction is private
    """Add ``aggregate`` and ``eval-data {fetch,status}`` to the ``dclm`` command line."""
    text = "Recompute DCLM's aggregates (Core, Extended, categories, ...) of eval JSONs from their per-task scores."
    p = subparsers.add_parser("aggregate", help=text, description=text)
    p.add_argument("eval_json", nargs="+", metavar="EVAL_JSON", help="DCLM eval JSON files (local or s3://)")
    p.add_argument("--version", choices=("v1", "v2"), default="v2",
                   help="random-baseline version (default v2; v1 reproduces DCLM's older centered numbers)")
    p.add_argument("--in-place", action="store_true",
                   help="rewrite each file atomically instead of printing (one file: its JSON; several: a JSON "
                        "object keyed by path)")
    p.add_argument("--eval-meta", metavar="CSV", help="task table (DCLM eval_meta_data.csv format; default: packaged)")
    p.add_argument("--additional-aggregation", metavar="JSON",
                   help="task groups (DCLM additional_aggregation.json; default: packaged)")
    p.set_defaults(func=cmd_aggregate)

    text = "Obtain and inspect the ICL task data (llm-foundry's scripts/eval/local_data)."
    p = subparsers.add_parser("eval-data", help=text, description=text)
    actions = p.add_subparsers(dest="eval_data_command", required=True, metavar="ACTION")

    text = "Download llm-foundry's local_data as DCLM's download script does, verify it, report suite coverage."
    f = actions.add_parser("fetch", help=text, description=text)
    f.add_argument("--dest", metavar="DIR",
                   help="eval data directory; files go to DIR/local_data (default: $DCLM_EVAL_DATA or .)")
    f.add_argument("--source", metavar="URL",
                   help="git: repository URL (default github mosaicml/llm-foundry); http: base URL of local_data "
                        "raw files (default raw.githubusercontent.com .../main/scripts/eval/local_data); "
                        "file:// works for both")
    f.add_argument("--method", choices=("git", "http"), default="git", help="git clone --depth 1, or per-file HTTP")
    f.add_argument("--ref", help="git branch or tag to clone (default: the default branch)")
    f.add_argument("--force", action="store_true", help="replace an existing DIR/local_data")
    f.add_argument("--strict", action="store_true", help="also reject files that differ from the checksum table")
    f.add_argument("--timeout", type=float, default=1800.0, help="seconds for the clone / each download")
    f.set_defaults(func=cmd_eval_data_fetch)

    text = "Show which tasks of each suite have their data file, optionally verifying every file."
    s = actions.add_parser("status", help=text, description=text)
    s.add_argument("--data-dir", metavar="DIR", help="eval data directory (default: $DCLM_EVAL_DATA)")
    s.add_argument("--suite", action="append", help="only this suite (repeatable; default: all packaged suites)")
    s.add_argument("--verify", action="store_true", help="parse every JSONL file and compare checksums")
    s.set_defaults(func=cmd_eval_data_status)


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (until the lead wires ``register`` into ``dclm``): ``python -m dclm_assets.cli_eval_tools``."""
    parser = argparse.ArgumentParser(prog="dclm")
    register(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    args = parser.parse_args(argv)
    from dclm_resources.storage import StorageError

    try:
        return args.func(args)
    except (ValueError, OSError, StorageError) as err:
        print(f"dclm {args.command}: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
