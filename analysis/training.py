"""Train one run spec and write its per-run files (metrics, probes, record).

One Snakemake job = one call of `train_run`. The loop keeps everything on the device:
batches are index slices of resident tensors, running loss/accuracy are accumulated as
device tensors, and the host reads them only every `log_every` batches (to check for
divergence and update the progress bar) and at the end of an epoch. A NaN/inf loss
ends the run with status "diverged": its files are still written, so the rest of the
DAG carries on and the tables say what happened.
"""
from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch
from torch.nn import functional as F
from tqdm import tqdm

from analysis.layout import RUN_TABLES
from analysis.mlp_step import HandBackward
from analysis.models import build_model, flops_per_sample, parameter_count, penalty_terms, penalty_value
from analysis.probes import GradientProbe, activation_snapshot, track_snapshot
from analysis.record import environment
from analysis.splits import Split, load_splits, n_classes



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


def make_optimizer(spec: dict, params) -> torch.optim.Optimizer:
    """The spec's optimizer; fused kernels (one pass over all parameters) are ~5 % faster per step on CPU."""
    name = spec["optimizer"]
    if name == "sgd":
        return torch.optim.SGD(params, lr=spec["lr"], momentum=spec.get("momentum", 0.0),
                               weight_decay=spec.get("weight_decay", 0.0), fused=True)
    if name == "adam":
        return torch.optim.Adam(params, lr=spec["lr"], weight_decay=spec.get("weight_decay", 0.0), fused=True)
    raise ValueError(f"unknown optimizer {name!r} (sgd, adam)")


def train_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, xb: torch.Tensor, yb: torch.Tensor,
               hand: HandBackward | None = None, penalties: list | None = None
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """One optimisation step; returns the logits, the data loss and the penalty (None without one),
    all detached from the graph. With `hand` (a plain MLP) the hand-written pass replaces autograd.
    The benchmark calls this too, so its equivalence check covers the step nnlab really takes."""
    penalty = None
    if hand is not None:
        out, loss = hand.step(xb, yb)  # overwrites last step's gradients in place
    else:
        optimizer.zero_grad(set_to_none=True)
        out = model(xb)
        loss = F.cross_entropy(out, yb)  # the data term; penalties are added to the objective only
        penalty = penalty_value(penalties or [])
        (loss + penalty if penalty is not None else loss).backward()
    optimizer.step()
    return out.detach(), loss.detach(), (penalty.detach() if penalty is not None else None)


@torch.no_grad()
def evaluate(model: torch.nn.Module, split: Split, batch_size: int) -> tuple[float, float]:
    """Mean NLL and accuracy over a split, in eval mode."""
    was_training = model.training
    model.eval()
    loss = torch.zeros((), device=split.x.device)
    correct = torch.zeros((), device=split.x.device, dtype=torch.long)
    for start in range(0, len(split), batch_size):
        xb, yb = split.x[start:start + batch_size], split.y[start:start + batch_size]
        out = model(xb)
        loss += F.cross_entropy(out, yb, reduction="sum")
        correct += (out.argmax(1) == yb).sum()
    model.train(was_training)
    n = len(split)
    return float(loss) / n, float(correct) / n


@dataclass
class RunResult:
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
    backward: str = "autograd"  # or "hand" (analysis.mlp_step: same gradients, less overhead)


def save_checkpoint(path: Path, state: dict) -> None:
    """End-of-epoch state (model, optimizer, RNGs, probes, measurements so far), written atomically."""
    from analysis.data import atomic_write

    atomic_write(path, lambda p: torch.save(state, p))


def load_checkpoint(path: Path | None, spec: dict) -> dict | None:
    """The checkpoint of this exact spec, or None (a checkpoint of another spec is ignored and replaced)."""
    if path is None or not path.is_file():
        return None
    try:
        state = torch.load(path, weights_only=False, map_location="cpu")
    except Exception as exc:  # noqa: BLE001 - a damaged checkpoint only costs the epochs it held
        print(f"ignoring unreadable checkpoint {path}: {exc}", file=sys.stderr)
        return None
    return state if state.get("spec") == spec else None


