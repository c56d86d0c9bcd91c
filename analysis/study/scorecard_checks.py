"""What the scorecard says about its own rule: how well the interval rule is calibrated and what it can detect
(simulated), how each declared protocol variant fares over its whole section, which commit declared it, and how
many "differs" chance alone would give. Kept apart from `analysis.study.scorecard`, which judges rows; this module
only reads the judged rows and the rule in `analysis.study.stats`."""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd
from scipy import stats as scipy_stats

from analysis.study.stats import DETECTABLE_SHIFT, MIN_POWER, decisive, simulate_rule

ROOT = Path(__file__).resolve().parents[2]
REGISTRY_PATH = "config/scorecard.csv"
#: how often one row's interval misses a value its own protocol produced (the rule's 95 %)
MISS_RATE = 0.05
#: a section bears a variant out unless its misses would be this improbable were the variant the document's protocol
SECTION_ALPHA = 0.05
#: the seed counts and document run counts the calibration table covers, and the shifts (in run sd) it tries
CALIBRATION_N = tuple(range(2, 11))
CALIBRATION_K = (1, 5)
SHIFTS = (2.0, 3.0, 5.0)


@dataclass(frozen=True)
class Support:
    """A declared variant over every row of its section: how many it reproduces, misses, or cannot decide."""

    question: str
    variant: str
    reproduced: int
    missed: int
    undecided: int

    @property
    def p_value(self) -> float:
        """P(this many misses or more | the variant is the document's protocol, each row missing at MISS_RATE)."""
        decided = self.reproduced + self.missed
        return float(scipy_stats.binom.sf(self.missed - 1, decided, MISS_RATE)) if decided else 1.0

    @property
    def supported(self) -> bool:
        return self.reproduced > 0 and self.p_value >= SECTION_ALPHA

    @property
    def text(self) -> str:
        total = self.reproduced + self.missed + self.undecided
        undecided = f", {self.undecided} undecided" if self.undecided else ""
        verdict = "borne out by its section" if self.supported else "not borne out by its section"
        return (f"{self.variant} reproduces {self.reproduced} of {total} {self.question} rows "
                f"({self.missed} missed{undecided}): {verdict}")


def section_support(fits: list[tuple[str, str, bool | None]]) -> dict[tuple[str, str], Support]:
    """(question, variant, reproduced?) per row → one Support per (question, variant)."""
    tally: dict[tuple[str, str], list[int]] = {}
    for question, variant, ok in fits:
        counts = tally.setdefault((question, variant), [0, 0, 0])
        counts[0 if ok else 1 if ok is False else 2] += 1
    return {key: Support(key[0], key[1], *counts) for key, counts in tally.items()}


@lru_cache(maxsize=None)
def declaring_commit(variant: str, root: Path = ROOT) -> str:
    """The first commit that put `variant`'s text into the registry ('f0bbfb4 2026-12-06'), so git shows the
    variant came before its results; '' outside a git checkout."""
    try:
        found = subprocess.run(["git", "-C", str(root), "log", "--reverse", "--format=%h %cs", "-S", variant,
                                "--", REGISTRY_PATH], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    lines = found.stdout.splitlines() if found.returncode == 0 else []
    return lines[0] if lines else ""


def support_table(supports: dict[tuple[str, str], Support]) -> pd.DataFrame:
    """The page's table of variants: section, variant, its tally, the binomial p of its misses, its commit."""
    rows = [{"section": s.question, "variant": s.variant, "reproduces": f"{s.reproduced} of "
             f"{s.reproduced + s.missed + s.undecided}", "missed": s.missed, "undecided": s.undecided,
             "P(this many misses | variant true)": f"{s.p_value:.2g}",
             "borne out": "yes" if s.supported else "no",
             "declared in commit": declaring_commit(s.variant) or "(not a git checkout)"}
            for s in sorted(supports.values(), key=lambda s: (s.question, s.variant))]
    return pd.DataFrame(rows)


def calibration_table(draws: int = 20000) -> pd.DataFrame:
    """Per n: how often the rule holds a statistic drawn from our own protocol (should be 95 %), and how often it
    calls a statistic shifted by 2, 3 and 5 run standard deviations different, for k = 1 and 5 document runs."""
    rows = []
    for n in CALIBRATION_N:
        row: dict[str, str] = {"our runs n": str(n)}
        for k in CALIBRATION_K:
            row[f"k={k}: holds its own protocol"] = f"{100 * simulate_rule(n, k, 0.0, draws):.1f} %"
            for shift in SHIFTS:
                row[f"k={k}: detects {shift:g} sd"] = f"{100 * (1 - simulate_rule(n, k, shift, draws)):.0f} %"
            row[f"k={k}: decides"] = "yes" if decisive(n, k) else "no"
        rows.append(row)
    return pd.DataFrame(rows)


def expected_by_chance(judged: int) -> tuple[float, int]:
    """Among `judged` numbers that all came from our protocol: the expected number called "differs" (at most
    MISS_RATE each; tolerances make it fewer) and the count chance stays under 95 % of the time."""
    return MISS_RATE * judged, int(scipy_stats.binom.ppf(0.95, judged, MISS_RATE)) if judged else 0


RULE_NOTE = (f"a row is only called reproduced when its n runs would detect a shift of {DETECTABLE_SHIFT:g} run "
             f"standard deviations at least {100 * MIN_POWER:.0f} % of the time")
