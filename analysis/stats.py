"""Summary statistics over seeds: means with Student-t confidence intervals, and where one more run would fall."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import stats


def percent(fraction: float, digits: int = 1) -> str:
    """A fraction as the pages print a percentage: 0.9081 → '90.8 %' (the one place that format is written)."""
    return f"{100 * fraction:.{digits}f} %"


@dataclass(frozen=True)
class Estimate:
    """Mean over n seeds with a two-sided confidence interval (nan bounds when n < 2); `values` keeps the
    per-run values it came from (empty for a difference), so a reader can ask where one run falls."""

    mean: float
    low: float
    high: float
    n: int
    std: float
    values: tuple[float, ...] = ()

    def as_dict(self) -> dict:
        return {"mean": self.mean, "low": self.low, "high": self.high, "n": self.n, "std": self.std,
                "values": list(self.values)}

    def pct(self, digits: int = 2) -> str:
        """'79.39 % (95 % CI 78.10–80.60, n = 5)' style text for percentages stored as fractions."""
        if self.n < 2 or math.isnan(self.low):
            return f"{percent(self.mean, digits)} (n = {self.n})"
        # an accuracy cannot leave [0, 100 %]: the t-interval is clipped for display
        low, high = max(self.low, 0.0), min(self.high, 1.0)
        return f"{percent(self.mean, digits)} (95 % CI {100 * low:.{digits}f}–{100 * high:.{digits}f}, n = {self.n})"

    def num(self, digits: int = 3) -> str:
        if self.n < 2 or math.isnan(self.low):
            return f"{self.mean:.{digits}f} (n = {self.n})"
        return f"{self.mean:.{digits}f} (95 % CI {self.low:.{digits}f}–{self.high:.{digits}f}, n = {self.n})"


def mean_ci(values, confidence: float = 0.95) -> Estimate:
    """Mean and t-interval of finite values (diverged runs' NaNs are left out and counted by the caller)."""
    x = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    n = len(x)
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, 0, math.nan)
    mean = float(x.mean())
    kept = tuple(float(v) for v in x)
    if n < 2:
        return Estimate(mean, math.nan, math.nan, 1, math.nan, kept)
    std = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * std / math.sqrt(n)
    return Estimate(mean, mean - half, mean + half, n, std, kept)


class Interval(NamedTuple):
    """Where one more run is expected to fall, and how that was decided ('range' or 'prediction')."""

    low: float
    high: float
    method: str


#: up to this many runs, `one_run_interval` uses the range of the runs instead of the t-interval
RANGE_MAX_N = 3


def one_run_interval(n: int, mean: float, std: float, values=(), confidence: float = 0.95,
                     bounds: tuple[float, float] | None = None) -> Interval | None:
    """Where a single further run would fall, for comparing one reported run with our n runs (a CI of the
    mean would shrink with n and call every ordinary run a difference).

    n > RANGE_MAX_N: the Student-t prediction interval mean ± t(n−1)·s·√(1 + 1/n).
    2 ≤ n ≤ RANGE_MAX_N: the range [min, max] of the runs (s from 2 or 3 runs is too rough to scale a t-quantile
    of 12.7 or 4.3); a new run lands inside it with probability (n−1)/(n+1), i.e. 1/3 or 1/2.
    n < 2, or no finite mean: None (one run says nothing about the spread).
    `bounds`: the values the quantity can take (an accuracy's [0, 1], a loss's [0, ∞)); the t-interval is
    symmetric and would otherwise claim a run could land at a negative accuracy."""
    if n < 2 or mean is None or not math.isfinite(mean):
        return None
    finite = [float(v) for v in values if v is not None and math.isfinite(v)]
    if n <= RANGE_MAX_N:  # without the n values there is no range, and a t-quantile this small is meaningless
        return Interval(min(finite), max(finite), "range") if len(finite) == n else None
    if std is None or not math.isfinite(std):
        return None
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * std * math.sqrt(1 + 1 / n)
    low, high = bounds or (-math.inf, math.inf)
    if not low <= mean <= high:
        raise ValueError(f"a mean of {mean:.6g} lies outside the bounds [{low:g}, {high:g}] declared for it")
    return Interval(max(mean - half, low), min(mean + half, high), "prediction")


def diff_ci(a, b, confidence: float = 0.95) -> Estimate:
    """Difference of means a − b with a Welch t-interval (unequal variances; nan bounds if n < 2 in either)."""
    x = np.asarray([v for v in a if v is not None and np.isfinite(v)], dtype=float)
    y = np.asarray([v for v in b if v is not None and np.isfinite(v)], dtype=float)
    if len(x) == 0 or len(y) == 0:
        return Estimate(math.nan, math.nan, math.nan, 0, math.nan)
    mean = float(x.mean() - y.mean())
    n = min(len(x), len(y))
    if len(x) < 2 or len(y) < 2:
        return Estimate(mean, math.nan, math.nan, n, math.nan)
    vx, vy = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    se = math.sqrt(vx + vy)
    if se == 0:
        return Estimate(mean, mean, mean, n, 0.0)
    dof = (vx + vy) ** 2 / (vx ** 2 / (len(x) - 1) + vy ** 2 / (len(y) - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, dof)) * se
    return Estimate(mean, mean - half, mean + half, n, se)


def welch_test(a, b) -> tuple[float, float]:
    """Welch's t statistic and two-sided p-value for mean(a) ≠ mean(b)."""
    result = stats.ttest_ind(np.asarray(a, float), np.asarray(b, float), equal_var=False)
    return float(result.statistic), float(result.pvalue)
