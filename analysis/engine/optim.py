"""The optimizer registry: a spec's `optimizer` name -> its torch.optim class and how the spec feeds it.

Why one registry: the schema's enum, the config check (at DAG build) and training all read it, so a name is
either everywhere or nowhere. Every optimizer here updates each parameter element from that element's own
gradient and state (Adagrad, Adadelta, RMSprop, Adam, AdamW, NAdam, RAdam, Adamax and SGD are elementwise;
their step counts are per tensor and equal for every member), so the K members of a packed model
(analysis/engine/packed.py) are updated as if each were trained alone: bit for bit for most, within rounding for
fused SGD at momentum 0.9, Adam and AdamW, whose kernels round an element by its position in the packed tensor
(tests/test_packed.py sweeps which). An optimizer that mixes elements
(LBFGS's line search, Shampoo's preconditioners) would couple pack members and must not be added.

The spec keys `lr`, `momentum` and `weight_decay` keep their meaning (and hashing); `optimizer_args` passes
any other keyword of the optimizer's own signature, checked with `inspect.signature`.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Iterable

import torch

from analysis.engine import conventions


@dataclass(frozen=True)
class OptimizerEntry:
    """One registry entry: the class, the spec keys it takes besides `lr`, the spec keys it ignores (adam
    ignored `momentum` before this registry: specs that set it keep training as they did), and whether to ask
    for the fused CPU kernel (one pass over all parameters, ~5 % faster per step; only SGD, Adam, AdamW and
    Adagrad have one on CPU in torch 2.13). Any other optimizer rejects a non-zero `momentum`."""

    cls: type[torch.optim.Optimizer]
    spec_keys: tuple[str, ...] = ("weight_decay",)
    fused: bool = False
    ignores: tuple[str, ...] = ()


OPTIMIZERS: dict[str, OptimizerEntry] = {
    "sgd": OptimizerEntry(torch.optim.SGD, ("momentum", "weight_decay"), fused=True),
    "adam": OptimizerEntry(torch.optim.Adam, fused=True, ignores=("momentum",)),
    "adamw": OptimizerEntry(torch.optim.AdamW, fused=True),
    "rmsprop": OptimizerEntry(torch.optim.RMSprop, ("momentum", "weight_decay")),
    "adagrad": OptimizerEntry(torch.optim.Adagrad, fused=True),
    "adadelta": OptimizerEntry(torch.optim.Adadelta),
    "adamax": OptimizerEntry(torch.optim.Adamax),
    "nadam": OptimizerEntry(torch.optim.NAdam),
    "radam": OptimizerEntry(torch.optim.RAdam),
}
#: keys of the optimizer's signature that `optimizer_args` may not set: the spec has its own keys for them
RESERVED = ("params", "lr", "momentum", "weight_decay")


class OptimizerConfigError(ValueError):
    """An unknown optimizer name or argument; the message is one line naming the valid ones."""


def entry(name: str) -> OptimizerEntry:
    try:
        return OPTIMIZERS[name]
    except KeyError:
        raise OptimizerConfigError(f"unknown optimizer {name!r} (valid: {', '.join(sorted(OPTIMIZERS))})") from None


def arguments(name: str) -> list[str]:
    """The keywords `optimizer_args` may set for this optimizer (its signature minus the spec's own keys)."""
    params = inspect.signature(entry(name).cls.__init__).parameters
    return [p for p in params if p not in ("self", *RESERVED)]


def keywords(spec: dict) -> dict[str, Any]:
    """The keyword arguments the spec's optimizer is built with (everything but the parameters)."""
    name = spec["optimizer"]
    found = entry(name)
    extra = conventions.optimizer_args(spec)
    valid = arguments(name)
    for key in extra:
        if key in RESERVED:
            raise OptimizerConfigError(f"optimizer_args.{key}: set it with the spec key `{key}`, not in optimizer_args")
        if key not in valid:
            raise OptimizerConfigError(f"optimizer {name} has no argument {key!r} (valid: {', '.join(sorted(valid))})")
    out: dict[str, Any] = {"lr": spec["lr"]}
    for key in ("momentum", "weight_decay"):
        if key in found.spec_keys and key in spec:
            out[key] = spec[key]
        elif spec.get(key) and key not in found.ignores:
            raise OptimizerConfigError(f"optimizer {name} takes no {key} (set to {spec[key]}; use 0 or remove it)")
    out.update({k: tuple(v) if isinstance(v, list) else v for k, v in extra.items()})  # YAML lists: betas
    if found.fused and "foreach" not in extra:
        out.setdefault("fused", True)
    return out


def make_optimizer(spec: dict, params: Iterable[torch.nn.Parameter]) -> torch.optim.Optimizer:
    """The spec's optimizer over `params`."""
    return entry(spec["optimizer"]).cls(params, **keywords(spec))


def check(spec: dict) -> None:
    """Build the spec's optimizer over one dummy parameter: an unknown name or argument, or a value the
    optimizer rejects (a beta of 1.5), fails at DAG build with one line rather than in a training job."""
    try:
        make_optimizer(spec, [torch.nn.Parameter(torch.zeros(1))])
    except OptimizerConfigError:
        raise
    except (TypeError, ValueError, RuntimeError) as exc:
        raise OptimizerConfigError(f"optimizer {spec['optimizer']}: {str(exc).splitlines()[0]}") from None
