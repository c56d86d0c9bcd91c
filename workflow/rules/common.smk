# Shared state of the DAG: the validated config, the chosen profile and its runs.
import hashlib
import json
import shlex
import shutil
from pathlib import Path
import sys

from analysis.pipeline.config import ConfigError, validate
from analysis.pipeline.plan import Plan
from analysis.study.answers import PAGES

try:
    validate(config)
except ConfigError as error:
    # one screen, naming the key: no Python traceback for a typo in the YAML
    sys.stderr.write(f"\nnnlab: invalid configuration (config/config.yaml or --config):\n  {error}\n\n")
    sys.exit(1)

PY = sys.executable
PROFILE = config["profile"]
# the one expansion of the config into runs: the DAG's jobs, and the plan every later stage reads
PLAN = Plan.from_config(config, PROFILE)
RUNS = PLAN.study_runs()
DATA_DIR = config["data"]["dir"]
OUT = f"results/{PROFILE}"
# "auto" trains on CUDA when the job sees a GPU; the gpu resource keeps jobs from oversubscribing it
DEVICE = config.get("device", "auto")
USES_GPU = DEVICE == "cuda" or (DEVICE == "auto" and shutil.which("nvidia-smi") is not None)
THREADS = config.get("threads_per_job", 1)
DATASETS = sorted({run.spec["dataset"] for run in RUNS.values()} | {"mnist", "fashion_mnist"})
SITE_INDEX = f"{OUT}/site/index.html"
# the per-run files and aggregated tables: one list, shared with the Python package
from analysis.store.layout import RUN_FILES, TABLES
