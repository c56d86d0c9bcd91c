"""Document 001 (HW4): epochs and a validation rule (H4.1–H4.2), batch size (H4.3), batch normalisation
(H4.4), the 8-layer CNN's anatomy (H4.5), and the five-run comparison that sat at chance (H4.6).

Every claim of the document is marked supported, contradicted or inconclusive from our runs.

The longer `answer_*` functions select their runs and fill the page in two steps: a compute function
(`*_stats`, `cnn_anatomy`) returns the numbers (no prose, no figures) and the functions after it word them, so a
statistic and its wording can be read, tested and changed apart."""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from analysis.answers.common import Context, PageOutput, begin, markdown_table, missing
from analysis.answers.questions import Question
from analysis.answers.tools import compare_word, curves_figure, estimates, gap, ok_runs, pp, sentence
from analysis.figures import ACTIVATION_PALETTE
from analysis.models import build_model, model_summary, parameter_count, penalty_terms, penalty_value
from analysis.splits import n_classes
from analysis.stats import Estimate, mean_ci, welch_test, percent

MLP, BN, BATCH, CNN, DIAG = "h4_mlp", "h4_bn", "h4_batch", "h4_cnn", "h4_diagnosis"
#: the experiments this page shows (analysis.answers: the experiments page shows every other one)
CLAIMS = (MLP, BN, BATCH, CNN, DIAG)
#: the questions this page answers (analysis.answers.questions); the claims table and H4.6 head the landing page
H4_CLAIMS = Question("H4.1–H4.6", "h4-claims", "h4.claims", ("h4_claims",))
H41 = Question("H4.1", "h4-1", "h4.h41", ("h41_table", "h41_curves"), headline=False)
H42 = Question("H4.2", "h4-1", "h4.h42", ("h42_table", "h42_val_loss"), headline=False)
H43 = Question("H4.3", "h4-3", "h4.h43", ("h43_table", "h43_time"), headline=False)
H44 = Question("H4.4", "h4-4", "h4.h44", ("h44_curves",), headline=False)
H45 = Question("H4.5", "h4-5", "h4.h45", ("h45_summary", "h45_counts"), headline=False)
H46 = Question("H4.6", "h4-6", "h4.diagnosis", ("h46_table", "h46_diagnosis"))
QUESTIONS = (H4_CLAIMS, H41, H42, H43, H44, H45, H46)
#: the validation rule: stop when validation loss has not improved for this many epochs, keep the best
PATIENCE = 5
DOCUMENT_H46 = {"original": {"acc": [0.33, 0.24, 0.34, 0.24, 0.27], "loss": [8.28, 8.64, 7.87, 8.62, 8.36]},
            "filter-reduced": {"acc": [0.31, 0.34, 0.29, 0.25, 0.29], "loss": [4.68, 4.57, 4.71, 4.6, 4.67]}}
#: a mean accuracy within this distance of 1/k counts as "at chance" (4 balanced classes)
CHANCE_BAND = 0.10


def verdict(flag: bool | None) -> str:
    return {True: "**supported**", False: "**contradicted**", None: "**inconclusive**"}[flag]


def ci_flag(est) -> bool | None:
    """True when the CI lies above zero, False below, None when it straddles zero or is missing."""
    word = compare_word(est, "up", "down", "same")
    return {"up": True, "down": False}.get(word)


def validation_rule(group: pd.DataFrame, patience: int = PATIENCE) -> tuple[int, int]:
    """(chosen epoch, epoch training would stop) for 'best validation loss, stop after `patience` epochs without
    improvement'."""
    best_epoch, best, stop = 0, math.inf, int(group["epoch"].max())
    for row in group.sort_values("epoch").itertuples():
        if row.epoch == 0:
            continue
        if row.val_loss < best:
            best, best_epoch = row.val_loss, row.epoch
        elif row.epoch - best_epoch >= patience:
            stop = row.epoch
            break
    return best_epoch, stop


# ------------------------------------------------------------------ H4.1 / H4.2 ---
def answer_epochs(ctx: Context, out: PageOutput, claims: list[dict]) -> pd.DataFrame:
    runs = begin(ctx, out, MLP, "h4.mlp_scaling", H41.fragments + H42.fragments,
                 ["h4.h41", "h4.h42"], "H4.1")
    if runs is None:
        return ctx.of("runs", MLP)
    h4 = epochs_stats(runs, ctx.of("epochs", MLP))
    out.fragment("h41_table", markdown_table(pd.DataFrame([
        {"activation": act, "test accuracy": e["test_acc"].pct(), "validation accuracy": e["val_acc"].pct(),
         "train accuracy": e["train_acc"].pct(), "test loss": e["test_loss"].num(3)} for (act,), e in h4.est.items()])))
    epochs_figures(out, h4)
    rule_answer(out, h4, claims)
    return h4.runs


