"""A results summary to commit: one profile's answers, scorecard and a figure per question as one Markdown file
with its figures beside it (`docs/results/<profile>.md`, `docs/results/<profile>/`).

`results/` is not in git and a long build (`full`: hours) outlives neither a lost work tree nor a fresh clone,
so what it found is kept this way. `make summary PROFILE=full` writes it after the build; it reads only the
pipeline's outputs (the answers' JSON, the scorecard's Parquet, the figures' PNGs) and computes nothing new.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

import pandas as pd

from analysis.study.answers.common import markdown_table
from analysis.site.landing import findings, run_summary, scorecard_verdicts, section_title, summary_table
from analysis.site.report import SITE_PAGES, SOURCE_DIR
from analysis.study.scorecard import document_cell, ours_cell
from analysis.study.answers import DOCUMENT_PAGES, declared_questions



class SummaryError(RuntimeError):
    """The profile's build is missing or incomplete (the message names what is missing)."""


def load_answers(answers_dir: Path) -> dict[str, dict]:
    """Every site page's answer JSON; a missing one means the build did not finish."""
    missing = [page for page in SITE_PAGES if not (answers_dir / f"{page}.json").is_file()]
    if missing:
        raise SummaryError(f"no answers for page(s) {', '.join(missing)} under {answers_dir}: build the profile first")
    return {page: json.loads((answers_dir / f"{page}.json").read_text()) for page in SITE_PAGES}


def differing_rows(card: pd.DataFrame) -> str:
    """The scorecard rows whose verdict is 'differs', each with its cause (a tested variant, or 'unexplained')."""
    column = "verdict_class" if "verdict_class" in card else "verdict"
    rows = card[card[column] == "differs"]
    if rows.empty:
        return "_No number differs._\n"
    table = pd.DataFrame({"row": rows["id"], "quantity": rows["quantity"],
                          "document": rows.apply(document_cell, axis=1),
                          "ours: mean [where one run falls]": rows.apply(ours_cell, axis=1),
                          "cause": rows["cause"].fillna("—")})  # the cells as the scorecard page prints them
    return markdown_table(table)


def question_figure(h: dict, answers_dir: Path) -> str | None:
    """The figure that stands for a question: the landing page's thumbnail when the page chose one, else the first
    of its declared fragments this build drew as a figure (None: it drew none)."""
    declared = {q.id: q for q in declared_questions(h["page"])}
    names = [h.get("figure")] + list(getattr(declared.get(h["id"]), "fragments", ()))
    return next((n for n in names if n and (answers_dir / h["page"] / f"{n}.png").is_file()), None)


def copy_figures(items: list[dict], answers_dir: Path, figures_dir: Path, source: Path) -> str:
    """One figure per question (`question_figure`), copied beside the summary, as Markdown."""
    for old in figures_dir.glob("*.png"):  # figures of an earlier summary that this build no longer draws must go
        old.unlink()
    blocks = []
    for h in items:
        name = question_figure(h, answers_dir)
        if name is None:
            continue
        figures_dir.mkdir(parents=True, exist_ok=True)
        target = figures_dir / f"{h['page']}_{name}.png"
        shutil.copyfile(answers_dir / h["page"] / f"{name}.png", target)
        label = f"{h['id']} · {section_title(source / (h['page'] + '.qmd'), h['anchor'])}"
        blocks.append(f"### {label}\n\n![{label}]({figures_dir.name}/{target.name})\n")
    return "\n".join(blocks) or "_No figures in this profile._\n"


def write_summary(profile: str, results: Path, out_dir: Path, source: Path = SOURCE_DIR) -> Path:
    """Write `<out_dir>/<profile>.md` and its figures from `results/<profile>`; returns the Markdown's path."""
    answers_dir, table = results / profile / "answers", results / profile / "tables" / "scorecard.parquet"
    answers = load_answers(answers_dir)
    if not table.is_file():
        raise SummaryError(f"no scorecard table at {table}: build the profile first")
    card = pd.read_parquet(table)
    items = [h for page in DOCUMENT_PAGES for h in findings(page, answers[page]["vars"])]
    out_dir.mkdir(parents=True, exist_ok=True)
    site = Path(os.path.relpath(results / profile / "site", out_dir)).as_posix() + "/"
    built = max(str(data["meta"].get("built_at", "")) for data in answers.values())
    text = "\n".join([
        f"# nnlab results: profile `{profile}`\n",
        f"Written by `make summary PROFILE={profile}` from the build of {built} (`results/{profile}/`). Every number "
        "and sentence below was computed by the pipeline; links point into the site that build rendered "
        f"(`results/{profile}/site/`), which a clone has only after it builds the profile itself.\n",
        "## Scorecard\n", answers["scorecard"]["vars"].get("summary", "") + "\n",
        "## Each question at a glance\n", summary_table(items, scorecard_verdicts(table), source, site),
        "## Numbers that differ from the documents, and why\n", differing_rows(card),
        "## Figures\n", copy_figures(items, answers_dir, out_dir / profile, source),
        "## The build\n", run_summary(answers, profile)])
    path = out_dir / f"{profile}.md"
    path.write_text(text)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", required=True)
    parser.add_argument("--results", default=Path("results"), type=Path)
    parser.add_argument("--out", default=Path("docs/results"), type=Path)
    args = parser.parse_args(argv)
    try:
        path = write_summary(args.profile, args.results, args.out)
    except SummaryError as exc:
        print(f"nnlab summary error: {exc}", file=sys.stderr)
        return 1
    print(f"results summary written: {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
