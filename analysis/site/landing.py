"""The landing page's content: findings, the table of questions with their answers and scorecard verdicts,
thumbnails, the list of pages and the run summary, as Markdown fragments for `index.qmd` to include.

`analysis.site.report` writes them into the build folder; this module only turns every page's answers (and the
scorecard's verdicts) into text.
"""
from __future__ import annotations

import html
import re
from collections import Counter
from pathlib import Path

from analysis.study.answers import page_label
from analysis.site.pandoc_site import front_matter

#: a confidence interval or a seed count in parentheses: the landing table's one-line answers leave them to the page
INTERVAL = re.compile(r"\s*\((?:95 % CI|n = )[^()]*\)")
NBSP = "\u00a0"  # keeps a link like 'M2 · document 003 →' on one line in a narrow table column
#: 'E7.1', 'H4.1–H4.6', 'D1.5-D1.6' in a headline id: the scorecard questions it covers
QUESTION_RANGE = re.compile(r"([A-Z]+\d+)\.(\d+)(?:\s*[–-]\s*(?:[A-Z]+\d+\.)?(\d+))?")


def findings(page: str, page_vars: dict) -> list[dict]:
    """A page's findings for the landing page: the headlines its declared questions produced
    (analysis.study.answers.questions; a page that declares none, like the experiments page, has none)."""
    return [{**h, "page": page} for h in page_vars.get("headlines", ())]


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


def verdict_cell(headline_id: str, verdicts: dict[str, Counter], site: str = "") -> str:
    """'[3 reproduced, 1 differs](scorecard.html#scorecard)': a question's verdicts, linking to the scorecard
    (`site`: the path from where the text is read to the site's folder)."""
    counts = sum((verdicts.get(q, Counter()) for q in sorted(questions_of(headline_id))), Counter())
    if not counts:
        return "—"
    listed = ", ".join(f"{n} {verdict}" for verdict, n in counts.most_common())
    return f"[{listed}]({site}scorecard.html#scorecard)"


def section_title(source: Path, anchor: str) -> str:
    """The heading of the section `anchor` on a page's source, without its question id: 'Depth × activation'."""
    text = source.read_text() if source.is_file() else ""
    match = re.search(rf"^#+\s+(.+?)\s*\{{#{re.escape(anchor)}\}}", text, re.M)
    title = match.group(1) if match else ""
    return title.split(" · ", 1)[1] if " · " in title else title


def summary_table(items: list[dict], verdicts: dict[str, Counter], build: Path, site: str = "") -> str:
    """The landing page's first screen: question -> one-line answer -> scorecard verdicts -> its section.
    `build` holds the pages' sources (for section titles), `site` is the path to the site's pages from where the
    table is read (empty on the site itself)."""
    from analysis.study.answers.common import markdown_table
    import pandas as pd

    rows = [{"question": f"**{h['id']}** {section_title(build / (h['page'] + '.qmd'), h['anchor'])}".strip(),
             "answer (this run)": h.get("short") or one_line(h["text"]),
             "document's numbers (scorecard)": verdict_cell(h["id"], verdicts, site),
             "details": f"[{page_label(h['page']).replace(' ', NBSP)}{NBSP}→]({site}{h['page']}.html#{h['anchor']})"}
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


def page_title(source: Path) -> str:
    return front_matter(source.read_text())[0].get("title", source.stem)
