"""Document 004 (Deep Learning Assignment 1): full-batch softmax and MLPs (D1.1–D1.3), L1/L2 with the
document's signed-L1 bug (D1.4), Keras-style MLPs with dropout on both data sets (D1.5–D1.6), and a
measured batch-normalisation comparison (D1.7).

The longer `answer_*` functions select their runs and fill the page in two steps: a compute function (`*_stats`)
returns the numbers (no prose, no figures) and the functions after it word them, so a statistic and its wording
can be read, tested and changed apart."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass

import matplotlib.pyplot as plt
from matplotlib import colormaps
import numpy as np
import pandas as pd
import seaborn as sns

from analysis.study.answers.common import Context, DocumentValues, PageOutput, begin, markdown_table, missing
from analysis.study.answers.questions import Measure, Question, metric_units
from analysis.study.answers.tools import (DATASET_LABEL, curve_charts, estimates, gap, line_charts, ok_runs, pp,
                                          sentence)
from analysis.study.stats import Estimate, percent

FULL, LONG, PENALTY, KERAS, DROPOUT, BN = ("d1_fullbatch", "d1_softmax_long", "d1_penalty", "d1_keras", "d1_dropout",
                                          "d1_bn")
#: the experiments this page shows (analysis.study.answers: the experiments page shows every other one)
CLAIMS = (FULL, LONG, PENALTY, KERAS, DROPOUT, BN)
FULL_METRICS = ("train_acc", "train_loss", "test_acc", "test_loss")
KERAS_METRICS = ("test_acc", "test_loss", "val_acc", "val_loss")
PENALTY_SCORED = ("test_acc", "test_loss", "test_loss_with_penalty")
#: the scorecard keys this page publishes (each section's `measures` below)
FULL_MEASURE = Measure("d1.{arch}.{metric}", metric_units(*FULL_METRICS))
PENALTY_MEASURE = Measure("d1.penalty.{penalty}.{metric}", metric_units(*PENALTY_SCORED))
#: kind: keras (no dropout) or dropout; the validation metrics are the declared variant "what Keras' fit prints last"
KERAS_MEASURE = Measure("d1.{kind}.{dataset}.m{model}.{metric}", metric_units(*KERAS_METRICS))
#: the questions this page answers, in landing-page order (analysis.study.answers.questions)
D11 = Question("D1.1", "d1-1", "d1.d11", ("d1_full_table", "d1_full_curves", "d1_width", "d1_long_table"),
               measures=(FULL_MEASURE,))
D13 = Question("D1.2–D1.3", "d1-1", "d1.layers")
D14 = Question("D1.4", "d1-4", "d1.d14", ("d1_penalty_table", "d1_penalty_curves"), short="d1.d14_short",
               measures=(PENALTY_MEASURE,))
D15 = Question("D1.5–D1.6", "d1-5", "d1.fits", ("d1_keras_table", "d1_keras_gap"), measures=(KERAS_MEASURE,))
D17 = Question("D1.7", "d1-7", "d1.d17", ("d1_bn_curves",))
QUESTIONS = (D11, D13, D14, D15, D17)
#: the architectures the document reports for D1.1-D1.3, in the order the learning-curve legend lists them, and the
#: scorecard question whose rows (`<question>-<metric>` in config/scorecard.csv) hold the document's values
FULL_SEED_ROWS = {"softmax": "D1.1", "A (300)": "D1.2", "B (300+100)": "D1.3"}
LONG_CHECKPOINTS = (200, 500, 1000, 2000)


def _hidden(runs: pd.DataFrame) -> pd.Series:
    return runs["model.hidden"].map(lambda s: tuple(json.loads(s)) if isinstance(s, str) else ())


def _arch_name(hidden: tuple) -> str:
    return {(): "softmax", (300,): "A (300)", (300, 100): "B (300+100)"}.get(
        hidden, f"{'+'.join(map(str, hidden))} ReLU")


def document_full(doc: DocumentValues, arch: str) -> dict[str, float] | None:
    """The document's D1.1-D1.3 values of an architecture (metric -> value), or None when it reports none."""
    question = FULL_SEED_ROWS.get(arch)
    return {m: doc(f"{question}-{m}") for m in FULL_METRICS} if question else None


def document_keras(doc: DocumentValues, model_no: int, dropout: float) -> tuple[float, float] | None:
    """The document's (test acc, test loss) of Keras model `model_no` (D1.5; D1.6 with dropout), or None."""
    question = "D1.6" if dropout else "D1.5"
    acc, loss = (doc.get(f"{question}-m{model_no}-{m}") for m in ("acc", "loss"))
    return None if acc is None else (acc, loss)


