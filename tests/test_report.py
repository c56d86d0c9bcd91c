"""The pandoc path's Quarto features: var, include, callout titles; a missing value is an error. The landing
page: a table of questions, one-line answers, scorecard verdicts and links, and thumbnails."""
import json
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
import yaml

from analysis.site.landing import one_line, questions_of, scorecard_verdicts, verdict_cell
from analysis.site.pandoc_site import ReportError, callout_titles, expand_shortcodes, front_matter, render_pandoc
from analysis.pipeline.plan import Plan
from analysis.site.report import SITE_PAGES, SOURCE_DIR, prepare_build


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


# ------------------------------------------------------------------ the landing page ---
LONG = ("On Fashion-MNIST the sigmoid CNN ends below the ReLU-CNN after 4 epochs (85.10 % (95 % CI 84.0–86.2, "
        "n = 3) vs 90.20 % (95 % CI 89.9–90.5, n = 3), gap -5.10 pp (95 % CI -6.0 to -4.2)); 85 % validation "
        "accuracy: the sigmoid CNN never within 4 epochs.")


def test_one_line_keeps_the_first_clause_without_intervals():
    assert one_line(LONG) == "On Fashion-MNIST the sigmoid CNN ends below the ReLU-CNN after 4 epochs (85.10 % vs " \
                             "90.20 %, gap -5.10 pp)."
    assert one_line("Outputs are 0, 1, 1, 0: exactly XOR, split by W²·h = ½. The document's lines slip.") == \
        "Outputs are 0, 1, 1, 0: exactly XOR, split by W²·h = ½."
    assert one_line("word " * 60).endswith(" …") and len(one_line("word " * 60)) <= 172


def test_headline_ids_cover_their_scorecard_questions():
    assert questions_of("H4.1–H4.6") == {f"H4.{i}" for i in range(1, 7)}
    assert questions_of("E7.1") == {"E7.1"} and questions_of("D1.5-D1.6") == {"D1.5", "D1.6"}
    assert questions_of("BN paper, Fig. 1") == set()


def test_verdicts_are_counted_as_the_scorecard_wrote_them(tmp_path):
    table = tmp_path / "scorecard.parquet"
    pd.DataFrame({"question": ["M2.1", "M2.1", "M2.1", "H4.6"],
                  "verdict": ["reproduced", "a verdict word nobody declared (x)", "reproduced", "differs"]}
                 ).to_parquet(table)
    verdicts = scorecard_verdicts(table)
    assert verdicts["M2.1"] == Counter({"reproduced": 2, "a verdict word nobody declared (x)": 1})
    assert verdict_cell("M2.1", verdicts) == ("[2 reproduced, 1 a verdict word nobody declared (x)]"
                                              "(scorecard.html#scorecard)")
    assert verdict_cell("H4.1–H4.6", verdicts).startswith("[1 differs]")
    assert verdict_cell("BN paper, Fig. 1", verdicts) == "—" and scorecard_verdicts(tmp_path / "none") == {}


def synthetic_answers(answers: Path) -> None:
    """Answer JSON for every site page: headlines (one with a short form and a figure), the scorecard's summary;
    beside them the plan the explorer reads (one toy experiment)."""
    answers.mkdir(parents=True)
    config = {"defaults": {}, "experiments": {"toy": {"exercise": "x", "base": {}, "grid": {"lr": [0.1, 0.2]}}}}
    Plan.from_config(config, "quick").write(answers.parent / "tables", config)
    for page in SITE_PAGES:
        (answers / page).mkdir()
        meta = {"profile": "quick", "runs": 2, "wall_seconds": 60.0, "datasets": {}}
        page_vars: dict = {"summary": f"{page} summary."}
        if page == "m2":
            page_vars["headlines"] = [{"id": "M2.1", "anchor": "m2-1", "text": LONG, "figure": "m21_heatmap",
                                       "short": "Best activation by depth: 5 layers relu (90.1 %)."}]
            (answers / page / "m21_heatmap.png").write_bytes(b"png")
        elif page == "e7":
            page_vars["headlines"] = [{"id": "E7.3", "anchor": "e7-3", "text": LONG, "figure": "e7_hist_mnist"}]
        elif page == "a7":
            page_vars["headlines"] = [{"id": "A7.4", "anchor": "a7-4",
                                       "text": "After one epoch the sigmoid net is at chance; the ReLU net is not."}]
        elif page == "scorecard":
            page_vars["headlines"] = [{"id": "Scorecard", "anchor": "scorecard", "text": "3 rows."}]
        (answers / page / "meta.md").write_text("- meta\n")
        (answers / page / "index.md").write_text("| a |\n|---|\n| b |\n")
        (answers / page / "sections.md").write_text("## `toy` · Toy {#exp-toy}\n\nBody.\n")
        (answers / f"{page}.json").write_text(json.dumps({"page": page, "vars": page_vars, "meta": meta}))


