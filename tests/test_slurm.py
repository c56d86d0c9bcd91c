"""The quick profile's training jobs through a real Slurm (workflow/profiles/slurm, the pinned
snakemake-executor-plugin-slurm) give the same results as the local run."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

import yaml

from slurm_cluster import slurm_cluster
from workflow_helpers import ROOT, copy_workflow

TIMING = ["seconds", "samples_per_s"]


def records(workdir: Path) -> dict[str, dict]:
    runs = pd.read_parquet(workdir / "results/quick/tables/runs.parquet")
    return {rid: json.loads((workdir / "results/runs" / rid / "record.json").read_text()) for rid in runs["run_id"]}


def ran_through_slurm(recs: dict[str, dict]) -> bool:
    """Every training job saw a Slurm job id in its environment."""
    return bool(recs) and all(r["environment"].get("slurm_job_id") for r in recs.values())


def only_a7_4() -> dict:
    """One experiment keeps the test short; the other pages then render their 'not in this profile' lines."""
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    return {"a7_4": config["experiments"]["a7_4"]}


def test_quick_profile_through_slurm_matches_local(tmp_path, data_dir):
    local = copy_workflow(tmp_path / "local", data_dir, experiments=only_a7_4())
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", "--config", "profile=quick"],
                          cwd=local, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]

    cluster = copy_workflow(tmp_path / "cluster", data_dir, experiments=only_a7_4())
    with slurm_cluster() as env:
        proc = subprocess.run([sys.executable, "-m", "snakemake", "--workflow-profile", "workflow/profiles/slurm",
                               "--config", "profile=quick"], cwd=cluster, capture_output=True, text=True, env=env)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        jobs = subprocess.run(["squeue", "--states=all", "-h", "-o", "%i %T"], env=env, capture_output=True,
                              text=True, check=True).stdout.split("\n")
    local_records, cluster_records = records(local), records(cluster)
    assert set(local_records) == set(cluster_records) and len(cluster_records) >= 2
    # the check below is what fails when the executor is switched off: the local run has no Slurm job ids
    assert ran_through_slurm(cluster_records) and not ran_through_slurm(local_records)
    slurm_ids = {r["environment"]["slurm_job_id"] for r in cluster_records.values()}
    completed = {line.split()[0] for line in jobs if line.endswith("COMPLETED")}
    assert slurm_ids <= completed, (slurm_ids, jobs)
    for name in ("epochs", "grads"):
        left = pd.read_parquet(local / f"results/quick/tables/{name}.parquet").drop(columns=TIMING, errors="ignore")
        right = pd.read_parquet(cluster / f"results/quick/tables/{name}.parquet").drop(columns=TIMING, errors="ignore")
        pd.testing.assert_frame_equal(left, right)
    assert (cluster / "results/quick/site/index.html").is_file()
