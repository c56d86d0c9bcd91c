"""The Keras MNIST MLP example (keras-team/keras examples/mnist_mlp.py: Dense 512 relu, Dropout 0.2, Dense 512
relu, Dropout 0.2, Dense 10 softmax, RMSprop, batch 128) written as an experiment block: it validates, and its
quick profile trains one epoch on a few hundred images through the real workflow."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import yaml

from analysis.config import study_runs, validate
from workflow_helpers import ROOT, copy_workflow

KERAS_MNIST_MLP = """
keras_mnist_mlp:
  exercise: keras-example
  title: "Keras' MNIST MLP example"
  base:
    dataset: mnist
    normalise: unit                # x / 255, as the example does
    conventions: keras             # RMSprop rho 0.9, eps 1e-7; glorot-uniform weights, zero biases
    model:
      kind: layers
      layers: [flatten, {dense: 512}, {act: relu}, {dropout: 0.2}, {dense: 512}, {act: relu}, {dropout: 0.2},
               {dense: 10}]        # softmax: inside the loss (cross-entropy of the logits)
    optimizer: rmsprop
    lr: 0.001                      # Keras' RMSprop default
    batch_size: 128
    epochs: 20
  seeds: [0]
  profiles:
    quick: {train_subset: 384, test_subset: 200, epochs: 1, note: "plumbing only"}
"""


def test_keras_mnist_mlp_validates_and_trains_through_the_workflow(tmp_path, data_dir):
    experiments = yaml.safe_load(KERAS_MNIST_MLP)
    work = copy_workflow(tmp_path, data_dir, experiments=experiments)
    config = yaml.safe_load((work / "config/config.yaml").read_text())
    validate(config)
    runs = study_runs({**config, "profile": "quick"}, "quick")
    assert len(runs) == 1
    (rid, run), = runs.items()
    assert run.spec["optimizer"] == "rmsprop" and run.spec["conventions"] == "keras"
    built = subprocess.run([sys.executable, "-m", "snakemake", f"results/runs/{rid}/record.json", "--cores", "2",
                            "--config", "profile=quick"], cwd=work, capture_output=True, text=True, timeout=600,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})  # this tree's analysis package
    assert built.returncode == 0, built.stderr[-3000:]
    record = json.loads((work / "results/runs" / rid / "record.json").read_text())
    assert record["status"] == "ok" and record["timing"]["backward"] == "autograd"
    assert record["parameters"]["trainable"] == 784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10  # 669,706
    metrics = pd.read_parquet(work / "results/runs" / rid / "metrics.parquet")
    assert metrics["lr"].tolist() == [0.001, 0.001]
    assert metrics["test_acc"].iloc[-1] > 0.5  # one epoch of 384 images: well above chance
