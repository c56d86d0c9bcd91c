"""Model builders: MLPs and small CNNs from a run spec, as named `nn.Sequential`s.

Layers carry stable names (linear1…, conv1…, bn1…, act1…) so probes and tables can
refer to "layer 2" across runs, and every activation is an `Activation` module so
hooks can see its input (pre-activation) and output (post-activation).
"""
from __future__ import annotations

import math
from collections import OrderedDict
from contextlib import contextmanager
from typing import Callable, Iterator

import torch
from torch import nn

from analysis.engine.activations import LECUN_A, LECUN_B, LECUN_C, REGISTRY, lecun_tanh  # noqa: F401 (re-exported)
from analysis.engine.conventions import batchnorm_args
from analysis.engine.inits import initialise

#: name -> function and name -> fixed output range, derived from the one registry (analysis.engine.activations)
ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {name: a.fn for name, a in REGISTRY.items()}
#: Output range of the bounded activations (for fixed histogram bins); None = data-driven.
ACTIVATION_RANGE: dict[str, tuple[float, float] | None] = {name: a.bounded_range for name, a in REGISTRY.items()}


class UnknownActivationError(ValueError):
    pass


def activation_fn(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise UnknownActivationError(
            f"unknown activation {name!r}; known: {', '.join(sorted(ACTIVATIONS))}") from None


class Activation(nn.Module):
    """A named elementwise nonlinearity (a module so hooks can observe it)."""

    def __init__(self, name: str):
        super().__init__()
        self.name = name
        self.fn = activation_fn(name)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)

    def extra_repr(self) -> str:
        return self.name


class _GradInChannelsLast(torch.autograd.Function):
    """Identity forward; the backward returns the gradient in channels-last layout."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return grad.contiguous(memory_format=torch.channels_last)


class Flatten(nn.Flatten):
    """nn.Flatten that hands a channels-last input its gradient back in channels-last layout.

    Why: flattening copies an NHWC feature map into NCHW order, so the gradient coming back is
    NCHW while the pooling layer's saved input and indices are NHWC; its backward then converts
    layouts through two full-size copies (of the 64x32x14x14 map in the 16-32 CNN, about 5 % of a
    step). Converting the small 7x7 gradient once here keeps the whole backward in one layout;
    the values are the same bits (tests/test_models.py).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 4 and x.requires_grad and not x.is_contiguous() and x.is_contiguous(
                memory_format=torch.channels_last):
            x = _GradInChannelsLast.apply(x)
        return super().forward(x)


def _block(layers: "OrderedDict[str, nn.Module]", i: int, layer: nn.Module, width: int, spec: dict,
           conv: bool) -> None:
    """Append layer i, its normalisation (placed as configured), activation and dropout."""
    layers[f"{'conv' if conv else 'linear'}{i}"] = layer
    bn_args = batchnorm_args(spec)
    bn = (nn.BatchNorm2d(width, **bn_args) if conv else nn.BatchNorm1d(width, **bn_args)) \
        if spec.get("norm") == "batchnorm" else None
    before = spec.get("norm_placement", "before_activation") == "before_activation"
    if bn is not None and before:
        layers[f"bn{i}"] = bn
    layers[f"act{i}"] = Activation(spec["activation"])
    if bn is not None and not before:
        layers[f"bn{i}"] = bn
    if conv:
        layers[f"pool{i}"] = nn.MaxPool2d(2)
    if spec.get("dropout", 0.0) > 0:
        layers[f"drop{i}"] = nn.Dropout(spec["dropout"])


def _annotate(module: nn.Module, item: dict | str) -> None:
    """A layer item's `l2` strength and own `init`, kept on the module for the penalty and the initialiser."""
    if isinstance(item, dict) and item.get("l2"):
        module.l2 = float(item["l2"])
    if isinstance(item, dict) and item.get("init"):
        module.init = item["init"]