@dataclass
class EpochsStats:
    """H4.1–H4.2 as numbers, so the tables, figures and sentences only word them."""

    runs: pd.DataFrame  # the MLP runs, with `chosen` (epoch the validation rule keeps) and `stop` (where it stops)
    epochs: pd.DataFrame
    est: dict[tuple, dict]  # estimates per activation
    horizon: int  # epochs trained
    by_activation: dict[str, pd.DataFrame]  # relu, sigmoid (those that ran): their runs
    late_gain: dict[str, Estimate]  # test accuracy at the last epoch − at epoch 25 (n = 0 with ≤ 25 epochs)
    overfit: dict[str, int]  # runs whose best validation loss comes before the last epoch
    relu_gap: Estimate | None  # final test accuracy ReLU − sigmoid, when both ran


def epochs_stats(runs: pd.DataFrame, epochs: pd.DataFrame) -> EpochsStats:
    """The validation rule applied to every run, and what more epochs changed per activation."""
    est = estimates(runs, ["activation"], ["test_acc", "val_acc", "train_acc", "test_loss"])
    horizon = int(runs["epochs"].max())
    rule = {rid: validation_rule(g) for rid, g in epochs.groupby("run_id")}
    runs = runs.assign(chosen=runs["run_id"].map(lambda r: rule[r][0]), stop=runs["run_id"].map(lambda r: rule[r][1]))
    by_activation = {a: runs[runs["activation"] == a] for a in ("relu", "sigmoid") if a in set(runs["activation"])}
    late_gain, overfit = {}, {}
    for act, r in by_activation.items():
        e = epochs[epochs["run_id"].isin(r["run_id"])]
        at = {k: e[e["epoch"] == k].set_index("run_id")["test_acc"] for k in (25, horizon)}
        late_gain[act] = mean_ci((at[horizon] - at[25]).dropna()) if 25 < horizon else mean_ci([])
        overfit[act] = int((r["chosen"] < horizon).sum())
    relu_gap = (gap(runs, runs["activation"] == "relu", runs["activation"] == "sigmoid")
                if est.get(("relu",)) and est.get(("sigmoid",)) else None)
    return EpochsStats(runs, epochs, est, horizon, by_activation, late_gain, overfit, relu_gap)


def epochs_figures(out: PageOutput, h4: EpochsStats) -> None:
    """The learning curves, then validation loss with the epoch the rule keeps marked: where the curve turns up
    after the mark, the net has begun to overfit."""
    curves_figure(h4.epochs, "activation", None, out, "h41_curves",
                  f"H4.1–H4.2 — accuracy per epoch (solid train, dashed validation, dotted test), mean and range over "
                  "seeds. The next figure marks the epoch the validation rule "
                  f"(best validation loss, patience {PATIENCE}) "
                  "picks.", palette=ACTIVATION_PALETTE, hue_order=list(h4.by_activation))
    fig, ax = plt.subplots(figsize=(8, 4))
    for act, g in h4.epochs[h4.epochs["epoch"] > 0].groupby("activation"):
        mean = g.groupby("epoch")["val_loss"].mean()
        ax.plot(mean.index, mean.values, color=ACTIVATION_PALETTE[act], label=f"{act}: validation loss")
        chosen = h4.runs[h4.runs["activation"] == act]["chosen"].mean()
        ax.axvline(chosen, color=ACTIVATION_PALETTE[act], ls=":", lw=1.2)
        ax.text(chosen, ax.get_ylim()[1] if ax.get_ylim()[1] < 10 else mean.max(), f" rule: {chosen:.0f}",
                color=ACTIVATION_PALETTE[act], va="top", fontsize=8)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation loss (NLL)")
    ax.legend(fontsize=8)
    out.figure(fig, "h42_val_loss", "H4.2 — validation loss per epoch (mean over seeds). Dotted: the epoch the "
               "validation rule keeps; where the curve turns up afterwards, the net has begun to overfit.")


