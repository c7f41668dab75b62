"""The one Definitions object of the code location (``workspace.yaml`` loads this module)."""

import dagster as dg

from dclm_assets.assets.filtering import deduplicated_dataset, filtered_dataset, heuristic_filtered
from dclm_assets.assets.leaderboard import leaderboard
from dclm_assets.assets.models import checkpoint, eval_report
from dclm_assets.assets.quality import quality_classifier
from dclm_assets.assets.raw_pool import raw_pool
from dclm_assets.assets.tokens import token_budget_covered, tokenized_shards, tokenizer
from dclm_assets.resources import resources_for
from dclm_assets.sensors import submissions_sensor

defs = dg.Definitions(
    assets=[
        raw_pool, heuristic_filtered, deduplicated_dataset, quality_classifier, filtered_dataset, tokenizer,
        tokenized_shards, checkpoint, eval_report, leaderboard,
    ],
    asset_checks=[token_budget_covered],
    sensors=[submissions_sensor],
    resources=resources_for(),
)
