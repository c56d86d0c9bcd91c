"""Training on the real data: determinism, divergence handling, probes."""
import json

import pandas as pd
import pytest
import torch

from analysis.store.run_ids import run_id
from analysis.store.layout import RUN_FILES
from analysis.engine.training import main, train_run

SPEC = {"dataset": "fashion_mnist", "train_subset": 600, "test_subset": 300, "validation_split": 0.2,
        "split_seed": 0, "normalise": {"mean": 0.1307, "std": 0.3081}, "activation": "sigmoid",
        "norm": "none", "model": {"kind": "mlp", "hidden": [32, 16]}, "optimizer": "sgd", "lr": 0.05,
        "momentum": 0.5, "batch_size": 32, "eval_batch_size": 100, "epochs": 2, "seed": 3, "log_every": 5,
        "probes": {"grad_every": 1, "activation_epochs": [0, 2], "activation_bins": 20, "activation_batch": 50}}


@pytest.fixture
def train(tmp_path, data_dir):
    """Run the job's own entry point (as Snakemake does) and return its output folder."""

    def run(spec: dict, name: str):
        out = tmp_path / name
        args = ["--run-id", run_id(spec), "--spec", json.dumps(spec), "--data", str(data_dir / "fashion_mnist.pt"),
                "--outdir", str(out), "--no-progress"]
        assert main(args) == 0
        return out

    return run


def test_same_spec_and_seed_gives_identical_metrics(train):
    a, b = train(SPEC, "a"), train(SPEC, "b")
    for name in ("metrics", "batches", "grads", "act_summary", "act_hist"):
        left, right = pd.read_parquet(a / f"{name}.parquet"), pd.read_parquet(b / f"{name}.parquet")
        drop = [c for c in ("seconds", "samples_per_s") if c in left]
        pd.testing.assert_frame_equal(left.drop(columns=drop), right.drop(columns=drop))
    assert sorted(p.name for p in a.iterdir()) == sorted(RUN_FILES)


