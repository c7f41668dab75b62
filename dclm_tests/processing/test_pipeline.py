"""Pipeline YAMLs: source selection, step parsing, up-front validation with precise errors, chunking."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from dclm_resources.processing import registry
from dclm_resources.processing.pipeline import COMMIT, PipelineError, load_pipeline, parse_pipeline
from dclm_tests.paths import shared_data
from dclm_tests.processing.custom_ops import (
    PREFIX,
    real_operators_available,
    use_registry_without_missing_modules,
)

CONFIGS = Path(__file__).resolve().parents[2] / "dclm_assets" / "configs" / "pipelines"


@pytest.fixture(autouse=True)
def _registry(monkeypatch):
    use_registry_without_missing_modules(monkeypatch)
    monkeypatch.setitem(registry._AGGREGATORS, "t_hist", lambda values: {"n": len(values)})
    monkeypatch.setitem(registry._TRANSFORMS, "t_round", lambda v, digits=0: round(v, digits))


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "pipe.yaml"
    path.write_text(text)
    return str(path)


def test_picks_source_and_parses_steps(tmp_path):
    path = write(tmp_path, """
- source: other
  steps: [{func: t_upper}]
- source: cc
  steps:
    - func: t_min_chars
      min_chars: 5
      _aggregate:
        length: t_hist
    - commit
    - func: t_tag
      tag: a
      module: ignored
      _comment: ignored too