def _pct(v: float | None) -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{percent(v, 2)}"


def _num(v: float | None) -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"


def _penalty_label(row) -> str:
    l1, l2, form = row.get("penalty.l1"), row.get("penalty.l2"), row.get("penalty.l1_form")
    if isinstance(l1, float) and not math.isnan(l1) and l1:
        return f"L1 δ={l1:g} ({'δ·Σ|w|, correct' if form != 'signed' else 'δ·Σw, as the document wrote'})"
    if isinstance(l2, float) and not math.isnan(l2) and l2:
        return f"L2 δ={l2:g} (δ·Σw²)"
    return "none"


# ------------------------------------------------------------------ D1.1 – D1.3 ---
def answer_full(ctx: Context, out: PageOutput) -> pd.DataFrame:
    runs = begin(ctx, out, FULL, "d1.full_scaling", ["d1_full_table", "d1_full_curves", "d1_width"],
                 ["d1.d11", "d1.d12", "d1.d13", "d1.width", "d1.layers"], "full-batch")
    if runs is None:
        answer_long(ctx, out)
        return ctx.of("runs", FULL)
    d1 = full_stats(ctx, runs)
    full_table(out, d1)
    full_curves_figure(out, d1)
    if d1.gap_trend is not None:
        width_answer(out, d1)
    else:
        missing(out, ["d1_width"], "width-sweep")
        out.set("d1.width", "The width sweep has fewer than two widths in this profile.")
    depth_answers(out, d1)
    answer_long(ctx, out)
    return d1.runs


@dataclass
class FullBatch:
    """D1.1–D1.3 as numbers: the full-batch runs per architecture (over seeds) beside the document's values, and
    the width sweep."""

    runs: pd.DataFrame  # with `hidden` (tuple of widths) and `arch` (its display name)
    epochs: pd.DataFrame  # per iteration, with `arch` and `hidden`
    iterations: int
    est: dict[str, dict]  # per architecture, in run order: Estimates over seeds of FULL_METRICS, and `run_ids`
    gflops: dict[str, float]  # per architecture: mean achieved GFLOP/s of its runs
    document: dict[str, dict[str, float] | None]  # per architecture: the document's values (None when it reports none)
    widths: pd.DataFrame  # architecture A's width sweep (one hidden layer): mean final accuracies by `width`
    gap_trend: float | None  # slope of the train − test gap over the sweep, points per unit (None: < 2 widths)
    width_runs: pd.DataFrame  # the sweep's runs that trained to the end, with their `width`: what `widths` averages


def full_stats(ctx: Context, runs: pd.DataFrame) -> FullBatch:
    """Name each run's architecture, look up the document's values, and fit the width sweep's gap trend."""
    runs = runs.assign(hidden=_hidden(runs))
    runs["arch"] = runs["hidden"].map(_arch_name)
    epochs = ctx.of("epochs", FULL).merge(runs[["run_id", "arch", "hidden"]], on="run_id")
    order = list(dict.fromkeys(runs["arch"]))
    found = estimates(runs, ["arch"], FULL_METRICS)
    est = {arch: found[(arch,)] for arch in order}
    gflops = runs.groupby("arch")["gflops_per_s"].mean().to_dict() if "gflops_per_s" in runs else {}
    one_layer = ok_runs(runs[runs["hidden"].map(len) == 1])
    width_runs = one_layer.assign(width=one_layer["hidden"].map(lambda h: h[0]))
    widths = width_runs.groupby("width", as_index=False)[["final_train_acc", "final_test_acc"]].mean()
    gap_trend = None
    if len(widths) > 1:
        gap_trend = np.polyfit(widths["width"], widths["final_train_acc"] - widths["final_test_acc"], 1)[0] * 100
    return FullBatch(runs, epochs, int(runs["epochs"].max()), est, gflops,
                     {arch: document_full(ctx.document, arch) for arch in order}, widths, gap_trend, width_runs)


