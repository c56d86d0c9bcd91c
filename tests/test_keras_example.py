"""Keras' MNIST examples written as experiment blocks, with no Python added: the MLP (keras-team/keras
examples/mnist_mlp.py: Dense 512 relu, Dropout 0.2, Dense 512 relu, Dropout 0.2, Dense 10 softmax, RMSprop,
batch 128) and the CNN (examples/mnist_cnn.py: Conv 32 3x3 relu, Conv 64 3x3 relu, MaxPool 2, Dropout 0.25,
Flatten, Dense 128 relu, Dropout 0.5, Dense 10 softmax, Adadelta, batch 128). Each validates, and its quick
profile trains one epoch on a few hundred images through the real workflow."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from analysis.pipeline.config import validate
from analysis.pipeline.plan import study_runs
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

KERAS_MNIST_CNN = """
keras_mnist_cnn:
  exercise: keras-example
  title: "Keras' MNIST CNN example"
  base:
    dataset: mnist
    normalise: unit
    conventions: keras             # Adadelta rho 0.95, eps 1e-7; glorot-uniform weights, zero biases
    model:
      kind: layers
      layers: [{conv: 32, kernel: 3}, {act: relu}, {conv: 64, kernel: 3}, {act: relu}, {pool: 2}, {dropout: 0.25},
               flatten, {dense: 128}, {act: relu}, {dropout: 0.5}, {dense: 10}]
    optimizer: adadelta
    lr: 1.0                        # Keras' Adadelta default in the example's days
    batch_size: 128
    epochs: 12
  seeds: [0]
  profiles:
    quick: {train_subset: 384, test_subset: 200, epochs: 1, note: "plumbing only"}
"""
#: example -> (its YAML block, optimizer, trainable parameters as Keras' summary counts them)
EXAMPLES = {
    "mlp": (KERAS_MNIST_MLP, "rmsprop", 784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10),  # 669,706
    "cnn": (KERAS_MNIST_CNN, "adadelta", 320 + 18_496 + 9216 * 128 + 128 + 1290),  # 1,199,882
}


@pytest.mark.parametrize("example", list(EXAMPLES))
def test_a_keras_example_validates_and_trains_through_the_workflow(tmp_path, data_dir, example):
    block, optimizer, trainable = EXAMPLES[example]
    experiments = yaml.safe_load(block)
    work = copy_workflow(tmp_path, data_dir, experiments=experiments)
    config = yaml.safe_load((work / "config/config.yaml").read_text())
    validate(config)
    runs = study_runs({**config, "profile": "quick"}, "quick")
    assert len(runs) == 1
    (rid, run), = runs.items()
    assert run.spec["optimizer"] == optimizer and run.spec["conventions"] == "keras"
    built = subprocess.run([sys.executable, "-m", "snakemake", f"results/runs/{rid}/record.json", "--cores", "2",
                            "--config", "profile=quick"], cwd=work, capture_output=True, text=True, timeout=600,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})  # this tree's analysis package
    assert built.returncode == 0, built.stderr[-3000:]
    record = json.loads((work / "results/runs" / rid / "record.json").read_text())
    assert record["status"] == "ok" and record["timing"]["backward"] == "autograd"
    assert record["parameters"]["trainable"] == trainable
    metrics = pd.read_parquet(work / "results/runs" / rid / "metrics.parquet")
    assert metrics["lr"].tolist() == [run.spec["lr"]] * 2  # the rate in force, per epoch (no schedule)
    assert metrics["test_loss"].iloc[-1] < metrics["test_loss"].iloc[0]  # three steps already lower the test loss
