"""The experiments page: every experiment of the configuration, and a report on each one no source-document
page claims, built from the config and the aggregated tables alone.

An experiment added to `config/config.yaml` is trained by the workflow whether or not a page reads it; this page
makes sure it is also shown: its learning curves per grid cell, final metrics with confidence intervals over
seeds, the gradient and activation probes when they are on, its config block and its run ids. Which experiments
the document pages show comes from their `CLAIMS` declarations (analysis.study.answers.claimed_experiments).
"""
from __future__ import annotations

import json
import math
import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import yaml

from analysis.study.answers import claimed_experiments, page_label
from analysis.study.answers.common import Context, PageOutput, code_fence, markdown_table, md_text
from analysis.study.answers.tools import (curves_figure, estimates, layer_names, line_charts, moving_average,
                                          ok_runs)
from analysis.store.layout import RUN_FILES, run_page_href
from analysis.study.stats import Estimate, percent

#: final metrics of the table: (metric, column title, Estimate formatter)
METRICS = (("test_acc", "test accuracy", "pct"), ("test_loss", "test loss", "num"),
           ("val_acc", "validation accuracy", "pct"), ("train_acc", "train accuracy (running)", "pct"))
#: probed steps drawn per gradient curve: more would only slow the figure down
STEP_LIMIT = 400
#: activation-probe panels: (kind, summary column, axis label, scale); a panel is drawn when its column has data
ACT_PANELS = (("post", "saturated_fraction", "saturated outputs (%)", 100.0),
              ("post", "dead_fraction", "dead ReLU units (%)", 100.0),
              ("pre", "std", "std of the pre-activation", 1.0))
NONE_UNCLAIMED = ("Every experiment is answered on a document page: none is shown only here. An experiment added "
                  "to `config/config.yaml` that no page claims appears here with its learning curves, metrics, "
                  "probes, configuration and runs.\n")


# ------------------------------------------------------------------ names ---
def unclaimed(config: dict, owners: dict[str, list[str]]) -> list[str]:
    """The experiments no document page shows, in config order."""
    return [name for name in config["experiments"] if name not in owners]


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "experiment"


def anchor(name: str) -> str:
    """The section id of an experiment on this page."""
    return "exp-" + slug(name).replace("_", "-")


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def show(value) -> str:
    """A config value as the YAML reader wrote it: lists and mappings compact, numbers short."""
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(", ", ": "))
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# ------------------------------------------------------------------ plan side ---
def cells(ctx: Context, name: str) -> pd.DataFrame:
    """One row per run of the experiment in this profile, from the plan: run id, its grid cell ('lr = 0.01, …'),
    seed."""
    keys = ctx.plan.experiments[name].grid_keys if name in ctx.plan.experiments else ()
    rows = [{"run_id": run.run_id, "seed": run.seed,
             "cell": ", ".join(f"{k} = {show(run.cell[k])}" for k in keys) or "all runs"}
            for run in ctx.plan.runs_of(name)]
    return pd.DataFrame(rows, columns=["run_id", "seed", "cell"]).drop_duplicates("run_id")


def probes_on(ctx: Context, name: str) -> dict[str, bool]:
    specs = ctx.specs(name)
    return {"grads": any(s.get("probes", {}).get("grad_every", 0) > 0 for s in specs),
            "act": any(s.get("probes", {}).get("activation_epochs") for s in specs)}


def config_block(ctx: Context, name: str) -> str:
    """The experiment's own YAML (base, grid, seeds and this profile's override), as it would be written."""
    experiment = ctx.config["experiments"][name]
    block = {k: experiment[k] for k in ("exercise", "title", "base", "grid", "seeds") if k in experiment}
    override = experiment.get("profiles", {}).get(ctx.profile)
    if override:
        block["profiles"] = {ctx.profile: override}
    text = yaml.safe_dump({"experiments": {name: block}}, sort_keys=False, default_flow_style=None,
                          allow_unicode=True, width=110)
    note = (f"The `{ctx.profile}` profile overrides it as shown under `profiles`." if override else
            f"No `profiles.{ctx.profile}` override: the `{ctx.profile}` profile runs this protocol as written.")
    return f"{code_fence(text, 'yaml')}\nKeys not set here come from `defaults:` in `config/config.yaml`. {note}\n"


