"""Document 003 (Machine Learning Assignment 2): depth × activation (M2.1), gradients through depth and
dead ReLUs (M2.2), LeCun's scaled tanh (M2.3), and the document's best CNN rebuilt exactly (M2.4)."""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
import torch

from analysis.study.stats import percent
from analysis.engine.activations import ordered
from analysis.study.answers import m2_variants
from analysis.study.answers.common import Context, DocumentValues, PageOutput, markdown_table, missing
from analysis.study.answers.questions import Measure, Question, metric_units
from analysis.study.answers.tools import estimates, line_charts, ok_runs, sentence
from analysis.study.svg_chart import heatmap
from analysis.study.figures import ACTIVATION_PALETTE
from analysis.engine.models import (LECUN_A, LECUN_B, LECUN_C, build_model, lecun_tanh, model_summary, parameter_count)

DEPTH, CNN, WIDTH = "m2_depth", "m2_cnn", m2_variants.WIDTH
#: M2.4's protocol variants (config/config.yaml): the CNN under Keras' conventions, per batch size
CNN_KERAS = "m2_cnn_keras"
#: … and with a tenth of Keras' default L2 strength
CNN_L2 = "m2_cnn_l2"
#: the experiments this page shows (analysis.study.answers: the experiments page shows every other one)
CLAIMS = (DEPTH, CNN, WIDTH, CNN_KERAS, CNN_L2)
#: the questions this page answers, in landing-page order (analysis.study.answers.questions)
TEST_METRICS = metric_units("test_acc", "test_loss")
#: the scorecard keys this page publishes (each section's `measures` below)
DEPTH_MEASURE = Measure("m2.d{depth}.{act}.{metric}", TEST_METRICS)
LECUN_DERIVATIVE = Measure("m23.lecun_max_derivative", "value")
M24_PARAMS, M24_NON_TRAINABLE = Measure("m24.params", "parameters"), Measure("m24.non_trainable", "parameters")
M24_MEASURE = Measure("m24.{metric}", TEST_METRICS)
KERAS_MEASURE = Measure("m24.keras.b{batch}.{metric}", TEST_METRICS)
L2_MEASURE = Measure("m24.l2_0.001.{metric}", TEST_METRICS)
M21 = Question("M2.1", "m2-1", "m21.answer", ("m21_table", "m21_heatmap"), short="m21.short", figure="m21_heatmap",
               measures=(DEPTH_MEASURE,))
M22 = Question("M2.2", "m2-2", "m22.answer", ("m22_gradients", "m22_ratio_table", "m22_dead"))
M23 = Question("M2.3", "m2-3", "m23.answer", ("m23_table", "m23_gradients"), measures=(LECUN_DERIVATIVE,))
M2_VARIANTS = Question("M2 protocol variants", "m2-variants", "m2v.answer", m2_variants.FRAGMENTS, headline=False,
                       measures=m2_variants.MEASURES)
M24 = Question("M2.4", "m2-4", "m24.answer", ("m24_summary", "m24_variants"),
               measures=(M24_PARAMS, M24_NON_TRAINABLE, M24_MEASURE, KERAS_MEASURE, L2_MEASURE))
QUESTIONS = (M21, M22, M23, M2_VARIANTS, M24)
#: first-layer / last-layer max |∂L/∂W| below this at initialisation = "vanishing" (declared, not fitted)
VANISH_RATIO = 0.01
#: a layer with more than this share of dead ReLU units on the fixed batch is called "dying"
DEAD_SHARE = 0.5
CHANCE_UPPER = 0.2


def _depth(runs: pd.DataFrame) -> pd.DataFrame:
    runs = runs.copy()
    runs["depth"] = runs["model.depth"].astype(int)
    return runs


