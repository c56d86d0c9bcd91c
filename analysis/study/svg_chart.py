"""Small charts as inline SVG, for the interactive copies of the pages' figures and for the run pages: no script
library, no network, a few kilobytes each. Hovering a marked point or a cell shows its series, x and value (an SVG
`<title>`). Through `report/nnlab.js`: the legend's entries hide (click) or isolate (shift-click) their series, a
button shows or hides the single runs behind a mean (`data-series`, `data-kind="run"`), and dragging a rectangle
over a line chart zooms on both axes (`data-zoom`: the data range the plot spans; double-click or "reset zoom"
undoes it). Series without a colour of their own take matplotlib's default cycle, as the static figures do;
heat maps take the static figure's colour map by name, so a colour is defined once for both kinds."""
from __future__ import annotations

import hashlib
import html
import itertools
import json
import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from matplotlib import colormaps
from matplotlib.colors import to_hex

#: the cycle for series with no colour of their own (matplotlib's tab10, as the static figures use)
CYCLE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
         "#17becf")
WIDTH, HEIGHT, MARGIN = 560, 260, (12, 16, 38, 62)  # top, right, bottom, left


@dataclass
class Series:
    name: str
    x: Sequence[float]
    y: Sequence[float]
    #: mark each point (with its hover title); off for long series such as every batch's loss
    points: bool = True
    colour: str | None = None
    #: extra words of each point's hover title (e.g. the run or the step), one per point
    labels: Sequence[str] = field(default_factory=tuple)
    #: a band around the line (e.g. the range over seeds), one low and one high per point
    low: Sequence[float] = field(default_factory=tuple)
    high: Sequence[float] = field(default_factory=tuple)
    dash: str = ""  #: an SVG stroke-dasharray ("4 3"), to tell splits apart beside the colour
    #: "run": one seed's line behind a mean, hidden until the reader asks for single runs; no legend entry
    kind: str = "mean"
    line: bool = True  #: join the points (off for a strip of single values, or a document's reference marks)
    marker: str = "circle"  #: "circle", or "outlined" (larger, black rim) for a reference value (a document's)


def _text(value: str) -> str:
    """Text for the SVG: HTML-escaped, and backticks and braces too, because the charts travel inside a Markdown
    raw-HTML fence (a backtick run could close it) through pandoc_site's shortcode pass (`{{<` would be read)."""
    return html.escape(value).replace("`", "&#96;").replace("{", "&#123;").replace("}", "&#125;")


