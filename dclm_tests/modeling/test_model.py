"""The transformer: open_lm names/shapes, DCLM parameter counts (meta device), causality, rotary, norms, init."""

from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F

from dclm_resources.modeling import ModelConfig, Transformer, cross_entropy_with_z_loss, load_scale
from dclm_resources.modeling.norms import LayerNorm, RmsNorm, make_norm
from dclm_resources.modeling.rotary import LlamaRotaryEmbedding, RotaryEmbedding

# DCLM's published counts (= model without q/k norm gains) and, with the gains, open_lm.md §1.1's derived counts.
DCLM_COUNTS = {
    "400m-1x": (1024, 24, 8, 411_616_256, 359_973_888, 411_665_408),
    "1b-1x": (2048, 24, 16, 1_439_795_200, 1_336_510_464, 1_439_893_504),
    "3b-1x": (2560, 32, 32, 2_795_932_160, 2_666_826_240, 2_796_096_000),
    "7b-1x": (4096, 32, 32, 6_889_410_560, 6_682_841_088, 6_889_672_704),
}
VOCAB = 50432


def tiny(**changes: object) -> ModelConfig:
    base = ModelConfig(dim=64, n_layers=2, n_heads=4, seq_len=32, vocab_size=96)
    return base.replace(**changes)


def meta_model(cfg: ModelConfig) -> Transformer:
    with torch.device("meta"):
        return Transformer(cfg)


@pytest.mark.parametrize("scale", sorted(DCLM_COUNTS))
def test_parameter_counts_match_dclm(scale: str) -> None:
    d, layers, heads, params, params_no_embed, with_qk = DCLM_COUNTS[scale]
    cfg = ModelConfig(dim=d, n_layers=layers, n_heads=heads, seq_len=2048, vocab_size=VOCAB)
    assert load_scale(scale).model == cfg.replace(ffn_type=load_scale(scale).model.ffn_type)
    model = meta_model(cfg)
    assert model.num_params() == with_qk
    assert model.num_params(exclude_embeddings=True) == with_qk - VOCAB * d
    bare = meta_model(cfg.replace(qk_norm=False))
    assert bare.num_params() == params
    assert bare.num_params(exclude_embeddings=True) == params_no_embed
    recipe = load_scale(scale)
    assert (recipe.params, recipe.params_no_embed) == (params, params_no_embed)


@pytest.mark.parametrize(("d", "hidden"), [(1024, 2816), (2048, 5632), (2560, 6912), (4096, 11008)])
def test_swiglu_hidden_rule(d: int, hidden: int) -> None:
    cfg = ModelConfig(dim=d, n_layers=1, n_heads=8, seq_len=16, vocab_size=16)
    assert cfg.ffn_hidden_dim() == hidden == 256 * math.ceil(int(8 * d / 3) / 256)
    block = meta_model(cfg).layers[0]
    assert tuple(block.feed_forward.w12.weight.shape) == (2 * hidden, d)
    assert tuple(block.feed_forward.w3.weight.shape) == (d, hidden)


def test_state_dict_names_and_shapes_are_open_lms() -> None:
    d, layers, heads = 2560, 32, 32
    model = meta_model(ModelConfig(dim=d, n_layers=layers, n_heads=heads, seq_len=2048, vocab_size=VOCAB))
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    expected = {"tok_embeddings.weight": (VOCAB, d), "norm.weight": (d,), "output.weight": (VOCAB, d)}
    for i in range(layers):
        p = f"layers.{i}."
        expected |= {
            p + "attention.in_proj.weight": (3 * d, d),
            p + "attention.out_proj.weight": (d, d),
            p + "attention.pos_embed.inv_freq": (40,),
            p + "attention.q_norm.weight": (d,),
            p + "attention.k_norm.weight": (d,),
            p + "feed_forward.w12.weight": (2 * 6912, d),
            p + "feed_forward.w3.weight": (d, 6912),
            p + "attention_norm.weight": (d,),
            p + "ffn_norm.weight": (d,),
        }
    assert shapes == expected
    assert len(shapes) == 3 + 9 * layers
    # Per-layer keys in open_lm's order.
    assert [k for k in shapes if k.startswith("layers.0.")] == [k for k in expected if k.startswith("layers.0.")]


