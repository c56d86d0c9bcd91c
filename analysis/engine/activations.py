"""The one registry of activation functions: a new activation is one entry here plus its config line.

Everything that needs to know the activations reads this table: the model builder (the function), the
activation probe (fixed histogram bins of a bounded output), the figures (a fixed colour per activation),
the hand-written MLP pass (its in-place forward and `*_backward` kernel, or none: the run then trains with
autograd and its record says so), the pages (which activations to show, and in what order) and the config
schema (`$defs/activation` must list exactly these names; tests/test_config.py checks it).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from types import SimpleNamespace
from typing import TYPE_CHECKING, Callable, Iterable

if TYPE_CHECKING:
    import torch

    Fn = Callable[[torch.Tensor], torch.Tensor]
    Kernels = tuple[Fn, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]]
#: builds an entry's (function, kernels or None) from the torch namespace (`torch`, `F`, `aten`): torch is
#: imported when a model first needs a function, so the pages' figures and the site load without it
Build = Callable[[SimpleNamespace], "tuple[Fn, Kernels | None]"]

INF = math.inf
LECUN_A, LECUN_B, LECUN_C = 1.7159, 2.0 / 3.0, 0.01
#: the colour of an activation registered without one (figures never raise on a missing hue level)
FALLBACK_COLOUR = "#444444"


def lecun_tanh(x: torch.Tensor) -> torch.Tensor:
    """LeCun's scaled tanh, f(x) = 1.7159·tanh(2x/3) + 0.01·x (document 003's definition)."""
    return LECUN_A * (LECUN_B * x).tanh() + LECUN_C * x


@lru_cache(maxsize=1)
def _torch() -> SimpleNamespace:
    import torch
    from torch.nn import functional

    return SimpleNamespace(torch=torch, F=functional, aten=torch.ops.aten)


@dataclass(frozen=True)
class ActivationInfo:
    """One activation: its output range, figure colour, and (built on first use) function and MLP kernels.

    `kernels` = (in-place forward, backward(grad_out, output)), the ATen kernels autograd itself calls, so the
    hand-written pass (analysis.engine.mlp_step) gives autograd's bits; each backward needs only the output (for
    leaky ReLU, output > 0 exactly where input > 0). None: MLPs with this activation train with autograd.
    """

    name: str
    build: Build
    output_range: tuple[float, float] = (-INF, INF)
    colour: str | None = None

    @property
    def fn(self) -> Fn:
        return _built(self.name)[0]

    @property
    def kernels(self) -> Kernels | None:
        return _built(self.name)[1]

    @property
    def bounded_range(self) -> tuple[float, float] | None:
        """The output range when both ends are finite (fixed histogram bins, shared by runs); else None."""
        lo, hi = self.output_range
        return (lo, hi) if math.isfinite(lo) and math.isfinite(hi) else None


def _leaky(name: str, slope: float, colour: str | None = None) -> ActivationInfo:
    """Leaky ReLU at one slope (0.01: PyTorch's default; 0.3: Keras 2's LeakyReLU(), document 003's CNN)."""
    return ActivationInfo(name, lambda t: (lambda x: t.F.leaky_relu(x, slope),
                                           (lambda x: t.F.leaky_relu_(x, slope),
                                            lambda g, y: t.aten.leaky_relu_backward(g, y, slope, True))),
                          colour=colour)


_ENTRIES = (
    ActivationInfo("relu", lambda t: (t.F.relu, (t.torch.relu_, lambda g, y: t.aten.threshold_backward(g, y, 0))),
                   (0.0, INF), "#1f77b4"),
    ActivationInfo("tanh", lambda t: (t.torch.tanh, (t.torch.tanh_, lambda g, y: t.aten.tanh_backward(g, y))),
                   (-1.0, 1.0), "#2ca02c"),
    ActivationInfo("sigmoid", lambda t: (t.torch.sigmoid,
                                         (t.torch.sigmoid_, lambda g, y: t.aten.sigmoid_backward(g, y))),
                   (0.0, 1.0), "#d62728"),
    ActivationInfo("lecun_tanh", lambda t: (lecun_tanh, None), colour="#9467bd"),  # unbounded: the 0.01·x term
    _leaky("leaky_relu", 0.01, "#17becf"),
    _leaky("leaky_relu_keras", 0.3),
    ActivationInfo("identity", lambda t: (lambda x: x, (lambda x: x, lambda g, y: g)), colour="#7f7f7f"),
    # min of x·Φ(x) is about -0.17 (at x ≈ -0.75); its backward needs the input, so no hand kernel
    ActivationInfo("gelu", lambda t: (t.F.gelu, None), (-0.17, INF), "#ff7f0e"),
)
#: name -> entry, in the order pages list activations
REGISTRY: dict[str, ActivationInfo] = {entry.name: entry for entry in _ENTRIES}
NAMES: tuple[str, ...] = tuple(REGISTRY)


@lru_cache(maxsize=None)
def _built(name: str) -> tuple[Fn, Kernels | None]:
    """An entry's function and kernels, built once (the same objects every call, as a module-level table was)."""
    return REGISTRY[name].build(_torch())


def colour(name: str) -> str:
    """The activation's figure colour, or the fallback for one registered without a colour (or unknown)."""
    entry = REGISTRY.get(name)
    return entry.colour if entry is not None and entry.colour else FALLBACK_COLOUR


def ordered(names: Iterable[str]) -> list[str]:
    """The given activation names in registry order (unknown names last, alphabetically), each once."""
    names = set(names)
    return [n for n in NAMES if n in names] + sorted(names - set(NAMES))
