"""Suite YAMLs as data: DCLM's tasks, shots and keys; the loader's checks; and missing-file reporting."""

from __future__ import annotations

from pathlib import Path

import pytest

from dclm_resources.evaluation.meta import CORE_GROUP, load_aggregation_groups, load_task_table
from dclm_resources.evaluation.suites import (
    ENV_DATA_DIR,
    SUITE_NAMES,
    SuiteError,
    load_suite,
    load_suite_tasks,
    resolve_data_dir,
    resolve_dataset_path,
    resolve_task_files,
)
from dclm_tests.paths import shared_data

# Tasks whose llm-foundry file is not in ../shared/data/eval (see its SOURCES.md).
ABSENT_IN_SHARED = {"hellaswag_zeroshot", "hellaswag", "mmlu_zeroshot", "mmlu_fewshot", "squad", "coqa", "bbq",
                    "bigbench_elementary_math_qa", "gpqa_main", "gpqa_diamond"}


def test_packaged_suites_have_dclm_task_counts() -> None:
    counts = {name: len(load_suite(name).tasks) for name in SUITE_NAMES}
    assert counts == {"light": 2, "medium": 12, "mmlu_and_lowvar": 23, "heavy": 53, "core": 22}
    assert load_suite("light").labels() == ["hellaswag_zeroshot", "mmlu_zeroshot"]
    assert load_suite("medium").labels() == [
        "hellaswag_zeroshot", "mmlu_zeroshot", "arc_easy", "arc_challenge", "boolq", "copa", "lambada_openai",
        "piqa", "jeopardy", "triviaqa_sm_sub", "winograd", "winogrande",
    ]
    assert load_suite("heavy").settings["device_eval_batch_size"] == 2
    assert load_suite("light").settings["max_seq_len"] == 2048


def test_heavy_is_the_task_table_with_its_shots_and_keys() -> None:
    table = load_task_table()
    heavy = load_suite_tasks("heavy")
    assert [e["label"] for e in heavy] == table.names()
    for entry in heavy:
        task = table[entry["label"]]
        assert entry["num_fewshot"] == [task.shots], entry["label"]
        assert entry["icl_task_type"] == task.icl_task_type
        assert entry["dataset_uri"] == task.dataset_uri
        extra = {k: v for k, v in entry.items() if k not in ("label", "dataset_uri", "num_fewshot", "icl_task_type")}
        assert extra == dict(task.extra), entry["label"]
    by_label = {e["label"]: e for e in heavy}
    assert by_label["mmlu_zeroshot"]["continuation_delimiter"] == "Answer: "
    assert by_label["mmlu_fewshot"]["continuation_delimiter"] == "\nAnswer: "
    assert by_label["gsm8k_cot"]["early_stopping_criteria"] == ["\n\n", "Q:", "Q: "]
    assert by_label["svamp_cot"]["continuation_delimiter"] == "\nUsing the formula below:\n"
    assert {label for label, e in by_label.items() if e.get("has_categories")} == {
        "mmlu_zeroshot", "mmlu_fewshot", "jeopardy", "bbq"}


def test_every_suite_entry_agrees_with_heavy() -> None:
    heavy = {e["label"]: e for e in load_suite_tasks("heavy")}
    for name in SUITE_NAMES:
        for entry in load_suite_tasks(name):
            assert entry == heavy[entry["label"]], (name, entry["label"])


def test_core_suites_are_the_low_variance_tasks() -> None:
    core = load_suite("core").labels()
    assert sorted(core) == sorted(load_aggregation_groups()[CORE_GROUP])
    assert load_suite("mmlu_and_lowvar").labels() == ["mmlu_fewshot", *core]


def test_resolve_task_files_reports_missing_never_drops(tmp_path: Path) -> None:
    data_dir = shared_data("eval")
    for name in SUITE_NAMES:
        labels = load_suite(name).labels()
        present, missing = resolve_task_files(name, data_dir)
        assert [e["label"] for e in present] == [label for label in labels if label not in ABSENT_IN_SHARED]
        assert [label for label, _ in missing] == [label for label in labels if label in ABSENT_IN_SHARED]
        for entry in present:
            assert Path(entry["dataset_path"]).is_file()
        for _, path in missing:
            assert not Path(path).exists()
    present, missing = resolve_task_files("core", data_dir)
    assert dict(missing)["squad"] == str(data_dir / "local_data" / "reading_comprehension" / "squad.jsonl")
    assert len(present) == 18


