"""Document 002, Assignment 7: XOR (A7.1, A7.2), backprop by hand (A7.3), sigmoid vs ReLU
gradients (A7.4) and the true/false questions (A7.5), all computed.

A7.1–A7.3 are exact computations (an LP, a forward pass, formulas vs autograd); A7.4
reads the aggregated runs of experiment `a7_4`; A7.5 derives each verdict from A7.4's
measurements or from derivative curves, with the rule used stated beside it.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch
from scipy.optimize import linprog

from analysis.study.answers.common import Context, PageOutput, DocumentValues, markdown_table
from analysis.study.answers.questions import Measure, Question, metric_units
from analysis.study.answers.tools import kept, line_charts, moving_average, ok_runs
from analysis.study.svg_chart import Series, line_chart
from analysis.study.figures import ACTIVATION_PALETTE, LAYER_PALETTE
from analysis.engine.models import ACTIVATIONS
from analysis.study.stats import Estimate, mean_ci, percent

EXPERIMENT = "a7_4"
#: the experiments this page shows (analysis.study.answers: the experiments page shows every other one)
CLAIMS = (EXPERIMENT,)
#: the questions this page answers, in landing-page order (analysis.study.answers.questions)
A74_METRICS = ("test_acc", "train_acc", "test_loss")
#: the scorecard keys this page publishes (each question's `measures`)
A73_MEASURE = Measure("a73.{quantity}", "value")
A74_MEASURE = Measure("a74.{act}.{metric}", metric_units(*A74_METRICS))
A75_MEASURE = Measure("a75.{statement}", "verdict")
QUESTIONS = (
    Question("A7.1", "a7-1", "a71.answer"),
    Question("A7.2", "a7-2", "a72.answer", ("a72_table", "a72_hidden_space")),
    Question("A7.3", "a7-3", "a73.answer", ("a73_table",), measures=(A73_MEASURE,)),
    Question("A7.4", "a7-4", "a74.answer", ("a74_table", "a74_accuracy", "a74_loss", "a74_gradients"),
             figure="a74_gradients", measures=(A74_MEASURE,)),
    Question("A7.5", "a7-5", "a75.answer", ("a75_table", "a75_derivative_table", "a75_derivatives"),
             measures=(A75_MEASURE,)),
)
XOR_X = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], dtype=float)
XOR_Y = np.array([0, 1, 1, 0])

# --- what the source document reports (reference values, never targets) ---
# Its numbers live in config/scorecard.csv and are read with `ctx.document(row id)`; here only which row holds what.
#: A7.4's rows: activation -> metric -> scorecard id
A74_ROWS = {"sigmoid": {"test_acc": "A7.4a", "train_acc": "A7.4b", "test_loss": "A7.4c"},
            "relu": {"test_acc": "A7.4d", "train_acc": "A7.4e", "test_loss": "A7.4f"}}
#: the losses the document's log printed every 100 batches (batch 0, 100, …, 900)
DOCUMENT_A74_LOG = {"sigmoid": [2.277038, 2.317646, 2.291698, 2.326507, 2.294538, 2.306917, 2.309592, 2.314287,
                            2.309519, 2.285814],
                "relu": [2.309350, 1.274806, 0.705422, 0.845843, 0.479043, 0.375226, 0.464915, 0.670215,
                         0.541310, 0.549002]}
#: A7.5's statements -> the scorecard rows holding the document's true/false answers
A75_ROWS = {key: f"A7.5{key}" for key in "abcde"}
#: pre-activations W1·x + b as the document wrote them inside max(0, ·) in A7.2
DOCUMENT_A72_WRITTEN = {"x1": (0, 0), "x2": (1, 1), "x3": (1, 1), "x4": (2, 2)}
#: the quantities the document worked out in A7.3 -> their scorecard rows
A73_ROWS = {"s3": "A7.3a", "a3": "A7.3b", "s4": "A7.3c", "a4": "A7.3d", "s5": "A7.3e", "a5": "A7.3f", "s6": "A7.3g",
            "y_hat": "A7.3h", "delta6": "A7.3i", "delta3": "A7.3j", "delta4": "A7.3k", "dL_dw32": "A7.3l"}
A73_WEIGHTS = {"w31": -0.1, "w32": 0.5, "w41": -1.0, "w42": 0.0, "w51": 0.0, "w52": -2.0,
               "w63": 1.0, "w64": -1.0, "w65": 0.5}
A73_X, A73_Y = (1.0, 2.0), 1.0

#: Declared criteria for the A7.5 words "poorly" and "well" (fixed before looking at results):
#: "trains poorly" = the CI's upper bound is below 2× chance (20 % on 10 balanced classes);
#: "trains well"   = the CI's lower bound is at least 70 % (7× chance; a linear model trained
#:                   to convergence reaches about 84 % on Fashion-MNIST).
POOR_UPPER, WELL_LOWER, CHANCE = 0.20, 0.70, 0.10


def yes_no(flag: bool) -> str:
    return "True" if flag else "False"


def document_a74(doc: DocumentValues, act: str, metric: str) -> float:
    """The document's A7.4 value of one activation's metric (config/scorecard.csv)."""
    return doc(A74_ROWS[act][metric])


def document_a75(doc: DocumentValues, key: str) -> bool:
    """The document's answer to A7.5 statement `key` (its verdict row reads 'True' or 'False')."""
    return {"True": True, "False": False}[doc(A75_ROWS[key])]


