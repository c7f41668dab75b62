"""The Dagster seam to storage: a DCLM home (local folder or ``s3://`` prefix) and the S3 endpoint to reach it.

Credentials are never fields here: boto3 reads them from the environment (or an instance profile), so they
cannot end up in run config, logs or metadata.
"""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from dclm_resources.layout import Layout, default_home
from dclm_resources.storage import S3Settings, Storage


class StorageResource(dg.ConfigurableResource):
    home: str = Field(
        default_factory=default_home,
        description="DCLM home: a local folder or an s3:// prefix under which every artefact is written.",
    )
    s3_endpoint_url: str | None = Field(
        default=None, description="S3 endpoint for non-AWS stores (MinIO, moto); None means AWS."
    )
    s3_region: str | None = Field(default=None, description="S3 region; None lets boto3 decide.")
    s3_max_attempts: int = Field(default=5, description="Bounded retries for each S3 call.")

    def storage(self) -> Storage:
        return Storage(
            S3Settings(endpoint_url=self.s3_endpoint_url, region_name=self.s3_region, max_attempts=self.s3_max_attempts)
        )

    def layout(self) -> Layout:
        return Layout(self.home)
