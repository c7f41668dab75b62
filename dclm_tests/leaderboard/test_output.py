"""update_leaderboard end to end: table (Parquet, CSV), static page and plot, locally and on S3."""

from __future__ import annotations

import io
import json
import re

import polars as pl
import pytest

from dclm_resources.leaderboard import SCHEMA, read_table, update_leaderboard
from dclm_resources.storage import Storage
from dclm_tests.leaderboard.conftest import exp_data

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _png_size(png: bytes) -> tuple[int, int]:
    assert png.startswith(PNG_MAGIC)
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def test_table_page_and_plot_with_dclms_table(home):
    out = home / "leaderboard"
    result = update_leaderboard(str(home), str(out), Storage(),
                                dclm_csv=str(exp_data() / "DCLM_model_database.csv"))
    frame = result.frame
    assert frame.columns == list(SCHEMA) and result.problems == []
    assert result.ours.height == 3 and frame.filter(pl.col("source") == "dclm").height > 400
    flops = frame.filter(pl.col("params").is_not_null() & pl.col("tokens").is_not_null())
    assert (flops["train_flops"] == 6.0 * flops["params"].cast(pl.Float64) * flops["tokens"].cast(pl.Float64)).all()
    # Per scale: ours first, then by Core, best first.
    seven = frame.filter(pl.col("scale") == "7b-1x")
    assert seven["source"][0] == "ours"
    dclm_core = seven.filter(pl.col("source") == "dclm")["Core"].drop_nulls().to_list()
    assert dclm_core == sorted(dclm_core, reverse=True)
    scales = frame["scale"].unique(maintain_order=True).to_list()
    assert scales.index("400m-1x") < scales.index("1b-1x") < scales.index("7b-1x")

    assert read_table(result.files.parquet, Storage()).equals(frame)
    csv = pl.read_csv(out / "leaderboard.csv", try_parse_dates=True)
    assert csv.columns == list(SCHEMA) and csv.height == frame.height
    for column in ("model", "params", "tokens", "Core", "Extended", "MMLU", "dataset"):
        assert column in csv.columns
    assert _png_size((out / "core_vs_flops.png").read_bytes())[0] > 400

    page = (out / "index.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count('<tr class="ours">') == 3
    assert "<h2>7b-1x</h2>" in page and "c4_original" in page
    assert not re.search(r"<script|src=\"(?!data:)|href=\"(?:https?:)?//", page)
    (embedded,) = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert embedded


def test_user_strings_are_escaped(home):
    model = next(home.glob("training/*/c4_original/*/model.json"))
    record = json.loads(model.read_text())
    record["dataset_name"] = HOSTILE
    model.write_text(json.dumps(record))
    broken = home / "evals" / "micro" / "x" / f"{'a' * 3}.json"
    broken.parent.mkdir(parents=True)
    broken.write_text("{<b>not json</b>")
    result = update_leaderboard(str(home), str(home / "lb"), Storage())
    page = (home / "lb" / "index.html").read_text()
    assert HOSTILE not in page and "<script" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "<b>not json</b>" not in page and "Skipped reports" in page
    assert result.frame.filter(pl.col("dataset") == HOSTILE).height == 1


def test_empty_home_gives_an_empty_board(tmp_path):
    result = update_leaderboard(str(tmp_path), str(tmp_path / "lb"), Storage())
    assert result.frame.is_empty() and result.frame.columns == list(SCHEMA)
    assert "No eval reports yet" in (tmp_path / "lb" / "index.html").read_text()
    assert _png_size((tmp_path / "lb" / "core_vs_flops.png").read_bytes())[0] > 0
    assert pl.read_parquet(tmp_path / "lb" / "leaderboard.parquet").schema == pl.Schema(SCHEMA)


def test_unscored_demo_report_is_listed_with_its_loss(tmp_path):
    """The offline demo's report has no DCLM suite: no Core, but a row with the held-out loss."""
    report = tmp_path / "evals" / "micro" / "sample" / "demo.json"
    report.parent.mkdir(parents=True)
    report.write_text(json.dumps({
        "uuid": "u", "model": "micro", "creation_date": "2026_01_02-03_04_05", "name": "demo",
        "eval_metrics": {"perplexity": 5.25, "icl": {"sample_cloze": 0.4}},
        "Core": "N/A due to missing tasks: ['hellaswag_zeroshot']", "model_uuid": "m",
    }))
    result = update_leaderboard(str(tmp_path), str(tmp_path / "lb"), Storage())
    (row,) = result.frame.to_dicts()
    assert row["perplexity"] == 5.25 and row["Core"] is None and row["scale"] == "micro"
    assert row["dataset"] == "sample" and row["eval_suite"] == "demo"
    assert "5.2500" in (tmp_path / "lb" / "index.html").read_text()


def test_writes_to_s3(home, s3_storage):
    store, root = s3_storage
    for path in home.rglob("*.json"):
        store.write_text(f"{root}/home/{path.relative_to(home).as_posix()}", path.read_text())
    result = update_leaderboard(f"{root}/home", f"{root}/home/leaderboard", store)
    assert result.ours.height == 3 and result.files.html == f"{root}/home/leaderboard/index.html"
    frame = pl.read_parquet(io.BytesIO(store.read_bytes(result.files.parquet)))
    assert frame.equals(result.frame)
    assert store.read_bytes(result.files.plot).startswith(PNG_MAGIC)
    assert store.read_text(result.files.html).count('<tr class="ours">') == 3


@pytest.mark.parametrize("bad", ["s3://x", "../up"])
def test_bad_patterns_are_refused(tmp_path, bad):
    from dclm_resources.leaderboard import LeaderboardError

    with pytest.raises(LeaderboardError):
        update_leaderboard(str(tmp_path), str(tmp_path / "lb"), Storage(), eval_pattern=f"{bad}/*.json")
