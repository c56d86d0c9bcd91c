"""The scorecard registry covers the seeds' numbers, and its verdicts follow the measurements."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from analysis import scorecard
from analysis.answers import seed001, seed002, seed003, seed004
from analysis.config import ROOT

REGISTRY = ROOT / "config/scorecard.csv"


def row(**over) -> pd.Series:
    base = {"id": "x", "seed_value": "0.80", "units": "fraction", "tolerance": "0.02", "seed_error": "", "measure": "m"}
    return pd.Series({**base, **over})


@pytest.mark.parametrize("ours, verdict", [
    ({"mean": 0.81, "low": math.nan, "high": math.nan}, "reproduced"),
    ({"mean": 0.70, "low": 0.60, "high": 0.79}, "reproduced"),   # seed inside CI widened by the tolerance
    ({"mean": 0.70, "low": 0.69, "high": 0.71}, "differs"),
    (None, "not comparable")])
def test_numeric_verdicts(ours, verdict):
    assert scorecard.judge(row(), ours)[0] == verdict


def test_claims_and_seed_errors():
    claim = row(units="claim", seed_value="supported", tolerance="")
    assert scorecard.judge(claim, {"text": "supported"})[0] == "reproduced"
    assert scorecard.judge(claim, {"text": "contradicted"})[0] == "differs"
    assert scorecard.judge(claim, {"text": "inconclusive"})[0] == "not comparable"
    assert scorecard.judge(row(seed_error="a5 = max(0, −4) = 0"), {"mean": 0.8})[0] == "seed is wrong"


def test_registry_rejects_a_numeric_row_without_tolerance(tmp_path):
    bad = tmp_path / "bad.csv"
    text = REGISTRY.read_text().splitlines()
    header, first_numeric = text[0], next(line for line in text[1:] if ",fraction," in line)
    fields = first_numeric.split(",")
    fields[7] = ""  # tolerance
    bad.write_text(header + "\n" + ",".join(fields) + "\n")
    with pytest.raises(scorecard.RegistryError, match="without a tolerance"):
        scorecard.load_registry(bad)


def test_every_seed_constant_of_the_answer_modules_is_in_the_registry():
    registry = scorecard.load_registry(REGISTRY)
    values = {round(float(v), 6) for v, u in zip(registry["seed_value"], registry["units"]) if u not in ("claim", "verdict")}
    expected = [v for d in seed003.SEED_M21.values() for pair in d.values() for v in pair]
    expected += [v for d in seed003.SEED_M23.values() for pair in d.values() for v in pair]
    expected += [seed003.SEED_LECUN_UPPER, seed003.SEED_CNN["params"], seed003.SEED_CNN["test_acc"], seed003.SEED_CNN["test_loss"]]
    expected += [v for t in seed004.SEED_FULL.values() for v in t] + [v for t in seed004.SEED_PENALTY.values() for v in t]
    expected += [v for t in seed004.SEED_KERAS.values() for v in t] + [v for t in seed004.SEED_DROPOUT.values() for v in t]
    expected += [v for d in seed002.SEED_A74.values() for v in d.values()]
    expected += [0.28, 8.35, 0.29, 4.65]  # H4.6 averages as the seed printed them
    assert round(sum(seed001.SEED_H46["original"]["loss"]) / 5, 2) == 8.35
    missing = [v for v in expected if round(float(v), 6) not in values]
    assert not missing, missing
    assert set(registry["id"].str[:2]) == {"E7", "H4", "A7", "M2", "D1"}


def test_scorecard_table_from_measurements():
    registry = scorecard.load_registry(REGISTRY)
    card = scorecard.build_scorecard(registry, {"a74.relu.test_acc": {"mean": 0.80, "low": 0.79, "high": 0.81, "n": 5}})
    relu = card.set_index("id").loc["A7.4d"]
    assert relu["verdict"] == "reproduced" and relu["page"] == "seed002"
    assert (card.set_index("id").loc["A7.3f", "verdict"]) == "seed is wrong"
    assert set(card["verdict"]) <= set(scorecard.VERDICTS)