""")
    p = load_pipeline(path, "cc")
    assert p.source_name == "cc" and p.name == "pipe"
    assert [s.func for s in p.steps] == ["t_min_chars", COMMIT, "t_tag"]
    assert p.steps[0].params == {"min_chars": 5}
    assert p.steps[2].params == {"tag": "a"}  # func/module/_keys are not mapper kwargs
    assert p.steps[0].aggregates[0].key == "length" and p.steps[0].aggregates[0].aggregator == "t_hist"
    assert [s.position for s in p.steps] == [0, None, 1]
    assert p.steps[1].is_commit and not p.steps[0].is_commit
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.steps[0].func = "x"  # type: ignore[misc]


def test_aggregate_spec_forms():
    data = [{"source": "s", "steps": [
        {"func": "t_length", "_aggregate": {"length": "t_hist"}},
        {"func": "t_length", "_aggregate": {"length": {"type": "t_hist", "transform": "t_round", "digits": 2}}},
    ]}]
    p = parse_pipeline(data, "s")
    first, second = p.steps[0].aggregates[0], p.steps[1].aggregates[0]
    assert (first.key, first.aggregator, first.transform) == ("length", "t_hist", None)
    assert (second.aggregator, second.transform, second.transform_kwargs) == ("t_hist", "t_round", {"digits": 2})
    with pytest.raises(PipelineError, match=r"step 0 .*unknown aggregator 'nope'"):
        parse_pipeline([{"source": "s", "steps": [{"func": "t_length", "_aggregate": {"length": "nope"}}]}], "s")


def test_unknown_source_lists_available(tmp_path):
    path = write(tmp_path, "- source: a\n  steps: [commit]\n- source: b\n  steps: [commit]\n")
    with pytest.raises(PipelineError) as err:
        load_pipeline(path, "zz")
    assert path in str(err.value) and "'zz'" in str(err.value) and "a, b" in str(err.value)


@pytest.mark.parametrize(
    ("steps", "pattern"),
    [
        ('[{func: t_upper}, {func: no_such_op}]', r"step 1 \(func: no_such_op\): unknown operator"),
        ('[{func: t_min_chars, min_char: 3}]', r"step 0 \(func: t_min_chars\).*unknown parameter\(s\) min_char"),
        ('[{func: t_tag}]', r"step 0 \(func: t_tag\).*missing a required argument: 'tag'"),
        ('[{func: t_dedup_text}, {func: t_upper}]', r"step 0 \(func: t_dedup_text\): a global step cannot be"),
        ('[{func: t_upper}, {func: t_dedup_text, keyy: x}]', r"step 1 \(func: t_dedup_text\).*keyy"),
        (f'[{{func: {PREFIX}upper_modifier}}]', r"step 0 .*custom operator .* refused"),
        ('[{func: t_upper}, uncommit]', r"step 1: the only bare-string step is 'commit'"),
        ('[{min_chars: 3}]', r"step 0: key 'func' is missing"),
        ('[]', r"'steps' must be a non-empty list"),
    ],
)
def test_validation_errors_name_file_step_and_key(tmp_path, steps, pattern):
    path = write(tmp_path, f"- source: cc\n  steps: {steps}\n")
    with pytest.raises(PipelineError, match=pattern) as err:
        load_pipeline(path, "cc")
    assert str(err.value).startswith(path)


def test_custom_operators_need_opt_in(tmp_path):
    path = write(tmp_path, f"- source: cc\n  steps:\n    - func: {PREFIX}min_chars_filter\n      min_chars: 3\n"
                           f"    - func: {PREFIX}counter_enricher\n      key: idx\n")
    p = load_pipeline(path, "cc", allow_custom=True)
    assert p.allow_custom and p.steps[1].params == {"key": "idx"}
    bad = write(tmp_path, f"- source: cc\n  steps:\n    - func: {PREFIX}counter_enricher\n      nope: 1\n")
    with pytest.raises(PipelineError, match="nope"):
        load_pipeline(bad, "cc", allow_custom=True)


def test_bad_yaml_and_shape(tmp_path):
    with pytest.raises(PipelineError, match="not valid YAML"):
        load_pipeline(write(tmp_path, "- source: [unclosed\n"), "cc")
    with pytest.raises(PipelineError, match="a pipeline YAML is a list"):
        load_pipeline(write(tmp_path, "source: cc\nsteps: []\n"), "cc")
    with pytest.raises(PipelineError, match="defined 2 times"):
        load_pipeline(write(tmp_path, "- {source: cc, steps: [commit]}\n- {source: cc, steps: [commit]}\n"), "cc")


def test_chunks_group_local_runs_and_isolate_global_steps():
    data = [{"source": "s", "steps": [
        {"func": "t_upper"}, "commit", {"func": "t_length"},
        {"func": "t_dedup_text"}, {"func": "t_dedup_text", "key": "url"},
        {"func": "t_upper"}, "commit",
    ]}]
    p = parse_pipeline(data, "s")
    assert [(c.name, c.start, c.end, len(c.steps)) for c in p.chunks] == [
        ("local", 0, 2, 3), ("t_dedup_text", 2, 3, 1), ("t_dedup_text", 3, 4, 1), ("local", 4, 5, 2)]
    assert p.chunks[1].is_global and not p.chunks[0].is_global
    assert p.chunks[2].steps[0].params == {"key": "url"}
    assert [s.func for s in p.positioned_steps] == ["t_upper", "t_length", "t_dedup_text", "t_dedup_text",
                                                     "t_upper"]


def test_shipped_configs_parse_when_operators_exist(tmp_path):
    """The DCLM configs in the repo validate against the real registry once its operators are in place."""
    if not real_operators_available() or not registry.is_global_step("exact_dedup"):
        pytest.skip("operator modules (with exact_dedup) not all present yet")
    banlists = str(shared_data("wordlists", "dclm_banlists"))
    c4 = load_pipeline(str(CONFIGS / "c4.yaml"), "cc_april_2019", resource_dirs=[banlists])
    assert [c.name for c in c4.chunks] == ["local", "exact_dedup", "exact_dedup", "local"]
    # The curated RefinedWeb domain list is not redistributable here: any local file stands in for it.
    curated = tmp_path / "refinedweb_banned_domains_curated.txt"
    curated.write_text("spam.example\n")
    rw = load_pipeline(str(CONFIGS / "dclm_baseline_refinedweb.yaml"), "cc", resource_dirs=[banlists, str(tmp_path)])
    assert len(rw.steps) == 26 and len(rw.chunks) == 1


def test_missing_banlist_fails_before_any_page(tmp_path):
    """A DCLM config whose banlist is nowhere names the step and every place searched."""
    if not real_operators_available():
        pytest.skip("operator modules not all present yet")
    with pytest.raises(PipelineError, match=r"step 1 \(func: url_substring_filter\).*refinedweb_banned_domains_curated"):
        load_pipeline(str(CONFIGS / "dclm_baseline_refinedweb.yaml"), "cc", resource_dirs=[str(tmp_path)])
