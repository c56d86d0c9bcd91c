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
    """Where the document's statistic is expected to fall under our protocol, and how that was decided."""

    low: float
    high: float
    method: str


#: the one interval rule, at every n ≥ 2 (issue 26): no range for small n, no switch of method
PREDICTION = "prediction"
#: a shift of this many run-to-run standard deviations is what the rule must be able to see …
DETECTABLE_SHIFT = 3.0
#: … at least this often, or "reproduced" is not earned: the verdict is "inconclusive: too few runs"
MIN_POWER = 0.5


def reference_interval(n: int, mean: float, std: float, k: int = 1, confidence: float = 0.95,
                       bounds: tuple[float, float] | None = None) -> Interval | None:
    """Where the document's statistic would fall if it came from our protocol: a single run (k = 1) or the mean
    of k runs, against our n runs with mean m and standard deviation s:

        m ± t(n−1) · s · √(1/k + 1/n)

    (the document's statistic has variance σ²/k, our mean σ²/n, and s estimates σ with n − 1 degrees of freedom,
    so (statistic − m) / (s·√(1/k + 1/n)) is Student-t). The same rule at every n ≥ 2: at n = 2 or 3 the t
    quantile (12.7, 4.3) leaves it honestly wide, and `power` says how little it can then detect. A CI of our
    mean (√(1/n) alone) would shrink with n and call every ordinary run a difference.
    n < 2, or no finite mean or s: None (one run says nothing about the spread).
    `bounds`: the values the quantity can take (an accuracy's [0, 1], a loss's [0, ∞)); the interval is cut
    there (coverage is unchanged: the statistic cannot fall beyond them)."""
    if n < 2 or mean is None or not math.isfinite(mean) or std is None or not math.isfinite(std):
        return None
    if k < 1:
        raise ValueError(f"a document statistic averages k ≥ 1 runs, not {k}")
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * std * math.sqrt(1 / k + 1 / n)
    low, high = bounds or (-math.inf, math.inf)
    if not low <= mean <= high:
        raise ValueError(f"a mean of {mean:.6g} lies outside the bounds [{low:g}, {high:g}] declared for it")
    return Interval(max(mean - half, low), min(mean + half, high), PREDICTION)


def power(n: int, k: int = 1, shift: float = DETECTABLE_SHIFT, confidence: float = 0.95) -> float:
    """How often `reference_interval` misses a document statistic whose true mean lies `shift` run standard
    deviations from ours: P(|T| > t(n−1)) for T noncentral-t with n − 1 degrees of freedom and noncentrality
    shift / √(1/k + 1/n). Exact; tests/test_stats.py checks it against a simulation of the rule itself."""
    if n < 2:
        return math.nan
    critical = float(stats.t.ppf(0.5 + confidence / 2, n - 1))
    nc = shift / math.sqrt(1 / k + 1 / n)
    return float(stats.nct.sf(critical, n - 1, nc) + stats.nct.cdf(-critical, n - 1, nc))


def decisive(n: int, k: int = 1) -> bool:
    """Can n runs decide a document statistic of k runs? Only when the rule sees a DETECTABLE_SHIFT-sd shift at
    least MIN_POWER of the time (k = 1: n ≥ 5; k = 5: n ≥ 3)."""
    return n >= 2 and power(n, k) >= MIN_POWER


def simulate_rule(n: int, k: int, shift: float = 0.0, draws: int = 20000, seed: int = 0,
                  confidence: float = 0.95) -> float:
    """The share of simulated draws in which `reference_interval` holds the document's statistic: n runs and the
    mean of k further runs drawn from one normal law, the latter shifted by `shift` σ (0: calibration, the share
    should be `confidence`; > 0: 1 − the share is the rule's power). Vectorised over draws; seeded, so a page
    that prints it is reproducible."""
    rng = np.random.default_rng(seed + 1000 * n + k)
    ours = rng.standard_normal((draws, n))
    theirs = rng.standard_normal((draws, k)).mean(axis=1) + shift
    mean, std = ours.mean(axis=1), ours.std(axis=1, ddof=1)
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * std * math.sqrt(1 / k + 1 / n)
    return float(np.mean(np.abs(theirs - mean) <= half))


