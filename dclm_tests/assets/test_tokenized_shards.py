"""tokenized_shards through Dagster: curated pages -> open_lm shards, with the manifest check and metadata."""

from __future__ import annotations

import dagster as dg

from dclm_assets.assets.tokens import tokenized_shards, tokenizer
from dclm_assets.partitions import dataset_partitions
from dclm_resources.ray_resource import local_ray
from dclm_resources.storage import read_jsonl, write_jsonl
from dclm_resources.storage_resource import StorageResource
from dclm_resources.tokenization import check_manifest, decode_contexts, iter_tar_contexts, load_tokenizer
from dclm_tests.paths import shared_data


def test_tokenized_shards_materialize_and_check(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    home = tmp_path / "home"
    pages = list(read_jsonl(str(shared_data("web", "jsonl", "c4_en_sample", "c4_sample.jsonl"))))[:200]
    curated = home / "filtered" / "c4" / "quality" / "processed_data"
    write_jsonl(pages[:120], str(curated / "a_processed.jsonl.zst"))
    write_jsonl(pages[120:], str(curated / "b_processed.jsonl.zst"))
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(dataset_partitions.name, ["c4"])
    resources = {"storage": StorageResource(home=str(home)), "ray": local_ray(num_cpus=2)}
    result = dg.materialize(
        [tokenizer, tokenized_shards],
        instance=instance,
        partition_key="c4",
        resources=resources,
        run_config={
            "ops": {
                "tokenizer": {"config": {"training_source": str(curated), "vocab_size": 2000}},
                "tokenized_shards": {"config": {"seq_len": 256, "sequences_per_shard": 64, "seed": 7}},
            }
        },
    )
    assert result.success
    (mat,) = result.asset_materializations_for_node("tokenized_shards")
    meta = {k: v.value for k, v in mat.metadata.items()}
    assert meta["shards"] >= 2 and meta["documents"] == 200 and 0 <= meta["padding_fraction"] < 0.05
    checks = result.get_asset_check_evaluations()
    assert [c.check_name for c in checks] == ["manifest_matches_tars"] and checks[0].passed
    out = home / "tokenized" / "c4"
    assert check_manifest(str(out), context_len=257).ok
    tok = load_tokenizer(str(home / "tokenizers" / "dclm-bpe"))
    contexts = [ctx for tar in sorted(out.glob("*.tar")) for _, ctx in iter_tar_contexts(str(tar))]
    assert all(len(ctx) == 257 for ctx in contexts)
    # Shuffled at context level: every token of the input is there once; EOTs count the documents.
    assert sum(list(ctx).count(tok.eot_id) for ctx in contexts) == 200
    decoded = decode_contexts(contexts, tok)
    assert sorted(d for d in decoded if d) != [] and len(decoded) >= 200
