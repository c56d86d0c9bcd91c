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
        return f"{100 * self.mean:.{digits}f} % (95 % CI {100 * self.low:.{digits}f}–{100 * self.high:.{digits}f}, n = {self.n})"

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