def full_table(out: PageOutput, d1: FullBatch) -> None:
    """Ours (mean over seeds, with its interval when there are several) beside the document's per architecture,
    and each value the scorecard compares."""
    rows = []
    for arch, e in d1.est.items():
        document = d1.document[arch]
        if document:
            for metric in FULL_METRICS:
                out.measure(FULL_MEASURE.format(arch=arch.split(' ')[0], metric=metric), e[metric],
                            experiments=[FULL], run_ids=e["run_ids"], anchor="d1-1")
        theirs = document or {}
        rows.append({"model": arch, "train acc. (ours)": e["train_acc"].pct(2),
                     "train acc. (document)": _pct(theirs.get("train_acc")),
                     "test acc. (ours)": e["test_acc"].pct(2),
                     "test acc. (document)": _pct(theirs.get("test_acc")),
                     "train loss (ours / document)": f"{e['train_loss'].num(3)} / {_num(theirs.get('train_loss'))}",
                     "test loss (ours / document)": f"{e['test_loss'].num(3)} / {_num(theirs.get('test_loss'))}",
                     "GFLOP/s": f"{d1.gflops.get(arch, math.nan):.0f}"})
    order = sorted(rows, key=lambda row: (len(row["model"]), row["model"]))
    out.fragment("d1_full_table", markdown_table(pd.DataFrame(order)))


def full_curves_figure(out: PageOutput, d1: FullBatch) -> None:
    """Accuracy and loss per iteration for the document's three architectures."""
    main = d1.epochs[d1.epochs["arch"].isin(list(FULL_SEED_ROWS))]
    long = main[main["epoch"] > 0].melt(id_vars=["run_id", "epoch", "arch"],
                                        value_vars=["train_acc", "test_acc", "train_loss", "test_loss"])
    long["split"] = long["variable"].str.split("_").str[0]
    long["metric"] = long["variable"].str.split("_").str[1]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    for ax, metric in zip(axes, ("acc", "loss")):
        d = long[long["metric"] == metric].copy()
        if metric == "acc":
            d["value"] *= 100
        sns.lineplot(data=d, x="epoch", y="value", hue="arch", style="split", ax=ax, hue_order=list(FULL_SEED_ROWS),
                     errorbar=("pi", 100))
        ax.set_xlabel("full-batch iteration")
        ax.set_ylabel("accuracy (%)" if metric == "acc" else "loss (NLL)")
        ax.legend(fontsize=7)
    out.figure(fig, "d1_full_curves",
               "D1.1–D1.3 — accuracy and loss per full-batch Adam iteration (train: loss of the "
               f"batch before the step; test: after it), {d1.iterations} iterations; line: mean over seeds, band: "
               "their range.")
    shown = long.assign(value=long["value"].where(long["metric"] != "acc", 100 * long["value"]))
    charts = "".join(curve_charts(shown[shown["metric"] == metric], "arch", None, [None], None, list(FULL_SEED_ROWS),
                                  label, "full-batch iteration", {None: title})
                     for metric, label, title in (("acc", "accuracy (%)", "accuracy"), ("loss", "loss (NLL)", "loss")))
    out.interactive("d1_full_curves", charts, shown.drop(columns=["variable"]))


def width_answer(out: PageOutput, d1: FullBatch) -> None:
    """Architecture A's width sweep: the figure and the sentence on how accuracy and overfitting move with width."""
    widths = d1.widths
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(widths["width"], 100 * widths["final_train_acc"], marker="o", label="train")
    ax.plot(widths["width"], 100 * widths["final_test_acc"], marker="s", label="test")
    ax2 = ax.twinx()
    ax2.bar(widths["width"], 100 * (widths["final_train_acc"] - widths["final_test_acc"]), width=30, alpha=0.25,
            color="grey", label="train − test gap")
    ax2.set_ylabel("train − test gap (points)")
    ax.set_xlabel("hidden ReLU units (architecture A)")
    ax.set_ylabel(f"accuracy after {d1.iterations} iterations (%)")
    ax.legend(loc="lower right")
    out.figure(fig, "d1_width", "D1.2 — architecture A's width sweep: final train and test accuracy (lines, mean "
               "over seeds) and their gap (bars).")
    per_run = d1.width_runs.assign(train=100 * d1.width_runs["final_train_acc"],
                                   test=100 * d1.width_runs["final_test_acc"])
    per_run["train − test gap"] = per_run["train"] - per_run["test"]
    long = per_run.melt(id_vars=["run_id", "width"], value_vars=["train", "test", "train − test gap"],
                        var_name="measure", value_name="value")
    out.interactive("d1_width", line_charts(
        long, "width", "value", "measure", hue_order=["train", "test", "train − test gap"],
        x_label="hidden ReLU units", y_label="accuracy or gap (points)",
        default_title=f"architecture A after {d1.iterations} iterations"), long)
    out.set("d1.width", f"From {widths['width'].min()} to {widths['width'].max()} units the test accuracy "
            f"goes from {_pct(widths['final_test_acc'].iloc[0])} to {_pct(widths['final_test_acc'].iloc[-1])} "
            "and the train–test gap "
            f"from {100 * (widths['final_train_acc'] - widths['final_test_acc']).iloc[0]:.2f} to "
            f"{100 * (widths['final_train_acc'] - widths['final_test_acc']).iloc[-1]:.2f} points "
            f"({d1.gap_trend * 100:+.2f} points per 100 units).")


