"""`conventions: keras`: Keras' defaults where PyTorch's differ, for runs that reproduce a Keras model.

Why a spec key of its own (and not `defaults: keras`): `defaults:` already names the config's block of settings
every run starts from. Under `keras`, the defaults below replace PyTorch's; anything the spec sets explicitly
(`optimizer_args`, a layer's `init`, an `init` other than torch_default) still wins, and `lr` stays the spec's
own key (Keras 1's Adadelta used lr 1.0: set `lr: 1.0`). The update formulas stay PyTorch's (Keras adds Adam's
epsilon before the bias correction, PyTorch after: the same epsilon is not the same step).
"""
from __future__ import annotations

CONVENTIONS = ("pytorch", "keras")

#: Keras' optimizer defaults, as the PyTorch optimizer's keyword arguments
KERAS_OPTIMIZER_ARGS: dict[str, dict[str, float]] = {
    "rmsprop": {"alpha": 0.9, "eps": 1e-7},
    "adam": {"eps": 1e-7},
    "adamw": {"eps": 1e-7},
    "adadelta": {"rho": 0.95, "eps": 1e-7},
    "adamax": {"eps": 1e-7},
    "nadam": {"eps": 1e-7},
    "adagrad": {"initial_accumulator_value": 0.1, "eps": 1e-7},
}
#: BatchNormalization(momentum=0.99, epsilon=1e-3): PyTorch weighs the new batch by 1 - Keras' momentum
KERAS_BATCHNORM = {"momentum": 0.01, "eps": 1e-3}
#: what `init: torch_default` means under keras: Keras' kernel and bias initialisers
KERAS_INIT = "glorot_uniform"
#: PyTorch's own values of the same settings, for the README's table
PYTORCH = {"rmsprop": {"alpha": 0.99, "eps": 1e-8}, "adam": {"eps": 1e-8}, "adamw": {"eps": 1e-8},
           "adadelta": {"rho": 0.9, "eps": 1e-6}, "adamax": {"eps": 1e-8}, "nadam": {"eps": 1e-8},
           "adagrad": {"initial_accumulator_value": 0.0, "eps": 1e-10}}


def keras(spec: dict) -> bool:
    name = spec.get("conventions", "pytorch")
    if name not in CONVENTIONS:
        raise ValueError(f"unknown conventions {name!r} (valid: {', '.join(CONVENTIONS)})")
    return name == "keras"


def optimizer_args(spec: dict) -> dict:
    """The spec's optimizer_args over the conventions' defaults for its optimizer."""
    base = KERAS_OPTIMIZER_ARGS.get(spec["optimizer"], {}) if keras(spec) else {}
    return {**base, **(spec.get("optimizer_args") or {})}


def batchnorm_args(spec: dict) -> dict:
    """Keyword arguments of every BatchNorm layer ({} = PyTorch's momentum 0.1, eps 1e-5)."""
    return dict(KERAS_BATCHNORM) if keras(spec) else {}


def init_name(spec: dict, name: str) -> str:
    """The initialisation `name` stands for: under keras, torch_default is Keras' glorot-uniform, zero biases."""
    return KERAS_INIT if name == "torch_default" and keras(spec) else name


def markdown_table() -> str:
    """README's table of what `conventions: keras` changes (tests/test_conventions.py keeps them equal)."""
    rows = ["| setting | PyTorch | `conventions: keras` |", "|---|---|---|"]
    for name, args in KERAS_OPTIMIZER_ARGS.items():
        for key, value in args.items():
            rows.append(f"| `{name}` `{key}` | {PYTORCH[name][key]:g} | {value:g} |")
    rows.append(f"| BatchNorm momentum (weight of the new batch) | 0.1 | {KERAS_BATCHNORM['momentum']:g} "
                "(Keras' momentum 0.99) |")
    rows.append(f"| BatchNorm eps | 1e-05 | {KERAS_BATCHNORM['eps']:g} |")
    rows.append(f"| `init: torch_default` | PyTorch's (Kaiming-uniform, a = √5; same for biases) | {KERAS_INIT}, "
                "zero biases |")
    return "\n".join(rows)
