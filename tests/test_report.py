"""The pandoc path's Quarto features: var, include, callout titles; a missing value is an error."""
import pytest

from analysis.report import ReportError, callout_titles, expand_shortcodes, front_matter


def test_var_and_nested_include(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "inner.md").write_text("inner says {{< var page.value >}}")
    (tmp_path / "outer.md").write_text("outer {{< include sub/inner.md >}}")
    text = "A {{< var page.value >}} / {{< include outer.md >}}"
    assert expand_shortcodes(text, tmp_path, {"page": {"value": 42}}, {}, "p") == "A 42 / outer inner says 42"


def test_missing_variable_names_the_key(tmp_path):
    with pytest.raises(ReportError, match="page.missing"):
        expand_shortcodes("{{< var page.missing >}}", tmp_path, {"page": {}}, {}, "p.qmd")


def test_missing_include_is_an_error(tmp_path):
    with pytest.raises(ReportError, match="no such file"):
        expand_shortcodes("{{< include nope.md >}}", tmp_path, {}, {}, "p.qmd")


def test_callout_heading_becomes_title():
    out = callout_titles("::: {.callout-note}\n## Protocol\nbody\n:::\n")
    assert "callout-title" in out and "**Protocol**" in out and "## Protocol" not in out


def test_front_matter_split():
    meta, body = front_matter('---\ntitle: "T"\n---\n\nHello')
    assert meta == {"title": "T"} and body == "Hello"


def test_question_ids_and_anchors():
    from analysis.report import question_anchor, question_id

    assert question_id("a74") == "A7.4" and question_id("e71") == "E7.1" and question_id("m21") == "M2.1"
    assert question_anchor("a74") == "a7-4"
    assert question_id("status") == "status"
