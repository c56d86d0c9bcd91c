"""Probes: what a run records beside its loss, kept on the device until an epoch ends.

- Gradient magnitudes: per batch and weight layer, mean and max of |∂L/∂W|, as in
  seed 002's loop (it plotted the per-batch mean). Values stay device tensors; one
  transfer per epoch, so the probe never forces a host sync per step.
- Activation histograms: on a fixed evaluation batch (the first N test images, the
  same for every run), the input (pre) and output (post) of every activation module,
  counted over samples and neurons, plus percentiles, the saturated fraction (sigmoid,
  tanh) and the dead fraction (ReLU units never active on the batch).
- Tracking (BN paper, Figure 1): every N steps, percentiles of the input to one unit
  per activation layer and the test accuracy.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn

from analysis.models import ACTIVATION_RANGE, activation_layers, weight_layers

SATURATION = {"sigmoid": (0.05, 0.95), "tanh": (-0.95, 0.95)}
PERCENTILES = (0.15, 0.50, 0.85)
QUANTILE_SAMPLE = 200_000


class GradientProbe:
    """Collects per-batch mean and max |∂L/∂W| of every weight layer."""

    def __init__(self, model: nn.Sequential, every: int):
        self.layers = weight_layers(model)
        self.every = every
        self._numel = np.array([layer.weight.numel() for _, layer in self.layers], dtype=np.float64)
        # reduce over all dims, in whatever memory format the gradient has (conv: channels-last)
        self._dims = [tuple(range(layer.weight.dim())) for _, layer in self.layers]
        self._rows: list[torch.Tensor] = []  # one [layers, 2] tensor per recorded batch: Σ|g|, max|g|
        self._steps: list[int] = []
        self._epochs: list[int] = []

    def record(self, step: int, epoch: int) -> None:
        """Call after optimizer.step(): the gradients are spent by then, so they are turned into
        |g| in place (no buffer to write, about half the memory traffic of abs-into-a-copy) and
        reduced straight into this batch's row. Device tensors only: no host sync."""
        if self.every <= 0 or step % self.every:
            return
        row = torch.empty((len(self.layers), 2), device=self.layers[0][1].weight.device)
        for i, ((_, layer), dims) in enumerate(zip(self.layers, self._dims)):
            grad = layer.weight.grad.abs_()
            torch.sum(grad, dims, out=row[i, 0])
            torch.amax(grad, dims, out=row[i, 1])
        self._rows.append(row)
        self._steps.append(step)
        self._epochs.append(epoch)

    def state(self) -> dict:
        """What a checkpoint needs to continue recording (moved to the host)."""
        rows = torch.stack(self._rows).cpu() if self._rows else None
        return {"rows": rows, "steps": list(self._steps), "epochs": list(self._epochs)}

    def load_state(self, state: dict, device: torch.device) -> None:
        self._rows = list(state["rows"].to(device).unbind(0)) if state["rows"] is not None else []
        self._steps, self._epochs = list(state["steps"]), list(state["epochs"])

    def frame(self) -> pd.DataFrame:
        """All recorded batches as a tidy table (one transfer to the host)."""
        if not self._rows:
            return pd.DataFrame(columns=["step", "epoch", "layer", "layer_index", "mean_abs_grad", "max_abs_grad"])
        values = torch.stack(self._rows).cpu().numpy().astype(np.float64)  # [batches, layers, 2]
        values[:, :, 0] /= self._numel  # Σ|g| -> mean |g|
        n_batches, n_layers, _ = values.shape
        names = [name for name, _ in self.layers]
        return pd.DataFrame({
            "step": np.repeat(self._steps, n_layers),
            "epoch": np.repeat(self._epochs, n_layers),
            "layer": np.tile(names, n_batches),
            "layer_index": np.tile(np.arange(1, n_layers + 1), n_batches),
            "mean_abs_grad": values[:, :, 0].ravel(),
            "max_abs_grad": values[:, :, 1].ravel(),
        })


