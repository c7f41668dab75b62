"""Scale recipes: DCLM's exact hyperparameters, token budgets, steps, FLOPs; CPU scales; ``dclm scales``."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pytest

from dclm_resources.modeling import (
    DEFAULT_AUTO_VOCAB,
    SCALES_DIR,
    ScaleRecipe,
    auto_vocab_size,
    count_params,
    load_scale,
    scale_names,
    scales_report,
)

ALL = ["micro", "small", "400m-1x", "1b-1x", "1b-5x", "3b-1x", "7b-1x", "7b-2x"]
FSDP_AMP = ("--fsdp", "--fsdp-amp", "--fsdp-limit-all-gathers")
FSDP_BF16 = ("--fsdp", "--fsdp-limit-all-gathers", "--fsdp-pure-bf16", "--fsdp-use-orig-params")
# dclm.md §5.3 / open_lm.md §1.1: name -> (dclm file, model json, d, L, heads, tokens, warmup, lr, wd, bs, acc, z,
# fsdp flags, multiplier, total steps with 5 checkpoints)
DCLM = {
    "400m-1x": ("411m_1x", "d=1024_l=24_h=8", 1024, 24, 8, 8_232_325_120, 2000, 3e-3, 0.033, 512, 8, 1e-4,
                FSDP_AMP, 1, 7_850),
    "1b-1x": ("1b_1x_fast", "open_lm_1b_swiglutorch", 2048, 24, 16, 28_795_904_000, 5000, 3e-3, 0.033, 256, 1,
              1e-4, (*FSDP_AMP, "--fsdp-use-orig-params"), 1, 54_923),
    "1b-5x": ("1b_1x_fast", "open_lm_1b_swiglutorch", 2048, 24, 16, 143_979_520_000, 5000, 3e-3, 0.033, 256, 1,
              1e-4, (*FSDP_AMP, "--fsdp-use-orig-params"), 5, 274_619),
    "3b-1x": ("3b_1x_fast_3e-3_lr_1e-4_zloss", "open_lm_3b_swiglutorch", 2560, 32, 32, 55_918_643_200, 5000, 3e-3,
              0.033, 256, 1, 1e-4, FSDP_BF16, 1, 106_656),
    "7b-1x": ("7b_1x_fast_2e-3_lr_5e-6_zloss", "open_lm_7b_swiglutorch", 4096, 32, 32, 137_788_211_200, 5000, 2e-3,
              0.05, 2048, 2, 5e-6, FSDP_BF16, 1, 32_851),
    "7b-2x": ("7b_2x_fast_2e-3_lr_5e-6_zloss", "open_lm_7b_swiglutorch", 4096, 32, 32, 275_576_422_400, 5000, 2e-3,
              0.05, 2048, 2, 5e-6, FSDP_BF16, 2, 65_702),
}
# DCLM README cost table: train FLOPs per track (it rounds params and tokens first, so within 5%).
README_FLOPS = {"400m-1x": 2.0e19, "1b-1x": 2.4e20, "3b-1x": 9.4e20, "7b-1x": 5.7e21, "7b-2x": 1.1e22}


def test_scale_names() -> None:
    assert scale_names() == ALL
    assert sorted(p.stem for p in SCALES_DIR.glob("*.yaml")) == sorted(ALL)
    with pytest.raises(ValueError, match=r"unknown scale 'huge'; known scales: micro, small, 400m-1x"):
        load_scale("huge")
    with pytest.raises(ValueError, match="unknown scale"):
        load_scale("../scales/micro")


@pytest.mark.parametrize("name", sorted(DCLM))
def test_dclm_recipes_are_exact(name: str) -> None:
    (dclm, json_name, d, layers, heads, tokens, warmup, lr, wd, bs, acc, z, flags, mult, steps) = DCLM[name]
    r = load_scale(name)
    assert (r.dclm_name, r.model_json_name) == (dclm, json_name)
    m = r.model
    assert (m.dim, m.n_layers, m.n_heads, m.seq_len, m.vocab_size) == (d, layers, heads, 2048, 50432)
    assert (m.norm_type, m.qk_norm, m.positional_embedding_type) == ("gain_only_lp_layer_norm", True, "rotary")
    assert not m.post_embed_norm and not m.weight_tying
    assert m.ffn_type == ("swiglu" if name == "400m-1x" else "swiglu_torch")
    assert r.tokens == tokens == 20 * r.params * mult
    assert (r.warmup, r.lr, r.wd, r.global_bs, r.acc, r.z_loss) == (warmup, lr, wd, bs, acc, z)
    assert (r.beta1, r.beta2, r.eps, r.cd, r.grad_clip_norm, r.seed) == (0.9, 0.95, 1e-8, 3e-5, 1.0, 124)
    assert r.fsdp and r.fsdp_flags == flags and r.chinchilla_multiplier == mult
    assert (r.precision, r.grad_checkpointing, r.num_checkpoints) == ("amp_bfloat16", False, 5)
    assert not r.multiple_data_passes and not r.vocab_auto
    assert r.total_steps() == steps
    assert r.tokens_per_step() == bs * 2048
    assert r.train_flops() == 6 * r.params * r.tokens
    if name in README_FLOPS:
        assert r.train_flops() == pytest.approx(README_FLOPS[name], rel=0.05)


@pytest.mark.parametrize("name", ["micro", "small"])
def test_cpu_scales(name: str) -> None:
    r = load_scale(name)
    assert r.dclm_name is None and r.vocab_auto and r.precision == "fp32" and r.multiple_data_passes
    assert r.model.vocab_size == DEFAULT_AUTO_VOCAB == auto_vocab_size(8194) == 8256
    assert (r.params, r.params_no_embed) == count_params(r.model)
    # Token budget = DCLM's 20 x params rule with a small multiplier, at the default vocab.
    assert r.tokens == round(20 * r.params * r.chinchilla_multiplier)
    assert 2048 % r.model.seq_len == 0
    assert r.total_steps() > 2 * r.warmup
    if name == "micro":
        assert r.params < 5_000_000 and r.total_steps() < 120
    else:
        assert 10_000_000 < r.params < 100_000_000


def test_with_vocab_recounts_params_and_keeps_tokens() -> None:
    micro = load_scale("micro")
    neox = micro.with_vocab(50432)
    d = micro.model.dim
    assert neox.model.vocab_size == 50432 and not neox.vocab_auto
    assert neox.params - micro.params == 2 * (50432 - 8256) * d
    assert neox.params_no_embed - micro.params_no_embed == (50432 - 8256) * d
    assert neox.tokens == micro.tokens and neox.total_steps() == micro.total_steps()
    assert auto_vocab_size(50256) == 50304  # GPT-NeoX PAD 50256 -> 50304 rows


def _copy_scale(tmp_path: Path, name: str, edit) -> Path:
    directory = tmp_path / "scales"
    directory.mkdir(exist_ok=True)
    text = (SCALES_DIR / f"{name}.yaml").read_text()
    (directory / f"{name}.yaml").write_text(edit(text))
    return directory


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("warmup: 2000", "warmup: 2000\nwarmpu: 3"), r"400m-1x\.yaml: unknown key\(s\) warmpu"),
        (lambda t: t.replace("params: 411616256", "params: 411616257"), r"params 411616257 does not match"),
        (lambda t: t.replace("tokens: 8232325120", "tokens: 8232325121"), r"tokens 8232325121 is not 20 x"),
        (lambda t: t.replace("lr: 3.0e-3", "lr: fast"), r"400m-1x\.yaml: lr must be a number"),
        (lambda t: t.replace("n_heads: 8", "n_heads: 7"), r"not divisible by n_heads 7"),
        (lambda t: t.replace("acc: 8 ", "acc: 7 "), r"not divisible by acc 7"),
        (lambda t: t.replace("model:", "model: [", 1), r"400m-1x\.yaml: line \d+: invalid YAML"),
        (lambda t: t.replace("name: 400m-1x", "name: other"), r"does not match the file name"),
        (lambda t: t.replace("precision: amp_bfloat16", "precision: int8"), r"precision 'int8' is not one of"),
        (lambda t: t.replace("wd: 0.033", "wd: true"), r"wd must be a number"),
    ],
)
def test_bad_recipes_name_the_file_and_key(tmp_path: Path, edit, message: str) -> None:
    directory = _copy_scale(tmp_path, "400m-1x", edit)
    with pytest.raises(ValueError, match=message):
        load_scale("400m-1x", directory)


def test_recipe_loads_from_another_folder(tmp_path: Path) -> None:
    shutil.copy(SCALES_DIR / "micro.yaml", tmp_path / "micro.yaml")
    assert scale_names(tmp_path) == ["micro"]
    assert isinstance(load_scale("micro", tmp_path), ScaleRecipe)


def test_scales_table_and_json() -> None:
    lines = scales_report().splitlines()
    assert len(lines) == 1 + len(ALL)
    rows = {line.split()[0]: line for line in lines[1:]}
    assert list(rows) == ALL
    assert "1,439,795,200" in rows["1b-1x"] and "28,795,904,000" in rows["1b-1x"] and "2.49e+20" in rows["1b-1x"]
    assert "256 x 2048 tok" in rows["1b-1x"] and "chinchilla_multiplier 5" in rows["1b-5x"]
    assert "vocab auto" in rows["micro"] and "8256" in rows["micro"]
    data = json.loads(scales_report(as_json=True))
    assert [item["name"] for item in data] == ALL
    by_name = {item["name"]: item for item in data}
    assert by_name["7b-2x"]["tokens"] == 275_576_422_400
    assert by_name["7b-2x"]["train_flops"] == 6 * 6_889_410_560 * 275_576_422_400
    assert by_name["400m-1x"]["global_bs"] == 512 and by_name["400m-1x"]["params"] == 411_616_256
    assert by_name["micro"]["vocab_auto"] and "8192" in by_name["micro"]["note"]


def test_cli_register(capsys: pytest.CaptureFixture[str]) -> None:
    from dclm_assets import cli_scales

    parser = argparse.ArgumentParser(prog="dclm")
    cli_scales.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["scales", "--json"])
    assert args.func(args) == 0
    assert len(json.loads(capsys.readouterr().out)) == len(ALL)
    args = parser.parse_args(["scales"])
    assert args.func(args) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("scale")