def index_table(ctx: Context, owners: dict[str, list[str]]) -> str:
    """Every experiment: exercise, title, the page that shows it, and its number of runs in this profile."""
    rows = []
    for name, experiment in ctx.config["experiments"].items():
        pages = owners.get(name)
        shown = (", ".join(f"[{page_label(p)}]({p}.html)" for p in pages) if pages
                 else f"[this page, below](#{anchor(name)})")
        rows.append({"experiment": f"`{name}`", "exercise": md_text(experiment.get("exercise", "")),
                     "title": md_text(experiment.get("title", "—")), "shown on": shown,
                     f"runs ({ctx.profile})": len(cells(ctx, name))})
    return markdown_table(pd.DataFrame(rows))


# ------------------------------------------------------------------ tables ---
def fmt(est: Estimate, how: str) -> str:
    return "—" if est.n == 0 or math.isnan(est.mean) else getattr(est, how)()


def metrics_table(runs: pd.DataFrame, order: list[str]) -> str:
    """Final metrics per grid cell: mean and 95 % CI over seeds (diverged runs counted apart)."""
    present = [m for m in METRICS if f"final_{m[0]}" in runs and runs[f"final_{m[0]}"].notna().any()]
    est = estimates(runs, ["cell"], [metric for metric, _, _ in present])
    rows = []
    for cell in order:
        if (cell,) not in est:
            continue
        row = {"grid cell": md_text(cell), "runs": int((runs["cell"] == cell).sum()),
               "diverged": est[(cell,)]["diverged"]}
        row.update({title: fmt(est[(cell,)][metric], how) for metric, title, how in present})
        rows.append(row)
    return markdown_table(pd.DataFrame(rows)) if rows else "_No finished runs in the tables._\n"


def run_table(runs: pd.DataFrame, grid: pd.DataFrame) -> str:
    """Every run id with its cell, seed, status, final test accuracy and the folder holding its files."""
    known = runs.reindex(columns=["run_id", "status", "final_test_acc"])
    frame = grid.merge(known, on="run_id", how="left")
    rows = [{"run id": f"[`{r.run_id}`]({run_page_href(r.run_id)})", "grid cell": md_text(r.cell), "seed": r.seed,
             "status": r.status if isinstance(r.status, str) else "not in the tables",
             "test accuracy": "—" if pd.isna(r.final_test_acc) else f"{percent(r.final_test_acc, 2)}",
             "files": f"`results/runs/{r.run_id}/`"} for r in frame.itertuples()]
    files = ", ".join(f"`{f}`" for f in RUN_FILES)
    return (markdown_table(pd.DataFrame(rows)) + f"\nEach folder holds {files} and `train.log`; the run id is the "
            "hash of the run's resolved configuration, so experiments that ask for the same run share it.\n")


# ------------------------------------------------------------------ figures ---
def palette_for(order: list[str]) -> dict[str, tuple]:
    """One colour per grid cell, shared by every figure of the experiment."""
    colours = sns.color_palette(None if len(order) <= 10 else "husl", max(len(order), 1))
    return dict(zip(order, colours))


def learning_curves(epochs: pd.DataFrame, order: list[str], out: PageOutput, key: str, name: str) -> str | None:
    finite = np.isfinite(epochs.reindex(columns=["train_acc", "val_acc", "test_acc"]).to_numpy(dtype=float)).any(axis=1)
    if epochs.empty or epochs.loc[finite, "epoch"].nunique() < 2:  # one point per line draws no line
        return None
    present = [c for c in order if c in set(epochs["cell"])]
    curves_figure(epochs, "cell", None, out, f"{key}_curves",
                  f"{name} — accuracy per epoch, one colour per grid cell, one line style per split (train is the "
                  "running accuracy over the epoch; epoch 0 is the evaluation before training). Line: mean over "
                  "seeds; band: range over seeds; diverged runs left out.",
                  palette=palette_for(order), hue_order=present, from_epoch=0)
    return out.fragments[f"{key}_curves"]


