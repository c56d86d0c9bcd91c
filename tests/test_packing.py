"""Which runs share a pack, and what Snakemake retrains after an edit (real Snakemake, dry runs).

The rules (analysis/pipeline/packing.py): only runs still to train are packed; adding a seed trains the new seed
and nothing else; editing a setting retrains the runs whose spec changed, never their unchanged pack-mates."""
from __future__ import annotations

import subprocess
import sys

import yaml

from analysis.pipeline.config import Run
from analysis.pipeline.plan import study_runs
from analysis.store.run_ids import run_id
from analysis.pipeline.packing import pack_size_of, plan_packs
from workflow_helpers import copy_workflow, job_counts, trained_runs

TINY = {"dataset": "fashion_mnist", "model": {"kind": "mlp", "hidden": [8]}, "train_subset": 300,
        "test_subset": 100, "epochs": 1}


def runs_of(seeds, lr=0.01, experiment="e") -> dict[str, Run]:
    runs = {}
    for seed in seeds:
        spec = {**TINY, "lr": lr, "seed": seed}
        runs[run_id(spec)] = Run(run_id(spec), spec, (experiment,))
    return runs


def test_runs_still_to_train_are_packed_by_seedless_spec_in_seed_order():
    runs = {**runs_of(range(1, 8)), **runs_of([1, 2], lr=0.1)}
    packs = plan_packs(runs, 3, lambda rid: False)
    sizes = sorted(len(p.runs) for p in packs)
    assert sizes == [1, 2, 3, 3]  # seven seeds in packs of at most 3; the other lr apart
    for pack in packs:
        assert len({r.spec["lr"] for r in pack.runs}) == 1
        assert [r.spec["seed"] for r in pack.runs] == sorted(r.spec["seed"] for r in pack.runs)
    assert sorted(rid for p in packs for rid in p.run_ids) == sorted(runs)


def test_finished_runs_stay_alone_and_a_new_seed_packs_only_with_new_seeds():
    old, new = runs_of([1, 2, 3]), runs_of([4, 5])
    packs = plan_packs({**old, **new}, 5, lambda rid: rid in old)
    by_members = {p.run_ids: p for p in packs}
    assert all((rid,) in by_members for rid in old)  # a finished run is its own pack: nothing to do for it
    assert tuple(sorted(new, key=lambda r: new[r].spec["seed"])) in by_members


def test_a_pending_pack_keeps_its_members_while_other_packs_of_its_configuration_finish():
    runs = runs_of(range(1, 11))
    seeds = {rid: run.spec["seed"] for rid, run in runs.items()}
    before = plan_packs(runs, 5, lambda rid: False)
    second = next(p for p in before if seeds[p.run_ids[0]] == 6)
    # seeds 1 and 2 written (the first pack half-way through its outputs): the second pack is unchanged
    after = plan_packs(runs, 5, lambda rid: seeds[rid] in (1, 2))
    assert second in after
    assert any(sorted(seeds[r] for r in p.run_ids) == [3, 4, 5] for p in after)


def test_a_run_shared_with_a_pack_size_1_experiment_is_never_packed():
    config = {"pack_size": 5, "experiments": {"a": {"pack_size": 1}, "b": {}}}
    runs = runs_of(range(1, 11), experiment="b")
    for rid, run in runs.items():
        if run.spec["seed"] > 5:
            runs[rid] = Run(rid, run.spec, ("b", "a"))
    assert all(len(p.runs) == 1 for p in plan_packs(runs, pack_size_of(config), lambda rid: False))


def test_an_experiments_pack_size_overrides_the_config():
    config = {"pack_size": 4, "experiments": {"e": {"pack_size": 1}, "f": {}}}
    runs = {**runs_of([1, 2, 3], experiment="e"), **runs_of([1, 2, 3], lr=0.2, experiment="f")}
    packs = plan_packs(runs, pack_size_of(config), lambda rid: False)
    assert sorted(len(p.runs) for p in packs) == [1, 1, 1, 3]


def snakemake(workdir, *args):
    return subprocess.run([sys.executable, "-m", "snakemake", *args, "--cores", "2", "--config", "profile=quick"],
                          cwd=workdir, capture_output=True, text=True, timeout=600)


def test_dry_runs_after_adding_a_seed_and_editing_a_setting(tmp_path, data_dir):
    experiments = {"grid": {"exercise": "test", "base": TINY, "grid": {"lr": [0.01, 0.05]}, "seeds": [1, 2]}}
    work = copy_workflow(tmp_path, data_dir, experiments=experiments)
    path = work / "config/config.yaml"
    config = yaml.safe_load(path.read_text())
    before = study_runs({**config, "profile": "quick"})
    records = [f"results/runs/{rid}/record.json" for rid in before]
    built = snakemake(work, *records)  # train the four runs (two packs of two seeds)
    assert built.returncode == 0, built.stderr[-3000:]
    assert job_counts(built.stdout + built.stderr)["train"] == 2

    config["experiments"]["grid"]["seeds"] = [1, 2, 3]  # add a seed
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    dry = snakemake(work, "-n")
    output = dry.stdout + dry.stderr
    added = set(study_runs({**config, "profile": "quick"})) - set(before)
    assert len(added) == 2 and trained_runs(output) == added, output[-3000:]  # the new seed at each lr, no other
    assert job_counts(output)["train"] == 2  # seed 3 at each lr: two configurations, one job each

    config["experiments"]["grid"]["seeds"] = [1, 2]
    config["experiments"]["grid"]["grid"]["lr"] = [0.01, 0.1]  # edit one setting: the lr 0.05 runs change
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    dry = snakemake(work, "-n")
    output = dry.stdout + dry.stderr
    changed = set(study_runs({**config, "profile": "quick"})) - set(before)
    assert len(changed) == 2 and trained_runs(output) == changed, output[-3000:]
    assert job_counts(output)["train"] == 1  # the two seeds of lr 0.1, packed together
