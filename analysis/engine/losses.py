"""The data term of the training objective and of the evaluation loss: the spec's `loss`.

Why one module: training (`analysis.engine.packed.member_losses`), evaluation and the hand-written MLP pass
(`analysis.engine.mlp_step`, cross-entropy only) must agree on what a run minimises and reports. A packed model's
members are scored one by one with the single run's call, so a member's loss is its run's bit for bit.

- cross_entropy (the default, what every cached run used): log-softmax + NLL of the logits, optionally with
  `label_smoothing` (PyTorch's: the target mixes the one-hot with the uniform distribution);
- mse: the mean over classes of the squared difference between the softmax probabilities (or, with
  `output: logits`, the raw outputs) and the one-hot target, averaged over the batch: Keras' `loss="mse"`
  behind a softmax output layer.
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

LOSSES = ("cross_entropy", "mse")
OUTPUTS = ("softmax", "logits")
DEFAULT = {"name": "cross_entropy", "label_smoothing": 0.0, "output": "softmax"}


def resolve(loss: dict | None) -> dict:
    """The loss with every default filled in; raises one line on a name or combination that makes no sense."""
    found = {**DEFAULT, **(loss or {})}
    if found["name"] not in LOSSES:
        raise ValueError(f"unknown loss {found['name']!r} (valid: {', '.join(LOSSES)})")
    if found["output"] not in OUTPUTS:
        raise ValueError(f"unknown loss output {found['output']!r} (valid: {', '.join(OUTPUTS)})")
    if found["name"] != "cross_entropy" and found["label_smoothing"]:
        raise ValueError("loss: label_smoothing applies to cross_entropy only")
    if found["name"] != "mse" and found["output"] != "softmax":
        raise ValueError("loss: output applies to mse only (cross_entropy always takes the logits)")
    return found


def is_plain_cross_entropy(loss: dict | None) -> bool:
    """Cross-entropy without smoothing: what the hand-written MLP pass computes."""
    found = resolve(loss)
    return found["name"] == "cross_entropy" and not found["label_smoothing"]


def single_loss(logits: torch.Tensor, targets: torch.Tensor, reduction: str = "mean",
                loss: dict | None = None) -> torch.Tensor:
    """One run's loss of logits [B, n] against class indices [B] ('mean' over the batch, or 'sum')."""
    found = resolve(loss)
    if found["name"] == "cross_entropy":
        if found["label_smoothing"]:
            return F.cross_entropy(logits, targets, reduction=reduction, label_smoothing=found["label_smoothing"])
        return F.cross_entropy(logits, targets, reduction=reduction)  # the cached runs' call, unchanged
    outputs = logits.softmax(-1) if found["output"] == "softmax" else logits
    one_hot = F.one_hot(targets, logits.shape[-1]).to(outputs.dtype)
    if reduction == "mean":
        return F.mse_loss(outputs, one_hot)  # mean over batch x classes = mean over the batch of per-sample means
    return F.mse_loss(outputs, one_hot, reduction="sum") / logits.shape[-1]


def check(spec: dict) -> None:
    """For analysis.pipeline.config: the spec's loss resolves."""
    resolve(spec.get("loss"))