def depth_answers(out: PageOutput, d1: FullBatch) -> None:
    """D1.1–D1.3 one sentence each (ours against the document's), and what each added layer changes."""
    for key, arch in (("d11", "softmax"), ("d12", "A (300)"), ("d13", "B (300+100)")):
        if arch not in d1.est:
            out.set(f"d1.{key}", f"{arch} was not run in this profile.")
            continue
        e, document = d1.est[arch], d1.document[arch]
        out.set(f"d1.{key}", f"After {d1.iterations} full-batch iterations {arch} reaches "
                f"{e['test_acc'].pct(2)} test accuracy (loss {e['test_loss'].mean:.3f}) and "
                f"{_pct(e['train_acc'].mean)} on the training set; the document "
                f"reports {_pct(document['test_acc'])} ({document['test_loss']:.3f}) and "
                f"{_pct(document['train_acc'])}: a "
                f"difference of {100 * (e['test_acc'].mean - document['test_acc']):+.2f} points on test.")
    if {"softmax", "A (300)", "B (300+100)"} <= set(d1.est):
        accs = [d1.est[a]["test_acc"].mean for a in ("softmax", "A (300)", "B (300+100)")]
        out.set("d1.layers", f"Going from 1 to 2 to 3 layers moves test accuracy {_pct(accs[0])} → {_pct(accs[1])} → "
                f"{_pct(accs[2])}: the hidden layer adds {100 * (accs[1] - accs[0]):+.2f} points, the second one "
                f"{100 * (accs[2] - accs[1]):+.2f}.")
    else:
        out.set("d1.layers", "Not all three depths ran in this profile.")


def answer_long(ctx: Context, out: PageOutput) -> None:
    runs = ctx.of("runs", LONG)
    if not runs.empty:  # the mean over the seeds that did not diverge, per iteration
        epochs = ctx.of("epochs", LONG)
        epochs = epochs[epochs["run_id"].isin(ok_runs(runs)["run_id"])]
        epochs = epochs.groupby("epoch", as_index=False)[["train_acc", "test_acc", "train_loss", "test_loss"]].mean()
    else:
        epochs = pd.DataFrame()
    if epochs.empty:
        missing(out, ["d1_long_table"], "long softmax")
        out.set("d1.long", "The 2,000-iteration softmax run is not part of this profile.")
        return
    rows = []
    for it in LONG_CHECKPOINTS:
        e = epochs[epochs["epoch"] == it]
        if e.empty:
            continue
        e = e.iloc[0]
        rows.append({"iterations": it, "train acc.": _pct(e["train_acc"]), "test acc.": _pct(e["test_acc"]),
                     "train loss": f"{e['train_loss']:.3f}", "test loss": f"{e['test_loss']:.3f}"})
    out.fragment("d1_long_table", markdown_table(pd.DataFrame(rows)))
    if len(rows) >= 2:
        first, last = rows[0], rows[-1]
        a0 = epochs[epochs["epoch"] == first["iterations"]]["test_acc"].iloc[0]
        a1 = epochs[epochs["epoch"] == last["iterations"]]["test_acc"].iloc[0]
        out.set("d1.long", f"From {first['iterations']} to {last['iterations']} iterations the softmax classifier's "
                f"test accuracy moves {100 * (a1 - a0):+.2f} points (the document: 'less than 5 %'), "
                f"its test loss from "
                f"{first['test loss']} to {last['test loss']}.")
    else:
        out.set("d1.long", "The long run is shorter than 500 iterations in this profile.")


# ------------------------------------------------------------------------- D1.4 ---
def answer_penalty(ctx: Context, out: PageOutput) -> pd.DataFrame:
    runs = begin(ctx, out, PENALTY, "d1.penalty_scaling", D14.fragments, ["d1.d14", "d1.d14_short"], "penalty")
    if runs is None:
        return ctx.of("runs", PENALTY)
    d1 = penalty_stats(runs, ctx.of("epochs", PENALTY))
    penalty_table(out, d1.runs)
    penalty_figure(out, d1.epochs)
    parts = [_penalty_part(label, l1, group) for label, frame in (("correct", d1.correct), ("signed", d1.signed))
             for l1, group in frame.groupby("penalty.l1")]
    neg, signed = d1.negative, ok_runs(d1.signed)  # a diverged run's penalty is not a number: not counted
    out.set("d1.d14_short", f"The document's signed L1 term δ·Σw went negative in {len(neg)} of {len(signed)} runs"
            + (" (δ·Σ|w| cannot): its loss can sit below the unpenalised one." if len(neg) else "."))
    out.set("d1.d14", sentence(parts) + " " + (
        f"The document's signed form gives a negative penalty ({len(neg)} of {len(signed)} runs), so its reported "
        f"loss {ctx.document('D1.4-l1_signed-loss')} can sit below the unpenalised loss for the wrong reason."
        if len(neg) else "The signed form's penalty stayed non-negative here."))
    return d1.runs