def num(value: float) -> str:
    """Short number text without a negative zero."""
    return f"{value + 0.0:g}" if value != 0 else "0"


SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def symbol(key: str) -> str:
    """'dL_dw32' → '∂L/∂w₃₂', 'delta6' → 'δ₆', 's3' → 's₃' (table labels)."""
    if key == "y_hat":
        return "ŷ"
    if key == "loss":
        return "L"
    if key.startswith("dL_dw"):
        return "∂L/∂w" + key[5:].translate(SUBSCRIPT)
    if key.startswith("delta"):
        return "δ" + key[5:].translate(SUBSCRIPT)
    return key[0] + key[1:].translate(SUBSCRIPT)


def vec(values) -> str:
    return "(" + ", ".join(num(float(v)) for v in values) + ")"


# ---------------------------------------------------------------- A7.1 ---
def separable(labels: np.ndarray, bias: bool) -> bool:
    """Is there (w, b) with sign(w·x + b) = labels (strictly, margin 1)? An LP feasibility check."""
    # variables: w1, w2, b ; constraint for y=1: -(w·x + b) <= -1 ; for y=0: w·x + b <= -1
    rows, rhs = [], []
    for x, y in zip(XOR_X, labels):
        coef = np.array([x[0], x[1], 1.0 if bias else 0.0])
        rows.append(-coef if y == 1 else coef)
        rhs.append(-1.0)
    res = linprog(np.zeros(3), A_ub=np.array(rows), b_ub=np.array(rhs), bounds=[(None, None)] * 3,
                  method="highs")
    return res.status == 0


def xor_threshold_lp() -> dict:
    """The document's four inequalities with threshold t: x·w ≥ t for XOR=1, x·w < t for XOR=0."""
    # variables w1, w2, t; strictness via a margin of 1 (the system is scale-invariant)
    a_ub = np.array([[0, 0, -1.0],      # t >= 1      (x1·w = 0 < t)
                     [-1.0, 0, 1.0],     # w1 >= t
                     [0, -1.0, 1.0],     # w2 >= t
                     [1.0, 1.0, -1.0]])  # w1 + w2 <= t - 1
    b_ub = np.array([-1.0, 0.0, 0.0, -1.0])
    res = linprog(np.zeros(3), A_ub=a_ub, b_ub=b_ub, bounds=[(None, None)] * 3, method="highs")
    return {"status": int(res.status), "message": res.message, "infeasible": res.status == 2}


def best_linear_accuracy(bias: bool) -> tuple[float, list]:
    """Best XOR accuracy of any linear threshold unit: enumerate all 16 labelings, keep the separable."""
    best, best_labels = 0.0, []
    for labels in itertools.product([0, 1], repeat=4):
        labels = np.array(labels)
        if separable(labels, bias):
            acc = float((labels == XOR_Y).mean())
            if acc > best:
                best, best_labels = acc, [labels.tolist()]
            elif acc == best:
                best_labels.append(labels.tolist())
    return best, best_labels


def best_sigmoid_accuracy(restarts: int = 200, steps: int = 500) -> float:
    """Train σ(w·x + b) on XOR by gradient descent from many random starts; best accuracy at 0.5."""
    gen = torch.Generator().manual_seed(0)
    x = torch.tensor(XOR_X, dtype=torch.float64)
    y = torch.tensor(XOR_Y, dtype=torch.float64)
    w = (torch.randn(restarts, 2, generator=gen, dtype=torch.float64) * 3).requires_grad_()
    b = (torch.randn(restarts, 1, generator=gen, dtype=torch.float64) * 3).requires_grad_()
    opt = torch.optim.Adam([w, b], lr=0.1)
    for _ in range(steps):
        opt.zero_grad()
        p = torch.sigmoid(w @ x.T + b)
        loss = torch.nn.functional.binary_cross_entropy(p, y.expand_as(p), reduction="none").mean(1).sum()
        loss.backward()
        opt.step()
    with torch.no_grad():
        acc = ((torch.sigmoid(w @ x.T + b) > 0.5).double() == y).double().mean(1)
    # also a dense grid over (w1, w2, b) so the answer does not rest on the optimiser alone
    grid = torch.linspace(-4, 4, 41, dtype=torch.float64)
    ww = torch.cartesian_prod(grid, grid, grid)
    grid_acc = ((((ww[:, :2] @ x.T) + ww[:, 2:]) > 0).double() == y).double().mean(1)
    return float(max(acc.max(), grid_acc.max()))