_RESULT_FIELDS = ("epochs", "act_hist", "act_summary", "track", "batch_losses", "train_seconds", "samples")
#: a checkpoint is written after the first epoch, then at most this often (full-batch runs have
#: hundreds of one-step "epochs": saving after each would cost more than the steps)
CHECKPOINT_EVERY_S = 20.0


def capture(model, optimizer, shuffle: torch.Generator, grad_probe: GradientProbe, result: "RunResult",
            device: torch.device) -> dict:
    """Everything a resumed run needs to continue exactly where this one stands."""
    return {
        "model": model.state_dict(), "optimizer": optimizer.state_dict(),
        "torch_rng": torch.get_rng_state(), "shuffle_rng": shuffle.get_state(),
        "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
        "grad_probe": grad_probe.state(),
        "result": {key: getattr(result, key) for key in _RESULT_FIELDS},
    }


def restore(state: dict, model, optimizer, shuffle: torch.Generator, grad_probe: GradientProbe,
            result: "RunResult", device: torch.device) -> None:
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    torch.set_rng_state(state["torch_rng"])
    shuffle.set_state(state["shuffle_rng"])
    if device.type == "cuda" and state.get("cuda_rng") is not None:
        torch.cuda.set_rng_state(state["cuda_rng"], device)
    grad_probe.load_state(state["grad_probe"], device)
    for key in _RESULT_FIELDS:
        setattr(result, key, state["result"][key])


