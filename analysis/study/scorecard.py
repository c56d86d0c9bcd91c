"""The reproduction scorecard: every number and claim the source documents report (config/scorecard.csv,
kept as data) joined with what this run measured, each row with a verdict, the cause behind it, the runs it
rests on and the page section that answers it.

A document number is one training run (or, where `document_runs` says so, the mean of k runs). It is judged
against where *that statistic* would fall had it come from our protocol, never against the CI of our mean (which
shrinks as seeds are added and would call an ordinary run a difference). One rule at every n ≥ 2
(`analysis.study.stats.reference_interval`): mean ± t(n−1)·s·√(1/k + 1/n), 95 %, cut to what the units allow
(`UNIT_BOUNDS`). Its coverage and power are simulated on the page (`analysis.study.scorecard_checks`) and in
tests/test_stats.py. The row's tolerance widens it by a protocol-level slack declared before the results
(framework, hardware, unstated details), never by run-to-run spread, which the interval already carries; each
row's verdict with tolerance 0 is shown beside it.

Verdicts, in the order they are decided:

1. *document is wrong*: the registry names the document's error (`document_error`), e.g. an arithmetic slip;
2. *not comparable*: not measured in this profile;
3. *not comparable: scaled protocol (4 of 10 epochs)*: an experiment behind the measurement runs under profile
   overrides that change its runs (epochs, subsets, batch, model, grid values the document does not have, any
   key but the ones in `UNSCALED_KEYS`); the parenthesis is read from the plan (analysis.pipeline.plan), override
   beside unscaled value.
   Fewer seeds alone do not scale a protocol (the reason text says "3 of 5 seeds"). A grid that only leaves
   points out changes none of the runs that remain;
4. claims: *reproduced* when our check (defined on the exercise's page, a three-way test with an interval over
   seeds) supports the claim, *differs* when it contradicts it, *inconclusive* when it can tell neither;
   true/false verdicts: same word or not;
5. numbers: *not comparable: one run, no interval*; *differs* when the interval ± tolerance misses the document's
   value; *reproduced* when it holds it and the n runs could have told (`analysis.study.stats.decisive`: a shift of
   3 run sd detected at least half the time), else *inconclusive: too few runs*.

The `cause` column says why, from the data: the document's slip; "within tolerance" or "within the spread of our
runs" for a reproduced row; for a difference under the document's own protocol, the registry's declared protocol
variants (`cause`, `cause_measure`, separated by " | " in both columns), each tested against the measurement it
names. A variant is a protocol for a whole section: it is first scored over every row of its section
(question), and a row may only be explained by a variant its section bears out (its misses no more than chance
would give were it the document's protocol: `analysis.study.scorecard_checks.Support`). Every number in a cause comes
from the measurements.

    python -m analysis.study.scorecard --registry config/scorecard.csv --answers results/default/answers \
        --out results/default/answers --table results/default/tables/scorecard.parquet \
        --tables results/default/tables
"""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, NamedTuple

import pandas as pd

from analysis.study.answers import PAGES
from analysis.study.answers.common import PageOutput, markdown_table
from analysis.pipeline.plan import ExperimentPlan, Plan
from analysis.study.documents import DOCUMENTS
from analysis.store.files import atomic_write
from analysis.store.layout import run_page_href
from analysis.study.stats import (DETECTABLE_SHIFT, MIN_POWER, PREDICTION, Interval, decisive, percent, power,
                                  reference_interval)
from analysis.study.scorecard_checks import (RULE_NOTE, Support, calibration_table, expected_by_chance, section_support,
                                             support_table)

SCALED = "not comparable: scaled protocol"
ONE_RUN = "not comparable: one run, no interval"
TOO_FEW = "inconclusive: too few runs"
#: verdict classes, counted on the page; a verdict is one of them or starts with one and a colon or parenthesis
VERDICTS = ("reproduced", "differs", "inconclusive", "document is wrong", SCALED, "not comparable")
REGISTRY_COLUMNS = ("id", "document_file", "question", "quantity", "document_value", "units", "measure", "tolerance",
                    "tolerance_reason", "document_error", "notes")
#: optional: a declared explanation of a difference, the measurement that tests it, and how many runs the
#: document's number averages (empty: one run)
OPTIONAL_COLUMNS = ("cause", "cause_measure", "document_runs")
#: profile overrides that change no run's result: bookkeeping, seeds (counted apart), measurement-only probes
UNSCALED_KEYS = frozenset({"note", "seeds", "grid", "probes", "log_every", "eval_batch_size"})
RUNS_DIR = "results/runs"
#: which page answers which question prefix (when a measurement does not say)
PAGE_OF = {d.prefix: d.page for d in DOCUMENTS}
NON_NUMERIC = ("claim", "verdict")