# ---------------------------------------------------------------- A7.2 ---
def xor_two_layer() -> dict:
    w1 = torch.tensor([[1.0, 1.0], [1.0, 1.0]])
    b = torch.tensor([0.0, -1.0])
    w2 = torch.tensor([1.0, -2.0])
    x = torch.tensor(XOR_X, dtype=torch.float32)
    pre = x @ w1.T + b
    hidden = torch.relu(pre)
    out = hidden @ w2
    return {"pre": pre.numpy(), "hidden": hidden.numpy(), "out": out.numpy()}


# ---------------------------------------------------------------- A7.3 ---
def backprop_by_formula() -> dict:
    """The worked example with the lecture's formulas (plain floats, no autograd)."""
    w, (x1, x2), y = A73_WEIGHTS, A73_X, A73_Y
    relu = lambda s: max(0.0, s)  # noqa: E731
    drelu = lambda s: 1.0 if s > 0 else 0.0  # noqa: E731
    v = {"s3": w["w31"] * x1 + w["w32"] * x2, "s4": w["w41"] * x1 + w["w42"] * x2,
         "s5": w["w51"] * x1 + w["w52"] * x2}
    for i in (3, 4, 5):
        v[f"a{i}"] = relu(v[f"s{i}"])
    v["s6"] = w["w63"] * v["a3"] + w["w64"] * v["a4"] + w["w65"] * v["a5"]
    v["y_hat"] = v["s6"]  # identity output
    v["loss"] = 0.5 * (y - v["y_hat"]) ** 2
    v["delta6"] = (v["y_hat"] - y) * 1.0
    for i in (3, 4, 5):
        v[f"delta{i}"] = drelu(v[f"s{i}"]) * v["delta6"] * w[f"w6{i}"]
    for i in (3, 4, 5):
        for j, xj in ((1, x1), (2, x2)):
            v[f"dL_dw{i}{j}"] = v[f"delta{i}"] * xj
        v[f"dL_dw6{i}"] = v["delta6"] * v[f"a{i}"]
    return v


def backprop_by_autograd() -> dict:
    w = {k: torch.tensor(val, dtype=torch.float64, requires_grad=True) for k, val in A73_WEIGHTS.items()}
    x1, x2 = (torch.tensor(v, dtype=torch.float64) for v in A73_X)
    s = {i: w[f"w{i}1"] * x1 + w[f"w{i}2"] * x2 for i in (3, 4, 5)}
    for t in s.values():
        t.retain_grad()
    a = {i: torch.relu(s[i]) for i in s}
    s6 = w["w63"] * a[3] + w["w64"] * a[4] + w["w65"] * a[5]
    s6.retain_grad()
    loss = 0.5 * (A73_Y - s6) ** 2
    loss.backward()
    v = {f"s{i}": s[i].item() for i in s} | {f"a{i}": a[i].item() for i in a}
    v |= {"s6": s6.item(), "y_hat": s6.item(), "loss": loss.item(), "delta6": float(s6.grad)}
    v |= {f"delta{i}": float(s[i].grad) for i in s}
    v |= {f"dL_d{k}": float(t.grad) for k, t in w.items()}
    return v


# ---------------------------------------------------------------- A7.4 ---
def a74_summary(runs: pd.DataFrame) -> dict:
    """Per activation: accuracies and loss over the seeds that did not diverge (empty without runs)."""
    out = {}
    for act, group in runs.groupby("activation"):
        ok = ok_runs(group)
        out[act] = {"test_acc": mean_ci(ok["final_test_acc"]), "train_acc": mean_ci(ok["final_train_acc"]),
                    "test_loss": mean_ci(ok["final_test_loss"]), "n_runs": len(group),
                    "diverged": int((group["status"] == "diverged").sum()),
                    "samples_per_s": float(ok["samples_per_s"].median()) if len(ok) else math.nan,
                    "run_ids": ok["run_id"].astype(str).tolist() if "run_id" in ok else []}
    return out


def layer_gradient_ratio(grads: pd.DataFrame, activation: str) -> dict:
    """Mean over batches and seeds of mean |∂L/∂W| per hidden layer (linear1..3) and the 1/3 ratio."""
    g = grads[(grads["activation"] == activation) & grads["layer"].isin(["linear1", "linear2", "linear3"])]
    per_layer = g.groupby("layer")["mean_abs_grad"].mean()
    per_seed = g.groupby(["seed", "layer"])["mean_abs_grad"].mean().unstack()
    ratio = mean_ci(per_seed["linear1"] / per_seed["linear3"]) if len(per_seed) else mean_ci([])
    return {"per_layer": per_layer.to_dict(), "ratio_1_to_3": ratio}