def rule_answer(out: PageOutput, h4: EpochsStats, claims: list[dict]) -> None:
    """H4.2 per activation: the rule's table row, a clause of the answer, and the document's claim it decides."""
    horizon, rows, parts = h4.horizon, [], []
    for act, r in h4.by_activation.items():
        diff, overfit = h4.late_gain[act], h4.overfit[act]
        rows.append({"activation": act,
                     "epoch chosen (mean, range)": f"{r['chosen'].mean():.1f} "
                                                   f"({r['chosen'].min()}–{r['chosen'].max()})",
                     "training would stop at": f"{r['stop'].mean():.1f}",
                     f"test acc. {horizon} − 25 epochs": pp(diff) if diff.n else "n/a (< 25 epochs)",
                     "runs whose best val. loss is before the last epoch": f"{overfit} of {len(r)}"})
        parts.append(f"for {act} the rule keeps epoch {r['chosen'].mean():.1f} on average"
                     + (f", and test accuracy changes by {pp(diff)} from 25 to {horizon} epochs" if diff.n else ""))
        if act == "sigmoid":
            claims.append({"claim": "sigmoid: better at 40 than at 25 epochs", "experiments": [MLP],
                           "measure": pp(diff) if diff.n else "n/a",
                           "verdict": verdict(ci_flag(diff)) if diff.n else verdict(None)})
        if act == "relu":
            claims.append({"claim": "more epochs help until the net overfits", "experiments": [MLP],
                           "measure": f"ReLU: validation loss bottoms out before epoch {horizon} in {overfit} of "
                                      f"{len(r)} runs (rule keeps epoch {r['chosen'].mean():.1f})",
                           # no minimum before the last epoch = no overfitting seen yet:
                           # the claim is untested, not false
                           "verdict": verdict(True if overfit == len(r) else None)})
    out.fragment("h42_table", markdown_table(pd.DataFrame(rows)))
    relu, sig = h4.est.get(("relu",)), h4.est.get(("sigmoid",))
    if h4.relu_gap is not None:
        out.set("h4.h41", f"After {horizon} epochs of plain SGD the ReLU MLP reaches {relu['test_acc'].pct()} test "
                f"accuracy and the sigmoid MLP {sig['test_acc'].pct()} (ReLU − sigmoid {pp(h4.relu_gap)}).")
    out.set("h4.h42", sentence(parts))


# ------------------------------------------------------------------------- H4.3 ---
def answer_batch(ctx: Context, out: PageOutput, claims: list[dict]) -> pd.DataFrame:
    runs = begin(ctx, out, BATCH, "h4.batch_scaling", H43.fragments, ["h4.h43"], "batch-size")
    if runs is None:
        return ctx.of("runs", BATCH)
    epochs = ctx.of("epochs", BATCH)
    h4 = batch_stats(runs, epochs, ctx.of("batches", BATCH))
    per_epoch, noise, final, ref = h4.per_epoch, h4.noise, h4.final, h4.ref
    rows = [{"batch size": int(b), "seconds per epoch": f"{per_epoch[b]:.1f}",
             "time vs batch 32": f"{per_epoch[b] / ref:.2f}×",
             "std of step-to-step loss change": f"{noise.get(b, math.nan):.3f}",
             "final test accuracy": f"{percent(final[b], 2)}"}
            for b in per_epoch.index]
    out.fragment("h43_table", markdown_table(pd.DataFrame(rows)))
    batch_time_figure(out, epochs, len(per_epoch))
    if 1 in per_epoch.index and 32 in per_epoch.index:
        slower = per_epoch[1] / ref
        claims.append({"claim": "mini-batches are cheaper per epoch than SGD (batch 1)", "experiments": [BATCH],
                       "measure": f"an epoch at batch 1 takes {slower:.1f}× as long as at batch 32",
                       "verdict": verdict(bool(slower > 1.0))})
        claims.append({"claim": "SGD (batch 1) is noisier than mini-batches", "experiments": [BATCH],
                       "measure": f"std of step-to-step loss change {noise.get(1, math.nan):.3f} at batch 1 vs "
                                  f"{noise.get(32, math.nan):.3f} at batch 32",
                       "verdict": verdict(bool(noise.get(1, 0) > noise.get(32, math.inf)))})
        out.set("h4.h43", f"At equal epochs batch 1 costs {slower:.1f}× the time of batch 32 per epoch and batch 512 "
                f"{per_epoch.get(512, math.nan) / ref:.2f}×; the loss noise falls from {noise.get(1, math.nan):.3f} "
                f"(batch 1) to {noise.get(512, math.nan):.3f} (batch 512); final test accuracy ranges from "
                f"{percent(final.min(), 2)} (batch {int(final.idxmin())}) to "
                f"{percent(final.max(), 2)} (batch {int(final.idxmax())}).")
    else:
        out.set("h4.h43", "Batch sizes 1 and 32 are not both in this profile.")
    return runs


@dataclass
class BatchStats:
    """H4.3 per batch size, as numbers: time per epoch, loss noise, final test accuracy."""

    per_epoch: pd.Series  # mean seconds per epoch
    noise: pd.Series  # std of the step-to-step change of the training loss, mean over runs
    final: pd.Series  # mean final test accuracy
    ref: float  # seconds per epoch at batch 32 (nan when it did not run)


