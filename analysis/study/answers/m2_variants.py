"""M2's protocol variants (issue 16): the details document 003 leaves open, measured. Declared in config/config.yaml
(the `m2_width` experiment) and in config/scorecard.csv (each M2.1/M2.3 row's `cause` / `cause_measure`)
before their runs existed. This module publishes the measurements those rows name and shows them beside the
document's table; the scorecard says which variant, if any, reproduces each number.

- one epoch: Keras' `fit` trains one epoch unless told otherwise, and the document gives no epoch count. Read
  from m2_depth's evaluation after epoch 1 (constant learning rate: the same as a one-epoch run);
- one epoch at width 64 and 256: the document gives no width either (m2_depth fixes 128);
- untrained (epoch 0): M2.3's section says its networks are untrained; m2_depth's evaluation at
  initialisation.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator
import pandas as pd

from analysis.engine.activations import ordered
from analysis.study.answers.common import DocumentValues, PageOutput, markdown_table, missing
from analysis.study.answers.questions import Measure, metric_units
from analysis.study.answers.tools import curve_charts, estimates
from analysis.study.figures import ACTIVATION_PALETTE
from analysis.study.stats import Estimate, mean_ci, percent

DEPTH, WIDTH = "m2_depth", "m2_width"
#: the epochs of m2_depth's curves a variant reads: at initialisation, and after Keras' default single epoch
VARIANT_EPOCHS = (0, 1)
METRICS = ("test_acc", "test_loss")
FRAGMENTS = ("m2v_table", "m2v_curves", "m2v_init_table")
#: the scorecard keys the variants publish (the M2.1 / M2.3 rows' `cause_measure`)
EPOCH_MEASURE = Measure("m2.d{depth}.{act}.epoch{epoch}.{metric}", metric_units(*METRICS))
WIDTH_MEASURE = Measure("m2.w{width}.d{depth}.{act}.{metric}", metric_units(*METRICS))
MEASURES = (EPOCH_MEASURE, WIDTH_MEASURE)
WIDTH_MARKERS = {64: "v", 256: "^"}


def at_epoch(epochs: pd.DataFrame, runs: pd.DataFrame, epoch: int) -> dict[tuple[int, str], dict]:
    """Mean and spread over seeds of the test metrics after `epoch` (0 = untrained), per (depth, activation);
    every run that reached the epoch counts, also one that diverged later."""
    rows = epochs[epochs["epoch"] == epoch].merge(runs[["run_id", "depth"]], on="run_id")
    out: dict[tuple[int, str], dict] = {}
    for (depth, act), group in rows.groupby(["depth", "activation"]):
        out[(int(depth), act)] = {m: mean_ci(group[m]) for m in METRICS}
        out[(int(depth), act)]["run_ids"] = group["run_id"].astype(str).tolist()
    return out


def publish(out: PageOutput, by_epoch: dict[int, dict], widths: dict[tuple, dict]) -> None:
    """The measurements the registry's `cause_measure` column names."""
    for epoch, cells in by_epoch.items():
        for (depth, act), e in cells.items():
            for metric in METRICS:
                out.measure(EPOCH_MEASURE.format(depth=depth, act=act, epoch=epoch, metric=metric), e[metric],
                            experiments=[DEPTH], run_ids=e["run_ids"], anchor="m2-variants")
    for (width, depth, act), e in widths.items():
        for metric in METRICS:
            out.measure(WIDTH_MEASURE.format(width=width, depth=depth, act=act, metric=metric), e[metric],
                        experiments=[WIDTH], run_ids=e["run_ids"], anchor="m2-variants")


def width_phrase(widths: list[int]) -> str:
    """'widths 64 and 256': the widths this profile's `m2_width` runs trained, for the page's prose."""
    if not widths:
        return "other widths (not run in this profile)"
    names = [str(w) for w in widths]
    if len(names) == 1:
        return f"width {names[0]}"
    return f"widths {', '.join(names[:-1])} and {names[-1]}"


