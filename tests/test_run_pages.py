"""Run pages and the explorer's data (analysis/site/run_pages.py, analysis/site/explorer.py): every planned run
gets a page, a run whose files are missing or unreadable gets one that says so, and config text is escaped."""
from __future__ import annotations

import html
import json
import re

import pandas as pd

from analysis.pipeline.plan import Plan
from analysis.site.explorer import explorer_data, write_explorer_data
from analysis.site.run_pages import retrain_command, write_run_pages

HOSTILE = "<b>bold</b><script>alert(1)</script>"
CONFIG = {"defaults": {"lr": 0.1}, "experiments": {
    "probe": {"exercise": "x", "base": {"epochs": 1}, "grid": {"note": ["plain", HOSTILE, "third"]}, "seeds": [1]}}}


def tables_and_runs(tmp_path):
    tables, runs_dir = tmp_path / "tables", tmp_path / "runs"
    plan = Plan.from_config(CONFIG, "default")
    plan.write(tables, CONFIG)
    ok, unreadable, absent = (run.run_id for run in plan.runs_of("probe"))
    pd.DataFrame([{"run_id": ok, "experiments": ["probe"], "status": "ok", "final_test_acc": 0.5},
                  {"run_id": unreadable, "experiments": ["probe"], "status": "ok", "final_test_acc": 0.7}]
                 ).to_parquet(tables / "runs.parquet")
    pd.DataFrame([{"run_id": ok, "epoch": e, "test_acc": 0.1 + 0.4 * e, "test_loss": 2.0 - e} for e in (0, 1)]
                 ).to_parquet(tables / "epochs.parquet")
    (runs_dir / ok).mkdir(parents=True)
    (runs_dir / ok / "record.json").write_text(json.dumps({
        "run_id": ok, "status": "ok", "diverged_at": None, "spec": plan.runs_of("probe")[0].spec,
        "final": {"epoch": 1, "test_acc": 0.5, "test_loss": 1.0},
        "timing": {"wall_seconds": 3.0, "train_seconds": 2.0, "samples_per_s": 1000.0, "gflops_per_s": 1.5,
                   "pack_gflops_per_s": 1.5},
        "pack": {"id": ok, "size": 2, "members": [ok, unreadable], "peak_rss_mb": 100.0},
        "environment": {"device": "cpu", "device_name": "Test CPU", "threads": 1, "host": "h", "cpu_count": 2,
                        "platform": "p", "versions": {"torch": "2.13.0+cpu"}}}))
    (runs_dir / ok / "train.log").write_text("".join(f"line {i}\n" for i in range(100)))
    (runs_dir / unreadable).mkdir()
    (runs_dir / unreadable / "record.json").write_text("{ truncated")
    return tables, runs_dir, (ok, unreadable, absent)


def test_a_diverged_run_with_no_training_time_gets_its_page(tmp_path):
    """A record's rates are null when no time was trained (epochs: 0), and a diverged run names where it diverged:
    the page shows dashes and the place, and the site step does not stop."""
    tables, runs_dir, (ok, _, _) = tables_and_runs(tmp_path)
    path = runs_dir / ok / "record.json"
    record = json.loads(path.read_text())
    record["timing"].update(train_seconds=0.0, samples_per_s=None, gflops_per_s=None, pack_gflops_per_s=None)
    record.update(status="diverged", diverged_at={"epoch": 1, "step": 7, "loss": float("nan")})
    record["pack"]["members"].append("elsewhere00")  # a mate trained for another profile: no page to link
    path.write_text(json.dumps(record))
    write_run_pages(tmp_path / "site", tables, runs_dir, "default")
    text = (tmp_path / "site/runs" / f"{ok}.html").read_text()
    assert "diverged (diverged at epoch 1, step 7, loss nan)" in text and "samples/s</dt><dd>—" in text
    assert "<code>elsewhere00</code> (not in this profile)" in text and 'href="elsewhere00.html"' not in text


def test_every_planned_run_gets_a_page_and_a_run_with_missing_files_says_so(tmp_path):
    tables, runs_dir, (ok, unreadable, absent) = tables_and_runs(tmp_path)
    pages = write_run_pages(tmp_path / "site", tables, runs_dir, "default")
    assert sorted(p.stem for p in pages) == sorted([ok, unreadable, absent])
    good = (tmp_path / "site/runs" / f"{ok}.html").read_text()
    assert "Test CPU" in good and f'href="{unreadable}.html"' in good  # its pack-mate, linked
    assert "line 99" in good and "line 74" not in good  # the log's last lines only
    assert html.escape(retrain_command(ok, "default")) in good
    assert re.search(r"accuracy 0\.5</title>", good)  # the epoch-1 point's hover text holds the table's value
    assert "unreadable" in (tmp_path / "site/runs" / f"{unreadable}.html").read_text()
    assert "does not exist" in (tmp_path / "site/runs" / f"{absent}.html").read_text()
    listing = (tmp_path / "site/runs/index.html").read_text()
    assert all(f'href="{rid}.html"' in listing for rid in (ok, unreadable, absent)) and "not trained" in listing


def test_config_text_on_a_run_page_is_escaped(tmp_path):
    tables, runs_dir, ids = tables_and_runs(tmp_path)
    write_run_pages(tmp_path / "site", tables, runs_dir, "default")
    text = (tmp_path / "site/runs" / f"{ids[1]}.html").read_text()
    assert "<script>alert" not in text and "<b>bold" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_the_explorer_lists_every_planned_run_with_its_cell_and_says_which_are_not_trained(tmp_path):
    tables, _, (ok, unreadable, absent) = tables_and_runs(tmp_path)
    data = explorer_data(tables)
    (probe,) = data["experiments"]
    assert probe["grid_keys"] == ["note"] and [r["run_id"] for r in probe["runs"]] == [ok, unreadable, absent]
    assert probe["runs"][1]["cell"] == {"note": HOSTILE} and probe["runs"][2]["status"] == "not trained"
    assert probe["runs"][0]["metrics"]["final_test_acc"] == 0.5
    assert round(data["t975"][1], 3) == 4.303  # t(0.975, 2)
    script = write_explorer_data(tables, tmp_path / "data.js").read_text()
    assert script.startswith("window.NNLAB_EXPLORER = ")
    assert json.loads(script[len("window.NNLAB_EXPLORER = "):-2])["profile"] == "default"