def batch_stats(runs: pd.DataFrame, epochs: pd.DataFrame, batches: pd.DataFrame) -> BatchStats:
    """What the batch size costs (time) and buys (less noisy steps), against batch 32."""
    per_epoch = epochs[epochs["epoch"] > 0].groupby("batch_size")["seconds"].mean()
    noise = batches.sort_values("step").groupby(["batch_size", "run_id"])["loss"].apply(
        lambda s: s.diff().std()).groupby("batch_size").mean()
    final = runs.groupby("batch_size")["final_test_acc"].mean()
    return BatchStats(per_epoch, noise, final, per_epoch.get(32, math.nan))


def batch_time_figure(out: PageOutput, epochs: pd.DataFrame, n_sizes: int) -> None:
    """Accuracy against wall time rather than epochs: what a batch size costs to reach an accuracy."""
    fig, ax = plt.subplots(figsize=(8, 4.2))
    e = epochs.sort_values("epoch").copy()
    e["elapsed"] = e.groupby("run_id")["seconds"].cumsum()
    colours = plt.get_cmap("viridis")(np.linspace(0, 0.9, n_sizes))
    for colour, (b, g) in zip(colours, e.groupby("batch_size")):
        mean = g.groupby("epoch")[["elapsed", "test_acc"]].mean()
        ax.plot(mean["elapsed"], 100 * mean["test_acc"], marker="o", color=colour, label=f"batch {b}")
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlabel("training wall time (s, symmetric log)")
    ax.set_ylabel("test accuracy (%)")
    ax.legend(fontsize=8)
    out.figure(fig, "h43_time", "H4.3 — test accuracy after each epoch against the training time spent, one line per "
               "batch size (same number of epochs for all).")


# ------------------------------------------------------------------------- H4.4 ---
def answer_bn(ctx: Context, out: PageOutput, mlp_runs: pd.DataFrame, claims: list[dict]) -> pd.DataFrame:
    runs = ctx.of("runs", BN)
    if runs.empty or mlp_runs.empty:
        missing(out, H44.fragments, "H4.4")
        out.set("h4.h44", "The BN comparison did not run in this profile.")
        return runs
    both = pd.concat([mlp_runs[mlp_runs["activation"] == "relu"], runs], ignore_index=True)
    diff = gap(both, both["norm"] == "batchnorm", both["norm"] == "none")
    e = estimates(both, ["norm"], ["test_acc"])
    out.set("h4.h44", f"With BN the ReLU MLP reaches {e[('batchnorm',)]['test_acc'].pct()} test accuracy against "
            f"{e[('none',)]['test_acc'].pct()} without: {pp(diff)}.")
    claims.append({"claim": "batch normalisation slightly increased performance", "experiments": [MLP, BN],
                   "measure": f"test accuracy, BN − none: {pp(diff)}",
                   "verdict": verdict(ci_flag(diff))})
    epochs = pd.concat([ctx.of("epochs", MLP), ctx.of("epochs", BN)])
    epochs = epochs[epochs["activation"] == "relu"].assign(
        variant=lambda f: np.where(f["norm"] == "batchnorm", "relu+BN", "relu"))
    curves_figure(epochs, "variant", None, out, "h44_curves",
                  "H4.4 — the ReLU MLP with and without batch normalisation: "
                  "accuracy per epoch (solid train, dashed validation, dotted test), mean and range over seeds.",
                  palette={"relu": ACTIVATION_PALETTE["relu"], "relu+BN": "#0d3b5e"}, hue_order=["relu", "relu+BN"])
    return runs


# ------------------------------------------------------------------ H4.5 / H4.6 ---
def fc_parameters(widths: list[int], inputs: int = 784) -> int:
    sizes = [inputs] + widths
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def cnn_specs(ctx: Context) -> dict[str, dict]:
    """The two networks of H4.5–H4.6 as resolved for this profile: the first spec of each grid model, in order."""
    specs: dict[str, dict] = {}
    for spec in ctx.specs(CNN):
        key = json.dumps(spec["model"], sort_keys=True)
        if key not in {json.dumps(s["model"], sort_keys=True) for s in specs.values()}:
            specs[("original", "filter-reduced", "other")[min(len(specs), 2)]] = spec
    return specs


