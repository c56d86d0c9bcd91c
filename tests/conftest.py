"""Shared fixtures. The real datasets are prepared once, through the real fallback chain,
into the pipeline's own data folder (results/data), and reused by every test."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.data.datasets import prepare

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "results" / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    for name in ("mnist", "fashion_mnist"):
        if not (DATA_DIR / f"{name}.pt").is_file() or not (DATA_DIR / f"{name}.json").is_file():
            prepare(name, DATA_DIR / f"{name}.pt", DATA_DIR / f"{name}.json")
    return DATA_DIR


@pytest.fixture(scope="session")
def provenance(data_dir: Path) -> dict:
    return {name: json.loads((data_dir / f"{name}.json").read_text()) for name in ("mnist", "fashion_mnist")}
