"""The hand-written MLP backward pass: the same numbers as autograd, bit for bit, and only where it applies.

It runs on packed networks (analysis.engine.packed); a pack of one is a single run."""
import copy
from pathlib import Path

import pandas as pd
import pytest
import torch
from torch.nn import functional as F

from analysis.engine.activations import REGISTRY
from analysis.engine.mlp_step import HandBackward
from analysis.engine.models import build_model
from analysis.engine.packed import PackedNet
from analysis.engine.training import build_pack, train_run

#: the registered activations the hand-written pass has kernels for, and those it has none for
ACTIVATIONS = [name for name, a in REGISTRY.items() if a.kernels]
WITHOUT_KERNELS = [name for name, a in REGISTRY.items() if not a.kernels]


def alone(model: torch.nn.Sequential) -> PackedNet:
    """A single model as a pack of one (what training runs)."""
    return PackedNet([model], [torch.Generator()])


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("hidden", [[], [48], [64, 32, 16]])
def test_gradients_logits_and_loss_are_autograds_bit_for_bit(activation, hidden):
    torch.manual_seed(0)
    reference = build_model({"activation": activation, "init": "normal", "init_std": 0.3,
                             "model": {"kind": "mlp", "hidden": hidden}})
    model = alone(copy.deepcopy(reference))
    x, y = torch.randn(40, 1, 28, 28), torch.randint(0, 10, (40,))
    logits = reference(x)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    hand_logits, hand_loss = HandBackward(model).step(x.unsqueeze(0), y.unsqueeze(0))
    assert torch.equal(hand_logits[0], logits.detach()) and torch.equal(hand_loss[0], loss.detach())
    for (name, ours), theirs in zip(model.named_parameters(), reference.parameters()):
        assert ours.grad is not None and ours.grad[0].shape == theirs.grad.shape, name
        assert torch.equal(ours.grad[0], theirs.grad), f"{activation} {hidden}: {name} differs from autograd"


@pytest.mark.parametrize("spec, penalty", [
    ({"activation": "relu", "norm": "batchnorm", "model": {"kind": "mlp", "hidden": [8]}}, None),
    ({"activation": "relu", "dropout": 0.3, "model": {"kind": "mlp", "hidden": [8]}}, None),
    ({"activation": "relu", "model": {"kind": "cnn", "conv": [4], "fc": [8]}}, None),
    ({"activation": "lecun_tanh", "model": {"kind": "mlp", "hidden": [8]}}, None),
    ({"activation": "relu", "model": {"kind": "mlp", "hidden": [8]}}, {"l2": 1e-3}),
    ({"activation": "relu", "model": {"kind": "layers", "layers": ["flatten", {"dense": 8, "l2": 0.1}, "act",
                                                                   {"dense": 10}]}}, None),
])
def test_other_models_keep_autograd(spec, penalty):
    model = alone(build_model(spec))
    assert not HandBackward.applies(model, penalty)
    if penalty is None:
        with pytest.raises(ValueError, match="plain MLP"):
            HandBackward(model)


def test_the_registry_has_activations_on_both_paths():
    assert {"relu", "sigmoid", "tanh"} <= set(ACTIVATIONS) and {"lecun_tanh", "gelu"} <= set(WITHOUT_KERNELS)


@pytest.mark.parametrize("activation", WITHOUT_KERNELS)
def test_an_activation_without_kernels_trains_with_autograd_and_says_so(activation, data_dir: Path):
    """A plain MLP whose activation has no hand-written kernel keeps autograd, and its record names it."""
    spec = {"dataset": "mnist", "train_subset": 64, "test_subset": 32, "activation": activation,
            "model": {"kind": "mlp", "hidden": [8]}, "optimizer": "sgd", "lr": 0.1, "batch_size": 32, "epochs": 1,
            "seed": 1}
    assert not HandBackward.applies(alone(build_model(spec)))
    pack = build_pack([spec], data_dir / "mnist.pt", torch.device("cpu"))
    assert pack.hand is None and pack.results[0].backward == "autograd"


def test_plain_mlps_use_it():
    for spec in ({"activation": "sigmoid", "model": {"kind": "mlp", "depth": 5, "width": 16}},
                 {"activation": "relu", "model": {"kind": "mlp", "hidden": []}},
                 {"activation": "tanh", "model": {"kind": "mlp", "hidden": [8]}}):
        assert HandBackward.applies(alone(build_model(spec)), {"l1": 0.0})


def test_training_with_it_equals_training_with_autograd(data_dir: Path):
    """A whole run (momentum SGD, gradient probe, histograms, evaluation) is the same table either way."""
    spec = {"dataset": "fashion_mnist", "train_subset": 640, "test_subset": 200, "validation_split": 0.25,
            "split_seed": 0, "normalise": {"mean": 0.1307, "std": 0.3081}, "activation": "tanh", "norm": "none",
            "model": {"kind": "mlp", "hidden": [64, 32]}, "optimizer": "sgd", "lr": 0.05, "momentum": 0.5,
            "batch_size": 32, "eval_batch_size": 100, "epochs": 2, "seed": 4, "log_every": 5,
            "probes": {"grad_every": 1, "activation_epochs": [0, 2], "activation_bins": 20, "activation_batch": 50}}
    runs = {hand: train_run(spec, data_dir / "fashion_mnist.pt", torch.device("cpu"), progress=False,
                            hand_backward=hand) for hand in (True, False)}
    assert runs[True].backward == "hand" and runs[False].backward == "autograd"
    columns = ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc"]
    pd.testing.assert_frame_equal(pd.DataFrame(runs[True].epochs)[columns], pd.DataFrame(runs[False].epochs)[columns],
                                  check_exact=True)
    pd.testing.assert_frame_equal(runs[True].grads, runs[False].grads, check_exact=True)
    assert torch.equal(torch.cat(runs[True].batch_losses), torch.cat(runs[False].batch_losses))


def test_later_steps_write_into_the_same_gradient_tensors():
    """Step 2 overwrites step 1's gradients in place (no fresh 2 MB tensors each step) and still
    gives autograd's gradients for the new batch, even after the probe turned the old ones into |g|."""
    torch.manual_seed(1)
    single = build_model({"activation": "tanh", "model": {"kind": "mlp", "hidden": [32, 16]}})
    reference, model = copy.deepcopy(single), alone(single)
    hand = HandBackward(model)
    hand.step(torch.randn(1, 8, 1, 28, 28), torch.randint(0, 10, (1, 8)))
    before = {name: p.grad.data_ptr() for name, p in model.named_parameters()}
    for p in model.parameters():
        p.grad.abs_()
    x, y = torch.randn(8, 1, 28, 28), torch.randint(0, 10, (8,))
    hand.step(x.unsqueeze(0), y.unsqueeze(0))
    F.cross_entropy(reference(x), y).backward()
    for (name, ours), theirs in zip(model.named_parameters(), reference.parameters()):
        assert ours.grad.data_ptr() == before[name], f"{name}: a new gradient tensor was allocated"
        assert torch.equal(ours.grad[0], theirs.grad), name
