"""Per-run files → one tidy Parquet table per kind, each row carrying the run's config.

Which runs, and the experiments each belongs to, come from the plan (analysis.pipeline.plan). `runs.parquet` has
one row per run: id, experiments (a list), flattened spec columns (`model.hidden` etc. as strings where they are
lists), status, final metrics, timing, and the pack it trained in (`pack_id`, `pack_size`, from its record).
The other tables (epochs, grads, act_hist, act_summary) carry the run id plus the config columns, so a figure is
one group-by away.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from analysis.pipeline.plan import Plan
from analysis.store.files import atomic_write
from analysis.store.run_files import problem
from analysis.store.layout import RUN_TABLES

#: Spec columns copied into every long table (enough to facet and colour by).
CONFIG_COLUMNS = ("dataset", "activation", "norm", "optimizer", "lr", "batch_size", "epochs", "seed",
                  "init", "dropout", "weight_decay", "norm_placement", "validation_split", "model.kind", "model.hidden",
                  "model.conv", "model.fc", "penalty.l1", "penalty.l2", "penalty.l1_form", "schedule.name", "loss.name")


def flatten_spec(spec: dict, prefix: str = "") -> dict:
    """Nested spec → flat columns; lists become compact strings so Parquet columns stay scalar."""
    out = {}
    for key, value in spec.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten_spec(value, f"{name}."))
        elif isinstance(value, list):
            out[name] = json.dumps(value)
        else:
            out[name] = value
    return out


def epoch_rates(frame: pd.DataFrame, spec: dict) -> pd.DataFrame:
    """A run's per-epoch `lr` as `epoch_lr`: in the long tables `lr` is the config column (the spec's base rate,
    what pages group by). Runs trained before metrics.parquet had the column trained at the spec's rate."""
    if "lr" in frame:
        return frame.rename(columns={"lr": "epoch_lr"})
    return frame.assign(epoch_lr=float(spec["lr"])) if len(frame) else frame


def run_row(record: dict, experiments: list[str]) -> dict:
    row = {"run_id": record["run_id"], "experiments": list(experiments), "status": record["status"]}
    row.update(flatten_spec(record["spec"]))
    row.update({f"final_{k}": v for k, v in record["final"].items() if k != "epoch"})
    row["final_epoch"] = record["final"]["epoch"]
    row.update({k: v for k, v in record["timing"].items()})
    pack = record.get("pack") or {"id": record["run_id"], "size": 1}
    row.update({"pack_id": pack["id"], "pack_size": pack["size"]})
    env = record["environment"]
    row.update({"device": env["device"], "threads": env["threads"], "torch_version": env["versions"]["torch"],
                "hardware": f"{env.get('device_name') or env['device']} on {env.get('host', '?')}"})
    return row


#: the columns a table without rows still has: what pages select and group by before they find no runs
EMPTY_COLUMNS = ("run_id", "experiments", *CONFIG_COLUMNS)


def aggregate(run_experiments: dict[str, list[str]], runs_dir: Path) -> dict[str, pd.DataFrame]:
    """Run id -> its experiments (the plan's) in, every table out; a table without rows keeps EMPTY_COLUMNS."""
    rows, long_tables = [], {table: [] for table in RUN_TABLES.values()}
    for run_id, experiments in sorted(run_experiments.items()):
        folder = runs_dir / run_id
        record = json.loads((folder / "record.json").read_text())
        row = run_row(record, experiments)
        rows.append(row)
        config_cols = {c: row.get(c) for c in CONFIG_COLUMNS}
        for stem, table in RUN_TABLES.items():
            frame = pd.read_parquet(folder / f"{stem}.parquet")
            if stem == "metrics":
                frame = epoch_rates(frame, record["spec"])
            if len(frame):  # a list per row: `assign` would spread a bare list over the rows
                names = pd.Series([list(experiments)] * len(frame), index=frame.index)
                long_tables[table].append(frame.assign(**config_cols, experiments=names))
    tables = {"runs": pd.DataFrame(rows) if rows else pd.DataFrame(columns=[*EMPTY_COLUMNS, "status"])}
    for table, frames in long_tables.items():
        tables[table] = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=EMPTY_COLUMNS)
    return tables


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Aggregate per-run files into Parquet tables.")
    parser.add_argument("--tables", required=True, type=Path, help="reads the plan there, writes the tables there")
    parser.add_argument("--runs-dir", required=True, type=Path)
    args = parser.parse_args(argv)
    run_experiments = Plan.read(args.tables)[0].run_experiments()
    damaged = {rid: problem(args.runs_dir / rid) for rid in sorted(run_experiments)}
    damaged = {rid: text for rid, text in damaged.items() if text}
    if damaged:  # the DAG check moves damaged runs aside before training; this catches damage since then
        for rid, text in damaged.items():
            print(f"nnlab: run {rid} ({', '.join(run_experiments[rid])}): {text}", file=sys.stderr)
        print(f"nnlab: {len(damaged)} run(s) damaged since the build was planned; run the build again: it moves "
              "their files aside and retrains exactly those (`make verify` lists them)", file=sys.stderr)
        return 1
    tables = aggregate(run_experiments, args.runs_dir)
    for name, frame in tables.items():
        atomic_write(args.tables / f"{name}.parquet", lambda p, f=frame: f.to_parquet(p, index=False))
        print(f"{name}: {len(frame)} rows", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
