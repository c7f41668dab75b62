"""Raw pools: WARC extraction, the embedded sample pool and DCLM raw-source reference JSONs."""

from dclm_resources.pools.sample import (
    SamplePoolSpec,
    SamplePoolStats,
    build_sample_pool,
    generate_pages,
)
from dclm_resources.pools.warc import (
    WarcExtractionStats,
    WarcFormatError,
    extract_warc,
    iter_warc_pages,
    warc_output_stem,
)

__all__ = [
    "SamplePoolSpec",
    "SamplePoolStats",
    "WarcExtractionStats",
    "WarcFormatError",
    "build_sample_pool",
    "extract_warc",
    "generate_pages",
    "iter_warc_pages",
    "warc_output_stem",
]
