"""Train the runs of one pack (specs that differ only in their seed) and write each run's files.

One Snakemake job = one call of `train_pack`: K runs computed as one packed network
(`analysis.engine.packed`); a run trained alone is a pack of one, through the same code. The loop keeps
everything on the device: batches are index slices of resident tensors, running losses and
accuracies are accumulated as device tensors, and the host reads them only every `log_every`
batches (to check for divergence and update the progress bar) and at the end of an epoch. A
member whose loss turns NaN/inf is recorded as "diverged" from that step on, alone: its pack-mates
keep training (their parameters, batches and optimiser state never mix with its), its files are
still written, and the rest of the DAG carries on.
"""
from __future__ import annotations

import json
import math
import os
import resource
import sys
import time
from dataclasses import dataclass, field
from typing import Iterator
from pathlib import Path

import pandas as pd
import torch
from tqdm import tqdm

from analysis.data.datasets import DamagedDataError
from analysis.store.files import atomic_write
from analysis.store.layout import RUN_TABLES
from analysis.engine.mlp_step import HandBackward
from analysis.engine.optim import make_optimizer
from analysis.engine.schedules import LRSchedule, current_lr, make_schedule
from analysis.engine.models import activation_layers, build_model, evaluating, flops_per_sample, parameter_count
from analysis.engine.packed import PackedNet, member_losses, member_penalties
from analysis.store.run_files import file_digests
from analysis.engine.probes import GradientProbe, activation_snapshot, member_activations, track_snapshot
from analysis.engine.environment import environment
from analysis.data.splits import Splits, load_splits, n_classes


def resolve_device(requested: str = "auto") -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device: cuda was requested but torch sees no CUDA device")
    return torch.device(requested)


def deterministic_cpu() -> None:
    """Deterministic kernels, without the two costs `torch.use_deterministic_algorithms` adds here.

    - It imports torch._inductor to set inductor's flag: 1.4 s per run, and nnlab never compiles.
      The pinned torch (2.13.0) sets the kernel switch through the same `_C` call used here.
    - It also fills every new tensor with NaN (a debugging aid against reading uninitialised
      memory): one more pass over each matmul output, about 5 % of an MLP step.
    """
    setter = getattr(torch._C, "_set_deterministic_algorithms", None)
    if setter is None:  # another torch: the public call, at its price
        torch.use_deterministic_algorithms(True)
    else:
        setter(True, warn_only=False)
    torch.utils.deterministic.fill_uninitialized_memory = False


def seedless(spec: dict) -> dict:
    """What pack-mates share: the spec without its seed."""
    return {k: v for k, v in spec.items() if k != "seed"}


