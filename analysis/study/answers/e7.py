"""Document 000 (Exercise 7): sigmoid CNN, batch normalisation, activation histograms (E7.1–E7.3),
and Ioffe & Szegedy's Figure 1 (the paper the sheet cites).

The longer `answer_*` functions select their runs and fill the page in two steps: a compute function (`*_stats`)
returns the numbers (no prose, no figures) and the functions after it word them, so a statistic and its wording
can be read, tested and changed apart."""
from __future__ import annotations

import math
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.study.answers.common import Context, PageOutput, markdown_table, missing
from analysis.study.answers.questions import Measure, Question
from analysis.study.answers.tools import (DATASET_LABEL, compare_word, curves_figure, epochs_to, epochs_to_text,
                                          estimates, final_values, gap, line_charts, pp, sentence, variant_label,
                                          variant_palette)
from analysis.study.svg_chart import Series, heatmap, line_chart
from analysis.study.figures import LAYER_PALETTE
from analysis.study.stats import (SUPPORTED, ClaimTest, Estimate, diff_ci, direction_test, equivalence_test, mean_ci,
                                  percent, ratio_greater, within)

CNN, BN_PAPER = "e7_cnn", "bn_paper_fig1"
#: the experiments this page shows (analysis.study.answers: the experiments page shows every other one)
CLAIMS = (CNN, BN_PAPER)
#: the document's observations (it gave screenshots, no numbers)
DOCUMENT_OBSERVATIONS = {
    "sigmoid_train_similar": "sigmoid: training accuracy similar to ReLU",
    "sigmoid_val_noisy": "sigmoid: validation accuracy noisier",
    "bn_reaches": "sigmoid+BN reaches a similar validation accuracy to ReLU",
    "converge_20": "both converge around epoch 20",
}
#: the scorecard key each observation is published under (E7.2's section measures them)
CLAIM_MEASURES = {key: Measure(f"e7.claim.{key}", "claim") for key in DOCUMENT_OBSERVATIONS}
#: the questions this page answers, in landing-page order (analysis.study.answers.questions)
E71 = Question("E7.1", "e7-1", "e7.e71", ("e7_table", "e7_curves", "e7_loss_curves"))
E72 = Question("E7.2", "e7-2", "e7.e72", ("e7_seed",), measures=tuple(CLAIM_MEASURES.values()))
E73 = Question("E7.3", "e7-3", "e7.e73", ("e7_hist_fashion_mnist", "e7_hist_mnist", "e7_saturation",
                                         "e7_preactivation"), figure="e7_hist_fashion_mnist")
BN_FIGURE = Question("BN paper, Fig. 1", "bn-figure-1", "bn.answer", ("bn_table", "bn_figure"), figure="bn_figure")
QUESTIONS = (E71, E72, E73, BN_FIGURE)
VARIANTS = ["relu", "sigmoid", "sigmoid+BN", "relu+BN"]
#: validation accuracy that counts as "trained" for epochs-to-X, per data set (declared, not fitted)
EPOCHS_TO = {"fashion_mnist": 0.85, "mnist": 0.97}
#: what the document's word "similar" is taken to mean: the whole CI of the difference within ± this many points
SIMILAR_PP = 2.0


