"""Placeholder answers for a page whose exercise is not built yet: it says so, nothing more."""
from __future__ import annotations

import pandas as pd

from analysis.answers.common import Context, PageOutput


def build(ctx: Context, out: PageOutput) -> pd.DataFrame:
    out.set("status", "not yet measured")
    out.fragment("status", "::: {.callout-warning}\n## Not measured yet\n"
                 "This exercise's experiments are not part of the study yet: nothing on this page "
                 "is a result. Its open issue tracks the work.\n:::\n")
    return ctx.table("runs").iloc[0:0]
