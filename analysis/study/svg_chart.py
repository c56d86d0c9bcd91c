"""Small line charts as inline SVG, for the interactive copies of the pages' learning curves and for the run
pages: no script library, no network, a few kilobytes each. Hovering a marked point shows its series, x and value
(an SVG `<title>`); the legend's entries toggle their series, and a button shows or hides the single runs behind a
mean, through `report/nnlab.js` (`data-series`, `data-kind="run"`). Series without a colour of their own take
matplotlib's default cycle, as the static figures do."""
from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Sequence

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


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def line_chart(series: Sequence[Series], x_label: str, y_label: str, title: str, log_y: bool = False) -> str:
    """An SVG line chart with axes, hover titles and a legend whose entries toggle their series; the empty string
    when no series has a finite point."""
    def transform(v: float) -> float:
        return math.log10(v) if log_y else v

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

    parts = [f'<svg class="nnlab-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="{_text(title)}"><title>{_text(title)}</title>',
             f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#ccd"/>']
    for tick in _ticks(x0, x1):
        parts.append(f'<text x="{px(tick):.1f}" y="{HEIGHT - bottom + 14}" text-anchor="middle">{_fmt(tick)}</text>')
    for tick in _ticks(y0, y1):
        label = _fmt(10 ** tick) if log_y else _fmt(tick)
        y = top + (1 - (tick - y0) / (y1 - y0)) * plot_h
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eef"/>'
                     f'<text x="{left - 5}" y="{y + 4:.1f}" text-anchor="end">{label}</text>')
    parts.append(f'<text x="{left + plot_w / 2}" y="{HEIGHT - 4}" text-anchor="middle">{_text(x_label)}</text>'
                 f'<text transform="translate(13,{top + plot_h / 2}) rotate(-90)" text-anchor="middle">'
                 f'{_text(y_label)}</text>')
    legend, colours, has_runs, named = [], {}, False, set()
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
            parts.append(f'<g data-series="{name}" data-kind="run" stroke="{colour}" style="display:none">'
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
        group.append(f'<polyline points="{line}" fill="none" stroke-width="1.6"{dash}/>')
        if s.points:
            group += [f'<circle cx="{px(a):.1f}" cy="{py(b):.1f}" r="3.2"><title>{name}: {_text(x_label)} '
                      f'{_fmt(a)}, {_text(y_label)} {_fmt(b)}{_text(extra and "; " + extra)}</title>'
                      f'</circle>' for a, b, extra in pairs]
        parts += group + ["</g>"]
        if name in named:
            continue
        named.add(name)
        legend.append(f'<li><button type="button" data-series="{name}" aria-pressed="true">'
                      f'<span style="background:{colour}"></span>{name}</button></li>')
    if has_runs:
        legend.append('<li><button type="button" class="nnlab-runs-toggle" aria-pressed="false">'
                      'single runs</button></li>')
    parts.append("</svg>")
    return (f'<figure class="nnlab-figure">{"".join(parts)}<figcaption>{_text(title)}'
            f'<ul class="nnlab-legend">{"".join(legend)}</ul></figcaption></figure>')
