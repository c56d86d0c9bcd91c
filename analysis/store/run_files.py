"""A finished run's files checked against its record: record.json lists the SHA-256 and size of every file the run
wrote, so a truncated or edited file is found before aggregation reads it, and the run is named in words
("run 09244b9a5b8d (m2_depth, relu, depth 20, seed 2): metrics.parquet is damaged").

Recovery is automatic and loses nothing: when a build (not a dry run) finds a damaged run while it plans the
DAG, the run's files are copied into `results/runs/<id>/damaged-<UTC time>/` and its record.json is deleted, so
the run counts as not done and Snakemake retrains exactly that run; no other run is touched. Why retrain
rather than stop with a command: a run is a pure function of its spec (same spec and seed on CPU give the same
metrics), so retraining restores exactly what was lost, and the build goes on. `make verify`
(python -m analysis.pipeline.verify) checks every cached run without training anything.

Runs recorded before the record held checksums are checked by what can be checked without them: every file is
there, record.json parses, and every Parquet file has its header and footer magic bytes.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path

from analysis.store.layout import RUN_FILES

RECORD = "record.json"
#: the files a record vouches for: every run file but the record itself (train.log when the job kept one)
CHECKED = tuple(name for name in RUN_FILES if name != RECORD)
OPTIONAL = ("train.log",)
PARQUET_MAGIC = b"PAR1"


def digest(path: Path) -> dict:
    """SHA-256 and size of one file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return {"sha256": h.hexdigest(), "bytes": path.stat().st_size}


def file_digests(folder: Path) -> dict[str, dict]:
    """What record.json lists under `files`: every file the run wrote before its record."""
    names = CHECKED + tuple(n for n in OPTIONAL if (folder / n).is_file())
    return {name: digest(folder / name) for name in names}


def _parquet_intact(path: Path) -> bool:
    size = path.stat().st_size
    if size < 12:
        return False
    with path.open("rb") as handle:
        head = handle.read(4)
        handle.seek(size - 4)
        return head == PARQUET_MAGIC and handle.read(4) == PARQUET_MAGIC


def problem(folder: Path) -> str | None:
    """What is wrong with a finished run's files ('metrics.parquet is damaged: …'), or None when all is well.
    A folder without record.json is an unfinished run, not a damaged one (None)."""
    record_path = folder / RECORD
    if not record_path.is_file():
        return None
    try:
        record = json.loads(record_path.read_text())
    except (OSError, ValueError) as exc:
        return f"{RECORD} is damaged ({exc.__class__.__name__}: {exc})"
    listed = record.get("files") if isinstance(record, dict) else None
    for name in CHECKED:
        if not (folder / name).is_file():
            return f"{name} is missing"
    if listed is None:  # recorded before checksums: the cheap structural check
        bad = [n for n in CHECKED if n.endswith(".parquet") and not _parquet_intact(folder / n)]
        return f"{bad[0]} is damaged (no Parquet header or footer)" if bad else None
    for name, expected in listed.items():
        path = folder / name
        if not path.is_file():
            return f"{name} is missing"
        found = digest(path)
        if found != expected:
            return (f"{name} is damaged ({found['bytes']:,} bytes, SHA-256 {found['sha256'][:12]}…; "
                    f"its record says {expected['bytes']:,} bytes, {expected['sha256'][:12]}…)")
    return None


def describe(run_id: str, spec: dict, experiments: tuple[str, ...] | list[str], grid_keys: list[str]) -> str:
    """'run 09244b9a5b8d (m2_depth, relu, depth 20, seed 2)': the run in the words of its config."""
    def value(key: str):
        node = spec
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        return node

    cells = [f"{key.split('.')[-1]} {value(key)}" if not isinstance(value(key), str) else str(value(key))
             for key in grid_keys if value(key) is not None]
    parts = [", ".join(experiments)] + cells + [f"seed {spec.get('seed')}"]
    return f"run {run_id} ({', '.join(p for p in parts if p)})"


def quarantine(folder: Path) -> Path:
    """Copy a damaged run's files into folder/damaged-<UTC time>/ (kept for inspection), then delete its
    record.json, so the run counts as not done. Why not move every file: Snakemake reruns a job whose outputs are
    partly there, but with every output gone and the downstream tables present it schedules nothing (measured on
    Snakemake 9.27); a run without its record is exactly what an interrupted job leaves, which it does retrain."""
    target = folder / time.strftime("damaged-%Y%m%dT%H%M%SZ", time.gmtime())
    target.mkdir(parents=True, exist_ok=True)
    for path in folder.iterdir():
        if path.is_file():
            shutil.copy2(path, target / path.name)
    (folder / RECORD).unlink()
    return target


def damaged_runs(runs: dict, runs_dir: Path | str, grid_keys: dict[str, list[str]]) -> dict[str, str]:
    """Run id -> 'run … (…): <problem>' for every finished run of `runs` (analysis.pipeline.config.Run) whose files do
    not match its record."""
    root, found = Path(runs_dir), {}
    for run_id, run in runs.items():
        issue = problem(root / run_id)
        if issue:
            keys = [k for e in run.experiments for k in grid_keys.get(e, [])]
            found[run_id] = f"{describe(run_id, run.spec, run.experiments, list(dict.fromkeys(keys)))}: {issue}"
    return found


def recover(runs: dict, runs_dir: Path | str, grid_keys: dict[str, list[str]], dry_run: bool) -> list[str]:
    """The DAG's check: every damaged run named; outside a dry run its files are copied aside and its record
    deleted, so it retrains."""
    lines = []
    for run_id, text in damaged_runs(runs, runs_dir, grid_keys).items():
        if dry_run:
            lines.append(f"nnlab: {text}; a build (not a dry run) keeps a copy of its files and retrains it")
        else:
            kept = quarantine(Path(runs_dir) / run_id)
            lines.append(f"nnlab: {text}; its files are kept in {kept} and the run is retrained")
    return lines
