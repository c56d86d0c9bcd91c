"""The reproduction scorecard: every number and claim the seed documents report (config/scorecard.csv,
kept as data) joined with what this run measured, each row with a verdict.

Verdicts: *reproduced* (our mean within the row's declared tolerance of the seed value, or the seed value inside
our 95 % CI widened by the tolerance; for a claim, our check supports it), *differs* (outside; a claim our
check contradicts), *seed is wrong* (the registry names the seed's error, e.g. an arithmetic slip), *not
comparable* (not measured in this profile, or our check of a claim is inconclusive). Tolerances are declared
per row with a reason in the registry, before and independent of our results.

    python -m analysis.scorecard --registry config/scorecard.csv --answers results/default/answers \
        --out results/default/answers --table results/default/tables/scorecard.parquet
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import pandas as pd

from analysis.answers import PAGES
from analysis.answers.common import PageOutput, markdown_table
from analysis.data import atomic_write

VERDICTS = ("reproduced", "differs", "seed is wrong", "not comparable")
REGISTRY_COLUMNS = ("id", "seed_file", "question", "quantity", "seed_value", "units", "measure", "tolerance",
                    "tolerance_reason", "seed_error", "notes")
#: which page answers which question prefix (for links)
PAGE_OF = {"E7": "seed000", "H4": "seed001", "A7": "seed002", "M2": "seed003", "D1": "seed004"}


class RegistryError(ValueError):
    pass


def load_registry(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in REGISTRY_COLUMNS if c not in frame.columns]
    if missing:
        raise RegistryError(f"{path}: missing column(s) {', '.join(missing)}")
    duplicated = frame["id"][frame["id"].duplicated()].tolist()
    if duplicated:
        raise RegistryError(f"{path}: duplicate id(s) {', '.join(duplicated)}")
    numeric = frame["units"].isin(["claim", "verdict"]) | frame["seed_error"].ne("")
    untolerated = frame[~numeric & frame["tolerance"].eq("")]["id"].tolist()
    if untolerated:
        raise RegistryError(f"{path}: numeric rows without a tolerance: {', '.join(untolerated)}")
    return frame


def measured_values(answers_dir: Path) -> dict[str, dict]:
    values: dict[str, dict] = {}
    for page in PAGES:
        path = answers_dir / f"{page}.json"
        if path.is_file():
            values.update(json.loads(path.read_text())["vars"].get("measured", {}))
    return values


def judge(row: pd.Series, ours: dict | None) -> tuple[str, str]:
    """(verdict, reason) for one registry row."""
    if row["seed_error"]:
        return "seed is wrong", row["seed_error"]
    if ours is None:
        return "not comparable", "not measured in this profile"
    if "text" in ours:
        text = ours["text"]
        if row["units"] == "claim":
            return {"supported": ("reproduced", "our check supports the claim"),
                    "contradicted": ("differs", "our check contradicts the claim")}.get(
                text, ("not comparable", f"our check is {text}"))
        return ("reproduced", "same verdict") if text == row["seed_value"] else ("differs", f"ours: {text}")
    seed, tol, mean = float(row["seed_value"]), float(row["tolerance"]), ours.get("mean")
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "not comparable", "no finite measurement (all runs diverged?)"
    if abs(mean - seed) <= tol:
        return "reproduced", f"|difference| {abs(mean - seed):.4g} ≤ tolerance {tol:g}"
    low, high = ours.get("low"), ours.get("high")
    if low is not None and high is not None and not (math.isnan(low) or math.isnan(high)) \
            and low - tol <= seed <= high + tol:
        return "reproduced", f"seed value inside our 95 % CI ± tolerance {tol:g}"
    return "differs", f"|difference| {abs(mean - seed):.4g} > tolerance {tol:g}"


def build_scorecard(registry: pd.DataFrame, measured: dict[str, dict]) -> pd.DataFrame:
    rows = []
    for _, row in registry.iterrows():
        ours = measured.get(row["measure"]) if row["measure"] else None
        verdict, reason = judge(row, ours)
        mean = ours.get("mean") if ours and "text" not in ours else None
        rows.append({**row.to_dict(), "ours": (ours or {}).get("text") if ours and "text" in ours else mean,
                     "ours_low": ours.get("low") if ours and "text" not in ours else None,
                     "ours_high": ours.get("high") if ours and "text" not in ours else None,
                     "ours_n": ours.get("n") if ours and "text" not in ours else None,
                     "difference": (mean - float(row["seed_value"])) if mean is not None and row["units"] not in
                     ("claim", "verdict") else None,
                     "verdict": verdict, "reason": reason,
                     "page": PAGE_OF.get(row["question"][:2], "")})
    return pd.DataFrame(rows)


def _fmt(value, units: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, str):
        return value
    if units == "fraction":
        return f"{100 * value:.2f} %"
    if units == "parameters":
        return f"{value:,.0f}"
    return f"{value:.4g}"


def page_fragments(card: pd.DataFrame, out: PageOutput) -> None:
    counts = card["verdict"].value_counts().reindex(VERDICTS, fill_value=0)
    summary = (f"{len(card)} seed numbers and claims: {counts['reproduced']} reproduced, {counts['differs']} differ, "
               f"{counts['seed is wrong']} where the seed is wrong, {counts['not comparable']} not comparable in this profile.")
    out.set("summary", summary)
    for verdict in VERDICTS:
        out.set(f"count.{verdict.replace(' ', '_')}", int(counts[verdict]))
    out.headline("Scorecard", "scorecard", summary)
    by_seed = card.pivot_table(index="seed_file", columns="verdict", values="id", aggfunc="count", fill_value=0)
    by_seed = by_seed.reindex(columns=list(VERDICTS), fill_value=0).reset_index()
    out.fragment("by_seed", markdown_table(by_seed.astype(str)))
    table = pd.DataFrame({
        "id": [f"[{i}]({p}.html)" if p else i for i, p in zip(card["id"], card["page"])],
        "quantity": card["quantity"],
        "seed": [_fmt(float(v) if u not in ("claim", "verdict") and e == "" else v, u)
                 for v, u, e in zip(card["seed_value"], card["units"], card["seed_error"])],
        "ours (95 % CI)": [_fmt(o, u) + (f" [{_fmt(lo, u)}, {_fmt(hi, u)}]" if lo is not None and not
                                         (isinstance(lo, float) and math.isnan(lo)) else "")
                           for o, lo, hi, u in zip(card["ours"], card["ours_low"], card["ours_high"], card["units"])],
        "verdict": [f"**{v}**" for v in card["verdict"]],
        "why": card["reason"],
    })
    out.fragment("table", markdown_table(table))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--registry", required=True, type=Path)
    parser.add_argument("--answers", required=True, type=Path, help="folder with the pages' answer JSON")
    parser.add_argument("--out", required=True, type=Path, help="answers folder: scorecard.json and scorecard/")
    parser.add_argument("--table", required=True, type=Path, help="the scorecard as Parquet")
    args = parser.parse_args(argv)
    try:
        registry = load_registry(args.registry)
    except RegistryError as exc:
        print(f"nnlab scorecard: {exc}", file=sys.stderr)
        return 1
    card = build_scorecard(registry, measured_values(args.answers))
    atomic_write(args.table, lambda p: card.astype({"ours": str}).to_parquet(p, index=False))
    out = PageOutput(page="scorecard", out_dir=args.out)
    page_fragments(card, out)
    out.write({"profile": "", "runs": 0, "datasets": {}})
    print(f"scorecard: {len(card)} rows; " + ", ".join(f"{k}: {v}" for k, v in card["verdict"].value_counts().items()),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
