"""Each question is declared once (analysis/study/answers/questions.py): the pages' .qmd sources include exactly the
fragments their modules declare, a page that writes an undeclared fragment or forgets a declared one is named,
and the landing page's headlines come from the declarations."""
from __future__ import annotations

import pytest

from analysis.study.answers import DOCUMENT_PAGES, declared_questions
from analysis.study.answers.common import PageOutput
from analysis.study.answers.questions import (NARROWER_UNITS, Measure, Question, declaring, emit_headlines,
                                              fragment_problems, metric_units, served_rows, source_problems)
from analysis.study.scorecard import load_registry
from analysis.pipeline.config import ROOT

REGISTRY = ROOT / "config" / "scorecard.csv"


@pytest.mark.parametrize("page", DOCUMENT_PAGES)
def test_every_page_source_includes_exactly_what_its_questions_declare(page):
    declared = declared_questions(page)
    assert declared, f"analysis/study/answers/{page}.py declares no QUESTIONS"
    assert source_problems(ROOT / "report" / f"{page}.qmd", declared) == []


def test_a_source_that_disagrees_with_the_declarations_is_named(tmp_path):
    qmd = tmp_path / "page.qmd"
    qmd.write_text("## Q1 {#q-1}\n\n{{< var page.q1.answer >}}\n\n{{< include generated/page/fig_a.md >}}\n"
                   "{{< include generated/page/fig_typo.md >}}\n\n## Other {#other}\n\n"
                   "{{< include generated/page/fig_b.md >}}\n")
    declared = [Question("Q1", "q-1", "q1.answer", ("fig_a", "fig_b")),
                Question("Q2", "q-2", "q2.answer")]
    problems = source_problems(qmd, declared)
    assert any("#q-1: includes ['fig_a', 'fig_typo']" in p for p in problems)
    assert any("no section {#q-2} for Q2" in p for p in problems)
    assert any("includes `fig_b` outside the sections" in p for p in problems)


def test_a_page_that_writes_other_fragments_than_it_declares_is_named(tmp_path):
    out = PageOutput(page="p", out_dir=tmp_path)
    out.fragment("table_a", "| a |\n")
    out.fragment("stray", "x")
    out.set("q1.answer", "computed")
    declared = [Question("Q1", "q-1", "q1.answer", ("table_a", "figure_b"), figure="figure_c"),
                Question("Q2", "q-2", "q2.answer", short="q2.short")]
    problems = fragment_problems(out, declared)
    assert "fragment `stray` is written but no question declares it" in problems
    assert "fragment `figure_b` is declared but never written" in problems
    assert "Q1: thumbnail `figure_c` is not one of its fragments" in problems
    assert "Q2: answer variable `q2.answer` was not set" in problems
    assert "Q2: short answer `q2.short` is declared but was not set" in problems
    out.set("q2.short", "short")
    assert not any("short" in p for p in fragment_problems(out, declared))


def test_headlines_come_from_the_declarations_in_order(tmp_path):
    out = PageOutput(page="p", out_dir=tmp_path)
    out.set("b.answer", "B's answer")
    out.set("a.answer", "A's answer")
    out.set("a.short", "A short")
    emit_headlines(out, [Question("A.1", "a-1", "a.answer", ("fig",), short="a.short", figure="fig"),
                         Question("hidden", "h", "b.answer", headline=False),
                         Question("B.1", "b-1", "b.answer", short="b.short")])
    assert out.vars["headlines"] == [
        {"id": "A.1", "anchor": "a-1", "text": "A's answer", "short": "A short", "figure": "fig"},
        {"id": "B.1", "anchor": "b-1", "text": "B's answer"}]


# ------------------------------------------------------------- scorecard keys (issue 27) ---
def declarations() -> list[tuple[str, Question, Measure]]:
    """Every page's scorecard declarations, as (page, question, declaration)."""
    return [(page, q, m) for page in DOCUMENT_PAGES for q in declared_questions(page) for m in q.measures]


def registry_keys(registry) -> list[tuple[str, str, str]]:
    """(row id, key, units) for each key a registry row names in `measure` or `cause_measure`."""
    return [(row["id"], key.strip(), row["units"]) for _, row in registry.iterrows()
            for key in [row["measure"], *row["cause_measure"].split("|")] if key.strip()]


def test_every_key_the_registry_names_is_declared_by_a_page_with_its_units():
    """A row whose key no page declares would stay 'not measured' forever; a declaration with other units than the
    row's would compare a loss with an accuracy's bounds."""
    registry = load_registry(REGISTRY)
    every = [q for page in DOCUMENT_PAGES for q in declared_questions(page)]
    undeclared, wrong_units = [], []
    for row_id, key, units in registry_keys(registry):
        found = declaring(every, key)
        if found is None:
            undeclared.append(f"{row_id}: {key}")
        elif (declared := found[1].units_of(key)) != units and units not in NARROWER_UNITS.get(declared, ()):
            wrong_units.append(f"{row_id}: {key} is {declared}, the row says {units}")
    assert undeclared == [] and wrong_units == []


def test_every_declaration_serves_a_registry_row_and_is_declared_once():
    registry = load_registry(REGISTRY)
    found = declarations()
    assert len(found) >= 20
    dead = [f"{page} {q.id}: {m.key}" for page, q, m in found if not served_rows(m, registry)]
    assert dead == [], "declared scorecard keys no row of config/scorecard.csv reads"
    keys = [m.key for _, _, m in found]
    assert len(keys) == len(set(keys))


def test_a_key_is_built_from_its_declaration_and_a_value_it_cannot_hold_is_refused():
    measure = Measure("m.d{depth}.{act}.{metric}", metric_units("test_acc", "test_loss"))
    assert measure.format(depth=5, act="relu", metric="test_acc") == "m.d5.relu.test_acc"
    assert measure.units_of("m.d5.relu.test_loss") == "nats" and measure.units_of("m.d5.relu.test_acc") == "fraction"
    with pytest.raises(ValueError, match="does not fit its declaration"):
        measure.format(depth=5, act="relu", metric="val_acc")  # a metric the declaration does not name
    with pytest.raises(ValueError, match="does not fit"):
        measure.format(depth="5.5", act="relu", metric="test_acc")  # a dot would split the key's levels
    assert Measure("m.l2_{strength:num}.x", "nats").format(strength=0.001) == "m.l2_0.001.x"
    assert not measure.matches("m.d5.relu.epoch1.test_acc")


def test_a_page_that_publishes_an_undeclared_key_is_named(tmp_path):
    out = PageOutput(page="p", out_dir=tmp_path)
    out.set("q1.answer", "computed")
    declared = [Question("Q1", "q-1", "q1.answer", measures=(Measure("p.{act}.test_acc", "fraction"),))]
    out.measure("p.relu.test_acc", 0.9)
    assert fragment_problems(out, declared) == []
    out.measure("p.relu.test_accuracy", 0.9)  # a typo: the scorecard would never find it
    assert fragment_problems(out, declared) == [
        "scorecard key `p.relu.test_accuracy` is published but no question declares it (Question.measures)"]