def batch_loss_figure(batches: pd.DataFrame, order: list[str], out: PageOutput, key: str, name: str) -> str | None:
    data = batches[np.isfinite(batches["loss"].astype(float))] if len(batches) else batches
    if data.empty:
        return None
    palette = palette_for(order)
    window = max(1, int(data["step"].nunique()) // 100)
    fig, ax = plt.subplots(figsize=(8, 4))
    for cell in [c for c in order if c in set(data["cell"])]:
        per_run = data[data["cell"] == cell].pivot_table(index="step", columns="run_id", values="loss")
        smooth = per_run.rolling(window, min_periods=1).mean()
        ax.plot(smooth.index, smooth.mean(axis=1), color=palette[cell], lw=1.4, label=cell)
        ax.fill_between(smooth.index, smooth.min(axis=1), smooth.max(axis=1), color=palette[cell], alpha=0.2)
    ax.set_ylim(0, float(np.nanpercentile(data["loss"], 99.5)) * 1.1 or 1.0)
    ax.set_xlabel("training step (batch)")
    ax.set_ylabel("training loss (NLL)")
    ax.legend(fontsize=7, ncol=2)
    out.figure(fig, f"{key}_batch_loss",
               f"{name} — training loss of every batch ({window}-batch moving average). Line: mean over "
               "seeds; band: range over seeds; diverged runs left out.")
    smooth = moving_average(data, "loss", window)[["run_id", "cell", "step", "loss"]]
    out.interactive(f"{key}_batch_loss", line_charts(
        smooth, "step", "loss", "cell", palette=palette, hue_order=[c for c in order if c in set(data["cell"])],
        x_label="training step (batch)", y_label="training loss (NLL)",
        default_title=f"training loss, {window}-batch moving average"), smooth)
    return out.fragments[f"{key}_batch_loss"]


def layer_ticks(ax, frame: pd.DataFrame) -> None:
    names = layer_names(frame)
    ax.set_xticks(list(names), list(names.values()), rotation=45, ha="right", fontsize=7)


def experiment_gradient_figure(grads: pd.DataFrame, order: list[str], out: PageOutput, key: str,
                               name: str) -> str | None:
    """(a) mean |∂L/∂W| per weight layer over the probed batches; (b) the first and last layer's over training."""
    grads = grads[np.isfinite(grads["mean_abs_grad"].astype(float)) & (grads["mean_abs_grad"] > 0)]
    if grads.empty:
        return None
    palette, present = palette_for(order), [c for c in order if c in set(grads["cell"])]
    per_layer = grads.groupby(["cell", "run_id", "layer_index"], as_index=False)["mean_abs_grad"].mean()
    steps = np.unique(grads["step"])
    kept = steps[np.linspace(0, len(steps) - 1, min(len(steps), STEP_LIMIT)).astype(int)]
    ends = {grads["layer_index"].min(): "first weight layer", grads["layer_index"].max(): "last weight layer"}
    over_time = grads[grads["step"].isin(kept) & grads["layer_index"].isin(list(ends))].copy()
    over_time["layer"] = over_time["layer_index"].map(ends)
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.3))
    sns.lineplot(data=per_layer, x="layer_index", y="mean_abs_grad", hue="cell", hue_order=present, palette=palette,
                 marker="o", errorbar=("pi", 100), ax=axes[0])
    layer_ticks(axes[0], grads)
    axes[0].set(yscale="log", xlabel="weight layer (input → output)",
                ylabel="mean |∂L/∂W|, averaged over batches")
    sns.lineplot(data=over_time, x="step", y="mean_abs_grad", hue="cell", hue_order=present, palette=palette,
                 style="layer", errorbar=("pi", 100), ax=axes[1], linewidth=1.0)
    axes[1].set(yscale="log", xlabel="training step (probed batches)", ylabel="mean |∂L/∂W|")
    for ax in axes:
        ax.legend(fontsize=7)
    out.figure(fig, f"{key}_gradients",
               f"{name} — gradient flow: (a) mean |∂L/∂W| of each weight layer, averaged over the probed "
               "batches; (b) the first and last weight layer's over training. Line: mean over seeds; band: "
               "range over seeds; log scale.")
    charts = (line_charts(per_layer, "layer_index", "mean_abs_grad", "cell", palette=palette, hue_order=present,
                          x_label="weight layer", y_label="mean |∂L/∂W|", log_y=True, x_names=layer_names(grads),
                          default_title="(a) per weight layer, averaged over the probed batches")
              + line_charts(over_time, "step", "mean_abs_grad", "cell", style="layer", palette=palette,
                            hue_order=present, x_label="training step", y_label="mean |∂L/∂W|", log_y=True,
                            default_title="(b) first and last weight layer over training"))
    out.interactive(f"{key}_gradients", charts, pd.concat([per_layer.assign(panel="a"), over_time[
        ["cell", "run_id", "layer_index", "layer", "step", "mean_abs_grad"]].assign(panel="b")], ignore_index=True))
    return out.fragments[f"{key}_gradients"]


