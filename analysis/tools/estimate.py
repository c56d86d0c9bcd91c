"""Time to expect: before `make` trains, a few lines saying how long the training of the chosen profile should
take on this machine, so nobody waits an hour without knowing it, or kills a build that is on time; after the
build, one line setting the estimate beside the time it took.

`python -m analysis.tools.estimate --profile default --cores 2` prints the runs and training jobs still to do (the
same packing plan the Snakefile makes, `analysis.pipeline.packing`), their arithmetic (model FLOP counts), this
machine's one-job matmul peak, and the time to expect:

    time of a job = epochs × steps × its step time + images evaluated × the time of one + the per-job overhead
    the build     = max(sum of the jobs' times / jobs at a time, the longest job) × PARALLEL_SLOWDOWN

A job's step time comes, in this order of preference, from
1. the records of this profile's finished runs of its experiment, on this machine (their FLOP rate);
2. the step probe (`analysis.tools.step_probe`): a few real training steps of its configuration on synthetic images,
   the costliest configurations first, within PROBE_BUDGET_S;
3. the FLOP rate the probe measured for configurations of the same model kind;
4. a declared share of the matmul peak.
Earlier versions used only 4; its share, declared on one machine, was 1.6x off on another (issue 29).

An estimate never blocks the build: any failure prints one "no time estimate (<reason>)" line and exits 0.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from analysis.pipeline.config import CONFIG_PATH, PROFILES, Run, load_config
from analysis.pipeline.plan import study_runs
from analysis.tools.step_probe import StepTiming, time_pack, timing_key
from analysis.data.datasets import CLASSES, SPLIT_IMAGES
from analysis.engine.models import build_model, flops_per_sample
from analysis.pipeline.packing import Pack, pack_size_of, plan_packs, run_complete, seedless_key
from analysis.data.splits import n_classes

#: both data sets have about 6,000 training and 1,000 test images per class (analysis.data.datasets.SPLIT_IMAGES)
TRAIN_IMAGES, TEST_IMAGES = SPLIT_IMAGES["train"], SPLIT_IMAGES["test"]
#: The last resort (no finished run, configuration not probed, no probed configuration of its kind): the project's
#: notes measured the default study end to end at 37 % of its machine's peak (0.355 PFLOP in 42.3 min on a
#: 382 GFLOP/s two-core machine).
DEFAULT_EFFICIENCY = 0.37
#: The spread declared for the estimate, either way: builds of the same study measured 46.4 and 49.9 min on one
#: machine, and the probe times each configuration alone for a fraction of a second.
RANGE = 0.30
#: Median time of a training job outside its training loop (start-up, data load, writes), measured on the
#: default study's jobs; added to every job (run records time the training loop only).
JOB_OVERHEAD_S = 5.0
#: Two jobs at a time run slower than one alone (shared cache and memory bandwidth), and the probe times one alone.
#: A declared allowance, not a measurement: it was set before the build that checks the estimate (README table).
PARALLEL_SLOWDOWN = 1.10
#: The matmul probe: best of five stretches at each size (1024 and 2048, the benchmark's), about 1 s in all.
PROBE_SIZES, PROBE_SECONDS = (1024, 2048), 0.5
#: Wall time the step probe may take (about 1 % of a default build): the costliest configurations are timed first,
#: the rest use their kind's rate.
PROBE_BUDGET_S = 45.0


class NoEstimate(RuntimeError):
    """An estimate cannot be made honestly (the message says why)."""


@dataclass(frozen=True)
class SplitSizes:
    """Images a run trains on per epoch, and evaluates after each epoch."""

    train: int
    val: int
    test: int


def split_sizes(spec: dict) -> SplitSizes:
    """The sizes analysis.data.splits.load_splits makes, from the spec alone (no data loaded): `classes` keeps
    k/10 of each part and `train_per_class` caps each class, both as if classes were balanced (Fashion-MNIST's
    are, exactly; MNIST's within 10 %); then `train_subset`, the validation fraction and `test_subset`."""
    kept = len(spec["classes"]) if spec.get("classes") else CLASSES
    pool = TRAIN_IMAGES * kept // CLASSES
    if spec.get("train_per_class"):
        pool = min(pool, spec["train_per_class"] * kept)
    if spec.get("train_subset"):
        pool = min(pool, spec["train_subset"])
    n_val = int(round(pool * spec.get("validation_split", 0.0)))
    test = TEST_IMAGES * kept // CLASSES
    return SplitSizes(pool - n_val, n_val, min(test, spec.get("test_subset") or test))


@dataclass(frozen=True)
class Work:
    """FLOPs of one run: its training passes and its evaluations (forward only)."""

    train: float
    evaluate: float

    @property
    def total(self) -> float:
        return self.train + self.evaluate


def run_work(spec: dict, train_flops_per_sample: float) -> Work:
    """Epochs × training images at the training cost (forward + both gradients,
    analysis.engine.models.flops_per_sample); val + test after each epoch and before the first, and the test set at
    every `track_every` step, at the forward cost (a third). Probes and divergence are left out: they change the
    arithmetic by little."""
    sizes, epochs = split_sizes(spec), spec["epochs"]
    forward = train_flops_per_sample / 3
    evaluations = (epochs + 1) * (sizes.val + sizes.test)
    track_every = spec.get("probes", {}).get("track_every", 0)
    if track_every:
        steps = epochs * math.ceil(sizes.train / spec["batch_size"])
        evaluations += (1 + steps // track_every) * sizes.test
    return Work(epochs * sizes.train * train_flops_per_sample, evaluations * forward)


class ModelFlops:
    """Training FLOPs per sample of a spec's network, built once per seedless spec (a profile has ~60)."""

    def __init__(self) -> None:
        self._cache: dict[str, float] = {}

    def __call__(self, spec: dict) -> float:
        key = seedless_key(spec)
        if key not in self._cache:
            self._cache[key] = flops_per_sample(build_model(spec, n_classes=n_classes(spec)))
        return self._cache[key]


@dataclass
class Calibration:
    """Measured efficiencies (share of this machine's one-job peak) per experiment, from `records` finished runs."""

    by_experiment: dict[str, float] = field(default_factory=dict)
    records: int = 0

    def efficiency(self, run: Run) -> float | None:
        """The first of the run's experiments with finished runs, else None. Not an average over other
        experiments: the first runs to finish are no sample of the rest (full-batch Adam runs at twice the share
        of the small CNNs), and the declared default is the whole study's."""
        for name in run.experiments:
            if name in self.by_experiment:
                return self.by_experiment[name]
        return None


def record_rate(record: dict, threads: int) -> tuple[float, float] | None:
    """(GFLOP, seconds) a finished run's training loop took, or None if its record cannot say for this
    setting. A packed member's time is its pack's, shared by K members: its seconds are its own FLOPs
    at the pack's rate (`pack_gflops_per_s`; `gflops_per_s` is the member's FLOPs over the whole pack's time)."""
    timing, env = record.get("timing") or {}, record.get("environment") or {}
    rate = timing.get("pack_gflops_per_s") or timing.get("gflops_per_s")
    if not rate or not timing.get("gflops_per_s") or env.get("device") != "cpu" or env.get("threads") != threads:
        return None
    gflop = timing["gflops_per_s"] * timing["train_seconds"]
    return gflop, gflop / rate


def read_records(runs_dir: Path) -> dict[str, dict]:
    """Every readable record.json under runs_dir, by run id (a damaged one is skipped, not fatal)."""
    records = {}
    for path in sorted(Path(runs_dir).glob("*/record.json")):
        try:
            records[path.parent.name] = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
    return records


def calibrate(records: dict[str, dict], runs: dict[str, Run], peak: float, threads: int) -> Calibration:
    """FLOP-weighted efficiency (total FLOPs over total time, over the peak) of each experiment with finished runs
    of this profile (runs of other profiles train on other subsets and epochs, so they are left out)."""
    totals: dict[str, list[float]] = {}
    used = 0
    for rid, record in records.items():
        measured = record_rate(record, threads) if rid in runs else None
        if measured is None:
            continue
        used += 1
        for name in runs[rid].experiments:
            total = totals.setdefault(name, [0.0, 0.0])
            total[0], total[1] = total[0] + measured[0], total[1] + measured[1]
    # capped at the peak: a higher share only means the probe ran while the machine was busy
    return Calibration({name: min(1.0, gflop / seconds / peak) for name, (gflop, seconds) in totals.items()
                        if seconds > 0}, used)


@dataclass
class Probe:
    """What the step probe measured: step timings per configuration (`step_probe.timing_key`), the FLOP rate of
    the timed configurations per model kind, and how long the probing took."""

    timings: dict[tuple, StepTiming] = field(default_factory=dict)
    kind_rate: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    keys: int = 0


def model_kind(run: Run) -> str:
    """What the fallback rate is shared by: the model kind, and whether a step takes the whole training set
    (a full batch runs near the matmul peak, a batch of 32 far below it)."""
    full = run.spec["batch_size"] >= split_sizes(run.spec).train
    return f"{run.spec['model']['kind']}{' full batch' if full else ''}"


def pack_key(pack: Pack) -> tuple:
    return timing_key([run.spec for run in pack.runs], split_sizes(pack.runs[0].spec).train)


def timed_seconds(pack: Pack, timing: StepTiming) -> float:
    """A pack's training loop from its step timing: every epoch's steps, and every image it evaluates."""
    spec = pack.runs[0].spec
    sizes = split_sizes(spec)
    steps = math.ceil(sizes.train / spec["batch_size"])
    evaluated = (spec["epochs"] + 1) * (sizes.val + sizes.test)
    track_every = spec.get("probes", {}).get("track_every", 0)
    if track_every:
        evaluated += (1 + spec["epochs"] * steps // track_every) * sizes.test
    return spec["epochs"] * steps * timing.step + evaluated * timing.eval_image


def probe_steps(packs: list[Pack], work: Callable[[Run], Work], peak: float,
                timer: Callable[[list[dict], int, int], StepTiming], threads: int,
                budget: float = PROBE_BUDGET_S) -> Probe:
    """Time one pack of each configuration, the costliest (by FLOPs) first, until `budget` seconds are spent;
    then the FLOP rate of the timed ones per model kind, for the configurations left untimed."""
    groups: dict[tuple, list[Pack]] = {}
    for pack in packs:
        groups.setdefault(pack_key(pack), []).append(pack)
    flops = {key: sum(work(run).total for p in group for run in p.runs) for key, group in groups.items()}
    probe, started = Probe(keys=len(groups)), time.perf_counter()
    totals: dict[str, list[float]] = {}
    for key in sorted(groups, key=flops.get, reverse=True):
        if probe.timings and time.perf_counter() - started >= budget:
            break  # the costliest configuration is always timed
        first = groups[key][0]
        timing = probe.timings[key] = timer([run.spec for run in first.runs], split_sizes(first.runs[0].spec).train,
                                            threads)
        total = totals.setdefault(model_kind(first.runs[0]), [0.0, 0.0])
        total[0] += sum(work(run).total for run in first.runs)
        total[1] += timed_seconds(first, timing)
    probe.seconds = time.perf_counter() - started
    probe.kind_rate = {kind: f / s for kind, (f, s) in totals.items() if s > 0}
    return probe


def job_seconds(pack: Pack, work: Callable[[Run], Work], peak: float, calibration: Calibration,
                probe: Probe | None = None) -> float:
    """A training job's time, from the best source it has (the module's docstring lists them in order)."""
    flops = sum(work(run).total for run in pack.runs)
    efficiency = calibration.efficiency(pack.runs[0])
    if efficiency is not None:
        return flops / (efficiency * peak * 1e9) + JOB_OVERHEAD_S
    probe = probe or Probe()
    timing = probe.timings.get(pack_key(pack))
    if timing is not None:
        return timed_seconds(pack, timing) + JOB_OVERHEAD_S
    rate = probe.kind_rate.get(model_kind(pack.runs[0])) or DEFAULT_EFFICIENCY * peak * 1e9
    return flops / rate + JOB_OVERHEAD_S


def build_seconds(jobs: list[float], at_a_time: int) -> float:
    """Jobs spread over `at_a_time` slots, but never shorter than the longest job (it runs on one slot); slower
    by PARALLEL_SLOWDOWN when slots run side by side."""
    slowdown = PARALLEL_SLOWDOWN if at_a_time > 1 and len(jobs) > 1 else 1.0
    return max(sum(jobs) / at_a_time, max(jobs, default=0.0)) * slowdown


@dataclass
class Estimate:
    """What the printed lines say."""

    profile: str
    runs: int
    done: int
    jobs: int
    flops: float
    peak: float
    threads: int
    at_a_time: int
    calibration: Calibration
    seconds: float
    probe: Probe = field(default_factory=Probe)


def probe_peak(threads: int) -> float:
    """This machine's fp32 matmul GFLOP/s with the threads one training job gets (restored afterwards): the best
    over the benchmark's sizes, each warm and the best of five stretches."""
    from analysis.tools.bench import matmul_gflops

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return max(matmul_gflops(size, PROBE_SECONDS) for size in PROBE_SIZES)
    finally:
        torch.set_num_threads(before)


def check_cpu(config: dict) -> None:
    """The efficiencies are CPU measurements: a GPU build would be estimated wrongly, so it is not estimated."""
    device = config.get("device", "auto")
    if device == "cuda" or (device == "auto" and torch.cuda.is_available()):
        raise NoEstimate("training runs on a GPU; the estimate covers CPU builds only")


def estimate(config: dict, profile: str, cores: int, runs_dir: Path,
             peak: Callable[[int], float] | None = None,
             timer: Callable[[list[dict], int, int], StepTiming] | None = None,
             budget: float = PROBE_BUDGET_S) -> Estimate:
    """Plan the profile's jobs as the Snakefile does, and time those still to do on this machine (`peak`: the
    one-job GFLOP/s for a number of threads, by default the matmul probe; `timer`: a pack's step timing, by
    default `step_probe.time_pack`)."""
    check_cpu(config)
    runs = study_runs(config, profile)
    complete = run_complete(runs_dir)
    todo = [p for p in plan_packs(runs, pack_size_of(config), complete) if not all(map(complete, p.run_ids))]
    threads = config.get("threads_per_job", 1)
    gflops = (peak or probe_peak)(threads)
    if not gflops > 0:
        raise NoEstimate(f"the matmul probe measured {gflops} GFLOP/s")
    calibration = calibrate(read_records(runs_dir), runs, gflops, threads)
    flops_of = ModelFlops()

    def work(run: Run) -> Work:
        return run_work(run.spec, flops_of(run.spec))

    uncalibrated = [p for p in todo if calibration.efficiency(p.runs[0]) is None]
    probe = probe_steps(uncalibrated, work, gflops, timer or time_pack, threads, budget)
    at_a_time = max(1, cores // threads)
    jobs = [job_seconds(p, work, gflops, calibration, probe) for p in todo]
    return Estimate(profile, len(runs), sum(map(complete, runs)), len(todo),
                    sum(work(run).total for pack in todo for run in pack.runs), gflops, threads, at_a_time,
                    calibration, build_seconds(jobs, at_a_time), probe)


def duration(seconds: float, low: float | None = None, high: float | None = None) -> str:
    """Minutes up to two hours, then hours: the precision an estimate has. With a range, its ends in the unit of
    the estimate: "45 min (range 32–58 min)"."""
    unit, size, digits = ("min", 60, 0) if seconds < 7200 else ("h", 3600, 1)
    text = f"{seconds / size:.{digits}f} {unit}"
    return text if low is None else f"{text} (range {low / size:.{digits}f}–{high / size:.{digits}f} {unit})"


def percent(share: float) -> str:
    return f"{share * 100:.0f} %"


def flop_text(flops: float) -> str:
    return f"{flops / 1e15:.2f} PFLOP" if flops >= 1e13 else f"{flops / 1e12:.2f} TFLOP"


def efficiency_text(calibration: Calibration) -> str:
    """Where the shares of the peak came from: the reader can judge the estimate by it."""
    if not calibration.by_experiment:
        return "no run of this profile has finished yet"
    low, high = min(calibration.by_experiment.values()), max(calibration.by_experiment.values())
    return (f"{len(calibration.by_experiment)} experiments at {low * 100:.0f}–{percent(high)} of that peak "
            f"(from {calibration.records} finished runs)")


def probe_text(probe: Probe) -> str:
    """How many configurations the step probe timed, in how long: the rest ran at their kind's rate."""
    if not probe.keys:
        return "nothing left to probe"
    rest = probe.keys - len(probe.timings)
    return (f"{len(probe.timings)} of {probe.keys} configurations timed by a few real steps on synthetic images"
            f" ({probe.seconds:.0f} s)" + (f", {rest} more at their model kind's rate" if rest else ""))


def report_lines(est: Estimate) -> list[str]:
    """The lines `make` prints before it trains."""
    threads = "one thread" if est.threads == 1 else f"{est.threads} threads"
    lines = [f"{est.profile} profile: {est.runs} runs, {est.jobs} training jobs to run; "
             f"{est.done} runs already done (cached)"]
    if not est.jobs:
        return [f"nnlab: {line}" for line in lines + ["nothing to train: every run is done"]]
    lines += [f"training work still to do: {flop_text(est.flops)} (training passes + per-epoch evaluation)",
              f"this machine: fp32 matmul {est.peak:.0f} GFLOP/s on {threads}, "
              f"{est.at_a_time} jobs at a time",
              f"step times: {efficiency_text(est.calibration)}; {probe_text(est.probe)}; "
              f"+ {JOB_OVERHEAD_S:.0f} s a job",
              f"expect about {duration(est.seconds, est.seconds * (1 - RANGE), est.seconds * (1 + RANGE))}"
              " of training before the site; measured builds: see README"]
    return [f"nnlab: {line}" for line in lines]


def save(est: Estimate, path: Path) -> None:
    """What `--measured` compares the build with: the estimate, its range and when it was made."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"profile": est.profile, "jobs": est.jobs, "seconds": est.seconds,
                                "low": est.seconds * (1 - RANGE), "high": est.seconds * (1 + RANGE),
                                "made_at": time.time()}, indent=1))


def training_span(runs_dir: Path, since: float) -> float | None:
    """Seconds from `since` to the last record.json written after it: when this build's training ended."""
    times = [p.stat().st_mtime for p in Path(runs_dir).glob("*/record.json") if p.stat().st_mtime >= since]
    return max(times) - since if times else None


def measured_line(saved: dict, runs_dir: Path, now: float) -> str:
    """The line `make` prints after the build: the estimate beside the time the build took."""
    estimate = duration(saved["seconds"], saved["low"], saved["high"])
    trained = training_span(runs_dir, saved["made_at"])
    if not saved["jobs"] or trained is None:
        return f"nnlab: this build trained nothing (the estimate had {saved['jobs']} jobs to run)"
    inside = "inside" if saved["low"] <= trained <= saved["high"] else "OUTSIDE"
    return (f"nnlab: estimated {estimate} of training; measured {duration(trained)} to the last run's record "
            f"({inside} the range), {duration(now - saved['made_at'])} to the end of the build")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Print the training time to expect for a profile on this machine.")
    parser.add_argument("--profile", default="default", choices=PROFILES)
    parser.add_argument("--config", type=Path, default=CONFIG_PATH)
    parser.add_argument("--cores", type=int, default=None, help="jobs' cores, as given to snakemake (default: all)")
    parser.add_argument("--runs-dir", type=Path, default=Path("results/runs"))
    parser.add_argument("--save", type=Path, default=None, help="also write the estimate to this JSON file")
    parser.add_argument("--measured", type=Path, default=None,
                        help="instead, compare the estimate saved in this file with the build that followed it")
    return parser.parse_args(argv)


def estimate_lines(args: argparse.Namespace) -> list[str]:
    if args.measured is not None:
        if not args.measured.is_file():
            return [f"nnlab: no estimate was saved in {args.measured} before this build: nothing to compare"]
        return [measured_line(json.loads(args.measured.read_text()), args.runs_dir, time.time())]
    if args.save is not None:
        args.save.unlink(missing_ok=True)  # a failed estimate must not leave an older one to compare with
    config = load_config(args.config, {"profile": args.profile})
    cores = args.cores or os.cpu_count() or 1
    if cores < 1:
        raise NoEstimate(f"--cores {cores}")
    result = estimate(config, args.profile, cores, args.runs_dir)
    if args.save is not None:
        save(result, args.save)
    return report_lines(result)


def main(argv: list[str] | None = None) -> int:
    """Print the estimate (or its comparison with the build), or one line saying why there is none; always exit 0
    (the build goes on)."""
    args = parse_args(argv)
    try:
        lines = estimate_lines(args)
    except Exception as error:  # noqa: BLE001 - an estimate must never stop the build it precedes
        first = (str(error).splitlines() or [""])[0]
        lines = [f"nnlab: no time estimate ({type(error).__name__}{': ' * bool(first)}{first})"]
    print("\n".join(lines), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
