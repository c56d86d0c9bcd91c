"""The plan (analysis/pipeline/plan.py): the config expanded once, at DAG time, into every run with its experiments,
grid cell, seed and spec, and every experiment's scaling; written to the tables folder and read back unchanged.
Later stages read it and never expand the config themselves (checked from their source)."""
from __future__ import annotations

import ast
import copy
from pathlib import Path

import pytest

from analysis.pipeline.config import load_config
from analysis.pipeline.plan import Change, Plan
from analysis.store.run_ids import run_id

PACKAGE = Path(__file__).resolve().parents[1] / "analysis"
#: what expands a config into runs: only the pipeline may call these
EXPANDERS = {"experiment_specs", "study_runs", "from_config", "run_id", "canonical", "grid_keys_of"}


@pytest.fixture(scope="module")
def config() -> dict:
    return load_config()


@pytest.mark.parametrize("profile", ["quick", "default", "full"])
def test_the_plan_holds_every_run_once_with_the_experiments_that_share_it(config, profile):
    plan = Plan.from_config(config, profile)
    runs = plan.study_runs()
    rows = [r for e in plan.experiments.values() for r in e.runs]
    assert {r.run_id for r in rows} == set(runs)
    assert all(run_id(r.spec) == r.run_id and r.spec["seed"] == r.seed for r in rows)
    shared = {rid: run.experiments for rid, run in runs.items() if len(run.experiments) > 1}
    for rid, names in shared.items():  # a shared run: one row in each of its experiments, in config order
        assert [r.experiment for r in rows if r.run_id == rid] == list(names)
    assert list(plan.experiments) == list(config["experiments"])


def test_a_grid_cell_is_the_spec_at_the_grid_keys_including_dotted_ones(config):
    config = copy.deepcopy(config)
    config["experiments"]["toy"] = {"base": {"dataset": "mnist", "model": {"kind": "mlp", "hidden": [8]}},
                                    "grid": {"model.hidden": [[8], [4, 4]], "lr": [0.1, 0.01]}, "seeds": [3, 4],
                                    "profiles": {"quick": {"grid": {"lr": [0.5]}, "note": "one rate"}}}
    toy = Plan.from_config(config, "quick").experiments["toy"]
    assert toy.grid_keys == ("model.hidden", "lr")
    assert [(r.cell, r.seed, r.position) for r in toy.runs] == [
        ({"model.hidden": [8], "lr": 0.5}, 3, 0), ({"model.hidden": [8], "lr": 0.5}, 4, 1),
        ({"model.hidden": [4, 4], "lr": 0.5}, 3, 2), ({"model.hidden": [4, 4], "lr": 0.5}, 4, 3)]
    assert toy.changes == (Change("grid.lr", [0.5], [0.1, 0.01]),) and toy.note == "one rate"


def test_changes_carry_the_unscaled_value_and_fewer_seeds_only(config):
    exp = config["experiments"]["e7_cnn"]
    e7 = Plan.from_config(config, "default").experiments["e7_cnn"]
    assert Change("epochs", exp["profiles"]["default"]["epochs"], exp["base"]["epochs"]) in e7.changes
    assert Plan.from_config(config, "full").experiments["e7_cnn"].changes == ()
    more = copy.deepcopy(config)
    more["experiments"]["e7_cnn"]["profiles"]["default"]["seeds"] = list(range(20))
    assert all(c.key != "seeds" for c in Plan.from_config(more, "default").experiments["e7_cnn"].changes)
    fewer = copy.deepcopy(config)
    fewer["experiments"]["e7_cnn"]["profiles"]["default"]["seeds"] = [1]
    seeds = [c for c in Plan.from_config(fewer, "default").experiments["e7_cnn"].changes if c.key == "seeds"]
    assert seeds == [Change("seeds", [1], exp["seeds"])]


def test_written_and_read_back_the_plan_is_the_same_and_so_is_its_digest(config, tmp_path):
    plan = Plan.from_config(config, "default")
    plan.write(tmp_path, config)
    read, read_config = Plan.read(tmp_path)
    assert read == plan and read_config == config
    for name, exp in read.experiments.items():  # a cell reads back in grid order, as the pages list it
        assert all(tuple(run.cell) == exp.grid_keys for run in exp.runs), name
    assert list(read_config["experiments"]) == list(config["experiments"])  # the config's order survives
    assert read.digest(read_config) == plan.digest(config)
    edited = copy.deepcopy(config)
    edited["experiments"]["e7_cnn"]["base"]["lr"] = 0.123
    assert Plan.from_config(edited, "default").digest(edited) != plan.digest(config)


def expanders_called(path: Path) -> set[str]:
    """The config-expanding functions a file imports or calls (by name or as a method)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.Call):
            func = node.func
            names.add(func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", ""))
    return names & EXPANDERS


def test_the_study_and_the_site_read_the_plan_and_never_expand_the_config():
    found = {str(p.relative_to(PACKAGE)): expanders_called(p)
             for layer in ("study", "site") for p in sorted((PACKAGE / layer).rglob("*.py"))}
    assert {path: names for path, names in found.items() if names} == {}


def test_the_source_check_finds_an_expansion(tmp_path):
    page = tmp_path / "page.py"
    page.write_text("import analysis.pipeline.plan as p\n"
                    "plan = p.Plan.from_config(c, 'default')\nids = plan.runs_of('e')\n")
    assert expanders_called(page) == {"from_config"}
