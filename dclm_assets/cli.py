"""``dclm``: the command line of DESIGN §4. Commands call the same engines as the assets do.

Larger command groups live in their own modules (``cli_train``, ``cli_eval``, ``cli_eval_tools``,
``cli_scales``), each exposing ``register(subparsers)``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path


def _home(args: argparse.Namespace) -> str:
    from dclm_resources.layout import default_home

    if args.home:
        os.environ["DCLM_HOME"] = args.home
    return default_home()


def _storage(args: argparse.Namespace):  # noqa: ANN202 - keeps imports lazy for a fast --help
    from dclm_resources.storage import S3Settings, Storage

    return Storage(S3Settings(endpoint_url=args.s3_endpoint_url or os.environ.get("DCLM_S3_ENDPOINT_URL") or None))


def prepare_dagster_home(path: str) -> None:
    """A local instance with telemetry off (this may run on a closed network)."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n")


def cmd_raw_pool(args: argparse.Namespace) -> int:
    """Register a dataset's source and build its raw pool (WARC extraction and shard scan on Ray)."""
    from dclm_resources.compute import ray_session
    from dclm_resources.layout import Layout
    from dclm_resources.pools.rawpool import build_raw_pool
    from dclm_resources.registry import register_dataset

    layout, storage = Layout(_home(args)), _storage(args)
    register_dataset(layout, storage, args.dataset, args.source)
    with ray_session(args.ray_address, args.workers):
        pool = build_raw_pool(args.dataset, args.source, layout, storage)
    print(
        json.dumps(
            {
                "dataset": args.dataset,
                "pages": pool.pages,
                "shards": len(pool.shards),
                "bytes": pool.bytes,
                "invalid_lines": pool.invalid_lines,
                "reference": pool.reference_uri,
                "warc_records_failed": pool.warc.records_failed if pool.warc else 0,
            },
            indent=2,
        )
    )
    return 0


def cmd_extract_warc(args: argparse.Namespace) -> int:
    """Extract WARC/WET files into raw-pool JSONL, one Ray task per file."""
    from dclm_resources.compute import map_tasks, ray_session
    from dclm_resources.pools.rawpool import _extract_one
    from dclm_resources.pools.warc import WarcExtractionStats

    storage = _storage(args)
    with ray_session(args.ray_address, args.workers):
        per_file = map_tasks(_extract_one, args.inputs, desc="extract WARC", extra_args=(args.output, storage))
    total = WarcExtractionStats()
    for stats in per_file:
        total = total.merge(stats)
    summary = {k: v for k, v in vars(total).items() if k not in ("errors", "outputs")}
    print(json.dumps({**summary, "outputs": total.outputs, "errors": total.errors[:20]}, indent=2))
    return 0


def cmd_process(args: argparse.Namespace) -> int:
    """Filter a pool with a DCLM pipeline YAML on Ray; a rerun resumes where a killed or failed run stopped."""
    from dclm_resources.compute import ray_session
    from dclm_resources.processing.pipeline import load_pipeline
    from dclm_resources.processing.runner import ProcessingFailed, process_dataset

    storage = _storage(args)
    # Validate the YAML before starting Ray: a typo should fail in a second, not after the cluster is up.
    load_pipeline(args.config, args.source_name, storage, allow_custom=args.allow_custom_operators,
                  resource_dirs=args.resource_dir)
    with ray_session(args.ray_address, args.workers):
        try:
            summary = process_dataset(
                args.config, args.source_name, args.input, args.output, storage,
                readable_name=args.readable_name, overwrite=args.overwrite, ignore_failures=args.ignore_failures,
                allow_custom=args.allow_custom_operators, num_shards=args.num_shards,
                resource_dirs=args.resource_dir,
            )
        except ProcessingFailed as err:
            print(f"dclm process: error: {err}", file=sys.stderr)
            return 1
    print(json.dumps(summary.to_dict(), indent=2))
    return 0