def _penalty_part(label: str, l1: float, runs: pd.DataFrame) -> str:
    """'signed L1 at δ=1e-05: 87.07 % (penalty term -0.0123)': means over the runs that did not diverge."""
    ok = ok_runs(runs)
    if ok.empty:
        return f"{label} L1 at δ={l1:g}: diverged"
    text = (f"{label} L1 at δ={l1:g}: {_pct(ok['final_test_acc'].mean())} "
            f"(penalty term {ok['final_train_penalty'].mean():.3g})")
    return text + (f" — {len(runs) - len(ok)} of {len(runs)} runs diverged" if len(ok) < len(runs) else "")


#: (L1 form, δ) -> the scorecard's name for a penalty setting the document ran (L2 at δ = 10⁻³ is "l2")
PENALTY_KEYS = {("abs", 1e-5): "l1_abs", ("signed", 1e-5): "l1_signed", ("abs", 1.0): "l1_abs_1",
                ("signed", 1.0): "l1_signed_1"}


@dataclass
class PenaltyStats:
    """D1.4's runs labelled by penalty, and what the document's signed L1 term did."""

    runs: pd.DataFrame  # with `penalty`, a label per setting
    epochs: pd.DataFrame  # per iteration, with the run's `penalty` label
    correct: pd.DataFrame  # L1 as δ·Σ|w|, by δ
    signed: pd.DataFrame  # the document's L1 as δ·Σw, by δ
    negative: pd.DataFrame  # signed runs that trained to the end with their penalty term below zero


def penalty_stats(runs: pd.DataFrame, epochs: pd.DataFrame) -> PenaltyStats:
    """Label each run by its penalty, and pick out the signed L1 runs whose penalty went negative."""
    runs = runs.assign(penalty=runs.apply(_penalty_label, axis=1))
    signed = runs[(runs["penalty.l1_form"] == "signed")].sort_values("penalty.l1")
    correct = runs[(runs["penalty.l1_form"] == "abs")].sort_values("penalty.l1")
    return PenaltyStats(runs, epochs.merge(runs[["run_id", "penalty"]], on="run_id"), correct, signed,
                        ok_runs(signed)[ok_runs(signed)["final_train_penalty"] < 0])


def penalty_key(row) -> str | None:
    """The scorecard's name for a run's penalty setting (None: a setting the document did not run)."""
    name = PENALTY_KEYS.get((row.get("penalty.l1_form"), row.get("penalty.l1")))
    if name is None and row.get("penalty.l2") == 1e-3:
        name = "l2"
    return name


#: D1.4's table and scorecard values per penalty setting, as `final_<metric>` columns of the runs
PENALTY_METRICS = ("test_acc", "test_loss", "train_loss", "train_penalty", "train_loss_with_penalty",
                   "test_loss_with_penalty")


def _shown(e: Estimate, as_percent: bool = False) -> str:
    return "—" if e.n == 0 else e.pct(2) if as_percent else e.num(3)


def penalty_table(out: PageOutput, runs: pd.DataFrame) -> None:
    """Per penalty setting (mean over seeds; diverged runs counted, not averaged): the data loss and the penalty
    term apart, and the values the scorecard compares with the document's."""
    penalty = runs["final_train_penalty"].fillna(0.0)
    runs = runs.assign(final_train_loss_with_penalty=runs["final_train_loss"] + penalty,
                       final_test_loss_with_penalty=runs["final_test_loss"] + penalty)
    found = estimates(runs, ["penalty"], PENALTY_METRICS)
    rows = []
    for label, group in runs.groupby("penalty", sort=False):
        e, name = found[(label,)], penalty_key(group.iloc[0])
        if name:
            behind = {"experiments": [PENALTY], "run_ids": e["run_ids"], "anchor": "d1-4"}
            for metric in PENALTY_SCORED:
                out.measure(PENALTY_MEASURE.format(penalty=name, metric=metric), e[metric], **behind)
        diverged = f" ({e['diverged']} diverged)" if e["diverged"] else ""
        rows.append({"penalty": label, "runs": f"{len(group)}{diverged}",
                     "test acc.": _shown(e["test_acc"], as_percent=True),
                     "test loss (data term)": _shown(e["test_loss"]),
                     "train loss without penalty": _shown(e["train_loss"]),
                     "penalty term": _shown(e["train_penalty"]),
                     "train loss with penalty": _shown(e["train_loss_with_penalty"])})
    out.fragment("d1_penalty_table", markdown_table(pd.DataFrame(rows)))


