"""`conventions: keras` (analysis.engine.conventions): Keras' optimizer, BatchNorm and initialisation defaults, the
spec's explicit settings winning, and README's table equal to the one the module prints."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from analysis.engine.conventions import markdown_table
from analysis.engine.models import build_model
from analysis.engine.optim import make_optimizer
from analysis.engine.packed import PackedNet

ROOT = Path(__file__).resolve().parent.parent
MLP = {"model": {"kind": "mlp", "hidden": [8]}, "activation": "relu", "norm": "batchnorm", "init": "torch_default"}
PARAM = [nn.Parameter(torch.zeros(2))]


def test_readme_table_is_the_modules():
    assert markdown_table() in (ROOT / "README.md").read_text()


def test_optimizer_defaults_and_explicit_args_win():
    spec = {"optimizer": "rmsprop", "lr": 0.001, "conventions": "keras"}
    defaults = make_optimizer(spec, PARAM).defaults
    assert (defaults["alpha"], defaults["eps"]) == (0.9, 1e-7)
    defaults = make_optimizer({**spec, "optimizer_args": {"eps": 1e-5}}, PARAM).defaults
    assert (defaults["alpha"], defaults["eps"]) == (0.9, 1e-5)
    assert make_optimizer({**spec, "conventions": "pytorch"}, PARAM).defaults["alpha"] == 0.99
    adadelta = make_optimizer({"optimizer": "adadelta", "lr": 1.0, "conventions": "keras"}, PARAM).defaults
    assert (adadelta["lr"], adadelta["rho"], adadelta["eps"]) == (1.0, 0.95, 1e-7)


def test_batchnorm_and_init():
    torch.manual_seed(0)
    model = build_model({**MLP, "conventions": "keras"})
    assert (model.bn1.momentum, model.bn1.eps) == (0.01, 1e-3)
    packed = PackedNet([model, model], [torch.Generator(), torch.Generator()])
    assert (packed.bn1.momentum, packed.bn1.eps) == (0.01, 1e-3)
    torch.manual_seed(0)
    glorot = build_model({**MLP, "init": "glorot_uniform"})
    assert torch.equal(model.linear1.weight, glorot.linear1.weight) and not model.linear1.bias.any()
    torch.manual_seed(0)
    plain = build_model(MLP)
    assert (plain.bn1.momentum, plain.bn1.eps) == (0.1, 1e-5) and plain.linear1.bias.any()
    layers = build_model({"model": {"kind": "layers", "layers": ["flatten", {"dense": 4}, "bn", {"dense": 10}]},
                          "activation": "relu", "conventions": "keras"})
    assert (layers.bn1.momentum, layers.bn1.eps) == (0.01, 1e-3)
