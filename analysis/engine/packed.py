"""K models that differ only in their seed, computed as one packed network.

Why: the study's small networks (M2's 128-wide MLPs at batch 32, E7's 16/32-channel CNN) pay per-op
overhead, not arithmetic. Training the seeds of one configuration together turns K small products into
one batched product (`baddbmm`/`bmm`) and K small convolutions into one grouped convolution, so the
overhead is paid once per pack. Each member keeps its own initialisation (built by `build_model` under
its own seed), its own batches, its own dropout masks (its own generator, in the state the single run's
global generator would have) and its own optimiser state (the optimisers' updates are elementwise).

Layouts (a member is never mixed with another):
- dense:  [K, B, features]; member k is `t[k]`;
- image:  [B, K*C, H, W] channels-last; member k owns channels k*C..(k+1)*C-1, so a grouped convolution
  (groups = K), BatchNorm2d over the K*C channels and pooling keep members apart by construction.

Kernels: on one thread (the pipeline's `threads_per_job: 1`) `bmm` equals `mm` bit for bit, so a packed MLP
member equals its single run exactly unless an elementwise kernel rounds by position in the packed tensor (fused
SGD at momentum 0.9, Adam, AdamW, sigmoid: within 1e-5; tests/test_packed.py lists which); with more threads
the batched products split their work differently for K >= 2 and differ in the last bits (about 2e-7). Grouped
convolutions pick other oneDNN kernels, so a packed CNN member equals its single run up to rounding.
tests/test_packed.py enforces both tolerances. Where packing pays (small MLPs) and where it does not (CNNs, large
MLPs): PERFORMANCE.md.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from analysis.engine.losses import single_loss
from analysis.engine.models import Activation, Flatten, _GradInChannelsLast


class _PackedAffine(torch.autograd.Function):
    """x·Wᵀ + b per member, with the backward kernels of `analysis.engine.mlp_step` (bmm for both gradients, a sum
    over the batch for the bias). Why not autograd's own baddbmm backward: it computes (xᵀ·g)ᵀ, whose bits
    differ from g ᵀ·x; with these kernels a member's gradients equal a single run's `nn.Linear` bit for bit."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        return torch.baddbmm(bias.unsqueeze(1), x, weight.transpose(1, 2))

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, weight = ctx.saved_tensors
        grad = grad.contiguous()
        grad_x = grad.bmm(weight) if ctx.needs_input_grad[0] else None
        return grad_x, torch.bmm(grad.transpose(1, 2), x), torch.sum(grad, 1)


class PackedLinear(nn.Module):
    """K Linear layers: weight [K, out, in], bias [K, out]."""

    def __init__(self, members: list[nn.Linear]):
        super().__init__()
        self.weight = nn.Parameter(torch.stack([m.weight.detach() for m in members]))
        self.bias = nn.Parameter(torch.stack([m.bias.detach() for m in members]))
        self.in_features, self.out_features = members[0].in_features, members[0].out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _PackedAffine.apply(x, self.weight, self.bias)

    def member_weights(self, tensor: torch.Tensor | None = None) -> torch.Tensor:
        """The weight (or a tensor shaped like it, e.g. its gradient) as [K, ...]."""
        return self.weight if tensor is None else tensor


class PackedConv2d(nn.Conv2d):
    """K Conv2d layers as one grouped convolution (member k's filters are group k)."""

    def __init__(self, members: list[nn.Conv2d]):
        first, k = members[0], len(members)
        super().__init__(k * first.in_channels, k * first.out_channels, first.kernel_size, first.stride,
                         first.padding, first.dilation, k * first.groups, first.bias is not None)
        with torch.no_grad():
            self.weight.copy_(torch.cat([m.weight.detach() for m in members]))
            if self.bias is not None:
                self.bias.copy_(torch.cat([m.bias.detach() for m in members]))
        self.members = k

    def member_weights(self, tensor: torch.Tensor | None = None) -> torch.Tensor:
        """The weight (or its gradient) as [K, out, in, kh, kw]: a view, whatever the memory format."""
        return (self.weight if tensor is None else tensor).unflatten(0, (self.members, -1))


