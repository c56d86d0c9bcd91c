"""Render the report: copy `report/` to a build folder, add the computed parts, render.

The build folder receives `_variables.yml` (every page's computed variables, read by
`{{< var >}}`) and `generated/` (fragments and figures, read by `{{< include >}}`).
Then `quarto render` runs when Quarto is on PATH; otherwise the pandoc path below
renders the same `.qmd` sources into the same site layout: one HTML file per page, the
sidebar from `_quarto.yml`, the shortcodes and callouts the pages use.
"""
from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import yaml

from analysis.answers import DOCUMENT_PAGES, PAGES, page_label
#: pages of the site: one per seed document, the experiments page, then the scorecard that joins them
SITE_PAGES: tuple[str, ...] = (*PAGES, "scorecard")

SOURCE_DIR = Path(__file__).resolve().parent.parent / "report"
SHORTCODE = re.compile(r"\{\{<\s*(var|include|meta)\s+(.+?)\s*>\}\}")


class ReportError(RuntimeError):
    pass


# ------------------------------------------------------------------ build folder ---
def prepare_build(source: Path, answers_dir: Path, build: Path, profile: str,
                  scorecard_table: Path | None = None) -> dict:
    """Copy the sources and write the computed inputs; return every page's answers. `scorecard_table`: the
    scorecard job's Parquet (default: tables/scorecard.parquet beside the answers folder), for the landing
    table's verdicts."""
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
    return answers


PROFILE_NOTICE = {
    "quick": "::: {.callout-warning}\n## Quick profile\nThis site was built with the `quick` profile: every "
             "experiment on a small subset for one epoch or so. It proves the pipeline works; **its numbers "
             "are not meaningful.** Build the `default` profile for results.\n:::\n",
    "default": "::: {.callout-note}\n## Default profile\nThe protocols of the seed documents, scaled only where "
               "a 2-core CPU could not run them in the time budget; each page prints its scaling beside the "
               "results it affects.\n:::\n",
    "full": "::: {.callout-note}\n## Full profile\nThe seed documents' protocols, unscaled.\n:::\n",
}
#: a confidence interval or a seed count in parentheses: the landing table's one-line answers leave them to the page
INTERVAL = re.compile(r"\s*\((?:95 % CI|n = )[^()]*\)")
NBSP = "\u00a0"  # keeps a link like 'Seed 003 →' on one line in a narrow table column
#: 'E7.1', 'H4.1–H4.6', 'D1.5-D1.6' in a headline id: the scorecard questions it covers
QUESTION_RANGE = re.compile(r"([A-Z]+\d+)\.(\d+)(?:\s*[–-]\s*(?:[A-Z]+\d+\.)?(\d+))?")


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


def findings(page: str, page_vars: dict) -> list[dict]:
    """A page's findings for the landing page: the headlines it declared, else each `<group>.answer` sentence."""
    declared = page_vars.get("headlines")
    if declared:
        return [{**h, "page": page} for h in declared]
    return [{"id": question_id(group), "anchor": question_anchor(group), "text": values["answer"], "page": page}
            for group, values in sorted(page_vars.items()) if isinstance(values, dict) and "answer" in values]


def one_line(text: str, limit: int = 170) -> str:
    """A finding's first clause without its intervals: the landing table's answer when the page gave no short
    form (the full sentence, intervals and all, stays on the page, one click away)."""
    short = re.split(r";\s|\.\s+(?=[A-Z])", INTERVAL.sub("", text).strip(), maxsplit=1)[0].rstrip(". ")
    if len(short) > limit:
        return short[:1].upper() + short[1:limit].rsplit(" ", 1)[0] + " …"
    return short[:1].upper() + short[1:] + "."


def questions_of(headline_id: str) -> set[str]:
    """'H4.1–H4.6' -> {'H4.1', …, 'H4.6'}; 'BN paper, Fig. 1' -> set() (no scorecard question)."""
    ids: set[str] = set()
    for match in QUESTION_RANGE.finditer(headline_id):
        first, last = int(match.group(2)), int(match.group(3) or match.group(2))
        ids |= {f"{match.group(1)}.{n}" for n in range(first, last + 1)}
    return ids


def scorecard_verdicts(table: Path | None) -> dict[str, Counter]:
    """Question id -> how many of its scorecard rows got each verdict. The strings are taken as the scorecard
    wrote them (its counted class when it has one): the scorecard owns that vocabulary, the landing page only
    counts it."""
    if table is None or not table.is_file():
        return {}
    import pandas as pd

    card = pd.read_parquet(table)
    column = "verdict_class" if "verdict_class" in card else "verdict"
    if not {"question", column} <= set(card.columns):
        return {}
    return {str(q): Counter(group[column].astype(str)) for q, group in card.groupby("question")}


def verdict_cell(headline_id: str, verdicts: dict[str, Counter]) -> str:
    counts = sum((verdicts.get(q, Counter()) for q in sorted(questions_of(headline_id))), Counter())
    if not counts:
        return "—"
    return "[" + ", ".join(f"{n} {verdict}" for verdict, n in counts.most_common()) + "](scorecard.html#scorecard)"