def _with_depth(frame: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    return frame.merge(runs[["run_id", "depth"]], on="run_id", how="inner")


# ------------------------------------------------------------------------- M2.1 ---
def activations_of(runs: pd.DataFrame) -> list[str]:
    """The activations the runs trained, in registry order: the page shows whatever the grid holds."""
    return ordered(runs["activation"].unique())


def document_m21(doc: DocumentValues) -> pd.DataFrame:
    """The document's M2.1 table of test accuracies (%) from config/scorecard.csv: depth rows, activation columns."""
    acc = doc.matching(r"M2\.1-(\d+)-(\w+)-acc")
    cells: dict[str, dict[int, float]] = {}
    for (depth, act), value in acc.items():
        cells.setdefault(act, {})[int(depth)] = 100 * value
    return pd.DataFrame(cells)


def answer_m21(out: PageOutput, runs: pd.DataFrame, doc: DocumentValues) -> dict:
    est = estimates(runs, ["depth", "activation"], ["test_acc", "test_loss"])
    acts = activations_of(runs)
    rows = []
    for depth in sorted(runs["depth"].unique()):
        for act in acts:
            e = est.get((depth, act))
            if e is None:
                continue
            doc_acc, doc_loss = (doc.get(f"M2.1-{depth}-{act}-{m}") for m in ("acc", "loss"))
            for metric in ("test_acc", "test_loss"):
                out.measure(DEPTH_MEASURE.format(depth=depth, act=act, metric=metric), e[metric], experiments=[DEPTH],
                            run_ids=e["run_ids"])
            rows.append({"hidden layers": depth, "activation": act, "test accuracy (ours)": e["test_acc"].pct(1),
                         "test accuracy (document)": f"{percent(doc_acc)}" if doc_acc is not None else "—",
                         "test loss (ours)": e["test_loss"].num(3),
                         "test loss (document)": f"{doc_loss:.3f}" if doc_loss is not None else "—",
                         "diverged": e["diverged"]})
    out.fragment("m21_table", markdown_table(pd.DataFrame(rows)))
    heat = ok_runs(runs).groupby(["depth", "activation"])["final_test_acc"].mean().unstack() * 100
    heat = heat[[a for a in acts if a in heat.columns]]
    document_heat = document_m21(doc)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6),
                             gridspec_kw={"width_ratios": [len(heat.columns), len(document_heat.columns)]})
    sns.heatmap(heat, annot=True, fmt=".1f", vmin=0, vmax=100, cmap="viridis", ax=axes[0], cbar=False)
    axes[0].set_title("ours: test accuracy (%)")
    sns.heatmap(document_heat.loc[[d for d in document_heat.index]], annot=True, fmt=".1f", vmin=0, vmax=100,
                cmap="viridis",
                ax=axes[1], cbar_kws={"label": "test accuracy (%)"})
    axes[1].set_title("document 003's table")
    for ax in axes:
        ax.set_ylabel("hidden layers")
        ax.set_xlabel("")
    out.figure(fig, "m21_heatmap", "M2.1 — test accuracy by depth and activation: ours (mean over seeds) beside the "
               "document's table. Dark cells are nets that did not learn.")
    notes = [[f"ours {est[(d, a)]['test_acc'].pct(1)}" if (d, a) in est else "" for a in heat.columns]
             for d in heat.index]
    charts = heatmap([str(d) for d in heat.index], list(heat.columns), heat.to_numpy().tolist(),
                     "ours: test accuracy (%), mean over seeds", "hidden layers", "activation", "test accuracy (%)",
                     "viridis", 0, 100, notes=notes)
    charts += heatmap([str(d) for d in document_heat.index], list(document_heat.columns),
                      document_heat.to_numpy().tolist(), "document 003's table: test accuracy (%)", "hidden layers",
                      "activation", "test accuracy (%)", "viridis", 0, 100)
    out.interactive("m21_heatmap", charts, heat.stack().rename("test_acc_percent").reset_index())
    parts, bests = [], []
    for depth in sorted(runs["depth"].unique()):
        learned = [a for a in acts if (depth, a) in est and est[(depth, a)]["test_acc"].mean > CHANCE_UPPER]
        stuck = [a for a in acts if (depth, a) in est and est[(depth, a)]["test_acc"].mean <= CHANCE_UPPER]
        best = max(learned, key=lambda a: est[(depth, a)]["test_acc"].mean) if learned else None
        text = f"at {depth} layers " + (f"{best} is best ({est[(depth, best)]['test_acc'].pct(1)})" if best
                                        else "no activation learns")
        if stuck:
            text += f" and {', '.join(stuck)} stay{'s' if len(stuck) == 1 else ''} at chance"
        parts.append(text)
        bests.append(f"{depth} layers {best} ({percent(est[(depth, best)]['test_acc'].mean)})" if best
                     else f"{depth} layers none")
    out.set("m21.answer", sentence(parts))
    out.set("m21.short", "Best activation by depth: " + ", ".join(bests) + ".")
    return est