def penalty_figure(out: PageOutput, epochs: pd.DataFrame) -> None:
    """Test accuracy and the objective actually minimised, per penalty: the signed term runs away below zero."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.2))
    trained = epochs[epochs["epoch"] > 0].assign(objective=lambda f: f["train_loss"] + f["train_penalty"].fillna(0))
    mean = trained.groupby(["penalty", "epoch"], as_index=False)[["test_acc", "objective"]].mean()
    for label, g in mean.groupby("penalty"):
        axes[0].plot(g["epoch"], 100 * g["test_acc"], label=label)
        axes[1].plot(g["epoch"], g["objective"], label=label)
    axes[0].set_ylabel("test accuracy (%)")
    axes[1].set_ylabel("training objective: data loss + penalty")
    axes[1].set_yscale("symlog", linthresh=1.0)
    for ax in axes:
        ax.set_xlabel("full-batch iteration")
        ax.legend(fontsize=7)
    out.figure(fig, "d1_penalty_curves", "D1.4 — architecture B under each penalty (mean over seeds): test accuracy "
               "and the objective actually minimised (data loss + penalty; symmetric-log scale). The document's signed "
               "L1 term δ·Σw is unbounded below: the optimiser can lower it forever by pushing weights negative.")
    drawn = trained.assign(test_acc=100 * trained["test_acc"])[["penalty", "run_id", "epoch", "test_acc", "objective"]]
    out.interactive("d1_penalty_curves", line_charts(
        drawn, "epoch", "test_acc", "penalty", x_label="full-batch iteration", y_label="test accuracy (%)",
        default_title="test accuracy") + line_charts(
        drawn, "epoch", "objective", "penalty", x_label="full-batch iteration",
        y_label="data loss + penalty", default_title="the objective minimised (linear scale)"), drawn)


# ------------------------------------------------------------------ D1.5 – D1.7 ---
def answer_keras(ctx: Context, out: PageOutput) -> pd.DataFrame:
    runs = pd.concat([ctx.of("runs", KERAS), ctx.of("runs", DROPOUT)], ignore_index=True).drop_duplicates("run_id")
    out.set("d1.keras_scaling", ctx.scaling_text(KERAS))
    if runs.empty:
        missing(out, D15.fragments, "Keras-style")
        for key in ("d15", "d16", "fits"):
            out.set(f"d1.{key}", "No Keras-style runs in this profile's configuration.")
        return runs
    d1 = keras_stats(ctx, runs)
    keras_table(out, d1)
    g = sns.relplot(data=d1.gap_curves, x="epoch", y="gap", hue="model_no", style="dropout", col="dataset",
                    kind="line", palette="viridis", height=3.8, aspect=1.3, errorbar=None)
    g.set_axis_labels("epoch", "train − validation accuracy (points)")
    out.figure(g.figure, "d1_keras_gap", "D1.5–D1.6 — the train–validation accuracy gap per epoch for models 1–5 "
               "(colour) without (solid) and with dropout 0.3 (dashed). Rising lines are overfitting.")
    models = sorted(d1.gap_curves["model_no"].unique())
    datasets = sorted(d1.gap_curves["dataset"].unique())
    drawn = d1.gap_curves.assign(model=lambda f: "model " + f["model_no"].astype(str),
                                 dropout=lambda f: "dropout " + f["dropout"].astype(str))
    low, high = min(models), max(models)  # seaborn maps a numeric hue over the whole colour map
    shades = {f"model {m}": colormaps["viridis"]((m - low) / ((high - low) or 1)) for m in models}
    out.interactive("d1_keras_gap", line_charts(
        drawn, "epoch", "gap", "model", style="dropout", facet="dataset", facets=datasets, palette=shades,
        dashes=dict(zip(sorted(drawn["dropout"].unique()), ("", "5 3", "2 2"))),
        hue_order=list(shades), x_label="epoch", y_label="train − validation accuracy (points)"),
        drawn[["dataset", "model", "dropout", "run_id", "epoch", "gap"]])
    keras_answers(ctx, out, d1)
    return d1.runs


@dataclass
class KerasStats:
    """D1.5–D1.6 as numbers: the Keras-style models per data set and dropout, and how near the document's values lie."""

    runs: pd.DataFrame  # the d1_keras and d1_dropout runs, with `model_no` (hidden layers + 1)
    est: dict[tuple, dict]  # per (dataset, model_no, dropout), in that order
    document: dict[tuple, tuple[float, float] | None]  # same keys: the document's (test acc, loss), if any
    gap_curves: pd.DataFrame  # per run and epoch: `gap`, train − validation accuracy in points
    mean_dist: dict[str, float]  # per dataset: mean |ours − document's| test accuracy over its models
    plain: dict[int, dict | None]  # models 1–5 on Fashion-MNIST without dropout: their estimates
    dropout_gain: list[tuple[int, Estimate]]  # models 4, 5 on Fashion-MNIST: test accuracy with − without dropout