def thin_step(count: int, limit: int) -> int:
    """k, so that one item in k (from the first) keeps at most `limit` of `count`."""
    return -(-count // limit) if count > limit else 1


def _finite(values: Sequence[float]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        return [low]
    step = 10 ** math.floor(math.log10((high - low) / count))
    for factor in (1, 2, 5, 10):
        if (high - low) / (step * factor) <= count:
            step *= factor
            break
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def _log_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Ticks of a log axis spanning 10^low..10^high, as log10 positions: whole decades when two or more fit, else
    1-2-5 steps, else plain ticks of the values (the same rule as report/nnlab.js's after a zoom)."""
    for multipliers in ((1,), (1, 2, 5)):
        ticks = [math.log10(m) + k for k in range(math.floor(low), math.ceil(high) + 1) for m in multipliers
                 if low - 1e-9 <= math.log10(m) + k <= high + 1e-9]
        if len(ticks) >= 2:
            return ticks[::thin_step(len(ticks), count + 1)]
    return [math.log10(t) for t in _ticks(10 ** low, 10 ** high, count) if t > 0]


def _fmt(value: float) -> str:
    return f"{value:.4g}"


#: how many ids this process has handed out: two charts of identical content on one page still get two ids
_IDS = itertools.count()


def _chart_id(parts: Sequence[str]) -> str:
    """An id for a chart's clip path or gradient: from its content and the order it was drawn in, so ids on a page
    differ and a rebuild (which draws in the same order) writes the same ones."""
    return "c" + hashlib.sha1(f"{next(_IDS)}|{''.join(parts)}".encode()).hexdigest()[:10]


def line_chart(series: Sequence[Series], x_label: str, y_label: str, title: str, log_y: bool = False,
               x_names: Mapping[float, str] | None = None) -> str:
    """An SVG line chart with axes, hover titles, a legend whose entries hide or isolate their series, and the
    data range it spans (`data-zoom`) for zooming; the empty string when no series has a finite point. `x_names`
    names categorical x values (a layer's name at its index): ticks and hover titles show the name."""
    def transform(v: float) -> float:
        return math.log10(v) if log_y else v

    names = {float(k): str(v) for k, v in (x_names or {}).items()}

    def x_text(v: float) -> str:
        return names.get(float(v), _fmt(v))

    xs = [v for s in series for v in _finite(s.x)]
    ys = [transform(v) for s in series for v in [*_finite(s.y), *_finite(s.low), *_finite(s.high)]
          if not log_y or v > 0]
    if not xs or not ys:
        return ""
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    if x1 == x0:
        x0, x1 = x0 - 0.5, x1 + 0.5
    if y1 == y0:
        y0, y1 = y0 - 0.5, y1 + 0.5
    top, right, bottom, left = MARGIN
    plot_w, plot_h = WIDTH - left - right, HEIGHT - top - bottom

    def px(v: float) -> float:
        return left + (v - x0) / (x1 - x0) * plot_w

    def py(v: float) -> float:
        return top + (1 - (transform(v) - y0) / (y1 - y0)) * plot_h

    x_ticks = sorted(k for k in names if x0 <= k <= x1) if 0 < len(names) <= 12 else _ticks(x0, x1)
    axes = [f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#ccd"/>',
            '<g class="nnlab-xticks">']
    axes += [f'<text x="{px(t):.1f}" y="{HEIGHT - bottom + 14}" text-anchor="middle">{_text(x_text(t))}</text>'
             for t in x_ticks]
    axes.append('</g><g class="nnlab-yticks">')
    for tick in (_log_ticks(y0, y1) if log_y else _ticks(y0, y1)):
        label = _fmt(10 ** tick) if log_y else _fmt(tick)
        y = top + (1 - (tick - y0) / (y1 - y0)) * plot_h
        axes.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eef"/>'
                    f'<text x="{left - 5}" y="{y + 4:.1f}" text-anchor="end">{label}</text>')
    axes.append(f'</g><text x="{left + plot_w / 2}" y="{HEIGHT - 4}" text-anchor="middle">{_text(x_label)}</text>'
                f'<text transform="translate(13,{top + plot_h / 2}) rotate(-90)" text-anchor="middle">'
                f'{_text(y_label)}</text>')
    plot, legend, colours, has_runs, named = [], [], {}, False, set()
    for i, s in enumerate(series):
        colour = s.colour or colours.setdefault(s.name, CYCLE[len(colours) % len(CYCLE)])
        pairs = [(float(a), float(b), s.labels[j] if j < len(s.labels) else "")
                 for j, (a, b) in enumerate(zip(s.x, s.y))
                 if b is not None and math.isfinite(float(b)) and (not log_y or b > 0)]
        if not pairs:
            continue
        name = _text(s.name)
        line = " ".join(f"{px(a):.1f},{py(b):.1f}" for a, b, _ in pairs)
        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        if s.kind == "run":
            has_runs = True
            plot.append(f'<g data-series="{name}" data-kind="run" stroke="{colour}" style="display:none">'
                        f'<polyline points="{line}" fill="none" stroke-width="0.8" opacity="0.7"{dash}>'
                        f'<title>{_text(pairs[0][2])}</title></polyline></g>')
            continue
        group = [f'<g data-series="{name}" stroke="{colour}" fill="{colour}">']
        band = [(float(a), lo, hi) for a, lo, hi in zip(s.x, s.low, s.high)
                if lo is not None and hi is not None and math.isfinite(lo) and math.isfinite(hi)
                and (not log_y or min(lo, hi) > 0)]
        if band:
            outline = [f"{px(a):.1f},{py(hi):.1f}" for a, _, hi in band]
            outline += [f"{px(a):.1f},{py(lo):.1f}" for a, lo, _ in reversed(band)]
            group.append(f'<polygon points="{" ".join(outline)}" fill-opacity="0.15" stroke="none"/>')
        if s.line:
            group.append(f'<polyline points="{line}" fill="none" stroke-width="1.6"{dash}/>')
        if s.points:
            shape = ' r="4.5" stroke="#000" stroke-width="1"' if s.marker == "outlined" else ' r="3.2"'
            group += [f'<circle cx="{px(a):.1f}" cy="{py(b):.1f}"{shape}><title>{name}: {_text(x_label)} '
                      f'{_text(x_text(a))}, {_text(y_label)} {_fmt(b)}{_text(extra and "; " + extra)}</title>'
                      f'</circle>' for a, b, extra in pairs]
        plot += group + ["</g>"]
        if name in named:
            continue
        named.add(name)
        legend.append(f'<li><button type="button" data-series="{name}" aria-pressed="true">'
                      f'<span style="background:{colour}"></span>{name}</button></li>')
    if has_runs:
        legend.append('<li><button type="button" class="nnlab-runs-toggle" aria-pressed="false">'
                      'single runs</button></li>')
    legend.append('<li><button type="button" class="nnlab-zoom-reset" hidden>reset zoom</button></li>')
    clip = _chart_id(plot)
    names_attr = f' data-xnames="{_text(json.dumps({_fmt(k): v for k, v in names.items()}))}"' if names else ""
    head = (f'<svg class="nnlab-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{_text(title)}" '
            f'data-zoom="{x0!r} {x1!r} {y0!r} {y1!r}" data-plot="{left} {top} {plot_w} {plot_h}" '
            f'data-log-y="{int(log_y)}"{names_attr}><title>{_text(title)}</title>'
            f'<defs><clipPath id="{clip}"><rect x="{left - 5}" y="{top - 5}" width="{plot_w + 10}" '
            f'height="{plot_h + 10}"/>'
            f'</clipPath></defs>')
    body = [head, *axes, f'<g class="nnlab-plot" clip-path="url(#{clip})">', *plot, "</g></svg>"]
    return (f'<figure class="nnlab-figure">{"".join(body)}<figcaption>{_text(title)}'
            f'<ul class="nnlab-legend">{"".join(legend)}</ul></figcaption></figure>')


def heatmap(rows: Sequence[str], columns: Sequence[str], values: Sequence[Sequence[float | None]], title: str,
            row_label: str, column_label: str, value_label: str, cmap: str, low: float, high: float,
            notes: Sequence[Sequence[str]] = (), annotate: bool = True) -> str:
    """A heat map as SVG: one cell per row and column in `cmap` (the static figure's colour map, by name) over
    [low, high]; hovering a cell gives its row, column, value and its note (e.g. the CI and the runs behind it);
    `annotate` writes each value in its cell. Missing values are left blank. The empty string when no value is
    finite."""
    finite = [v for row in values for v in row if v is not None and math.isfinite(float(v))]
    if not finite or not rows or not columns:
        return ""
    top, right, bottom, left = 12, 16, 40, 96
    cell_w = max(6.0, min(70.0, (WIDTH - left - right) / len(columns)))
    cell_h = max(4.0, min(28.0, 360 / len(rows)))
    width = max(left + cell_w * len(columns) + right, left + 130 + 7 * len(f"{_fmt(high)} {value_label}"))
    height = top + cell_h * len(rows) + bottom + 22
    colour_map = colormaps[cmap]

    def fill(v: float) -> str:
        return to_hex(colour_map(min(1.0, max(0.0, (v - low) / (high - low or 1.0)))))

    # drawn at its own size (not stretched to the column), so every heat map's text has one size
    parts = [f'<svg class="nnlab-chart nnlab-heatmap" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
             f'style="max-width:{width:.0f}px" '
             f'aria-label="{_text(title)}"><title>{_text(title)}</title>']
    row_step = thin_step(len(rows), 24)
    for r, row in enumerate(rows):
        y = top + r * cell_h
        if r % row_step == 0:
            parts.append(f'<text x="{left - 5}" y="{y + cell_h / 2 + 4:.1f}" text-anchor="end">{_text(row)}</text>')
        for c, column in enumerate(columns):
            v = values[r][c]
            if v is None or not math.isfinite(float(v)):
                continue
            v = float(v)
            note = notes[r][c] if r < len(notes) and c < len(notes[r]) else ""
            shade = fill(v)
            parts.append(f'<rect x="{left + c * cell_w:.1f}" y="{y:.1f}" width="{cell_w:.1f}" height="{cell_h:.1f}" '
                         f'fill="{shade}"><title>{_text(row_label)} {_text(row)}, {_text(column_label)} '
                         f'{_text(column)}: {_text(value_label)} {_fmt(v)}{_text(note and "; " + note)}</title>'
                         f'</rect>')
            if annotate and cell_h >= 12:
                ink = "#fff" if sum(int(shade[i:i + 2], 16) for i in (1, 3, 5)) < 380 else "#000"
                parts.append(f'<text x="{left + (c + 0.5) * cell_w:.1f}" y="{y + cell_h / 2 + 4:.1f}" '
                             f'text-anchor="middle" fill="{ink}" pointer-events="none">{v:.1f}</text>')
    column_step = thin_step(len(columns), max(1, int((width - left - right) // 40)))
    base = top + cell_h * len(rows)
    parts += [f'<text x="{left + (c + 0.5) * cell_w:.1f}" y="{base + 14:.1f}" text-anchor="middle">'
              f'{_text(column)}</text>' for c, column in enumerate(columns) if c % column_step == 0]
    parts.append(f'<text x="{left + cell_w * len(columns) / 2:.1f}" y="{base + 30:.1f}" text-anchor="middle">'
                 f'{_text(column_label)}</text><text transform="translate(12,{top + cell_h * len(rows) / 2:.1f}) '
                 f'rotate(-90)" text-anchor="middle">{_text(row_label)}</text>')
    scale = "".join(f'<stop offset="{i / 8:.3f}" stop-color="{to_hex(colour_map(i / 8))}"/>' for i in range(9))
    gradient = _chart_id(parts)
    parts.append(f'<defs><linearGradient id="{gradient}">{scale}</linearGradient></defs>'
                 f'<rect x="{left}" y="{height - 12}" width="120" height="8" fill="url(#{gradient})"/>'
                 f'<text x="{left - 4}" y="{height - 4}" text-anchor="end">{_fmt(low)}</text>'
                 f'<text x="{left + 124}" y="{height - 4}">{_fmt(high)} {_text(value_label)}</text></svg>')
    return (f'<figure class="nnlab-figure nnlab-inline" style="width:{width:.0f}px">{"".join(parts)}'
            f'<figcaption>{_text(title)}</figcaption></figure>')