def batch_gradient_figure(grads: pd.DataFrame, out: PageOutput) -> None:
    g = grads[grads["layer"].isin(["linear1", "linear2", "linear3"])].copy()
    g["layer"] = g["layer"].map({"linear1": "hidden layer 1 (linear1)", "linear2": "hidden layer 2 (linear2)",
                                 "linear3": "hidden layer 3 (linear3)"})
    acts = [a for a in ("sigmoid", "relu") if a in set(g["activation"])]
    fig, axes = plt.subplots(1, len(acts), figsize=(6.2 * len(acts), 4.2), sharey=True, squeeze=False)
    for ax, act in zip(axes[0], acts):
        sns.lineplot(data=g[g["activation"] == act], x="step", y="mean_abs_grad", hue="layer",
                     palette=LAYER_PALETTE, errorbar=("pi", 100), estimator="mean", ax=ax, linewidth=0.9)
        ax.set_yscale("log")
        ax.set_title(act, color=ACTIVATION_PALETTE[act])
        ax.set_xlabel("batch index (batch 64)")
        ax.set_ylabel("mean |∂L/∂W| per batch")
        ax.legend(title=None, fontsize=8)
    out.figure(fig, "a74_gradients",
               "A7.4 — per-batch mean |∂L/∂W| of the three hidden layers over one epoch. Line: mean over "
               "seeds; band: range over seeds. Compare the order of the layers in the two nets: which layer gets the "
               "smallest gradients?")
    layers = sorted(g["layer"].unique())
    shades = dict(zip(layers, sns.color_palette(LAYER_PALETTE, len(layers))))
    out.interactive("a74_gradients", line_charts(
        g, "step", "mean_abs_grad", "layer", facet="activation", facets=acts, palette=shades, hue_order=layers,
        x_label="batch index", y_label="mean |∂L/∂W| per batch", log_y=True, titles={a: a for a in acts}),
        kept(g, ["activation", "layer", "run_id", "step", "mean_abs_grad"]))


#: batches A7.4's loss curve is averaged over, in the figure and its interactive copy
LOSS_WINDOW = 20


def loss_figure(batches: pd.DataFrame, out: PageOutput) -> None:
    """Per-batch training loss over the epoch, with the document's logged losses as markers."""
    fig, ax = plt.subplots(figsize=(8, 4))
    for act in ("sigmoid", "relu"):
        b = batches[batches["activation"] == act]
        if b.empty:
            continue
        smooth = b.groupby("step")["loss"].mean().rolling(LOSS_WINDOW, min_periods=1).mean()
        ax.plot(smooth.index, smooth.values, color=ACTIVATION_PALETTE[act], lw=1.6,
                label=f"{act}: ours, mean over seeds ({LOSS_WINDOW}-batch moving average)")
        logged = DOCUMENT_A74_LOG[act]
        ax.scatter(range(0, 100 * len(logged), 100), logged, color=ACTIVATION_PALETTE[act],
                   marker="D", s=30, edgecolor="black", zorder=4, label=f"{act}: the document's logged losses")
    ax.axhline(math.log(10), ls="--", color="grey", lw=1)
    ax.text(0, math.log(10) + 0.04, "ln 10: a uniform guess", color="grey", fontsize=9)
    ax.set_xlabel("batch index (batch 64)")
    ax.set_ylabel("training loss (NLL)")
    ax.legend(fontsize=8)
    out.figure(fig, "a74_loss",
               "A7.4 — training loss per batch over the one epoch, beside ln 10 (the loss of guessing uniformly). "
               "Diamonds: the losses the document's own log printed.")
    if batches.empty or batches["loss"].isna().all():
        return
    acts = [a for a in ("sigmoid", "relu") if a in set(batches["activation"])]
    smooth = kept(moving_average(batches, "loss", LOSS_WINDOW), ["activation", "run_id", "step", "loss"])
    logged = [Series(f"{act}: the document's log", list(range(0, 100 * len(DOCUMENT_A74_LOG[act]), 100)),
                     DOCUMENT_A74_LOG[act], colour=ACTIVATION_PALETTE[act], line=False, marker="outlined")
              for act in acts]
    guess = Series("ln 10: a uniform guess", [0, int(smooth["step"].max())], [math.log(10)] * 2, colour="#888888",
                   dash="5 3", points=False)
    out.interactive("a74_loss", line_charts(
        smooth, "step", "loss", "activation", palette=ACTIVATION_PALETTE, hue_order=acts, x_label="batch index",
        y_label="training loss (NLL)", default_title=f"training loss, {LOSS_WINDOW}-batch moving average",
        extra={None: [*logged, guess]}), smooth)