def activation_figure(summary: pd.DataFrame, order: list[str], out: PageOutput, key: str, name: str) -> str | None:
    """Per activation layer, at the first and last probed epoch: saturation, dead units, pre-activation spread."""
    probed = sorted(summary["epoch"].unique())
    s = summary[summary["epoch"].isin({probed[0], probed[-1]})].copy()
    s["when"] = s["epoch"].map(lambda e: "at initialisation" if e == 0 else f"after epoch {int(e)}")
    panels = [p for p in ACT_PANELS if s.loc[s["kind"] == p[0], p[1]].notna().any()]
    if not panels:
        return None
    palette, present = palette_for(order), [c for c in order if c in set(s["cell"])]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.2), squeeze=False)
    charts, drawn = [], []
    for ax, (kind, column, label, scale) in zip(axes[0], panels):
        data = s[s["kind"] == kind].dropna(subset=[column]).assign(value=lambda f: f[column] * scale)
        charts.append(line_charts(data, "layer_index", "value", "cell", style="when", palette=palette,
                                  hue_order=present, x_label="activation layer", y_label=label,
                                  x_names=layer_names(data), default_title=label))
        drawn.append(data[["cell", "run_id", "layer_index", "layer", "when", "value"]].assign(measure=label))
        sns.lineplot(data=data, x="layer_index", y="value", hue="cell", hue_order=present, palette=palette,
                     style="when", marker="o", errorbar=("pi", 100), ax=ax)
        layer_ticks(ax, data)
        ax.set(xlabel="activation layer", ylabel=label)
        ax.legend(fontsize=7)
    out.figure(fig, f"{key}_activations",
               f"{name} — activations on the fixed evaluation batch, per activation layer, at the first and "
               "last probed epoch: " + ", ".join(label for _, _, label, _ in panels)
               + ". Line: mean over seeds; band: range over seeds.")
    out.interactive(f"{key}_activations", "".join(charts), pd.concat(drawn, ignore_index=True))
    return out.fragments[f"{key}_activations"]


# ------------------------------------------------------------------ one experiment ---
def labelled(frame: pd.DataFrame, grid: pd.DataFrame) -> pd.DataFrame:
    """A table's rows with their run's grid cell (rows of runs outside this profile's grid are dropped)."""
    if frame.empty or "run_id" not in frame:
        return frame.assign(cell=pd.Series(dtype=str))
    return frame.merge(grid[["run_id", "cell"]], on="run_id", how="inner")


