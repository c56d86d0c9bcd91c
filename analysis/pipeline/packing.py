"""Which runs train together: packs of runs that differ only in their seed (see analysis.engine.packed).

The plan is made when the DAG is built, from the runs of the profile and which of them are already
complete on disk:
- only runs still to train are packed together, so adding a seed trains the new seed(s) alone or
  together and never retrains the seeds that exist;
- a finished run stays where it is: it is given a pack of its own, whose outputs exist, so Snakemake
  has nothing to do for it (and `--forcerun` on its files retrains it alone);
- editing a setting changes the run ids of exactly the runs it touches (analysis.store.run_ids.run_id): those
  are missing, so they are packed and trained; their unchanged pack-mates, if any, stay finished.
Members are packed in seed order, at most `pack_size` per pack (the `pack_size` config key bounds the
memory of a job; an experiment's own `pack_size` overrides it, 1 = never packed). The chunks are cut over
*all* runs of a configuration, finished or not, and a pack is a chunk's unfinished members: so a pack's
members (and its id, and its checkpoint) never depend on how far other packs of the configuration have
got. A job re-planned on a cluster node while other packs finish, or after a crash that left some members
written, still finds its own pack.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from analysis.pipeline.config import Run
from analysis.store.layout import RUN_FILES

DEFAULT_PACK_SIZE = 5


@dataclass(frozen=True)
class Pack:
    """One training job: its id and its members (runs of one seedless spec, in seed order)."""

    pack_id: str
    runs: tuple[Run, ...]

    @property
    def run_ids(self) -> tuple[str, ...]:
        return tuple(r.run_id for r in self.runs)

    @property
    def experiments(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(e for r in self.runs for e in r.experiments))


def seedless_key(spec: dict) -> str:
    """Runs with the same key differ only in their seed and may share a pack."""
    canonical = json.dumps({k: v for k, v in spec.items() if k != "seed"}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def pack_id(run_ids: Iterable[str]) -> str:
    """A pack is named by its members: the same members always make the same pack (and checkpoint)."""
    return hashlib.sha256(",".join(run_ids).encode()).hexdigest()[:12]


def run_complete(runs_dir: Path | str) -> Callable[[str], bool]:
    """True for a run whose every file is on disk (record.json is written last)."""
    root = Path(runs_dir)
    return lambda rid: all((root / rid / name).is_file() for name in RUN_FILES)


def plan_packs(runs: dict[str, Run], pack_size: int | Callable[[Run], int],
               complete: Callable[[str], bool]) -> list[Pack]:
    """Every run in exactly one pack: finished runs alone, runs still to train packed by seedless spec."""
    size_of = pack_size if callable(pack_size) else (lambda run, n=pack_size: n)
    groups: dict[str, list[Run]] = {}
    packs: list[Pack] = []
    for run in runs.values():
        groups.setdefault(seedless_key(run.spec), []).append(run)
    for members in groups.values():
        members.sort(key=lambda r: (r.spec["seed"], r.run_id))
        size = max(1, min(size_of(r) for r in members))  # a run shared with a `pack_size: 1` experiment stays alone
        for start in range(0, len(members), size):
            chunk = members[start:start + size]
            packs.extend(Pack(r.run_id, (r,)) for r in chunk if complete(r.run_id))
            todo = tuple(r for r in chunk if not complete(r.run_id))
            if todo:
                packs.append(Pack(todo[0].run_id if len(todo) == 1 else pack_id(r.run_id for r in todo), todo))
    return sorted(packs, key=lambda p: p.run_ids)


def pack_size_of(config: dict) -> Callable[[Run], int]:
    """The pack size for a run: its experiment's `pack_size`, else the config's, else the default
    (a run shared by experiments takes the smallest)."""
    default = config.get("pack_size", DEFAULT_PACK_SIZE)

    def size(run: Run) -> int:
        return min(config["experiments"].get(e, {}).get("pack_size", default) for e in run.experiments)

    return size