def _spread(e: Estimate | None) -> str:
    """'90.8 % (88.1–92.3)': mean and range of the runs, the range one run of ours falls in for n = 2–3."""
    if e is None or e.n == 0:
        return "—"
    if e.n == 1:
        return f"{percent(e.mean)} (one run)"
    return f"{percent(e.mean)} ({100 * min(e.values):.1f}–{100 * max(e.values):.1f})"


def variants_table(doc: DocumentValues, final: dict, by_epoch: dict, widths: dict) -> pd.DataFrame:
    """One row per cell of the document's M2.1 table: the seed, ours as trained, and each declared variant."""
    rows = []
    for (depth, act), value in doc.matching(r"M2\.1-(\d+)-(\w+)-acc").items():
        depth = int(depth)
        row = {"hidden layers": depth, "activation": act, "document": f"{percent(value)}",
               "ours, all epochs": _spread((final.get((depth, act)) or {}).get("test_acc")),
               "one epoch": _spread((by_epoch[1].get((depth, act)) or {}).get("test_acc"))}
        for width in sorted({w for w, _, _ in widths}):
            row[f"one epoch, width {width}"] = _spread((widths.get((width, depth, act)) or {}).get("test_acc"))
        rows.append(row)
    return pd.DataFrame(rows)


def init_table(doc: DocumentValues, untrained: dict) -> pd.DataFrame:
    """M2.3's table (loss / accuracy) beside our networks at initialisation."""
    rows = []
    for (depth, act), acc in doc.matching(r"M2\.3-(\d+)-(\w+)-acc").items():
        e = untrained.get((int(depth), act))
        ours = f"{e['test_loss'].mean:.3f} / {_spread(e['test_acc'])}" if e else "—"
        rows.append({"hidden layers": int(depth), "activation": act,
                     "document (loss / accuracy)": f"{doc(f'M2.3-{depth}-{act}-loss'):.3f} / {percent(acc)}",
                     "ours untrained, epoch 0 (loss / accuracy)": ours})
    return pd.DataFrame(rows)


def nearest_epochs(doc: DocumentValues, curves: pd.DataFrame) -> dict[int, list[str]]:
    """For each cell of the document's M2.1 table, the epoch at which our mean test accuracy comes closest to it."""
    mean = curves.groupby(["depth", "activation", "epoch"])["test_acc"].mean()
    nearest: dict[int, list[str]] = {}
    for (depth, act), value in doc.matching(r"M2\.1-(\d+)-(\w+)-acc").items():
        if (int(depth), act) not in mean.index.droplevel("epoch"):
            continue
        curve = mean.loc[(int(depth), act)].dropna()  # a cell whose runs all diverged has no curve
        if curve.empty:
            continue
        epoch = int((curve - value).abs().idxmin())
        nearest.setdefault(epoch, []).append(f"{act}-{depth} ({percent(value)} against {percent(curve[epoch])})")
    return dict(sorted(nearest.items()))


