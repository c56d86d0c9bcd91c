"""One figure style for every page: fixed colours per activation, readable fonts, PNG + SVG."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

from analysis.engine.activations import NAMES, colour  # noqa: E402

#: The same activation always has the same colour, on every page: every registered activation has one
#: (analysis.engine.activations; the fallback colour for entries without), so seaborn never misses a hue level.
ACTIVATION_PALETTE: dict[str, str] = {name: colour(name) for name in NAMES}
#: Layers 1..n get a sequential palette, light (input side) to dark (output side).
LAYER_PALETTE = "viridis"


def setup_style() -> None:
    sns.set_theme(context="notebook", style="whitegrid", font_scale=1.05)
    plt.rcParams.update({"figure.dpi": 110, "savefig.dpi": 130, "axes.titleweight": "bold",
                         "svg.fonttype": "none", "figure.autolayout": False})


def save(fig: plt.Figure, stem: Path) -> list[Path]:
    """Write `<stem>.png` and `<stem>.svg`; return both paths."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    fig.savefig(paths[0], bbox_inches="tight")
    fig.savefig(paths[1], bbox_inches="tight")
    plt.close(fig)
    return paths
