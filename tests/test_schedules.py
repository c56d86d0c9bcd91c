"""Learning-rate schedules (analysis.engine.schedules): torch's schedulers' rates, warm-up, the per-epoch `lr` column,
no change to a run that does not use one, and a resumed pack continuing at the rate it had."""
from __future__ import annotations

import copy
import math

import pandas as pd
import pytest
import torch

from analysis.pipeline.aggregate import epoch_rates
from analysis.pipeline.config import ConfigError, load_config, validate
from analysis.engine.schedules import SCHEDULES, make_schedule
from analysis.engine.training import build_pack, capture, run_frames, run_pack, save_checkpoint, start, train_epoch

BASE = {"dataset": "fashion_mnist", "train_subset": 320, "test_subset": 100, "validation_split": 0.0,
        "split_seed": 0, "normalise": {"mean": 0.1307, "std": 0.3081}, "activation": "relu", "norm": "none",
        "dropout": 0.0, "init": "torch_default", "model": {"kind": "mlp", "hidden": [16]}, "optimizer": "sgd",
        "lr": 0.1, "momentum": 0.9, "batch_size": 64, "eval_batch_size": 100, "epochs": 3, "seed": 1,
        "log_every": 2, "probes": {"grad_every": 0, "activation_epochs": []}}
TORCH = {  # our schedule -> torch's scheduler with the same arguments
    "step": ({"step_size": 2, "gamma": 0.5}, lambda o: torch.optim.lr_scheduler.StepLR(o, 2, 0.5)),
    "multistep": ({"milestones": [1, 4]}, lambda o: torch.optim.lr_scheduler.MultiStepLR(o, [1, 4], 0.1)),
    "exponential": ({"gamma": 0.7}, lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.7)),
    "cosine": ({"t_max": 6, "eta_min": 0.01}, lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 6, 0.01)),
    "constant": ({}, lambda o: torch.optim.lr_scheduler.ConstantLR(o, 1.0, 0)),
}


def optimizer(lr: float = 0.1) -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


def test_every_schedule_is_tested_and_in_the_schema():
    assert set(TORCH) == set(SCHEDULES)
    from analysis.pipeline.config import load_schema

    schema = load_schema()["$defs"]["spec_keys"]["properties"]["schedule"]["properties"]
    assert schema["name"]["enum"] == list(SCHEDULES)


@pytest.mark.filterwarnings("ignore::UserWarning")  # torch: scheduler.step() before optimizer.step()
@pytest.mark.parametrize("name", list(TORCH))
def test_rates_are_torch_schedulers_rates(name):
    """Epochs 1-7 (cosine's t_max is 6: past it torch's rate rises again, ours stays at eta_min)."""
    args, reference = TORCH[name]
    ours, theirs = optimizer(), optimizer()
    schedule = make_schedule({"schedule": {"name": name, **args}, "epochs": 8}, ours, steps_per_epoch=5)
    scheduler = reference(theirs)
    for epoch in range(1, 8):
        schedule.set((epoch - 1) * 5, epoch)
        assert ours.param_groups[0]["lr"] == pytest.approx(theirs.param_groups[0]["lr"], rel=1e-12), epoch
        scheduler.step()


def test_warmup_then_schedule_per_step():
    opt = optimizer(0.2)
    schedule = make_schedule({"schedule": {"name": "exponential", "gamma": 0.5, "interval": "step", "warmup": 4},
                              "epochs": 1}, opt, steps_per_epoch=10)
    rates = []
    for step in range(7):
        schedule.set(step, 1)
        rates.append(opt.param_groups[0]["lr"])
    assert rates == pytest.approx([0.05, 0.1, 0.15, 0.2, 0.2, 0.1, 0.05])


def test_missing_argument_fails_the_dag_build_in_one_line():
    config = load_config()
    config["experiments"]["a7_4"]["base"]["schedule"] = {"name": "step"}
    with pytest.raises(ConfigError, match=r"a7_4 .*schedule step needs step_size$"):
        validate(config)


def metrics(result) -> pd.DataFrame:
    return run_frames(result)["metrics"].drop(columns=["seconds", "samples_per_s"])


def test_lr_column_and_no_change_without_a_schedule(data_dir):
    """A schedule that never lowers the rate in these 3 epochs leaves every number as it is without one."""
    data = data_dir / "fashion_mnist.pt"
    plain = metrics(run_pack(build_pack([BASE], data, torch.device("cpu")), progress=False)[0])
    spec = {**BASE, "schedule": {"name": "step", "step_size": 100}}
    flat = metrics(run_pack(build_pack([spec], data, torch.device("cpu")), progress=False)[0])
    assert plain["lr"].tolist() == [0.1] * 4
    assert plain.equals(flat)
    cosine = {**BASE, "schedule": {"name": "cosine", "interval": "epoch"}}
    rates = metrics(run_pack(build_pack([cosine], data, torch.device("cpu")), progress=False)[0])["lr"]
    assert rates.tolist() == pytest.approx([0.1, 0.1, 0.1 * (1 + math.cos(math.pi / 3)) / 2,
                                            0.1 * (1 + math.cos(2 * math.pi / 3)) / 2])


def test_resumed_pack_continues_at_its_rate(data_dir, tmp_path):
    data = data_dir / "fashion_mnist.pt"
    specs = [{**BASE, "seed": s, "schedule": {"name": "step", "step_size": 3, "gamma": 0.5, "interval": "step",
                                              "warmup": 2}} for s in (1, 2)]
    whole = [metrics(r) for r in run_pack(build_pack(copy.deepcopy(specs), data, torch.device("cpu")), False)]
    first = build_pack(copy.deepcopy(specs), data, torch.device("cpu"))
    start(first, None)
    train_epoch(first, 1, progress=False)
    checkpoint = tmp_path / "pack.pt"
    save_checkpoint(checkpoint, capture(first, 1))
    resumed = build_pack(copy.deepcopy(specs), data, torch.device("cpu"))
    again = [metrics(r) for r in run_pack(resumed, False, checkpoint)]
    for a, b in zip(whole, again):
        pd.testing.assert_frame_equal(a, b)
    assert len(set(whole[0]["lr"])) > 2


def test_aggregate_carries_the_rate_as_epoch_lr():
    frame = pd.DataFrame({"epoch": [0, 1], "lr": [0.1, 0.05]})
    assert epoch_rates(frame, {"lr": 0.1})["epoch_lr"].tolist() == [0.1, 0.05]
    before = pd.DataFrame({"epoch": [0, 1], "test_acc": [0.1, 0.5]})  # a run trained before the column existed
    assert epoch_rates(before, {"lr": 0.02})["epoch_lr"].tolist() == [0.02, 0.02]


def test_a_scheduled_learning_rate_shows_on_the_learning_curves(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd
    from matplotlib import pyplot as plt

    from analysis.study.answers.tools import lr_axis

    epochs = pd.DataFrame({"run_id": ["a"] * 3, "epoch": [1, 2, 3], "epoch_lr": [0.1, 0.05, 0.025]})
    fig, ax = plt.subplots()
    lr_axis(ax, epochs)
    assert len(fig.axes) == 2 and fig.axes[1].get_lines()[0].get_ydata().tolist() == [0.1, 0.05, 0.025]
    fig2, ax2 = plt.subplots()
    lr_axis(ax2, epochs.assign(epoch_lr=0.1))  # a constant rate: no extra axis
    assert len(fig2.axes) == 1