def keras_stats(ctx: Context, runs: pd.DataFrame) -> KerasStats:
    """Seed-averaged results per model, their distance to the document's per data set, and dropout's effect."""
    runs = runs.assign(model_no=_hidden(runs).map(len) + 1)
    est = dict(sorted(estimates(runs, ["dataset", "model_no", "dropout"],
                                ["test_acc", "test_loss", "train_acc", "val_acc", "val_loss"]).items()))
    document = {key: document_keras(ctx.document, key[1], key[2]) for key in est}
    distance: dict[str, list[float]] = {}
    for key, e in est.items():
        if document[key]:
            distance.setdefault(key[0], []).append(abs(e["test_acc"].mean - document[key][0]))
    epochs = pd.concat([ctx.of("epochs", KERAS), ctx.of("epochs", DROPOUT)]).drop_duplicates(["run_id", "epoch"])
    epochs = epochs.merge(runs[["run_id", "model_no"]], on="run_id")
    fm = runs["dataset"] == "fashion_mnist"
    return KerasStats(
        runs=runs, est=est, document=document,
        gap_curves=epochs[epochs["epoch"] > 0].assign(gap=lambda f: 100 * (f["train_acc"] - f["val_acc"])),
        mean_dist={d: float(np.mean(v)) for d, v in distance.items()},
        plain={m: est.get(("fashion_mnist", m, 0.0)) for m in range(1, 6)},
        dropout_gain=[(m, gap(runs, fm & (runs["model_no"] == m) & (runs["dropout"] > 0),
                              fm & (runs["model_no"] == m) & (runs["dropout"] == 0))) for m in (4, 5)])


def keras_table(out: PageOutput, d1: KerasStats) -> None:
    """Ours beside the document's per data set, model and dropout (and each value the scorecard compares)."""
    rows = []
    for (dataset, model_no, dropout), e in d1.est.items():
        document = d1.document[dataset, model_no, dropout]
        kind = "dropout" if dropout else "keras"
        behind = {"experiments": [DROPOUT if dropout else KERAS], "run_ids": e["run_ids"], "anchor": "d1-5"}
        for metric in KERAS_METRICS:
            out.measure(KERAS_MEASURE.format(kind=kind, dataset=dataset, model=model_no, metric=metric), e[metric],
                        **behind)
        rows.append({"data set": DATASET_LABEL[dataset], "model": model_no, "dropout": dropout,
                     "test acc. (ours)": e["test_acc"].pct(2),
                     "test acc. (document)": _pct(document[0]) if document else "—",
                     "test loss (ours)": e["test_loss"].num(3),
                     "test loss (document)": f"{document[1]:.2f}" if document else "—",
                     "train − val. gap": f"{100 * (e['train_acc'].mean - e['val_acc'].mean):+.2f} pp"})
    out.fragment("d1_keras_table", markdown_table(pd.DataFrame(rows)))


def keras_answers(ctx: Context, out: PageOutput, d1: KerasStats) -> None:
    """Which data set the document's numbers fit (D1.5), the models' accuracies, and what dropout changed (D1.6)."""
    mean_dist = d1.mean_dist
    if len(mean_dist) == 2:
        fit = min(mean_dist, key=mean_dist.get)
        out.set("d1.fits", f"The document's part-B accuracies lie on average {100 * mean_dist['fashion_mnist']:.2f} "
                f"points from our Fashion-MNIST results and {100 * mean_dist['mnist']:.2f} points from our MNIST "
                "results: they fit "
                f"{DATASET_LABEL[fit]} better" + (", though neither closely." if mean_dist[fit] > 0.02 else "."))
    else:
        out.set("d1.fits", "Only one data set ran in this profile: which one the document used cannot be decided.")
    plain = d1.plain
    if all(plain.values()):
        out.set("d1.d15", "On Fashion-MNIST models 1 to 5 reach " + ", ".join(
            f"{100 * plain[m]['test_acc'].mean:.2f}" for m in range(1, 6)) + " % test accuracy (the document: "
            + ", ".join(
            f"{100 * ctx.document(f'D1.5-m{m}-acc'):.2f}" for m in range(1, 6)) + " %).")
    else:
        out.set("d1.d15", "Not every model ran on Fashion-MNIST in this profile.")
    drop = d1.dropout_gain
    if all(d.n for _, d in drop):
        out.set("d1.d16", "Dropout 0.3 changes Fashion-MNIST test accuracy by " + " and ".join(
            f"{100 * d.mean:+.2f} points for model {m}" for m, d in drop) + ".")
    else:
        out.set("d1.d16", "The dropout variants did not run in this profile.")