def section_title(source: Path, anchor: str) -> str:
    """The heading of the section `anchor` on a page's source, without its question id: 'Depth × activation'."""
    text = source.read_text() if source.is_file() else ""
    match = re.search(rf"^#+\s+(.+?)\s*\{{#{re.escape(anchor)}\}}", text, re.M)
    title = match.group(1) if match else ""
    return title.split(" · ", 1)[1] if " · " in title else title


def summary_table(items: list[dict], verdicts: dict[str, Counter], build: Path) -> str:
    """The landing page's first screen: question -> one-line answer -> scorecard verdicts -> its section."""
    from analysis.answers.common import markdown_table
    import pandas as pd

    rows = [{"question": f"**{h['id']}** {section_title(build / (h['page'] + '.qmd'), h['anchor'])}".strip(),
             "answer (this run)": h.get("short") or one_line(h["text"]),
             "seed's numbers (scorecard)": verdict_cell(h["id"], verdicts),
             "details": f"[{page_label(h['page']).replace(' ', NBSP)}{NBSP}→]({h['page']}.html#{h['anchor']})"}
            for h in items]
    return markdown_table(pd.DataFrame(rows)) if rows else "_No exercise has results yet._\n"


def thumbnails(items: list[dict], generated: Path, build: Path) -> str:
    """The figures the pages chose for the landing page (`out.headline(..., figure=)`), each linking to its
    section; figures this profile did not draw are left out."""
    cards = []
    for h in items:
        name = h.get("figure")
        if not name or not (generated / h["page"] / f"{name}.png").is_file():
            continue
        label = html.escape(f"{h['id']} · {section_title(build / (h['page'] + '.qmd'), h['anchor'])}")
        cards.append(f'<a class="nnlab-thumb" href="{h["page"]}.html#{h["anchor"]}">'
                     f'<img src="generated/{h["page"]}/{name}.png" alt="{label}"><span>{label}</span></a>')
    if not cards:
        return "_No figures in this profile yet._\n"
    return '<div class="nnlab-thumbs">\n' + "\n".join(cards) + "\n</div>\n"


def pages_list(answers: dict, build: Path) -> str:
    lines = []
    for page, data in answers.items():
        meta = data["meta"]
        status = data["vars"].get("status", "answered")
        job_min = f", {meta['wall_seconds'] / 60:.1f} min of job time" if meta.get("wall_seconds") else ""
        lines.append(f"- [{page_title(build / f'{page}.qmd')}]({page}.html): {status}, {meta.get('runs', 0)} runs"
                     f"{job_min}")
    return "\n".join(lines) + "\n"


def run_summary(answers: dict, profile: str) -> str:
    """Profile, runs, job time, hardware and data provenance of the whole site."""
    metas = [data["meta"] for data in answers.values()]
    wall, runs = sum(m.get("wall_seconds", 0.0) for m in metas), sum(m.get("runs", 0) for m in metas)
    devices = sorted({d.strip() for m in metas for d in str(m.get("devices", "")).split(",") if d.strip()})
    hardware = sorted({h for m in metas for h in m.get("hardware", [])})
    lines = [f"- **Profile:** `{profile}`",
             f"- **Training runs:** {runs}; job time {wall / 60:.1f} min in all (jobs run in parallel: the wall time "
             "is shorter).",
             f"- **Hardware:** {', '.join(hardware) or 'not recorded'} ({', '.join(devices) or 'no runs'})."]
    for name, info in metas[0].get("datasets", {}).items():
        digests = ", ".join(f"{k} `{v[:12]}…`" for k, v in (info.get("sha256") or {}).items())
        lines.append(f"- **{name}:** from {info['source']}; SHA-256 verified: {digests}")
    return "\n".join(lines) + "\n"


def question_id(group: str) -> str:
    """Variable group → question id: 'a74' → 'A7.4', 'e71' → 'E7.1'."""
    match = re.fullmatch(r"([a-z]+)(\d)(\d+)", group)
    return f"{match.group(1).upper()}{match.group(2)}.{match.group(3)}" if match else group


def question_anchor(group: str) -> str:
    return question_id(group).lower().replace(".", "-")


def page_title(source: Path) -> str:
    return front_matter(source.read_text())[0].get("title", source.stem)


# ------------------------------------------------------------------ pandoc path ---
def front_matter(text: str) -> tuple[dict, str]:
    if text.startswith("---\n"):
        end = text.index("\n---", 4)
        return yaml.safe_load(text[4:end]) or {}, text[end + 4:].lstrip("\n")
    return {}, text


def lookup(variables: dict, key: str, page: str):
    value = variables
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            raise ReportError(f"{page}: {{{{< var {key} >}}}} has no value in _variables.yml "
                              "(the answers step did not compute it)")
        value = value[part]
    return value


