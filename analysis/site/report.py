"""Render the report: copy `report/` to a build folder, add the computed parts, render.

The build folder receives `_variables.yml` (every page's computed variables, read by
`{{< var >}}`) and `generated/` (fragments and figures, read by `{{< include >}}`), among
them the landing page's parts (`analysis.site.landing`). Then `quarto render` runs when Quarto
is on PATH; otherwise `analysis.site.pandoc_site` renders the same `.qmd` sources into the same
site layout. This module is the `site` rule's command line: it prepares the build folder
and picks the engine.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import yaml

from analysis.study.answers import DOCUMENT_PAGES, PAGES
from analysis.site.landing import findings, pages_list, run_summary, scorecard_verdicts, summary_table, thumbnails
from analysis.site.explorer import write_explorer_data
from analysis.site.pandoc_site import ReportError, render_pandoc
from analysis.site.run_pages import write_run_pages
from analysis.site.search import index_site

#: pages of the site: one per source document, the experiments page, then the scorecard that joins them
SITE_PAGES: tuple[str, ...] = (*PAGES, "scorecard")

SOURCE_DIR = Path(__file__).resolve().parents[2] / "report"


# ------------------------------------------------------------------ build folder ---
def prepare_build(source: Path, answers_dir: Path, build: Path, profile: str,
                  scorecard_table: Path | None = None, tables: Path | None = None) -> dict:
    """Copy the sources and write the computed inputs; return every page's answers. `scorecard_table`: the
    scorecard job's Parquet (default: tables/scorecard.parquet beside the answers folder), for the landing
    table's verdicts; `tables`: the profile's tables (default: beside the answers folder), for the explorer."""
    if build.exists():
        shutil.rmtree(build)
    shutil.copytree(source, build)
    answers = {page: json.loads((answers_dir / f"{page}.json").read_text()) for page in SITE_PAGES}
    variables = {page: data["vars"] for page, data in answers.items()}
    variables["profile"] = profile
    (build / "_variables.yml").write_text(yaml.safe_dump(variables, allow_unicode=True, sort_keys=True))
    generated = build / "generated"
    for page in SITE_PAGES:
        shutil.copytree(answers_dir / page, generated / page)
    table = scorecard_table or answers_dir.parent / "tables" / "scorecard.parquet"
    write_site_fragments(generated, answers, profile, build, scorecard_verdicts(table))
    write_explorer_data(tables or answers_dir.parent / "tables", generated / "explorer" / "data.js")
    return answers


PROFILE_NOTICE = {
    "quick": "::: {.callout-warning}\n## Quick profile\nThis site was built with the `quick` profile: every "
             "experiment on a small subset for one epoch or so. It proves the pipeline works; **its numbers "
             "are not meaningful.** Build the `default` profile for results.\n:::\n",
    "default": "::: {.callout-note}\n## Default profile\nThe protocols of the source documents, scaled only where "
               "a 2-core CPU could not run them in the time budget; each page prints its scaling beside the "
               "results it affects.\n:::\n",
    "full": "::: {.callout-note}\n## Full profile\nThe source documents' protocols, unscaled.\n:::\n",
}


def write_site_fragments(generated: Path, answers: dict, profile: str, build: Path,
                         verdicts: dict[str, Counter] | None = None) -> None:
    """Fragments that span pages: the profile notice and the landing page's parts. `verdicts`: question id ->
    its scorecard rows' verdicts (scorecard_verdicts)."""
    (generated / "profile_notice.md").write_text(PROFILE_NOTICE[profile])
    index = generated / "index"
    index.mkdir(parents=True, exist_ok=True)
    found = [item for page, data in answers.items() for item in findings(page, data["vars"])]
    questions = [item for item in found if item["page"] in DOCUMENT_PAGES]
    (index / "headlines.md").write_text("\n".join(
        f"- **[{h['id']}]({h['page']}.html#{h['anchor']})**: {h['text']}" for h in found) + "\n"
        if found else "- No exercise has results yet.\n")
    (index / "summary.md").write_text(summary_table(questions, verdicts or {}, build))
    (index / "thumbnails.md").write_text(thumbnails(questions, generated, build))
    (index / "pages.md").write_text(pages_list(answers, build))
    (index / "run.md").write_text(run_summary(answers, profile))


# ------------------------------------------------------------------ render ---
def render_quarto(build: Path, site: Path) -> None:
    proc = subprocess.run(["quarto", "render", str(build)], text=True, capture_output=True)
    sys.stderr.write(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise ReportError(f"quarto render failed (exit {proc.returncode}); see the log above")
    if site.exists():
        shutil.rmtree(site)
    shutil.copytree(build / "_site", site)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", required=True)
    parser.add_argument("--answers", required=True, type=Path)
    parser.add_argument("--build", required=True, type=Path)
    parser.add_argument("--site", required=True, type=Path)
    parser.add_argument("--source", default=SOURCE_DIR, type=Path)
    parser.add_argument("--engine", default="auto", choices=["auto", "quarto", "pandoc"])
    parser.add_argument("--scorecard-table", type=Path, default=None,
                        help="the scorecard's Parquet (default: <answers>/../tables/scorecard.parquet)")
    parser.add_argument("--tables", type=Path, default=None,
                        help="the profile's tables: the plan and the runs (default: <answers>/../tables)")
    parser.add_argument("--runs-dir", type=Path, default=Path("results/runs"),
                        help="the runs' folders, for each run page's record and log")
    args = parser.parse_args(argv)
    tables = args.tables or args.answers.parent / "tables"
    prepare_build(args.source, args.answers, args.build, args.profile, args.scorecard_table, tables)
    engine = args.engine
    if engine == "auto":
        engine = "quarto" if shutil.which("quarto") else "pandoc"
    try:
        if engine == "quarto":
            render_quarto(args.build, args.site)
        else:
            render_pandoc(args.build, args.site)
        pages = write_run_pages(args.site, tables, args.runs_dir, args.profile)
        index_site(args.site)
    except ReportError as exc:
        print(f"nnlab report error: {exc}", file=sys.stderr)
        return 1
    print(f"site rendered with {engine}: {args.site / 'index.html'}, and {len(pages)} run pages", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