def test_option_variants_change_keys_like_open_lm() -> None:
    keys = set(Transformer(tiny(qk_norm=False)).state_dict())
    assert not any("q_norm" in k or "k_norm" in k for k in keys)
    keys = set(Transformer(tiny(norm_type="default_layer_norm")).state_dict())
    assert {"norm.bias", "layers.0.attention_norm.bias", "layers.0.attention.q_norm.bias"} <= keys
    keys = set(Transformer(tiny(norm_type="no_wb_layer_norm", qk_norm=False)).state_dict())
    assert not any("norm" in k for k in keys)
    keys = set(Transformer(tiny(positional_embedding_type="llama_rotary")).state_dict())
    assert not any("inv_freq" in k for k in keys)
    keys = set(Transformer(tiny(ffn_type="gelu")).state_dict())
    assert {"layers.0._ff_w1.weight", "layers.0._ff_w2.weight", "layers.0.feed_forward.0.weight",
            "layers.0.feed_forward.2.weight"} <= keys
    tied = Transformer(tiny(weight_tying=True))
    assert tied.tok_embeddings.weight is tied.output.weight
    assert Transformer(tiny(post_embed_norm=True)).post_embed_norm.weight.shape == (64,)


def test_open_lm_json_round_trip(tmp_path) -> None:
    cfg = tiny(norm_type="rms_norm", positional_embedding_type="head_rotary", ffn_type="gelu")
    data = cfg.to_open_lm_json()
    assert data["hidden_dim"] == 64 and data["model_norm"] == "rms_norm"
    path = tmp_path / "m.json"
    path.write_text(json.dumps(data))
    assert ModelConfig.from_open_lm_json(path) == cfg
    assert ModelConfig.from_open_lm_json(json.dumps(data)) == cfg
    # A DCLM JSON without the optional keys takes DCLM's training options.
    bare = {"hidden_dim": 2048, "n_layers": 24, "n_heads": 16, "seq_len": 2048, "vocab_size": 50432,
            "post_embed_norm": False, "weight_tying": False}
    got = ModelConfig.from_open_lm_json(bare)
    assert (got.norm_type, got.qk_norm, got.positional_embedding_type) == ("gain_only_lp_layer_norm", True, "rotary")
    del bare["n_heads"]
    path.write_text(json.dumps(bare))
    with pytest.raises(ValueError, match=r"m\.json: missing key\(s\) n_heads"):
        ModelConfig.from_open_lm_json(path)
    with pytest.raises(ValueError, match="model_norm|norm_type"):
        ModelConfig.from_open_lm_json({**bare, "n_heads": 16, "model_norm": "batch_norm"})
    with pytest.raises(ValueError, match="qk_norm must be true or false"):
        ModelConfig.from_open_lm_json({**bare, "n_heads": 16, "qk_norm": "yes"})
    with pytest.raises(ValueError, match="mixture-of-experts"):
        ModelConfig.from_open_lm_json({**bare, "n_heads": 16, "ffn_type": "moe"})


def test_forward_shapes_and_float32_logits() -> None:
    model = Transformer(tiny())
    logits, hidden, cache = model(torch.randint(0, 96, (3, 17)))
    assert logits.shape == (3, 17, 96) and logits.dtype == torch.float32
    assert hidden.shape == (3, 17, 64) and cache is None


@pytest.mark.parametrize("pos", ["rotary", "head_rotary", "llama_rotary", "none"])
def test_causal_future_tokens_do_not_change_earlier_logits(pos: str) -> None:
    torch.manual_seed(0)
    model = Transformer(tiny(positional_embedding_type=pos)).eval()
    x = torch.randint(0, 96, (2, 20))
    y = x.clone()
    y[:, 12:] = torch.randint(0, 96, (2, 8))
    with torch.no_grad():
        a, b = model(x)[0], model(y)[0]
    torch.testing.assert_close(a[:, :12], b[:, :12])
    assert not torch.allclose(a[:, 12:], b[:, 12:])


def _direct_rotary(x: torch.Tensor, position_axis: int) -> torch.Tensor:
    """rotate-half rotary written out element by element: pair (i, i + D/2) rotated by p / 10000^(2i/D)."""
    out = torch.empty_like(x)
    b, s, h, d = x.shape
    half = d // 2
    for idx in range(b * s * h):
        bi, si, hi = idx // (s * h), (idx // h) % s, idx % h
        p = si if position_axis == 1 else hi
        for i in range(half):
            theta = p / (10000 ** (2 * i / d))
            a, c = x[bi, si, hi, i].item(), x[bi, si, hi, i + half].item()
            out[bi, si, hi, i] = a * math.cos(theta) - c * math.sin(theta)
            out[bi, si, hi, i + half] = c * math.cos(theta) + a * math.sin(theta)
    return out


