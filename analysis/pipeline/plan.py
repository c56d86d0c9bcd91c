"""The plan of a profile's runs: expanded from the config once, when the DAG is built (rule `plan`), and read by
every later stage. Aggregation, the answer pages, the scorecard and the experiments page take each run's
experiments, grid cell, seed and spec, and each experiment's scaling, from here; none expands the config again.

Two files in `results/<profile>/tables/`, written together:
- `plan.parquet`: one row per (experiment, run), in the experiment's order (grid product × seeds): `experiment`,
  `position`, `run_id`, `seed`, `cell` (JSON: grid key → value) and `spec` (JSON: the resolved spec that trains).
  A run shared by two experiments has a row in each.
- `manifest.json`: the profile, the config, and per experiment its grid keys, the profile's note, its seeds and
  the protocol's, and `changes`: every key the profile sets differently from the experiment's protocol, with its
  unscaled value (`grid.<key>` for a grid override, `seeds` when the profile runs fewer).

The pack a run trained in is not here: packs are planned from the runs already on disk, so a pack column would
change on every build and rerun every stage after it. A run's record says which pack it trained in, and
`runs.parquet` carries it (`pack_id`, `pack_size`).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.pipeline.config import Run, experiment_specs
from analysis.store.files import atomic_write
from analysis.store.run_ids import run_id

PLAN = "plan.parquet"
MANIFEST = "manifest.json"
COLUMNS = ("experiment", "position", "run_id", "seed", "cell", "spec")


@dataclass(frozen=True)
class PlannedRun:
    """One run as one experiment sees it: where it sits in the grid and what trains."""

    run_id: str
    experiment: str
    position: int
    seed: int
    cell: dict[str, Any]
    spec: dict[str, Any]


@dataclass(frozen=True)
class Change:
    """A key the profile sets differently from the experiment's protocol: `value` runs, `unscaled` is the
    protocol's (None when the protocol leaves the key at the code's default)."""

    key: str
    value: Any
    unscaled: Any


@dataclass(frozen=True)
class ExperimentPlan:
    name: str
    grid_keys: tuple[str, ...]
    note: str
    seeds: tuple[Any, ...]
    protocol_seeds: tuple[Any, ...]
    changes: tuple[Change, ...]
    runs: tuple[PlannedRun, ...]


def _dotted(spec: dict, key: str) -> Any:
    for part in key.split("."):
        spec = spec.get(part) if isinstance(spec, dict) else None
    return spec


def _grid_keys(exp: dict, profile: str) -> tuple[str, ...]:
    """The keys the profile's grid varies: the experiment's grid, then the profile override's."""
    return tuple({**exp.get("grid", {}), **exp.get("profiles", {}).get(profile, {}).get("grid", {})})


def _changes(config: dict, exp: dict, profile: str) -> tuple[Change, ...]:
    """What the profile's override changes. Seeds count only when the profile runs fewer than the protocol
    (more seeds, or others, change no run's result)."""
    override = dict(exp.get("profiles", {}).get(profile, {}))
    override.pop("note", None)
    base = {**config.get("defaults", {}), **exp.get("base", {})}
    protocol_seeds = exp.get("seeds", [0])
    changes = []
    for key, value in override.items():
        if key == "grid":
            changes += [Change(f"grid.{k}", v, exp.get("grid", {}).get(k)) for k, v in value.items()]
        elif key == "seeds":
            if len(value) < len(protocol_seeds):
                changes.append(Change("seeds", value, protocol_seeds))
        else:
            changes.append(Change(key, value, base.get(key)))
    return tuple(changes)