class RegistryError(ValueError):
    pass


class Judgement(NamedTuple):
    """A row's verdict, the reason for it and (where the data give one) its cause."""

    verdict: str
    reason: str
    cause: str = ""


@dataclass(frozen=True)
class Protocol:
    """How this profile's runs differ from the document's protocol: `scaled` changes make a row not
    comparable; `notes` (fewer seeds, fewer grid points) do not and are only mentioned."""

    scaled: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def load_registry(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in REGISTRY_COLUMNS if c not in frame.columns]
    if missing:
        raise RegistryError(f"{path}: missing column(s) {', '.join(missing)}")
    for column in OPTIONAL_COLUMNS:
        if column not in frame.columns:
            frame[column] = ""
    duplicated = frame["id"][frame["id"].duplicated()].tolist()
    if duplicated:
        raise RegistryError(f"{path}: duplicate id(s) {', '.join(duplicated)}")
    numeric = frame["units"].isin(NON_NUMERIC) | frame["document_error"].ne("")
    untolerated = frame[~numeric & frame["tolerance"].eq("")]["id"].tolist()
    if untolerated:
        raise RegistryError(f"{path}: numeric rows without a tolerance: {', '.join(untolerated)}")
    for _, row in frame.iterrows():
        declared_variants(row)  # the same number of causes and measurements, or a RegistryError naming the row
    return frame


def measured_values(answers_dir: Path) -> dict[str, dict]:
    """Every page's published measurements by key, each marked with the page that published it."""
    values: dict[str, dict] = {}
    for page in PAGES:
        path = answers_dir / f"{page}.json"
        if path.is_file():
            measured = json.loads(path.read_text())["vars"].get("measured", {})
            values.update({key: {**entry, "page": page} for key, entry in measured.items()})
    return values