def accuracy_figure(runs: pd.DataFrame, out: PageOutput, doc: DocumentValues) -> None:
    frame = runs.melt(id_vars=["activation", "seed"], value_vars=["final_train_acc", "final_test_acc"],
                      var_name="split", value_name="accuracy")
    frame["split"] = frame["split"].map({"final_train_acc": "train (running, 1 epoch)", "final_test_acc": "test"})
    frame["accuracy"] *= 100
    fig, ax = plt.subplots(figsize=(7, 4))
    sns.stripplot(data=frame, x="activation", y="accuracy", hue="split", dodge=True, ax=ax, size=6, alpha=0.8,
                  order=["sigmoid", "relu"])
    for i, act in enumerate(["sigmoid", "relu"]):
        ax.scatter([i + 0.2], [100 * document_a74(doc, act, "test_acc")], marker="*", s=220, color="black", zorder=5,
                   label="document's test accuracy" if i == 0 else None)
    ax.axhline(100 * CHANCE, ls="--", color="grey", lw=1)
    ax.text(1.45, 100 * CHANCE + 1, "chance", color="grey", ha="right", fontsize=9)
    ax.set_ylabel("accuracy after one epoch (%)")
    ax.set_xlabel("")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8, loc="center left")
    out.figure(fig, "a74_accuracy",
               "A7.4 — accuracy after one epoch, one dot per seed; black stars: the source document's test "
               "accuracies; the dashed line is chance.")
    acts = ["sigmoid", "relu"]
    series = [Series(split, [acts.index(a) for a in g["activation"]], g["accuracy"].tolist(),
                     line=False, labels=[f"{a}, seed {seed}" for a, seed in zip(g["activation"], g["seed"])])
              for split, g in frame[frame["activation"].isin(acts)].groupby("split", sort=False)]
    series.append(Series("document's test accuracy", list(range(len(acts))),
                         [100 * document_a74(doc, act, "test_acc") for act in acts], colour="#000000", line=False,
                         marker="outlined"))
    series.append(Series("chance", [-0.4, len(acts) - 0.6], [100 * CHANCE] * 2, colour="#888888", dash="5 3",
                         points=False))
    out.interactive("a74_accuracy", line_chart(series, "activation", "accuracy after one epoch (%)",
                                               "accuracy after one epoch, one point per seed",
                                               x_names={i: a for i, a in enumerate(acts)}), frame)


# ---------------------------------------------------------------- A7.5 ---
def derivative_table() -> pd.DataFrame:
    """Range of f′ over a dense grid for every activation (autograd), and where f′ > 1."""
    x = torch.linspace(-20, 20, 400_001, dtype=torch.float64, requires_grad=True)
    rows = []
    for name in ("sigmoid", "tanh", "relu", "leaky_relu", "lecun_tanh"):
        (grad,) = torch.autograd.grad(ACTIVATIONS[name](x).sum(), x)
        rows.append({"activation": name, "min": float(grad.min()), "max": float(grad.max()),
                     "share_above_1": float((grad > 1 + 1e-12).double().mean())})
    return pd.DataFrame(rows)


def derivative_figure(out: PageOutput) -> None:
    x = torch.linspace(-6, 6, 1201, dtype=torch.float64, requires_grad=True)
    fig, ax = plt.subplots(figsize=(7, 4))
    for name in ("sigmoid", "tanh", "relu", "lecun_tanh"):
        (grad,) = torch.autograd.grad(ACTIVATIONS[name](x).sum(), x)
        ax.plot(x.detach(), grad, label=name, color=ACTIVATION_PALETTE[name], lw=2)
    ax.axhline(1, ls="--", color="grey", lw=1)
    ax.axhline(0.25, ls=":", color=ACTIVATION_PALETTE["sigmoid"], lw=1)
    ax.text(-5.8, 0.27, "1/4", color=ACTIVATION_PALETTE["sigmoid"], fontsize=9)
    ax.set_xlabel("pre-activation x")
    ax.set_ylabel("f′(x)")
    ax.legend()
    out.figure(fig, "a75_derivatives",
               "A7.5 — derivatives computed by autograd. The sigmoid's never exceeds 1/4; ReLU's is 0 or 1 and "
               "tanh's at most 1, so no common activation has f′ > 1 everywhere.")


def xor_figure(hidden: np.ndarray, out: PageOutput) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for ax, pts, title, lab in ((axes[0], XOR_X, "input space x", ("x⁽¹⁾", "x⁽²⁾")),
                                (axes[1], hidden, "hidden space max(0, W¹x + b)", ("h₁", "h₂"))):
        labels: dict[tuple, list[str]] = {}
        for (px, py), y, name in zip(pts, XOR_Y, ["x₁", "x₂", "x₃", "x₄"]):
            ax.scatter(px, py, s=160, color="#1f77b4" if y else "#d62728", marker="o" if y else "X", zorder=3)
            labels.setdefault((float(px), float(py), int(y)), []).append(name)
        for (px, py, y), names in labels.items():  # coincident points share one label
            ax.annotate(f"{', '.join(names)} (y={y})", (px, py), textcoords="offset points", xytext=(8, 8), fontsize=9)
        ax.set_title(title)
        ax.set_xlabel(lab[0])
        ax.set_ylabel(lab[1])
        ax.set_xlim(-0.5, 2.6)
        ax.set_ylim(-0.5, 1.6)
    h1 = np.linspace(-0.5, 2.6, 10)
    axes[1].plot(h1, (h1 - 0.5) / 2, ls="--", color="black", lw=1)
    axes[1].text(1.55, 0.6, "W²·h = ½", fontsize=9)
    out.figure(fig, "a72_hidden_space",
               "A7.2 — left: XOR in the input space (no line separates the classes); right: the same points "
               "after the ReLU layer, where the line W²·h = ½ separates them (x₂ and x₃ coincide at (1, 0)).")


