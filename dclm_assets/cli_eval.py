"""``dclm eval``: score a checkpoint on a DCLM suite and write DCLM's eval JSON (the eval_report asset's engine)."""

from __future__ import annotations

import argparse
import json
import sys


def cmd_eval(args: argparse.Namespace) -> int:
    from dclm_resources.evaluation.evaluate import evaluate_checkpoint

    run = evaluate_checkpoint(
        args.checkpoint, args.suite, data_dir=args.data_dir, output=args.output, tokenizer=args.tokenizer,
        model_json=args.model_json, perplexity_data=args.perplexity_data,
        perplexity_max_sequences=args.perplexity_max_sequences, batch_size=args.batch_size, limit=args.limit,
        seed=args.seed, device=args.device,
    )
    summary = {
        "output": run.output,
        "suite": run.suite,
        **run.headline,
        "perplexity": run.perplexity,
        "tasks_scored": {label: run.eval_json["eval_metrics"]["icl"][label] for label in run.counts},
        "examples_per_task": run.counts,
        "missing_tasks": run.missing,
        "wall_s": round(run.wall_s, 1),
    }
    print(json.dumps(summary, indent=2, default=str))
    if run.missing:
        print(
            f"dclm eval: {len(run.missing)} task(s) of suite {run.suite!r} have no data and were not run: "
            f"{', '.join(sorted(run.missing))}. `dclm eval-data fetch` obtains them.",
            file=sys.stderr,
        )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("eval", help="Evaluate a checkpoint on a DCLM task suite.",
                              description="Evaluate a checkpoint on a DCLM task suite and write DCLM's eval JSON.")
    p.set_defaults(func=cmd_eval)
    p.add_argument("--checkpoint", required=True, help="epoch_N.pt, or a run / checkpoints folder (its latest)")
    p.add_argument("--suite", required=True,
                   help="light, medium, core, mmlu_and_lowvar, heavy, or a suite YAML in DCLM's format")
    p.add_argument("--output", required=True, help="eval JSON to write (local or s3://), atomically")
    p.add_argument("--data-dir", help="ICL data folder holding local_data/ (default: $DCLM_EVAL_DATA)")
    p.add_argument("--tokenizer", help="default: the tokenizer of the data the run trained on, else GPT-NeoX-20B")
    p.add_argument("--model-json", help="open_lm model JSON (default: the one next to the checkpoint)")
    p.add_argument("--perplexity-data", help="held-out tokenized shards (manifest, folder or reference JSON)")
    p.add_argument("--perplexity-max-sequences", type=int, help="score at most this many held-out sequences")
    p.add_argument("--batch-size", type=int, default=16, help="sequences per forward pass (default 16)")
    p.add_argument("--limit", type=int, help="score only the first N examples of each task (smoke runs)")
    p.add_argument("--seed", type=int, help="override every task's few-shot seed (DCLM's --seed)")
    p.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda when available)")
