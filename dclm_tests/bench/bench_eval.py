"""Benchmark log-likelihood scoring of the ``dclm`` lm-eval model: batched vs one request at a time.

Requests are the real ones our DCLM tasks send (llm-foundry prompts over ``../shared/data/eval``: copa 0-shot,
arc_easy and piqa 10-shot, winogrande, lambada), tokenized with a BPE of the CPU scales' vocabulary trained on the
shared C4 sample. Models are the ``micro`` and ``small`` scale configs (random init: speed does not depend on the
weights). Both sides score the same requests with the same ``DclmLM`` (length-sorted); only ``batch_size`` differs.
Timings are best of ``--repeats`` on ``--threads`` threads (the machine may be shared). Prints ``name: value`` lines.
``--core-limit N`` also times the ``core`` suite (N examples per task) on ``micro``.

    python -m dclm_tests.bench.bench_eval [--requests 256] [--batch-size 32] [--threads 2] [--core-limit 0]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from typing import Any

import torch

from dclm_resources.evaluation.lm_eval_model import DclmLM
from dclm_resources.evaluation.lm_eval_tasks import build_icl_task
from dclm_resources.modeling import Transformer, load_scale
from dclm_resources.tokenization import LoadedTokenizer, train_bpe_tokenizer
from dclm_tests.paths import SHARED_DATA

ENTRIES: list[dict[str, Any]] = [
    {"label": "copa", "dataset_uri": "local_data/commonsense_reasoning/copa.jsonl", "num_fewshot": [0],
     "icl_task_type": "multiple_choice"},
    {"label": "arc_easy", "dataset_uri": "local_data/world_knowledge/arc_easy.jsonl", "num_fewshot": [10],
     "icl_task_type": "multiple_choice", "continuation_delimiter": "\nAnswer: "},
    {"label": "piqa", "dataset_uri": "local_data/commonsense_reasoning/piqa.jsonl", "num_fewshot": [10],
     "icl_task_type": "multiple_choice", "continuation_delimiter": "\nAnswer: "},
    {"label": "winogrande", "dataset_uri": "local_data/language_understanding/winogrande.jsonl", "num_fewshot": [0],
     "icl_task_type": "schema"},
    {"label": "lambada_openai", "dataset_uri": "local_data/language_understanding/lambada_openai.jsonl",
     "num_fewshot": [0], "icl_task_type": "language_modeling"},
]


def tokenizer(vocab: int = 8192) -> LoadedTokenizer:
    path = SHARED_DATA / "web" / "jsonl" / "c4_en_sample" / "c4_sample.jsonl"
    texts = [json.loads(line)["text"] for line in path.open(encoding="utf-8") if line.strip()]
    return train_bpe_tokenizer(texts, tempfile.mkdtemp(prefix="bench-eval-bpe-"), vocab_size=vocab)


def real_requests(tok: LoadedTokenizer, total: int) -> list:
    """About ``total`` log-likelihood requests, an equal share of documents from each task."""
    instances: list = []
    per_task = max(1, total // len(ENTRIES))
    for entry in ENTRIES:
        task = build_icl_task(entry, str(SHARED_DATA / "eval"), tok)
        task.build_all_requests(limit=max(1, per_task // 2))
        instances.extend(task.instances[:per_task])
    return instances[:total]


def timed(fn: Any, repeats: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def bench_scale(name: str, tok: LoadedTokenizer, n_requests: int, batch_size: int, repeats: int) -> None:
    recipe = load_scale(name).with_vocab(tok.tokenizer.get_vocab_size(with_added_tokens=True))
    torch.manual_seed(0)
    model = Transformer(recipe.model).eval()
    reqs = real_requests(tok, n_requests)
    batched_lm = DclmLM(model, tok, batch_size=batch_size)
    single_lm = DclmLM(model, tok, batch_size=1)
    lengths = [len(r.args[0].token_ids) + len(r.args[1].token_ids) for r in reqs]
    t_batched, batched = timed(lambda: batched_lm.loglikelihood(reqs), repeats)
    t_single, single = timed(lambda: single_lm.loglikelihood(reqs), repeats)
    worst = max(abs(a[0] - b[0]) for a, b in zip(batched, single, strict=True))
    print(f"{name} params: {recipe.params}")
    print(f"{name} seq_len: {recipe.model.seq_len}")
    print(f"{name} requests: {len(reqs)} (mean {sum(lengths) / len(lengths):.0f} tokens before truncation)")
    print(f"{name} batched (batch_size={batch_size}) req/s: {len(reqs) / t_batched:.1f}")
    print(f"{name} one-at-a-time req/s: {len(reqs) / t_single:.1f}")
    print(f"{name} speedup: {t_single / t_batched:.2f}x")
    print(f"{name} max |loglik batched - single|: {worst:.2e}")


def bench_core(tok: LoadedTokenizer, limit: int, batch_size: int) -> None:
    from dclm_resources.evaluation.runner import evaluate_tasks
    from dclm_resources.evaluation.suites import load_suite_tasks

    recipe = load_scale("micro").with_vocab(tok.tokenizer.get_vocab_size(with_added_tokens=True))
    torch.manual_seed(0)
    lm = DclmLM(Transformer(recipe.model).eval(), tok, batch_size=batch_size)
    start = time.perf_counter()
    results = evaluate_tasks(lm, load_suite_tasks("core"), str(SHARED_DATA / "eval"), limit=limit)
    assert results is not None
    print(f"core suite on micro, {limit} examples per task, wall s: {time.perf_counter() - start:.1f}")
    print(f"core suite tasks scored: {len(results.scores)}; missing: {sorted(results.missing)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=256, help="requests for micro (small gets a quarter)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--core-limit", type=int, default=0, help="also time the core suite, N examples per task")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"threads: {torch.get_num_threads()}")
    tok = tokenizer()
    bench_scale("micro", tok, args.requests, args.batch_size, args.repeats)
    bench_scale("small", tok, max(8, args.requests // 4), args.batch_size, args.repeats)
    if args.core_limit:
        bench_core(tok, args.core_limit, args.batch_size)


if __name__ == "__main__":
    main()
