"""raw_pool: a web pool (JSONL shards, possibly extracted from WARC) described by a DCLM raw-source JSON."""


import dagster as dg
from dagster_ray import RayResource
from pydantic import Field

from dclm_assets.partitions import dataset_partitions
from dclm_resources.pools.rawpool import RawPool, build_raw_pool
from dclm_resources.pools.sample import SamplePoolSpec
from dclm_resources.registry import resolve_source
from dclm_resources.storage_resource import StorageResource


class RawPoolConfig(dg.Config):
    source: str = Field(
        default="",
        description="Reference JSON, folder, s3:// prefix, JSONL/WARC file or 'builtin:sample'. "
        "Empty: the dataset's registered source ('sample' falls back to the embedded pool).",
    )
    sample_pages: int = Field(default=SamplePoolSpec.num_pages, description="Pages in the embedded sample pool.")
    sample_shards: int = Field(default=SamplePoolSpec.num_shards, description="Shards of the embedded sample pool.")
    sample_seed: int = Field(default=SamplePoolSpec.seed, description="Seed of the embedded sample pool.")


@dg.asset(
    partitions_def=dataset_partitions,
    group_name="data",
    kinds={"ray", "json"},
    code_version="1",
    description=__doc__,
)
def raw_pool(
    context: dg.AssetExecutionContext, config: RawPoolConfig, storage: StorageResource, ray: RayResource
) -> dg.MaterializeResult:
    dataset = context.partition_key
    layout, store = storage.layout(), storage.storage()
    source = resolve_source(layout, store, dataset, config.source)
    spec = SamplePoolSpec(num_pages=config.sample_pages, num_shards=config.sample_shards, seed=config.sample_seed)
    pool = build_raw_pool(dataset, source, layout, store, sample_spec=spec, progress=False)
    context.log.info(f"raw pool {dataset!r}: {pool.pages} pages in {len(pool.shards)} shards -> {pool.reference_uri}")
    return dg.MaterializeResult(metadata=raw_pool_metadata(pool))


def raw_pool_metadata(pool: RawPool) -> dict[str, dg.MetadataValue]:
    rows = "\n".join(
        f"| {s.uri} | {s.pages} | {s.bytes} | {s.invalid_lines} |" for s in pool.shards[:200]
    )
    shards_md = "| shard | pages | bytes | invalid lines |\n|---|---|---|---|\n" + rows
    if len(pool.shards) > 200:
        shards_md += f"\n\n... and {len(pool.shards) - 200} more shards (all listed in the reference JSON)"
    metadata: dict[str, dg.MetadataValue] = {
        "source": dg.MetadataValue.text(pool.source),
        "reference": dg.MetadataValue.path(pool.reference_uri),
        "pages": dg.MetadataValue.int(pool.pages),
        "bytes": dg.MetadataValue.int(pool.bytes),
        "num_shards": dg.MetadataValue.int(len(pool.shards)),
        "invalid_lines": dg.MetadataValue.int(pool.invalid_lines),
        "shards": dg.MetadataValue.md(shards_md),
        "sample": dg.MetadataValue.json(pool.sample(5)),
    }
    if pool.warc is not None:
        metadata["warc_records_failed"] = dg.MetadataValue.int(pool.warc.records_failed)
        metadata["warc_pages_written"] = dg.MetadataValue.int(pool.warc.pages_written)
        metadata["warc_errors"] = dg.MetadataValue.json(pool.warc.errors[:20])
    return metadata
