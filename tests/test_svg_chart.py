"""The inline SVG charts (analysis/study/svg_chart.py): config text in a series name cannot become markup, close the
Markdown raw-HTML fence the charts travel in, or be read as a shortcode; bands set the y-range."""
from __future__ import annotations

import re

from analysis.study.svg_chart import Series, heatmap, line_chart, thin_step

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


def test_a_line_chart_states_the_data_range_its_plot_spans_so_a_zoom_can_map_back():
    """The zoom (report/nnlab.js) maps drawn coordinates to data through data-zoom and data-plot: a wrong range or a
    plot rectangle that is not the one drawn would label a zoomed axis wrongly."""
    chart = line_chart([Series("m", [1, 3], [0.01, 1.0])], "epoch", "loss", "t", log_y=True)
    x0, x1, y0, y1 = map(float, re.search(r'data-zoom="([^"]+)"', chart).group(1).split())
    assert (x0, x1, y0, y1) == (1.0, 3.0, -2.0, 0.0)  # y in log10, as the ticks are computed
    left, top, width, height = map(float, re.search(r'data-plot="([^"]+)"', chart).group(1).split())
    assert f'<rect x="{left:.0f}" y="{top:.0f}" width="{width:.0f}" height="{height:.0f}"' in chart
    cx = [float(v) for v in re.findall(r'<circle cx="([\d.]+)"', chart)]
    assert cx == [left, left + width]  # the first and last x sit on the plot's edges
    assert 'data-log-y="1"' in chart and 'clip-path="url(#c' in chart


def test_categorical_x_names_label_ticks_and_hover_and_are_escaped():
    chart = line_chart([Series("m", [0, 1], [0.2, 0.4])], "layer", "grad", "t", x_names={0: "linear1", 1: HOSTILE})
    assert "layer linear1, grad 0.2" in chart
    assert "<b>" not in chart and "{{<" not in chart and "data-xnames=" in chart


def test_marks_without_a_line_draw_no_polyline():
    chart = line_chart([Series("doc", [0, 1], [1.0, 2.0], line=False, marker="outlined")], "x", "y", "t")
    assert "<polyline" not in chart and chart.count("<circle") == 2 and 'stroke="#000"' in chart


def test_a_heat_map_shades_by_the_named_colour_map_and_titles_every_cell():
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    chart = heatmap(["1", "2"], ["relu", HOSTILE], [[0.0, 100.0], [None, 50.0]], "t", "layers", "activation",
                    "acc", "viridis", 0, 100, notes=[["", "n = 3"], ["", ""]])
    assert chart.count("<rect x=") == 3 + 1  # three finite cells and the colour bar; the missing cell is blank
    viridis = colormaps["viridis"]
    assert f'fill="{to_hex(viridis(0.0))}"' in chart and f'fill="{to_hex(viridis(1.0))}"' in chart
    assert "layers 1, activation relu: acc 0" in chart and "acc 100; n = 3" in chart
    assert "<b>" not in chart and "{{<" not in chart
    assert heatmap(["1"], ["a"], [[None]], "t", "r", "c", "v", "viridis", 0, 1) == ""


def test_a_log_axis_ticks_whole_decades_when_it_spans_two():
    chart = line_chart([Series("m", [0, 1], [1e-5, 1e-3])], "step", "grad", "t", log_y=True)
    labels = re.findall(r'text-anchor="end">([^<]+)</text>', chart)
    assert labels == ["1e-05", "0.0001", "0.001"]


def test_line_charts_of_nothing_or_only_nan_draw_nothing_and_a_run_line_sits_behind_each_mean():
    import pandas as pd

    from analysis.study.answers.tools import line_charts

    empty = pd.DataFrame(columns=["run_id", "step", "loss", "cell"])
    assert line_charts(empty, "step", "loss", "cell", x_label="step", y_label="loss") == ""
    nan = pd.DataFrame({"run_id": ["a"], "step": [0], "loss": [float("nan")], "cell": ["x"]})
    assert line_charts(nan, "step", "loss", "cell", x_label="step", y_label="loss") == ""
    two = pd.DataFrame({"run_id": ["a", "a", "b", "b"], "step": [0, 1, 0, 1], "loss": [1.0, 0.5, 3.0, 1.5],
                        "cell": ["x"] * 4})
    chart = line_charts(two, "step", "loss", "cell", x_label="step", y_label="loss")
    assert "step 0, loss 2; mean of 2 runs" in chart and chart.count('data-kind="run"') == 2


def test_histograms_over_epochs_leave_out_an_epoch_that_counted_nothing():
    import pandas as pd

    from analysis.study.answers.e7 import histogram_charts

    rows = [{"variant": "sigmoid", "layer_index": 1, "layer": "act1", "epoch": e, "bin_left": b / 2,
             "bin_right": (b + 1) / 2, "count": c} for e, counts in ((0, (3, 1)), (1, (0, 0))) for b, c in
            enumerate(counts)]
    chart = histogram_charts(pd.DataFrame(rows), [1])
    assert "nan" not in chart and "fraction 0.75" in chart and "epoch 1:" not in chart