class PackedBatchNorm1d(nn.BatchNorm1d):
    """K BatchNorm1d layers over the dense layout [K, B, F]: statistics per member and feature."""

    def __init__(self, members: list[nn.BatchNorm1d]):
        first = members[0]
        super().__init__(len(members) * first.num_features, first.eps, first.momentum, first.affine,
                         first.track_running_stats)
        _copy_norm_state(self, members)
        self.members = len(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, b, f = x.shape
        flat = super().forward(x.transpose(0, 1).reshape(b, k * f))
        return flat.view(b, k, f).transpose(0, 1)


def _packed_batchnorm2d(members: list[nn.BatchNorm2d]) -> nn.BatchNorm2d:
    first = members[0]
    bn = nn.BatchNorm2d(len(members) * first.num_features, first.eps, first.momentum, first.affine,
                        first.track_running_stats)
    _copy_norm_state(bn, members)
    return bn


def _copy_norm_state(target: nn.Module, members: list[nn.Module]) -> None:
    with torch.no_grad():
        for name, tensor in list(target.named_parameters()) + list(target.named_buffers()):
            parts = [getattr(m, name).detach() for m in members]
            tensor.copy_(parts[0] if tensor.dim() == 0 else torch.cat(parts))


class PackedDropout(nn.Module):
    """Dropout with one generator per member, drawing each member's mask exactly as `F.dropout` draws a
    single run's on CPU (bernoulli into an empty tensor of the member's shape and memory format, scaled
    by 1/(1-p)); the generators start where each single run's global generator would stand."""

    def __init__(self, p: float, generators: list[torch.Generator]):
        super().__init__()
        self.p, self.generators = p, generators

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        if self.p == 1:
            return x * 0.0
        k = len(self.generators)
        if x.dim() == 4:  # image layout: each member's mask is a channels-last [B, C, H, W] of its own
            shape = (x.shape[0], x.shape[1] // k, *x.shape[2:])
            masks = [torch.empty(shape, device=x.device, memory_format=torch.channels_last)
                     .bernoulli_(1 - self.p, generator=g).div_(1 - self.p) for g in self.generators]
            return x * torch.cat(masks, 1)
        masks = [torch.empty(x.shape[1:], device=x.device).bernoulli_(1 - self.p, generator=g).div_(1 - self.p)
                 for g in self.generators]
        return x * torch.stack(masks)

    def extra_repr(self) -> str:
        return f"p={self.p}, members={len(self.generators)}"


class PackedFlatten(nn.Module):
    """Image layout [B, K*C, H, W] (or a dense input [K, B, C, H, W]) -> dense layout [K, B, C*H*W],
    each member's features in the order a single run's Flatten gives them."""

    def __init__(self, members: int):
        super().__init__()
        self.members = members

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 5:  # dense input of an MLP: [K, B, C, H, W]
            return x.flatten(2)
        if x.requires_grad and x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
            x = _GradInChannelsLast.apply(x)  # keep the backward channels-last (see models.Flatten)
        b = x.shape[0]
        return x.unflatten(1, (self.members, -1)).transpose(0, 1).reshape(self.members, b, -1)


def _pack_layer(layers: list[nn.Module], generators: list[torch.Generator]) -> nn.Module:
    """The packed form of one layer position across the members."""
    first = layers[0]
    if isinstance(first, nn.Linear):
        packed = PackedLinear(layers)
    elif isinstance(first, nn.Conv2d):
        packed = PackedConv2d(layers)
    elif isinstance(first, nn.BatchNorm1d):
        packed = PackedBatchNorm1d(layers)
    elif isinstance(first, nn.BatchNorm2d):
        packed = _packed_batchnorm2d(layers)
    elif isinstance(first, nn.Dropout):
        packed = PackedDropout(first.p, generators)
    elif isinstance(first, (Flatten, nn.Flatten)):
        packed = PackedFlatten(len(layers))
    elif isinstance(first, (Activation, nn.MaxPool2d, nn.AvgPool2d)):
        packed = copy.deepcopy(first)
    else:
        raise TypeError(f"no packed form for {type(first).__name__}")
    if getattr(first, "l2", 0):
        packed.l2 = first.l2
    return packed


class PackedNet(nn.Sequential):
    """The members' layers, position by position, in packed form (same layer names as a single model)."""

    def __init__(self, members: list[nn.Sequential], generators: list[torch.Generator]):
        names = [name for name, _ in members[0].named_children()]
        super().__init__()
        for name in names:
            self.add_module(name, _pack_layer([getattr(m, name) for m in members], generators))
        self.members = len(members)
        self.image = any(isinstance(m, nn.Conv2d) for m in members[0].children())
        if self.image:
            self.to(memory_format=torch.channels_last)

    def pack_inputs(self, xs: torch.Tensor) -> torch.Tensor:
        """Members' batches [K, B, C, H, W] -> this network's input layout."""
        if not self.image:
            return xs
        k, b, c, h, w = xs.shape
        return xs.permute(1, 0, 2, 3, 4).reshape(b, k * c, h, w).contiguous(memory_format=torch.channels_last)

    def replicate(self, x: torch.Tensor) -> torch.Tensor:
        """One batch [B, C, H, W] shown to every member (evaluation, probes)."""
        return self.pack_inputs(x.unsqueeze(0).expand(self.members, *x.shape))

    def member(self, tensor: torch.Tensor, k: int) -> torch.Tensor:
        """Member k's part of an activation or output in either layout."""
        if tensor.dim() == 4:
            c = tensor.shape[1] // self.members
            return tensor[:, k * c:(k + 1) * c]
        return tensor[k]


def member_losses(logits: torch.Tensor, targets: torch.Tensor, reduction: str = "mean",
                  loss: dict | None = None) -> torch.Tensor:
    """The spec's loss (analysis.engine.losses; cross-entropy by default) of each member's logits [K, B, n] against its
    targets [K, B] (or one shared [B]), computed member by member with a single run's call, so each value is
    that run's bit for bit."""
    shared = targets.dim() == 1
    return torch.stack([single_loss(logits[k], targets if shared else targets[k], reduction, loss)
                        for k in range(logits.shape[0])])


def packed_weight_layers(net: nn.Sequential) -> list[tuple[str, nn.Module]]:
    """The layers with learnable weight matrices (packed Linear/Conv), in forward order."""
    return [(name, m) for name, m in net.named_children() if isinstance(m, (PackedLinear, PackedConv2d))]


def member_penalties(net: nn.Sequential, penalty: dict | None) -> torch.Tensor | None:
    """Each member's δ₁·Σ|w| (or the document's δ₁·Σw with l1_form 'signed') + δ₂·Σw² over its weight
    matrices (biases excluded), plus the per-layer `l2` of `kind: layers` models: [K], or None."""
    penalty = penalty or {}
    l1, l2, form = penalty.get("l1", 0.0), penalty.get("l2", 0.0), penalty.get("l1_form", "abs")
    total = None
    for _, layer in packed_weight_layers(net):
        layer_l2 = l2 + getattr(layer, "l2", 0.0)
        if not (l1 or layer_l2):
            continue
        weight = layer.member_weights()
        dims = tuple(range(1, weight.dim()))
        term = 0.0
        if l1:
            term = term + l1 * (weight.abs().sum(dims) if form == "abs" else weight.sum(dims))
        if layer_l2:
            term = term + layer_l2 * weight.pow(2).sum(dims)
        total = term if total is None else total + term
    return total