# ------------------------------------------------------------------------- M2.2 ---
def init_and_trained(grads: pd.DataFrame) -> pd.DataFrame:
    """Max |∂L/∂W| per layer at step 0 (initialisation) and averaged over the last epoch's probed batches."""
    init = grads[grads["step"] == 0].assign(when="at initialisation")
    last_epoch = grads.groupby("run_id")["epoch"].transform("max")
    trained = grads[grads["epoch"] == last_epoch].groupby(
        ["run_id", "activation", "depth", "layer_index"], as_index=False)[["max_abs_grad", "mean_abs_grad"]].mean()
    trained["when"] = "last epoch (mean)"
    cols = ["run_id", "activation", "depth", "layer_index", "max_abs_grad", "mean_abs_grad", "when"]
    return pd.concat([init[cols], trained[cols]], ignore_index=True)


def max_gradient_by_layer_figure(g: pd.DataFrame, out: PageOutput, acts: list[str], name: str, caption: str) -> None:
    depths = sorted(g["depth"].unique())
    fig, axes = plt.subplots(2, len(depths), figsize=(5.2 * len(depths), 7.2), squeeze=False, sharey="row")
    for row, when in enumerate(["at initialisation", "last epoch (mean)"]):
        for col, depth in enumerate(depths):
            ax = axes[row][col]
            data = g[(g["when"] == when) & (g["depth"] == depth) & g["activation"].isin(acts)]
            sns.lineplot(data=data, x="layer_index", y="max_abs_grad", hue="activation", hue_order=acts,
                         palette=ACTIVATION_PALETTE, marker="o", markersize=3, errorbar=("pi", 100), ax=ax)
            ax.set_yscale("log")
            ax.set_title(f"{depth} hidden layers · {when}", fontsize=10)
            ax.set_xlabel("weight layer (1 = next to the input)")
            ax.set_ylabel("max |∂L/∂W|")
            ax.legend(fontsize=7)
    out.figure(fig, name, caption)
    panels = g[g["activation"].isin(acts)].assign(panel=lambda f: f["depth"].astype(str) + " hidden layers · "
                                                  + f["when"])
    order = [f"{depth} hidden layers · {when}" for when in ("at initialisation", "last epoch (mean)")
             for depth in depths]
    out.interactive(name, line_charts(panels, "layer_index", "max_abs_grad", "activation", facet="panel",
                                      facets=[o for o in order if o in set(panels["panel"])],
                                      palette=ACTIVATION_PALETTE, hue_order=acts, x_label="weight layer",
                                      y_label="max |∂L/∂W|", log_y=True, titles={o: o for o in order}),
                    panels[["panel", "activation", "run_id", "layer_index", "max_abs_grad"]])


def vanishing(g: pd.DataFrame) -> pd.DataFrame:
    """Per activation and depth: first-layer / last-hidden-layer max gradient at initialisation."""
    init = g[g["when"] == "at initialisation"]
    rows = []
    for (act, depth), d in init.groupby(["activation", "depth"]):
        per_layer = d.groupby("layer_index")["max_abs_grad"].mean()
        last_hidden = per_layer.index.max() - 1  # the layer before the output layer
        ratio = per_layer.iloc[0] / per_layer.loc[last_hidden] if per_layer.loc[last_hidden] > 0 else math.nan
        rows.append({"activation": act, "depth": depth, "ratio": ratio})
    return pd.DataFrame(rows)


