"""open_lm checkpoints load strictly: DDP ``module.`` / torch.compile ``_orig_mod.`` prefixes, checkpoint dicts."""

from __future__ import annotations

import pytest
import torch

from dclm_resources.modeling import (
    ModelConfig,
    Transformer,
    load_open_lm_state_dict,
    strip_open_lm_prefixes,
)

CFG = ModelConfig(dim=32, n_layers=2, n_heads=2, seq_len=16, vocab_size=40)


def _prefixed(state: dict, kind: str) -> dict:
    if kind == "ddp":
        return {f"module.{k}": v for k, v in state.items()}
    if kind == "compile":
        return {f"_orig_mod.{k}": v for k, v in state.items()}
    if kind == "compile_inside_ddp":  # torch.compile applied after DDP wrapping
        return {f"module._orig_mod.{k}": v for k, v in state.items()}
    return dict(state)


def test_strip_prefixes() -> None:
    state = {"module._orig_mod.layers.0._orig_mod.attention.in_proj.weight": 1, "module.norm.weight": 2,
             "output.weight": 3}
    assert strip_open_lm_prefixes(state) == {"layers.0.attention.in_proj.weight": 1, "norm.weight": 2,
                                             "output.weight": 3}
    with pytest.raises(ValueError, match="both become"):
        strip_open_lm_prefixes({"module.norm.weight": 1, "norm.weight": 2})


@pytest.mark.parametrize("kind", ["plain", "ddp", "compile", "compile_inside_ddp"])
def test_open_lm_checkpoint_file_loads_strictly(tmp_path, kind: str) -> None:
    torch.manual_seed(0)
    source = Transformer(CFG)
    checkpoint = {
        "epoch": 3,
        "name": "run",
        "step": 120,
        "state_dict": _prefixed(source.state_dict(), kind),
        "evaluation_metrics": [],
    }
    path = tmp_path / "epoch_3.pt"
    torch.save(checkpoint, path)
    loaded = torch.load(path, map_location="cpu", weights_only=True)
    target = Transformer(CFG.replace())
    target.reset_parameters(seed=99)
    x = torch.randint(0, 40, (2, 10))
    assert not torch.allclose(target(x)[0], source(x)[0])
    assert load_open_lm_state_dict(target, loaded) == ([], [])
    torch.testing.assert_close(target(x)[0], source(x)[0])


def test_bare_state_dict_and_wrapped_model() -> None:
    source = Transformer(CFG)
    target = Transformer(CFG)
    target.reset_parameters(seed=5)
    wrapper = torch.nn.Module()
    wrapper._orig_mod = target  # what torch.compile's OptimizedModule exposes
    load_open_lm_state_dict(wrapper, _prefixed(source.state_dict(), "ddp"))
    for key, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[key], value)


def test_mismatches_are_clear_errors() -> None:
    state = Transformer(CFG).state_dict()
    target = Transformer(CFG)
    with pytest.raises(ValueError, match=r"missing layers\.0\.attention\.q_norm\.weight"):
        load_open_lm_state_dict(target, {k: v for k, v in state.items() if "q_norm" not in k})
    with pytest.raises(ValueError, match=r"unexpected extra\.weight"):
        load_open_lm_state_dict(target, {**state, "extra.weight": torch.zeros(1)})
    with pytest.raises(ValueError, match=r"output\.weight has shape \(41, 32\)"):
        load_open_lm_state_dict(target, {**state, "output.weight": torch.zeros(41, 32)})
    # Non-strict: reports what it skipped.
    missing, unexpected = load_open_lm_state_dict(target, {**state, "extra.weight": torch.zeros(1)}, strict=False)
    assert (missing, unexpected) == ([], ["extra.weight"])
