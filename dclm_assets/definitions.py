"""The one Definitions object of the code location (``workspace.yaml`` loads this module)."""

import dagster as dg

from dclm_assets.assets.raw_pool import raw_pool
from dclm_assets.resources import resources_for

defs = dg.Definitions(
    assets=[raw_pool],
    resources=resources_for(),
)
