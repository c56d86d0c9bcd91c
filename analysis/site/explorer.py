"""The explorer's data (issue 28): every run of the profile with its experiment, grid cell, seed, status and final
metrics, written as a script (`generated/explorer/data.js`) that `report/nnlab.js` reads in the browser, so the
explorer needs no server and works from `file://` (a browser will not fetch a JSON file there).

Runs, cells and seeds come from the plan the `plan` rule wrote; the metrics from `tables/runs.parquet`. The
explorer shows mean ± a 95 % t-interval per group; the t quantiles are computed here, with scipy, so the
browser does no statistics of its own beyond a mean and a standard deviation.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
from scipy import stats

from analysis.pipeline.plan import Plan

#: the metrics a reader can pick: runs.parquet column -> label
METRICS = {"final_test_acc": "test accuracy", "final_test_loss": "test loss", "final_val_acc": "validation accuracy",
           "final_val_loss": "validation loss", "final_train_acc": "training accuracy",
           "final_train_loss": "training loss", "wall_seconds": "wall time (s)", "samples_per_s": "samples/s"}
#: t(0.975, df) for df = 1 … this many; beyond it the normal quantile
T_TABLE_DF = 200


def _shown(value: Any) -> str:
    """A grid value as JSON spells it (as the run pages show it; a string without quotes), every digit kept so two
    grid values never merge."""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def explorer_data(tables: Path) -> dict:
    """What the explorer shows, from the plan and runs.parquet: a run the tables lack is listed as not trained."""
    plan, _ = Plan.read(tables)
    path = Path(tables) / "runs.parquet"
    runs = pd.read_parquet(path) if path.is_file() else pd.DataFrame(columns=["run_id"])
    rows = {str(r["run_id"]): r for r in runs.to_dict("records")}
    experiments = []
    for exp in plan.experiments.values():
        listed = []
        for run in exp.runs:
            row = rows.get(run.run_id)
            listed.append({"run_id": run.run_id, "seed": run.seed,
                           "cell": {k: _shown(run.cell[k]) for k in exp.grid_keys},
                           "status": str(row["status"]) if row is not None else "not trained",
                           "metrics": {m: _number(row.get(m)) for m in METRICS} if row is not None else {}})
        experiments.append({"name": exp.name, "grid_keys": list(exp.grid_keys), "runs": listed})
    return {"profile": plan.profile, "metrics": METRICS, "experiments": experiments,
            "t975": [float(stats.t.ppf(0.975, df)) for df in range(1, T_TABLE_DF + 1)],
            "z975": float(stats.norm.ppf(0.975))}


def write_explorer_data(tables: Path, target: Path) -> Path:
    """`window.NNLAB_EXPLORER = {...};`, a file the page loads with `src` (config text in it is data, never markup;
    the explorer shows it with `textContent`)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("window.NNLAB_EXPLORER = " + json.dumps(explorer_data(tables), ensure_ascii=True) + ";\n")
    return target
