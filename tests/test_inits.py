"""Initialisations (analysis.engine.inits): the registry is the schema's enum, the names that predate it give the same
bits as before, and each new one has the statistics its name promises."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from analysis.pipeline.config import load_schema
from analysis.engine import models
from analysis.engine.inits import INITS
from analysis.engine.models import build_model

MLP = {"model": {"kind": "mlp", "hidden": [300, 200]}, "activation": "relu"}
CNN = {"model": {"kind": "cnn", "conv": [4, 6], "fc": [16]}, "activation": "relu"}
LAYERS = {"model": {"kind": "layers", "layers": [{"conv": 4, "kernel": 3}, "act", {"pool": 2}, "flatten",
                                                  {"dense": 10}]}, "activation": "relu"}


def initialise_before(model: nn.Module, scheme: str, std: float = 0.01) -> None:
    """analysis.engine.models.initialise as it was before the registry (the reference for cached runs)."""
    if scheme == "torch_default":
        return
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            if scheme == "glorot_uniform":
                nn.init.xavier_uniform_(module.weight)
            elif scheme == "normal":
                nn.init.normal_(module.weight, 0.0, std)
            nn.init.zeros_(module.bias)


def built(spec: dict, seed: int = 3) -> nn.Module:
    torch.manual_seed(seed)
    return build_model(spec)


def test_schema_enum_is_the_registry():
    assert load_schema()["$defs"]["init_name"]["enum"] == list(INITS)


@pytest.mark.parametrize("model", [MLP, CNN, LAYERS], ids=["mlp", "cnn", "layers"])
@pytest.mark.parametrize("scheme", ["torch_default", "glorot_uniform", "normal"])
def test_names_that_predate_the_registry_give_the_same_bits(model, scheme, monkeypatch):
    spec = {**model, "init": scheme, "init_std": 0.05}
    now = built(spec)
    monkeypatch.setattr(models, "initialise", lambda m, s: initialise_before(m, s["init"], s["init_std"]))
    before = built(spec)
    for (name, a), (_, b) in zip(now.state_dict().items(), before.state_dict().items()):
        assert torch.equal(a, b), name


@pytest.mark.parametrize("scheme, mode, std", [
    ("he_normal", "fan_in", lambda fi, fo: math.sqrt(2 / fi)),
    ("he_normal", "fan_out", lambda fi, fo: math.sqrt(2 / fo)),
    ("he_uniform", "fan_in", lambda fi, fo: math.sqrt(2 / fi)),
    ("lecun_normal", "fan_in", lambda fi, fo: math.sqrt(1 / fi)),
    ("lecun_uniform", "fan_out", lambda fi, fo: math.sqrt(1 / fo)),
    ("glorot_normal", "fan_in", lambda fi, fo: math.sqrt(2 / (fi + fo))),
])
def test_scaled_inits_have_their_variance(scheme, mode, std):
    weight = built({**MLP, "init": scheme, "init_mode": mode}).linear2.weight  # 200 x 300
    assert weight.std().item() == pytest.approx(std(300, 200), rel=0.02)
    uniform = scheme.endswith("uniform")
    assert (weight.abs().max().item() <= std(300, 200) * math.sqrt(3) * 1.0001) == uniform


def test_orthogonal_and_bias_constant():
    model = built({**MLP, "init": "orthogonal", "init_bias": 0.1})
    weight = model.linear2.weight  # 200 x 300: orthonormal rows
    torch.testing.assert_close(weight @ weight.T, torch.eye(200), atol=1e-5, rtol=0)
    assert all(torch.all(m.bias == 0.1) for m in model if isinstance(m, nn.Linear))
    assert all(torch.all(m.bias == 0) for m in built({**MLP, "init": "he_normal"}) if isinstance(m, nn.Linear))


def test_per_layer_init_in_a_layers_model():
    spec = {"model": {"kind": "layers", "layers": [{"dense": 64, "init": "orthogonal"}, "act", "flatten",
                                                    {"dense": 10}]}, "init": "glorot_uniform", "activation": "relu"}
    model = built(spec)
    first = model.dense1.weight.flatten(1)  # a 1x1 convolution on the image: 64 x 1
    torch.testing.assert_close(first.T @ first, torch.ones(1, 1), atol=1e-5, rtol=0)
    plain = built({**spec, "model": {"kind": "layers", "layers": [{"dense": 64}, "act", "flatten", {"dense": 10}]}})
    assert not torch.equal(model.dense1.weight, plain.dense1.weight)