def probe_part(ctx: Context, name: str, grid: pd.DataFrame, out: PageOutput, which: str) -> str:
    """The gradient-flow or activation figure, or why there is none."""
    key, order = slug(name), list(dict.fromkeys(grid["cell"]))
    table, setting = {"grads": ("grads", "probes.grad_every"),
                      "act": ("act_summary", "probes.activation_epochs")}[which]
    if not probes_on(ctx, name)[which]:
        return f"_Off for this experiment (`{setting}` is not set): set it in the experiment's `base` to record it._\n"
    rows = labelled(ctx.of(table, name), grid)
    if rows.empty:
        return "_The probe is on, but the tables hold no rows for these runs (did every run diverge?)._\n"
    block = (experiment_gradient_figure if which == "grads" else activation_figure)(rows, order, out, key, name)
    return block or "_The probe recorded no values this figure can show._\n"


def section(ctx: Context, out: PageOutput, name: str) -> tuple[str, pd.DataFrame]:
    """The Markdown of one unclaimed experiment's section, and its runs."""
    experiment, grid, key = ctx.config["experiments"][name], cells(ctx, name), slug(name)
    order = list(dict.fromkeys(grid["cell"]))
    runs = labelled(ctx.of("runs", name), grid)
    ok = ok_runs(runs.reindex(columns=["run_id", "status"]))["run_id"]
    finished = grid[grid["run_id"].isin(ok)]  # diverged runs are counted in the table, left out of the curves
    curves = [learning_curves(labelled(ctx.of("epochs", name), finished), order, out, key, name),
              batch_loss_figure(labelled(ctx.of("batches", name), finished), order, out, key, name)]
    curves = [c for c in curves if c] or ["_No curve to draw: no finished run has two epochs or a training batch "
                                          "with finite metrics (diverged runs are left out)._\n"]
    n_seeds = int(grid.groupby("cell")["seed"].nunique().max()) if len(grid) else 0
    title = f" · {md_text(experiment['title'])}" if experiment.get("title") else ""
    parts = [f"## `{name}`{title} {{#{anchor(name)}}}",
             f"Exercise: {md_text(experiment.get('exercise', '—'))}. {plural(len(grid), 'run')} in the `{ctx.profile}` "
             f"profile: {plural(len(order), 'grid cell')} × up to {plural(n_seeds, 'seed')}. "
             + ctx.protocol_text(name),
             "### Configuration", config_block(ctx, name),
             "### Final metrics", metrics_table(runs, order) if len(runs) else "_No runs in the tables._\n",
             "### Learning curves", *curves,
             "### Gradient flow", probe_part(ctx, name, grid, out, "grads"),
             "### Activations", probe_part(ctx, name, grid, out, "act"),
             "### Runs", run_table(runs, grid)]
    return "\n\n".join(p.rstrip("\n") for p in parts) + "\n", runs.drop(columns=["cell"])


def summary_sentence(config: dict, shown: list[str]) -> str:
    total, answered = len(config["experiments"]), len(config["experiments"]) - len(shown)
    if not shown:
        return f"All {total} experiments of the configuration are answered on a document page."
    return (f"{answered} of the {total} experiments of the configuration {'is' if answered == 1 else 'are'} "
            "answered on a document page; "
            f"{len(shown)} {'is' if len(shown) == 1 else 'are'} shown only on the experiments page: "
            + ", ".join(f"`{name}`" for name in shown) + ".")


def build(ctx: Context, out: PageOutput) -> pd.DataFrame:
    owners = claimed_experiments()
    shown = unclaimed(ctx.config, owners)
    out.fragment("index", index_table(ctx, owners))
    texts, frames = [], []
    for name in shown:
        text, runs = section(ctx, out, name)
        texts.append(text)
        frames.append(runs)
    out.fragment("sections", "\n".join(texts) if texts else NONE_UNCLAIMED)
    out.set("summary", summary_sentence(ctx.config, shown))
    out.set("count", len(shown))
    out.set("status", f"{plural(len(shown), 'experiment')} shown only here" if shown
            else "every experiment is answered on a document page")
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True).drop_duplicates("run_id") if frames else ctx.table("runs").iloc[0:0]