def answer_bn(ctx: Context, out: PageOutput) -> pd.DataFrame:
    runs = ctx.of("runs", BN)
    if runs.empty or runs["norm"].nunique() < 2:
        missing(out, D17.fragments, "BN comparison")
        out.set("d1.d17", "The with/without-BN pair did not run in this profile.")
        return runs
    e = estimates(runs, ["norm"], ["test_acc", "test_loss", "val_loss"])
    diff = gap(runs, runs["norm"] == "batchnorm", runs["norm"] == "none")
    epochs = ctx.of("epochs", BN)
    epochs = epochs[epochs["epoch"] > 0]
    best_epoch = epochs.loc[epochs.groupby("run_id")["val_loss"].idxmin()].groupby("norm")["epoch"].mean()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for norm, g in epochs.groupby("norm"):
        label = "with BN" if norm == "batchnorm" else "without BN"
        mean = g.groupby("epoch")[["train_loss", "val_loss", "val_acc"]].mean()
        axes[0].plot(mean.index, mean["train_loss"], ls="-", label=f"{label}: train")
        axes[0].plot(mean.index, mean["val_loss"], ls="--", label=f"{label}: validation")
        axes[1].plot(mean.index, 100 * mean["val_acc"], label=label)
    axes[0].set_ylabel("loss (NLL)")
    axes[1].set_ylabel("validation accuracy (%)")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.legend(fontsize=8)
    out.figure(fig, "d1_bn_curves", "D1.7 — model 4 (512-256-128 ReLU, Adam, batch 256) with and without batch "
               "normalisation: training and validation loss, and validation accuracy per epoch.")
    labelled = epochs.assign(norm=epochs["norm"].map({"batchnorm": "with BN", "none": "without BN"}),
                             val_acc=100 * epochs["val_acc"])
    losses = labelled.melt(id_vars=["run_id", "norm", "epoch"], value_vars=["train_loss", "val_loss"],
                           var_name="split", value_name="value")
    losses["split"] = losses["split"].map({"train_loss": "train", "val_loss": "validation"})
    out.interactive("d1_bn_curves", line_charts(
        losses, "epoch", "value", "norm", style="split", x_label="epoch", y_label="loss (NLL)",
        default_title="training and validation loss") + line_charts(
        labelled, "epoch", "val_acc", "norm", x_label="epoch", y_label="validation accuracy (%)",
        default_title="validation accuracy"),
        pd.concat([losses, labelled[["run_id", "norm", "epoch", "val_acc"]]], ignore_index=True))
    out.set("d1.d17", f"With BN model 4 reaches {e[('batchnorm',)]['test_acc'].pct(2)} test accuracy against "
            f"{e[('none',)]['test_acc'].pct(2)} without ({pp(diff)}); its validation loss is lowest at epoch "
            f"{best_epoch.get('batchnorm', math.nan):.0f} with BN and {best_epoch.get('none', math.nan):.0f} without.")
    return runs


def build(ctx: Context, out: PageOutput) -> pd.DataFrame:
    out.set("d1.full_protocol", ctx.protocol_text(FULL))
    out.set("d1.keras_protocol", ctx.protocol_text(KERAS))
    widest = max((s["model"]["hidden"] for s in ctx.specs(KERAS)), key=len, default=[])
    out.set("d1.keras_widths", ", ".join(map(str, widest)) or "(none in this profile)")
    frames = [answer_full(ctx, out), ctx.of("runs", LONG), answer_penalty(ctx, out), answer_keras(ctx, out),
              answer_bn(ctx, out)]
    frames = [f for f in frames if len(f)]
    if not frames:
        return ctx.table("runs").iloc[0:0]
    return pd.concat(frames, ignore_index=True).drop_duplicates("run_id")
