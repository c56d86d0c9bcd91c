"""Each question a page answers, declared once (issue 19): its id, its section anchor, the page variable that
holds its computed answer, and the generated fragments its section includes. The landing page's headlines,
the "not in this profile" fillers and the check that a page's `.qmd` includes exactly the fragments its
module writes all read these declarations, so a figure's name is declared in one place and checked in the
others."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from analysis.study.answers.common import PageOutput

#: fragments every page writes besides its questions' (analysis.study.answers.__main__)
PAGE_FRAGMENTS = ("meta",)


@dataclass(frozen=True)
class Question:
    """One question (or a section that answers one) of a document page."""

    id: str  #: as the landing page and the scorecard name it: "M2.1", "BN paper, Fig. 1"
    anchor: str  #: the section id on the page: "m2-1"
    answer: str  #: the page variable holding the computed answer sentence: "m21.answer"
    fragments: tuple[str, ...] = ()  #: the generated fragments (tables, figures) its section includes
    short: str | None = None  #: the variable of a one-line answer for the landing table, when the page sets one
    figure: str | None = None  #: the fragment shown as a thumbnail on the landing page
    headline: bool = True  #: listed on the landing page


def lookup(variables: dict, dotted: str) -> Any:
    """A page variable by its dotted name, or None when the page did not set it."""
    value: Any = variables
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def emit_headlines(out: PageOutput, questions: Iterable[Question]) -> None:
    """The landing page's findings, in declaration order, from the answers the page computed."""
    for q in questions:
        if q.headline:
            out.headline(q.id, q.anchor, lookup(out.vars, q.answer), short=lookup(out.vars, q.short) if q.short
                         else None, figure=q.figure)


def fragment_problems(out: PageOutput, questions: Iterable[Question]) -> list[str]:
    """What a page wrote against what its questions declare: undeclared fragments, declared ones never
    written, thumbnails that are not declared fragments, and answers (or short answers) the page did not compute."""
    questions = list(questions)
    declared = {name for q in questions for name in q.fragments} | set(PAGE_FRAGMENTS)
    written = set(out.fragments)
    problems = [f"fragment `{name}` is written but no question declares it" for name in sorted(written - declared)]
    problems += [f"fragment `{name}` is declared but never written" for name in
                 sorted(declared - written - set(PAGE_FRAGMENTS))]
    problems += [f"{q.id}: thumbnail `{q.figure}` is not one of its fragments" for q in questions
                 if q.figure and q.figure not in q.fragments]
    problems += [f"{q.id}: answer variable `{q.answer}` was not set" for q in questions
                 if lookup(out.vars, q.answer) is None]
    problems += [f"{q.id}: short answer `{q.short}` is declared but was not set" for q in questions
                 if q.short and lookup(out.vars, q.short) is None]
    return problems


_SECTION = re.compile(r"^#{2,3} .*\{#([a-z0-9-]+)\}\s*$")
_INCLUDE = re.compile(r"\{\{< include generated/([a-z0-9_]+)/([a-z0-9_]+)\.md >\}\}")
_VAR = re.compile(r"\{\{< var ([a-z0-9_]+)\.([a-z0-9_.]+) >\}\}")


def page_sections(qmd: Path) -> dict[str, dict[str, list[str]]]:
    """Per section anchor of a page's source: the generated fragments it includes and the variables it shows
    (the text before the first anchored section counts as anchor '')."""
    sections: dict[str, dict[str, list[str]]] = {"": {"includes": [], "vars": []}}
    current = ""
    for line in qmd.read_text().splitlines():
        if match := _SECTION.match(line):
            current = match.group(1)
            sections.setdefault(current, {"includes": [], "vars": []})
        sections[current]["includes"] += [name for _, name in _INCLUDE.findall(line)]
        sections[current]["vars"] += [name for _, name in _VAR.findall(line)]
    return sections


def source_problems(qmd: Path, questions: Iterable[Question]) -> list[str]:
    """Where a page's `.qmd` and its declarations disagree: each anchored section includes exactly the
    fragments its questions declare and shows their answers."""
    sections = page_sections(qmd)
    by_anchor: dict[str, list[Question]] = {}
    for q in questions:
        by_anchor.setdefault(q.anchor, []).append(q)
    problems = []
    for anchor, qs in by_anchor.items():
        if anchor not in sections:
            problems.append(f"{qmd.name}: no section {{#{anchor}}} for {', '.join(q.id for q in qs)}")
            continue
        declared = {name for q in qs for name in q.fragments}
        included = set(sections[anchor]["includes"])
        if declared != included:
            problems.append(f"{qmd.name} #{anchor}: includes {sorted(included)}, its questions declare "
                            f"{sorted(declared)}")
        problems += [f"{qmd.name} #{anchor}: does not show {q.id}'s answer `{q.answer}`" for q in qs
                     if q.answer not in sections[anchor]["vars"]]
    stray = {name for anchor, s in sections.items() if anchor not in by_anchor for name in s["includes"]}
    problems += [f"{qmd.name}: includes `{name}` outside the sections of the questions that declare it"
                 for name in sorted(stray - set(PAGE_FRAGMENTS))]
    return problems