def train_run(spec: dict, data_path: Path | str, device: torch.device, progress: bool = True,
              checkpoint: Path | None = None, hand_backward: bool = True) -> RunResult:
    """Train one spec to completion or divergence; return its measurements.

    With `checkpoint`, the state is saved at the end of every epoch and a run started
    again resumes after the last saved epoch, ending with the same metrics as an
    uninterrupted run (on CPU). Plain MLPs use the hand-written backward pass
    (`analysis.mlp_step`) unless `hand_backward` is False; its gradients are bitwise autograd's.
    """
    torch.manual_seed(spec["seed"])
    if device.type == "cpu":
        deterministic_cpu()
    splits = load_splits(data_path, spec, device)
    model = build_model(spec, n_classes=n_classes(spec)).to(device)
    optimizer = make_optimizer(spec, model.parameters())
    probes = spec.get("probes", {})
    grad_probe = GradientProbe(model, probes.get("grad_every", 0))
    act_epochs = set(probes.get("activation_epochs", []))
    act_batch = splits.test.x[: probes.get("activation_batch", 1000)]
    track_every = probes.get("track_every", 0)
    penalties = penalty_terms(model, spec.get("penalty"))
    hand = HandBackward(model) if hand_backward and HandBackward.applies(model, spec.get("penalty")) else None
    result = RunResult(backward="hand" if hand is not None else "autograd")
    result.flops_per_sample = flops_per_sample(model, tuple(splits.train.x.shape[1:]))
    shuffle = torch.Generator().manual_seed(spec["seed"])
    bs, log_every = spec["batch_size"], spec.get("log_every", 50)
    n_train = len(splits.train)
    steps_per_epoch = math.ceil(n_train / bs)
    full_batch = bs >= n_train  # gradient descent on the whole set: no shuffle, no gather copy

    def snapshot(epoch: int) -> None:
        if epoch in act_epochs:
            hist, summary = activation_snapshot(model, act_batch, epoch, probes.get("activation_bins", 60))
            result.act_hist.append(hist)
            result.act_summary.append(summary)

    def track(step: int) -> None:
        if track_every and step % track_every == 0:
            _, acc = evaluate(model, splits.test, spec["eval_batch_size"])
            result.track.append(track_snapshot(model, act_batch, step, acc))

    def eval_row(epoch: int, train_loss: float, train_acc: float, seconds: float,
                 penalty: float = math.nan) -> dict:
        row = {"epoch": epoch, "train_loss": train_loss, "train_acc": train_acc}
        for name, split in (("val", splits.val), ("test", splits.test)):
            loss, acc = evaluate(model, split, spec["eval_batch_size"]) if split is not None else (math.nan, math.nan)
            row[f"{name}_loss"], row[f"{name}_acc"] = loss, acc
        row["train_penalty"] = penalty
        row["seconds"] = seconds
        row["samples_per_s"] = (n_train / seconds) if seconds > 0 else math.nan
        return row

    state = load_checkpoint(checkpoint, spec)
    if state is None:
        snapshot(0)
        result.epochs.append(eval_row(0, math.nan, math.nan, 0.0))
        step, first_epoch = 0, 1
        track(0)
    else:
        restore(state, model, optimizer, shuffle, grad_probe, result, device)
        step, first_epoch = state["step"], state["epoch"] + 1
        print(f"resuming from checkpoint {checkpoint}: epochs 1-{state['epoch']} done", file=sys.stderr)
    model.train()
    last_saved = -math.inf
    for epoch in range(first_epoch, spec["epochs"] + 1):
        order = None if full_batch else torch.randperm(n_train, generator=shuffle).to(device)
        loss_sum = torch.zeros((), device=device)
        penalty_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        batch_loss = torch.full((steps_per_epoch,), math.nan, device=device)  # filled on the device
        started = time.perf_counter()
        bar = tqdm(total=steps_per_epoch, desc=f"epoch {epoch}/{spec['epochs']}", unit="batch",
                   file=sys.stderr, disable=not progress or full_batch,
                   mininterval=1.0 if sys.stderr.isatty() else 10.0)
        for b in range(steps_per_epoch):
            if full_batch:
                xb, yb = splits.train.x, splits.train.y
            else:
                idx = order[b * bs:(b + 1) * bs]
                xb, yb = splits.train.batch(idx)
            out, loss, penalty = train_step(model, optimizer, xb, yb, hand, penalties)
            if penalty is not None:
                penalty_sum += penalty * len(yb)
            grad_probe.record(step, epoch)  # after the step: it overwrites the spent gradients with |g|
            batch_loss[b] = loss
            loss_sum += loss * len(yb)
            correct += (out.argmax(1) == yb).sum()
            step += 1
            track(step)
            if (b + 1) % log_every == 0 or b + 1 == steps_per_epoch:
                current = float(loss)  # one host sync per logging interval
                bar.set_postfix(loss=f"{current:.4f}", refresh=False)
                bar.update((b + 1) - bar.n)
                if not math.isfinite(current) or not torch.isfinite(loss_sum):
                    result.status = "diverged"
                    result.diverged_at = {"epoch": epoch, "step": step, "loss": current}
                    break
        bar.close()
        seconds = time.perf_counter() - started
        result.train_seconds += seconds
        result.samples += min((b + 1) * bs, n_train)  # samples trained on in this epoch
        result.batch_losses.append(batch_loss[: b + 1].cpu())
        if result.status == "diverged":
            result.epochs.append({"epoch": epoch, "train_loss": math.nan, "train_acc": math.nan,
                                  "val_loss": math.nan, "val_acc": math.nan, "test_loss": math.nan,
                                  "test_acc": math.nan, "train_penalty": math.nan, "seconds": seconds,
                                  "samples_per_s": math.nan})
            break
        result.epochs.append(eval_row(epoch, float(loss_sum) / n_train, float(correct) / n_train, seconds,
                                      float(penalty_sum) / n_train if penalties else math.nan))
        if full_batch and progress and (epoch % 20 == 0 or epoch == spec["epochs"]):
            print(f"iteration {epoch}/{spec['epochs']}: loss {result.epochs[-1]['train_loss']:.4f}", file=sys.stderr)
        snapshot(epoch)
        if checkpoint is not None and epoch < spec["epochs"] and time.perf_counter() - last_saved >= CHECKPOINT_EVERY_S:
            last_saved = time.perf_counter()
            save_checkpoint(checkpoint, {"spec": spec, "epoch": epoch, "step": step,
                                         **capture(model, optimizer, shuffle, grad_probe, result, device)})
    result.grads = grad_probe.frame()
    result.parameters = parameter_count(model)
    return result


HIST_COLUMNS = ["epoch", "layer", "layer_index", "kind", "bin_left", "bin_right", "count"]
SUMMARY_COLUMNS = ["epoch", "layer", "layer_index", "kind", "mean", "std", "p15", "p50", "p85", "saturated_fraction",
                   "dead_fraction"]
TRACK_COLUMNS = ["step", "layer", "layer_index", "unit", "p15", "p50", "p85", "test_acc"]


