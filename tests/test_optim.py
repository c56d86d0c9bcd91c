"""The optimizer registry (analysis.engine.optim): every entry builds and steps a packed model with its members
independent; names and arguments are checked against the optimizer's own signature, in one line."""
from __future__ import annotations

import pytest
import torch

from analysis.pipeline.config import load_schema
from analysis.engine.models import build_model
from analysis.engine.optim import OPTIMIZERS, OptimizerConfigError, check, keywords, make_optimizer
from analysis.engine.packed import PackedNet, member_losses

SPEC = {"model": {"kind": "mlp", "hidden": [6]}, "activation": "relu", "lr": 0.01, "momentum": 0.0,
        "weight_decay": 0.0}
#: a non-default argument of each optimizer, so the pass-through is exercised too
EXTRA = {"sgd": {"nesterov": True}, "adam": {"amsgrad": True}, "adamw": {"betas": [0.8, 0.99]},
         "rmsprop": {"centered": True}, "adagrad": {"lr_decay": 0.01}, "adadelta": {"rho": 0.95},
         "adamax": {"eps": 1e-7}, "nadam": {"momentum_decay": 0.005}, "radam": {"decoupled_weight_decay": True}}


def packed_pair(seeds=(1, 2)) -> tuple[PackedNet, list[torch.nn.Module]]:
    members = []
    for seed in seeds:
        torch.manual_seed(seed)
        members.append(build_model(SPEC, in_shape=(1, 4, 4), n_classes=3))
    return PackedNet(members, [torch.Generator() for _ in seeds]), members


def test_schema_enum_is_the_registry():
    assert load_schema()["$defs"]["spec_keys"]["properties"]["optimizer"]["enum"] == list(OPTIMIZERS)


def test_every_entry_has_a_test_argument():
    assert set(EXTRA) == set(OPTIMIZERS)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_entry_steps_each_packed_member_as_alone(name):
    """Two steps of a packed pair equal the two members stepped alone (elementwise updates)."""
    spec = {**SPEC, "optimizer": name, "optimizer_args": EXTRA[name],
            "momentum": 0.5 if "momentum" in OPTIMIZERS[name].spec_keys else 0.0}
    check(spec)
    net, members = packed_pair()
    x, y = torch.randn(2, 5, 1, 4, 4, generator=torch.Generator().manual_seed(0)), torch.tensor([[0, 1, 2, 0, 1]] * 2)
    packed_opt = make_optimizer(spec, net.parameters())
    alone = [make_optimizer(spec, m.parameters()) for m in members]
    start = net.linear1.weight.detach().clone()
    for _ in range(2):
        packed_opt.zero_grad()
        member_losses(net(x), y).sum().backward()
        packed_opt.step()
        for k, (model, opt) in enumerate(zip(members, alone)):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x[k]), y[k]).backward()
            opt.step()
    for k, model in enumerate(members):
        torch.testing.assert_close(net.linear1.weight[k], model.linear1.weight, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(net.linear2.bias[k], model.linear2.bias, rtol=1e-5, atol=1e-6)
    assert not torch.equal(net.linear1.weight, start)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_misspelt_argument_is_one_line(name):
    with pytest.raises(OptimizerConfigError) as info:
        keywords({**SPEC, "optimizer": name, "optimizer_args": {"lrr": 1}})
    message = str(info.value)
    assert "\n" not in message and "'lrr'" in message and "valid:" in message and "foreach" in message


def test_misspelt_name_is_one_line():
    with pytest.raises(OptimizerConfigError, match=r"unknown optimizer 'adamm' \(valid: adadelta, adagrad, adam,"):
        keywords({**SPEC, "optimizer": "adamm"})


def test_spec_keys_are_not_optimizer_args_and_momentum_needs_an_optimizer_that_takes_it():
    with pytest.raises(OptimizerConfigError, match="spec key `lr`"):
        keywords({**SPEC, "optimizer": "adam", "optimizer_args": {"lr": 0.1}})
    with pytest.raises(OptimizerConfigError, match="nadam takes no momentum"):
        keywords({**SPEC, "optimizer": "nadam", "momentum": 0.9})
    assert "momentum" not in keywords({**SPEC, "optimizer": "adam", "momentum": 0.9})  # ignored, as before


def test_bad_value_fails_in_one_line():
    with pytest.raises(OptimizerConfigError, match="optimizer adam: Invalid beta") as info:
        check({**SPEC, "optimizer": "adam", "optimizer_args": {"betas": [1.5, 0.9]}})
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("spec, old", [
    ({"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 1e-3},
     lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=1e-3, fused=True)),
    ({"optimizer": "adam", "lr": 0.01, "momentum": 0.0, "weight_decay": 0.0},
     lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.0, fused=True)),
])
def test_sgd_and_adam_are_built_as_before(spec, old):
    """The cached runs' optimizers: the same construction (fused), so the same bits."""
    new_net, old_net = packed_pair()[0], packed_pair()[0]
    new_opt, old_opt = make_optimizer(spec, new_net.parameters()), old(old_net.parameters())
    assert new_opt.defaults == old_opt.defaults
    x, y = torch.randn(2, 5, 1, 4, 4, generator=torch.Generator().manual_seed(0)), torch.tensor([[0, 1, 2, 0, 1]] * 2)
    for net, opt in ((new_net, new_opt), (old_net, old_opt)):
        for _ in range(3):
            opt.zero_grad()
            member_losses(net(x), y).sum().backward()
            opt.step()
    for a, b in zip(new_net.parameters(), old_net.parameters()):
        assert torch.equal(a, b)