def test_run_record_and_tables(train):
    out = train(SPEC, "r")
    record = json.loads((out / "record.json").read_text())
    assert record["status"] == "ok" and record["spec"] == SPEC
    assert record["environment"]["versions"]["torch"].startswith("2.13.0")
    assert record["timing"]["samples_per_s"] > 0 and record["environment"]["device"] == "cpu"
    metrics = pd.read_parquet(out / "metrics.parquet")
    assert metrics["epoch"].tolist() == [0, 1, 2]
    assert metrics[["val_acc", "test_acc"]].notna().all().all()
    grads = pd.read_parquet(out / "grads.parquet")
    steps_per_epoch = -(-480 // 32)
    batches = pd.read_parquet(out / "batches.parquet")
    assert batches["step"].tolist() == list(range(2 * steps_per_epoch))
    assert batches["epoch"].tolist() == [1] * steps_per_epoch + [2] * steps_per_epoch
    # the per-batch losses average to the epoch's running train loss (weighted by batch size)
    sizes = [32] * (steps_per_epoch - 1) + [480 - 32 * (steps_per_epoch - 1)]
    first = batches[batches["epoch"] == 1]["loss"].to_numpy()
    assert abs((first * sizes).sum() / 480 - metrics.loc[metrics["epoch"] == 1, "train_loss"].item()) < 1e-5
    assert len(grads) == 2 * steps_per_epoch * 3  # every batch, every weight layer
    assert (grads["max_abs_grad"] >= grads["mean_abs_grad"]).all()
    summary = pd.read_parquet(out / "act_summary.parquet")
    assert set(summary["epoch"]) == {0, 2}
    post = summary[summary["kind"] == "post"]
    assert post["saturated_fraction"].between(0, 1).all()
    hist = pd.read_parquet(out / "act_hist.parquet")
    per_snapshot = hist.groupby(["epoch", "layer", "kind"])["count"].sum()
    assert (per_snapshot == 50 * pd.Series({"act1": 32, "act2": 16}).reindex(
        per_snapshot.index.get_level_values("layer")).values).all()


@pytest.mark.parametrize("model", [SPEC["model"], {"kind": "cnn", "conv": [4, 8], "fc": [16]}])
def test_gradient_probe_matches_autograd(data_dir, model):
    """The probe's mean and max |∂L/∂W| of the first batch equal autograd's, although the probe reads
    the gradients after the optimizer step (it turns them into |g| in place), for an MLP (hand-written
    backward) and a CNN (autograd, channels-last gradients)."""
    from torch.nn import functional as F

    from analysis.engine.models import build_model, weight_layers
    from analysis.data.splits import load_splits

    spec = {**SPEC, "model": model, "epochs": 1, "train_subset": 64, "validation_split": 0.0, "batch_size": 64}
    result = train_run(spec, data_dir / "fashion_mnist.pt", torch.device("cpu"), progress=False)
    torch.manual_seed(spec["seed"])
    train = load_splits(data_dir / "fashion_mnist.pt", spec, torch.device("cpu")).train
    model = build_model(spec)
    F.cross_entropy(model(train.x), train.y).backward()  # the one batch is the whole (shuffled) set
    expected = [(m.weight.grad.abs().mean().item(), m.weight.grad.abs().max().item())
                for _, m in weight_layers(model)]
    assert len(result.grads) == len(expected) >= 3
    for (mean, top), (_, row) in zip(expected, result.grads.sort_values("layer_index").iterrows()):
        assert row["mean_abs_grad"] == pytest.approx(mean, rel=1e-5)
        assert row["max_abs_grad"] == pytest.approx(top, rel=1e-5)


def test_divergence_is_recorded_not_raised(train):
    spec = {**SPEC, "activation": "relu", "lr": 1e6, "momentum": 0.9, "log_every": 1}
    out = train(spec, "d")
    record = json.loads((out / "record.json").read_text())
    assert record["status"] == "diverged"
    assert record["diverged_at"]["epoch"] == 1
    assert sorted(p.name for p in out.iterdir()) == sorted(RUN_FILES)


def test_full_batch_penalised_run_records_penalty_and_throughput(train):
    """D1.4's path: batch = training set (no shuffle), the document's signed L1 at δ = 1 drives the penalty negative."""
    spec = {**SPEC, "activation": "relu", "validation_split": 0.0, "batch_size": 600, "epochs": 4,
            "optimizer": "adam", "lr": 0.01, "penalty": {"l1": 1.0, "l1_form": "signed"},
            "probes": {"grad_every": 0, "activation_epochs": []}}
    out = train(spec, "full")
    metrics = pd.read_parquet(out / "metrics.parquet")
    assert len(pd.read_parquet(out / "batches.parquet")) == 4  # one step per 'epoch'
    assert metrics["train_penalty"].iloc[-1] < metrics["train_penalty"].iloc[1]  # Adam lowers δ·Σw step by step
    assert metrics["train_penalty"].iloc[-1] < 0
    record = json.loads((out / "record.json").read_text())
    assert record["timing"]["gflops_per_s"] > 0 and record["timing"]["model_mflops_per_sample"] > 0


def test_class_subset_is_balanced_and_relabelled(data_dir):
    from analysis.data.splits import load_splits, n_classes

    spec = {**SPEC, "classes": [3, 7], "train_per_class": 50, "validation_split": 0.0, "test_subset": None}
    splits = load_splits(data_dir / "fashion_mnist.pt", spec, torch.device("cpu"))
    assert splits.train.y.bincount().tolist() == [50, 50]
    assert splits.test.y.bincount().tolist() == [1000, 1000]  # Fashion-MNIST: 1,000 test images per class
    assert n_classes(spec) == 2


def test_track_probe_records_test_accuracy_and_unit_percentiles(train):
    spec = {**SPEC, "probes": {"track_every": 5, "activation_batch": 50}}
    track = pd.read_parquet(train(spec, "track") / "track.parquet")
    steps = sorted(track["step"].unique())
    assert steps[0] == 0 and all(s % 5 == 0 for s in steps) and len(steps) >= 4
    assert (track["p15"] <= track["p50"]).all() and (track["p50"] <= track["p85"]).all()
    assert set(track["layer"]) == {"act1", "act2"}