def run_frames(result: RunResult) -> dict[str, pd.DataFrame]:
    """The run's tables, keyed by the file stems of analysis.layout.RUN_TABLES."""
    losses = torch.cat(result.batch_losses).numpy() if result.batch_losses else []
    epochs = [e for e, chunk in enumerate(result.batch_losses, start=1) for _ in range(len(chunk))]
    frames = {
        "metrics": pd.DataFrame(result.epochs),
        "batches": pd.DataFrame({"step": range(len(losses)), "epoch": epochs, "loss": losses}),
        "grads": result.grads,
        "act_hist": pd.concat(result.act_hist, ignore_index=True) if result.act_hist else pd.DataFrame(columns=HIST_COLUMNS),
        "act_summary": (pd.concat(result.act_summary, ignore_index=True) if result.act_summary
                        else pd.DataFrame(columns=SUMMARY_COLUMNS)),
        "track": (pd.concat(result.track, ignore_index=True) if result.track
                  else pd.DataFrame(columns=TRACK_COLUMNS)),
    }
    assert set(frames) == set(RUN_TABLES), "analysis.layout.RUN_TABLES and run_frames disagree"
    return frames


def write_outputs(run_id: str, spec: dict, result: RunResult, outdir: Path, device: torch.device,
                  threads: int, wall_seconds: float) -> None:
    """Write the per-run files; the record goes last so it marks a complete run."""
    from analysis.data import atomic_write

    outdir.mkdir(parents=True, exist_ok=True)
    for stem, frame in run_frames(result).items():
        atomic_write(outdir / f"{stem}.parquet", lambda p, f=frame.assign(run_id=run_id): f.to_parquet(p, index=False))
    final = result.epochs[-1]
    record = {
        "run_id": run_id,
        "status": result.status,
        "diverged_at": result.diverged_at,
        "spec": spec,
        "seed": spec["seed"],
        "final": {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in final.items()},
        "parameters": result.parameters,
        "timing": {
            "wall_seconds": round(wall_seconds, 3),
            "train_seconds": round(result.train_seconds, 3),
            "samples_per_s": round(result.samples / result.train_seconds, 1) if result.train_seconds else None,
            # achieved training throughput: Linear/Conv multiply-adds x2 x3 (forward + both gradients);
            # compare with the machine's matmul peak (python -m analysis.bench)
            "model_mflops_per_sample": round(result.flops_per_sample / 1e6, 3),
            "gflops_per_s": (round(result.samples * result.flops_per_sample / result.train_seconds / 1e9, 2)
                             if result.train_seconds else None),
            "backward": result.backward,
        },
        "environment": environment(device, threads),
    }
    atomic_write(outdir / "record.json", lambda p: p.write_text(json.dumps(record, indent=2, default=float)))


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Train one nnlab run.")
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--spec", required=True, help="the resolved run spec as JSON")
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--outdir", required=True, type=Path)
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="end-of-epoch checkpoint file (outside the declared outputs); resumed if present")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    torch.set_num_threads(args.threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    spec = json.loads(args.spec)
    from analysis.config import run_id as compute_id

    if compute_id(spec) != args.run_id:
        print(f"nnlab: spec does not hash to run id {args.run_id}", file=sys.stderr)
        return 2
    try:
        device = resolve_device(args.device)
    except RuntimeError as exc:
        print(f"nnlab: {exc} (set `device: auto` or `cpu` in config/config.yaml)", file=sys.stderr)
        return 2
    print(f"run {args.run_id} on {device} with {args.threads} thread(s): {json.dumps(spec, sort_keys=True)}",
          file=sys.stderr)
    result = train_run(spec, args.data, device, progress=not args.no_progress, checkpoint=args.checkpoint)
    try:
        write_outputs(args.run_id, spec, result, args.outdir, device, args.threads, time.perf_counter() - started)
    except OSError as exc:
        print(f"nnlab: cannot write the outputs of run {args.run_id} to {args.outdir}: {exc}. "
              "Nothing was left that counts as finished (record.json is written last); free space and rerun — "
              "the checkpoint of the last finished epoch is kept.", file=sys.stderr)
        return 1
    if args.checkpoint is not None:
        args.checkpoint.unlink(missing_ok=True)
    final = result.epochs[-1]
    print(f"run {args.run_id}: {result.status}; test acc {final['test_acc']:.4f}, "
          f"{result.train_seconds:.1f}s training", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