def answer_anatomy(ctx: Context, out: PageOutput, claims: list[dict]) -> dict[str, dict]:
    specs = cnn_specs(ctx)
    if not specs:
        missing(out, H45.fragments, "H4.5")
        out.set("h4.h45", "The 8-layer CNN is not part of this configuration.")
        return specs
    a = cnn_anatomy(specs["original"])
    anatomy_tables(out, a)
    cnn_params, wide, matched = a.cnn_params, a.same_width_params, a.same_units_params
    out.set("h4.h45", f"{a.weight_layers} weight layers ({len(a.filters)} convolutional with "
            f"{', '.join(map(str, a.filters))} filters, {len(a.fc_widths)} fully connected); "
            f"{cnn_params:,} trainable parameters against "
            f"{wide:,} for an 8-layer fully connected net with one unit per filter and "
            f"{matched:,} for one with as many units as the CNN's feature maps; regularisers: L2 on "
            f"{a.l2} conv layers, {a.bns} batch-norm layers, {len(a.dropout_after)} dropout layers "
            f"(our placement: after {', '.join(a.dropout_after)}).")
    more, fewer = matched > cnn_params, wide < cnn_params
    claims.append({"claim": "an 8-layer fully connected net has more parameters", "experiments": [],
                   "measure": f"{matched / cnn_params:,.0f}× as many with matched layer outputs, "
                              f"{wide / cnn_params:.2f}× with one unit per filter",
                   "verdict": verdict(True if more and not fewer else (None if more else False))
                   + (" (true for matched feature maps, false for matched widths)" if more and fewer else "")})
    return specs


@dataclass
class Anatomy:
    """H4.5: the 8-layer CNN as built for this profile, and the fully connected nets it is compared with."""

    summary: list[dict]  # model_summary rows, one per layer
    filters: list[int]  # output channels per convolution
    fc_widths: list[int]  # output units per fully connected layer
    cnn_params: int  # trainable parameters
    same_width: list[int]  # an FC net with one unit per filter (and the CNN's FC layers)
    same_units: list[int]  # an FC net with as many units as each conv layer outputs
    same_width_params: int  # trainable parameters of those two FC nets
    same_units_params: int
    l2: int  # conv layers with an L2 penalty
    bns: int  # batch-norm layers
    dropout_after: list[str]  # per dropout layer, the weight layer whose block it closes

    @property
    def weight_layers(self) -> int:
        return len(self.filters) + len(self.fc_widths)


