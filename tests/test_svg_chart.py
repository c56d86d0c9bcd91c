"""The inline SVG charts (analysis/study/svg_chart.py): config text in a series name cannot become markup, close the
Markdown raw-HTML fence the charts travel in, or be read as a shortcode; bands set the y-range."""
from __future__ import annotations

import re

from analysis.study.svg_chart import Series, line_chart, thin_step

HOSTILE = "<b>x</b> ``` {{< var a.b >}}"


def test_series_names_are_text_not_markup_fences_or_shortcodes():
    chart = line_chart([Series(HOSTILE, [0, 1], [0.2, 0.4])], "epoch", "acc", HOSTILE)
    assert "<b>" not in chart and "```" not in chart and "{{<" not in chart
    assert "&lt;b&gt;x&lt;/b&gt; &#96;&#96;&#96; &#123;&#123;&lt; var a.b &gt;&#125;&#125;" in chart


def test_a_band_wider_than_the_line_stays_inside_the_plot():
    chart = line_chart([Series("m", [0, 1, 2], [0.5, 0.5, 0.6], low=[0.1, 0.2, 0.3], high=[0.9, 0.8, 0.7])],
                       "epoch", "acc", "t")
    ys = [float(y) for y in re.findall(r"[\d.]+,([\d.]+)", re.search(r'<polygon points="([^"]+)"', chart).group(1))]
    assert min(ys) >= 12 - 1e-6 and max(ys) <= 260 - 38 + 1e-6  # inside the top and bottom margins


def test_thinning_keeps_at_most_the_limit():
    assert thin_step(100, 300) == 1 and thin_step(301, 300) == 2 and len(range(0, 5064, thin_step(5064, 300))) <= 300
