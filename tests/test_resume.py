"""A real training job killed with SIGKILL mid-epoch resumes from its last checkpoint and
ends with exactly the metrics of an uninterrupted run: a run alone, and a pack of two seeds."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from analysis.store.run_ids import run_id

SPEC = {"dataset": "fashion_mnist", "train_subset": 24000, "test_subset": 1000, "validation_split": 0.1,
        "split_seed": 0, "normalise": {"mean": 0.1307, "std": 0.3081}, "activation": "relu", "norm": "batchnorm",
        "norm_placement": "before_activation", "dropout": 0.2, "model": {"kind": "mlp", "hidden": [256, 256]},
        "optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "batch_size": 64, "eval_batch_size": 1000, "epochs": 3,
        "seed": 7, "log_every": 20,
        "probes": {"grad_every": 5, "activation_epochs": [0, 1, 3], "activation_bins": 20, "activation_batch": 200}}
TIMING = ["seconds", "samples_per_s"]


def command(data_dir, outdir, checkpoint, seeds=(SPEC["seed"],)):
    members = []
    for seed in seeds:
        spec = {**SPEC, "seed": seed}
        members += ["--run-id", run_id(spec), "--spec", json.dumps(spec)]
    where = ["--outdir", str(outdir)] if len(seeds) == 1 else ["--runs-dir", str(outdir)]
    return [sys.executable, "-m", "analysis.engine.training", *members, "--data", str(data_dir / "fashion_mnist.pt"),
            *where, "--checkpoint", str(checkpoint), "--threads", "1"]


def run_dirs(outdir, seeds):
    """Where each member's files are: the folder itself for a run alone, one folder per run id for a pack."""
    return [outdir] if len(seeds) == 1 else [outdir / run_id({**SPEC, "seed": s}) for s in seeds]


@pytest.mark.parametrize("seeds", [(7,), (7, 8)], ids=["alone", "pack of two"])
def test_sigkill_mid_epoch_then_resume_gives_identical_metrics(tmp_path, data_dir, seeds):
    reference = tmp_path / "reference"
    subprocess.run(command(data_dir, reference, tmp_path / "ref.ckpt", seeds), check=True, capture_output=True)

    killed, ckpt = tmp_path / "killed", tmp_path / "killed.ckpt"
    proc = subprocess.Popen(command(data_dir, killed, ckpt, seeds), stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    while not ckpt.exists():  # epoch 1 finished and saved
        assert proc.poll() is None and time.time() < deadline, "training ended before its first checkpoint"
        time.sleep(0.05)
    time.sleep(0.3)  # well inside epoch 2
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not any((d / "record.json").exists() for d in run_dirs(killed, seeds))  # nothing counts as finished
    saved = __import__("torch").load(ckpt, weights_only=False)
    assert saved["epoch"] == 1

    resumed = subprocess.run(command(data_dir, killed, ckpt, seeds), capture_output=True, text=True, check=True)
    assert "resuming from checkpoint" in resumed.stderr and "epochs 1-1 done" in resumed.stderr
    assert not ckpt.exists()  # removed once the run is complete
    for left_dir, right_dir in zip(run_dirs(reference, seeds), run_dirs(killed, seeds)):
        for name in ("metrics", "batches", "grads", "act_summary", "act_hist"):
            left = pd.read_parquet(left_dir / f"{name}.parquet")
            right = pd.read_parquet(right_dir / f"{name}.parquet")
            pd.testing.assert_frame_equal(left.drop(columns=TIMING, errors="ignore"),
                                          right.drop(columns=TIMING, errors="ignore"))


def test_checkpoint_of_another_spec_is_ignored(tmp_path, data_dir):
    other = {**SPEC, "epochs": 1, "train_subset": 640}
    ckpt = tmp_path / "c.ckpt"
    import torch

    torch.save({"specs": [{**other, "lr": 0.5}], "epoch": 1}, ckpt)  # a checkpoint of another pack
    cmd = command(data_dir, tmp_path / "o", ckpt)
    cmd[cmd.index("--spec") + 1] = json.dumps(other)
    cmd[cmd.index("--run-id") + 1] = run_id(other)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    assert "resuming" not in out.stderr
    assert json.loads((tmp_path / "o" / "record.json").read_text())["status"] == "ok"
