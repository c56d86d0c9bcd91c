"""The statistics and renderings the exercise pages share: seed-averaged estimates, differences and the
words for them, epochs-to-threshold, learning curves with bands and their palettes. (What a page reads and
writes, and the "not in this profile" fillers, are in `analysis.study.answers.common`.) Each page module is then its
questions' logic only: which runs to compare and what sentence the comparison supports.
"""
from __future__ import annotations

import math
from typing import Iterable

import matplotlib.pyplot as plt
from matplotlib.colors import to_hex
from matplotlib.ticker import MaxNLocator
import numpy as np
import pandas as pd
import seaborn as sns

from analysis.study.svg_chart import CYCLE, Series, line_chart, thin_step
from analysis.study.answers.common import PageOutput
from analysis.study.figures import ACTIVATION_PALETTE
from analysis.study.stats import Estimate, diff_ci, mean_ci

SPLIT_STYLE = {"train": "-", "val": "--", "test": ":"}
DATASET_LABEL = {"fashion_mnist": "Fashion-MNIST", "mnist": "MNIST"}


def ok_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs that trained to the end (diverged runs are counted apart, never averaged)."""
    return runs[runs["status"] == "ok"]


def estimates(runs: pd.DataFrame, by: list[str], metrics: Iterable[str]) -> dict[tuple, dict[str, Estimate]]:
    """Mean and CI over seeds of each `final_<metric>` per group of `by` (diverged runs left out); beside them
    `diverged` (a count) and `run_ids` (the runs kept, for `out.measure(..., run_ids=...)`)."""
    out: dict[tuple, dict[str, Estimate]] = {}
    for key, group in runs.groupby(by, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        ok = ok_runs(group)
        out[key] = {m: mean_ci(ok[f"final_{m}"]) for m in metrics}
        out[key]["diverged"] = int((group["status"] == "diverged").sum())
        out[key]["run_ids"] = ok["run_id"].astype(str).tolist() if "run_id" in ok else []
    return out


def final_values(runs: pd.DataFrame, mask: pd.Series, metric: str) -> list[float]:
    return ok_runs(runs[mask])[f"final_{metric}"].tolist()


def gap(runs: pd.DataFrame, a: pd.Series, b: pd.Series, metric: str = "test_acc") -> Estimate:
    """Welch CI of mean(final metric | a) − mean(final metric | b)."""
    return diff_ci(final_values(runs, a, metric), final_values(runs, b, metric))


def pp(est: Estimate, digits: int = 2) -> str:
    """A difference of fractions in percentage points, with its CI."""
    if est.n == 0 or math.isnan(est.mean):
        return "n/a"
    if math.isnan(est.low):
        return f"{100 * est.mean:+.{digits}f} pp (n = {est.n})"
    return f"{100 * est.mean:+.{digits}f} pp (95 % CI {100 * est.low:+.{digits}f} to {100 * est.high:+.{digits}f})"


def compare_word(est: Estimate, better: str = "above", worse: str = "below",
                 undetected: str = "with no difference detected from",
                 one_run: str = "not compared, one run per arm, with") -> str:
    """Which side of zero the 95 % CI of a difference lies on. A CI across zero is 'no difference detected', never
    equality (that takes an equivalence test: `analysis.study.stats.similar`); one run per arm has no interval and no
    direction."""
    if est.n == 0 or math.isnan(est.mean):
        return "not measured against"
    if math.isnan(est.low):
        return one_run
    if est.low > 0:
        return better
    if est.high < 0:
        return worse
    return undetected


def epochs_to(epochs: pd.DataFrame, metric: str, threshold: float) -> pd.Series:
    """First epoch at which each run's `metric` reaches `threshold` (NaN when never)."""
    def first(group: pd.DataFrame) -> float:
        hit = group[group[metric] >= threshold]["epoch"]
        return float(hit.min()) if len(hit) else math.nan
    return epochs.groupby("run_id")[[metric, "epoch"]].apply(first)


def epochs_to_text(values: pd.Series, horizon: int) -> str:
    """'after 3.3 epochs' (mean over the runs that got there) or 'never within 5 epochs'."""
    reached = values.dropna()
    if reached.empty:
        return f"never within {horizon} epochs"
    text = f"after {reached.mean():.1f} epochs"
    if len(reached) < len(values):
        text += f" ({len(values) - len(reached)} of {len(values)} runs never within {horizon})"
    return text


def sentence(parts: list[str]) -> str:
    """Join clauses with semicolons into one sentence: first letter up, nothing else touched."""
    text = "; ".join(p for p in parts if p)
    return (text[:1].upper() + text[1:] + ".") if text else ""


