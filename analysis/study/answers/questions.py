"""Each question a page answers, declared once (issue 19): its id, its section anchor, the page variable that
holds its computed answer, and the generated fragments its section includes. The landing page's headlines,
the "not in this profile" fillers and the check that a page's `.qmd` includes exactly the fragments its
module writes all read these declarations, so a figure's name is declared in one place and checked in the
others."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from analysis.study.answers.common import PageOutput

if TYPE_CHECKING:
    import pandas as pd

#: fragments every page writes besides its questions' (analysis.study.answers.__main__)
PAGE_FRAGMENTS = ("meta",)


#: a template's placeholder: `{name}` one dotless name or number, `{name:num}` a decimal number (may hold a dot)
_PLACEHOLDER = re.compile(r"\{([a-z_]+)(?::(num))?\}")
_PLACEHOLDER_PATTERNS = {None: r"[A-Za-z0-9_+-]+", "num": r"[0-9]+(?:\.[0-9]+)?"}
#: a metric's units as config/scorecard.csv names them, by the metric name's last word
METRIC_UNITS = {"acc": "fraction", "loss": "nats", "penalty": "objective"}
#: units a registry row may narrow a declaration's to: a loss plus a penalty is an unbounded objective, but with
#: an L2 (or |w|) penalty it cannot be negative, a loss's bounds
NARROWER_UNITS = {"objective": {"nats"}}


def metric_units(*metrics: str) -> dict[str, str]:
    """Each metric's units, read from its name: "test_acc" → fraction, "loss" → nats, "…_with_penalty" →
    objective."""
    return {m: METRIC_UNITS[m.rsplit("_", 1)[-1]] for m in metrics}


@dataclass(frozen=True)
class Measure:
    """A key a page publishes to the scorecard, declared beside the question it answers; the page builds each key
    with `format`, so the key is typed once. `key` is a template whose placeholders stand for values the data
    decides (a depth, an activation), so a new activation in the config needs no new declaration. `units` as
    config/scorecard.csv's `units` column names them: one word, or per `{metric}` (the metrics the template
    takes). The rows a declaration serves are the registry's rows whose `measure` or `cause_measure` it matches
    (`served_rows`)."""

    key: str
    units: str | Mapping[str, str]

    @property
    def pattern(self) -> re.Pattern:
        parts, last = [], 0
        for match in _PLACEHOLDER.finditer(self.key):
            name, kind = match.groups()
            value = ("|".join(map(re.escape, self.units)) if name == "metric" and not isinstance(self.units, str)
                     else _PLACEHOLDER_PATTERNS[kind])
            parts += [re.escape(self.key[last:match.start()]), f"(?P<{name}>{value})"]
            last = match.end()
        return re.compile("".join(parts + [re.escape(self.key[last:])]))

    def matches(self, key: str) -> bool:
        return self.pattern.fullmatch(key) is not None

    def units_of(self, key: str) -> str:
        """The units of one published key."""
        if isinstance(self.units, str):
            return self.units
        return self.units[self.pattern.fullmatch(key).group("metric")]

    def format(self, **values: Any) -> str:
        """The key for these placeholder values; a value the template cannot hold (a dot in a name, a metric it
        does not declare) is an error here, not a key the scorecard never finds."""
        key = _PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), self.key)
        if not self.matches(key):
            raise ValueError(f"scorecard key {key!r} does not fit its declaration {self.key!r}")
        return key


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
    measures: tuple[Measure, ...] = ()  #: the keys its section publishes to the scorecard


def declaring(questions: Iterable[Question], key: str) -> tuple[Question, Measure] | None:
    """The question and declaration a published key belongs to: the first that matches, in declaration order (a
    literal declared before a template takes precedence), or None."""
    return next(((q, m) for q in questions for m in q.measures if m.matches(key)), None)


def served_rows(measure: Measure, registry: "pd.DataFrame") -> list[str]:
    """The registry rows a declaration serves: those whose `measure`, or one of whose `cause_measure` keys, it
    matches."""
    return [row["id"] for _, row in registry.iterrows()
            if any(measure.matches(k.strip()) for k in [row["measure"], *row["cause_measure"].split("|")] if k.strip())]


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
    written, thumbnails that are not declared fragments, answers (or short answers) the page did not compute, and
    scorecard keys no question declares."""
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
    problems += [f"scorecard key `{key}` is published but no question declares it (Question.measures)"
                 for key in sorted(out.vars.get("measured", {})) if declaring(questions, key) is None]
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