def _thin(flat: torch.Tensor, limit: int = QUANTILE_SAMPLE) -> torch.Tensor:
    """A fixed, evenly strided subsample for percentiles: torch.quantile sorts, and sorting the
    12.5 M values of a conv layer's batch took seconds per snapshot; 200 k values pin a
    percentile to about ±0.1 percentage points of rank."""
    step = max(1, flat.numel() // limit)
    return flat[::step]


@torch.no_grad()
def capture_activations(model: nn.Sequential, batch: torch.Tensor) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """(input, output) of every activation module for one eval-mode forward pass of `batch`."""
    captured: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    hooks = [module.register_forward_hook(
        lambda mod, inp, out, name=name: captured.__setitem__(name, (inp[0].detach(), out.detach())))
        for name, module in activation_layers(model)]
    was_training = model.training
    model.eval()
    try:
        model(batch)
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    return captured


@torch.no_grad()
def track_snapshot(model: nn.Sequential, batch: torch.Tensor, step: int, test_acc: float) -> pd.DataFrame:
    """The BN paper's Figure 1 probe: 15th/50th/85th percentiles, over the fixed batch, of the input
    to unit 0 of every activation layer (one sigmoid per layer), with the test accuracy at this step."""
    rows = []
    for index, (name, (pre, _)) in enumerate(capture_activations(model, batch).items(), start=1):
        unit = pre.reshape(pre.shape[0], -1)[:, 0].float()
        q = torch.quantile(unit, torch.tensor(PERCENTILES, device=unit.device)).cpu().numpy()
        rows.append({"step": step, "layer": name, "layer_index": index, "unit": 0,
                     "p15": q[0], "p50": q[1], "p85": q[2], "test_acc": test_acc})
    return pd.DataFrame(rows)


@torch.no_grad()
def activation_snapshot(model: nn.Sequential, batch: torch.Tensor, epoch: int, bins: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Histogram pre/post activations of every activation module on a fixed batch.

    Returns (histogram bins, per-layer summary). Post-activation bins of bounded
    activations use the function's range, so runs share bin edges; the others use the
    observed range.
    """
    captured = capture_activations(model, batch)
    hist_rows, summary_rows = [], []
    for index, (name, module) in enumerate(activation_layers(model), start=1):
        pre, post = captured[name]
        for kind, values in (("pre", pre), ("post", post)):
            flat = values.flatten().float()
            fixed = ACTIVATION_RANGE.get(module.name) if kind == "post" else None
            lo, hi = fixed if fixed else (float(flat.min()), float(flat.max()))
            if hi <= lo:
                hi = lo + 1e-6
            counts = torch.histc(flat, bins=bins, min=lo, max=hi).cpu().numpy()
            edges = np.linspace(lo, hi, bins + 1)
            hist_rows.append(pd.DataFrame({
                "epoch": epoch, "layer": name, "layer_index": index, "kind": kind,
                "bin_left": edges[:-1], "bin_right": edges[1:], "count": counts.astype(np.int64)}))
            q = torch.quantile(_thin(flat), torch.tensor(PERCENTILES, device=flat.device)).cpu().numpy()
            row = {"epoch": epoch, "layer": name, "layer_index": index, "kind": kind,
                   "mean": float(flat.mean()), "std": float(flat.std()),
                   "p15": q[0], "p50": q[1], "p85": q[2], "saturated_fraction": np.nan,
                   "dead_fraction": np.nan}
            band = SATURATION.get(module.name)
            if kind == "post" and band:
                row["saturated_fraction"] = float(((flat < band[0]) | (flat > band[1])).float().mean())
            if kind == "post" and module.name == "relu":
                # a dead unit (neuron, or channel at one position) is never active on the whole batch
                row["dead_fraction"] = float((values.reshape(values.shape[0], -1) <= 0).all(0).float().mean())
            summary_rows.append(row)
    return pd.concat(hist_rows, ignore_index=True), pd.DataFrame(summary_rows)
