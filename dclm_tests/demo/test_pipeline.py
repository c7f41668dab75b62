"""demo.yaml: DCLM-Baseline's heuristics with resources the project builds, acting on the pages they target."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from dclm_assets.assets.filtering import pipeline_path
from dclm_resources.demo.resources import DEMO_TLDS, QUALITY_MODEL_NAME, prepare_resources, reference_pages
from dclm_resources.layout import Layout
from dclm_resources.pools.sample import SamplePoolSpec, generate_pages
from dclm_resources.processing import get_mapper
from dclm_resources.processing.pipeline import load_pipeline
from dclm_resources.quality import TextSource, train_quality_classifier
from dclm_resources.storage import Storage, read_jsonl, write_jsonl

DEMO_YAML = pipeline_path("demo.yaml")
BASELINE_YAML = pipeline_path("dclm_baseline_refinedweb.yaml")


@pytest.fixture(scope="module")
def resources(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    layout = Layout(str(tmp_path_factory.mktemp("home")))
    return prepare_resources(layout, Storage(), reference_count=40, build_lid=False)


def test_resources_are_built_once_and_are_the_projects_own(resources) -> None:  # noqa: ANN001
    assert Path(resources.tlds).read_text().split() == list(DEMO_TLDS)
    pages = list(read_jsonl(resources.reference_pages))
    assert len(pages) == 40 and all(p["source"] == "demo_reference" for p in pages)
    pool_texts = {p["text"] for p in generate_pages(SamplePoolSpec())}  # the demo pool's default seed
    assert not pool_texts & {p["text"] for p in pages}
    stamp = Path(resources.reference_pages).stat().st_mtime_ns
    layout = Layout(str(Path(resources.resource_dir).parent.parent))
    again = prepare_resources(layout, Storage(), reference_count=40, build_lid=False)
    assert again.reused and not resources.reused and again.fingerprint == resources.fingerprint
    assert Path(resources.reference_pages).stat().st_mtime_ns == stamp
    assert [p["text"] for p in reference_pages(5)] == [p["text"] for p in pages[:5]]  # deterministic


def test_heuristics_follow_dclm_baseline(resources) -> None:  # noqa: ANN001
    """Same steps as DCLM-Baseline except the documented ones: no curated domain list, exact dedup added."""
    demo = load_pipeline(DEMO_YAML, "demo_heuristics", resource_dirs=[resources.resource_dir])
    steps = [s.func for s in demo.positioned_steps]
    baseline_text = Path(BASELINE_YAML).read_text()
    baseline = [line.split("func:")[1].strip() for line in baseline_text.splitlines() if "- func:" in line]
    assert baseline[1] == "url_substring_filter"  # the curated-domains step the demo leaves out
    assert steps == baseline[:1] + baseline[2:] + ["exact_dedup"]
    language = next(s for s in demo.positioned_steps if s.func == "language_filter")
    assert language.params == {"key": "language_id_whole_page_fasttext", "keep_languages": ["en"], "threshold": 0.65}


def test_heuristics_keep_good_pages_and_drop_the_planted_bad_ones(
    resources, cached_lid_model: Path, monkeypatch: pytest.MonkeyPatch  # noqa: ANN001
) -> None:
    monkeypatch.setenv("DCLM_LID_MODEL", str(cached_lid_model))
    demo = load_pipeline(DEMO_YAML, "demo_heuristics", resource_dirs=[resources.resource_dir])
    mappers = [get_mapper(s.func, **s.params) for s in demo.positioned_steps if not s.is_global]
    seen, kept = Counter(), Counter()
    for page in generate_pages(SamplePoolSpec(num_pages=400, seed=21)):
        kind = page["metadata"]["sample_kind"]
        seen[kind] += 1
        pages = [page]
        for fn in mappers:
            pages = [out for p in pages for out in fn(p)]
        kept[kind] += len(pages)
    assert kept["good"] >= 0.9 * seen["good"], (kept, seen)
    for kind in ("spam", "non_english", "short", "symbols", "repetitive"):
        assert kept[kind] <= 0.15 * seen[kind], (kind, kept, seen)


def test_quality_stage_ranks_good_pages_above_the_rest(resources, tmp_path: Path) -> None:  # noqa: ANN001
    """The demo classifier (reference articles vs the raw pool, balanced) scores good pages higher."""
    pool = tmp_path / "pool.jsonl"
    write_jsonl(generate_pages(SamplePoolSpec(num_pages=80, seed=31)), str(pool))
    models = tmp_path / "models"
    train_quality_classifier([TextSource(resources.reference_pages)], [TextSource(str(pool))],
                             str(models / QUALITY_MODEL_NAME), Storage(), max_examples_per_label=40)
    quality = load_pipeline(DEMO_YAML, "demo_quality", resource_dirs=[str(models)])
    enrich = get_mapper(quality.positioned_steps[0].func, **quality.positioned_steps[0].params)
    key = quality.positioned_steps[0].params["key"]
    scores: dict[str, list[float]] = {}
    for page in generate_pages(SamplePoolSpec(num_pages=200, seed=32)):
        (out,) = enrich(page)
        scores.setdefault(page["metadata"]["sample_kind"], []).append(out[key])
    good = sum(scores["good"]) / len(scores["good"])
    for kind in ("spam", "boilerplate", "symbols", "short"):
        assert sum(scores[kind]) / len(scores[kind]) < good, (kind, scores)