def test_landing_page_is_a_table_of_questions_with_thumbnails(tmp_path):
    synthetic_answers(tmp_path / "answers")
    table = tmp_path / "scorecard.parquet"
    pd.DataFrame({"question": ["M2.1", "M2.1"], "verdict": ["reproduced", "differs"]}).to_parquet(table)
    prepare_build(SOURCE_DIR, tmp_path / "answers", tmp_path / "build", "quick", table)
    index = tmp_path / "build/generated/index"
    summary = (index / "summary.md").read_text()
    assert "| **M2.1** Depth × activation | Best activation by depth: 5 layers relu (90.1 %). |" in summary
    assert ("[1 reproduced, 1 differs](scorecard.html#scorecard) | "
            "[M2\u00a0·\u00a0document\u00a0003\u00a0→](m2.html#m2-1) |") \
        in summary
    assert "| **A7.4** Sigmoid vs ReLU: gradients per layer and accuracy after one epoch | After one epoch the " \
           "sigmoid net is at chance. | — |" in summary  # no short form, no scorecard row: shortened, a dash
    assert "Scorecard" not in summary and "95 % CI" not in summary
    thumbs = (index / "thumbnails.md").read_text()
    assert '<a class="nnlab-thumb" href="m2.html#m2-1"><img src="generated/m2/m21_heatmap.png"' in thumbs
    assert "e7_hist_mnist" not in thumbs  # a figure this profile did not draw is left out
    assert "95 % CI 84.0–86.2" in (index / "headlines.md").read_text()  # the full sentences stay one click away


def test_landing_and_experiments_pages_render_with_pandoc(tmp_path):
    synthetic_answers(tmp_path / "answers")
    build = tmp_path / "build"
    prepare_build(SOURCE_DIR, tmp_path / "answers", build, "quick")
    project = yaml.safe_load((build / "_quarto.yml").read_text())
    sidebar = project["website"]["sidebar"]["contents"]
    assert {"href": "experiments.qmd", "text": "Experiments: every configured run"} in sidebar
    project["website"]["sidebar"]["contents"] = [e for e in sidebar if e["href"] in ("index.qmd", "experiments.qmd")]
    (build / "_quarto.yml").write_text(yaml.safe_dump(project))
    render_pandoc(build, tmp_path / "site")
    index = (tmp_path / "site/index.html").read_text()
    assert "<table" in index and 'class="nnlab-thumbs"' in index and "<details>" in index
    assert 'href="experiments.html"' in index and "experiments summary." in index
    experiments = (tmp_path / "site/experiments.html").read_text()
    assert 'id="exp-toy"' in experiments and "experiments summary." in experiments


# ------------------------------------------------------------------ the results summary to commit ---
def test_results_summary_keeps_answers_causes_and_figures_of_a_build(tmp_path):
    from analysis.site.results_summary import SummaryError, write_summary

    results, docs = tmp_path / "results", tmp_path / "docs" / "results"
    synthetic_answers(results / "full" / "answers")
    (results / "full" / "tables").mkdir(exist_ok=True)
    pd.DataFrame({"id": ["M2.1-20-relu-acc", "M2.1-5-relu-acc"], "question": ["M2.1", "M2.1"],
                  "quantity": ["test accuracy", "test accuracy"], "document_value": [0.511, 0.908],
                  "ours": [0.93512, 0.97], "ours_text": ["", ""],  # numbers as numbers, as the scorecard writes
                  "verdict": ["differs", "reproduced"], "units": ["fraction", "fraction"],
                  "document_error": ["", ""], "interval_low": [0.92, 0.96], "interval_high": [0.95, 0.98],
                  "experiments": [["m2_depth"], ["m2_depth"]], "ours_n": [3, 3],
                  "verdict_class": ["differs", "reproduced"],
                  "cause": ["unexplained: none of the 3 declared variants reproduces it", ""]}
                 ).to_parquet(results / "full" / "tables" / "scorecard.parquet")
    text = write_summary("full", results, docs).read_text()
    assert "scorecard summary." in text
    assert "| **M2.1** Depth × activation | Best activation by depth: 5 layers relu (90.1 %). |" in text
    assert "(../../results/full/site/m2.html#m2-1)" in text
    assert ("| M2.1-20-relu-acc | test accuracy | 51.10 % | 93.51 % [92.00 %, 95.00 %] | unexplained: none of the 3 "
            "declared") in text  # the cells as the scorecard page prints them
    assert "M2.1-5-relu-acc" not in text.split("## Numbers that differ")[1].split("## Figures")[0]
    assert (docs / "full" / "m2_m21_heatmap.png").read_bytes() == b"png"
    assert "![M2.1 · Depth × activation](full/m2_m21_heatmap.png)" in text
    assert "e7_hist_mnist" not in text  # a figure this build did not draw is left out, not linked
    (results / "full" / "answers" / "h4.json").unlink()
    with pytest.raises(SummaryError, match="no answers for page\\(s\\) h4"):
        write_summary("full", results, docs)
