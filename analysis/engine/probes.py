"""Probes: what a run records beside its loss, kept on the device until an epoch ends.

- Gradient magnitudes: per batch and weight layer, mean and max of |∂L/∂W|, as in
  document 002's loop (it plotted the per-batch mean). Values stay device tensors; one
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

from analysis.engine.models import ACTIVATION_RANGE, activation_layers, evaluating
from analysis.engine.packed import PackedNet, packed_weight_layers

SATURATION = {"sigmoid": (0.05, 0.95), "tanh": (-0.95, 0.95)}
PERCENTILES = (0.15, 0.50, 0.85)
QUANTILE_SAMPLE = 200_000


class GradientProbe:
    """Collects per-batch mean and max |∂L/∂W| of every weight layer, for each member of a packed net."""

    def __init__(self, model: PackedNet, every: int):
        self.layers = packed_weight_layers(model)
        self.every = every
        self.members = model.members
        weights = [layer.member_weights() for _, layer in self.layers]
        self._numel = np.array([w[0].numel() for w in weights], dtype=np.float64)
        # reduce over every dim but the member's, in whatever memory format the gradient has (conv: channels-last)
        self._dims = [tuple(range(1, w.dim())) for w in weights]
        self._rows: list[torch.Tensor] = []  # one [members, layers, 2] tensor per recorded batch: Σ|g|, max|g|
        self._steps: list[int] = []
        self._epochs: list[int] = []

    def record(self, step: int, epoch: int) -> None:
        """Call after optimizer.step(): the gradients are spent by then, so they are turned into
        |g| in place (no buffer to write, about half the memory traffic of abs-into-a-copy) and
        reduced straight into this batch's row. Device tensors only: no host sync."""
        if self.every <= 0 or step % self.every:
            return
        row = torch.empty((self.members, len(self.layers), 2), device=self.layers[0][1].weight.device)
        for i, ((_, layer), dims) in enumerate(zip(self.layers, self._dims)):
            grad = layer.member_weights(layer.weight.grad).abs_()
            torch.sum(grad, dims, out=row[:, i, 0])
            torch.amax(grad, dims, out=row[:, i, 1])
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

    def frame(self, member: int, until_step: int | None = None) -> pd.DataFrame:
        """Member's recorded batches as a tidy table (one transfer to the host); `until_step` cuts a
        member that diverged at that step (its steps from there on are not its own)."""
        keep = [i for i, s in enumerate(self._steps) if until_step is None or s < until_step]
        if not keep:
            return pd.DataFrame(columns=["step", "epoch", "layer", "layer_index", "mean_abs_grad", "max_abs_grad"])
        values = torch.stack([self._rows[i][member] for i in keep]).cpu().numpy().astype(np.float64)
        values[:, :, 0] /= self._numel  # Σ|g| -> mean |g|
        n_batches, n_layers, _ = values.shape
        names = [name for name, _ in self.layers]
        return pd.DataFrame({
            "step": np.repeat([self._steps[i] for i in keep], n_layers),
            "epoch": np.repeat([self._epochs[i] for i in keep], n_layers),
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


def _finite(flat: torch.Tensor) -> torch.Tensor:
    """The finite values (all of them, without a copy, in the usual case): a run on its way to NaN still
    gets its histogram instead of crashing the probe."""
    return flat if bool(torch.isfinite(flat).all()) else flat[torch.isfinite(flat)]


def _range(flat: torch.Tensor) -> tuple[float, float]:
    return (float(flat.min()), float(flat.max())) if flat.numel() else (0.0, 1.0)


@torch.no_grad()
def capture_activations(model: nn.Sequential, batch: torch.Tensor) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """(input, output) of every activation module for one eval-mode forward pass of `batch`."""
    captured: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    hooks = [module.register_forward_hook(
        lambda mod, inp, out, name=name: captured.__setitem__(name, (inp[0].detach(), out.detach())))
        for name, module in activation_layers(model)]
    try:
        with evaluating(model):
            model(batch)
    finally:
        for h in hooks:
            h.remove()
    return captured


def member_activations(model: PackedNet, batch: torch.Tensor) -> list[dict[str, tuple[torch.Tensor, torch.Tensor]]]:
    """Each member's (input, output) of every activation module, `batch` shown to all members."""
    captured = capture_activations(model, model.replicate(batch))
    return [{name: (model.member(pre, k), model.member(post, k)) for name, (pre, post) in captured.items()}
            for k in range(model.members)]


@torch.no_grad()
def track_snapshot(captured: dict[str, tuple[torch.Tensor, torch.Tensor]], step: int, test_acc: float) -> pd.DataFrame:
    """The BN paper's Figure 1 probe: 15th/50th/85th percentiles, over the fixed batch, of the input
    to unit 0 of every activation layer (one sigmoid per layer), with the test accuracy at this step."""
    rows = []
    for index, (name, (pre, _)) in enumerate(captured.items(), start=1):
        unit = pre.reshape(pre.shape[0], -1)[:, 0].float()
        q = torch.quantile(unit, torch.tensor(PERCENTILES, device=unit.device)).cpu().numpy()
        rows.append({"step": step, "layer": name, "layer_index": index, "unit": 0,
                     "p15": q[0], "p50": q[1], "p85": q[2], "test_acc": test_acc})
    return pd.DataFrame(rows)


@torch.no_grad()
def activation_snapshot(captured: dict[str, tuple[torch.Tensor, torch.Tensor]], functions: dict[str, str],
                        epoch: int, bins: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Histogram pre/post activations of every activation module (`functions`: module name ->
    activation name) captured on the fixed batch.

    Returns (histogram bins, per-layer summary). Post-activation bins of bounded
    activations use the function's range, so runs share bin edges; the others use the
    observed range.
    """
    hist_rows, summary_rows = [], []
    for index, (name, function) in enumerate(functions.items(), start=1):
        pre, post = captured[name]
        for kind, values in (("pre", pre), ("post", post)):
            flat = values.flatten().float()
            fixed = ACTIVATION_RANGE.get(function) if kind == "post" else None
            counted = _finite(flat)
            lo, hi = fixed if fixed else _range(counted)
            if hi <= lo:
                hi = lo + 1e-6
            counts = torch.histc(counted, bins=bins, min=lo, max=hi).cpu().numpy()
            edges = np.linspace(lo, hi, bins + 1)
            hist_rows.append(pd.DataFrame({
                "epoch": epoch, "layer": name, "layer_index": index, "kind": kind,
                "bin_left": edges[:-1], "bin_right": edges[1:], "count": counts.astype(np.int64)}))
            q = torch.quantile(_thin(flat), torch.tensor(PERCENTILES, device=flat.device)).cpu().numpy()
            row = {"epoch": epoch, "layer": name, "layer_index": index, "kind": kind,
                   "mean": float(flat.mean()), "std": float(flat.std()),
                   "p15": q[0], "p50": q[1], "p85": q[2], "saturated_fraction": np.nan,
                   "dead_fraction": np.nan}
            band = SATURATION.get(function)
            if kind == "post" and band:
                row["saturated_fraction"] = float(((flat < band[0]) | (flat > band[1])).float().mean())
            if kind == "post" and function == "relu":
                # a dead unit (neuron, or channel at one position) is never active on the whole batch
                row["dead_fraction"] = float((values.reshape(values.shape[0], -1) <= 0).all(0).float().mean())
            summary_rows.append(row)
    return pd.concat(hist_rows, ignore_index=True), pd.DataFrame(summary_rows)