def train_step(model: PackedNet, optimizer: torch.optim.Optimizer, xb: torch.Tensor, yb: torch.Tensor,
               hand: HandBackward | None = None, penalty: dict | None = None, loss: dict | None = None
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """One optimisation step of every member; returns the logits [K, B, n], each member's data loss [K]
    and penalty [K] (None without one), all detached from the graph. With `hand` (a plain MLP) the
    hand-written pass replaces autograd. The benchmark calls this too, so its equivalence check covers
    the step nnlab really takes."""
    penalties = None
    if hand is not None:
        out, losses = hand.step(xb, yb)  # overwrites last step's gradients in place
    else:
        optimizer.zero_grad(set_to_none=True)
        out = model(xb)
        losses = member_losses(out, yb, loss=loss)  # the data term; penalties are added to the objective only
        penalties = member_penalties(model, penalty)
        objective = losses.sum() if penalties is None else (losses + penalties).sum()
        objective.backward()
    optimizer.step()
    return out.detach(), losses.detach(), (penalties.detach() if penalties is not None else None)


@torch.no_grad()
def evaluate(model: PackedNet, split, batch_size: int, loss: dict | None = None) -> tuple[list[float], list[float]]:
    """Each member's mean loss (the one it trains with) and accuracy over a split, in eval mode."""
    with evaluating(model):
        k = model.members
        totals = [torch.zeros((), device=split.x.device) for _ in range(k)]
        correct = torch.zeros((k,), device=split.x.device, dtype=torch.long)
        for start in range(0, len(split), batch_size):
            xb, yb = split.x[start:start + batch_size], split.y[start:start + batch_size]
            out = model(model.replicate(xb))
            for m, value in enumerate(member_losses(out, yb, reduction="sum", loss=loss)):
                totals[m] += value
            correct += (out.argmax(2) == yb).sum(1)
    n = len(split)
    return [float(v) / n for v in totals], [int(c) / n for c in correct.tolist()]


@dataclass
class RunResult:
    """One member's measurements, as its per-run files hold them."""

    status: str = "ok"
    diverged_at: dict | None = None
    epochs: list[dict] = field(default_factory=list)
    grads: pd.DataFrame | None = None
    act_hist: list[pd.DataFrame] = field(default_factory=list)
    act_summary: list[pd.DataFrame] = field(default_factory=list)
    track: list[pd.DataFrame] = field(default_factory=list)
    batch_losses: list[torch.Tensor] = field(default_factory=list)  # one CPU tensor per epoch
    train_seconds: float = 0.0
    samples: int = 0
    parameters: dict | None = None
    flops_per_sample: float = 0.0
    backward: str = "autograd"  # or "hand" (analysis.engine.mlp_step: same gradients, less overhead)
    pack_size: int = 1

    @property
    def active(self) -> bool:
        return self.status == "ok"


_RESULT_FIELDS = ("status", "diverged_at", "epochs", "act_hist", "act_summary", "track", "batch_losses",
                  "train_seconds", "samples")
#: a checkpoint is written after the first epoch, then at most this often (full-batch runs have
#: hundreds of one-step "epochs": saving after each would cost more than the steps)
CHECKPOINT_EVERY_S = 20.0
METRIC_COLUMNS = ("train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc", "train_penalty")


@dataclass
class TrainingPack:
    """A pack while it trains: the members' specs, the packed network and its state (the plan of which runs share
    a job is analysis.pipeline.packing.Pack)."""

    specs: list[dict]
    splits: Splits
    model: PackedNet
    optimizer: torch.optim.Optimizer
    hand: HandBackward | None
    grad_probe: GradientProbe
    shuffles: list[torch.Generator]
    dropout_rngs: list[torch.Generator]
    results: list[RunResult]
    device: torch.device
    step: int = 0
    schedule: LRSchedule | None = None

    @property
    def spec(self) -> dict:
        return self.specs[0]

    @property
    def probes(self) -> dict:
        return self.spec.get("probes", {})

    @property
    def full_batch(self) -> bool:
        """Gradient descent on the whole set: no shuffle, no gather copy."""
        return self.spec["batch_size"] >= len(self.splits.train)

    def members(self) -> list[tuple[int, RunResult]]:
        """The members still training (a diverged one is only carried along)."""
        return [(k, r) for k, r in enumerate(self.results) if r.active]


def build_pack(specs: list[dict], data_path: Path | str, device: torch.device,
               hand_backward: bool = True) -> TrainingPack:
    """Build every member under its own seed (as a single run would be built), then pack them."""
    if any(seedless(s) != seedless(specs[0]) for s in specs):
        raise ValueError("a pack holds runs that differ only in their seed")
    if device.type == "cpu":
        deterministic_cpu()
    return pack_on(specs, load_splits(data_path, specs[0], device), device, hand_backward)


def pack_on(specs: list[dict], splits: Splits, device: torch.device, hand_backward: bool = True) -> TrainingPack:
    """The pack of `specs` training on `splits`: the time estimate's step probe builds one on synthetic images."""
    members, rngs = [], []
    for spec in specs:
        torch.manual_seed(spec["seed"])
        members.append(build_model(spec, n_classes=n_classes(spec)))
        # dropout draws continue from where this run's global generator stands after its initialisation
        rng = torch.Generator(device) if device.type != "cpu" else torch.Generator()
        rngs.append(rng.manual_seed(spec["seed"]) if device.type != "cpu" else _copy_of_global(rng))
    model = PackedNet(members, rngs).to(device)
    hand = (HandBackward(model) if hand_backward and HandBackward.applies(model, specs[0].get("penalty"),
                                                                           specs[0].get("loss")) else None)
    in_shape = tuple(splits.train.x.shape[1:])
    results = [RunResult(backward="hand" if hand is not None else "autograd", pack_size=len(specs),
                         parameters=parameter_count(m), flops_per_sample=flops_per_sample(m, in_shape))
               for m in members]
    optimizer = make_optimizer(specs[0], model.parameters())
    steps_per_epoch = math.ceil(len(splits.train) / specs[0]["batch_size"])
    return TrainingPack(specs, splits, model, optimizer, hand,
                GradientProbe(model, specs[0].get("probes", {}).get("grad_every", 0)),
                [torch.Generator().manual_seed(s["seed"]) for s in specs], rngs, results, device,
                schedule=make_schedule(specs[0], optimizer, steps_per_epoch))


def _copy_of_global(rng: torch.Generator) -> torch.Generator:
    rng.set_state(torch.get_rng_state())
    return rng


def snapshot(pack: TrainingPack, epoch: int) -> None:
    """Activation histograms of every active member, at the epochs the probes ask for."""
    if epoch not in set(pack.probes.get("activation_epochs", [])):
        return
    functions = {name: m.name for name, m in activation_layers(pack.model)}
    captured = member_activations(pack.model, pack.splits.test.x[: pack.probes.get("activation_batch", 1000)])
    for k, result in pack.members():
        hist, summary = activation_snapshot(captured[k], functions, epoch, pack.probes.get("activation_bins", 60))
        result.act_hist.append(hist)
        result.act_summary.append(summary)


def track(pack: TrainingPack) -> None:
    """Every `track_every` steps: test accuracy and one unit's input percentiles per layer (BN paper, Fig. 1)."""
    every = pack.probes.get("track_every", 0)
    if not every or pack.step % every:
        return
    _, accs = evaluate(pack.model, pack.splits.test, pack.spec["eval_batch_size"], pack.spec.get("loss"))
    captured = member_activations(pack.model, pack.splits.test.x[: pack.probes.get("activation_batch", 1000)])
    for k, result in pack.members():
        result.track.append(track_snapshot(captured[k], pack.step, accs[k]))


def eval_rows(pack: TrainingPack, epoch: int, train: list[tuple[float, float, float]], seconds: float) -> list[dict]:
    """Each member's epoch row: (train loss, train accuracy, penalty) given, val and test measured."""
    measured = {}
    for name, split in (("val", pack.splits.val), ("test", pack.splits.test)):
        if split is not None:
            measured[name] = evaluate(pack.model, split, pack.spec["eval_batch_size"], pack.spec.get("loss"))
    rows = []
    for k, (train_loss, train_acc, penalty) in enumerate(train):
        row = {"epoch": epoch, "train_loss": train_loss, "train_acc": train_acc}
        for name in ("val", "test"):
            losses, accs = measured.get(name, ([math.nan] * len(train), [math.nan] * len(train)))
            row[f"{name}_loss"], row[f"{name}_acc"] = losses[k], accs[k]
        row["train_penalty"] = penalty
        row["lr"] = current_lr(pack.optimizer)
        row["seconds"] = seconds
        row["samples_per_s"] = (len(pack.splits.train) / seconds) if seconds > 0 else math.nan
        rows.append(row)
    return rows


def diverged_row(epoch: int, seconds: float, lr: float) -> dict:
    """The epoch row of a member that diverged during `epoch`: no metric is meaningful (the rate still is)."""
    return {"epoch": epoch, **{c: math.nan for c in METRIC_COLUMNS}, "lr": lr, "seconds": seconds,
            "samples_per_s": math.nan}


def batches(pack: TrainingPack, steps: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Each step's packed input and targets [K, B]: every member through its own shuffled order."""
    train, bs = pack.splits.train, pack.spec["batch_size"]
    k = len(pack.specs)
    if pack.full_batch:
        xs = pack.model.pack_inputs(train.x.unsqueeze(0).expand(k, *train.x.shape))
        for _ in range(steps):
            yield xs, train.y
        return
    orders = torch.stack([torch.randperm(len(train), generator=g) for g in pack.shuffles]).to(pack.device)
    for b in range(steps):
        idx = orders[:, b * bs:(b + 1) * bs]
        x, y = train.batch(idx.reshape(-1))
        yield pack.model.pack_inputs(x.view(k, idx.shape[1], *x.shape[1:])), y.view(k, -1)


def check_divergence(pack: TrainingPack, epoch: int, losses: torch.Tensor, loss_sum: torch.Tensor) -> list[int]:
    """Members whose last batch loss or running sum is NaN/inf (one host sync); they are marked diverged."""
    current, sums = losses.tolist(), loss_sum.tolist()
    diverged = []
    for k, result in pack.members():
        if not (math.isfinite(current[k]) and math.isfinite(sums[k])):
            result.status = "diverged"
            result.diverged_at = {"epoch": epoch, "step": pack.step, "loss": current[k]}
            diverged.append(k)
    return diverged


def train_epoch(pack: TrainingPack, epoch: int, progress: bool) -> None:
    """One pass over the training set for every active member, then its epoch row and probes."""
    n_train, bs = len(pack.splits.train), pack.spec["batch_size"]
    steps, log_every = math.ceil(n_train / bs), pack.spec.get("log_every", 50)
    k = len(pack.specs)
    device = pack.device
    loss_sum = torch.zeros((k,), device=device)
    penalty_sum = torch.zeros((k,), device=device)
    correct = torch.zeros((k,), device=device, dtype=torch.long)
    batch_loss = torch.full((k, steps), math.nan, device=device)  # filled on the device
    stopped = {}  # member -> batches it trained in this epoch before diverging
    penalised = False
    started = time.perf_counter()
    bar = tqdm(total=steps, desc=f"epoch {epoch}/{pack.spec['epochs']}" + (f" ({k} runs packed)" if k > 1 else ""),
               unit="batch", file=sys.stderr, disable=not progress or pack.full_batch,
               mininterval=1.0 if sys.stderr.isatty() else 10.0)
    for b, (xb, yb) in enumerate(batches(pack, steps)):
        if pack.schedule is not None:
            pack.schedule.set(pack.step, epoch)
        out, losses, penalties = train_step(pack.model, pack.optimizer, xb, yb, pack.hand, pack.spec.get("penalty"),
                                            pack.spec.get("loss"))
        n = yb.shape[-1]
        if penalties is not None:
            penalised = True
            penalty_sum += penalties * n
        pack.grad_probe.record(pack.step, epoch)  # after the step: it overwrites the spent gradients with |g|
        batch_loss[:, b] = losses
        loss_sum += losses * n
        correct += (out.argmax(2) == yb).sum(-1)
        pack.step += 1
        track(pack)
        if (b + 1) % log_every == 0 or b + 1 == steps:
            bar.set_postfix(loss=f"{float(losses[pack.members()[0][0]] if pack.members() else math.nan):.4f}",
                            refresh=False)
            bar.update((b + 1) - bar.n)
            for m in check_divergence(pack, epoch, losses, loss_sum):
                stopped[m] = b + 1
            if not pack.members():
                break
    bar.close()
    seconds = time.perf_counter() - started
    _close_epoch(pack, epoch, seconds, batch_loss.cpu(), stopped, steps,
                 [(float(loss_sum[m]) / n_train, float(correct[m]) / n_train,
                   float(penalty_sum[m]) / n_train if penalised else math.nan) for m in range(k)])


def _close_epoch(pack: TrainingPack, epoch: int, seconds: float, batch_loss: torch.Tensor, stopped: dict[int, int],
                 steps: int, train: list[tuple[float, float, float]]) -> None:
    """Book the epoch: batch losses, samples and time for everyone who trained in it; an epoch row
    for each member (NaN for one that diverged in it); then the activation snapshots."""
    n_train, bs = len(pack.splits.train), pack.spec["batch_size"]
    evaluated = eval_rows(pack, epoch, train, seconds) if pack.members() else []
    for k, result in enumerate(pack.results):
        if not result.active and k not in stopped:
            continue  # diverged in an earlier epoch
        done = stopped.get(k, steps)
        result.train_seconds += seconds
        result.samples += min(done * bs, n_train)  # samples trained on in this epoch
        result.batch_losses.append(batch_loss[k, :done].clone())
        result.epochs.append(diverged_row(epoch, seconds, current_lr(pack.optimizer)) if k in stopped
                             else evaluated[k])
    if pack.full_batch and pack.members() and (epoch % 20 == 0 or epoch == pack.spec["epochs"]):
        print(f"iteration {epoch}/{pack.spec['epochs']}: loss "
              + " ".join(f"{r.epochs[-1]['train_loss']:.4f}" for _, r in pack.members()), file=sys.stderr)
    snapshot(pack, epoch)


def save_checkpoint(path: Path, state: dict) -> None:
    """End-of-epoch state (model, optimizer, RNGs, probes, measurements so far), written atomically."""
    atomic_write(path, lambda p: torch.save(state, p))


def load_checkpoint(path: Path | None, specs: list[dict]) -> dict | None:
    """The checkpoint of this exact pack, or None (a checkpoint of another pack is ignored and replaced)."""
    if path is None or not path.is_file():
        return None
    try:
        state = torch.load(path, weights_only=False, map_location="cpu")
    except Exception as exc:  # noqa: BLE001 - a damaged checkpoint only costs the epochs it held
        print(f"ignoring unreadable checkpoint {path}: {exc}", file=sys.stderr)
        return None
    return state if state.get("specs") == specs else None


def capture(pack: TrainingPack, epoch: int) -> dict:
    """Everything a resumed pack needs to continue exactly where this one stands."""
    device = pack.device
    return {
        "specs": pack.specs, "epoch": epoch, "step": pack.step,
        "model": pack.model.state_dict(), "optimizer": pack.optimizer.state_dict(),
        "torch_rng": torch.get_rng_state(), "shuffle_rngs": [g.get_state() for g in pack.shuffles],
        "dropout_rngs": [g.get_state() for g in pack.dropout_rngs],
        "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
        "grad_probe": pack.grad_probe.state(),
        "schedule": pack.schedule.state_dict() if pack.schedule is not None else None,
        "results": [{key: getattr(r, key) for key in _RESULT_FIELDS} for r in pack.results],
    }


def restore(pack: TrainingPack, state: dict) -> int:
    """Put a pack back where `capture` left it; returns the last finished epoch."""
    pack.model.load_state_dict(state["model"])
    pack.optimizer.load_state_dict(state["optimizer"])
    if pack.schedule is not None:
        pack.schedule.load_state_dict(state["schedule"])
    torch.set_rng_state(state["torch_rng"])
    for generator, saved in zip(pack.shuffles + pack.dropout_rngs, state["shuffle_rngs"] + state["dropout_rngs"]):
        generator.set_state(saved)
    if pack.device.type == "cuda" and state.get("cuda_rng") is not None:
        torch.cuda.set_rng_state(state["cuda_rng"], pack.device)
    pack.grad_probe.load_state(state["grad_probe"], pack.device)
    for result, saved in zip(pack.results, state["results"]):
        for key in _RESULT_FIELDS:
            setattr(result, key, saved[key])
    pack.step = state["step"]
    return state["epoch"]


def start(pack: TrainingPack, checkpoint: Path | None) -> int:
    """Resume from this pack's checkpoint, or record epoch 0 (before any step); returns the first epoch to train."""
    state = load_checkpoint(checkpoint, pack.specs)
    if state is not None:
        done = restore(pack, state)
        print(f"resuming from checkpoint {checkpoint}: epochs 1-{done} done", file=sys.stderr)
        return done + 1
    snapshot(pack, 0)
    nan = (math.nan, math.nan, math.nan)
    for result, row in zip(pack.results, eval_rows(pack, 0, [nan] * len(pack.specs), 0.0)):
        result.epochs.append(row)
    track(pack)
    return 1


def train_pack(specs: list[dict], data_path: Path | str, device: torch.device, progress: bool = True,
               checkpoint: Path | None = None, hand_backward: bool = True) -> list[RunResult]:
    """Train the runs `specs` (differing only in their seed) together to completion or divergence; return
    each run's measurements, in order.

    With `checkpoint`, the state is saved after the first epoch and then at most every
    CHECKPOINT_EVERY_S, and a pack started again resumes after the last saved epoch, ending with the
    same metrics as an uninterrupted one (on CPU). Plain MLPs use the hand-written backward pass
    (`analysis.engine.mlp_step`) unless `hand_backward` is False; its gradients are bitwise autograd's.
    """
    return run_pack(build_pack(specs, data_path, device, hand_backward), progress, checkpoint)


def run_pack(pack: TrainingPack, progress: bool = True, checkpoint: Path | None = None) -> list[RunResult]:
    """Resume or start `pack`, train every epoch, and close each member's probes."""
    first = start(pack, checkpoint)
    pack.model.train()
    last_saved = -math.inf
    for epoch in range(first, pack.spec["epochs"] + 1):
        if not pack.members():
            break
        train_epoch(pack, epoch, progress)
        due = time.perf_counter() - last_saved >= CHECKPOINT_EVERY_S
        if checkpoint is not None and epoch < pack.spec["epochs"] and pack.members() and due:
            last_saved = time.perf_counter()
            save_checkpoint(checkpoint, capture(pack, epoch))
    for k, result in enumerate(pack.results):
        result.grads = pack.grad_probe.frame(k, result.diverged_at["step"] if result.diverged_at else None)
    return pack.results


def train_run(spec: dict, data_path: Path | str, device: torch.device, progress: bool = True,
              checkpoint: Path | None = None, hand_backward: bool = True) -> RunResult:
    """Train one spec alone: a pack of one."""
    return train_pack([spec], data_path, device, progress, checkpoint, hand_backward)[0]


HIST_COLUMNS = ["epoch", "layer", "layer_index", "kind", "bin_left", "bin_right", "count"]
SUMMARY_COLUMNS = ["epoch", "layer", "layer_index", "kind", "mean", "std", "p15", "p50", "p85", "saturated_fraction",
                   "dead_fraction"]
TRACK_COLUMNS = ["step", "layer", "layer_index", "unit", "p15", "p50", "p85", "test_acc"]


def _frames(parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


def run_frames(result: RunResult) -> dict[str, pd.DataFrame]:
    """The run's tables, keyed by the file stems of analysis.store.layout.RUN_TABLES."""
    losses = torch.cat(result.batch_losses).numpy() if result.batch_losses else []
    epochs = [e for e, chunk in enumerate(result.batch_losses, start=1) for _ in range(len(chunk))]
    frames = {
        "metrics": pd.DataFrame(result.epochs),
        "batches": pd.DataFrame({"step": range(len(losses)), "epoch": epochs, "loss": losses}),
        "grads": result.grads,
        "act_hist": _frames(result.act_hist, HIST_COLUMNS),
        "act_summary": _frames(result.act_summary, SUMMARY_COLUMNS),
        "track": _frames(result.track, TRACK_COLUMNS),
    }
    assert set(frames) == set(RUN_TABLES), "analysis.store.layout.RUN_TABLES and run_frames disagree"
    return frames


def peak_rss_mb() -> float:
    """This process's peak resident memory (Linux reports kilobytes)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run_record(run_id: str, spec: dict, result: RunResult, device: torch.device, threads: int,
               wall_seconds: float, pack: dict) -> dict:
    """record.json: the resolved spec, status, final metrics, timing, the pack and the environment."""
    final = result.epochs[-1]
    seconds = result.train_seconds
    return {
        "run_id": run_id,
        "status": result.status,
        "diverged_at": result.diverged_at,
        "spec": spec,
        "seed": spec["seed"],
        "final": {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in final.items()},
        "parameters": result.parameters,
        "timing": {
            "wall_seconds": round(wall_seconds, 3),
            # a packed run shares its pack's steps: its time is the pack's, its rate its own samples over it
            "train_seconds": round(seconds, 3),
            "samples_per_s": round(result.samples / seconds, 1) if seconds else None,
            # achieved training throughput: Linear/Conv multiply-adds x2 x3 (forward + both gradients);
            # compare with the machine's matmul peak (python -m analysis.tools.bench); a pack's is K times a member's
            "model_mflops_per_sample": round(result.flops_per_sample / 1e6, 3),
            "gflops_per_s": round(result.samples * result.flops_per_sample / seconds / 1e9, 2) if seconds else None,
            "pack_gflops_per_s": (round(pack["size"] * result.samples * result.flops_per_sample / seconds / 1e9, 2)
                                  if seconds else None),
            "backward": result.backward,
        },
        "pack": pack,
        "environment": environment(device, threads),
    }


def write_tables(run_id: str, result: RunResult, outdir: Path, log: str = "") -> None:
    """A run's Parquet tables and log: everything but record.json, which marks the run complete."""
    outdir.mkdir(parents=True, exist_ok=True)
    for stem, frame in run_frames(result).items():
        atomic_write(outdir / f"{stem}.parquet", lambda p, f=frame.assign(run_id=run_id): f.to_parquet(p, index=False))
    if log:
        atomic_write(outdir / "train.log", lambda p: p.write_text(log))


def write_record(run_id: str, spec: dict, result: RunResult, outdir: Path, device: torch.device, threads: int,
                 wall_seconds: float, pack: dict | None = None) -> None:
    """record.json, written last: its presence is what marks a run complete (analysis.pipeline.packing.run_complete)."""
    pack = pack or {"id": run_id, "size": 1, "members": [run_id], "peak_rss_mb": peak_rss_mb()}
    record = run_record(run_id, spec, result, device, threads, wall_seconds, pack)
    record["files"] = file_digests(outdir)  # what `make verify` and the DAG check the files against
    atomic_write(outdir / "record.json", lambda p: p.write_text(json.dumps(record, indent=2, default=float)))


def parse_args(argv: list[str] | None):
    import argparse

    parser = argparse.ArgumentParser(description="Train one nnlab pack: runs that differ only in their seed.")
    parser.add_argument("--run-id", action="append", required=True, help="a member's run id (repeat per member)")
    parser.add_argument("--spec", action="append", required=True, help="its resolved spec as JSON, in the same order")
    parser.add_argument("--pack-id", default=None, help="names the pack in the run records (default: the first run id)")
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--outdir", type=Path, default=None, help="a single run's folder")
    parser.add_argument("--runs-dir", type=Path, default=Path("results/runs"),
                        help="members go to <runs-dir>/<run-id>/")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--log", type=Path, default=None, help="the pack's log, copied into each run's train.log")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="end-of-epoch checkpoint file (outside the declared outputs); resumed if present")
    args = parser.parse_args(argv)
    if len(args.run_id) != len(args.spec):
        parser.error(f"{len(args.run_id)} --run-id but {len(args.spec)} --spec")
    if args.outdir is not None and len(args.run_id) > 1:
        parser.error("--outdir names one run's folder; a pack of several writes to --runs-dir")
    return args


def _check_ids(run_ids: list[str], specs: list[dict]) -> str | None:
    """The first problem with the members, or None: each spec must hash to its id, all share one seedless spec."""
    from analysis.store.run_ids import run_id as compute_id

    for rid, spec in zip(run_ids, specs):
        if compute_id(spec) != rid:
            return f"spec does not hash to run id {rid}"
    if any(seedless(s) != seedless(specs[0]) for s in specs):
        return "a pack holds runs that differ only in their seed"
    return None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    torch.set_num_threads(args.threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    specs = [json.loads(s) for s in args.spec]
    problem = _check_ids(args.run_id, specs)
    if problem:
        print(f"nnlab: {problem}", file=sys.stderr)
        return 2
    try:
        device = resolve_device(args.device)
    except RuntimeError as exc:
        print(f"nnlab: {exc} (set `device: auto` or `cpu` in config/config.yaml)", file=sys.stderr)
        return 2
    pack_id = args.pack_id or args.run_id[0]
    print(f"pack {pack_id}: {len(specs)} run(s) ({', '.join(args.run_id)}) on {device} with {args.threads} "
          f"thread(s): {json.dumps(seedless(specs[0]), sort_keys=True)}; seeds {[s['seed'] for s in specs]}",
          file=sys.stderr)
    try:
        results = train_pack(specs, args.data, device, progress=not args.no_progress, checkpoint=args.checkpoint)
    except DamagedDataError as exc:
        print(f"nnlab: {exc}", file=sys.stderr)
        return 1
    pack = {"id": pack_id, "size": len(specs), "members": args.run_id, "peak_rss_mb": peak_rss_mb()}
    for rid, spec, result in zip(args.run_id, specs, results):
        final = result.epochs[-1]
        print(f"run {rid} (seed {spec['seed']}): {result.status}; test acc {final['test_acc']:.4f}, "
              f"{result.train_seconds:.1f}s training", file=sys.stderr)
    sys.stderr.flush()
    log = args.log.read_text() if args.log is not None and args.log.is_file() else ""
    outdirs = [args.outdir if args.outdir is not None else args.runs_dir / rid for rid in args.run_id]
    try:  # every member's tables first, then the records: a failure leaves no member half-complete
        for rid, result, outdir in zip(args.run_id, results, outdirs):
            write_tables(rid, result, outdir, log)
        for rid, spec, result, outdir in zip(args.run_id, specs, results, outdirs):
            write_record(rid, spec, result, outdir, device, args.threads, time.perf_counter() - started, pack)
    except OSError as exc:
        print(f"nnlab: cannot write the outputs of pack {pack_id} ({', '.join(args.run_id)}): {exc}. "
              "A run without its record.json does not count as finished (the record is written last); free space "
              "and rerun: training resumes from the pack's last checkpoint (the final epoch is trained again).",
              file=sys.stderr)
        return 1
    if args.checkpoint is not None:
        args.checkpoint.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