# --------------------------------------------------------------- claims: three-way tests ---
SUPPORTED, CONTRADICTED, INCONCLUSIVE = "supported", "contradicted", "inconclusive"


@dataclass(frozen=True)
class ClaimTest:
    """A claim's verdict (supported / contradicted / inconclusive) with the intervals it was read from: the 95 %
    CI decides a direction or a contradiction, the 90 % CI an equivalence (two one-sided tests at 5 %)."""

    verdict: str
    ci95: Estimate
    ci90: Estimate
    why: str


def _no_interval(est: Estimate) -> bool:
    return est.n < 2 or math.isnan(est.low)


def equivalence_test(ci95: Estimate, ci90: Estimate, low: float, high: float) -> ClaimTest:
    """'About the same' / 'within a band': supported when the 90 % CI lies inside (low, high) (equivalence by two
    one-sided tests at 5 %), contradicted when the 95 % CI lies wholly outside it, inconclusive otherwise and
    whenever an arm has one run (no interval, no verdict)."""
    if _no_interval(ci95):
        return ClaimTest(INCONCLUSIVE, ci95, ci90, "one run per arm: no interval, no verdict")
    if low < ci90.low and ci90.high < high:
        return ClaimTest(SUPPORTED, ci95, ci90, f"90 % CI inside {low:g} to {high:g}")
    if ci95.high < low or ci95.low > high:
        return ClaimTest(CONTRADICTED, ci95, ci90, f"95 % CI wholly outside {low:g} to {high:g}")
    return ClaimTest(INCONCLUSIVE, ci95, ci90, f"95 % CI overlaps the edge of {low:g} to {high:g}")


def direction_test(ci95: Estimate, above: float = 0.0) -> ClaimTest:
    """'Greater than `above`': supported when the 95 % CI lies above it, contradicted when below, inconclusive when
    it straddles it ("no difference detected") or an arm has one run."""
    if _no_interval(ci95):
        return ClaimTest(INCONCLUSIVE, ci95, ci95, "one run per arm: no interval, no verdict")
    if ci95.low > above:
        return ClaimTest(SUPPORTED, ci95, ci95, f"95 % CI above {above:g}")
    if ci95.high < above:
        return ClaimTest(CONTRADICTED, ci95, ci95, f"95 % CI below {above:g}")
    return ClaimTest(INCONCLUSIVE, ci95, ci95, f"95 % CI includes {above:g}: no difference detected")


def similar(a, b, margin: float) -> ClaimTest:
    """Is mean(a) − mean(b) within ±margin? (Welch intervals; the margin is declared before the runs.)"""
    return equivalence_test(diff_ci(a, b), diff_ci(a, b, 0.90), -margin, margin)


def within(values, low: float, high: float) -> ClaimTest:
    """Is the mean of `values` inside (low, high)? (one-sample t intervals)."""
    return equivalence_test(mean_ci(values), mean_ci(values, 0.90), low, high)


def greater(a, b) -> ClaimTest:
    """Is mean(a) > mean(b)? (Welch 95 % CI of the difference)."""
    return direction_test(diff_ci(a, b))


def ratio_greater(a, b) -> tuple[ClaimTest, Estimate]:
    """Is a's typical value larger than b's, for positive quantities (noise, seconds)? Welch on the logs: the CI of
    log(a) − log(b), exponentiated, is a CI of the ratio of geometric means. Returns the test and that ratio CI."""
    la = [math.log(v) for v in a if v is not None and math.isfinite(v) and v > 0]
    lb = [math.log(v) for v in b if v is not None and math.isfinite(v) and v > 0]
    test = direction_test(diff_ci(la, lb))
    d = test.ci95
    ratio = Estimate(math.exp(d.mean) if math.isfinite(d.mean) else math.nan,
                     math.exp(d.low) if math.isfinite(d.low) else math.nan,
                     math.exp(d.high) if math.isfinite(d.high) else math.nan, d.n, d.std)
    return test, ratio


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
