"""`make verify`: every cached run of a profile checked against the checksums in its record.json. Trains and
moves nothing (a build keeps a damaged run's files and retrains it: analysis/store/run_files.py)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analysis.pipeline.config import grid_keys_of, load_config
from analysis.pipeline.plan import study_runs
from analysis.store.run_files import RECORD, damaged_runs


def main(argv: list[str] | None = None) -> int:
    """`make verify`: every cached run of a profile checked against its record; nothing is trained or moved."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--profile", default=None, help="quick | default | full (default: the config's)")
    parser.add_argument("--runs-dir", type=Path, default=Path("results/runs"))
    parser.add_argument("--config", type=Path, default=Path("config/config.yaml"), help="the study's config")
    args = parser.parse_args(argv)
    config = load_config(args.config)
    profile = args.profile or config["profile"]
    runs = study_runs(config, profile)
    done = [rid for rid in runs if (args.runs_dir / rid / RECORD).is_file()]
    damaged = damaged_runs({rid: runs[rid] for rid in done}, args.runs_dir, grid_keys_of(config))
    for text in damaged.values():
        print(f"nnlab: {text}", file=sys.stderr)
    print(f"verify {profile}: {len(done)} of {len(runs)} runs finished, {len(damaged)} damaged"
          + ("; `make` retrains exactly those" if damaged else ""), file=sys.stderr)
    return 1 if damaged else 0


if __name__ == "__main__":
    sys.exit(main())
