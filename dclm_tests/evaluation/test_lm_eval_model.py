"""The ``dclm`` lm-eval model: batched scores equal one-at-a-time references, truncation, rolling, generation,
registration and construction from a checkpoint."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from lm_eval.api.instance import Instance
from lm_eval.api.registry import get_model

from dclm_resources.evaluation.lm_eval_model import DclmLM, TokenizedText, resolve_loader
from dclm_tests.evaluation.scripted_models import KeyedContinuationModel, bpe_tokenizer, vocab_size
from dclm_tests.paths import REPO_ROOT, shared_data

TEXTS = [
    ("The cat sat on the", " mat."),
    ("Paris is the capital of", " France"),
    ("A", " very long continuation that spans many tokens of ordinary English text"),
    ("", "Empty context still scores"),
    ("Trailing space moves ", "over"),
]


def tiny_transformer(vocab: int, seq_len: int = 64, seed: int = 0) -> torch.nn.Module:
    modeling = pytest.importorskip("dclm_resources.modeling")
    torch.manual_seed(seed)
    cfg = modeling.ModelConfig(dim=32, n_layers=2, n_heads=4, seq_len=seq_len, vocab_size=vocab)
    return modeling.Transformer(cfg).eval()


def requests(kind: str, args_list: list[tuple]) -> list[Instance]:
    return [Instance(request_type=kind, doc={}, arguments=args, idx=0) for args in args_list]


def reference_logprob(model: torch.nn.Module, ctx: list[int], cont: list[int]) -> tuple[float, bool]:
    """One unpadded forward of context + continuation: sum of continuation log-probs and greedy match."""
    with torch.no_grad():
        out = model(torch.tensor([ctx + cont]))
    logits = (out[0] if isinstance(out, tuple) else out)[0, len(ctx) - 1 : len(ctx) + len(cont) - 1].float()
    target = torch.tensor(cont)
    logprobs = F.log_softmax(logits, -1).gather(1, target[:, None]).sum()
    return float(logprobs), bool((logits.argmax(-1) == target).all())


def test_batched_loglikelihood_equals_unbatched_reference() -> None:
    tok = bpe_tokenizer()
    model = tiny_transformer(vocab_size(tok))
    enc = tok.tokenizer.encode
    batched = DclmLM(model, tok, batch_size=4).loglikelihood(requests("loglikelihood", TEXTS))
    single = DclmLM(model, tok, batch_size=1).loglikelihood(requests("loglikelihood", TEXTS))
    for (ctx, cont), got, one in zip(TEXTS, batched, single, strict=True):
        if not ctx:
            ctx_ids, cont_ids = [tok.eot_id], enc(cont).ids
        else:
            stripped = ctx.rstrip()
            moved = ctx[len(stripped) :] + cont
            ctx_ids = enc(stripped).ids
            cont_ids = enc(stripped + moved).ids[len(ctx_ids) :]
        ref = reference_logprob(model, ctx_ids, cont_ids)
        assert got[0] == pytest.approx(ref[0], abs=1e-4) and got[1] == ref[1]
        assert one[0] == pytest.approx(got[0], abs=1e-4)


def test_tokenized_text_is_scored_on_its_own_ids() -> None:
    tok = bpe_tokenizer()
    model = tiny_transformer(vocab_size(tok))
    ctx, cont = [5, 6, 7, 8], [9, 10]
    args = (TokenizedText("whatever text", ctx), TokenizedText(" other", cont))
    (got,) = DclmLM(model, tok).loglikelihood(requests("loglikelihood", [args]))
    assert got[0] == pytest.approx(reference_logprob(model, ctx, cont)[0], abs=1e-5)
    restored = pickle.loads(pickle.dumps(args[0]))
    assert str(restored) == "whatever text" and restored.token_ids.tolist() == ctx


def test_long_context_is_cut_on_the_left_as_llm_foundry_does() -> None:
    tok = bpe_tokenizer()
    model = tiny_transformer(vocab_size(tok), seq_len=16)
    ctx, cont = list(range(100, 130)), [131, 132, 133]
    lm = DclmLM(model, tok, max_seq_len=16)
    (got,) = lm.loglikelihood(requests("loglikelihood", [(TokenizedText("c", ctx), TokenizedText("d", cont))]))
    assert got[0] == pytest.approx(reference_logprob(model, ctx[-13:], cont)[0], abs=1e-5)
    with pytest.raises(ValueError, match="leaves no context"):
        lm.loglikelihood(requests("loglikelihood", [(TokenizedText("c", ctx), TokenizedText("d", list(range(16))))]))


def test_greedy_flag_with_a_scripted_model() -> None:
    tok = bpe_tokenizer()
    ctx, good, bad = [11, 12, 13], [20, 21], [20, 22]
    model = KeyedContinuationModel([(ctx, good, 30.0)], vocab_size(tok))
    lm = DclmLM(model, tok, max_seq_len=64)
    pairs = [(TokenizedText("c", ctx), TokenizedText("g", good)), (TokenizedText("c", ctx), TokenizedText("b", bad))]
    (good_ll, good_greedy), (bad_ll, bad_greedy) = lm.loglikelihood(requests("loglikelihood", pairs))
    assert good_greedy and not bad_greedy and good_ll > -1e-6 and bad_ll < -5


def test_rolling_loglikelihood_scores_every_token_once() -> None:
    tok = bpe_tokenizer()
    model = tiny_transformer(vocab_size(tok), seq_len=16)
    text = "One two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen."
    ids = tok.tokenizer.encode(text).ids
    assert len(ids) > 16
    (total,) = DclmLM(model, tok, max_seq_len=16).loglikelihood_rolling(requests("loglikelihood_rolling", [(text,)]))
    expected = 0.0
    stream = [tok.eot_id, *ids]
    for start in range(0, len(ids), 16):  # disjoint windows with the longest context that fits
        end = min(start + 16, len(ids))
        ctx_start = max(0, end - 16)
        window = stream[ctx_start : end + 1]
        scored = end - start
        expected += reference_logprob(model, window[: len(window) - scored], window[len(window) - scored :])[0]
    assert total == pytest.approx(expected, abs=1e-3)


def test_generation_stops_at_stop_strings_eot_and_budget() -> None:
    tok = bpe_tokenizer()
    enc = tok.tokenizer.encode
    prompt_a, prompt_b = "Question: capital of France?\nAnswer:", "Question: two plus two?\nAnswer:"
    answer_a, answer_b = enc(" Paris\n\nQuestion: more text").ids, enc(" four is the answer").ids
    model = KeyedContinuationModel(
        [(enc(prompt_a).ids, answer_a, 30.0), (enc(prompt_b).ids, answer_b, 30.0)], vocab_size(tok)
    )
    lm = DclmLM(model, tok, batch_size=2, max_seq_len=128)
    out = lm.generate_until(requests("generate_until", [
        (prompt_a, {"until": ["\n\n"], "max_gen_toks": 50}),
        (prompt_b, {"until": ["\n\n"], "max_gen_toks": 50}),
        (prompt_b, {"until": [], "max_gen_toks": 2}),
    ]))
    assert out[0] == " Paris"  # cut before the stop string
    assert out[1] == " four is the answer"  # stopped by EOT (token 0 wins once the script ends)
    assert out[2] == tok.tokenizer.decode(answer_b[:2])  # token budget
    with pytest.raises(ValueError, match="greedily"):
        lm.generate_until(requests("generate_until", [(prompt_a, {"do_sample": True})]))


def test_registered_and_built_from_model_args(tmp_path: Path) -> None:
    assert get_model("dclm") is DclmLM
    tok = bpe_tokenizer()
    lm = DclmLM.create_from_arg_string(
        f"checkpoint=ignored,tokenizer={tok.path.parent},loader={__name__}:load_for_test,max_seq_len=32",
        {"batch_size": 2, "max_batch_size": None, "device": "cpu"},
    )
    assert isinstance(lm.model, KeyedContinuationModel) and lm.batch_size == 2 and lm.max_seq_len == 32
    with pytest.raises(ImportError, match="no 'nothing'"):
        resolve_loader(f"{__name__}:nothing")
    with pytest.raises(ValueError, match="exactly one of"):
        DclmLM(tokenizer=tok)


def load_for_test(checkpoint: str) -> KeyedContinuationModel:
    return KeyedContinuationModel([], vocab_size(bpe_tokenizer()))


def test_built_from_a_training_checkpoint(tmp_path: Path) -> None:
    pytest.importorskip("dclm_resources.training.checkpoint")
    tok = bpe_tokenizer()
    model = tiny_transformer(vocab_size(tok), seq_len=32, seed=3)
    ckpt_dir = tmp_path / "run" / "checkpoints"
    ckpt_dir.mkdir(parents=True)
    torch.save({"state_dict": {f"module.{k}": v for k, v in model.state_dict().items()}, "epoch": 1, "step": 5},
               ckpt_dir / "epoch_1.pt")
    model_json = tmp_path / "run" / "tiny.json"
    model_json.write_text(json.dumps(model.cfg.to_open_lm_json()), encoding="utf-8")
    lm = DclmLM.create_from_arg_string(
        f"checkpoint={ckpt_dir / 'epoch_1.pt'},tokenizer={tok.path.parent},model_json={model_json}",
        {"batch_size": 3, "max_batch_size": None, "device": None},
    )
    assert lm.max_seq_len == 32
    pairs = requests("loglikelihood", TEXTS[:3])
    loaded = lm.loglikelihood(pairs)
    direct = DclmLM(model, tok, batch_size=3).loglikelihood(pairs)
    assert [round(a[0], 4) for a in loaded] == [round(b[0], 4) for b in direct]


def test_one_token_choices_after_one_context_share_a_forward() -> None:
    tok = bpe_tokenizer()
    ctx = [40, 41, 42, 43]
    model = KeyedContinuationModel([(ctx, [51], 30.0)], vocab_size(tok))
    lm = DclmLM(model, tok, batch_size=1, max_seq_len=64)
    pairs = [(TokenizedText("q", ctx), TokenizedText(c, [t])) for c, t in zip("ABCD", [50, 51, 52, 53], strict=True)]
    scores = lm.loglikelihood(requests("loglikelihood", pairs))
    assert model.calls == 1  # four requests, one model input
    assert [greedy for _, greedy in scores] == [False, True, False, False]
    assert scores[1][0] > scores[0][0] == pytest.approx(scores[2][0])


def test_lm_eval_cli_runs_a_checkpoint_on_an_lm_eval_task(tmp_path: Path) -> None:
    """``--model dclm --model_args checkpoint=...,tokenizer=...`` through lm-eval's own CLI and YAML task."""
    pytest.importorskip("dclm_resources.training.checkpoint")
    tok = bpe_tokenizer()
    model = tiny_transformer(vocab_size(tok), seq_len=64, seed=4)
    torch.save({"state_dict": model.state_dict(), "epoch": 1}, tmp_path / "epoch_1.pt")
    (tmp_path / "tiny.json").write_text(json.dumps(model.cfg.to_open_lm_json()), encoding="utf-8")
    rows = shared_data("eval", "local_data", "commonsense_reasoning", "copa.jsonl").read_text().splitlines()[:5]
    (tmp_path / "copa5.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "copa_local.yaml").write_text(
        "task: copa_local\ndataset_path: json\ndataset_kwargs:\n  data_files:\n"
        f"    test: {tmp_path / 'copa5.jsonl'}\ntest_split: test\noutput_type: multiple_choice\n"
        'doc_to_text: "{{query}}"\ndoc_to_choice: "{{choices}}"\ndoc_to_target: "{{gold}}"\n'
        "metric_list:\n  - metric: acc\n",
        encoding="utf-8",
    )
    model_args = f"checkpoint={tmp_path / 'epoch_1.pt'},model_json={tmp_path / 'tiny.json'},tokenizer={tok.path.parent}"
    cmd = [sys.executable, "-m", "dclm_resources.evaluation.lm_eval_model", "run", "--model", "dclm",
           "--model_args", model_args, "--tasks", "copa_local", "--include_path", str(tasks),
           "--output_path", str(tmp_path / "out"), "--batch_size", "2"]
    env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (result_file,) = (tmp_path / "out").rglob("results_*.json")
    result = json.loads(result_file.read_text(encoding="utf-8"))
    assert result["n-samples"]["copa_local"]["effective"] == 5
    assert 0.0 <= result["results"]["copa_local"]["acc,none"] <= 1.0
