"""A hand-written forward and backward pass for plain MLPs (Flatten, Linear, activation, ..., Linear).

Why: a small-batch MLP step on CPU pays for autograd's bookkeeping (graph nodes, saved tensors,
layout checks, gradient accumulation) on top of the matrix products. Without it the A7.4 step
(784-512-1024-512, batch 64) is about 6 % faster, and M2's 40-layer, width-128 nets at batch 32
about 15 %. For the common case (a plain MLP under cross-entropy, no normalisation, dropout or
penalty) this module computes the same gradients with the same ATen kernels autograd would call
(addmm forward; mm for both gradients; the activations' own *_backward kernels; log-softmax + NLL
backward) and writes them straight into `.grad`. The optimizer, the probes and the checkpoints see
ordinary `.grad`s, so nothing else changes. `tests/test_mlp_step.py` checks the gradients are
bitwise identical to autograd's; `python -m analysis.bench` measures the gain.

Any other model (conv, batch norm, dropout, penalties, an activation without a kernel here) keeps
autograd: `HandBackward.applies` says which.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

from analysis.models import Activation

aten = torch.ops.aten

#: activation name -> (in-place forward, backward(grad_out, output)): the kernels autograd uses. Each
#: backward needs only the activation's output (for leaky ReLU, output > 0 exactly where input > 0),
#: so the forward overwrites its input and no pre-activation is kept.
_KERNELS: dict[str, tuple[Callable, Callable]] = {
    "relu": (torch.relu_, lambda g, y: aten.threshold_backward(g, y, 0)),
    "sigmoid": (torch.sigmoid_, lambda g, y: aten.sigmoid_backward(g, y)),
    "tanh": (torch.tanh_, lambda g, y: aten.tanh_backward(g, y)),
    "leaky_relu": (lambda x: F.leaky_relu_(x, 0.01), lambda g, y: aten.leaky_relu_backward(g, y, 0.01, True)),
    "leaky_relu_keras": (lambda x: F.leaky_relu_(x, 0.3), lambda g, y: aten.leaky_relu_backward(g, y, 0.3, True)),
    "identity": (lambda x: x, lambda g, y: g),
}

_MEAN = 1  # ATen's reduction code for "mean"
_IGNORE = -100  # F.cross_entropy's default ignore_index


class HandBackward:
    """Forward + backward of one plain MLP, filling `.grad` of its Linear layers."""

    def __init__(self, model: nn.Sequential):
        if not self.applies(model):
            raise ValueError("HandBackward needs a plain MLP: Flatten, then Linear/activation layers only")
        self.linears = [m for m in model if isinstance(m, nn.Linear)]
        self.kernels = [_KERNELS[m.name] for m in model if isinstance(m, Activation)]

    @staticmethod
    def applies(model: nn.Module, penalty: dict | None = None) -> bool:
        """True for Flatten → (Linear → supported activation)* → Linear, with no penalty term."""
        if penalty and any(penalty.get(k) for k in ("l1", "l2")):
            return False
        children = list(model.children()) if isinstance(model, nn.Sequential) else []
        if len(children) < 2 or not isinstance(children[0], nn.Flatten):
            return False
        body = children[1:]
        if len(body) % 2 != 1 or any(getattr(m, "l2", 0) for m in body):
            return False
        for i, module in enumerate(body):
            if i % 2 == 0 and not (isinstance(module, nn.Linear) and module.bias is not None):
                return False
            if i % 2 == 1 and not (isinstance(module, Activation) and module.name in _KERNELS):
                return False
        return True

    @torch.no_grad()
    def step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits and mean cross-entropy of a batch; the gradients land in `.grad`, overwriting the
        previous step's (no zero_grad needed: nothing accumulates)."""
        h = x.flatten(1)
        inputs, post = [], []
        last = len(self.linears) - 1
        for i, linear in enumerate(self.linears):
            inputs.append(h)
            h = torch.addmm(linear.bias, h, linear.weight.t())
            if i < last:
                forward, _ = self.kernels[i]
                h = forward(h)
                post.append(h)
        logits = h
        logp = torch._log_softmax(logits, 1, False)
        loss, total = aten.nll_loss_forward(logp, y, None, _MEAN, _IGNORE)
        grad = aten.nll_loss_backward(torch.ones_like(loss), logp, y, None, _MEAN, _IGNORE, total)
        grad = torch._log_softmax_backward_data(grad, logp, 1, logp.dtype)
        for i in range(last, -1, -1):
            linear, a = self.linears[i], inputs[i]
            _into_grad(linear.weight, torch.mm, grad.t(), a)
            _into_grad(linear.bias, torch.sum, grad, 0)
            if i > 0:
                _, backward = self.kernels[i - 1]
                grad = backward(grad.mm(linear.weight), post[i - 1])
        return logits, loss


def _into_grad(param: torch.Tensor, op: Callable, *args) -> None:
    """`param.grad = op(*args)`, written into the existing `.grad` when there is one: the same kernel,
    so the same bits, without allocating (and page-faulting) a fresh gradient every step."""
    grad = param.grad
    if grad is None or grad.shape != param.shape or not grad.is_contiguous():
        param.grad = op(*args)
    else:
        op(*args, out=grad)
