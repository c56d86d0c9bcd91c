"""How long one training step and one evaluated image of a pack take on this machine, measured by running the
pack's real training code (`analysis.engine.training`: hand or autograd pass, optimizer, penalty, gradient probe) for a
few steps on synthetic images.

Why not FLOPs over a matmul peak: the study's networks are small, so their steps are bound by per-step overhead
and memory traffic, not by the matmul units. The share of the peak they reach differed by 1.8x between two
machines of this kind (AMD EPYC and Intel Xeon, issue 29), so no share declared on one machine holds on another.
Timing the step itself needs no share at all. No data file is read: the estimate runs before the data step.
"""
from __future__ import annotations

import contextlib
import functools
import io
import math
import time
from dataclasses import dataclass

import torch

from analysis.data.splits import Split, Splits, n_classes

#: Time each configuration for about this long after a warm-up step, in 2 to 200 steps.
PROBE_SECONDS, MIN_STEPS, MAX_STEPS = 0.15, 2, 200
#: The probe's epochs close on an evaluation of this few images, so that the steps dominate their time.
EPOCH_TEST_IMAGES = 8
#: One evaluation batch of at most this many images gives the time per evaluated image.
EVAL_IMAGES = 250
#: Spec keys that do not change what a step computes, only its numbers: configurations differing in them alone
#: are timed once. Epochs and data sizes are counted by the estimate; tracking evaluations are timed as images.
TIMING_FREE_KEYS = ("seed", "lr", "init", "init_std", "epochs", "split_seed", "normalise", "log_every", "dataset",
                    "train_subset", "test_subset", "validation_split", "train_per_class", "schedule")


@dataclass(frozen=True)
class StepTiming:
    """Seconds of one training step of the whole pack, and of evaluating one image with every member."""

    step: float
    eval_image: float


def timing_key(specs: list[dict], train_images: int) -> tuple:
    """What decides a pack's step time: the spec without its timing-free keys, the pack size, the classes kept
    (the output width), and the training set's size when one step takes it whole (full batch)."""
    spec = specs[0]
    kept = {k: v for k, v in spec.items() if k not in TIMING_FREE_KEYS and k != "probes"}
    grad_every = spec.get("probes", {}).get("grad_every", 0)
    full_batch = train_images if spec["batch_size"] >= train_images else None
    return repr(sorted(kept.items())), len(specs), n_classes(spec), grad_every, full_batch


@functools.lru_cache(maxsize=4)
def synthetic_split(images: int, classes: int) -> Split:
    """Standard-normal images and uniform labels: what a step costs does not depend on the pixels (kept for
    the next configuration of the same size: a full batch of 60,000 images takes 0.3 s to draw)."""
    generator = torch.Generator().manual_seed(0)
    return Split(torch.randn(images, 1, 28, 28, generator=generator),
                 torch.randint(0, classes, (images,), generator=generator))


def probe_specs(specs: list[dict]) -> list[dict]:
    """The pack's specs with the per-epoch extras the estimate counts apart (tracking, activation snapshots) off."""
    probes = {**specs[0].get("probes", {}), "track_every": 0, "activation_epochs": []}
    return [{**spec, "probes": probes} for spec in specs]


def _seconds(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def time_pack(specs: list[dict], train_images: int, threads: int) -> StepTiming:
    """Build the pack on synthetic images, train a warm-up epoch of one step, then a timed epoch sized to last
    about PROBE_SECONDS (its closing evaluation is of a few images only); then time one evaluation batch.
    Torch's threads are restored afterwards, and what the epochs print (a full batch's loss) is swallowed."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            return _time_pack(probe_specs(specs), train_images)
    finally:
        torch.set_num_threads(before)


def _time_pack(specs: list[dict], train_images: int) -> StepTiming:
    from analysis.engine.training import evaluate, pack_on, train_epoch

    spec, classes = specs[0], n_classes(specs[0])
    full_batch = spec["batch_size"] >= train_images
    batch = train_images if full_batch else spec["batch_size"]
    few = synthetic_split(EPOCH_TEST_IMAGES, classes)
    pack = pack_on(specs, Splits(synthetic_split(batch, classes), None, few), torch.device("cpu"))
    pack.model.train()

    def step_seconds(steps: int) -> float:
        pack.splits = Splits(synthetic_split(steps * batch, classes), None, few)
        return _seconds(lambda: train_epoch(pack, 1, progress=False)) / steps

    warm = step_seconds(1)
    steps = 1 if full_batch else int(min(MAX_STEPS, max(MIN_STEPS, math.ceil(PROBE_SECONDS / warm))))
    step = step_seconds(steps)
    test = synthetic_split(min(spec["eval_batch_size"], EVAL_IMAGES), classes)
    return StepTiming(step, _seconds(lambda: evaluate(pack.model, test, len(test), spec.get("loss"))) / len(test))
