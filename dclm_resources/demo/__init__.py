"""Engine helpers of ``dclm demo``: the offline resources its pipeline needs, its held-out eval data, its summary.

Plain Python (no Dagster). ``dclm_assets.cli_demo`` materializes the asset graph and calls these between assets:
``prepare_resources`` before the heuristics (TLD list, offline LID model, quality-classifier positives),
``prepare_heldout`` before the eval (perplexity shards and the LAMBADA-style cloze task), ``leaderboard_row``
at the end.
"""

from dclm_resources.demo.cloze import (
    CLOZE_LABEL,
    ClozeExample,
    cloze_example,
    cloze_examples,
    write_cloze_task,
)
from dclm_resources.demo.heldout import HELDOUT_SEED, HeldOut, heldout_dir, prepare_heldout
from dclm_resources.demo.resources import (
    QUALITY_MODEL_NAME,
    REFERENCE_SEED,
    DemoResources,
    demo_dir,
    prepare_resources,
    resource_dir,
)
from dclm_resources.demo.summary import (
    EVAL_DATA_HINT,
    NOT_RUN,
    DemoReport,
    LeaderboardRow,
    format_row,
    leaderboard_row,
)

__all__ = [
    "CLOZE_LABEL",
    "EVAL_DATA_HINT",
    "HELDOUT_SEED",
    "NOT_RUN",
    "QUALITY_MODEL_NAME",
    "REFERENCE_SEED",
    "ClozeExample",
    "DemoReport",
    "DemoResources",
    "HeldOut",
    "LeaderboardRow",
    "cloze_example",
    "cloze_examples",
    "demo_dir",
    "format_row",
    "heldout_dir",
    "leaderboard_row",
    "prepare_heldout",
    "prepare_resources",
    "resource_dir",
    "write_cloze_task",
]