def answer_a71(out: PageOutput) -> None:
    """A7.1: the LP check of the document's inequalities and the best linear / sigmoid accuracy on XOR."""
    lp = xor_threshold_lp()
    best_bias, best_labels = best_linear_accuracy(bias=True)
    best_sig = best_sigmoid_accuracy()
    out.set("a71.lp_status", lp["status"])
    out.set("a71.lp_infeasible", yes_no(lp["infeasible"]))
    out.set("a71.lp_message", str(lp["message"]))
    out.set("a71.best_bias", f"{best_bias:.2f}")
    out.set("a71.best_sigmoid", f"{best_sig:.2f}")
    out.set("a71.answer",
            f"The LP solver reports the document's four inequalities as "
            f"{'infeasible' if lp['infeasible'] else 'FEASIBLE'} "
            f"(HiGHS status {lp['status']}), confirming the proof. Over all 16 labelings of the four inputs, the best "
            f"a linear threshold unit (weights and a bias, i.e. the document's threshold t) can match XOR on is "
            f"{best_bias * 4:.0f}/4 ({len(best_labels)} labelings reach it); a sigmoid unit σ(w·x + b) "
            f"thresholded at ½ also reaches {best_sig * 4:.0f}/4 at best.")


def answer_a72(out: PageOutput) -> None:
    """A7.2: the two-layer ReLU net's outputs, the hidden space, and the document's slips."""
    xor = xor_two_layer()
    rows, slips = [], []
    for i, key in enumerate(["x1", "x2", "x3", "x4"]):
        pre, written = vec(xor["pre"][i]), vec(DOCUMENT_A72_WRITTEN[key])
        if pre != written:
            slips.append(f"{key}: {written} for {pre}")
        rows.append({"input": f"{key} = {vec(XOR_X[i])}", "W¹x + b": pre,
                     "document wrote inside max(0, ·)": written + ("" if pre == written else " ✗"),
                     "h = max(0, ·)": vec(xor["hidden"][i]), "g₂(x)": num(float(xor["out"][i])),
                     "XOR": int(XOR_Y[i])})
    solved = bool(np.allclose(xor["out"], XOR_Y))
    out.fragment("a72_table", markdown_table(pd.DataFrame(rows)))
    out.set("a72.outputs", ", ".join(f"{v:g}" for v in xor["out"]))
    out.set("a72.answer",
            f"The network's outputs for x₁…x₄ are {', '.join(f'{v:g}' for v in xor['out'])}: "
            f"{'exactly XOR' if solved else 'NOT XOR'}, and the hidden points "
            f"{', '.join(vec(h) for h in xor['hidden'])} are split by the line W²·h = ½. "
            + (f"The document's conclusion holds, but its worked lines put the wrong vector inside max(0, ·) for "
               f"{len(slips)} of 4 inputs ({'; '.join(slips)}), then continue with the right hidden values."
               if slips else "The document's worked lines agree with ours."))
    xor_figure(xor["hidden"], out)


def answer_a73(out: PageOutput, doc: DocumentValues) -> None:
    """A7.3: every quantity by the formulas and by autograd, beside the document's numbers."""
    formula, auto = backprop_by_formula(), backprop_by_autograd()
    keys = ["s3", "a3", "s4", "a4", "s5", "a5", "s6", "y_hat", "loss", "delta6", "delta3", "delta4", "delta5",
            "dL_dw31", "dL_dw32", "dL_dw41", "dL_dw42", "dL_dw51", "dL_dw52", "dL_dw63", "dL_dw64", "dL_dw65"]
    rows, mismatches, document_slips = [], [], []
    for k in keys:
        agree = math.isclose(formula[k], auto[k], abs_tol=1e-12)
        if not agree:
            mismatches.append(k)
        theirs = doc(A73_ROWS[k]) if k in A73_ROWS else None
        document_ok = theirs is None or math.isclose(theirs, formula[k], abs_tol=1e-9)
        if not document_ok:
            document_slips.append(k)
        rows.append({"quantity": symbol(k), "formula": num(formula[k]), "autograd": num(auto[k]),
                     "agree": "✓" if agree else "✗",
                     "document": "—" if theirs is None else (num(theirs) + ("" if document_ok else " ✗ (slip)"))})
    out.fragment("a73_table", markdown_table(pd.DataFrame(rows)))
    for k in A73_ROWS:
        out.measure(A73_MEASURE.format(quantity=k), formula[k])
    out.set("a73.y_hat", num(formula['y_hat']))
    out.set("a73.delta6", num(formula['delta6']))
    out.set("a73.delta3", num(formula['delta3']))
    out.set("a73.delta5", num(formula['delta5']))
    out.set("a73.dw32", num(formula['dL_dw32']))
    out.set("a73.agree", "all agree" if not mismatches else f"DISAGREE on {', '.join(mismatches)}")
    out.set("a73.answer",
            f"Formulas and autograd {'agree on all' if not mismatches else 'disagree on some of'} {len(keys)} "
            f"quantities: ŷ = {num(formula['y_hat'])}, δ₆ = {num(formula['delta6'])}, δ₃ = {num(formula['delta3'])}, "
            f"∂L/∂w₃₂ = {num(formula['dL_dw32'])}, as the document found. Its worked answer slips on "
            f"{', '.join(symbol(k) for k in document_slips) or 'nothing'}: a₅ = max(0, −4) is 0, not −4 (its s₆ then "
            "uses 0, so ŷ is unaffected); it also applies max(0, ·) to the identity output and leaves δ₅ unfinished "
            f"(δ₅ = f′(s₅)·δ₆·w₆₅ = {num(formula['delta5'])}).")