def test_data_dir_may_be_local_data_itself() -> None:
    parent = shared_data("eval")
    from_parent = resolve_task_files("heavy", parent)
    from_local = resolve_task_files("heavy", parent / "local_data")
    assert from_parent == from_local
    assert resolve_dataset_path("gpqa_data/gpqa_main.jsonl", parent / "local_data") == parent / "gpqa_data" / \
        "gpqa_main.jsonl"
    assert resolve_dataset_path("/abs/x.jsonl", parent) == Path("/abs/x.jsonl")


def test_data_dir_from_argument_else_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(ENV_DATA_DIR, raising=False)
    with pytest.raises(SuiteError, match="DCLM_EVAL_DATA"):
        resolve_data_dir(None)
    monkeypatch.setenv(ENV_DATA_DIR, str(tmp_path))
    assert resolve_data_dir(None) == tmp_path
    assert resolve_data_dir(tmp_path / "other") == tmp_path / "other"
    present, missing = resolve_task_files("light")  # env dir is empty: everything missing, nothing dropped
    assert present == [] and [label for label, _ in missing] == ["hellaswag_zeroshot", "mmlu_zeroshot"]


def test_task_entries_given_as_a_list(tmp_path: Path) -> None:
    target = tmp_path / "local_data" / "x" / "t.jsonl"
    target.parent.mkdir(parents=True)
    target.write_text('{"context": "a", "continuation": "b"}\n')
    entries = [{"label": "t", "dataset_uri": "local_data/x/t.jsonl", "num_fewshot": [0],
                "icl_task_type": "language_modeling"}]
    present, missing = resolve_task_files(entries, tmp_path)
    assert present[0]["dataset_path"] == str(target) and missing == []
    assert "dataset_path" not in entries[0]  # the caller's entries are not modified


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(text)
    return path


ENTRY = "  - {label: copa, dataset_uri: local_data/commonsense_reasoning/copa.jsonl, num_fewshot: [0], " \
        "icl_task_type: multiple_choice%s}\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("icl_tasks:\n" + ENTRY % ", continuation_delimter: ' '", r"icl_tasks\[0\] \(copa\): unknown key"),
        ("icl_tasks:\n  - {label: copa, num_fewshot: [0], icl_task_type: schema}\n",
         r"icl_tasks\[0\]: missing required key 'dataset_uri'"),
        ("icl_tasks:\n" + (ENTRY % "").replace("multiple_choice", "essay"), "icl_task_type 'essay' is not one of"),
        ("icl_tasks:\n" + (ENTRY % "").replace("[0]", "[-1]"), "non-negative integers"),
        ("icl_tasks:\n" + ENTRY % "" + ENTRY % "", r"icl_tasks\[1\]: label 'copa' appears twice"),
        ("icl_tasks:\n" + ENTRY % ", has_categories: 'yes'", "'has_categories' must be true or false"),
        ("icl_tasks:\n" + ENTRY % ", early_stopping_criteria: 3", "early_stopping_criteria"),
        ("icl_tasks: []\n", "non-empty list"),
        ("seed: 1\nicl_tasks:\n  - label: [unclosed\n", r"suite\.yaml: line \d+: invalid YAML"),
    ],
)
def test_bad_suites_name_file_and_entry(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(SuiteError, match=message) as info:
        load_suite(path)
    assert str(path) in str(info.value)


def test_unknown_suite_name() -> None:
    with pytest.raises(SuiteError, match="unknown suite 'gigantic'"):
        load_suite("gigantic")


def test_a_dclm_style_yaml_loads_as_is(tmp_path: Path) -> None:
    """DCLM's own eval YAMLs carry llm-foundry top-level keys and the older 'question_answering' type."""
    path = _write(tmp_path, (
        "epoch: 1.25T\ndataset: bigdata\nnum_params: 1B\nmax_seq_len: 2048\nseed: 1\nprecision: fp32\n"
        "tokenizer:\n  pretrained_model_name_or_path:\n  kwargs:\n    model_max_length: 2048\n"
        "model:\n  name: open_lm\n  init_device: cpu\n  pretrained: true\nload_path:\n"
        "device_eval_batch_size: 2\nfsdp_config:\n  sharding_strategy: FULL_SHARD\n  mixed_precision: FULL\n"
        "icl_tasks:\n-\n  label: triviaqa_sm_sub\n  dataset_uri: local_data/world_knowledge/triviaqa_sm_sub.jsonl\n"
        "  num_fewshot: [3]\n  icl_task_type: question_answering\n"
    ))
    suite = load_suite(path)
    assert suite.name == "suite" and suite.labels() == ["triviaqa_sm_sub"]
    assert suite.settings["model"]["name"] == "open_lm"