def _label(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame["variant"] = variant_label(frame)
    return frame


#: "converges around epoch 20": the mean best validation epoch within 20 ± this many epochs (declared, not fitted)
CONVERGE_EPOCH, CONVERGE_BAND = 20, 5


def similar(runs: pd.DataFrame, a: pd.Series, b: pd.Series, metric: str = "test_acc") -> ClaimTest:
    """An equivalence test of 'about the same' within ±SIMILAR_PP points, on the final `metric` of the runs in
    `a` against those in `b`: supported when the 90 % CI of the difference lies inside the margin (two one-sided
    tests), contradicted when the 95 % CI lies wholly outside it, inconclusive otherwise or with one run per arm."""
    x, y = final_values(runs, a, metric), final_values(runs, b, metric)
    margin = SIMILAR_PP / 100
    return equivalence_test(diff_ci(x, y), diff_ci(x, y, 0.90), -margin, margin)


# ------------------------------------------------------------------ E7.1 / E7.2 ---
def answer_curves(ctx: Context, out: PageOutput, runs: pd.DataFrame, epochs: pd.DataFrame) -> None:
    if runs.empty:
        missing(out, E71.fragments, "E7 CNN")
        out.set("e7.e71", "No E7 runs in this profile's configuration.")
        out.set("e7.e72", "No E7 runs in this profile's configuration.")
        return
    e7 = curves_stats(runs, epochs)
    horizon = e7.horizon
    rows = curves_rows(out, e7)
    e71, e72 = curves_clauses(e7)
    if not rows:
        missing(out, E71.fragments, "E7 CNN")
        out.set("e7.e71", "No E7 runs in this profile's configuration.")
        out.set("e7.e72", "No E7 runs in this profile's configuration.")
        return
    out.fragment("e7_table", markdown_table(pd.DataFrame(rows)))
    out.set("e7.e71", sentence(e71) or "Not measured in this profile.")
    out.set("e7.e72", sentence(e72) or "Not measured in this profile.")
    out.set("e7.epochs", horizon)
    order = [v for v in VARIANTS if v in set(epochs["variant"])]
    curves_figure(epochs, "variant", "dataset", out, "e7_curves",
                  "E7.1–E7.2 — accuracy per epoch (solid train, dashed validation, dotted test). Line: mean over "
                  "seeds; band: range over seeds. Compare the red (sigmoid) curves with the dark red (sigmoid+BN) "
                  "and the blue ReLU ones.", palette=variant_palette(order), hue_order=order)
    curves_figure(epochs, "variant", "dataset", out, "e7_loss_curves",
                  "E7.1–E7.2 — loss per epoch, same runs and line styles.", metric="loss",
                  palette=variant_palette(order), hue_order=order)


@dataclass
class CurvesStats:
    """E7.1–E7.2 as numbers, per data set and variant, so the table and the sentences only word them."""

    est: dict[tuple, dict]  # estimates per (dataset, variant)
    horizon: int  # epochs trained
    datasets: list[str]  # those that ran, Fashion-MNIST first
    reach: dict[tuple[str, str], pd.Series]  # (dataset, variant) -> per run, first epoch at the val. threshold
    gap: dict[tuple[str, str], Estimate]  # (dataset, variant) -> final test accuracy minus the ReLU-CNN's
    level: dict[tuple[str, str], ClaimTest]  # (dataset, variant) -> equivalence with the ReLU-CNN (±SIMILAR_PP)


def curves_stats(runs: pd.DataFrame, epochs: pd.DataFrame) -> CurvesStats:
    """Seed-averaged accuracies, epochs to the declared threshold, and every variant's gap to the ReLU-CNN."""
    est = estimates(runs, ["dataset", "variant"], ["test_acc", "val_acc", "train_acc", "test_loss"])
    datasets = [d for d in ("fashion_mnist", "mnist") if d in set(runs["dataset"])]
    reach, gaps, level = {}, {}, {}
    for dataset in datasets:
        on = runs["dataset"] == dataset
        to_x = epochs_to(epochs[epochs["dataset"] == dataset], "val_acc", EPOCHS_TO[dataset])
        for variant in VARIANTS:
            reach[dataset, variant] = to_x.reindex(runs[on & (runs["variant"] == variant)]["run_id"])
            if variant != "relu":
                arm, relu = on & (runs["variant"] == variant), on & (runs["variant"] == "relu")
                gaps[dataset, variant] = gap(runs, arm, relu)
                level[dataset, variant] = similar(runs, arm, relu)
    return CurvesStats(est, int(runs["epochs"].max()), datasets, reach, gaps, level)


def curves_rows(out: PageOutput, e7: CurvesStats) -> list[dict]:
    """The E7 table's rows, each variant's accuracy and epochs-to-threshold also set as page variables."""
    rows = []
    for dataset in e7.datasets:
        threshold = EPOCHS_TO[dataset]
        for variant in VARIANTS:
            e = e7.est.get((dataset, variant))
            if e is None:
                continue
            reach = epochs_to_text(e7.reach[dataset, variant], e7.horizon)
            rows.append({"data set": DATASET_LABEL[dataset], "variant": variant, "test accuracy": e["test_acc"].pct(),
                         "gap to ReLU-CNN (test)": "—" if variant == "relu" else pp(e7.gap[dataset, variant]),
                         "reaches the val. threshold": f"{percent(threshold, 0)}: {reach}", "diverged": e["diverged"]})
            out.set(f"e7.{dataset}.{variant.replace('+', '_')}.test_acc", e["test_acc"].pct())
            out.set(f"e7.{dataset}.{variant.replace('+', '_')}.epochs_to", reach)
    return rows


def level_words(test: ClaimTest, gap_text: str) -> str:
    """'level with' only from an equivalence test that passed; otherwise above / below (95 % CI off zero), 'no
    difference detected from' (it straddles zero), and never a verdict from one run per arm."""
    est = test.ci95
    if est.n < 2 or math.isnan(est.low):
        return f"not compared, one run per arm, with ({gap_text})"
    if test.verdict == SUPPORTED:
        return f"level with (equivalent within ±{SIMILAR_PP:g} points: {gap_text})"
    word = compare_word(est, "above", "below", "with no difference detected from")
    return f"{word} ({gap_text})"


def reach_words(test: ClaimTest) -> str:
    """Does sigmoid+BN reach ReLU level? Only an equivalence test says 'reaches'."""
    if test.verdict == SUPPORTED:
        return f"it reaches ReLU level: the 90 % CI lies within ±{SIMILAR_PP:g} points"
    if test.verdict == "contradicted":
        return f"it does not reach ReLU level: the 95 % CI lies wholly beyond ±{SIMILAR_PP:g} points"
    return f"whether it reaches ReLU level is inconclusive ({test.why})"


def curves_clauses(e7: CurvesStats) -> tuple[list[str], list[str]]:
    """Per data set, the E7.1 clause (sigmoid against ReLU) and the E7.2 clause (sigmoid+BN against ReLU)."""
    est, horizon, e71, e72 = e7.est, e7.horizon, [], []
    for dataset in e7.datasets:
        name, sig_gap, bn_gap = DATASET_LABEL[dataset], e7.gap[dataset, "sigmoid"], e7.gap[dataset, "sigmoid+BN"]
        if (dataset, "sigmoid") in est and (dataset, "relu") in est:
            gap_text = (f"{est[(dataset, 'sigmoid')]['test_acc'].pct()} vs {est[(dataset, 'relu')]['test_acc'].pct()}"
                        f", gap {pp(sig_gap)}")
            e71.append(f"on {name} the sigmoid CNN ends {level_words(e7.level[dataset, 'sigmoid'], gap_text)} the "
                       f"ReLU-CNN after {horizon} epochs; "
                       f"{percent(EPOCHS_TO[dataset], 0)} validation accuracy: the sigmoid CNN "
                       f"{epochs_to_text(e7.reach[dataset, 'sigmoid'], horizon)}, "
                       f"the ReLU-CNN "
                       f"{epochs_to_text(e7.reach[dataset, 'relu'], horizon)}")
        if (dataset, "sigmoid+BN") in est and (dataset, "relu") in est:
            e72.append(f"on {name} batch normalisation lifts the sigmoid CNN to "
                       f"{est[(dataset, 'sigmoid+BN')]['test_acc'].pct()} (gap to the ReLU-CNN {pp(bn_gap)}: "
                       f"{reach_words(e7.level[dataset, 'sigmoid+BN'])})")
    return e71, e72


def val_noise(epochs: pd.DataFrame) -> pd.DataFrame:
    """Per run: the std of its validation accuracy's epoch-to-epoch change (one value per seed, so the claim gets
    an interval over seeds)."""
    fm = epochs[epochs["epoch"] > 0].sort_values("epoch")
    return fm.groupby(["variant", "run_id"])["val_acc"].apply(lambda s: s.diff().std()).rename("noise").reset_index()


def best_epochs(epochs: pd.DataFrame) -> pd.DataFrame:
    """Per run: the epoch of its best validation accuracy."""
    fm = epochs[epochs["epoch"] > 0]
    return fm.loc[fm.groupby("run_id")["val_acc"].idxmax(), ["variant", "run_id", "epoch"]]


def convergence_test(best: pd.DataFrame) -> ClaimTest:
    """'Both converge around epoch 20': each of ReLU and sigmoid+BN has its mean best epoch within
    CONVERGE_EPOCH ± CONVERGE_BAND (equivalence, 90 % CI); contradicted if either lies surely outside."""
    tests = [within(best[best["variant"] == v]["epoch"], CONVERGE_EPOCH - CONVERGE_BAND,
                    CONVERGE_EPOCH + CONVERGE_BAND) for v in ("relu", "sigmoid+BN")]
    verdicts = {t.verdict for t in tests}
    verdict = ("contradicted" if "contradicted" in verdicts else SUPPORTED if verdicts == {SUPPORTED}
               else "inconclusive")
    return ClaimTest(verdict, tests[0].ci95, tests[0].ci90, "; ".join(t.why for t in tests))


def observation_rows(runs: pd.DataFrame, epochs: pd.DataFrame) -> list[dict]:
    """Each document observation on Fashion-MNIST beside our measurement, its interval and three-way verdict."""
    on, horizon = runs["dataset"] == "fashion_mnist", int(runs["epochs"].max())
    fm = epochs[epochs["dataset"] == "fashion_mnist"]
    train_test = similar(runs, on & (runs["variant"] == "sigmoid"), on & (runs["variant"] == "relu"), "train_acc")
    val_test = similar(runs, on & (runs["variant"] == "sigmoid+BN"), on & (runs["variant"] == "relu"), "val_acc")
    noise = val_noise(fm)
    by_variant = noise.groupby("variant")["noise"]
    noisy, ratio = ratio_greater(by_variant.get_group("sigmoid") if "sigmoid" in by_variant.groups else [],
                                 by_variant.get_group("relu") if "relu" in by_variant.groups else [])
    best = best_epochs(fm)
    converge = convergence_test(best)
    ranges = ", ".join(f"{v} {mean_ci(best[best['variant'] == v]['epoch']).num(1)}" for v in ("relu", "sigmoid+BN"))
    return [
        {"document observed": DOCUMENT_OBSERVATIONS["sigmoid_train_similar"],
         "ours (Fashion-MNIST)": f"final train accuracy sigmoid − ReLU {pp(train_test.ci95)}",
         "verdict": train_test.verdict},
        {"document observed": DOCUMENT_OBSERVATIONS["sigmoid_val_noisy"],
         "ours (Fashion-MNIST)": f"std of epoch-to-epoch validation change, sigmoid / ReLU: {ratio.num(2)}",
         "verdict": "inconclusive" if horizon < 5 else noisy.verdict},
        {"document observed": DOCUMENT_OBSERVATIONS["bn_reaches"],
         "ours (Fashion-MNIST)": f"final validation accuracy sigmoid+BN − ReLU {pp(val_test.ci95)}",
         "verdict": val_test.verdict},
        {"document observed": DOCUMENT_OBSERVATIONS["converge_20"],
         "ours (Fashion-MNIST)": f"best validation epoch: {ranges} of {horizon} trained",
         "verdict": "not comparable: fewer than 20 epochs in this profile" if horizon < 20 else converge.verdict},
    ]


def document_observations(out: PageOutput, runs: pd.DataFrame, epochs: pd.DataFrame) -> None:
    """Each observation of the document beside our measurement on Fashion-MNIST (the document's data set)."""
    on = runs["dataset"] == "fashion_mnist"
    if not on.any():
        return
    rows = observation_rows(runs, epochs)
    for key, row in zip(DOCUMENT_OBSERVATIONS, rows):
        out.measure(CLAIM_MEASURES[key].key, row["verdict"].split(":")[0], experiments=[CNN],
                    run_ids=runs[on]["run_id"].astype(str), anchor="e7-2")
    out.fragment("e7_seed", markdown_table(pd.DataFrame(rows)))


# ------------------------------------------------------------------------- E7.3 ---
def histogram_figure(hist: pd.DataFrame, dataset: str, out: PageOutput) -> str | None:
    """Post-activation histograms per layer, sigmoid vs sigmoid+BN, at init and at the last epoch."""
    h = hist[(hist["dataset"] == dataset) & (hist["kind"] == "post") & (hist["activation"] == "sigmoid")]
    if h.empty:
        return None
    last = int(h["epoch"].max())
    layers = sorted(h["layer_index"].unique())
    fig, axes = plt.subplots(len(layers), 2, figsize=(10, 2.3 * len(layers)), sharex=True, squeeze=False)
    for col, variant in enumerate(["sigmoid", "sigmoid+BN"]):
        for row, index in enumerate(layers):
            ax = axes[row][col]
            sel = h[(h["variant"] == variant) & (h["layer_index"] == index)]
            for epoch, colour in ((0, "#999999"), (last, VARIANT_COLOUR[variant])):
                e = sel[sel["epoch"] == epoch].groupby(["bin_left", "bin_right"], as_index=False)["count"].sum()
                if e.empty:
                    continue
                total = e["count"].sum()
                ax.stairs(e["count"] / total, np.r_[e["bin_left"].to_numpy(), e["bin_right"].iloc[-1]],
                          fill=epoch == 0, alpha=0.45 if epoch == 0 else 1.0, color=colour, lw=1.5,
                          label="at initialisation" if epoch == 0 else f"after epoch {last}")
            ax.axvspan(0, 0.05, color="black", alpha=0.06)
            ax.axvspan(0.95, 1.0, color="black", alpha=0.06)
            layer_name = sel["layer"].iloc[0] if len(sel) else f"layer {index}"
            ax.set_title(f"{variant} · {layer_name}", fontsize=10)
            ax.set_ylabel("fraction of values")
            if row == len(layers) - 1:
                ax.set_xlabel("sigmoid output σ(z)")
            ax.legend(fontsize=7)
    name = f"e7_hist_{dataset}"
    out.figure(fig, name,
               f"E7.3 — {DATASET_LABEL[dataset]}: histograms of every sigmoid layer's output on a fixed batch of test "
               "images, counted over samples and neurons and summed over seeds, at initialisation (grey) and after "
               f"the last epoch (line). Left: without BN; right: with BN. Shaded: the saturated zones σ < 0.05 and "
               "σ > 0.95.")
    out.interactive(name, histogram_charts(h, layers), h.groupby(
        ["variant", "layer_index", "layer", "epoch", "bin_left", "bin_right"], as_index=False)["count"].sum())
    return name


def histogram_charts(h: pd.DataFrame, layers: list) -> str:
    """The histograms over every probed epoch, as one heat map per variant and layer (TensorBoard's histograms
    over time): a column per epoch, a row per bin, the shade the fraction of values in the bin at that epoch."""
    charts = []
    for variant in ("sigmoid", "sigmoid+BN"):
        for index in layers:
            sel = h[(h["variant"] == variant) & (h["layer_index"] == index)]
            if sel.empty:
                continue
            counts = sel.groupby(["bin_left", "bin_right", "epoch"])["count"].sum().unstack("epoch").fillna(0)
            counts = counts.loc[:, counts.sum() > 0]  # an epoch that counted nothing has no fractions
            if counts.empty:
                continue
            fractions = (counts / counts.sum()).iloc[::-1]  # the top row is the highest bin
            epochs = [int(e) for e in fractions.columns]
            rows = [f"{a:.3g}–{b:.3g}" for a, b in fractions.index]
            charts.append(heatmap(rows, [str(e) for e in epochs], fractions.to_numpy().tolist(),
                                  f"{variant} · {sel['layer'].iloc[0]}: fraction of outputs per bin, by epoch "
                                  "(summed over seeds)", "σ(z) in", "epoch", "fraction", "viridis", 0.0,
                                  float(fractions.to_numpy().max()), annotate=False))
    return "".join(charts)


def saturation_figure(summary: pd.DataFrame, out: PageOutput) -> None:
    s = summary[(summary["kind"] == "post") & (summary["activation"] == "sigmoid")]
    datasets = [d for d in ("fashion_mnist", "mnist") if d in set(s["dataset"])]
    layers = sorted(s["layer"].unique())  # one shade per layer, on both panels and in the interactive copy
    colours = dict(zip(layers, plt.get_cmap(LAYER_PALETTE)(np.linspace(0.1, 0.85, len(layers)))))
    fig, axes = plt.subplots(1, len(datasets), figsize=(6 * len(datasets), 4), squeeze=False, sharey=True)
    for ax, dataset in zip(axes[0], datasets):
        d = s[s["dataset"] == dataset]
        mean = d.groupby(["variant", "layer", "epoch"], as_index=False)["saturated_fraction"].mean()
        for (variant, layer), g in mean.groupby(["variant", "layer"]):
            ax.plot(g["epoch"], 100 * g["saturated_fraction"], marker="o", color=colours[layer],
                    ls="-" if variant == "sigmoid" else "--", label=f"{variant} · {layer}")
        ax.set_title(DATASET_LABEL[dataset])
        ax.set_xlabel("epoch (0 = initialisation)")
        ax.set_ylabel("saturated sigmoid outputs (%)")
        ax.legend(fontsize=7, ncol=2)
    out.figure(fig, "e7_saturation",
               "E7.3 — share of sigmoid outputs in the saturated zones (σ < 0.05 or > 0.95) per layer over training, "
               "mean over seeds. Solid: without BN; dashed: with BN.")
    drawn = s[s["dataset"].isin(datasets)].assign(value=lambda f: 100 * f["saturated_fraction"])
    out.interactive("e7_saturation", line_charts(
        drawn, "epoch", "value", "layer", style="variant", facet="dataset", facets=datasets, palette=colours,
        hue_order=layers, dashes={"sigmoid": "", "sigmoid+BN": "5 3"}, x_label="epoch",
        y_label="saturated sigmoid outputs (%)"),
        drawn[["dataset", "variant", "layer", "run_id", "epoch", "value"]])


def preactivation_figure(summary: pd.DataFrame, out: PageOutput) -> None:
    s = summary[(summary["kind"] == "pre") & (summary["activation"] == "sigmoid")
                & (summary["dataset"] == "fashion_mnist")]
    if s.empty:
        missing(out, ["e7_preactivation"], "sigmoid pre-activation (Fashion-MNIST)")
        return
    mean = s.groupby(["variant", "layer", "epoch"], as_index=False)[["p15", "p50", "p85"]].mean()
    layers = sorted(mean["layer"].unique())
    fig, axes = plt.subplots(1, len(layers), figsize=(4.2 * len(layers), 3.6), squeeze=False, sharey=True)
    for ax, layer in zip(axes[0], layers):
        for variant, colour in VARIANT_COLOUR.items():
            g = mean[(mean["variant"] == variant) & (mean["layer"] == layer)]
            ax.fill_between(g["epoch"], g["p15"], g["p85"], color=colour, alpha=0.2)
            ax.plot(g["epoch"], g["p50"], color=colour, marker="o", label=f"{variant}: median, 15–85th pct.")
        ax.set_title(layer)
        ax.set_xlabel("epoch")
        ax.set_ylabel("sigmoid input z")
        ax.legend(fontsize=7)
    out.figure(fig, "e7_preactivation",
               "E7.3 — Fashion-MNIST: the sigmoid inputs (pre-activations) per layer over training on the fixed "
               "batch, median and 15th–85th percentile band, mean over seeds: compare the width and centre of the "
               "bands with and without BN.")
    charts = []
    for layer in layers:
        series = [Series(variant, g["epoch"].tolist(), g["p50"].tolist(), colour=colour, low=g["p15"].tolist(),
                         high=g["p85"].tolist(), labels=[f"15–85th pct. {a:.3g} to {b:.3g}, mean over seeds"
                                                         for a, b in zip(g["p15"], g["p85"])])
                  for variant, colour in VARIANT_COLOUR.items()
                  for g in [mean[(mean["variant"] == variant) & (mean["layer"] == layer)]] if len(g)]
        charts.append(line_chart(series, "epoch", "sigmoid input z",
                                 f"{layer}: median (line) and 15–85th percentile (band), mean over seeds"))
    out.interactive("e7_preactivation", "".join(charts), mean)


def answer_histograms(out: PageOutput, hist: pd.DataFrame, summary: pd.DataFrame) -> None:
    if hist.empty or summary.empty:
        missing(out, E73.fragments, "E7 histogram")
        out.set("e7.e73", "No activation histograms in this profile's configuration.")
        return
    for dataset in ("fashion_mnist", "mnist"):
        if histogram_figure(hist, dataset, out) is None:
            missing(out, [f"e7_hist_{dataset}"], f"{DATASET_LABEL[dataset]} histogram")
    saturation_figure(summary, out)
    preactivation_figure(summary, out)
    s = summary[(summary["kind"] == "post") & (summary["activation"] == "sigmoid")]
    parts = []
    for dataset in [d for d in ("fashion_mnist", "mnist") if d in set(s["dataset"])]:
        d = s[s["dataset"] == dataset]
        last = int(d["epoch"].max())
        mean = d.groupby(["variant", "epoch"])["saturated_fraction"].mean()
        worst = d[d["epoch"] == last].groupby(["variant", "layer"])["saturated_fraction"].mean()
        def at(variant: str, epoch: int) -> str:
            value = mean.get((variant, epoch), math.nan)
            return f"{percent(value)}"
        no_bn_layer = worst.get("sigmoid", pd.Series(dtype=float))
        top = no_bn_layer.idxmax() if len(no_bn_layer) else "?"
        parts.append(f"on {DATASET_LABEL[dataset]} {at('sigmoid', 0)} of sigmoid outputs are saturated at "
                     f"initialisation and {at('sigmoid', last)} after epoch {last} without BN (most in {top}: "
                     f"{percent(no_bn_layer.max())}), against {at('sigmoid+BN', 0)} and "
                     f"{at('sigmoid+BN', last)} with BN")
    out.set("e7.e73", sentence(parts))


# --------------------------------------------------------------- BN paper Fig. 1 ---
def answer_bn_paper(ctx: Context, out: PageOutput) -> pd.DataFrame:
    runs = ctx.of("runs", BN_PAPER)
    track = ctx.of("track", BN_PAPER)
    out.set("bn.scaling", ctx.scaling_text(BN_PAPER))
    out.set("bn.protocol", ctx.protocol_text(BN_PAPER))
    if track.empty:
        missing(out, BN_FIGURE.fragments, "BN-paper")
        out.set("bn.answer", "No BN-paper runs in this profile's configuration.")
        out.set("bn.steps", "0")
        return runs
    bn = bn_paper_stats(runs, track)
    out.set("bn.steps", f"{bn.steps:,}")
    out.set("bn.batch", bn.batch)
    bn_paper_figure(out, bn)
    out.fragment("bn_table", bn_paper_table(bn))
    out.set("bn.answer", bn_paper_sentence(bn))
    return runs


NORM_LABEL = {"none": "without BN", "batchnorm": "with BN"}
NORM_COLOUR = {"none": "#d62728", "batchnorm": "#761516"}
#: E7.3's variants in the same two shades: plain sigmoid, sigmoid with BN
VARIANT_COLOUR = {"sigmoid": NORM_COLOUR["none"], "sigmoid+BN": NORM_COLOUR["batchnorm"]}


@dataclass
class BNPaper:
    """Ioffe & Szegedy's Fig. 1 as numbers: the tracked last-layer sigmoid's input percentiles and the test
    accuracy per step (mean over seeds), and the points the table and the answer quote."""

    batch: int
    steps: int  # the last step tracked
    curves: pd.DataFrame  # per norm and step: test_acc, p15, p50, p85
    start: pd.DataFrame  # the curves at step 0, indexed by norm
    end: pd.DataFrame  # the curves at the last step, indexed by norm
    early: pd.Series  # test accuracy by norm, last tracked at or before step `steps // 5`
    drift: dict[str, float] | None  # how far the median input moved, per norm (None unless both norms ran)
    speed: pd.DataFrame  # per run: norm and its mean test accuracy over the tracked steps up to `early_step`
    faster: ClaimTest | None  # BN's early mean accuracy above the plain net's (Welch CI over seeds)
    track: pd.DataFrame  # per run and step, the last layer's tracked unit: what `curves` averages

    @property
    def early_step(self) -> int:
        return int(self.steps // 5)


def bn_paper_stats(runs: pd.DataFrame, track: pd.DataFrame) -> BNPaper:
    """The last hidden layer's tracked unit, averaged over seeds, and how much its input distribution moves."""
    t = track[track["layer_index"] == track["layer_index"].max()]
    steps = int(t["step"].max())
    curves = t.groupby(["norm", "step"], as_index=False)[["test_acc", "p15", "p50", "p85"]].mean()
    end = curves[curves["step"] == steps].set_index("norm")
    start = curves[curves["step"] == 0].set_index("norm")
    early = curves[curves["step"] <= steps // 5].groupby("norm")["test_acc"].last()
    both = {"none", "batchnorm"} <= set(end.index)
    drift = {n: abs(end.loc[n, "p50"] - start.loc[n, "p50"]) for n in ("none", "batchnorm")} if both else None
    # speed = the area under each run's test-accuracy curve over the first fifth of training (its mean accuracy
    # there): one number per seed, so "faster" gets an interval over seeds
    speed = (t[t["step"] <= steps // 5].groupby(["norm", "run_id"], as_index=False)["test_acc"].mean())
    faster = (direction_test(diff_ci(speed[speed["norm"] == "batchnorm"]["test_acc"],
                                     speed[speed["norm"] == "none"]["test_acc"])) if both else None)
    return BNPaper(int(runs["batch_size"].iloc[0]), steps, curves, start, end, early, drift, speed, faster,
                   t)


def bn_paper_figure(out: PageOutput, bn: BNPaper) -> None:
    """The paper's three panels: test accuracy, and the input percentiles without and with BN."""
    curves, steps = bn.curves, bn.steps
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for norm, g in curves.groupby("norm"):
        axes[0].plot(g["step"], 100 * g["test_acc"], color=NORM_COLOUR[norm], label=NORM_LABEL[norm], lw=1.6,
                     ls="--" if norm == "none" else "-")
    axes[0].set_xlabel("training step")
    axes[0].set_ylabel("test accuracy (%)")
    axes[0].set_ylim(max(0, 100 * curves["test_acc"].quantile(0.1) - 5), 100)
    axes[0].set_title("(a) test accuracy")
    axes[0].legend()
    for ax, norm, title in ((axes[1], "none", "(b) without BN"), (axes[2], "batchnorm", "(c) with BN")):
        g = curves[curves["norm"] == norm]
        for col, ls in (("p15", ":"), ("p50", "-"), ("p85", "--")):
            ax.plot(g["step"], g[col], color=NORM_COLOUR[norm], ls=ls, label=f"{col[1:]}th percentile")
        ax.set_title(title)
        ax.set_xlabel("training step")
        ax.set_ylabel("input to one last-layer sigmoid")
        ax.legend(fontsize=8)
    axes[2].sharey(axes[1])
    out.figure(fig, "bn_figure",
               f"Ioffe & Szegedy (2015) Fig. 1, re-measured: MNIST, 3 × 100 sigmoid units, batch "
               f"{bn.batch}, {steps:,} steps. (a) test accuracy; (b, c) 15th, 50th and 85th "
               "percentiles, over a fixed batch of 1,000 test images, of the input to unit 0 of the last hidden layer. "
               "Compare how far the three lines move in (b) and in (c); the table above measures it.")
    labelled = bn.track.assign(norm=lambda f: f["norm"].map(NORM_LABEL))
    track = labelled.assign(test_acc=lambda f: 100 * f["test_acc"])
    percentiles = labelled.melt(id_vars=["run_id", "norm", "step"], value_vars=["p15", "p50", "p85"],
                                var_name="percentile", value_name="value")
    percentiles["percentile"] = percentiles["percentile"].str[1:] + "th percentile"
    norms = [NORM_LABEL[n] for n in ("none", "batchnorm") if NORM_LABEL[n] in set(track["norm"])]
    colours = {NORM_LABEL[n]: c for n, c in NORM_COLOUR.items()}
    charts = line_charts(track, "step", "test_acc", "norm", palette=colours, hue_order=norms,
                         x_label="training step", y_label="test accuracy (%)", titles={None: "(a) test accuracy"})
    charts += line_charts(percentiles, "step", "value", "norm", style="percentile", facet="norm", facets=norms,
                          palette=colours, hue_order=norms, x_label="training step",
                          y_label="input to one last-layer sigmoid",
                          dashes={"15th percentile": "2 2", "50th percentile": "", "85th percentile": "5 3"},
                          titles={NORM_LABEL["none"]: "(b) without BN", NORM_LABEL["batchnorm"]: "(c) with BN"})
    out.interactive("bn_figure", charts, pd.concat([track.assign(measure="test accuracy (%)"), percentiles],
                                                   ignore_index=True))


def bn_paper_table(bn: BNPaper) -> str:
    """Accuracy early and at the end, and where the median input and the 15–85th band start and end, per norm."""
    start, end, steps, rows = bn.start, bn.end, bn.steps, []
    for norm in ("none", "batchnorm"):
        if norm not in end.index:
            continue
        rows.append({"": NORM_LABEL[norm], f"test acc. at step {bn.early_step:,}": f"{percent(bn.early[norm], 2)}",
                     f"test acc. at step {steps:,}": f"{percent(end.loc[norm, 'test_acc'], 2)}",
                     "median input, start → end": f"{start.loc[norm, 'p50']:+.2f} → {end.loc[norm, 'p50']:+.2f}",
                     "15–85th width, start → end": f"{start.loc[norm, 'p85'] - start.loc[norm, 'p15']:.2f} → "
                                                  f"{end.loc[norm, 'p85'] - end.loc[norm, 'p15']:.2f}"})
    return markdown_table(pd.DataFrame(rows))


def faster_words(test: ClaimTest, early_step: int) -> str:
    """Is BN faster? Decided from each run's mean test accuracy over the first `early_step` steps (the area under
    its early curve), BN − plain, with a Welch 95 % CI over seeds; one run per arm gives no verdict."""
    what = f"mean test accuracy over the first {early_step:,} steps, BN − without: {pp(test.ci95)}"
    if test.verdict == SUPPORTED:
        return f"BN trains faster, as in the paper ({what})"
    if test.verdict == "contradicted":
        return f"BN trains slower, unlike the paper ({what})"
    if test.ci95.n < 2 or math.isnan(test.ci95.low):
        return f"whether BN trains faster needs more than one run per network ({what})"
    return f"no difference in speed detected ({what})"


def bn_paper_sentence(bn: BNPaper) -> str:
    """The answer: is BN faster early, and does it hold the input distribution steadier, as the paper shows?"""
    if bn.drift is None:
        return "Only one of the two BN-paper networks ran in this profile."
    early, drift = bn.early, bn.drift
    return (f"After {bn.early_step:,} steps the BN network is at {percent(early['batchnorm'], 2)} test accuracy "
            f"against {percent(early['none'], 2)} without BN; {faster_words(bn.faster, bn.early_step)}; "
            f"the median input of the tracked last-layer sigmoid moves by {drift['none']:.2f} without BN and "
            f"{drift['batchnorm']:.2f} with BN over {bn.steps:,} steps "
            f"""({'the paper' + chr(39) + 's picture: BN holds the distribution steady'
                  if drift['batchnorm'] < drift['none'] else 'BN does not hold it steadier here'}).""")


def build(ctx: Context, out: PageOutput) -> pd.DataFrame:
    runs = _label(ctx.of("runs", CNN))
    out.set("e7.scaling", ctx.scaling_text(CNN))
    out.set("e7.protocol", ctx.protocol_text(CNN))
    out.set("e7.similar_margin", f"±{SIMILAR_PP:g} percentage points")
    out.set("e7.placement", "after each convolution and hidden fully connected layer, before its nonlinearity"
            if all(s.get("norm_placement", "before_activation") == "before_activation" for s in ctx.specs(CNN))
            else "after the nonlinearity of each convolution and hidden fully connected layer")
    if runs.empty:
        answer_curves(ctx, out, runs, runs)
        answer_histograms(out, pd.DataFrame(), pd.DataFrame())
    else:
        epochs = _label(ctx.of("epochs", CNN))
        answer_curves(ctx, out, runs, epochs)
        document_observations(out, runs, epochs)
        answer_histograms(out, _label(ctx.of("act_hist", CNN)), _label(ctx.of("act_summary", CNN)))
    if "e7_seed" not in out.fragments:
        out.fragment("e7_seed",
                     "_No Fashion-MNIST E7 runs in this profile: the document's observations are not checked._\n")
    bn_runs = answer_bn_paper(ctx, out)
    return pd.concat([runs, bn_runs], ignore_index=True)
