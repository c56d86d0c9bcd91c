"""Summary statistics over seeds: means with Student-t confidence intervals."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Estimate:
    """Mean over n seeds with a two-sided confidence interval (nan bounds when n < 2)."""

    mean: float
    low: float
    high: float
    n: int
    std: float

    def as_dict(self) -> dict:
        return {"mean": self.mean, "low": self.low, "high": self.high, "n": self.n, "std": self.std}

    def pct(self, digits: int = 2) -> str:
        """'79.39 % [78.1, 80.6]' style text for percentages stored as fractions."""
        if self.n < 2 or math.isnan(self.low):
            return f"{100 * self.mean:.{digits}f} % (n = {self.n})"
        # an accuracy cannot leave [0, 100 %]: the t-interval is clipped for display
        low, high = max(self.low, 0.0), min(self.high, 1.0)
        return f"{100 * self.mean:.{digits}f} % (95 % CI {100 * low:.{digits}f}–{100 * high:.{digits}f}, n = {self.n})"

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
    if n < 2:
        return Estimate(mean, math.nan, math.nan, 1, math.nan)
    std = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * std / math.sqrt(n)
    return Estimate(mean, mean - half, mean + half, n, std)


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