def answer_m22(out: PageOutput, runs: pd.DataFrame, grads: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    g = init_and_trained(_with_depth(grads, runs))
    # LeCun's tanh has its own figure (M2.3)
    max_gradient_by_layer_figure(g, out, [a for a in activations_of(runs) if a != "lecun_tanh"], "m22_gradients",
                    "M2.2 — maximum |∂L/∂W| per weight layer (log scale) at initialisation (top) and averaged over the "
                    "last epoch (bottom), one panel per depth. Line: mean over seeds; band: range. A line that falls "
                    "towards layer 1 is a gradient vanishing on its way back to the input.")
    ratios = vanishing(g)
    table = ratios.pivot(index="depth", columns="activation", values="ratio")
    out.fragment("m22_ratio_table", markdown_table(
        table.map(lambda v: f"{v:.1e}").reset_index().rename(columns={"depth": "hidden layers"})))
    vanish = ratios[ratios["ratio"] < VANISH_RATIO]
    dead = summary[(summary["activation"] == "relu") & (summary["kind"] == "post")]
    dead = _with_depth(dead, runs)
    if not dead.empty:
        last = dead.groupby("run_id")["epoch"].transform("max")
        dead_end = dead[dead["epoch"] == last].groupby(["depth", "layer_index"], as_index=False)["dead_fraction"].mean()
        dead_init = dead[dead["epoch"] == 0].groupby(["depth", "layer_index"], as_index=False)["dead_fraction"].mean()
        fig, ax = plt.subplots(figsize=(8, 4))
        for depth, d in dead_end.groupby("depth"):
            ax.plot(d["layer_index"], 100 * d["dead_fraction"], marker="o", label=f"{depth} layers, end of training")
        for depth, d in dead_init.groupby("depth"):
            ax.plot(d["layer_index"], 100 * d["dead_fraction"], ls=":", color="grey", lw=1,
                    label="at initialisation" if depth == dead_init["depth"].min() else None)
        ax.set_xlabel("hidden layer")
        ax.set_ylabel("dead ReLU units (%)")
        ax.legend(fontsize=8)
        out.figure(fig, "m22_dead", "M2.2 — share of ReLU units never active on the fixed batch of 1,000 test "
                   "images, per hidden layer, mean over seeds: at the end of training (lines) and at initialisation "
                   "(grey).")
        drawn = pd.concat([dead[dead["epoch"] == last].assign(when="end of training"),
                           dead[dead["epoch"] == 0].assign(when="at initialisation")], ignore_index=True)
        drawn = drawn.assign(value=100 * drawn["dead_fraction"], depth=drawn["depth"].astype(str) + " layers")
        out.interactive("m22_dead", line_charts(
            drawn, "layer_index", "value", "depth", style="when", x_label="hidden layer",
            hue_order=[f"{d} layers" for d in sorted(dead["depth"].unique())],
            y_label="dead ReLU units (%)", dashes={"end of training": "", "at initialisation": "2 2"},
            default_title="dead ReLU units per hidden layer"),
            drawn[["depth", "when", "run_id", "layer_index", "value"]])
        dying = dead_end[dead_end["dead_fraction"] > DEAD_SHARE]
        dead_text = (f"; ReLU units die (over {percent(DEAD_SHARE, 0)} never active) in "
                     + ", ".join(f"{int(r.depth)}-layer net from layer {int(r.layer_index)}"
                                 for r in dying.groupby("depth", as_index=False).first().itertuples())
                     if len(dying) else f"; no ReLU layer has more than {percent(DEAD_SHARE, 0)} dead units")
        worst = dead_end.loc[dead_end["dead_fraction"].idxmax()]
        dead_text += (f" (the most: {percent(worst['dead_fraction'], 0)} in layer {int(worst['layer_index'])} "
                      f"of the {int(worst['depth'])}-layer net)")
    else:
        missing(out, ["m22_dead"], "ReLU")
        dead_text = ""
    vanish_text = ("gradients vanish (layer 1 gets less than 1/100 of the last hidden layer's maximum at "
                   "initialisation) for "
                   + ", ".join(f"{r.activation} at {int(r.depth)} layers" for r in vanish.itertuples())
                   if len(vanish)
                   else "no activation shows a 100-fold gradient loss from the last hidden layer to layer 1")
    out.set("m22.answer", vanish_text[0].upper() + vanish_text[1:] + dead_text + ".")
    return g


# ------------------------------------------------------------------------- M2.3 ---
def lecun_derivative_range() -> dict:
    """min and max of f′ for LeCun's tanh over a dense grid (autograd), and the closed-form maximum."""
    x = torch.linspace(-30, 30, 600_001, dtype=torch.float64, requires_grad=True)
    lecun_tanh(x).sum().backward()
    d, x = x.grad, x.detach()
    return {"min": float(d.min()), "max": float(d.max()), "argmax": float(x[d.argmax()]),
            "closed_form_max": LECUN_A * LECUN_B + LECUN_C, "limit_min": LECUN_C}


#: document 003's M2.3 table labels its rows ReLU / Tanh although the section compares LeCun's tanh and tanh
M23_ROW_LABEL = {"lecun_tanh": "row 'ReLU'", "tanh": "row 'Tanh'"}


def answer_m23(out: PageOutput, runs: pd.DataFrame, est: dict, g: pd.DataFrame, doc: DocumentValues) -> None:
    r = lecun_derivative_range()
    document_upper = doc("M2.3-deriv")
    out.measure(LECUN_DERIVATIVE.key, r["max"])
    out.set("m23.derivative", f"f′(x) = {LECUN_A}·(2/3)·(1 − tanh²(2x/3)) + {LECUN_C} ranges over "
            f"({r['limit_min']:.2f}, {r['max']:.5f}]: its maximum {r['max']:.5f} is at x = {r['argmax']:.1f} "
            f"(closed form 1.7159·2/3 + 0.01 = {r['closed_form_max']:.5f}), and it tends to {r['limit_min']:.2f} "
            f"for large |x| (grid minimum {r['min']:.5f}). The document's upper bound {document_upper} is wrong by "
            f"{document_upper - r['closed_form_max']:.2f}.")
    if g.empty:
        missing(out, M23.fragments, "LeCun tanh")
        out.set("m23.answer", "No LeCun-tanh runs in this profile.")
        return
    max_gradient_by_layer_figure(g, out, ["tanh", "lecun_tanh"], "m23_gradients",
                    "M2.3 — maximum |∂L/∂W| per weight layer for LeCun's tanh (purple) and tanh (green), at "
                    "initialisation (top) and over the last epoch (bottom). LeCun's scaling keeps the derivative "
                    "near 1 around zero, so the gradient decays less with depth.")
    rows = []
    for depth in sorted(runs["depth"].unique()):
        for act in ("lecun_tanh", "tanh"):
            e = est.get((depth, act))
            if e is None:
                continue
            row = {"hidden layers": depth, "activation": act, "test accuracy (ours)": e["test_acc"].pct(1),
                   "test loss (ours)": e["test_loss"].num(3)}
            doc_acc, doc_loss = (doc.get(f"M2.3-{depth}-{act}-{m}") for m in ("acc", "loss"))
            if doc_acc is not None:
                row[f"document, {M23_ROW_LABEL[act]} (loss / acc.)"] = f"{doc_loss:.3f} / {percent(doc_acc)}"
            rows.append(row)
    out.fragment("m23_table", markdown_table(pd.DataFrame(rows).fillna("—")))
    ratios = vanishing(g).set_index(["activation", "depth"])["ratio"]
    document_lecun = list(doc.matching(r"M2\.3-(\d+)-(\w+)-acc").values())
    deepest = int(runs["depth"].max())
    lt, t = est.get((deepest, "lecun_tanh")), est.get((deepest, "tanh"))
    if lt and t and ("lecun_tanh", deepest) in ratios and ("tanh", deepest) in ratios:
        out.set("m23.answer",
                f"At {deepest} layers the layer-1/last-layer gradient ratio at initialisation is "
                f"{ratios[('lecun_tanh', deepest)]:.1e} for LeCun's tanh against "
                f"{ratios[('tanh', deepest)]:.1e} for tanh, "
                f"and the test accuracies are {lt['test_acc'].pct(1)} and {t['test_acc'].pct(1)}; the document's "
                f"LeCun table (all between {100 * min(document_lecun):.0f} and {percent(max(document_lecun), 0)}) is "
                f"{'reproduced' if lt['test_acc'].mean <= CHANCE_UPPER else 'not reproduced'} for LeCun's tanh.")
    else:
        out.set("m23.answer", "LeCun's tanh and tanh were not both run at the deepest setting in this profile.")


# ------------------------------------------------------------------------- M2.4 ---
def answer_m24(ctx: Context, out: PageOutput) -> pd.DataFrame:
    specs = ctx.specs(CNN)
    out.set("m24.scaling", ctx.scaling_text(CNN))
    out.set("m24.protocol", ctx.protocol_text(CNN))
    if not specs:
        missing(out, M24.fragments, "M2.4")
        out.set("m24.answer", "The M2.4 CNN is not part of this configuration.")
        out.set("m24.params", "—")
        return ctx.table("runs").iloc[0:0]
    model = build_model(specs[0])
    rows = model_summary(model)
    frame = pd.DataFrame(rows)
    frame["parameters"] = frame["parameters"].map(lambda v: f"{v:,}")
    out.fragment("m24_summary", markdown_table(frame.drop(columns=["non-trainable"])))
    counts = parameter_count(model)
    out.measure(M24_PARAMS.key, counts["total"])
    out.measure(M24_NON_TRAINABLE.key, counts["non_trainable"])
    params, non_trainable = ctx.document("M2.4-params"), ctx.document("M2.4-nontrain")
    equal = counts["total"] == params and counts["non_trainable"] == non_trainable
    out.set("m24.params", f"{counts['total']:,} parameters ({counts['trainable']:,} trainable, "
            f"{counts['non_trainable']:,} batch-norm running statistics): "
            f"{'equal to' if equal else 'different from'} the document's {params:,} "
            f"({params - non_trainable:,} + {non_trainable})")
    runs = ctx.of("runs", CNN)
    if runs.empty:
        out.set("m24.answer", "The M2.4 CNN was not trained in this profile.")
        return runs
    e = estimates(runs, ["model.kind"], ["test_acc", "test_loss"])[("layers",)]
    for metric in TEST_METRICS:
        out.measure(M24_MEASURE.format(metric=metric), e[metric], experiments=[CNN], run_ids=e["run_ids"])
    epochs = int(runs["epochs"].max())
    doc_acc, doc_loss = ctx.document("M2.4-acc"), ctx.document("M2.4-loss")
    # no verdict here: the scorecard judges the document's number against where one run of ours falls
    out.set("m24.answer", f"Trained for {epochs} epoch{'s' if epochs > 1 else ''}, the rebuilt CNN reaches "
            f"{e['test_acc'].pct(2)} test accuracy and test loss {e['test_loss'].num(4)}; the document reports "
            f"{percent(doc_acc, 2)} and {doc_loss:.4f} from one run (the scorecard's M2.4 rows judge them).")
    return runs


def _variant_rows(out: PageOutput, runs: pd.DataFrame, experiment: str, measure: Measure, label: str) -> list[dict]:
    """One experiment's M2.4 variant, per batch size: published under its declared key and as table rows."""
    rows: list[dict] = []
    if runs.empty:
        return rows
    for (batch,), e in sorted(estimates(runs, ["batch_size"], ["test_acc", "test_loss"]).items()):
        for metric in TEST_METRICS:
            out.measure(measure.format(batch=int(batch), metric=metric), e[metric], experiments=[experiment],
                        run_ids=e["run_ids"],
                        anchor="m2-4")
        rows.append({"protocol": label.format(batch=int(batch)), "test accuracy": e["test_acc"].pct(2),
                     "test loss": e["test_loss"].num(4), "diverged": e["diverged"]})
    return rows


def answer_m24_variants(ctx: Context, out: PageOutput) -> pd.DataFrame:
    """M2.4's declared protocol variants (Keras' conventions per batch size; L2 strength 0.001), published under
    the keys config/scorecard.csv's M2.4 rows name."""
    keras, l2 = ctx.of("runs", CNN_KERAS), ctx.of("runs", CNN_L2)
    rows = (_variant_rows(out, keras, CNN_KERAS, KERAS_MEASURE, "Keras' conventions, batch {batch}")
            + _variant_rows(out, l2, CNN_L2, L2_MEASURE, "L2 strength 0.001, batch {batch}"))
    if not rows:
        missing(out, ("m24_variants",), "M2.4 protocol variants")
        return keras
    out.fragment("m24_variants", markdown_table(pd.DataFrame(rows)))
    return pd.concat([keras, l2], ignore_index=True)


def build(ctx: Context, out: PageOutput) -> pd.DataFrame:
    runs = ctx.of("runs", DEPTH)
    out.set("m2.scaling", ctx.scaling_text(DEPTH))
    out.set("m2.protocol", ctx.protocol_text(DEPTH))
    cnn_runs = pd.concat([answer_m24(ctx, out), answer_m24_variants(ctx, out)], ignore_index=True)
    width_runs = ctx.of("runs", WIDTH)
    width_runs = _depth(width_runs) if not width_runs.empty else width_runs
    if runs.empty:
        missing(out, M21.fragments + M22.fragments, "M2 depth")
        for key in ("m21.answer", "m21.short", "m22.answer"):
            out.set(key, "No depth × activation runs in this profile's configuration.")
        answer_m23(out, runs, {}, pd.DataFrame(), ctx.document)
        m2_variants.answer(out, runs, pd.DataFrame(), width_runs, {}, ctx.document)
        return pd.concat([width_runs, cnn_runs], ignore_index=True)  # variant runs still count on the page
    runs = _depth(runs)
    est = answer_m21(out, runs, ctx.document)
    g = answer_m22(out, runs, ctx.of("grads", DEPTH), ctx.of("act_summary", DEPTH))
    answer_m23(out, runs, est, g, ctx.document)
    m2_variants.answer(out, runs, ctx.of("epochs", DEPTH), width_runs, est, ctx.document)
    return pd.concat([runs, width_runs, cnn_runs], ignore_index=True)
