"""Each question is declared once (analysis/study/answers/questions.py): the pages' .qmd sources include exactly the
fragments their modules declare, a page that writes an undeclared fragment or forgets a declared one is named,
and the landing page's headlines come from the declarations."""
from __future__ import annotations

import pytest

from analysis.study.answers import DOCUMENT_PAGES, declared_questions
from analysis.study.answers.common import PageOutput
from analysis.study.answers.questions import Question, emit_headlines, fragment_problems, source_problems
from analysis.pipeline.config import ROOT


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
