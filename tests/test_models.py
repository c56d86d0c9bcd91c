import pytest
import torch

from analysis.engine.models import (Activation, UnknownActivationError, activation_layers, build_model, evaluating,
                                    lecun_tanh, model_summary, parameter_count, penalty_terms, penalty_value,
                                    weight_layers)



BASE = {"activation": "sigmoid", "norm": "none", "model": {"kind": "mlp", "hidden": [512, 1024, 512]}}


def test_a74_mlp_shape_and_names():
    model = build_model(BASE)
    assert [n for n, _ in weight_layers(model)] == ["linear1", "linear2", "linear3", "linear4"]
    assert model(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    assert parameter_count(model)["trainable"] == 784 * 512 + 512 + 512 * 1024 + 1024 + 1024 * 512 + 512 + 512 * 10 + 10


def test_cnn_with_batchnorm_placement():
    spec = {"activation": "relu", "norm": "batchnorm", "norm_placement": "after_activation",
            "model": {"kind": "cnn", "conv": [16, 32], "fc": [128]}}
    model = build_model(spec)
    names = [n for n, _ in model.named_children()]
    assert names.index("act1") < names.index("bn1") < names.index("pool1")
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    # BN running statistics count as non-trainable, the way Keras counts them
    assert parameter_count(model)["non_trainable"] == 2 * (16 + 32 + 128)


def test_unknown_activation_lists_the_known_ones():
    with pytest.raises(UnknownActivationError, match="unknown activation 'swish'.*relu"):
        build_model({**BASE, "activation": "swish"})


def test_lecun_tanh_derivative_range():
    x = torch.linspace(-10, 10, 200_001, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(lecun_tanh(x).sum(), x)
    assert grad.max().item() == pytest.approx(1.7159 * 2 / 3 + 0.01, abs=1e-9)  # 1.15393, not the document's 1.55393
    assert grad.min().item() > 0.01  # the infimum 0.01 is approached only as |x| → ∞


def test_every_activation_is_observable():
    model = build_model(BASE)
    assert all(isinstance(m, Activation) for _, m in activation_layers(model))
    assert len(activation_layers(model)) == 3


def test_glorot_init_zeroes_biases():
    model = build_model({**BASE, "init": "glorot_uniform"})
    for _, layer in weight_layers(model):
        assert torch.count_nonzero(layer.bias) == 0


def test_m2_cnn_from_the_config_has_the_documents_parameter_count():
    """M2.4: the `m2_cnn` layer list in config/config.yaml rebuilds the Keras summary's 1,221,450 parameters."""
    from analysis.pipeline.config import load_config

    config = load_config()
    spec = {**config["defaults"], **config["experiments"]["m2_cnn"]["base"]}
    counts = parameter_count(build_model(spec))
    assert counts == {"trainable": 1_221_002, "non_trainable": 448, "total": 1_221_450}
    rows = model_summary(build_model(spec))
    assert [r["output shape"] for r in rows[:2]] == ["(None, 26, 26, 32)", "(None, 26, 26, 32)"]
    assert sum(r["parameters"] for r in rows) == 1_221_450


def test_layers_kind_rejects_a_bad_item_and_a_wrong_output_width():
    spec = {"activation": "relu", "model": {"kind": "layers", "layers": [{"conv": 4}, "flatten", {"warp": 3}]}}
    with pytest.raises(ValueError, match="unknown layer item"):
        build_model(spec)
    spec["model"]["layers"] = [{"conv": 4}, "flatten", {"dense": 7}]
    with pytest.raises(ValueError, match="must end with"):
        build_model(spec)


def test_per_layer_l2_and_spec_penalties():
    spec = {"activation": "relu", "model": {"kind": "layers", "layers": [
        "flatten", {"dense": 5, "l2": 0.5}, "act", {"dense": 10}]}}
    model = build_model(spec)
    terms = penalty_terms(model, None)
    assert len(terms) == 1
    assert float(penalty_value(terms).detach()) == pytest.approx(
        0.5 * float(model.linear1.weight.detach().pow(2).sum()))
    torch.nn.init.constant_(model.linear2.weight, -1.0)
    signed = penalty_value(penalty_terms(model, {"l1": 1.0, "l1_form": "signed"}))
    absolute = penalty_value(penalty_terms(model, {"l1": 1.0, "l1_form": "abs"}))
    assert float(signed.detach()) < 0 < float(absolute.detach())  # the document's δ·Σw rewards negative weights


def test_keras_leaky_relu_slope():
    x = torch.tensor([-1.0, 2.0])
    assert Activation("leaky_relu_keras")(x).tolist() == pytest.approx([-0.3, 2.0])


def test_cnn_backward_stays_channels_last_and_flatten_changes_no_bits():
    """The gradient reaching the last pooling layer has the layout of its saved input and indices
    (channels-last); plain nn.Flatten hands back NCHW there. Training is bit-for-bit the same either way."""
    from torch.nn import functional as F

    def trained(flatten: torch.nn.Module | None):
        torch.manual_seed(2)
        model = build_model({"activation": "relu", "model": {"kind": "cnn", "conv": [4, 8], "fc": [16]}})
        if flatten is not None:
            model.flatten = flatten
        seen = []
        model.pool2.register_full_backward_hook(lambda m, gin, gout: seen.append(gout[0]))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
        for step in range(3):
            x, y = torch.randn(16, 1, 28, 28), torch.randint(0, 10, (16,))
            optimizer.zero_grad()
            F.cross_entropy(model(x), y).backward()
            optimizer.step()
        return model, seen[-1]

    ours, grad = trained(None)
    plain, plain_grad = trained(torch.nn.Flatten())
    assert grad.is_contiguous(memory_format=torch.channels_last) and not grad.is_contiguous()
    assert plain_grad.is_contiguous(), "nn.Flatten no longer returns NCHW gradients: the workaround may go"
    for a, b in zip(ours.parameters(), plain.parameters()):
        assert torch.equal(a, b)


def test_layers_kind_average_pooling_builds_and_trains():
    """{avgpool: k} is nn.AvgPool2d(k) (Keras' AveragePooling2D); {pool: k} stays max pooling."""
    from torch.nn import functional as F

    spec = {"activation": "relu", "model": {"kind": "layers", "layers": [
        {"conv": 4, "padding": "same"}, "act", {"avgpool": 2}, {"conv": 8}, "act", {"pool": 2}, "flatten",
        {"dense": 10}]}}
    torch.manual_seed(0)
    model = build_model(spec)
    assert isinstance(model.avgpool1, torch.nn.AvgPool2d) and isinstance(model.pool2, torch.nn.MaxPool2d)
    rows = {r["layer"]: r["output shape"] for r in model_summary(model)}
    assert rows["avgpool1"] == "(None, 14, 14, 4)" and rows["pool2"] == "(None, 6, 6, 8)"  # 28 → 14 → 12 → 6
    x, y = torch.rand(16, 1, 28, 28), torch.randint(0, 10, (16,))
    assert model(x).shape == (16, 10)
    with torch.no_grad():  # each output is the mean of its 2x2 block, not the max
        h = model.act1(model.conv1(x)).contiguous()
        assert torch.allclose(model.avgpool1(h), h.reshape(16, 4, 14, 2, 14, 2).mean((3, 5)), atol=1e-6)
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    losses = []
    for _ in range(5):  # a few steps on one batch: gradients flow through the average pooling
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert all(torch.isfinite(torch.tensor(losses))) and losses[-1] < losses[0]
    assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_schema_accepts_avgpool_and_rejects_a_zero_size():
    import copy

    from analysis.pipeline.config import ConfigError, load_config, validate

    config = load_config()
    layers = config["experiments"]["m2_cnn"]["base"]["model"]["layers"]
    at = layers.index({"pool": 2})
    layers[at] = {"avgpool": 2}
    validate(config)
    bad = copy.deepcopy(config)
    bad["experiments"]["m2_cnn"]["base"]["model"]["layers"][at] = {"avgpool": 0}
    with pytest.raises(ConfigError, match="m2_cnn"):
        validate(bad)


def test_evaluating_restores_the_mode_it_found_also_on_error():
    model = build_model(BASE)
    with evaluating(model):
        assert not model.training and not any(m.training for m in model.modules())
    assert model.training and all(m.training for m in model.modules())
    model.eval()
    with evaluating(model):
        pass
    assert not model.training
    model.train()
    with pytest.raises(RuntimeError), evaluating(model):
        raise RuntimeError("inside")
    assert model.training and all(m.training for m in model.modules())