def cnn_anatomy(spec: dict) -> Anatomy:
    """Build the network and count what H4.5 asks about (no training involved)."""
    model = build_model(spec, n_classes=n_classes(spec))
    summary = model_summary(model)
    convs = [m for m in model if isinstance(m, torch.nn.Conv2d)]
    fcs = [m.out_features for m in model if isinstance(m, torch.nn.Linear)]
    filters = [c.out_channels for c in convs]
    conv_outputs = [int(np.prod([int(v) for v in row["output shape"].strip("()").split(", ")[1:]]))
                    for row, layer in zip(summary, model) if isinstance(layer, torch.nn.Conv2d)]
    names = [name for name, _ in model.named_children()]
    weight_names = [n for n, m in model.named_children() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    # each dropout follows the block of the last weight layer before it
    after = [next(w for w in reversed(weight_names) if names.index(w) < names.index(n))
             for n, m in model.named_children() if isinstance(m, torch.nn.Dropout)]
    return Anatomy(summary=summary, filters=filters, fc_widths=fcs,
                   cnn_params=parameter_count(model)["trainable"],
                   same_width=[*filters, *fcs], same_units=[*conv_outputs, *fcs],
                   same_width_params=fc_parameters([*filters, *fcs]),
                   same_units_params=fc_parameters([*conv_outputs, *fcs]),
                   l2=sum(1 for c in convs if getattr(c, "l2", 0)),
                   bns=sum(1 for m in model if isinstance(m, (torch.nn.BatchNorm2d, torch.nn.BatchNorm1d))),
                   dropout_after=after)


def anatomy_tables(out: PageOutput, a: Anatomy) -> None:
    """The layer summary, and the parameter counts of the CNN beside its two fully connected counterparts."""
    frame = pd.DataFrame(a.summary)
    frame["parameters"] = frame["parameters"].map(lambda v: f"{v:,}")
    out.fragment("h45_summary", markdown_table(frame.drop(columns=["non-trainable"])))
    counts = pd.DataFrame([
        {"network": "the 8-layer CNN (ours, as configured)",
         "layer widths": ", ".join(map(str, a.filters)) + " filters; FC " + ", ".join(str(f) for f in a.fc_widths),
         "trainable parameters": f"{a.cnn_params:,}"},
        {"network": "8 fully connected layers, one unit per filter", "layer widths": ", ".join(map(str, a.same_width)),
         "trainable parameters": f"{a.same_width_params:,}"},
        {"network": "8 fully connected layers, as many units as the CNN's layer outputs",
         "layer widths": ", ".join(f"{w:,}" for w in a.same_units),
         "trainable parameters": f"{a.same_units_params:,}"},
    ])
    out.fragment("h45_counts", markdown_table(counts))


def initial_penalty(spec: dict, seeds: list[int]) -> float:
    """Mean over seeds of the L2 term a freshly initialised network adds to the loss (training's init order)."""
    values = []
    for seed in seeds:
        torch.manual_seed(seed)
        model = build_model({**spec, "seed": seed}, n_classes=n_classes(spec))
        with torch.no_grad():
            values.append(float(penalty_value(penalty_terms(model, spec.get("penalty")))))
    return float(np.mean(values))


def answer_five_runs(ctx: Context, out: PageOutput, specs: dict[str, dict], claims: list[dict]) -> pd.DataFrame:
    runs, diag = ctx.of("runs", CNN), ctx.of("runs", DIAG)
    out.set("h4.cnn_scaling", ctx.scaling_text(CNN))
    if runs.empty or not specs:
        missing(out, H46.fragments, "H4.6")
        out.set("h4.h46", "The five-run comparison did not run in this profile.")
        out.set("h4.diagnosis", "No diagnosis runs in this profile.")
        return runs
    h46 = five_runs_stats(runs, diag, specs)
    five_runs_answer(out, h46, claims)
    diagnosis_table(out, h46)
    diagnosis_answer(out, h46, claims)
    return pd.concat([f for f in (h46.runs, h46.diag) if len(f)], ignore_index=True)


@dataclass
class NetworkRuns:
    """One network's runs in one H4.6 experiment, and the estimates over those that trained to the end."""

    runs: pd.DataFrame  # every run of the network (diverged included)
    ok: pd.DataFrame  # the runs that trained to the end
    test_acc: Estimate
    loss: Estimate  # test loss including the L2 term, as Keras reports it


def network_runs(frame: pd.DataFrame, name: str) -> NetworkRuns:
    """Pick one network's runs: the scorecard and the table average only those that trained to the end."""
    runs = frame[frame["network"] == name]
    ok = ok_runs(runs)
    return NetworkRuns(runs, ok, mean_ci(ok["final_test_acc"]), mean_ci(ok["keras_loss"]))


@dataclass
class FiveRuns:
    """H4.6 as numbers: the five-run comparison at the document's settings, and the diagnosis (an untrained net's loss
    predicted from its L2 term, and runs at lr 10⁻⁷ that cannot move their weights)."""

    runs: pd.DataFrame  # h4_cnn runs with `network` and `keras_loss` (test loss + L2 term)
    diag: pd.DataFrame  # h4_diagnosis runs, same columns (may be empty)
    k: int  # classes; chance accuracy is 1/k
    cnn: dict[str, NetworkRuns]  # original, filter-reduced
    diagnosis: dict[str, NetworkRuns]  # the same, lr 10⁻⁷ (empty without diagnosis runs)
    welch: tuple[float, float]  # (t, p) original vs filter-reduced test accuracy; nan with fewer than 2 runs each
    welch_document: tuple[float, float]  # the same for the document's own five runs
    at_chance: bool  # both networks' mean accuracy within CHANCE_BAND of 1/k
    init: dict[str, float]  # L2 term at initialisation (mean over our seeds)
    predicted: dict[str, float]  # loss of an untrained net: L2 term + ln k
    close: bool  # every prediction within 15 % of the document's mean loss
    stuck: bool  # the lr 10⁻⁷ runs stay at chance (falsy without them)
    diag_means: list[tuple[str, float, float]]  # per network with diagnosis runs: mean accuracy, mean loss incl. L2

    @property
    def chance(self) -> float:
        return 1.0 / self.k

    @property
    def learns(self) -> bool:
        return not self.at_chance

    @property
    def epochs(self) -> int:
        return int(self.runs["epochs"].max())

    def document_mean(self, name: str, metric: str) -> float:
        return np.mean(DOCUMENT_H46[name][metric])


def _label_networks(frame: pd.DataFrame, layer_sets: dict[str, dict]) -> None:
    """Name each run's network by its layers, and add the loss Keras reports (data term + L2 term)."""
    def name_of(model_layers: str) -> str:
        for name, model in layer_sets.items():
            if json.loads(model_layers) == model["layers"]:
                return name
        return "other"

    frame["network"] = frame["model.layers"].map(name_of)
    frame["keras_loss"] = frame["final_test_loss"] + frame["final_train_penalty"].fillna(0)


def five_runs_stats(runs: pd.DataFrame, diag: pd.DataFrame, specs: dict[str, dict]) -> FiveRuns:
    """The comparison the document ran (Welch's test, chance level) and what explains its numbers."""
    for frame in (runs, diag):
        if len(frame):
            _label_networks(frame, {name: spec["model"] for name, spec in specs.items()})
    k = n_classes(next(iter(specs.values())))
    chance = 1.0 / k
    cnn = {name: network_runs(runs, name) for name in ("original", "filter-reduced")}
    orig, red = (cnn[n].ok["final_test_acc"] for n in ("original", "filter-reduced"))
    welch = welch_test(orig, red) if len(orig) > 1 and len(red) > 1 else (math.nan, math.nan)
    at_chance = abs(orig.mean() - chance) < CHANCE_BAND and abs(red.mean() - chance) < CHANCE_BAND
    # the document's losses are the L2 term of an untrained net plus ln k
    seeds = sorted(int(s) for s in runs["seed"].unique())
    init = {name: initial_penalty(spec, seeds) for name, spec in specs.items()}
    predicted = {name: init[name] + math.log(k) for name in init}
    close = all(abs(predicted[n] - np.mean(DOCUMENT_H46[n]["loss"])) / np.mean(DOCUMENT_H46[n]["loss"]) < 0.15
                for n in predicted)
    stuck = (len(diag) and abs(diag["final_test_acc"].mean() - chance) < CHANCE_BAND)
    return FiveRuns(
        runs=runs, diag=diag, k=k, cnn=cnn,
        diagnosis={name: network_runs(diag, name) for name in ("original", "filter-reduced")} if len(diag) else {},
        welch=welch, welch_document=welch_test(DOCUMENT_H46["original"]["acc"], DOCUMENT_H46["filter-reduced"]["acc"]),
        at_chance=at_chance, init=init, predicted=predicted, close=close, stuck=stuck,
        diag_means=[(name, g["final_test_acc"].mean(), g["keras_loss"].mean())
                    for name, g in diag.groupby("network")] if len(diag) else [])


def five_runs_answer(out: PageOutput, h46: FiveRuns, claims: list[dict]) -> None:
    """Our five runs per network beside the document's: table, scorecard values, the answer and its claim."""
    rows = []
    for name, net in h46.cnn.items():
        ours, document = net.ok, DOCUMENT_H46[name]
        behind = {"experiments": [CNN], "run_ids": ours["run_id"].astype(str), "anchor": "h4-6"}
        out.measure(f"h46.{name}.test_acc", net.test_acc, **behind)
        out.measure(f"h46.{name}.loss", net.loss, **behind)
        rows.append({"network": name, "runs": len(ours),
                     "test acc. mean ± std (ours)":
                         f"{ours['final_test_acc'].mean():.3f} ± {ours['final_test_acc'].std():.3f}",
                     "test acc. (document)": f"{np.mean(document['acc']):.2f} ± {np.std(document['acc'], ddof=1):.2f}",
                     "loss incl. L2 (ours)": f"{ours['keras_loss'].mean():.2f} ± {ours['keras_loss'].std():.2f}",
                     "loss (document)": f"{np.mean(document['loss']):.2f} ± {np.std(document['loss'], ddof=1):.2f}",
                     "data loss only (ours)": f"{ours['final_test_loss'].mean():.3f}"})
    out.fragment("h46_table", markdown_table(pd.DataFrame(rows)))
    orig, red = (h46.cnn[n].ok["final_test_acc"] for n in ("original", "filter-reduced"))
    (t, p), (t_doc, p_doc), chance = h46.welch, h46.welch_document, h46.chance
    out.set("h4.h46", f"Trained with Keras' defaults for {h46.epochs} epoch(s), the original network "
            f"reaches {orig.mean():.3f} ± {orig.std():.3f} test accuracy and the filter-reduced one "
            f"{red.mean():.3f} ± {red.std():.3f} "
            f"""({'both at chance, as in the document' if h46.at_chance
                  else 'far above the chance level ' + f'{chance:.2f}' + ' the document reports'}); """
            f"Welch's t-test: t = {t:.2f}, p = {p:.3f} "
            f"(the document's own five runs: t = {t_doc:.2f}, p = {p_doc:.2f}).")
    claims.append({"claim": "both networks stay at chance (0.28 / 0.29 accuracy)", "experiments": [CNN],
                   "measure": f"ours: {orig.mean():.3f} / {red.mean():.3f} with Keras-default training",
                   "verdict": verdict(bool(h46.at_chance))})


def diagnosis_table(out: PageOutput, h46: FiveRuns) -> None:
    """The predicted loss of an untrained net beside the document's and the lr 10⁻⁷ runs' (and their scorecard
    values)."""
    k, rows = h46.k, []
    for name in ("original", "filter-reduced"):
        d = h46.diagnosis.get(name)
        if d is not None and len(d.runs):  # the untrained-network explanation the scorecard tests against the document
            behind = {"experiments": [DIAG], "run_ids": d.ok["run_id"].astype(str), "anchor": "h4-6"}
            out.measure(f"h46.diagnosis.{name}.test_acc", d.test_acc, **behind)
            out.measure(f"h46.diagnosis.{name}.loss", d.loss, **behind)
        ran = d is not None and len(d.runs)
        rows.append({"network": name, "L2 term at initialisation": f"{h46.init[name]:.2f}",
                     f"+ ln {k} (chance cross-entropy)": f"{h46.predicted[name]:.2f}",
                     "document's reported loss": f"{h46.document_mean(name, 'loss'):.2f}",
                     "lr 10⁻⁷ run: accuracy": f"{d.runs['final_test_acc'].mean():.3f}" if ran else "—",
                     "lr 10⁻⁷ run: loss incl. L2": f"{d.runs['keras_loss'].mean():.2f}" if ran else "—"})
    out.fragment("h46_diagnosis", markdown_table(pd.DataFrame(rows)))


def diagnosis_answer(out: PageOutput, h46: FiveRuns, claims: list[dict]) -> None:
    """Why the document's nets sat at chance, in words, and the verdict on the document's own explanation."""
    predicted, learns, stuck, close = h46.predicted, h46.learns, h46.stuck, h46.close
    out.set("h4.diagnosis",
            f"An untrained network's loss is its L2 term plus ln {h46.k}: {predicted['original']:.2f} for the original "
            f"and {predicted['filter-reduced']:.2f} for the filter-reduced net, against the document's "
            f"{h46.document_mean('original', 'loss'):.2f} and {h46.document_mean('filter-reduced', 'loss'):.2f} "
            f"""({'within 15 %: the document' + chr(39) + 's nets had effectively not moved from their initial '
                  + 'weights' if close else
                  'not close: the document' + chr(39) + 's numbers are not those of an untrained net'}). """
            + (f"Runs that change only the learning rate to 10⁻⁷ "
               f"{'stay at chance' if stuck else 'do not stay at chance'} "
               "(" + "; ".join(f"{name}: accuracy {acc:.3f}, loss {loss:.2f}" for name, acc, loss in h46.diag_means)
               + "), while the same nets "
               f"at 10⁻³ {'learn' if learns else 'also fail'}." if len(h46.diag)
               else "The diagnosis runs are not part of this profile."))
    claims.append({"claim": "the cause is the architecture or the image quality", "experiments": [CNN, DIAG],
                   "measure": "the same architectures on Fashion-MNIST learn at lr 10⁻³ and reproduce the document's "
                              "numbers only when the weights cannot move"
                              if (learns and stuck) else "see the diagnosis",
                   "verdict": verdict(False if (learns and stuck and close) else None)})


def build(ctx: Context, out: PageOutput) -> pd.DataFrame:
    claims: list[dict] = []
    for key, experiment in (("mlp_protocol", MLP), ("batch_protocol", BATCH), ("cnn_protocol", CNN)):
        out.set(f"h4.{key}", ctx.protocol_text(experiment))
    out.set("h4.patience", PATIENCE)
    mlp = answer_epochs(ctx, out, claims)
    batch = answer_batch(ctx, out, claims)
    bn = answer_bn(ctx, out, mlp, claims)
    specs = answer_anatomy(ctx, out, claims)
    cnn = answer_five_runs(ctx, out, specs, claims)
    for claim in claims:
        slug = re.sub(r"[^a-z0-9]+", "_", claim["claim"].lower()).strip("_")
        out.measure("h4.claim." + slug, claim["verdict"].strip("*").split("*")[0],
                    experiments=claim.get("experiments", ()), anchor="h4-claims")
    table = pd.DataFrame(claims).drop(columns="experiments", errors="ignore")
    out.fragment("h4_claims", markdown_table(table) if claims else "_No claims could be checked in this profile._\n")
    counts = (pd.Series([c["verdict"].strip("*").split("*")[0] for c in claims]).value_counts().to_dict()
              if claims else {})
    out.set("h4.claims", f"Of the document's {len(claims)} checked claims, " + ", ".join(
        f"{n} {word}" for word, n in counts.items()) + "." if claims else "no claims checked in this profile.")
    frames = [f for f in (mlp, batch, bn, cnn) if len(f)]
    return pd.concat(frames, ignore_index=True).drop_duplicates("run_id") if frames else ctx.table("runs").iloc[0:0]
