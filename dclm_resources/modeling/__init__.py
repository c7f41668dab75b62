"""The open_lm-compatible transformer DCLM trains, its loss, checkpoint loading and the scale recipes.

Plain Python (torch + PyYAML, no Dagster). Parameter names, init and options follow open_lm so checkpoints move
either way; the scale recipes carry DCLM's exact hyperparameters.
"""

from dclm_resources.modeling.config import ModelConfig
from dclm_resources.modeling.loss import cross_entropy_with_z_loss
from dclm_resources.modeling.model import Attention, Block, SwiGLU, Transformer
from dclm_resources.modeling.scales import (
    DEFAULT_AUTO_VOCAB,
    SCALES_DIR,
    ScaleRecipe,
    auto_vocab_size,
    count_params,
    format_scales_table,
    load_scale,
    scale_names,
    scales_report,
)
from dclm_resources.modeling.state_dict import (
    extract_state_dict,
    load_open_lm_state_dict,
    strip_open_lm_prefixes,
    unwrap_model,
)

__all__ = [
    "DEFAULT_AUTO_VOCAB",
    "SCALES_DIR",
    "Attention",
    "Block",
    "ModelConfig",
    "ScaleRecipe",
    "SwiGLU",
    "Transformer",
    "auto_vocab_size",
    "count_params",
    "cross_entropy_with_z_loss",
    "extract_state_dict",
    "format_scales_table",
    "load_open_lm_state_dict",
    "load_scale",
    "scale_names",
    "scales_report",
    "strip_open_lm_prefixes",
    "unwrap_model",
]
