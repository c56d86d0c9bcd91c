"""The benchmark's premise: the seeds' loop and nnlab's step compute the same training, so their speeds compare."""
from pathlib import Path

import pytest
import torch

from analysis.bench import MODELS, equivalence, mlp_step_parts


@pytest.mark.parametrize("name, tolerance", [("mlp-784-512-1024-512-10", 0.0), ("cnn-16-32-fc128", 1e-5)])
def test_seed_loop_and_nnlab_step_give_the_same_losses(data_dir: Path, name, tolerance):
    raw = torch.load(data_dir / "fashion_mnist.pt", weights_only=True)
    diff = equivalence(raw["train_x"], raw["train_y"].long(), data_dir / "fashion_mnist.pt", MODELS[name], steps=8)
    assert diff <= tolerance, f"{name}: losses differ by {diff:.2e} (relative)"


def test_step_parts_are_timed_for_every_part():
    parts = mlp_step_parts({"kind": "mlp", "hidden": [32, 16]}, torch.device("cpu"), batch=8)
    assert set(parts) == {"products", "forward_backward", "update", "probe", "momentum_traffic"}
    assert all(0 < seconds < 1 for seconds in parts.values())
