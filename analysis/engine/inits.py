"""Weight initialisations by name: the spec's `init` (and a `kind: layers` item's own `init`), `init_mode`,
`init_std` and `init_bias`.

Why a registry: the schema's enum and the model builder read the same names. The three names that predate it
(torch_default, glorot_uniform, normal) draw exactly the random numbers they drew before, in the same order
(weight, then bias, layer by layer), so cached runs keep their bits (tests/test_inits.py).
"""
from __future__ import annotations

from typing import Callable

from torch import Tensor, nn

from analysis.engine import conventions

WeightInit = Callable[[Tensor, dict], object]

#: name -> fills a Linear/Conv weight in place, given {"mode": fan_in|fan_out, "std": init_std}; None keeps
#: PyTorch's own initialisation (Kaiming-uniform with a = √5, the same for the bias)
INITS: dict[str, WeightInit | None] = {
    "torch_default": None,
    "glorot_uniform": lambda w, o: nn.init.xavier_uniform_(w),  # Keras' default
    "glorot_normal": lambda w, o: nn.init.xavier_normal_(w),
    "normal": lambda w, o: nn.init.normal_(w, 0.0, o["std"]),
    # He: variance 2/fan (PyTorch's kaiming_*_; Keras' he_normal truncates at 2σ, not reproduced here)
    "he_normal": lambda w, o: nn.init.kaiming_normal_(w, mode=o["mode"], nonlinearity="relu"),
    "he_uniform": lambda w, o: nn.init.kaiming_uniform_(w, mode=o["mode"], nonlinearity="relu"),
    # LeCun: variance 1/fan
    "lecun_normal": lambda w, o: nn.init.kaiming_normal_(w, mode=o["mode"], nonlinearity="linear"),
    "lecun_uniform": lambda w, o: nn.init.kaiming_uniform_(w, mode=o["mode"], nonlinearity="linear"),
    "orthogonal": lambda w, o: nn.init.orthogonal_(w),
}
MODES = ("fan_in", "fan_out")


def check_name(name: str) -> None:
    if name not in INITS:
        raise ValueError(f"unknown init {name!r} (valid: {', '.join(sorted(INITS))})")


def initialise(model: nn.Module, spec: dict) -> None:
    """Initialise every Linear/Conv of `model` as the spec says; a layer built from a `kind: layers` item with
    its own `init` (set as the module's `init` attribute) uses that name instead of the spec's.

    Biases: `init_bias` when the spec sets it, else zero, except under torch_default (PyTorch's own)."""
    scheme = spec.get("init", "torch_default")
    options = {"mode": spec.get("init_mode", "fan_in"), "std": spec.get("init_std", 0.01)}
    if options["mode"] not in MODES:
        raise ValueError(f"unknown init_mode {options['mode']!r} (valid: {', '.join(MODES)})")
    bias = spec.get("init_bias")
    for module in model.modules():
        if not isinstance(module, (nn.Linear, nn.Conv2d)):
            continue
        name = conventions.init_name(spec, getattr(module, "init", scheme))
        check_name(name)
        weight_init = INITS[name]
        if weight_init is not None:
            weight_init(module.weight, options)
        if module.bias is None:
            continue
        if bias is not None:
            nn.init.constant_(module.bias, bias)
        elif weight_init is not None:
            nn.init.zeros_(module.bias)