def curves_figure(out: PageOutput, curves: pd.DataFrame, doc: DocumentValues, widths: dict) -> None:
    """Test accuracy by epoch per depth (mean and range over seeds), the document's value as a dashed line in the
    activation's colour, and the width variants as markers at epoch 1: where on our curves the document's
    numbers fall."""
    depths = sorted(curves["depth"].unique())
    acts = ordered(curves["activation"].unique())
    stats = curves.groupby(["depth", "activation", "epoch"])["test_acc"].agg(["mean", "min", "max"]) * 100
    fig, axes = plt.subplots(1, len(depths), figsize=(4.2 * len(depths), 3.6), sharey=True, squeeze=False)
    for ax, depth in zip(axes[0], depths):
        for act in acts:
            if (depth, act) not in stats.index.droplevel("epoch"):
                continue
            s, colour = stats.loc[(depth, act)], ACTIVATION_PALETTE.get(act)
            ax.plot(s.index, s["mean"], color=colour, label=act)
            ax.fill_between(s.index, s["min"], s["max"], color=colour, alpha=0.2)
            value = doc.get(f"M2.1-{depth}-{act}-acc")
            if value is not None:
                ax.axhline(100 * value, color=colour, linestyle="--", linewidth=1)
            for (width, d, a), e in widths.items():
                if d == depth and a == act:
                    ax.plot([1], [100 * e["test_acc"].mean], marker=WIDTH_MARKERS.get(width, "o"), color=colour,
                            linestyle="none", markeredgecolor="black", label=f"{act}, width {width}")
        ax.set_title(f"{depth} hidden layers")
        ax.set_xlabel("epoch (0 = untrained)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0][0].set_ylabel("test accuracy (%)")
    axes[0][-1].legend(fontsize=7, loc="lower right")
    shown = sorted({w for w, _, _ in widths})
    markers = (", and one epoch at width " + " and ".join(f"{w} ({'▼' if WIDTH_MARKERS.get(w) == 'v' else '▲'})"
                                                           for w in shown)) if shown else ""
    out.figure(fig, "m2v_curves", "M2 protocol variants — our test accuracy by epoch (line: mean over seeds, band: "
               f"their range; width 128), the document's M2.1 value as a dashed line in the same colour{markers}. "
               "Where a dashed line meets a curve is the epoch that matches the document.")
    long = curves.assign(split="test", value=100 * curves["test_acc"])[["run_id", "epoch", "activation", "depth",
                                                                         "split", "value"]]
    out.interactive("m2v_curves", curve_charts(long, "activation", "depth", depths, ACTIVATION_PALETTE, acts,
                                               "test accuracy (%)", "epoch (0 = untrained)",
                                               {d: f"{d} hidden layers" for d in depths}), long,
                    note=" (the document's values are on the static figure)")


def answer(out: PageOutput, runs: pd.DataFrame, epochs: pd.DataFrame, width_runs: pd.DataFrame,
           final: dict, doc: DocumentValues) -> None:
    """Publish the variants' measurements and the M2 page's section on them. `runs` (with a `depth` column)
    and `epochs` belong to m2_depth, `width_runs` (with `depth`) to m2_width, `final` is M2.1's estimates."""
    if runs.empty or epochs.empty:
        missing(out, FRAGMENTS, "M2 depth")
        out.set("m2v.answer", "No depth × activation runs in this profile's configuration.")
        out.set("m2v.widths", width_phrase([]))
        return
    curves = epochs.merge(runs[["run_id", "depth"]], on="run_id")
    by_epoch = {epoch: at_epoch(epochs, runs, epoch) for epoch in VARIANT_EPOCHS}
    widths = {(int(w), int(d), a): e for (w, d, a), e in
              estimates(width_runs, ["model.width", "depth", "activation"], METRICS).items()} \
        if not width_runs.empty else {}
    publish(out, by_epoch, widths)
    out.set("m2v.widths", width_phrase(sorted({w for w, _, _ in widths})))
    out.fragment("m2v_table", markdown_table(variants_table(doc, final, by_epoch, widths)))
    out.fragment("m2v_init_table", markdown_table(init_table(doc, by_epoch[0])))
    curves_figure(out, curves, doc, widths)
    near = nearest_epochs(doc, curves)
    parts = [f"{'untrained (epoch 0)' if epoch == 0 else f'after epoch {epoch}'} for {', '.join(cells)}"
             for epoch, cells in near.items()]
    text = ("Our mean test-accuracy curve comes closest to the document's M2.1 numbers: " + "; ".join(parts) + "."
            if parts else "No cell of the document's M2.1 table was trained in this profile.")
    if by_epoch[0]:
        losses = [e["test_loss"].mean for e in by_epoch[0].values()]
        accs = [e["test_acc"].mean for e in by_epoch[0].values()]
        m23 = list(doc.matching(r"M2\.3-(\d+)-(\w+)-loss").values())
        text += (f" Untrained, our networks give test losses {min(losses):.2f}–{max(losses):.2f} and accuracies "
                 f"{100 * min(accs):.0f}–{percent(max(accs), 0)}; the document's M2.3 table has losses "
                 f"{min(m23):.2f}–{max(m23):.2f}.")
    out.set("m2v.answer", text + " Which variant reproduces which number, judged row by row, is on the scorecard.")
