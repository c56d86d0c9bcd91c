"""A7.1–A7.3 are exact computations: check them, and that A7.5's verdicts follow the measurements."""
import math

import pandas as pd
import pytest

from analysis.pipeline.plan import Plan
from analysis.study.answers import a7
from analysis.study.stats import mean_ci


def test_xor_inequalities_are_infeasible():
    assert a7.xor_threshold_lp()["infeasible"]


def test_best_linear_and_sigmoid_accuracy_on_xor_is_three_quarters():
    best, labelings = a7.best_linear_accuracy(bias=True)
    assert best == 0.75 and len(labelings) == 4  # flip any one of the four labels
    assert a7.best_sigmoid_accuracy(restarts=20, steps=100) == 0.75
    # sanity of the LP itself: AND is separable, XOR is not
    assert a7.separable([0, 0, 0, 1], bias=True)
    assert not a7.separable(list(a7.XOR_Y), bias=True)


def test_two_layer_relu_net_outputs_xor():
    result = a7.xor_two_layer()
    assert result["out"].tolist() == [0, 1, 1, 0]
    assert result["hidden"].tolist() == [[0, 0], [1, 0], [1, 0], [2, 1]]


def test_backprop_formulas_match_autograd_and_the_exercise():
    formula, auto = a7.backprop_by_formula(), a7.backprop_by_autograd()
    for key, value in formula.items():
        assert auto[key] == pytest.approx(value, abs=1e-12), key
    assert formula["y_hat"] == pytest.approx(0.9)
    assert formula["delta6"] == pytest.approx(-0.1)
    assert formula["delta3"] == pytest.approx(-0.1)
    assert formula["dL_dw32"] == pytest.approx(-0.2)
    assert formula["a5"] == 0.0  # the document wrote -4


def test_sigmoid_derivative_never_exceeds_a_quarter():
    table = a7.derivative_table().set_index("activation")
    assert table.loc["sigmoid", "max"] == pytest.approx(0.25, abs=1e-9)
    assert table.loc["relu", "max"] == 1.0 and table.loc["tanh", "max"] == pytest.approx(1.0)
    assert table.loc["lecun_tanh", "max"] == pytest.approx(1.15393, abs=1e-5)


def synthetic_grads(ratio: float) -> pd.DataFrame:
    rows = []
    for seed in (1, 2, 3):
        for step in range(5):
            for i, layer in enumerate(["linear1", "linear2", "linear3"]):
                rows.append({"activation": "sigmoid", "seed": seed, "step": step, "layer": layer,
                             "mean_abs_grad": (ratio ** (1 - i / 2)) * (1 + 0.01 * seed)})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("ratio", [0.1, 10.0])
def test_layer_ratio_follows_the_data(ratio):
    result = a7.layer_gradient_ratio(synthetic_grads(ratio), "sigmoid")
    assert result["ratio_1_to_3"].mean == pytest.approx(ratio, rel=1e-6)


def test_a74_summary_keeps_diverged_runs_out_of_the_mean():
    runs = pd.DataFrame({"activation": ["relu"] * 3, "status": ["ok", "ok", "diverged"],
                         "final_test_acc": [0.8, 0.7, math.nan], "final_train_acc": [0.7, 0.6, math.nan],
                         "final_test_loss": [0.5, 0.6, math.nan], "samples_per_s": [1.0, 1.0, 1.0]})
    summary = a7.a74_summary(runs)["relu"]
    assert summary["diverged"] == 1 and summary["test_acc"].n == 2
    assert summary["test_acc"].mean == pytest.approx(0.75)


def test_mean_ci_widens_with_spread():
    narrow, wide = mean_ci([0.5, 0.51, 0.49]), mean_ci([0.3, 0.7, 0.5])
    assert narrow.low < 0.5 < narrow.high
    assert (wide.high - wide.low) > (narrow.high - narrow.low)


def synthetic_context(tmp_path, sigmoid_acc: float, layer_ratio: float):
    """Tables shaped like the aggregate step's, with chosen outcomes."""
    from analysis.study.answers.common import Context

    runs, grads, batches = [], [], []
    for act, acc in (("sigmoid", sigmoid_acc), ("relu", 0.8)):
        for seed in (1, 2, 3):
            runs.append({"run_id": f"{act}{seed}", "experiments": ["a7_4"], "activation": act, "seed": seed,
                         "status": "ok", "final_test_acc": acc + 0.001 * seed, "final_train_acc": acc,
                         "final_test_loss": 1.0, "samples_per_s": 1.0})
            for step in range(3):
                batches.append({"experiments": ["a7_4"], "activation": act, "seed": seed, "step": step, "loss": 2.0})
                for i, layer in enumerate(("linear1", "linear2", "linear3")):
                    grads.append({"experiments": ["a7_4"], "activation": act, "seed": seed, "step": step,
                                  "layer": layer, "mean_abs_grad": layer_ratio ** (1 - i / 2) * (1 + seed / 100)})
    for name, rows in (("runs", runs), ("grads", grads), ("batches", batches)):
        pd.DataFrame(rows).to_parquet(tmp_path / f"{name}.parquet")
    config = {"defaults": {}, "experiments": {"a7_4": {"exercise": "A7.4", "base": {}, "seeds": [1, 2, 3]}}}
    return Context(page="a7", profile="default", tables_dir=tmp_path, config=config, provenance={},
                   plan=Plan.from_config(config, "default"))


@pytest.mark.parametrize("sigmoid_acc, ratio, chance, a, b_word", [(0.10, 0.07, True, "True", "smaller"),
                                                                    (0.75, 10.0, False, "False", "larger")])
def test_a74_a75_answers_follow_the_measurements(tmp_path, sigmoid_acc, ratio, chance, a, b_word):
    from analysis.study.answers.common import PageOutput

    out = PageOutput(page="a7", out_dir=tmp_path / "answers")
    ctx = synthetic_context(tmp_path, sigmoid_acc, ratio)
    _, grads, summary = a7.answer_a74(ctx, out)
    a7.answer_a75(out, grads, summary, ctx.document)
    assert ("at chance level" in out.vars["a74"]["answer"]) is chance
    assert out.vars["a75"]["a"] == a
    assert out.vars["a75"]["b"] == "False"  # false either way, for the reason the evidence gives
    assert f"get {b_word} gradients" in out.fragments["a75_table"]