def curves_figure(epochs: pd.DataFrame, hue: str, facet: str | None, out: PageOutput, name: str, caption: str,
                  metric: str = "acc", palette: dict | None = None, hue_order: list | None = None,
                  splits: tuple[str, ...] = ("train", "val", "test"), ylabel: str | None = None,
                  from_epoch: int = 1) -> None:
    """Learning curves per epoch: line = mean over seeds, band = range over seeds; one panel per facet.
    `from_epoch=0` adds the evaluation before training (val/test only), so one-epoch runs still draw a line."""
    long = epochs[epochs["epoch"] >= from_epoch].melt(
        id_vars=["run_id", "epoch", hue] + ([facet] if facet else []),
        value_vars=[f"{s}_{metric}" for s in splits if f"{s}_{metric}" in epochs], var_name="split", value_name="value")
    long = long.dropna(subset=["value"])
    long["split"] = long["split"].str.replace(f"_{metric}", "", regex=False)
    if metric == "acc":
        long["value"] *= 100
    facets = sorted(long[facet].unique()) if facet else [None]
    fig, axes = plt.subplots(1, len(facets), figsize=(6.0 * len(facets), 4.3), squeeze=False)
    for ax, value in zip(axes[0], facets):
        data = long if value is None else long[long[facet] == value]
        sns.lineplot(data=data, x="epoch", y="value", hue=hue, style="split", palette=palette, hue_order=hue_order,
                     style_order=[s for s in splits if s in set(data["split"])], errorbar=("pi", 100), ax=ax,
                     linewidth=1.4)
        if value is not None:
            ax.set_title(DATASET_LABEL.get(value, str(value)))
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(ylabel or ("accuracy (%)" if metric == "acc" else "loss (NLL)"))
        ax.legend(fontsize=7, ncol=2)
        lr_axis(ax, epochs if value is None else epochs[epochs[facet] == value], from_epoch)
    out.figure(fig, name, caption)
    interactive_curves(long, hue, facet, facets, out, name, palette, hue_order, ylabel or
                       ("accuracy (%)" if metric == "acc" else "loss (NLL)"))


#: how a split's line is drawn in the interactive copy (the static figure's line styles: solid, dashed, dotted)
SPLIT_DASH = {"train": "", "val": "5 3", "test": "2 2"}


#: x values an interactive curve keeps at most (a full-batch run has 2,000 iterations): every k-th beyond it
CURVE_POINTS = 120


def interactive_curves(long: pd.DataFrame, hue: str, facet: str | None, facets: list, out: PageOutput, name: str,
                       palette: dict | None, hue_order: list | None, ylabel: str) -> None:
    """The learning curves' interactive copy (`curve_charts`), appended to figure `name` with its data."""
    out.interactive(name, curve_charts(long, hue, facet, facets, palette, hue_order, ylabel), long)


def curve_charts(long: pd.DataFrame, hue: str, facet: str | None, facets: list, palette: dict | None,
                 hue_order: list | None, ylabel: str, x_label: str = "epoch", titles: dict | None = None) -> str:
    """Learning curves' interactive copy: `long` holds run_id, epoch, the hue (and facet) column, split, value;
    one line style per split, as in the static figure (`line_charts`)."""
    return line_charts(long, "epoch", "value", hue, style="split", facet=facet, facets=facets, palette=palette,
                       hue_order=hue_order, x_label=x_label, y_label=ylabel, titles=titles, dashes=SPLIT_DASH,
                       default_title="learning curves")


#: line styles for a figure's `style` levels when it names none (solid, dashed, dotted, dash-dot)
DASH_CYCLE = ("", "5 3", "2 2", "8 3 2 3")


