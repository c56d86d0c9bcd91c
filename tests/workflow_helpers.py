"""Helpers for tests that run the real workflow: copy it to a folder, read Snakemake's job stats."""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
ITEMS = ("Snakefile", "workflow", "config", "report", "profiles")


def copy_workflow(target: Path, data_dir: Path | None = None, experiments: dict | None = None,
                  extra_experiments: dict | None = None) -> Path:
    """`data_dir` reuses prepared data; `experiments` replaces, `extra_experiments` extends the config's."""
    target.mkdir(parents=True, exist_ok=True)
    for item in ITEMS:
        src = ROOT / item
        if src.is_symlink():
            os.symlink(os.readlink(src), target / item)
        elif src.is_dir():
            shutil.copytree(src, target / item)
        else:
            shutil.copy2(src, target / item)
    path = target / "config/config.yaml"
    config = yaml.safe_load(path.read_text())
    if data_dir is not None:
        config["data"]["dir"] = str(data_dir)
    if experiments is not None:
        config["experiments"] = experiments
    config["experiments"].update(extra_experiments or {})
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return target


def job_counts(output: str) -> dict[str, int]:
    """Parse Snakemake's 'Job stats' table (rule -> number of jobs) from its output; the training jobs
    (one rule per pack, `train_<pack-id>`) are also counted together under "train"."""
    block = output.split("Job stats:")[1].split("total")[0]
    counts = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", block, re.M)}
    trained = sum(n for rule, n in counts.items() if rule.startswith("train_"))
    return {**counts, "train": trained} if trained else counts


def trained_runs(output: str) -> set[str]:
    """The run ids whose files a (dry) run would write: the outputs of the training jobs Snakemake lists
    (other rules name record.json files too, as their inputs)."""
    jobs = re.findall(r"^rule train_\w+:\n(?:\s+\w+: .*\n)*?\s+output: (.*)$", output, re.M)
    return {rid for outputs in jobs for rid in re.findall(r"results/runs/([0-9a-f]{12})/record\.json", outputs)}
