"""A hand-written forward and backward pass for packed plain MLPs (Flatten, Linear, activation, ..., Linear).

Why: a small-batch MLP step on CPU pays for autograd's bookkeeping (graph nodes, saved tensors,
layout checks, gradient accumulation) on top of the matrix products. For the common case (a plain MLP
under plain cross-entropy, no normalisation, dropout or penalty) this module computes the same gradients
with the same ATen kernels autograd would call (baddbmm forward; bmm for both gradients; the
activations' own *_backward kernels; log-softmax + NLL backward, member by member) and writes them
straight into `.grad`. It works on a `PackedNet` of K members (K = 1 for a run trained alone): `bmm`
gives each member exactly `mm`'s bits, so a packed member's gradients are its single run's. The optimizer, the
probes and the checkpoints see ordinary `.grad`s. `tests/test_mlp_step.py` checks the gradients are
bitwise identical to autograd's; `python -m analysis.tools.bench` measures the gain.

Any other model (conv, batch norm, dropout, penalties, an activation without a kernel here) keeps
autograd: `HandBackward.applies` says which, and the run record names the path that trained the run.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from analysis.engine.activations import REGISTRY
from analysis.engine.losses import is_plain_cross_entropy
from analysis.engine.models import Activation
from analysis.engine.packed import PackedFlatten, PackedLinear

aten = torch.ops.aten

#: activation name -> (in-place forward, backward(grad_out, output)): the registry's kernels
#: (analysis.engine.activations); an activation without them keeps autograd (`HandBackward.applies`).
_KERNELS: dict[str, tuple[Callable, Callable]] = {name: a.kernels for name, a in REGISTRY.items() if a.kernels}

_MEAN = 1  # ATen's reduction code for "mean"
_IGNORE = -100  # F.cross_entropy's default ignore_index


class HandBackward:
    """Forward + backward of one packed plain MLP, filling `.grad` of its PackedLinear layers."""

    def __init__(self, model: nn.Sequential):
        if not self.applies(model):
            raise ValueError("HandBackward needs a plain MLP (packed): Flatten, then Linear/activation layers only")
        self.linears = [m for m in model if isinstance(m, PackedLinear)]
        self.kernels = [_KERNELS[m.name] for m in model if isinstance(m, Activation)]

    @staticmethod
    def applies(model: nn.Module, penalty: dict | None = None, loss: dict | None = None) -> bool:
        """True for Flatten → (Linear → supported activation)* → Linear, with no penalty term, under plain
        cross-entropy (the only loss whose backward is written here: MSE or label smoothing train by autograd)."""
        if penalty and any(penalty.get(k) for k in ("l1", "l2")):
            return False
        if not is_plain_cross_entropy(loss):
            return False
        children = list(model.children()) if isinstance(model, nn.Sequential) else []
        if len(children) < 2 or not isinstance(children[0], PackedFlatten):
            return False
        body = children[1:]
        if len(body) % 2 != 1 or any(getattr(m, "l2", 0) for m in body):
            return False
        for i, module in enumerate(body):
            if i % 2 == 0 and not isinstance(module, PackedLinear):
                return False
            if i % 2 == 1 and not (isinstance(module, Activation) and module.name in _KERNELS):
                return False
        return True

    @torch.no_grad()
    def step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits [K, B, n] and each member's mean cross-entropy [K] for batches x [K, B, ...], y [K, B]
        (or one shared y [B]); the gradients land in `.grad`, overwriting the previous step's."""
        h = x.flatten(2)
        inputs, post = [], []
        last = len(self.linears) - 1
        for i, linear in enumerate(self.linears):
            inputs.append(h)
            h = torch.baddbmm(linear.bias.unsqueeze(1), h, linear.weight.transpose(1, 2))
            if i < last:
                forward, _ = self.kernels[i]
                h = forward(h)
                post.append(h)
        logits = h
        logp = torch._log_softmax(logits, 2, False)
        losses, grads = [], []
        for k in range(logits.shape[0]):
            target = y if y.dim() == 1 else y[k]
            loss, total = aten.nll_loss_forward(logp[k], target, None, _MEAN, _IGNORE)
            grads.append(aten.nll_loss_backward(torch.ones_like(loss), logp[k], target, None, _MEAN, _IGNORE, total))
            losses.append(loss)
        grad = torch._log_softmax_backward_data(torch.stack(grads), logp, 2, logp.dtype)
        for i in range(last, -1, -1):
            linear, a = self.linears[i], inputs[i]
            _into_grad(linear.weight, torch.bmm, grad.transpose(1, 2), a)
            _into_grad(linear.bias, torch.sum, grad, 1)
            if i > 0:
                _, backward = self.kernels[i - 1]
                grad = backward(grad.bmm(linear.weight), post[i - 1])
        return logits, torch.stack(losses)


def _into_grad(param: torch.Tensor, op: Callable, *args) -> None:
    """`param.grad = op(*args)`, written into the existing `.grad` when there is one: the same kernel,
    so the same bits, without allocating (and page-faulting) a fresh gradient every step."""
    grad = param.grad
    if grad is None or grad.shape != param.shape or not grad.is_contiguous():
        param.grad = op(*args)
    else:
        op(*args, out=grad)