def line_charts(data: pd.DataFrame, x: str, y: str, hue: str, *, style: str | None = None,
                facet: str | None = None, facets: list | None = None, palette: dict | None = None,
                hue_order: list | None = None, x_label: str, y_label: str, titles: dict | None = None,
                dashes: dict | None = None, log_y: bool = False, x_names: dict | None = None,
                default_title: str = "", band: str = "range over seeds", limit: int = CURVE_POINTS,
                extra: dict | None = None) -> str:
    """The interactive copy of a seaborn line plot with `errorbar=("pi", 100)`: per facet, per hue (and style)
    level, the mean over runs with the range over runs as a band, every point's value on hover, and each run's own
    line behind the mean (when `data` has run_id). Beyond `limit` x values, every k-th is kept (the last too), and
    the title says so. `x_names` names categorical x values (layers by index); `extra` adds series of its own to a
    facet's chart (facet value → [Series], None for an unfaceted chart), e.g. a document's reference values."""
    data = data.dropna(subset=[y])
    if log_y:
        data = data[data[y] > 0]
    if data.empty:
        return ""
    hues = [h for h in (hue_order or sorted(data[hue].unique(), key=str)) if h in set(data[hue])]
    given = palette if isinstance(palette, dict) else {}
    colours = {h: to_hex(given[h]) if h in given else CYCLE[i % len(CYCLE)] for i, h in enumerate(hues)}
    styles = list(dict.fromkeys(data[style])) if style else [None]
    dash = {s: (dashes or {}).get(s, DASH_CYCLE[i % len(DASH_CYCLE)]) for i, s in enumerate(styles)}
    xs = sorted(data[x].unique())
    every = thin_step(len(xs), limit)
    data = data[data[x].isin(set(xs[::every]) | set(xs[-1:]))]
    thinned = f"; one {x_label} in {every} shown" if every > 1 else ""
    charts = []
    for value in (facets if facets is not None else [None]):
        panel = data if value is None else data[data[facet] == value]
        series = []
        for h in hues:
            for level in styles:
                group = panel[(panel[hue] == h) & ((panel[style] == level) if style else True)]
                if group.empty:
                    continue
                stats = group.groupby(x)[y].agg(["mean", "min", "max", "count"]).reset_index()
                label = f"{h} · {level}" if style else str(h)
                series.append(Series(label, stats[x].tolist(), stats["mean"].tolist(), colour=colours[h],
                                     low=stats["min"].tolist(), high=stats["max"].tolist(), dash=dash[level],
                                     labels=[f"mean of {n} run{'s' * (n != 1)}" for n in stats["count"]]))
                if "run_id" not in group:
                    continue
                for run_id, run in group.sort_values(x).groupby("run_id"):
                    series.append(Series(label, run[x].tolist(), run[y].tolist(), colour=colours[h],
                                         dash=dash[level], kind="run", labels=[f"run {run_id}"]))
        series += (extra or {}).get(value, [])
        title = (titles or {}).get(value) or (DATASET_LABEL.get(value, str(value)) if value is not None else "")
        charts.append(line_chart(series, x_label, y_label, (title or default_title or y_label)
                                 + f" (band: {band}{thinned})", log_y=log_y, x_names=x_names))
    return "".join(charts)


def kept(frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """The columns of `columns` that `frame` has, for a figure's CSV (a table without run ids still draws)."""
    return frame[[c for c in columns if c in frame]]


def moving_average(frame: pd.DataFrame, column: str, window: int) -> pd.DataFrame:
    """`frame` sorted by step with `column` replaced by its moving average over `window` steps, per run."""
    frame = frame.sort_values("step")
    if "run_id" not in frame:
        return frame.assign(**{column: frame[column].rolling(window, min_periods=1).mean()})
    return frame.assign(**{column: frame.groupby("run_id")[column].transform(
        lambda v: v.rolling(window, min_periods=1).mean())})


def layer_names(frame: pd.DataFrame) -> dict[int, str]:
    """Each layer index's name, for the x axis of a per-layer chart."""
    return {int(i): str(n) for i, n in frame.groupby("layer_index")["layer"].first().items()}


def lr_axis(ax, epochs: pd.DataFrame, from_epoch: int = 1) -> None:
    """The learning rate in force per epoch, on a right-hand axis, when a schedule changes it (mean over runs);
    a constant rate is already in the caption's protocol and would only add clutter."""
    if "epoch_lr" not in epochs:
        return
    lr = epochs[epochs["epoch"] >= from_epoch].groupby("epoch")["epoch_lr"].mean().dropna()
    if lr.nunique() < 2:
        return
    twin = ax.twinx()
    twin.plot(lr.index, lr.values, color="#777777", linestyle=":", linewidth=1.2, label="learning rate")
    twin.set_ylabel("learning rate (dotted)", color="#777777")
    twin.tick_params(axis="y", colors="#777777", labelsize=7)


def variant_label(runs: pd.DataFrame) -> pd.Series:
    """'sigmoid', 'sigmoid+BN', … from the activation and norm columns."""
    return runs["activation"] + np.where(runs["norm"] == "batchnorm", "+BN", "")


def variant_palette(labels: Iterable[str]) -> dict[str, str]:
    """BN variants share their activation's colour family: the plain colour, BN a darker shade."""
    palette = {}
    for label in labels:
        base = ACTIVATION_PALETTE.get(label.split("+")[0], "#444444")
        palette[label] = _shade(base, 0.55) if label.endswith("+BN") else base
    return palette


def _shade(hex_colour: str, factor: float) -> str:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return "#{:02x}{:02x}{:02x}".format(*(int(c * factor) for c in (r, g, b)))