def test_rotary_matches_the_direct_formula() -> None:
    torch.manual_seed(1)
    q, k = torch.randn(2, 7, 3, 8, dtype=torch.float64), torch.randn(2, 7, 3, 8, dtype=torch.float64)
    rotary = RotaryEmbedding(8).double()
    assert torch.allclose(rotary.inv_freq, 1 / 10000 ** (torch.arange(0, 8, 2, dtype=torch.float64) / 8))
    rq, rk = rotary(q, k)
    torch.testing.assert_close(rq, _direct_rotary(q, 1), rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(rk, _direct_rotary(k, 1), rtol=1e-6, atol=1e-6)
    hq, _ = RotaryEmbedding(8, along_heads=True).double()(q, k)
    torch.testing.assert_close(hq, _direct_rotary(q, 2), rtol=1e-6, atol=1e-6)


def test_rotary_scores_depend_only_on_relative_position() -> None:
    torch.manual_seed(2)
    vq, vk = torch.randn(16), torch.randn(16)
    for rotary in (RotaryEmbedding(16), LlamaRotaryEmbedding(16)):
        q = vq.expand(1, 12, 1, 16).contiguous()
        k = vk.expand(1, 12, 1, 16).contiguous()
        rq, rk = rotary(q, k)
        scores = torch.einsum("d,d->", rq[0, 9, 0], rk[0, 5, 0]), torch.einsum("d,d->", rq[0, 6, 0], rk[0, 2, 0])
        torch.testing.assert_close(scores[0], scores[1], rtol=1e-4, atol=1e-4)


def test_llama_rotary_is_the_interleaved_complex_rotation() -> None:
    torch.manual_seed(3)
    q = torch.randn(1, 5, 2, 8)
    rq, _ = LlamaRotaryEmbedding(8)(q, q)
    freqs = 1 / 10000 ** (torch.arange(0, 8, 2).float() / 8)
    angles = torch.arange(5).float()[:, None] * freqs
    z = torch.view_as_complex(q.reshape(1, 5, 2, 4, 2).contiguous())
    want = torch.view_as_real(z * torch.polar(torch.ones_like(angles), angles)[None, :, None, :]).flatten(3)
    torch.testing.assert_close(rq, want)


def test_norms() -> None:
    torch.manual_seed(4)
    x = torch.randn(3, 5, 32)
    for name in ("gain_only_lp_layer_norm", "lp_layer_norm", "default_layer_norm", "gain_only_layer_norm",
                 "no_wb_layer_norm"):
        torch.testing.assert_close(make_norm(name, 32, 1e-5)(x), F.layer_norm(x, (32,), eps=1e-5))
    rms = make_norm("rms_norm", 32, 1e-5)
    assert isinstance(rms, RmsNorm)
    torch.testing.assert_close(rms(x), x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5))


def test_lp_layer_norm_runs_in_bf16_under_cpu_autocast() -> None:
    torch.manual_seed(5)
    x = torch.randn(4, 32)
    lp = make_norm("gain_only_lp_layer_norm", 32, 1e-5)
    full = make_norm("gain_only_layer_norm", 32, 1e-5)
    assert isinstance(lp, LayerNorm) and lp.bias is None
    with torch.no_grad():
        lp.weight.uniform_(0.5, 1.5)
        full.weight.copy_(lp.weight)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out_lp, out_full = lp(x), full(x)
    assert out_lp.dtype == torch.bfloat16
    assert out_full.dtype == torch.float32  # autocast keeps plain layer_norm in float32
    want = F.layer_norm(x.bfloat16(), (32,), lp.weight.bfloat16(), None, 1e-5)
    assert torch.equal(out_lp, want)
    # Whole model under autocast: logits still float32.
    model = Transformer(tiny())
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(torch.randint(0, 96, (2, 8)))[0]
    assert logits.dtype == torch.float32


