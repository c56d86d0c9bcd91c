"""A crash of the whole workflow (SIGKILL to Snakemake and its jobs) loses only the epoch in
flight: finished runs are never retrained, and the interrupted run resumes from its checkpoint."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import yaml

from analysis.pipeline.plan import study_runs
from workflow_helpers import copy_workflow, job_counts

FAST = {"train_subset": 500, "test_subset": 200, "epochs": 1, "model": {"kind": "mlp", "hidden": [16]}}
# SLOW must still be running when both FAST runs have finished, whichever order Snakemake picks. Its
# checkpoint is written after epoch 1 and then at most every 20 s (training.CHECKPOINT_EVERY_S), so no
# per-epoch saves slow it down any more: 20 epochs keep it running well past the FAST pair
SLOW = {"train_subset": 24000, "test_subset": 500, "epochs": 20, "model": {"kind": "mlp", "hidden": [256, 256]}}


def test_killed_workflow_keeps_finished_runs_and_resumes(tmp_path, data_dir):
    experiments = {
        "fast": {"exercise": "test", "base": FAST, "grid": {"lr": [0.01, 0.02]}, "seeds": [1]},
        "slow": {"exercise": "test", "base": SLOW, "seeds": [1]},
    }
    copy_workflow(tmp_path, data_dir, experiments=experiments)
    config = yaml.safe_load((tmp_path / "config/config.yaml").read_text())
    runs = study_runs({**config, "profile": "quick"})
    slow = next(r for r in runs.values() if r.experiments == ("slow",)).run_id
    fast = [r.run_id for r in runs.values() if r.experiments == ("fast",)]
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", "--config", "profile=quick"]

    log = tmp_path / "snakemake.log"
    with log.open("w") as sink:
        proc = subprocess.Popen(cmd, cwd=tmp_path, start_new_session=True, stdout=sink, stderr=subprocess.STDOUT)
    records = [tmp_path / "results/runs" / rid / "record.json" for rid in fast]
    checkpoint = tmp_path / "results/checkpoints" / f"{slow}.pt"
    deadline = time.time() + 300

    def fast_runs_finished() -> bool:
        # finished in Snakemake's books, not only on disk: a job killed between writing its last
        # file and Snakemake recording it is incomplete, and Snakemake rightly runs it again
        return len(re.findall(r"Finished jobid: \d+ \(Rule: train_\w+\)", log.read_text())) >= 2

    while not (fast_runs_finished() and checkpoint.exists()):
        assert proc.poll() is None and time.time() < deadline, "workflow ended before the crash point"
        time.sleep(0.1)
    assert all(r.exists() for r in records)
    os.killpg(proc.pid, signal.SIGKILL)  # Snakemake and every job it started
    proc.wait()
    stamps = {r: r.stat().st_mtime_ns for r in records}
    assert not (tmp_path / "results/runs" / slow / "record.json").exists()

    dry = subprocess.run([*cmd, "-n"], cwd=tmp_path, capture_output=True, text=True)
    assert job_counts(dry.stdout + dry.stderr).get("train") == 1, dry.stdout[-2000:]

    subprocess.run([sys.executable, "-m", "snakemake", "--unlock"], cwd=tmp_path, check=True, capture_output=True)
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "resuming from checkpoint" in (tmp_path / "results/runs" / slow / "train.log").read_text()
    assert {r: r.stat().st_mtime_ns for r in records} == stamps  # finished runs untouched
    assert (tmp_path / "results/quick/site/index.html").is_file()