def _sequence(model_spec: dict, spec: dict, in_shape: tuple[int, int, int], n_classes: int,
              layers: "OrderedDict[str, nn.Module]") -> None:
    """`kind: layers`: an explicit layer list, Keras-style, for the documents' own architectures.

    Items: {conv: filters, kernel, padding: valid|same}, {dense: units} (on a 4-D tensor it acts per
    position, like Keras' Dense on the last axis: a 1x1 convolution), bn, {act: name} (or `act` for the
    spec's activation), {pool: size} (max pooling, Keras' MaxPooling2D), {avgpool: size} (average pooling,
    AveragePooling2D), {dropout: p}, flatten. A conv/dense item may carry `l2: strength`
    (Keras kernel_regularizer: strength·Σw² added to the loss) and `init: name` (analysis.engine.inits: its own
    kernel_initializer instead of the spec's `init`). The last item should be {dense: n_classes}.
    """
    channels, size, flat = in_shape[0], in_shape[1], None
    index, used = 0, set()

    def add(kind: str, module: nn.Module) -> None:
        name = f"{kind}{index}"
        while name in used:
            name += "b"
        used.add(name)
        layers[name] = module

    for item in model_spec["layers"]:
        key, value = (item, None) if isinstance(item, str) else next(iter(item.items()))
        if key == "conv":
            index += 1
            k = item.get("kernel", 3)
            same = item.get("padding", "valid") == "same"
            add("conv", nn.Conv2d(channels, value, k, padding=k // 2 if same else 0))
            channels, size = value, size if same else size - k + 1
        elif key == "dense":
            index += 1
            if flat is None:  # still an image: per-position dense = 1x1 convolution
                add("dense", nn.Conv2d(channels, value, 1))
                channels = value
            else:
                add("linear", nn.Linear(flat, value))
                flat = value
        elif key == "bn":
            bn_args = batchnorm_args(spec)
            add("bn", nn.BatchNorm2d(channels, **bn_args) if flat is None else nn.BatchNorm1d(flat, **bn_args))
        elif key == "act":
            add("act", Activation(value or spec["activation"]))
        elif key == "pool":
            add("pool", nn.MaxPool2d(value))
            size //= value
        elif key == "avgpool":
            add("avgpool", nn.AvgPool2d(value))
            size //= value
        elif key == "dropout":
            add("drop", nn.Dropout(value))
        elif key == "flatten":
            layers["flatten"] = Flatten()
            flat = channels * size * size
        else:
            raise ValueError(f"unknown layer item {item!r} (conv, dense, bn, act, pool, avgpool, dropout, flatten)")
        _annotate(next(reversed(layers.values())), item)
    if flat != n_classes:
        raise ValueError(f"a `layers` model must end with {{dense: {n_classes}}} after flatten, not {flat}")


def build_model(spec: dict, in_shape: tuple[int, int, int] = (1, 28, 28), n_classes: int = 10) -> nn.Sequential:
    """Build the network a run spec describes; logits out (the loss applies log-softmax)."""
    model_spec = spec["model"]
    activation_fn(spec["activation"])  # fail early, with the list of known names
    layers: "OrderedDict[str, nn.Module]" = OrderedDict()
    i = 0
    if model_spec["kind"] == "layers":
        _sequence(model_spec, spec, in_shape, n_classes, layers)
        model = nn.Sequential(layers)
        initialise(model, spec)
        return model.to(memory_format=torch.channels_last) if any(
            isinstance(m, nn.Conv2d) for m in model) else model
    if model_spec["kind"] == "cnn":
        channels, size = in_shape[0], in_shape[1]
        k = model_spec.get("kernel", 3)
        for width in model_spec["conv"]:
            i += 1
            _block(layers, i, nn.Conv2d(channels, width, k, padding=k // 2), width, spec, conv=True)
            channels, size = width, size // 2
        features = channels * size * size
        widths = model_spec["fc"]
    elif model_spec["kind"] == "mlp":
        features = math.prod(in_shape)
        widths = model_spec["hidden"] if "hidden" in model_spec else [model_spec["width"]] * model_spec["depth"]
    else:
        raise ValueError(f"unknown model kind {model_spec['kind']!r} (mlp, cnn or layers)")
    layers["flatten"] = Flatten()
    for width in widths:
        i += 1
        _block(layers, i, nn.Linear(features, width), width, spec, conv=False)
        features = width
    layers[f"linear{i + 1}"] = nn.Linear(features, n_classes)
    model = nn.Sequential(layers)
    initialise(model, spec)
    if model_spec["kind"] == "cnn":
        # NHWC convolutions: about 30 % faster per step on this CPU (analysis.tools.bench), same results
        # up to rounding, deterministic as before
        model = model.to(memory_format=torch.channels_last)
    return model


def weight_layers(model: nn.Sequential) -> list[tuple[str, nn.Module]]:
    """The layers with learnable weight matrices (Linear/Conv), in forward order."""
    return [(name, m) for name, m in model.named_children() if isinstance(m, (nn.Linear, nn.Conv2d))]


def activation_layers(model: nn.Sequential) -> list[tuple[str, Activation]]:
    return [(name, m) for name, m in model.named_children() if isinstance(m, Activation)]


def parameter_count(model: nn.Module) -> dict[str, int]:
    """Trainable parameters, and non-trainable buffers the way Keras counts them (BN running stats)."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    running = sum(b.numel() for name, b in model.named_buffers() if name.endswith(("running_mean", "running_var")))
    return {"trainable": trainable, "non_trainable": running, "total": trainable + running}


def penalty_terms(model: nn.Sequential, penalty: dict | None) -> list[tuple[torch.Tensor, float, float, str]]:
    """(weight, l1, l2, l1_form) for every weight layer with a penalty: the spec-wide `penalty`
    (D1.4: every weight matrix, biases excluded) plus per-layer `l2` of `kind: layers` models."""
    penalty = penalty or {}
    l1, l2, form = penalty.get("l1", 0.0), penalty.get("l2", 0.0), penalty.get("l1_form", "abs")
    terms = []
    for _, layer in weight_layers(model):
        layer_l2 = l2 + getattr(layer, "l2", 0.0)
        if l1 or layer_l2:
            terms.append((layer.weight, l1, layer_l2, form))
    return terms


def penalty_value(terms: list[tuple[torch.Tensor, float, float, str]]) -> torch.Tensor | None:
    """δ₁·Σ|w| (or the document's δ₁·Σw with l1_form 'signed') + δ₂·Σw², summed over the layers."""
    total = None
    for weight, l1, l2, form in terms:
        term = 0.0
        if l1:
            term = term + l1 * (weight.abs().sum() if form == "abs" else weight.sum())
        if l2:
            term = term + l2 * weight.pow(2).sum()
        total = term if total is None else total + term
    return total


@contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """Eval mode inside the block, then the mode the model had before, also when the block raises."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def flops_per_sample(model: nn.Sequential, in_shape: tuple[int, int, int] = (1, 28, 28)) -> float:
    """Multiply-adds of Linear/Conv layers ×2 (FLOPs) ×3 (forward, input and weight gradients)."""
    macs = 0
    x = torch.zeros((2, *in_shape))
    with evaluating(model), torch.no_grad():
        for layer in model:
            out = layer(x)
            if isinstance(layer, nn.Linear):
                macs += layer.in_features * layer.out_features
            elif isinstance(layer, nn.Conv2d):
                macs += out[0].numel() * layer.in_channels * layer.kernel_size[0] * layer.kernel_size[1]
            x = out
    return 6.0 * macs


def model_summary(model: nn.Sequential, in_shape: tuple[int, int, int] = (1, 28, 28)) -> list[dict]:
    """Keras-style summary rows: layer, type, output shape (channels last, as Keras prints it), and
    parameters counted the Keras way (BN: 4 per channel, of which the 2 running statistics are non-trainable)."""
    rows = []
    x = torch.zeros((2, *in_shape))
    with evaluating(model), torch.no_grad():
        for name, layer in model.named_children():
            x = layer(x)
            shape = tuple(x.shape[1:])
            if len(shape) == 3:  # C, H, W -> H, W, C
                shape = (shape[1], shape[2], shape[0])
            trainable = sum(p.numel() for p in layer.parameters())
            running = sum(b.numel() for n, b in layer.named_buffers() if n in ("running_mean", "running_var"))
            rows.append({"layer": name, "type": type(layer).__name__ if not isinstance(layer, Activation)
                         else f"Activation({layer.name})", "output shape": "(None, " + ", ".join(map(str, shape)) + ")",
                         "parameters": trainable + running, "non-trainable": running})
    return rows
