"""The time estimate `make` prints first (analysis/tools/estimate.py): its arithmetic against a hand computation,
finished
runs left out and used for calibration, the step probe's budget and fallback, more cores giving a shorter estimate,
the line after the build, and a CLI that never fails the build. No data is loaded; the matmul probe is replaced by a
fixed peak and the step probe by fixed timings (one test runs the real step probe on a tiny network)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from analysis.tools import estimate as est
from analysis.tools import step_probe
from analysis.pipeline.config import CONFIG_PATH
from analysis.pipeline.plan import study_runs
from analysis.store.layout import RUN_FILES

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


STEP = step_probe.StepTiming(step=0.01, eval_image=1e-4)  # the fake step probe's timings
# per run: 2 epochs × 8 steps, 3 evaluations of 700 images
RUN_SECONDS = 2 * 8 * STEP.step + 3 * 700 * STEP.eval_image


def run(config: dict, runs_dir: Path, cores: int = 2, budget: float = est.PROBE_BUDGET_S) -> est.Estimate:
    return est.estimate(config, "default", cores, runs_dir, peak=lambda threads: PEAK,
                        timer=lambda specs, images, threads: STEP, budget=budget)


def finish(runs_dir: Path, run_id: str, gflops_per_s: float) -> None:
    """A finished run on disk: every file Snakemake tracks, and a record whose loop ran at `gflops_per_s`."""
    folder = runs_dir / run_id
    folder.mkdir(parents=True)
    for name in RUN_FILES:
        (folder / name).touch()
    record = {"timing": {"train_seconds": 10.0, "gflops_per_s": gflops_per_s, "pack_gflops_per_s": gflops_per_s},
              "environment": {"device": "cpu", "threads": 1}}
    (folder / "record.json").write_text(json.dumps(record))


def test_work_equals_the_hand_computation_and_the_time_follows_from_the_probed_step(tmp_path):
    result = run(tiny_config([1, 2]), tmp_path)
    assert (result.runs, result.done, result.jobs) == (2, 0, 1)  # two seeds of one spec: one packed job
    assert result.flops == pytest.approx(2 * RUN_FLOPS)
    # one job, alone on its slot: its epochs' steps and evaluations at the probed times, no parallel slowdown
    assert result.seconds == pytest.approx(RUN_SECONDS + est.JOB_OVERHEAD_S)
    assert len(result.probe.timings) == result.probe.keys == 1


def test_configurations_the_budget_leaves_untimed_run_at_their_kinds_measured_rate(tmp_path):
    config = tiny_config([1], pack_size=1)
    config["experiments"]["wide"] = {"base": {**BASE, "model": {"kind": "mlp", "hidden": [20]}}, "seeds": [1]}
    result = run(config, tmp_path, cores=1, budget=0.0)  # the costliest is always timed, then the budget is spent
    assert (result.probe.keys, len(result.probe.timings)) == (2, 1)
    # 2 epochs × 800 images, and 3 evaluations of 700 images at a third of the cost
    wide_flops = (2 * 800 + 3 * 700 / 3) * 6 * (784 * 20 + 20 * 10)
    rate = wide_flops / RUN_SECONDS  # the wide net is the costlier: timed first, its rate serves the narrow one
    assert result.probe.kind_rate == {"mlp": pytest.approx(rate)}
    narrow = RUN_FLOPS / rate
    assert result.seconds == pytest.approx(RUN_SECONDS + narrow + 2 * est.JOB_OVERHEAD_S)  # one after the other


def test_the_real_step_probe_times_a_step_and_an_image_and_restores_threads():
    spec = {**BASE, "seed": 1, "eval_batch_size": 1000, "momentum": 0.0, "probes": {"grad_every": 1}}
    before = step_probe.torch.get_num_threads()
    timing = step_probe.time_pack([spec], train_images=800, threads=1)
    assert 0 < timing.step < 1 and 0 < timing.eval_image < timing.step
    assert step_probe.torch.get_num_threads() == before


def test_timing_keys_ignore_what_does_not_change_a_step():
    spec = {**BASE, "seed": 1, "probes": {"grad_every": 0}}
    key = step_probe.timing_key([spec], 800)
    assert step_probe.timing_key([{**spec, "lr": 0.5, "seed": 2, "epochs": 9}], 800) == key
    assert step_probe.timing_key([spec, spec], 800) != key  # a pack of two steps both members
    assert step_probe.timing_key([{**spec, "probes": {"grad_every": 1}}], 800) != key
    assert step_probe.timing_key([{**spec, "batch_size": 32}], 800) != key


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
    assert result.probe.keys == 0  # a calibrated experiment is not probed


def test_a_packed_members_time_is_its_flops_at_the_packs_rate():
    record = {"timing": {"train_seconds": 30.0, "gflops_per_s": 10.0, "pack_gflops_per_s": 30.0},
              "environment": {"device": "cpu", "threads": 1}}
    assert est.record_rate(record, threads=1) == pytest.approx((300.0, 10.0))  # a third of the pack's 30 s
    assert est.record_rate(record, threads=2) is None  # measured with other threads than the jobs will have


def test_more_cores_give_a_shorter_estimate_down_to_the_longest_job(tmp_path):
    config = tiny_config([1, 2, 3, 4], pack_size=1)  # four jobs of equal length
    one, two, four, eight = (run(config, tmp_path, cores).seconds for cores in (1, 2, 4, 8))
    slow = est.PARALLEL_SLOWDOWN  # jobs side by side run slower than alone
    assert one * slow == pytest.approx(2 * two) and two == pytest.approx(2 * four)
    assert eight == pytest.approx(four)  # one job per core already: the longest job bounds the build


def test_nothing_to_train_says_so(tmp_path):
    config = tiny_config([1])
    finish(tmp_path, next(iter(study_runs(config, "default"))), gflops_per_s=50.0)
    lines = est.report_lines(run(config, tmp_path))
    assert lines[-1] == "nnlab: nothing to train: every run is done"


def test_cli_prints_the_estimate_lines_and_after_the_build_the_measured_time(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(est, "probe_peak", lambda threads: PEAK)
    monkeypatch.setattr(est, "time_pack", lambda specs, images, threads: STEP)
    saved = tmp_path / "quick" / "estimate.json"
    runs = tmp_path / "runs"
    assert est.main(["--profile", "quick", "--cores", "2", "--runs-dir", str(runs), "--save", str(saved)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("nnlab: quick profile: ") and "0 runs already done" in lines[0]
    assert "fp32 matmul 100 GFLOP/s on one thread" in lines[2] and "2 jobs at a time" in lines[2]
    assert "configurations timed by a few real steps" in lines[3]
    assert lines[-1].startswith("nnlab: expect about ") and "(range " in lines[-1]
    estimate = json.loads(saved.read_text())
    assert estimate["low"] < estimate["seconds"] < estimate["high"]

    est.main(["--measured", str(saved), "--runs-dir", str(runs)])
    assert capsys.readouterr().out.startswith("nnlab: this build trained nothing")
    finish(runs, "a1", gflops_per_s=1.0)  # a record written after the estimate: the build trained
    est.main(["--measured", str(saved), "--runs-dir", str(runs)])
    line = capsys.readouterr().out
    assert line.startswith("nnlab: estimated ") and "(OUTSIDE the range)" in line  # seconds, not minutes


def test_measured_line_says_inside_when_the_training_ended_within_the_range(tmp_path):
    finish(tmp_path, "a1", gflops_per_s=1.0)
    written = (tmp_path / "a1" / "record.json").stat().st_mtime
    saved = {"jobs": 3, "seconds": 600.0, "low": 420.0, "high": 780.0, "made_at": written - 500}
    line = est.measured_line(saved, tmp_path, now=written + 60)
    assert "measured 8 min to the last run's record (inside the range), 9 min to the end" in line
    assert "estimated 10 min (range 7–13 min)" in line


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