# ------------------------------------------------------------------ protocol scaling ---
def _count(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else json.dumps(value)


def describe_change(key: str, new: Any, old: Any) -> str:
    """One override beside the document's value: '4 of 10 epochs', '4,000 training images instead of all'."""
    if key == "epochs" and old is not None:
        return f"{new} of {old} epochs"
    if key in ("train_subset", "test_subset"):
        what = "training" if key == "train_subset" else "test"
        return f"{_count(new)} {what} images instead of {'all' if old is None else _count(old)}"
    if key == "train_per_class" and old is not None:
        return f"{_count(new)} of {_count(old)} training images per class"
    if key == "batch_size" and old is not None:
        return f"batch {_count(new)} instead of {_count(old)}"
    return f"{key} {json.dumps(new)} instead of {json.dumps(old)}"


def _grid_changes(base_grid: dict, over_grid: dict) -> tuple[list[str], list[str]]:
    """(scaled, notes): grid values the document lacks scale the runs; leaving values out does not."""
    scaled, notes = [], []
    for key, values in over_grid.items():
        base_values = base_grid.get(key)
        if base_values is not None and all(v in base_values for v in values):
            if len(values) < len(base_values):
                notes.append(f"{len(values)} of {len(base_values)} {key} values")
        else:
            scaled.append(f"{key} {json.dumps(values)} instead of {json.dumps(base_values)}")
    return scaled, notes


def experiment_protocol(exp: ExperimentPlan) -> Protocol:
    """What the profile changes in one experiment, as the plan recorded it: each override beside its unscaled value."""
    scaled, notes = [], []
    for change in exp.changes:
        if change.key == "seeds":  # fewer seeds than the protocol's (analysis.pipeline.plan)
            notes.insert(0, f"{len(change.value)} of {len(change.unscaled)} seeds")
        elif change.key.startswith("grid."):
            grid_scaled, grid_notes = _grid_changes({change.key[5:]: change.unscaled}, {change.key[5:]: change.value})
            scaled += grid_scaled
            notes += grid_notes
        elif change.key not in UNSCALED_KEYS:
            scaled.append(describe_change(change.key, change.value, change.unscaled))
    return Protocol(tuple(scaled), tuple(notes))


def protocol_of(plan: Plan | None, experiments: Iterable[str]) -> Protocol:
    """The changes of every experiment behind a measurement, each said once (no plan, or an experiment it lacks:
    nothing known)."""
    if plan is None:
        return Protocol()
    parts = [experiment_protocol(plan.experiments[name]) for name in experiments if name in plan.experiments]
    return Protocol(tuple(dict.fromkeys(t for p in parts for t in p.scaled)),
                    tuple(dict.fromkeys(t for p in parts for t in p.notes)))


# ------------------------------------------------------------------------- verdicts ---
def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _notes(protocol: Protocol) -> str:
    return f" ({'; '.join(protocol.notes)})" if protocol.notes else ""


#: the values a quantity of these units can take: a prediction interval never reaches past them. A loss in nats is
#: ≥ 0; an `objective` (data loss plus a penalty the document wrote as δ·Σw, which can be negative) is unbounded.
UNIT_BOUNDS: dict[str, tuple[float, float]] = {"fraction": (0.0, 1.0), "nats": (0.0, math.inf)}


def document_runs(row: pd.Series) -> int:
    """How many runs the document's number averages (`document_runs`; empty: one run)."""
    text = str(row.get("document_runs", "") or "").strip()
    if not text:
        return 1
    if not text.isdigit() or int(text) < 1:
        raise RegistryError(f"row {row.get('id', '?')}: document_runs must be a whole number ≥ 1, not {text!r}")
    return int(text)


def where_document_falls(ours: dict, units: str = "", k: int = 1) -> Interval | None:
    """Where the document's statistic (one run, or the mean of k) would fall under our protocol
    (`analysis.study.stats.reference_interval`)."""
    return reference_interval(int(ours.get("n") or 0), ours.get("mean"), ours.get("std"), k,
                              bounds=UNIT_BOUNDS.get(units))


def _interval_text(interval: Interval, n: int, k: int = 1) -> str:
    what = "one run" if k == 1 else f"a mean of {k} runs"
    return f"{interval.low:.4g}–{interval.high:.4g} (95 % interval of {what}, n = {n})"


class Fit(NamedTuple):
    """Does a measurement hold the document's value? `ok`: True (inside, and the runs can decide), False
    (outside), None (no interval, or inside but too few runs to decide); `where`: the interval, worded."""

    ok: bool | None
    where: str


def fits(theirs: float, tol: float, entry: dict, units: str = "", k: int = 1) -> Fit:
    """The document's value against where its statistic would fall under `entry`'s runs, ± the tolerance."""
    mean = entry.get("mean")
    if not _finite(mean):
        return Fit(None, "no finite measurement")
    if not entry.get("experiments"):  # a computation: no spread
        return Fit(abs(mean - theirs) <= tol, f"{mean:.6g} (computed)")
    n = int(entry.get("n") or 0)
    interval = where_document_falls(entry, units, k)
    if interval is None:
        return Fit(None, f"{mean:.4g} from one run")
    where = _interval_text(interval, n, k)
    if not interval.low - tol <= theirs <= interval.high + tol:
        return Fit(False, where)
    if not decisive(n, k):
        return Fit(None, f"{where}, too few runs to decide")
    return Fit(True, where)


#: separates the declared variants in a row's `cause` and `cause_measure` (the same count in both)
VARIANT_SEPARATOR = " | "
#: how a cause that no measurement tests is marked (counted apart from tested ones)
UNTESTED = "(declared in the registry, not tested by a measurement)"
#: a measurement a cause names, with the protocol it ran under (None: not measured in this profile)
Measured = dict[str, tuple[dict, Protocol]]


def declared_variants(row: pd.Series) -> list[tuple[str, str]]:
    """(explanation, measurement key) per variant the registry row declares; the key is '' for an explanation
    no measurement tests. Several variants are separated by ' | ' (spaces included, so a cause may say |w|) in
    both columns, in the same order; a variant without a measurement keeps its place with an empty key."""
    cause_text, key_text = (f" {row.get(c, '') or ''} " for c in ("cause", "cause_measure"))  # '| k' splits too
    causes = [c.strip() for c in cause_text.split(VARIANT_SEPARATOR)] if cause_text.strip() else []
    keys = [k.strip() for k in key_text.split(VARIANT_SEPARATOR)] if key_text.strip() else []
    if keys and len(keys) != len(causes):
        raise RegistryError(f"row {row.get('id', '?')}: {len(causes)} cause(s) but {len(keys)} cause_measure(s); "
                            f"separate variants with '{VARIANT_SEPARATOR}' in both columns")
    return list(zip(causes, keys or [""] * len(causes)))


def try_variant(row: pd.Series, key: str, measured: Measured) -> Fit:
    """Does the measurement `key` reproduce the document's value? (None: untested or undecided, with why.)"""
    if key not in measured:
        return Fit(None, f"`{key}` not measured")
    entry, protocol = measured[key]
    if protocol.scaled:
        return Fit(None, f"`{key}` runs a scaled protocol ({'; '.join(protocol.scaled)})")
    ok, where = fits(float(row["document_value"]), float(row["tolerance"]), entry, row["units"], document_runs(row))
    return Fit(ok, f"`{key}` gives {where}")


#: a section's support for each declared variant: (question, variant text) -> Support (analysis.study.scorecard_checks)
Supports = dict[tuple[str, str], Support]


def _borne_out(row: pd.Series, cause: str, supports: Supports | None) -> tuple[bool, str]:
    """Does the row's section, taken together, support the variant `cause`? (No tally given: it does.)"""
    support = (supports or {}).get((row.get("question", ""), cause))
    if support is None:
        return True, ""
    return support.supported, f" ({support.text})"


def explain(row: pd.Series, gap: str, measured: Measured | None = None, supports: Supports | None = None) -> str:
    """The cause of a difference: the first declared variant whose measurement reproduces the document's value and
    whose section's rows, taken together, support it; else 'unexplained' with what each variant gave. `gap` (how
    far off, from our data) is kept in every case."""
    variants = declared_variants(row)
    if not variants:
        return f"unexplained: {gap}"
    if row["units"] in NON_NUMERIC or all(not key for _, key in variants):
        declared = "; ".join(cause for cause, _ in variants)
        return f"{declared} {UNTESTED}; {gap}"
    theirs, tol = float(row["document_value"]), float(row["tolerance"])
    tested = [(cause, *try_variant(row, key, measured or {})) if key else (cause, None, "no measurement declared")
              for cause, key in variants]
    fitting = [(cause, where, *_borne_out(row, cause, supports)) for cause, ok, where in tested if ok]
    borne = [(cause, where, tally) for cause, where, ok, tally in fitting if ok]
    if borne:
        (cause, where, tally), others = borne[0], [c for c, _, _ in borne[1:]]
        also = f" (it is also reproduced by: {'; '.join(others)})" if others else ""
        return f"{cause}: {where}, which ± {tol:g} holds the document's {theirs:.4g}{tally}{also}; ours: {gap}"
    lone = {cause: tally for cause, _, ok, tally in fitting if not ok}
    if len(tested) == 1:
        cause, ok, where = tested[0]
        if cause in lone:
            return (f"unexplained: the declared cause ({cause}) reproduces this row, {where}, but its section does "
                    f"not bear it out{lone[cause]}; {gap}")
        if ok is None:
            return f"unexplained: the declared cause ({cause}) is untested here, {where}; {gap}"
        return f"unexplained: the declared cause ({cause}) is not borne out, {where}; {gap}"
    each = "; ".join(f"{cause}: {'untested, ' if ok is None else ''}{where}"
                     + (f", but its section does not bear it out{lone[cause]}" if cause in lone else "")
                     for cause, ok, where in tested)
    return f"unexplained: none of the {len(tested)} declared variants reproduces it ({each}); {gap}"


def judge_claim(row: pd.Series, ours: dict, protocol: Protocol) -> Judgement:
    """A claim (our check's verdict word) or a true/false answer (the same word or not)."""
    text, notes = ours["text"], _notes(protocol)
    if row["units"] == "claim":
        if text == "supported":
            return Judgement("reproduced", "our check supports the claim" + notes, "our check supports it")
        if text == "contradicted":
            return Judgement("differs", "our check contradicts the claim" + notes,
                             explain(row, "our check contradicts the claim", None))
        if text == "inconclusive":
            return Judgement("inconclusive", "our check is inconclusive" + notes)
        return Judgement("not comparable", f"our check is {text}" + notes)
    if text == row["document_value"]:
        return Judgement("reproduced", "same verdict" + notes, f"ours is also {text}")
    return Judgement("differs", f"ours: {text}" + notes,
                     explain(row, f"ours is {text}, the document's {row['document_value']}", None))


def judge_computed(row: pd.Series, mean: float, measured: Measured | None = None,
                   supports: Supports | None = None) -> Judgement:
    """A value computed without training: the tolerance alone decides."""
    theirs, tol = float(row["document_value"]), float(row["tolerance"])
    diff = abs(mean - theirs)
    if diff <= tol:
        return Judgement("reproduced", f"|difference| {diff:.4g} ≤ tolerance {tol:g}",
                         f"computed exactly: ours {mean:.6g}, the document's {theirs:.6g}")
    return Judgement("differs", f"|difference| {diff:.4g} > tolerance {tol:g}",
                     explain(row, f"ours {mean:.6g} computed, the document's {theirs:.6g}", measured, supports))


def _undecided(n: int, k: int) -> str:
    return (f"{n} runs detect a shift of {DETECTABLE_SHIFT:g} run standard deviations only "
            f"{100 * power(n, k):.0f} % of the time (the rule needs {100 * MIN_POWER:.0f} %)")


def judge_number(row: pd.Series, ours: dict, protocol: Protocol, measured: Measured | None = None,
                 supports: Supports | None = None) -> Judgement:
    """A document number (one run, or the mean of `document_runs`) against where that statistic would fall under
    our protocol (one rule at every n ≥ 2), widened by the row's tolerance; inside but undecidable at this n is
    'inconclusive: too few runs'."""
    theirs, tol, mean = float(row["document_value"]), float(row["tolerance"]), ours.get("mean")
    if not _finite(mean):
        return Judgement("not comparable", "no finite measurement (all runs diverged?)")
    if not ours.get("experiments"):
        return judge_computed(row, mean, measured, supports)
    n, k, notes, diff = int(ours.get("n") or 0), document_runs(row), _notes(protocol), abs(mean - theirs)
    interval = where_document_falls(ours, row["units"], k)
    if interval is None:
        return Judgement(ONE_RUN, f"ours {mean:.4g} from one run, the document's {theirs:.4g} "
                                  f"(|difference| {diff:.4g}, "
                                  f"tolerance {tol:g}){notes}")
    where = _interval_text(interval, n, k)
    low, high = interval.low - tol, interval.high + tol
    if low <= theirs <= high:
        inside = f"the document's {theirs:.4g} inside {where} ± tolerance {tol:g}"
        if not decisive(n, k):
            return Judgement(TOO_FEW, f"{inside}, but {_undecided(n, k)}{notes}")
        cause = (f"within tolerance: |ours − document| = {diff:.4g} ≤ {tol:g}" if diff <= tol else
                 f"within the spread of our runs: {where} ± {tol:g} holds the document's {theirs:.4g}")
        return Judgement("reproduced", inside + notes, cause)
    side, miss = ("above", theirs - high) if theirs > high else ("below", low - theirs)
    gap = f"the document's {theirs:.4g} lies {miss:.4g} {side} {where} ± tolerance {tol:g}"
    return Judgement("differs", gap + notes, explain(row, gap, measured, supports))


def _at_scale(row: pd.Series, ours: dict) -> str:
    """What our scaled measurement shows, for the reader: never a verdict."""
    if "text" in ours:
        return f"at this scale our check says: {ours['text']}"
    mean = ours.get("mean")
    shown = f"{mean:.4g} (n = {ours.get('n')})" if _finite(mean) else "no finite value"
    return f"at this scale ours is {shown}, the document's {row['document_value']}"


def judge(row: pd.Series, ours: dict | None, protocol: Protocol = Protocol(),
          measured: Measured | None = None, supports: Supports | None = None) -> Judgement:
    """(verdict, reason, cause) for one registry row; `protocol`: the profile's changes to the experiments
    behind `ours`; `measured`: the measurements the row's `cause_measure` names, each with its protocol;
    `supports`: how each declared variant fared over its whole section (None: not tallied)."""
    if row["document_error"]:
        mean = (ours or {}).get("mean")
        ours_text = f"; ours {mean:.6g}" if _finite(mean) else ""
        return Judgement("document is wrong", row["document_error"],
                         f"the document's slip: {row['document_error']}{ours_text}")
    if ours is None:
        return Judgement("not comparable", "not measured in this profile")
    if protocol.scaled:
        return Judgement(f"{SCALED} ({'; '.join(protocol.scaled)})", _at_scale(row, ours) + _notes(protocol))
    if "text" in ours:
        return judge_claim(row, ours, protocol)
    return judge_number(row, ours, protocol, measured, supports)


def verdict_class(verdict: str) -> str:
    """The counted class of a verdict: 'not comparable: scaled protocol (…)' → 'not comparable: scaled protocol'."""
    if verdict.startswith(SCALED):
        return SCALED
    for word in ("not comparable", "inconclusive"):
        if verdict.startswith(word):
            return word
    return verdict


# ------------------------------------------------------------------------ the table ---
def runs_behind(ours: dict | None, runs: pd.DataFrame | None) -> list[str]:
    """The run ids a measurement rests on: as the page published them, else every run of its experiments."""
    if not ours:
        return []
    if ours.get("run_ids"):
        return list(ours["run_ids"])
    experiments = set(ours.get("experiments") or ())
    if not experiments or runs is None or runs.empty:
        return []
    mask = runs["experiments"].apply(lambda names: bool(experiments & set(names)))
    return runs.loc[mask, "run_id"].astype(str).tolist()


def anchor_of(question: str) -> str:
    """'H4.6' → 'h4-6', the section id the pages give their questions."""
    return question.lower().replace(".", "-")


def _numbers(ours: dict | None, units: str, k: int = 1) -> dict:
    """The numeric columns of a measured value (None for claims and unmeasured rows)."""
    if not ours or "text" in ours:
        return {"ours_low": None, "ours_high": None, "ours_n": None, "ours_sd": None, "ours_values": [],
                "interval_low": None, "interval_high": None, "interval": ""}
    interval = where_document_falls(ours, units, k) if ours.get("experiments") else None
    return {"ours_low": ours.get("low"), "ours_high": ours.get("high"), "ours_n": ours.get("n"),
            "ours_sd": ours.get("std"), "ours_values": [float(v) for v in ours.get("values") or () if v is not None],
            "interval_low": interval.low if interval else None, "interval_high": interval.high if interval else None,
            "interval": interval.method if interval else ""}


def _causes(row: pd.Series, measured: dict[str, dict], plan: Plan | None) -> Measured:
    """The measurements a row's declared variants name, each with the protocol it ran under."""
    return {key: (measured[key], protocol_of(plan, measured[key].get("experiments") or ()))
            for _, key in declared_variants(row) if key in measured}


def variant_fits(registry: pd.DataFrame, measured: dict[str, dict],
                 plan: Plan | None) -> list[tuple[str, str, bool | None]]:
    """(question, variant, does it reproduce the row?) for every declared, measured variant of every numeric row,
    whether or not the row differs: a variant is scored over its whole section."""
    out = []
    for _, row in registry.iterrows():
        if row["units"] in NON_NUMERIC or row["document_error"]:
            continue
        causes = _causes(row, measured, plan)
        out += [(row["question"], cause, try_variant(row, key, causes).ok)
                for cause, key in declared_variants(row) if key]
    return out


def _without_tolerance(row: pd.Series, ours: dict | None, protocol: Protocol) -> str:
    """The verdict the row would get with tolerance 0, so a reader sees what the tolerance decided."""
    if row["units"] in NON_NUMERIC or row["document_error"] or not row["tolerance"]:
        return ""
    zero = row.copy()
    zero["tolerance"] = "0"
    return judge(zero, ours, protocol).verdict


def scorecard_row(row: pd.Series, measured: dict[str, dict], plan: Plan | None,
                  runs: pd.DataFrame | None, supports: Supports | None = None) -> dict:
    ours = measured.get(row["measure"]) if row["measure"] else None
    protocol = protocol_of(plan, (ours or {}).get("experiments") or ())
    verdict, reason, cause = judge(row, ours, protocol, _causes(row, measured, plan), supports)
    mean = ours.get("mean") if ours and "text" not in ours else None
    run_ids = runs_behind(ours, runs)
    page = (ours or {}).get("page") or PAGE_OF.get(row["question"][:2], "")
    anchor = (ours or {}).get("anchor") or anchor_of(row["question"])
    numeric = row["units"] not in NON_NUMERIC and row["document_error"] == ""
    text = ours.get("text") if ours and "text" in ours else ""
    return {**row.to_dict(), "ours": mean if _finite(mean) else None, "ours_text": text,
            **_numbers(ours, row["units"], document_runs(row)),
            "difference": (mean - float(row["document_value"])) if _finite(mean) and numeric else None,
            "verdict": verdict, "verdict_class": verdict_class(verdict), "reason": reason, "cause": cause,
            "verdict_tolerance_0": _without_tolerance(row, ours, protocol),
            "experiments": list((ours or {}).get("experiments") or ()), "run_ids": list(run_ids),
            "run_dirs": [f"{RUNS_DIR}/{r}/" for r in run_ids],
            "page": page, "anchor": anchor, "link": f"{page}.html#{anchor}" if page else ""}


def build_scorecard(registry: pd.DataFrame, measured: dict[str, dict], plan: Plan | None = None,
                    runs: pd.DataFrame | None = None,
                    supports: Supports | None = None) -> pd.DataFrame:
    """One row per registry row; `plan` (the `plan` rule's) says which protocols this profile scales,
    `runs` (tables/runs.parquet) lists the runs of measurements that name experiments but no runs. Each declared
    variant is first scored over its whole section; a row's cause may only name a variant its section supports."""
    registry = registry.copy()
    for column in OPTIONAL_COLUMNS:
        if column not in registry.columns:
            registry[column] = ""
    if supports is None:
        supports = section_support(variant_fits(registry, measured, plan))
    return pd.DataFrame([scorecard_row(row, measured, plan, runs, supports)
                         for _, row in registry.iterrows()])


# ------------------------------------------------------------------------- the page ---
def _fmt(value, units: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, str):
        return value
    if units == "fraction":
        return f"{percent(value, 2)}"
    if units == "parameters":
        return f"{value:,.0f}"
    return f"{value:.4g}"


def _slug(row_id: str) -> str:
    return "runs-" + re.sub(r"[^a-z0-9]+", "-", row_id.lower()).strip("-")


def judged_rows(card: pd.DataFrame) -> pd.Series:
    """The numbers judged against an interval of our runs (not claims, computations, slips or unmeasured rows):
    the rows among which chance alone produces "differs"."""
    return card["verdict_class"].isin(("reproduced", "differs", "inconclusive")) & card["interval"].eq(PREDICTION)


def chance_text(card: pd.DataFrame) -> str:
    """'of 80 numbers judged against our runs, about 4 would differ by chance alone (at most 7 in 95 % of builds)'."""
    judged = int(judged_rows(card).sum()) if "interval" in card else 0
    if not judged:
        return ""
    expected, upper = expected_by_chance(judged)
    return (f"; of the {judged} numbers judged against our runs, about {expected:.0f} would differ by chance alone "
            f"if every one came from our protocol (at most {upper} in 95 % of builds)")


def summary_text(card: pd.DataFrame) -> str:
    """The verdict counts in one sentence (the landing page shows it too)."""
    counts = card["verdict_class"].value_counts().reindex(VERDICTS, fill_value=0)
    unexplained = int((card["verdict_class"].eq("differs") & card["cause"].str.startswith("unexplained")).sum())
    one_run = int(card["verdict"].eq(ONE_RUN).sum())
    untested = int((card["verdict_class"].eq("differs") & card["cause"].str.contains(UNTESTED, regex=False)).sum())
    explained = int(counts["differs"]) - unexplained - untested
    causes = [f"{explained} explained by a tested cause"] + ([f"{untested} by a declared, untested one"] if untested
                                                             else []) + [f"{unexplained} unexplained"]
    differ = f"{counts['differs']} differ" + (f" ({', '.join(causes)})" if counts["differs"] else "")
    too_few = int(card["verdict"].eq(TOO_FEW).sum())
    inconclusive = f"{counts['inconclusive']} inconclusive" + (
        f" ({too_few} of them for too few runs)" if too_few else "")
    # no row under a scaled protocol: every verdict is under the documents' own protocols (the `full` profile)
    lead = "Under the documents' own protocols, " if counts[SCALED] == 0 else ""
    scaled = f"{counts[SCALED]} not comparable because this profile scales the protocol, " if counts[SCALED] else ""
    return (f"{lead}{len(card)} numbers and claims from the documents: {counts['reproduced']} reproduced, {differ}, "
            f"{inconclusive}, {counts['document is wrong']} where the document is wrong, {scaled}"
            f"{counts['not comparable']} not comparable{' for other reasons' if scaled else ''}"
            f"{_not_comparable_why(int(counts['not comparable']), one_run)}{chance_text(card)}.")


def _not_comparable_why(total: int, one_run: int) -> str:
    """' (3 of them a single run, which has no interval; the rest not measured here or with too short a protocol)'."""
    if total == 0:
        return ""
    if one_run == 0:
        return " (not measured here or with too short a protocol)"
    single = "a single run, which has no interval"
    if one_run == total:
        return f" ({single})"
    return f" ({one_run} of them {single}; the rest not measured here or with too short a protocol)"


def ours_cell(row: pd.Series) -> str:
    """Our mean as the scorecard prints it, with where one run falls in brackets (or 'one run'); a claim's verdict
    word (`ours_text`) as it is."""
    units, ours = row["units"], row["ours"]
    if row.get("ours_text"):
        return row["ours_text"]
    if not _finite(ours):
        return _fmt(ours, units)
    if _finite(row["interval_low"]):
        return f"{_fmt(ours, units)} [{_fmt(row['interval_low'], units)}, {_fmt(row['interval_high'], units)}]"
    return _fmt(ours, units) + (" (one run)" if len(row["experiments"]) and row["ours_n"] == 1 else "")


def document_cell(row: pd.Series) -> str:
    """The document's value as the scorecard prints it (a percentage for a fraction)."""
    numeric = row["units"] not in NON_NUMERIC and row["document_error"] == ""
    return _fmt(float(row["document_value"]) if numeric else row["document_value"], row["units"])


def rows_table(card: pd.DataFrame) -> str:
    runs = card["run_ids"]
    table = pd.DataFrame({
        "id": [f"[{i}]({link})" if link else i for i, link in zip(card["id"], card["link"])],
        "quantity": card["quantity"],
        "document": card.apply(document_cell, axis=1),
        "ours: mean [where the document's number would fall]": card.apply(ours_cell, axis=1),
        "verdict": [f"**{v}**" for v in card["verdict"]],
        "with tolerance 0": [v or "—" for v in card["verdict_tolerance_0"]],
        "why": card["reason"],
        "cause": [c or "—" for c in card["cause"]],
        "runs": [f"[{len(r)}](#{_slug(i)})" if r else "—" for i, r in zip(card["id"], runs)],
    })
    return markdown_table(table)


def runs_list(card: pd.DataFrame) -> str:
    """Each row's runs by id, with the folder that holds their files; the table's run counts link here."""
    lines = []
    for _, row in card[card["run_ids"].apply(len) > 0].iterrows():
        ids = list(row["run_ids"])
        section = f"[{row['question']} on {row['page']}]({row['link']})"
        lines.append(f"- [**{row['id']}**]{{#{_slug(row['id'])}}} ({section}): experiment "
                     f"{', '.join(row['experiments'])}, {len(ids)} run{'s' * (len(ids) != 1)} in "
                     f"`{RUNS_DIR}/<run-id>/`: " + ", ".join(f"[`{i}`]({run_page_href(i)})" for i in ids))
    return "\n".join(lines or ["_No row of this profile rests on training runs._"]) + "\n"


def page_fragments(card: pd.DataFrame, out: PageOutput, supports: Supports | None = None) -> None:
    summary = summary_text(card)
    out.set("summary", summary)
    counts = card["verdict_class"].value_counts().reindex(VERDICTS, fill_value=0)
    for verdict in VERDICTS:
        out.set(f"count.{re.sub(r'[^a-z]+', '_', verdict)}", int(counts[verdict]))
    out.set("count.not_comparable_one_run", int(card["verdict"].eq(ONE_RUN).sum()))
    out.set("count.too_few_runs", int(card["verdict"].eq(TOO_FEW).sum()))
    out.set("rule", RULE_NOTE)
    out.headline("Scorecard", "scorecard", summary)
    by_document = card.pivot_table(index="document_file", columns="verdict_class", values="id", aggfunc="count",
                                   fill_value=0)
    by_document = by_document.reindex(columns=list(VERDICTS), fill_value=0).reset_index()
    out.fragment("by_document", markdown_table(by_document.astype(str)))
    out.fragment("table", rows_table(card))
    out.fragment("runs", runs_list(card))
    out.fragment("calibration", markdown_table(calibration_table()))
    variants = support_table(supports or {})
    out.fragment("variants", markdown_table(variants) if len(variants) else
                 "_No row of this profile declares a protocol variant with a measurement._\n")
    moved = card[card["verdict_tolerance_0"].ne("") & card["verdict_tolerance_0"].ne(card["verdict"])]
    out.set("tolerance_moved", f"{len(moved)} of {int(card['verdict_tolerance_0'].ne('').sum())}")


def _read_inputs(args: argparse.Namespace) -> tuple[Plan | None, pd.DataFrame | None]:
    plan = Plan.read(args.tables)[0] if args.tables else None
    runs = pd.read_parquet(args.tables / "runs.parquet") if args.tables else None
    return plan, runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--registry", required=True, type=Path)
    parser.add_argument("--answers", required=True, type=Path, help="folder with the pages' answer JSON")
    parser.add_argument("--out", required=True, type=Path, help="answers folder: scorecard.json and scorecard/")
    parser.add_argument("--table", required=True, type=Path, help="the scorecard as Parquet")
    parser.add_argument("--tables", type=Path, help="the profile's tables: the plan (which protocols this profile "
                        "scales) and runs.parquet (the runs behind each row)")
    args = parser.parse_args(argv)
    try:
        registry = load_registry(args.registry)
    except RegistryError as exc:
        print(f"nnlab scorecard: {exc}", file=sys.stderr)
        return 1
    plan, runs = _read_inputs(args)
    measured = measured_values(args.answers)
    supports = section_support(variant_fits(registry, measured, plan))
    card = build_scorecard(registry, measured, plan, runs, supports)
    # numbers as numbers: `ours` is our mean (float, empty for a claim), `ours_text` a claim's verdict word
    atomic_write(args.table, lambda p: card.astype({"ours": float}).to_parquet(p, index=False))
    out = PageOutput(page="scorecard", out_dir=args.out)
    page_fragments(card, out, supports)
    out.write({"profile": plan.profile if plan else "", "runs": 0, "datasets": {}})
    print(f"scorecard: {len(card)} rows; " + ", ".join(f"{k}: {v}" for k, v in card["verdict"].value_counts().items()),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