def _experiment(config: dict, name: str, profile: str) -> ExperimentPlan:
    exp = config["experiments"][name]
    keys = _grid_keys(exp, profile)
    override = exp.get("profiles", {}).get(profile, {})
    runs = tuple(PlannedRun(run_id(spec), name, i, spec["seed"], {k: _dotted(spec, k) for k in keys}, spec)
                 for i, spec in enumerate(experiment_specs(config, name, profile)))
    return ExperimentPlan(name, keys, override.get("note", ""), tuple(override.get("seeds", exp.get("seeds", [0]))),
                          tuple(exp.get("seeds", [0])), _changes(config, exp, profile), runs)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class Plan:
    """Every experiment of one profile with its runs, in config order."""

    profile: str
    experiments: dict[str, ExperimentPlan]

    @classmethod
    def from_config(cls, config: dict, profile: str) -> Plan:
        """The DAG's one expansion of the config (the Snakefile's `plan` rule writes it)."""
        return cls(profile, {name: _experiment(config, name, profile) for name in config["experiments"]})

    def runs_of(self, experiment: str) -> tuple[PlannedRun, ...]:
        """The experiment's runs in grid × seed order (none when the config lacks it)."""
        exp = self.experiments.get(experiment)
        return exp.runs if exp is not None else ()

    def specs(self, experiment: str) -> list[dict]:
        return [run.spec for run in self.runs_of(experiment)]

    def study_runs(self) -> dict[str, Run]:
        """Every run of the profile, keyed by id, with the experiments that use it (a shared run appears once)."""
        specs = {run.run_id: run.spec for exp in self.experiments.values() for run in exp.runs}
        return {rid: Run(rid, specs[rid], tuple(names)) for rid, names in self.run_experiments().items()}

    def run_experiments(self) -> dict[str, list[str]]:
        """Run id -> the experiments that use it, in config order (each run once)."""
        out: dict[str, list[str]] = {}
        for exp in self.experiments.values():
            for run in exp.runs:
                names = out.setdefault(run.run_id, [])
                if exp.name not in names:
                    names.append(exp.name)
        return out

    def frame(self) -> pd.DataFrame:
        """plan.parquet's rows: JSON for the cell and the spec, whose values mix types."""
        rows = [{"experiment": r.experiment, "position": r.position, "run_id": r.run_id, "seed": r.seed,
                 "cell": json.dumps(r.cell, separators=(",", ":")), "spec": _json(r.spec)}  # the cell in grid order
                for exp in self.experiments.values() for r in exp.runs]
        return pd.DataFrame(rows, columns=list(COLUMNS)).astype({"position": "int64"})

    def experiment_entries(self) -> dict[str, dict]:
        """manifest.json's `experiments`: everything per experiment that is not a run."""
        return {name: {"grid_keys": list(e.grid_keys), "note": e.note, "seeds": list(e.seeds),
                       "protocol_seeds": list(e.protocol_seeds),
                       "changes": [{"key": c.key, "value": c.value, "unscaled": c.unscaled} for c in e.changes]}
                for name, e in self.experiments.items()}

    def digest(self, config: dict) -> str:
        """Changes exactly when the plan or the config does: the `plan` rule's rerun trigger."""
        text = _json({"profile": self.profile, "runs": self.frame().to_dict("records"), "config": config})
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def write(self, tables_dir: Path, config: dict) -> None:
        tables_dir = Path(tables_dir)
        atomic_write(tables_dir / PLAN, lambda p: self.frame().to_parquet(p, index=False))
        manifest = {"profile": self.profile, "config": config, "experiments": self.experiment_entries()}
        atomic_write(tables_dir / MANIFEST, lambda p: p.write_text(json.dumps(manifest, indent=1)))  # config order kept

    @classmethod
    def read(cls, tables_dir: Path) -> tuple[Plan, dict]:
        """(plan, config) as the `plan` rule wrote them."""
        tables_dir = Path(tables_dir)
        manifest = json.loads((tables_dir / MANIFEST).read_text())
        rows: dict[str, list[PlannedRun]] = {name: [] for name in manifest["experiments"]}
        for r in pd.read_parquet(tables_dir / PLAN).sort_values(["experiment", "position"]).itertuples():
            rows[r.experiment].append(PlannedRun(r.run_id, r.experiment, int(r.position), int(r.seed),
                                                 json.loads(r.cell), json.loads(r.spec)))
        experiments = {
            name: ExperimentPlan(name, tuple(e["grid_keys"]), e["note"], tuple(e["seeds"]), tuple(e["protocol_seeds"]),
                                 tuple(Change(c["key"], c["value"], c["unscaled"]) for c in e["changes"]),
                                 tuple(rows[name]))
            for name, e in manifest["experiments"].items()}
        return cls(manifest["profile"], experiments), manifest["config"]


def study_runs(config: dict, profile: str | None = None) -> dict[str, Run]:
    """Every run of the profile (the config's when not given), keyed by id: the plan's runs."""
    return Plan.from_config(config, profile or config["profile"]).study_runs()
