"""The experiments page shows every experiment no document page claims, from the config and the tables alone:
fed synthetic tables shaped like the aggregate step's, for a config-only experiment with and without probes,
and for a config in which every experiment is claimed."""
from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from analysis.study.answers import DOCUMENT_PAGES, PAGES, claimed_experiments, experiments
from analysis.study.answers.__main__ import undeclared_reads
from analysis.pipeline.plan import Plan
from analysis.study.answers.common import Context, PageOutput
from analysis.pipeline.config import experiment_specs, load_config
from analysis.store.run_ids import run_id
from analysis.study.figures import setup_style

TOY = {"exercise": "config only", "title": "A toy MLP added in YAML only",
       "base": {"dataset": "mnist", "model": {"kind": "mlp", "hidden": [8, 8]}, "train_subset": 500, "epochs": 2,
                "probes": {"grad_every": 1, "activation_epochs": [0, 2]}},
       "grid": {"activation": ["relu", "tanh"]}, "seeds": [1, 2],
       "profiles": {"quick": {"test_subset": 200, "note": "quick: 200 test images"}}}


def toy_tables(config: dict, name: str = "toy") -> dict[str, pd.DataFrame]:
    """Runs, epochs, batches, grads and act_summary for every run of `name` in the quick profile."""
    tables: dict[str, list[dict]] = {t: [] for t in ("runs", "epochs", "batches", "grads", "act_summary")}
    for spec in experiment_specs(config, name, "quick"):
        rid, good = run_id(spec), spec["activation"] == "relu"
        common = {"run_id": rid, "experiments": [name], "activation": spec["activation"], "seed": spec["seed"]}
        final = (0.9 if good else 0.6) + 0.01 * spec["seed"]
        tables["runs"].append({**common, "status": "ok", "final_test_acc": final, "final_test_loss": 1 - final,
                               "final_train_acc": final, "final_val_acc": np.nan, "torch_version": "2", "device": "cpu",
                               "train_seconds": 1.0, "wall_seconds": 2.0, "hardware": "cpu on test"})
        for epoch in range(3):
            acc = final * epoch / 2
            tables["epochs"].append({**common, "epoch": epoch, "train_acc": acc if epoch else np.nan,
                                     "test_acc": acc, "val_acc": np.nan, "test_loss": 2 - acc})
        for step in range(20):
            tables["batches"].append({**common, "step": step, "epoch": 1 + step // 10, "loss": 2.3 - 0.05 * step})
            for layer in (1, 2, 3):
                tables["grads"].append({**common, "step": step, "epoch": 1 + step // 10, "layer": f"linear{layer}",
                                        "layer_index": layer, "mean_abs_grad": 10.0 ** -layer, "max_abs_grad": 1.0})
        for epoch in (0, 2):
            for layer, kind in ((1, "pre"), (1, "post"), (2, "pre"), (2, "post")):
                tables["act_summary"].append({**common, "epoch": epoch, "layer": f"act{layer}", "layer_index": layer,
                                              "kind": kind, "std": 1.0 + layer, "saturated_fraction":
                                              np.nan if good or kind == "pre" else 0.1 * epoch,
                                              "dead_fraction": 0.2 if good and kind == "post" else np.nan})
    return {t: pd.DataFrame(rows) for t, rows in tables.items()}


def diverge(tables: dict[str, pd.DataFrame]) -> None:
    """Every run diverged: NaN final metrics, NaN after epoch 0, infinite batch losses, NaN gradients."""
    tables["runs"]["status"] = "diverged"
    tables["runs"][["final_test_acc", "final_test_loss", "final_train_acc"]] = np.nan
    later = tables["epochs"]["epoch"] > 0
    tables["epochs"].loc[later, ["train_acc", "test_acc", "test_loss"]] = np.nan
    tables["batches"]["loss"] = np.inf
    tables["grads"]["mean_abs_grad"] = np.nan
    tables["act_summary"] = tables["act_summary"].iloc[0:0]


def build(tmp_path, extra: dict | None, alter=None) -> tuple[PageOutput, pd.DataFrame, dict]:
    config = copy.deepcopy(load_config())
    config["experiments"].update(extra or {})
    tables = toy_tables(config) if extra else {"runs": pd.DataFrame({"run_id": []})}
    if alter:
        alter(tables)
    tables_dir = tmp_path / "tables"
    tables_dir.mkdir()
    for table, frame in tables.items():
        frame.to_parquet(tables_dir / f"{table}.parquet")
    ctx = Context(page="experiments", profile="quick", tables_dir=tables_dir, config=config, provenance={},
                  plan=Plan.from_config(config, "quick"))
    setup_style()
    out = PageOutput(page="experiments", out_dir=tmp_path / "answers")
    runs = experiments.build(ctx, out)
    out.write({"profile": "quick"})
    return out, runs, config


def test_a_config_only_experiment_gets_its_section_with_figures(tmp_path):
    out, runs, config = build(tmp_path, {"toy": TOY})
    index, text = out.fragments["index"], out.fragments["sections"]
    for name in config["experiments"]:
        assert f"`{name}`" in index
    assert "[A7 · document 002](a7.html)" in index and "[this page, below](#exp-toy)" in index
    assert "## `toy` · A toy MLP added in YAML only {#exp-toy}" in text
    for figure in ("toy_curves", "toy_batch_loss", "toy_gradients", "toy_activations"):
        assert f"generated/experiments/{figure}.png" in text, figure
        assert (tmp_path / "answers/experiments" / f"{figure}.png").is_file()
    assert "activation = relu" in text and "activation = tanh" in text  # one row / line per grid cell
    assert "95 % CI" in text  # two seeds: intervals
    assert "```yaml" in text and "grid:" in text and "quick: {test_subset: 200" in text
    assert len(runs) == 4 and set(runs["run_id"]) <= set(toy_tables(config)["runs"]["run_id"])
    for rid in runs["run_id"]:
        assert f"`results/runs/{rid}/`" in text
    assert "shown only on the experiments page: `toy`" in out.vars["summary"]


def test_probes_off_say_so_instead_of_a_figure(tmp_path):
    toy = copy.deepcopy(TOY)
    toy["base"]["probes"] = {}
    out, _, _ = build(tmp_path, {"toy": toy})
    text = out.fragments["sections"]
    assert "`probes.grad_every` is not set" in text and "`probes.activation_epochs` is not set" in text
    assert "toy_gradients" not in text and "toy_activations" not in text
    assert "toy_curves" in text


def test_diverged_runs_are_counted_not_drawn(tmp_path):
    out, runs, _ = build(tmp_path, {"toy": TOY}, diverge)
    text = out.fragments["sections"]
    assert "| activation = relu | 2 | 2 |" in text and text.count("| diverged | — |") == 4
    assert "No curve to draw" in text and "recorded no values" in text and "tables hold no rows" in text
    assert not list((tmp_path / "answers/experiments").glob("*.png")) and len(runs) == 4


def test_every_experiment_claimed_says_so(tmp_path):
    out, runs, config = build(tmp_path, None)
    assert "Every experiment is answered on a document page" in out.fragments["sections"]
    assert out.vars["summary"].startswith(f"All {len(config['experiments'])} experiments")
    assert runs.empty and "this page, below" not in out.fragments["index"]
    assert (tmp_path / "answers/experiments.json").is_file()


def test_claims_are_declared_once_per_page_and_checked():
    owners = claimed_experiments()
    assert set(owners) <= set(load_config()["experiments"])  # a claim names a configured experiment (no typo)
    assert all(len(pages) == 1 for pages in owners.values())  # and each is answered on one page
    assert undeclared_reads("a7", {"a7_4", "toy"}) == ["toy"]
    assert undeclared_reads("a7", {"a7_4"}) == [] and undeclared_reads("experiments", {"toy"}) == []
    assert set(PAGES) == set(DOCUMENT_PAGES) | {"experiments"}


@pytest.mark.parametrize("spec_key, label", [("lr", "lr = 0.05"), ("model.hidden", "model.hidden = [16, 4]")])
def test_grid_cells_name_the_grid_values(spec_key, label):
    config = copy.deepcopy(load_config())
    toy = copy.deepcopy(TOY)
    toy["grid"] = {spec_key: [0.05, 0.1] if spec_key == "lr" else [[16, 4], [8]]}
    config["experiments"]["toy"] = toy
    ctx = Context(page="experiments", profile="quick", tables_dir=None, config=config, provenance={},
                  plan=Plan.from_config(config, "quick"))
    grid = experiments.cells(ctx, "toy")
    assert len(grid) == 4 and label in set(grid["cell"])
