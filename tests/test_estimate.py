"""The time estimate `make` prints first (analysis/estimate.py): its arithmetic against a hand computation, finished
runs left out and used for calibration, more cores giving a shorter estimate, and a CLI that never fails the build.
No data is loaded and the matmul probe is replaced by a fixed peak, so each test takes well under a second."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from analysis import estimate as est
from analysis.config import CONFIG_PATH, study_runs
from analysis.layout import RUN_FILES

PEAK = 100.0  # GFLOP/s of the fake probe
# 784 -> 10 -> 10: (7,840 + 100) multiply-adds, ×2 FLOPs, ×3 forward + both gradients
FLOPS_PER_SAMPLE = 6 * (784 * 10 + 10 * 10)
BASE = {"dataset": "fashion_mnist", "model": {"kind": "mlp", "hidden": [10]}, "activation": "relu",
        "optimizer": "sgd", "lr": 0.1, "batch_size": 100, "epochs": 2, "train_subset": 1000,
        "validation_split": 0.2, "test_subset": 500}
# per run: 2 epochs × 800 training images; 3 evaluations (before training, after each epoch) of 200 + 500 images
RUN_FLOPS = 2 * 800 * FLOPS_PER_SAMPLE + 3 * 700 * FLOPS_PER_SAMPLE / 3


def tiny_config(seeds: list[int], pack_size: int = 5) -> dict:
    return {"profile": "default", "pack_size": pack_size, "defaults": {},
            "experiments": {"tiny": {"base": dict(BASE), "seeds": seeds}}}


def run(config: dict, runs_dir: Path, cores: int = 2) -> est.Estimate:
    return est.estimate(config, "default", cores, runs_dir, peak=lambda threads: PEAK)


def finish(runs_dir: Path, run_id: str, gflops_per_s: float) -> None:
    """A finished run on disk: every file Snakemake tracks, and a record whose loop ran at `gflops_per_s`."""
    folder = runs_dir / run_id
    folder.mkdir(parents=True)
    for name in RUN_FILES:
        (folder / name).touch()
    record = {"timing": {"train_seconds": 10.0, "gflops_per_s": gflops_per_s, "pack_gflops_per_s": gflops_per_s},
              "environment": {"device": "cpu", "threads": 1}}
    (folder / "record.json").write_text(json.dumps(record))


def test_work_equals_the_hand_computation_and_the_time_follows_from_it(tmp_path):
    result = run(tiny_config([1, 2]), tmp_path)
    assert (result.runs, result.done, result.jobs) == (2, 0, 1)  # two seeds of one spec: one packed job
    assert result.flops == pytest.approx(2 * RUN_FLOPS)
    seconds = 2 * RUN_FLOPS / (est.DEFAULT_EFFICIENCY * PEAK * 1e9) + est.JOB_OVERHEAD_S
    assert result.seconds == pytest.approx(seconds)


def test_split_sizes_follow_the_spec_keys_as_load_splits_does():
    assert est.split_sizes({}) == est.SplitSizes(60_000, 0, 10_000)
    assert est.split_sizes({"validation_split": 0.2}) == est.SplitSizes(48_000, 12_000, 10_000)
    four = {"classes": [0, 1, 2, 3], "train_per_class": 1620, "validation_split": 0.1}
    assert est.split_sizes(four) == est.SplitSizes(5832, 648, 4000)
    assert est.split_sizes({"train_subset": 4000, "test_subset": 2000}) == est.SplitSizes(4000, 0, 2000)


def test_tracking_adds_a_test_evaluation_every_track_every_steps():
    spec = {**BASE, "probes": {"track_every": 4}}  # 2 epochs × 8 steps = 16 steps: tracked at 0, 4, 8, 12, 16
    extra = est.run_work(spec, FLOPS_PER_SAMPLE).evaluate - est.run_work(BASE, FLOPS_PER_SAMPLE).evaluate
    assert extra == pytest.approx(5 * 500 * FLOPS_PER_SAMPLE / 3)


def test_finished_runs_are_left_out_and_calibrate_their_experiment(tmp_path):
    config = tiny_config([1, 2])
    done = sorted(study_runs(config, "default"))[0]
    finish(tmp_path, done, gflops_per_s=0.5 * PEAK)
    result = run(config, tmp_path)
    assert (result.done, result.jobs) == (1, 1)
    assert result.flops == pytest.approx(RUN_FLOPS)
    assert result.calibration.by_experiment == {"tiny": pytest.approx(0.5)}
    assert result.seconds == pytest.approx(RUN_FLOPS / (0.5 * PEAK * 1e9) + est.JOB_OVERHEAD_S)


def test_a_packed_members_time_is_its_flops_at_the_packs_rate():
    record = {"timing": {"train_seconds": 30.0, "gflops_per_s": 10.0, "pack_gflops_per_s": 30.0},
              "environment": {"device": "cpu", "threads": 1}}
    assert est.record_rate(record, threads=1) == pytest.approx((300.0, 10.0))  # a third of the pack's 30 s
    assert est.record_rate(record, threads=2) is None  # measured with other threads than the jobs will have


def test_more_cores_give_a_shorter_estimate_down_to_the_longest_job(tmp_path):
    config = tiny_config([1, 2, 3, 4], pack_size=1)  # four jobs of equal length
    one, two, four, eight = (run(config, tmp_path, cores).seconds for cores in (1, 2, 4, 8))
    assert one == pytest.approx(2 * two) and two == pytest.approx(2 * four)
    assert eight == pytest.approx(four)  # one job per core already: the longest job bounds the build


def test_nothing_to_train_says_so(tmp_path):
    config = tiny_config([1])
    finish(tmp_path, next(iter(study_runs(config, "default"))), gflops_per_s=50.0)
    lines = est.report_lines(run(config, tmp_path))
    assert lines[-1] == "nnlab: nothing to train: every run is done"


def test_cli_prints_the_estimate_lines(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(est, "probe_peak", lambda threads: PEAK)
    assert est.main(["--profile", "quick", "--cores", "2", "--runs-dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("nnlab: quick profile: ") and "0 runs already done" in lines[0]
    assert "fp32 matmul 100 GFLOP/s on one thread" in lines[2] and "2 jobs at a time" in lines[2]
    assert lines[-1].startswith("nnlab: expect about ") and "(range " in lines[-1]


@pytest.mark.parametrize("problem", ["missing", "invalid"])
def test_cli_exits_0_with_one_line_when_no_estimate_can_be_made(tmp_path, capsys, problem):
    path = tmp_path / "config.yaml"
    if problem == "invalid":
        config = yaml.safe_load(CONFIG_PATH.read_text())
        config["defaults"]["epochs"] = "many"
        path.write_text(yaml.safe_dump(config))
    assert est.main(["--config", str(path), "--runs-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("nnlab: no time estimate (") and out[0].endswith(")")
