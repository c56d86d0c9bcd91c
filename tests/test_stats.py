"""The scorecard's interval rule is calibrated by simulation, not assumed: document values drawn from our own
protocol are called "differs" 5 % of the time at every seed count n = 2…10 and for a document number that is one
run (k = 1) or a mean of five (k = 5); the power the page prints matches the rule's; and the claim tests are
three-way (supported / contradicted / inconclusive) with one run per arm giving no verdict."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.study import scorecard
from analysis.study.scorecard_checks import calibration_table
from analysis.study.stats import (CONTRADICTED, INCONCLUSIVE, PREDICTION, SUPPORTED, decisive, greater, mean_ci, power,
                                  ratio_greater, reference_interval, similar, simulate_rule, within)

NS, KS = range(2, 11), (1, 5)


def _row(theirs: float, k: int) -> pd.Series:
    return pd.Series({"id": "sim", "question": "X.1", "document_value": repr(theirs), "units": "value",
                      "tolerance": "0", "document_error": "", "measure": "m", "cause": "", "cause_measure": "",
                      "document_runs": str(k)})


def _judged(n: int, k: int, shift: float, draws: int, seed: int) -> pd.Series:
    """Verdict shares of the scorecard's own `judge` on simulated rows: our n runs and the document's mean of k
    runs from one normal law (the document's shifted by `shift` σ), tolerance 0."""
    rng = np.random.default_rng(seed)
    verdicts = []
    for _ in range(draws):
        ours = {**mean_ci(rng.standard_normal(n)).as_dict(), "experiments": ["sim"]}
        theirs = float(rng.standard_normal(k).mean() + shift)
        verdicts.append(scorecard.verdict_class(scorecard.judge(_row(theirs, k), ours).verdict))
    return pd.Series(verdicts).value_counts(normalize=True)


@pytest.mark.parametrize("k", KS)
@pytest.mark.parametrize("n", NS)
def test_the_rule_calls_its_own_protocol_different_five_percent_of_the_time(n, k):
    shares = _judged(n, k, 0.0, draws=2000, seed=100 * n + k)
    assert shares.get("differs", 0.0) == pytest.approx(0.05, abs=0.02)
    if decisive(n, k):  # where the runs can decide, everything else is "reproduced"
        assert shares.get("reproduced", 0.0) == pytest.approx(0.95, abs=0.02)
    else:  # where they cannot, "reproduced" is never claimed
        assert "reproduced" not in shares and shares["inconclusive"] == pytest.approx(0.95, abs=0.02)


def test_the_page_table_is_calibrated_and_its_power_is_the_rules(capsys):
    table = calibration_table(draws=20000)
    with capsys.disabled():
        print("\n" + table.to_string(index=False))
    for k in KS:
        held = table[f"k={k}: holds its own protocol"].str.rstrip(" %").astype(float)
        assert held.between(93.0, 97.0).all()
    for n in NS:
        for k in KS:
            simulated = 1 - simulate_rule(n, k, 3.0, draws=20000)
            assert simulated == pytest.approx(power(n, k, 3.0), abs=0.015)  # the exact noncentral-t power


def test_one_rule_at_every_n_and_honestly_wide_at_small_n():
    widths = [reference_interval(n, 0.5, 0.1).high - 0.5 for n in NS]
    assert all(reference_interval(n, 0.5, 0.1).method == PREDICTION for n in NS)
    assert widths == sorted(widths, reverse=True)  # narrower with every run, no jump where a method would switch
    assert widths[0] == pytest.approx(12.706 * 0.1 * math.sqrt(1.5), rel=1e-3)  # t(1) · s · √(1 + 1/2)
    mean_of_five = reference_interval(10, 0.5, 0.1, k=5).high - 0.5
    assert mean_of_five == pytest.approx(widths[-1] * math.sqrt((1 / 5 + 1 / 10) / (1 + 1 / 10)), rel=1e-9)
    assert reference_interval(1, 0.5, math.nan) is None
    assert [n for n in NS if decisive(n, 1)][0] == 5 and [n for n in NS if decisive(n, 5)][0] == 3


def test_power_grows_with_runs_and_shift():
    assert power(3, 1, 5.0) < power(10, 1, 5.0) and power(5, 1, 2.0) < power(5, 1, 3.0) < power(5, 1, 5.0)
    assert power(5, 5, 3.0) > power(5, 1, 3.0)  # a mean of five is a sharper target


def test_equivalence_is_supported_only_inside_the_margin():
    same = [0.90, 0.91, 0.905, 0.895, 0.9]
    assert similar(same, [v + 0.002 for v in same], 0.02).verdict == SUPPORTED
    assert similar(same, [v + 0.10 for v in same], 0.02).verdict == CONTRADICTED
    noisy = [0.80, 0.95, 0.85, 0.99, 0.78]
    assert similar(noisy, same, 0.02).verdict == INCONCLUSIVE  # no difference detected is not equality
    assert similar([0.9], [0.9], 0.02).verdict == INCONCLUSIVE  # one run per arm: no verdict
    assert within([19.0, 20.0, 21.0, 20.5, 19.5], 15, 25).verdict == SUPPORTED
    assert within([8.0, 9.0, 10.0, 9.5, 8.5], 15, 25).verdict == CONTRADICTED


def test_directions_and_ratios_come_with_intervals():
    assert greater([2.0, 2.1, 2.2], [1.0, 1.1, 1.2]).verdict == SUPPORTED
    assert greater([1.0, 1.1, 1.2], [2.0, 2.1, 2.2]).verdict == CONTRADICTED
    assert greater([1.0, 2.0, 1.5], [1.4, 1.6, 1.5]).verdict == INCONCLUSIVE
    test, ratio = ratio_greater([2.0, 2.2, 1.8], [1.0, 1.1, 0.9])
    assert test.verdict == SUPPORTED and ratio.low > 1.0 and ratio.mean == pytest.approx(2.0, rel=0.01)
    assert ratio_greater([2.0], [1.0])[0].verdict == INCONCLUSIVE