def answer_a74(ctx: Context, out: PageOutput) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """A7.4: accuracy with CIs over seeds, gradient and loss figures; returns (runs, grads, summary)."""
    runs = ctx.of("runs", EXPERIMENT)
    grads = ctx.of("grads", EXPERIMENT)
    out.set("a74.scaling", ctx.scaling_text(EXPERIMENT))
    summary = a74_summary(runs)
    table_rows = []
    for act in ("sigmoid", "relu"):
        s = summary.get(act)
        if s is None:
            continue
        for metric in A74_METRICS:
            out.measure(A74_MEASURE.format(act=act, metric=metric), s[metric], experiments=[EXPERIMENT],
                        run_ids=s["run_ids"])
        out.set(f"a74.{act}.test_acc", s["test_acc"].pct())
        out.set(f"a74.{act}.train_acc", s["train_acc"].pct())
        out.set(f"a74.{act}.n", s["test_acc"].n)
        table_rows.append({"activation": act,
                           "test accuracy (ours)": s["test_acc"].pct(),
                           "test accuracy (document)": f"{percent(document_a74(ctx.document, act, 'test_acc'), 2)}",
                           "train accuracy, running (ours)": s["train_acc"].pct(),
                           "train accuracy (document)": f"{percent(document_a74(ctx.document, act, 'train_acc'), 2)}",
                           "test loss (ours)": s["test_loss"].num(4),
                           "test loss (document)": f"{document_a74(ctx.document, act, 'test_loss'):.4f}",
                           "diverged": s["diverged"]})
    if table_rows:
        out.fragment("a74_table", markdown_table(pd.DataFrame(table_rows)))
    sig, rel = summary.get("sigmoid"), summary.get("relu")
    if sig and rel:
        near_chance = sig["test_acc"].high < POOR_UPPER if sig["test_acc"].n > 1 else sig["test_acc"].mean < POOR_UPPER
        out.set("a74.answer",
                f"After one epoch the sigmoid net reaches {sig['test_acc'].pct()} test accuracy "
                f"({'at chance level, as in' if near_chance else 'above chance, unlike'} the document's "
                f"{percent(document_a74(ctx.document, 'sigmoid', 'test_acc'), 2)}), "
                f"the ReLU net {rel['test_acc'].pct()} "
                f"(the document: {percent(document_a74(ctx.document, 'relu', 'test_acc'), 2)}).")
        batch_gradient_figure(grads, out)
        accuracy_figure(runs, out, ctx.document)
        loss_figure(ctx.of("batches", EXPERIMENT), out)
    else:
        missing = "_No A7.4 runs in this profile's configuration: nothing to show._\n"
        out.set("a74.answer", "No A7.4 runs in this profile's configuration.")
        for name in ("a74_table", "a74_accuracy", "a74_gradients", "a74_loss"):
            out.fragment(name, missing)
    return runs, grads, summary