def test_open_lm_init() -> None:
    cfg = ModelConfig(dim=256, n_layers=3, n_heads=4, seq_len=32, vocab_size=512)
    model = Transformer(cfg)
    trunc = 0.9866  # std of a normal truncated at +-3 std, relative to the untruncated std
    d, hidden = 256, cfg.ffn_hidden_dim()

    def check(w: torch.Tensor, std: float) -> None:
        assert w.std().item() == pytest.approx(trunc * std, rel=0.05)
        assert w.abs().max().item() <= 3 * std + 1e-6

    check(model.tok_embeddings.weight, d ** -0.5)
    check(model.output.weight, d ** -0.5)
    for i, layer in enumerate(model.layers):
        scale = 1 / math.sqrt(2 * (i + 1))
        check(layer.attention.in_proj.weight, d ** -0.5)
        check(layer.attention.out_proj.weight, d ** -0.5 * scale)
        check(layer.feed_forward.w12.weight, d ** -0.5)
        check(layer.feed_forward.w3.weight, hidden ** -0.5 * scale)
        assert torch.equal(layer.ffn_norm.weight, torch.ones(d))
    # Seeded re-init is reproducible and leaves the global RNG alone.
    state = torch.random.get_rng_state()
    model.reset_parameters(seed=7)
    first = model.layers[1].attention.in_proj.weight.clone()
    model.reset_parameters(seed=7)
    assert torch.equal(first, model.layers[1].attention.in_proj.weight)
    assert torch.equal(state, torch.random.get_rng_state())


def test_meta_init_then_materialize() -> None:
    model = meta_model(tiny(post_embed_norm=True))
    assert model.output.weight.device.type == "meta"
    model.to_empty(device="cpu")
    with torch.no_grad():
        for tensor in model.state_dict().values():
            tensor.fill_(float("nan"))
    # Per block, as FSDP's param_init_fn does: each block's reset covers all its params and buffers.
    for layer in model.layers:
        layer.reset_parameters()
        assert all(torch.isfinite(t).all() for t in layer.state_dict().values())
        assert torch.equal(layer.attention.q_norm.weight, torch.ones(64))
        torch.testing.assert_close(layer.attention.pos_embed.inv_freq,
                                   1 / 10000 ** (torch.arange(0, 16, 2).float() / 16))
    model.reset_parameters(seed=0)
    assert all(torch.isfinite(t).all() for t in model.state_dict().values())
    assert torch.isfinite(model(torch.randint(0, 96, (1, 8)))[0]).all()


def test_tiny_model_overfits_a_repeated_batch() -> None:
    torch.manual_seed(6)
    model = Transformer(tiny())
    batch = torch.randint(0, 96, (4, 33))
    x, y = batch[:, :-1], batch[:, 1:]
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.9, 0.95), weight_decay=0.0)
    first = None
    for _ in range(120):
        loss, ce = cross_entropy_with_z_loss(model(x)[0], y, z_loss=1e-4)
        first = first if first is not None else ce.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert first > 4.0  # ~ln(96) at init
    assert ce.item() < 0.3


def test_grad_checkpointing_gives_the_same_gradients() -> None:
    torch.manual_seed(8)
    model = Transformer(tiny())
    x = torch.randint(0, 96, (2, 16))
    grads = []
    for enable in (False, True):
        model.zero_grad()
        model.set_grad_checkpointing(enable)
        model(x)[0].sum().backward()
        grads.append(model.layers[0].attention.in_proj.weight.grad.clone())
    torch.testing.assert_close(grads[0], grads[1])


@pytest.mark.parametrize(
    "changes",
    [{}, {"qk_norm": False}, {"norm_type": "default_layer_norm"}, {"norm_type": "no_wb_layer_norm"},
     {"norm_type": "rms_norm", "post_embed_norm": True}, {"ffn_type": "gelu"}, {"weight_tying": True},
     {"norm_type": "lp_layer_norm", "weight_tying": True, "post_embed_norm": True}],
)
def test_config_count_equals_the_built_model(changes: dict) -> None:
    cfg = ModelConfig(dim=96, n_layers=3, n_heads=4, seq_len=16, vocab_size=200).replace(**changes)
    model = meta_model(cfg)
    assert cfg.num_params() == model.num_params()
    assert cfg.num_params(exclude_embeddings=True) == model.num_params(exclude_embeddings=True)
    assert cfg.num_params(qk_norm_gains=False) == meta_model(cfg.replace(qk_norm=False)).num_params()
