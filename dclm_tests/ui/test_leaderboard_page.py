"""The static leaderboard page (``update_leaderboard``) opens in Chromium from a file:// URL with its table and plot.

Input: real DCLM eval JSONs from ``../shared/data/dclm_exp_data/evals`` placed in our layout, each with a model
reference built from DCLM's published table, plus that table itself, as the leaderboard tests do.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from dclm_resources.leaderboard import OURS, scale_label, update_leaderboard
from dclm_resources.storage import Storage
from dclm_tests.leaderboard.conftest import PICKED, csv_row, exp_data, stored_eval

pytestmark = pytest.mark.browser


def _dclm_home(root: Path) -> Path:
    """``evals/<scale>/<dataset>/heavy.json`` and ``training/<scale>/<dataset>/<run>/model.json`` per picked eval."""
    template = json.loads(next((exp_data() / "models").glob("*.json")).read_text())
    for prefix, dataset in PICKED:
        path, report = stored_eval(prefix)
        row = csv_row(report["model_uuid"])
        scale = scale_label(row["params"], row["tokens"])
        eval_dir = root / "evals" / scale / dataset
        eval_dir.mkdir(parents=True)
        (eval_dir / "heavy.json").write_text(path.read_text())
        name = f"{dataset}-{scale}"
        model = {**template, "uuid": report["model_uuid"], "dataset_name": dataset, "name": name,
                 "hyperparameters": {**template["hyperparameters"], "params": row["params"], "tokens": row["tokens"],
                                     "model": report["model"]}}
        run_dir = root / "training" / scale / dataset / name
        run_dir.mkdir(parents=True)
        (run_dir / "model.json").write_text(json.dumps(model))
    return root


def test_leaderboard_page_shows_table_and_plot(tmp_path, page, artifacts):
    from playwright.sync_api import expect

    home = _dclm_home(tmp_path / "home")
    result = update_leaderboard(str(home), str(home / "leaderboard"), Storage(),
                                dclm_csv=str(exp_data() / "DCLM_model_database.csv"))
    assert result.problems == [] and result.ours.height == len(PICKED)

    page.goto(Path(result.files.html).as_uri(), wait_until="load")
    expect(page.locator("h1")).to_have_text("DCLM leaderboard")

    # The plot is embedded, decoded and drawn at a readable size.
    plot = page.get_by_role("img", name="Core against training FLOPs")
    expect(plot).to_be_visible()
    natural = plot.evaluate("img => [img.complete, img.naturalWidth, img.naturalHeight]")
    assert natural[0] and natural[1] > 400 and natural[2] > 200, natural
    assert plot.bounding_box()["width"] > 400
    page.screenshot(path=str(artifacts / "leaderboard.png"))

    # One section per scale, in the table's order, each a table with DCLM's columns.
    scales = result.frame["scale"].fill_null("unknown scale").unique(maintain_order=True).to_list()
    expect(page.locator("h2")).to_have_text(scales)
    expect(page.locator("table")).to_have_count(len(scales))
    headers = page.locator("table").first.locator("th").all_inner_texts()
    for column in ("model", "params", "tokens", "Core", "Extended", "MMLU", "dataset"):
        assert column in headers, headers
    expect(page.locator("tbody tr")).to_have_count(result.frame.height)

    # Our reports are the highlighted rows, each with its dataset and its Core score as the engine computed it.
    ours = page.locator("tr.ours")
    expect(ours).to_have_count(len(PICKED))
    for row in result.frame.filter(pl.col("source") == OURS).iter_rows(named=True):
        line = ours.filter(has_text=row["dataset"])
        expect(line).to_have_count(1)
        expect(line).to_contain_text(f"{row['Core']:.4f}")
        expect(line).to_contain_text(row["model"])
    background = ours.first.locator("td").first.evaluate("td => getComputedStyle(td).backgroundColor")
    assert background == "rgb(255, 244, 214)", background  # the page's highlight, so the stylesheet applied
    ours.last.scroll_into_view_if_needed()  # the largest scale: far down the page
    page.screenshot(path=str(artifacts / "leaderboard_ours.png"))

    # The download links point at the tables written beside the page.
    for link in page.locator("a").all():
        target = Path(result.files.html).parent / link.get_attribute("href")
        assert target.is_file(), target