def answer_a75(out: PageOutput, grads: pd.DataFrame, summary: dict, doc: DocumentValues) -> None:
    """A7.5: each statement decided from A7.4's measurements or from derivative curves."""
    a = a75_decisions(grads, summary)
    evidence = a75_evidence(a)
    rows = []
    for key in "abcde":
        if key not in a.ours:
            continue
        ours = a.ours[key]
        out.set(f"a75.{key}", yes_no(ours))
        # a, b and d are decided from the A7.4 runs; c and e from derivative curves alone
        out.measure(A75_MEASURE.format(statement=key), yes_no(ours), experiments=[EXPERIMENT] if key in "abd" else [])
        theirs = document_a75(doc, key)
        rows.append({"statement": key, "ours": yes_no(ours), "document": yes_no(theirs),
                     "agree": "✓" if ours == theirs else "✗", "evidence": evidence[key]})
    out.fragment("a75_table", markdown_table(pd.DataFrame(rows)))
    out.fragment("a75_derivative_table", markdown_table(a.deriv.reset_index().assign(
        **{"min": lambda f: f["min"].map("{:.5f}".format), "max": lambda f: f["max"].map("{:.5f}".format),
           "share_above_1": lambda f: f["share_above_1"].map("{:.1%}".format)}).rename(
        columns={"min": "min f′", "max": "max f′", "share_above_1": "share of [−20, 20] with f′ > 1"})))
    agreements = sum(1 for r in rows if r["agree"] == "✓")
    out.set("a75.answer", f"Our measurements give {', '.join(r['ours'][0] for r in rows)} for "
                          f"{', '.join(r['statement'] for r in rows)}; "
                          f"the document's answers agree on {agreements} of {len(rows)}.")
    derivative_figure(out)


@dataclass
class A75Decisions:
    """A7.5's statements decided (our true/false per statement) and the numbers the evidence quotes."""

    ours: dict[str, bool]  # statement -> our answer; a, b and d only when both A7.4 nets ran
    sig: dict | None  # A7.4's summary of the sigmoid net
    rel: dict | None  # and of the ReLU net
    ratio: Estimate | None  # sigmoid net: hidden layer 1's mean |∂L/∂W| over layer 3's
    deriv: pd.DataFrame  # derivative_table(), indexed by activation
    share_above_1: float  # the largest share of [−20, 20] on which any activation has f′ > 1


def a75_decisions(grads: pd.DataFrame, summary: dict) -> A75Decisions:
    """Each statement decided by its declared rule: from A7.4's runs (a, b, d) or from derivative curves (c, e)."""
    sig, rel = summary.get("sigmoid"), summary.get("relu")
    deriv = derivative_table().set_index("activation")
    sig_ratio = layer_gradient_ratio(grads, "sigmoid") if len(grads) else None
    ours, ratio = {}, None
    if sig and rel:
        ours["a"] = sig["test_acc"].high < POOR_UPPER
        ratio = sig_ratio["ratio_1_to_3"]
        ours["b"] = False  # larger gradients near the input are the opposite of vanishing; smaller, a reversed claim
        ours["d"] = (rel["test_acc"].low >= WELL_LOWER if rel["test_acc"].n > 1
                     else rel["test_acc"].mean >= WELL_LOWER)
    ours["c"] = deriv.loc["sigmoid", "max"] <= 0.25 + 1e-12
    above = deriv[deriv["share_above_1"] > 0]
    ours["e"] = bool((deriv.drop(index="sigmoid")["min"] > 1).all())
    return A75Decisions(ours, sig, rel, ratio, deriv, 100 * above["share_above_1"].max() if len(above) else 0)


def a75_evidence(a: A75Decisions) -> dict[str, str]:
    """Per decided statement, the measurement and the rule behind our answer, in words."""
    evidence = {}
    if "a" in a.ours:
        r, lower_higher = a.ratio, a.ratio.mean > 1
        evidence["a"] = (f"sigmoid test accuracy {a.sig['test_acc'].pct()}; "
                         f"rule: CI upper bound below {percent(POOR_UPPER, 0)} (2× chance)")
        evidence["b"] = (f"in the sigmoid net, hidden layer 1's mean |∂L/∂W| is {r.mean:.3g}× layer 3's "
                         f"(95 % CI {r.low:.3g}–{r.high:.3g}): the lower layers get "
                         f"{'larger' if lower_higher else 'smaller'} gradients. "
                         + ("Even so, larger gradients near the input would be the opposite of vanishing gradients, "
                            "so the inference is wrong." if lower_higher else
                            "That is what vanishing gradients look like; the statement has the direction backwards."))
        evidence["d"] = (f"ReLU test accuracy {a.rel['test_acc'].pct()}; "
                         f"rule: CI lower bound at least {percent(WELL_LOWER, 0)}")
    evidence["c"] = f"max σ′ over x ∈ [−20, 20] is {a.deriv.loc['sigmoid', 'max']:.6f} (at x = 0, σ′ = σ(1−σ) = 1/4)"
    evidence["e"] = ("no activation has f′ > 1 everywhere: ReLU's f′ is 0 or 1, tanh's at most 1, and even LeCun's "
                     f"tanh exceeds 1 only on {a.share_above_1:.1f} % of "
                     "[−20, 20]; their advantage is f′ = 1 (ReLU) or f′ near 1 around 0, not f′ > 1")
    return evidence


def build(ctx: Context, out: PageOutput) -> pd.DataFrame:
    answer_a71(out)
    answer_a72(out)
    answer_a73(out, ctx.document)
    runs, grads, summary = answer_a74(ctx, out)
    answer_a75(out, grads, summary, ctx.document)
    return runs
