"""Learning-rate schedules: `schedule: {name, interval: epoch|step, warmup: N, ...}` of a run spec.

Why a pure function of the step and epoch counters rather than torch's stateful schedulers: the rate in force
is then fully determined by where training stands, so a pack resumed from a checkpoint (analysis/engine/training.py
`restore`) sets exactly the rate the uninterrupted pack had, and warm-up composes with every schedule
without SequentialLR's bookkeeping. A spec without `schedule` never touches the optimizer's `lr` (the cached
runs' arithmetic is unchanged).

`t` counts epochs (0 for the first) or optimisation steps (0 for the first), as `interval` says. A linear
warm-up of N units runs the rate from lr/N up to lr over t = 0..N-1; the schedule then starts at its own
t = 0. Names and their arguments (torch.optim.lr_scheduler's, as factors of the base rate):
- constant: lr (warm-up only);
- step: lr·gamma^⌊t/step_size⌋ (gamma 0.1);
- multistep: lr·gamma^(milestones passed) (gamma 0.1);
- exponential: lr·gamma^t;
- cosine: eta_min + (lr − eta_min)·(1 + cos(π·min(t, t_max)/t_max))/2, t_max = the units left after
  warm-up unless given, eta_min 0.
"""
from __future__ import annotations

import bisect
import math
from typing import Any, Callable

import torch

Factor = Callable[[int, dict, float], float]


def _required(args: dict, key: str, name: str) -> Any:
    if key not in args:
        raise ValueError(f"schedule {name} needs {key}")
    return args[key]


SCHEDULES: dict[str, Factor] = {
    "constant": lambda t, a, base: 1.0,
    "step": lambda t, a, base: a.get("gamma", 0.1) ** (t // _required(a, "step_size", "step")),
    "multistep": lambda t, a, base: a.get("gamma", 0.1) ** bisect.bisect_right(
        sorted(_required(a, "milestones", "multistep")), t),
    "exponential": lambda t, a, base: _required(a, "gamma", "exponential") ** t,
    "cosine": lambda t, a, base: (a.get("eta_min", 0.0) + (base - a.get("eta_min", 0.0))
                                  * (1 + math.cos(math.pi * min(t, a["t_max"]) / a["t_max"])) / 2) / base,
}
INTERVALS = ("epoch", "step")


class LRSchedule:
    """Sets the optimizer's rate for the step about to be taken, from the step and epoch counters."""

    def __init__(self, schedule: dict, optimizer: torch.optim.Optimizer, steps_per_epoch: int, epochs: int):
        name = schedule["name"]
        if name not in SCHEDULES:
            raise ValueError(f"unknown schedule {name!r} (valid: {', '.join(sorted(SCHEDULES))})")
        self.interval = schedule.get("interval", "epoch")
        if self.interval not in INTERVALS:
            raise ValueError(f"schedule interval {self.interval!r} (valid: {', '.join(INTERVALS)})")
        self.name, self.warmup, self.optimizer = name, schedule.get("warmup", 0), optimizer
        self.steps_per_epoch = steps_per_epoch
        units = epochs if self.interval == "epoch" else epochs * steps_per_epoch
        self.args = {"t_max": max(units - self.warmup, 1), **schedule}
        self.base = [group["lr"] for group in optimizer.param_groups]
        self.t = 0

    def factor(self, t: int, base: float) -> float:
        """The multiple of the base rate in force at t."""
        if t < self.warmup:
            return (t + 1) / self.warmup
        return SCHEDULES[self.name](t - self.warmup, self.args, base)

    def set(self, step: int, epoch: int) -> None:
        """Before optimisation step `step` (0-based, counted over the whole run) of epoch `epoch` (1-based)."""
        self.t = step if self.interval == "step" else epoch - 1
        for group, base in zip(self.optimizer.param_groups, self.base):
            group["lr"] = base * self.factor(self.t, base)

    def state_dict(self) -> dict:
        return {"t": self.t, "base": list(self.base)}

    def load_state_dict(self, state: dict) -> None:
        self.base = list(state["base"])
        self.set(state["t"] if self.interval == "step" else 0, state["t"] + 1)


def make_schedule(spec: dict, optimizer: torch.optim.Optimizer, steps_per_epoch: int) -> LRSchedule | None:
    """The spec's schedule, its rate for the first step already set; None without one."""
    schedule = spec.get("schedule")
    if not schedule:
        return None
    found = LRSchedule(schedule, optimizer, steps_per_epoch, spec["epochs"])
    found.set(0, 1)
    return found


def current_lr(optimizer: torch.optim.Optimizer) -> float:
    """The rate the last (or next) step uses: what the per-epoch `lr` column records."""
    return float(optimizer.param_groups[0]["lr"])


def check(spec: dict) -> None:
    """Evaluate the spec's schedule once past its warm-up, over a dummy parameter: a missing argument fails the
    DAG build (analysis.pipeline.config) in one line instead of a training job."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=spec["lr"])
    schedule = make_schedule(spec, optimizer, steps_per_epoch=1)
    if schedule is not None:
        schedule.set(schedule.warmup + 1, schedule.warmup + 2)