def expand_shortcodes(text: str, base: Path, variables: dict, meta: dict, page: str, depth: int = 0) -> str:
    """Expand the Quarto shortcodes the pages use: var, include (recursive), meta."""
    if depth > 10:
        raise ReportError(f"{page}: includes nested more than 10 deep")

    def replace(match: re.Match) -> str:
        kind, arg = match.group(1), match.group(2).strip()
        if kind == "var":
            return str(lookup(variables, arg, page))
        if kind == "meta":
            return str(lookup(meta, arg, page))
        path = base / arg
        if not path.is_file():
            raise ReportError(f"{page}: {{{{< include {arg} >}}}}: no such file {path}")
        return expand_shortcodes(path.read_text(), path.parent, variables, meta, page, depth + 1)

    return SHORTCODE.sub(replace, text)


def callout_titles(text: str) -> str:
    """Quarto callouts take their title from a leading `## heading`; pandoc gets a bold title line."""
    return re.sub(r"(:::+\s*\{\.callout-[a-z]+[^}]*\}\s*\n)##\s+(.+)\n",
                  lambda m: f'{m.group(1)}<div class="callout-title">**{m.group(2).strip()}**</div>\n\n', text)


TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$pagetitle$ – $sitetitle$</title>
<link rel="stylesheet" href="styles.css">
<link rel="icon" href="$favicon$" type="image/svg+xml">
</head>
<body>
<div class="nnlab-layout">
<nav class="nnlab-sidebar" aria-label="Site">
$sidebar$
</nav>
<main class="nnlab-main">
<h1 class="title">$title$</h1>
$if(toc)$<nav class="nnlab-toc" aria-label="On this page"><strong>On this page</strong>
$table-of-contents$
</nav>$endif$
$body$
</main>
</div>
</body>
</html>
"""


def sidebar_html(site_title: str, entries: list[tuple[str, str]], current: str) -> str:
    items = []
    for href, text in entries:
        target = Path(href).with_suffix(".html").as_posix()
        active = ' class="active" aria-current="page"' if href == current else ""
        items.append(f'<li><a href="{target}"{active}>{html.escape(text)}</a></li>')
    return (f'<a class="site-title" href="index.html">{html.escape(site_title)}</a>\n<ul>\n'
            + "\n".join(items) + "\n</ul>")


def render_pandoc(build: Path, site: Path) -> list[Path]:
    """Render every page listed in the sidebar with pandoc 3, into `site/`."""
    import pypandoc

    project = yaml.safe_load((build / "_quarto.yml").read_text())
    website = project["website"]
    entries = [(e["href"], e.get("text") or e["href"]) if isinstance(e, dict) else (e, e)
               for e in website["sidebar"]["contents"]]
    variables = yaml.safe_load((build / "_variables.yml").read_text())
    html_opts = project.get("format", {}).get("html", {})
    if site.exists():
        shutil.rmtree(site)
    site.mkdir(parents=True)
    pandoc = pypandoc.get_pandoc_path()
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        template = Path(tmp) / "template.html"
        template.write_text(TEMPLATE)
        for href, _ in entries:
            source = build / href
            meta, body = front_matter(source.read_text())
            body = callout_titles(expand_shortcodes(body, source.parent, variables, meta, href))
            body = re.sub(r"\]\(([\w./-]+)\.qmd(#[\w-]*)?\)", r"](\1.html\2)", body)  # as Quarto rewrites links
            target = site / Path(href).with_suffix(".html")
            args = [pandoc, "--from=markdown+tex_math_dollars", "--to=html5", "--standalone",
                    f"--template={template}", "--mathml", f"--metadata=title:{meta.get('title', href)}",
                    f"--variable=sitetitle:{website['title']}",
                    f"--variable=sidebar:{sidebar_html(website['title'], entries, href)}",
                    f"--variable=favicon:{website.get('favicon', 'favicon.svg')}",
                    f"--resource-path={build}", "-o", str(target)]
            if html_opts.get("toc"):
                args += ["--toc", "--toc-depth=2"]
            proc = subprocess.run(args, input=body, text=True, capture_output=True)
            if proc.returncode != 0:
                raise ReportError(f"pandoc failed on {href}: {proc.stderr.strip()}")
            if proc.stderr.strip():
                print(f"pandoc ({href}): {proc.stderr.strip()}", file=sys.stderr)
            written.append(target)
    for extra in [html_opts.get("css", "styles.css"), website.get("favicon", "favicon.svg")]:
        shutil.copy2(build / extra, site / extra)
    if (build / "generated").is_dir():
        shutil.copytree(build / "generated", site / "generated",
                        ignore=shutil.ignore_patterns("*.md"), dirs_exist_ok=True)
    return written


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
    args = parser.parse_args(argv)
    prepare_build(args.source, args.answers, args.build, args.profile, args.scorecard_table)
    engine = args.engine
    if engine == "auto":
        engine = "quarto" if shutil.which("quarto") else "pandoc"
    try:
        if engine == "quarto":
            render_quarto(args.build, args.site)
        else:
            render_pandoc(args.build, args.site)
    except ReportError as exc:
        print(f"nnlab report error: {exc}", file=sys.stderr)
        return 1
    print(f"site rendered with {engine}: {args.site / 'index.html'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
