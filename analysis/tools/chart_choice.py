"""How the interactive figures were chosen (issue 28): one learning-curve figure (its CSV, as the site ships it)
built three ways, with page weight and build time printed.

- ours: inline SVG from `analysis.study.svg_chart` (what the site uses), read from the built fragment, plus the
  one shared `report/nnlab.js`;
- Altair 5 + vl-convert (the PyData reference): a Vega-Lite spec with a legend selection, as offline HTML with
  vl-convert's bundled Vega JavaScript inline;
- Plotly: the same traces, as offline HTML with plotly.min.js inline.

Altair, vl-convert-python and Plotly are not dependencies of nnlab (the choice made them unnecessary); run this in
a scratch virtualenv that has them and pandas:

    python -m venv /tmp/charts && /tmp/charts/bin/pip install altair vl-convert-python plotly pandas
    PYTHONPATH=. /tmp/charts/bin/python -m analysis.tools.chart_choice \\
        --csv results/default/answers/e7/e7_curves.csv --fragment results/default/answers/e7/e7_curves.md
"""
from __future__ import annotations

import argparse
import re
import time
from importlib import metadata
from pathlib import Path

import pandas as pd

SCRIPT = Path(__file__).resolve().parents[2] / "report" / "nnlab.js"


def ours(fragment: Path) -> tuple[int, int]:
    """Bytes of the figure's inline SVG block, and of the shared script."""
    block = re.search(r"```\{=html\}\n(.*?)\n```", fragment.read_text(), re.S)
    return len(block.group(1).encode()), SCRIPT.stat().st_size


def ours_importable() -> bool:
    try:
        import analysis.study.answers.tools  # noqa: F401  (needs nnlab's environment: matplotlib, seaborn)
    except ImportError:
        return False
    return True


def ours_seconds(long: pd.DataFrame, facet: str) -> float:
    """The interactive copy as the answers step builds it, into a scratch page."""
    import tempfile

    from analysis.study.answers.common import PageOutput
    from analysis.study.answers.tools import interactive_curves

    with tempfile.TemporaryDirectory() as tmp:
        out = PageOutput(page="p", out_dir=Path(tmp))
        out.fragment_dir.mkdir(parents=True)
        out.fragments["figure"] = ""
        start = time.perf_counter()
        interactive_curves(long, "variant", facet, sorted(long[facet].unique()), out, "figure", None, None,
                           "accuracy (%)")
        return time.perf_counter() - start


def summary(long: pd.DataFrame, facet: str) -> pd.DataFrame:
    keys = [facet, "variant", "split", "epoch"]
    return long.groupby(keys)["value"].agg(["mean", "min", "max"]).reset_index()


def altair_html(data: pd.DataFrame, facet: str) -> str:
    import altair as alt

    pick = alt.selection_point(fields=["variant"], bind="legend")
    base = alt.Chart(data).encode(x="epoch:Q", color="variant:N",
                                  opacity=alt.condition(pick, alt.value(1), alt.value(0.1)))
    line = base.mark_line(point=True).encode(y=alt.Y("mean:Q", title="accuracy (%)"), strokeDash="split:N",
                                             tooltip=["variant", "split", "epoch", "mean"])
    band = base.mark_area(opacity=0.15).encode(y="min:Q", y2="max:Q")
    chart = alt.layer(band, line).facet(column=f"{facet}:N").add_params(pick).interactive()
    return chart.to_html(inline=True)


def plotly_html(data: pd.DataFrame, facet: str) -> str:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    facets = sorted(data[facet].unique())
    fig = make_subplots(rows=1, cols=len(facets), subplot_titles=facets)
    for col, value in enumerate(facets, start=1):
        for (variant, split), group in data[data[facet] == value].groupby(["variant", "split"]):
            fig.add_trace(go.Scatter(x=group["epoch"], y=group["mean"], name=f"{variant} · {split}",
                                     mode="lines+markers", legendgroup=variant), row=1, col=col)
    return fig.to_html(include_plotlyjs=True, full_html=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--csv", type=Path, required=True)
    parser.add_argument("--fragment", type=Path, required=True)
    parser.add_argument("--facet", default="dataset")
    parser.add_argument("--hue", default="variant")
    args = parser.parse_args(argv)
    long = pd.read_csv(args.csv).rename(columns={args.hue: "variant"})
    data = summary(long, args.facet)
    svg, script = ours(args.fragment)
    print(f"figure: {args.csv.name}, {len(long):,} rows, {data.groupby(['variant', 'split']).ngroups} series "
          f"per panel")
    print(f"ours (inline SVG): {svg / 1e3:.0f} kB per figure + {script / 1e3:.1f} kB script once per page; "
          f"built in {ours_seconds(long, args.facet):.2f} s" if ours_importable() else
          f"ours (inline SVG): {svg / 1e3:.0f} kB per figure + {script / 1e3:.1f} kB script once per page; build "
          "time: run this in nnlab's own environment")
    for name, build, packages in (("altair + vl-convert", altair_html, ("altair", "vl-convert-python")),
                                  ("plotly", plotly_html, ("plotly",))):
        try:
            start = time.perf_counter()
            html = build(data, args.facet)
            seconds = time.perf_counter() - start
        except ImportError as exc:
            print(f"{name}: not measured ({exc})")
            continue
        versions = ", ".join(f"{p} {metadata.version(p)}" for p in packages)
        print(f"{name} ({versions}): {len(html.encode()) / 1e3:.0f} kB per page with its script inline, "
              f"built in {seconds:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