def cmd_tokenize(args: argparse.Namespace) -> int:
    """Tokenize + pack + mix + shuffle on Ray; same seed and inputs give byte-identical shards."""
    from dclm_resources.compute import ray_session
    from dclm_resources.tokenization import load_mixing, load_tokenizer, tokenize_shuffle

    storage = _storage(args)
    tokenizer = load_tokenizer(args.tokenizer)  # a missing tokenizer fails before Ray starts
    inputs = load_mixing(args.mixing, storage) if args.mixing else args.input
    with ray_session(args.ray_address, args.workers):
        summary = tokenize_shuffle(
            inputs, args.output, tokenizer, storage, seq_len=args.seq_len,
            sequences_per_shard=args.sequences_per_shard, seed=args.seed,
        )
    print(json.dumps({
        "tokens": summary.tokens, "sequences": summary.sequences, "shards": summary.shards,
        "padding_fraction": summary.padding_fraction, "manifest": summary.manifest_uri,
        "reference": summary.reference_uri,
        "per_source": {name: s.tokens for name, s in summary.per_source.items()},
    }, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dclm", description="DataComp-LM on Dagster.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, fn: Callable[[argparse.Namespace], int], help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(func=fn)
        return p

    def common(p: argparse.ArgumentParser, ray: bool = True) -> None:
        p.add_argument("--home", help="DCLM home folder or s3:// prefix (default: $DCLM_HOME or ~/.dclm)")
        p.add_argument("--s3-endpoint-url", help="S3 endpoint for non-AWS stores (default: $DCLM_S3_ENDPOINT_URL)")
        if ray:
            p.add_argument("--workers", type=int, help="local Ray CPUs (default: all cores)")
            p.add_argument("--ray-address", help="connect to this Ray cluster instead of starting a local one")

    p = add("raw-pool", cmd_raw_pool, "Register a dataset and build its raw pool from a source.")
    p.add_argument("--dataset", required=True, help="dataset name (the Dagster 'dataset' partition key)")
    p.add_argument("--source", required=True,
                   help="raw-source reference JSON, folder, s3:// prefix, JSONL/WARC file, or builtin:sample")
    common(p)

    p = add("extract-warc", cmd_extract_warc, "Extract WARC/WET files to raw-pool JSONL (resiliparse main content).")
    p.add_argument("inputs", nargs="+", help="WARC or WET files (local or s3://)")
    p.add_argument("--output", required=True, help="output folder or s3:// prefix")
    common(p)

    p = add("process", cmd_process, "Filter a raw pool with a DCLM pipeline YAML.")
    p.add_argument("--config", required=True, help="DCLM pipeline YAML (local or s3://)")
    p.add_argument("--source-name", required=True, help="which entry of the YAML to run (its 'source')")
    p.add_argument("--input", required=True,
                   help="raw pool: a folder or s3:// prefix of JSONL shards, one shard, or a raw-source reference JSON")
    p.add_argument("--output", required=True, help="output folder or s3:// prefix (DCLM's base_output_path)")
    p.add_argument("--overwrite", action="store_true", help="discard a previous run's outputs instead of resuming")
    p.add_argument("--ignore-failures", action="store_true", help="continue past failed shards (left out)")
    p.add_argument("--allow-custom-operators", action="store_true",
                   help="allow dotted-path operators (pkg.module.fn): they run arbitrary code")
    p.add_argument("--readable-name", help="name of the untokenized dataset JSON (default: the output folder name)")
    p.add_argument("--num-shards", type=int, help="only the first N shards (debugging)")
    p.add_argument("--resource-dir", action="append", default=[],
                   help="folder holding the banlists/models the YAML names (repeatable; also $DCLM_RESOURCE_DIRS)")
    p.add_argument("--s3-endpoint-url", help="S3 endpoint for non-AWS stores (default: $DCLM_S3_ENDPOINT_URL)")
    p.add_argument("--workers", type=int, help="local Ray CPUs (default: all cores)")
    p.add_argument("--ray-address", help="connect to this Ray cluster instead of starting a local one")

    p = add("tokenize", cmd_tokenize, "Tokenize, pack and globally shuffle into open_lm shards.")
    p.add_argument("--input", nargs="+", required=True,
                   help="JSONL files, folders, s3:// prefixes or reference JSONs (ignored with --mixing)")
    p.add_argument("--output", required=True, help="output folder or s3:// prefix for tars + manifest.jsonl")
    p.add_argument("--tokenizer", required=True, help="tokenizer.json (or its folder) or a name in the HF cache")
    p.add_argument("--mixing", help="DCLM mixing YAML (sources with sampling frequencies)")
    p.add_argument("--seed", type=int, default=0, help="global shuffle seed (default 0)")
    p.add_argument("--seq-len", type=int, default=2048, help="context length; samples hold seq_len + 1 tokens")
    p.add_argument("--sequences-per-shard", type=int, default=8192)
    p.add_argument("--s3-endpoint-url", help="S3 endpoint for non-AWS stores (default: $DCLM_S3_ENDPOINT_URL)")
    p.add_argument("--workers", type=int, help="local Ray CPUs (default: all cores)")
    p.add_argument("--ray-address", help="connect to this Ray cluster instead of starting a local one")

    for register in _command_modules():
        register(sub)
    return parser


def _command_modules() -> list[Callable[[argparse._SubParsersAction], None]]:
    """Commands that live in their own modules (each exposes ``register(subparsers)``)."""
    from dclm_assets import cli_demo, cli_eval, cli_eval_tools, cli_scales, cli_train

    return [cli_demo.register, cli_scales.register, cli_train.register, cli_eval.register, cli_eval_tools.register]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from dclm_resources.storage import StorageError

    try:
        return args.func(args)
    except (ValueError, OSError, StorageError) as err:
        # Input problems end in one clear line, not a traceback.
        print(f"dclm {args.command}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"dclm {args.command}: interrupted; a rerun resumes where this one stopped", file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 - the last line of defence: one line, the traceback on request
        if os.environ.get("DCLM_DEBUG"):
            raise
        print(f"dclm {args.command}: error: {type(err).__name__}: {err} (set DCLM_DEBUG=1 for the traceback)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
