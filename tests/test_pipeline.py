"""End to end: the quick profile through real Snakemake on the real data, to a site.

The workflow is copied to a temporary folder (so the test never touches results/), with
small extra experiments that no page claims: one whose learning rate the test then edits
(exactly one training job, plus what depends on it, must be scheduled), one that diverges,
and a LeNet-like `kind: layers` grid with its probes on, which the experiments page must show
from its YAML block alone.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from analysis.site.sitecheck import check_narrow, check_site
from analysis.study.answers import DOCUMENT_PAGES, declared_questions
from analysis.study.answers.questions import declaring
from workflow_helpers import ROOT, copy_workflow, job_counts, trained_runs

SNAKEMAKE = [sys.executable, "-m", "snakemake"]
LR_CHECK = {"exercise": "test", "base": {"dataset": "fashion_mnist", "model": {"kind": "mlp", "hidden": [16]},
                                         "train_subset": 500, "test_subset": 200},
            "grid": {"lr": [0.01, 0.05]}, "seeds": [1]}
#: a run that must diverge (NaN loss): recorded as such while the rest of the DAG completes
DIVERGE = {"exercise": "test", "base": {**LR_CHECK["base"], "lr": 1.0e6, "momentum": 0.9, "log_every": 1},
           "seeds": [1]}
#: added in YAML and nothing else: a tiny LeNet-like grid, 2 activations x 2 seeds, gradient and activation probes on
#: config text a page shows: HTML that would run, and Markdown that would restyle a page or split a table
HOSTILE_TITLE = ("A LeNet-like CNN <img src=x onerror=\"document.title='INJECTED'\"> added in *YAML* _alone_ "
                 "| with a pipe, `ticks` and [a](link)")
LENET = {"exercise": "config <b>only</b>", "title": HOSTILE_TITLE,
         "base": {"dataset": "mnist", "train_subset": 500, "test_subset": 200, "epochs": 1,
                  "model": {"kind": "layers", "layers": [
                      {"conv": 6, "kernel": 5, "padding": "same"}, "act", {"pool": 2}, {"conv": 16, "kernel": 5}, "act",
                      {"pool": 2}, "flatten", {"dense": 32}, "act", {"dense": 10}]},
                  "probes": {"grad_every": 2, "activation_epochs": [0, 1]}},
         "grid": {"activation": ["relu", "tanh"]}, "seeds": [1, 2]}


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*SNAKEMAKE, "--cores", "2", "--config", "profile=quick", *args],
                          cwd=workdir, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def workflow(tmp_path_factory) -> Path:
    # no data_dir: the data rule itself runs here, the real fallback chain into this copy's own folder
    work = copy_workflow(tmp_path_factory.mktemp("workflow"), extra_experiments={"lr_check": LR_CHECK,
                                                                               "diverge": DIVERGE, "lenet": LENET})
    proc = snakemake(work)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return work


def test_site_holds_the_computed_answers(workflow):
    site = workflow / "results/quick/site"
    pages = {p.name for p in site.glob("*.html")}
    assert pages == {"index.html", "e7.html", "h4.html", "a7.html", "m2.html", "d1.html",
                     "scorecard.html", "experiments.html", "explorer.html"}
    answers = json.loads((workflow / "results/quick/answers/a7.json").read_text())["vars"]
    html = " ".join((site / "a7.html").read_text().split())  # pandoc wraps long lines…
    html = html.replace("\u2019", "'").replace("\u201c", '"').replace("\u201d", '"')  # …and curls quotes
    for value in (answers["a74"]["sigmoid"]["test_acc"], answers["a74"]["relu"]["test_acc"],
                  answers["a74"]["answer"], answers["a71"]["answer"], answers["a75"]["answer"]):
        assert " ".join(str(value).replace("&", "&amp;").split()) in html, value
    assert "{{<" not in html  # every shortcode was expanded
    assert "quick" in html and "not meaningful" in html  # the quick profile says so


def test_every_declared_scorecard_key_is_published_and_every_published_key_declared(workflow):
    """The declarations beside each question (issue 27) against what the quick build's pages published: the answers
    step refuses a page that publishes an undeclared key, and each declaration is published at least once (a
    declaration nothing publishes is a row that stays 'not measured')."""
    unpublished = []
    for page in DOCUMENT_PAGES:
        measured = json.loads((workflow / f"results/quick/answers/{page}.json").read_text())["vars"]["measured"]
        questions = declared_questions(page)
        assert all(declaring(questions, key) for key in measured), page
        unpublished += [f"{page} {q.id}: {m.key}" for q in questions for m in q.measures
                        if not any(m.matches(key) for key in measured)]
    assert unpublished == []


def test_experiments_page_shows_what_no_page_claims(workflow):
    """The three test experiments exist only in YAML: each gets its section; the LeNet grid its figures."""
    site = workflow / "results/quick/site"
    html = (site / "experiments.html").read_text()
    for name in ("lr_check", "diverge", "lenet"):
        assert f'id="exp-{name.replace("_", "-")}"' in html and f'href="#exp-{name.replace("_", "-")}"' in html, name
    for figure in ("lenet_curves", "lenet_batch_loss", "lenet_gradients", "lenet_activations", "lr_check_curves"):
        assert f'src="generated/experiments/{figure}.png"' in html, figure
        assert (site / f"generated/experiments/{figure}.png").is_file(), figure
    assert "lr_check_gradients" not in html and "probes.grad_every" in html  # its probes are off: said, not drawn
    runs = pd.read_parquet(workflow / "results/quick/tables/runs.parquet")
    lenet = runs[runs["experiments"].apply(lambda e: "lenet" in e)]
    assert len(lenet) == 4 and all(f"results/runs/{rid}/" in html for rid in lenet["run_id"])
    assert "activation = relu" in html and "activation = tanh" in html and "95 % CI" in html
    assert 'href="a7.html"' in html  # the index names the page that shows each claimed experiment
    assert 'href="experiments.html"' in (site / "index.html").read_text()  # in the sidebar


def test_landing_page_opens_on_a_table_of_answers(workflow):
    site = workflow / "results/quick/site"
    html = (site / "index.html").read_text()
    table = html.index("<table")
    assert table < html.index('class="nnlab-thumbs"') < html.index("<details>")
    for anchor in ("e7.html#e7-1", "a7.html#a7-4", "m2.html#m2-1", "d1.html#d1-7"):
        assert f'href="{anchor}"' in html[table:html.index("</table>")], anchor
    assert "scorecard.html#scorecard" in html
    assert 'href="m2.html#m2-1"><img src="generated/m2/m21_heatmap.png"' in " ".join(html.split())


def test_every_image_and_link_resolves(workflow):
    site = workflow / "results/quick/site"
    images = 0
    for page in site.glob("*.html"):
        html = page.read_text()
        for src in re.findall(r'<img[^>]+src="([^"]+)"', html):
            assert (site / src).is_file(), f"{page.name}: missing image {src}"
            images += 1
        for href in re.findall(r'href="([^"#:]+)(?:#[^"]*)?"', html):
            assert (site / href).exists(), f"{page.name}: broken link {href}"
    assert images >= 4
    assert (site / "generated/a7/a74_gradients.svg").is_file()


def test_every_page_passes_in_a_real_browser(workflow):
    """Headless Chromium over HTTP: no console errors, every image loads, every link resolves, every page
    reachable from the landing page. Screenshots are kept under results/browser/ as CI artefacts."""
    shots = ROOT / "results/browser/quick"
    report = check_site(workflow / "results/quick/site", shots)
    assert report.ok, report.problems
    site = workflow / "results/quick/site"
    assert sorted(report.pages) == sorted(p.relative_to(site).as_posix()
                                          for p in [*site.glob("*.html"), *site.glob("runs/*.html")])
    assert "runs/index.html" in report.pages  # every run page is reached by a link, not only through the script
    assert all(Path(s).stat().st_size > 10_000 for s in report.screenshots)


def test_at_a_phone_width_no_page_scrolls_sideways_and_the_menu_opens_the_navigation(workflow):
    site = workflow / "results/quick/site"
    pages = sorted(p.name for p in site.glob("*.html")) + [sorted(p.relative_to(site).as_posix()
                                                                 for p in site.glob("runs/*.html"))[0]]
    assert check_narrow(site, pages) == []


def test_every_planned_run_has_a_page_reached_from_the_scorecard_with_its_record(workflow):
    """A scorecard row's runs link to run pages; the page's spec is the run's record.json spec, hovering a point of
    its test-accuracy curve names the value epochs.parquet holds, and its legend hides a series."""
    from playwright.sync_api import sync_playwright

    from analysis.site.sitecheck import find_chromium, serve

    site, tables = workflow / "results/quick/site", workflow / "results/quick/tables"
    pages = {p.stem for p in site.glob("runs/*.html")} - {"index"}  # runs/index.html lists them
    assert pages == set(pd.read_parquet(tables / "plan.parquet")["run_id"])
    epochs = pd.read_parquet(tables / "epochs.parquet")
    with serve(site) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=find_chromium(), args=["--no-sandbox"])
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{base}scorecard.html")
        link = page.locator('a[href^="runs/"]').first
        run_id = Path(link.get_attribute("href")).stem
        link.click()
        page.wait_for_load_state("load")
        spec = yaml.safe_load(page.inner_text("#spec + pre"))
        point = epochs[(epochs["run_id"] == run_id) & (epochs["epoch"] == 1)].iloc[0]
        titles = page.locator('g[data-series="test acc"] circle title').all_text_contents()
        page.click('.nnlab-legend button[data-series="test acc"]')
        hidden = page.locator('g[data-series="test acc"]').first.is_hidden()
        browser.close()
    record = json.loads((workflow / "results/runs" / run_id / "record.json").read_text())
    assert spec == record["spec"]
    assert f"test acc: epoch 1, accuracy {point['test_acc']:.4g}" in titles
    assert hidden and errors == []


def test_searching_a_question_id_finds_its_section(workflow):
    """Pagefind's index of the built site, searched from the landing page's box in Chromium."""
    from playwright.sync_api import sync_playwright

    from analysis.site.sitecheck import find_chromium, serve

    with serve(workflow / "results/quick/site") as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=find_chromium(), args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(f"{base}index.html")
        page.fill("#nnlab-search input", "M2.3")
        page.wait_for_selector('.pagefind-ui__result-link[href$="m2.html#m2-3"]', timeout=10_000)
        page.locator('.pagefind-ui__result-link[href$="m2.html#m2-3"]').first.click()
        page.wait_for_load_state("load")
        landed = page.url
        browser.close()
    assert landed == f"{base}m2.html#m2-3"


def test_the_site_opened_as_a_file_works_and_its_search_finds_a_question_id(workflow):
    """From file://: every page opens with no console error and no request outside the site's folder, the
    explorer draws its runs, and the search box (Chromium refuses Pagefind's fetch there) searches the site's
    offline index: "M2.3" leads to its section."""
    from playwright.sync_api import sync_playwright

    from analysis.site.sitecheck import find_chromium

    site = workflow / "results/quick/site"
    root = site.resolve().as_uri() + "/"
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html") if "pagefind" not in p.parts)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=find_chromium(), args=["--no-sandbox"])
        page = browser.new_page()
        problems = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("request", lambda r: None if r.url.startswith(root) else problems.append(r.url))
        for name in pages:
            page.goto(f"{root}{name}")
        page.goto(f"{root}explorer.html")
        explored = page.locator(".nnlab-run-point").count()
        page.goto(f"{root}index.html")
        page.fill("#nnlab-search input", "M2.3")
        first = page.locator(".nnlab-offline-result").first
        first.wait_for(timeout=10_000)
        href = first.get_attribute("href")
        first.click()
        page.wait_for_load_state("load")
        landed = page.url
        browser.close()
    runs = pd.read_parquet(workflow / "results/quick/tables/runs.parquet")
    assert len(pages) > len(runs) and explored > 0   # a page per run and the study's pages
    assert href == landed == f"{root}m2.html#m2-3"
    assert problems == []


#: figures that plot a computation, not a measurement (A7.5's autograd derivatives, A7.2's hand-built XOR net):
#: they have no runs or data table behind them, hence no interactive copy
COMPUTED_FIGURES = {"a75_derivatives", "a72_hidden_space"}


def test_every_figure_of_measurements_has_an_interactive_copy_with_its_data(workflow):
    """Every static figure a page shows (its PNG) has, beside it, an interactive copy and the CSV it draws (the
    landing page's thumbnails only link to the figures on their pages)."""
    site = workflow / "results/quick/site"
    shown, missing = 0, []
    for page in sorted(set(site.glob("*.html")) - {site / "index.html"}):
        text = page.read_text()
        for png in re.findall(r'src="(generated/[^"]+\.png)"', text):
            name = Path(png).stem
            if name in COMPUTED_FIGURES:
                continue
            shown += 1
            csv = png[:-4] + ".csv"
            if f'href="{csv}"' not in text or not (site / csv).is_file():
                missing.append(f"{page.name}: {name}")
    assert shown >= 20 and missing == []


def plot_point(chart, fx: float, fy: float) -> dict:
    """The page coordinates of the point at fractions (fx, fy) of a chart's plot area, from the plot box the chart
    records (`data-plot`, in its view box) and where the chart is drawn now."""
    box = chart.bounding_box()
    (vx, vy, vw, vh), (left, top, width, height) = chart.evaluate(
        "svg => [svg.getAttribute('viewBox'), svg.getAttribute('data-plot')].map(a => a.split(' ').map(Number))")
    return {"x": box["x"] + (left + fx * width - vx) / vw * box["width"],
            "y": box["y"] + (top + fy * height - vy) / vh * box["height"]}


def test_a_dragged_rectangle_zooms_a_chart_on_both_axes_and_shift_click_isolates_a_series(workflow):
    """In Chromium on the quick site's E7 page: a drag over a learning curve re-labels both axes to the dragged
    range and moves its points; a double-click restores them; a shift-click on a legend entry leaves only its
    series shown."""
    from playwright.sync_api import sync_playwright

    from analysis.site.sitecheck import find_chromium, serve

    with serve(workflow / "results/quick/site") as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=find_chromium(), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{base}e7.html")
        figure = page.locator("details.nnlab-interactive").first
        figure.locator("summary").click()
        chart = figure.locator("svg.nnlab-chart[data-zoom]").first

        def state() -> dict:
            return chart.evaluate("""svg => ({
                x: [...svg.querySelectorAll('.nnlab-xticks text')].map(t => Number(t.textContent)),
                y: [...svg.querySelectorAll('.nnlab-yticks text')].map(t => Number(t.textContent)),
                cx: [...svg.querySelectorAll('.nnlab-plot circle')].map(c => Number(c.getAttribute('cx'))),
                zoomed: svg.getAttribute('data-zoomed')})""")

        before = state()
        box = chart.bounding_box()

        def at(fx: float, fy: float) -> tuple[float, float]:
            point = plot_point(chart, fx, fy)
            return point["x"], point["y"]
        page.mouse.move(*at(0.3, 0.3))
        page.mouse.down()
        page.mouse.move(*at(0.5, 0.5), steps=5)
        page.mouse.move(*at(0.7, 0.7), steps=5)
        page.mouse.up()
        zoomed = state()
        page.mouse.move(*at(0.4, 0.4))  # a second drag zooms into the first zoom's view
        page.mouse.down()
        page.mouse.move(*at(0.6, 0.6), steps=5)
        page.mouse.up()
        twice = state()
        reset_shown = figure.locator(".nnlab-zoom-reset").first.is_visible()
        chart.dblclick(position={"x": box["width"] / 2, "y": box["height"] / 2})
        restored = state()
        buttons = figure.locator("figure.nnlab-figure").first.locator(".nnlab-legend button[data-series]")
        name = buttons.nth(1).get_attribute("data-series")
        buttons.nth(1).click(modifiers=["Shift"])
        shown = chart.evaluate("""svg => [...svg.querySelectorAll('g[data-series]:not([data-kind="run"])')]
            .filter(g => g.style.display !== 'none').map(g => g.getAttribute('data-series'))""")
        browser.close()
    x_span, y_span = before["x"][-1] - before["x"][0], before["y"][0] - before["y"][-1]
    assert zoomed["zoomed"] == "1" and reset_shown
    assert zoomed["x"][0] >= before["x"][0] + 0.2 * x_span and zoomed["x"][-1] <= before["x"][-1] - 0.2 * x_span
    assert (max(zoomed["y"]) - min(zoomed["y"])) < 0.6 * abs(y_span)
    assert zoomed["x"][0] <= twice["x"][0] and twice["x"][-1] <= zoomed["x"][-1]
    assert twice["x"][-1] - twice["x"][0] < zoomed["x"][-1] - zoomed["x"][0]
    assert zoomed["cx"] != before["cx"]
    assert restored["zoomed"] == "0" and restored["cx"] == before["cx"] and restored["x"] == before["x"]
    assert shown and set(shown) == {name} and errors == []


def test_on_a_touch_screen_a_sideways_drag_zooms_a_chart_and_an_upward_one_scrolls_the_page(workflow):
    """On a 390-px phone with touch input (real touch events through Chromium's input pipeline): the charts let the
    browser pan vertically only (`touch-action: pan-y`), so a sideways finger drag draws the zoom rectangle while an
    upward one scrolls the page past the chart and zooms nothing."""
    from playwright.sync_api import sync_playwright

    from analysis.site.sitecheck import find_chromium, serve

    with serve(workflow / "results/quick/site") as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=find_chromium(), args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
        page = context.new_page()
        page.goto(f"{base}e7.html")
        figures = page.locator("details.nnlab-interactive")
        charts = [figures.nth(i).locator("svg.nnlab-chart[data-zoom]").first for i in (0, 1)]
        cdp = context.new_cdp_session(page)

        def show(chart) -> None:
            chart.evaluate("svg => svg.closest('details').open = true")
            chart.scroll_into_view_if_needed()

        def drag(chart, start: tuple[float, float], end: tuple[float, float]) -> None:
            # the finger's path is fixed on the screen before it moves: a scroll moves the chart, not the finger
            a, b = plot_point(chart, *start), plot_point(chart, *end)
            cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [a]})
            for step in range(1, 11):
                f = step / 10
                point = {"x": a["x"] + f * (b["x"] - a["x"]), "y": a["y"] + f * (b["y"] - a["y"])}
                cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
                page.wait_for_timeout(16)
            cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
            page.wait_for_timeout(200)

        show(charts[0])
        drag(charts[0], (0.2, 0.3), (0.8, 0.5))
        sideways = charts[0].get_attribute("data-zoomed")
        show(charts[1])
        scrolled_from = page.evaluate("window.scrollY")
        drag(charts[1], (0.5, 0.95), (0.52, 0.05))
        upward, scrolled_to = charts[1].get_attribute("data-zoomed"), page.evaluate("window.scrollY")
        browser.close()
    assert sideways == "1"
    assert upward in (None, "0") and scrolled_to > scrolled_from  # "0" or unset: never zoomed


def test_the_explorer_filtered_to_one_grid_cell_draws_exactly_its_runs(workflow):
    from playwright.sync_api import sync_playwright

    from analysis.site.sitecheck import find_chromium, serve

    runs = pd.read_parquet(workflow / "results/quick/tables/runs.parquet")
    cell = runs[runs["experiments"].apply(lambda e: "m2_depth" in e) & (runs["model.depth"] == 5)
                & (runs["activation"] == "relu") & runs["final_test_acc"].notna()]
    with serve(workflow / "results/quick/site") as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=find_chromium(), args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(f"{base}explorer.html?experiment=m2_depth")
        everything = page.locator(".nnlab-run-point").count()
        page.select_option('select[aria-label="model.depth"]', "5")
        page.select_option('select[aria-label="activation"]', "relu")
        drawn = page.eval_on_selector_all(".nnlab-run-point", "points => points.map(p => p.dataset.run)")
        page.locator(".nnlab-run-point").first.click()
        page.wait_for_load_state("load")
        opened = page.url
        browser.close()
    assert len(cell) >= 1 and sorted(drawn) == sorted(cell["run_id"])
    assert everything > len(drawn)
    assert opened.endswith(f"runs/{drawn[0]}.html")


def test_browser_check_fails_on_a_removed_image_a_broken_link_an_anchor_a_cdn_and_a_wide_page(workflow, tmp_path):
    site = tmp_path / "site"
    shutil.copytree(workflow / "results/quick/site", site)
    (site / "generated/a7/a74_gradients.png").unlink()
    page = site / "d1.html"
    page.write_text(page.read_text().replace('href="m2.html"', 'href="m2-gone.html"', 1))
    index = site / "index.html"
    assert 'href="m2.html#m2-1"' in index.read_text()
    index.write_text(index.read_text().replace('href="m2.html#m2-1"', 'href="m2.html#m2-nowhere"', 1))
    e7 = site / "e7.html"  # a CDN script, an image without alt text, a box wider than a phone
    text = e7.read_text().replace("</head>", '<script src="https://cdn.example.org/lib.js"></script></head>', 1)
    text, stripped = re.subn(r'(<img[^>]*?)\salt="[^"]*"', r"\1", text, count=1)  # pandoc may break before alt=
    assert stripped == 1
    e7.write_text(text.replace("<main", '<div style="width:900px">wide</div><main', 1))
    problems = check_site(site).problems
    assert any("a7.html: image did not load: generated/a7/a74_gradients.png" in p for p in problems), problems
    assert any("broken link 'm2-gone.html'" in p for p in problems), problems
    assert "index.html: anchor 'm2.html#m2-nowhere' points nowhere on m2.html" in problems, problems
    assert any("e7.html: request outside the site: https://cdn.example.org/lib.js" in p for p in problems), problems
    assert any(p.startswith("e7.html: image without alt text") for p in problems), problems
    wide = [p for p in check_narrow(site, ["e7.html", "a7.html"]) if "scrolls sideways" in p]
    assert len(wide) == 1 and wide[0].startswith("e7.html: "), wide


def test_snakemakes_own_report_holds_the_figures(workflow):
    proc = snakemake(workflow, "--report", "report.html")
    assert proc.returncode == 0, proc.stderr[-3000:]
    html = (workflow / "report.html").read_text(errors="replace")
    for figure in ("a74_gradients.png", "e7_curves.png", "m21_heatmap.png", "d1_full_curves.png", "h43_time.png"):
        assert figure in html, figure


def test_tables_carry_config_columns(workflow):
    tables = workflow / "results/quick/tables"
    runs = pd.read_parquet(tables / "runs.parquet")
    from analysis.pipeline.config import load_config
    from analysis.pipeline.plan import study_runs

    expected = study_runs(load_config(workflow / "config/config.yaml"), "quick")
    assert set(runs["run_id"]) == set(expected) and len(runs) >= 2 * 3 + 2 + 1
    diverged = runs[runs["experiments"].apply(lambda e: "diverge" in e)]
    assert diverged["status"].tolist() == ["diverged"] and (runs.drop(diverged.index)["status"] == "ok").all()
    assert {"run_id", "activation", "lr", "seed", "final_test_acc", "samples_per_s"} <= set(runs.columns)
    epochs = pd.read_parquet(tables / "epochs.parquet")
    assert {"activation", "lr", "test_acc", "epoch"} <= set(epochs.columns)
    grads = pd.read_parquet(tables / "grads.parquet")
    assert set(grads["layer"]) >= {"linear1", "linear2", "linear3"}
    for run_id in runs["run_id"]:
        assert (workflow / "results/runs" / run_id / "train.log").is_file()


def test_nothing_to_do_after_a_run_then_one_lr_edit_is_one_job(workflow):
    proc = snakemake(workflow, "-n")
    assert proc.returncode == 0
    assert "Nothing to be done" in proc.stdout + proc.stderr, proc.stdout[-2000:]
    path = workflow / "config/config.yaml"
    config = yaml.safe_load(path.read_text())
    config["experiments"]["lr_check"]["grid"]["lr"] = [0.01, 0.1]
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    proc = snakemake(workflow, "-n")
    counts = job_counts(proc.stdout + proc.stderr)
    assert counts.get("train") == 1, counts
    rules = {rule for rule in counts if not rule.startswith("train_")}  # one rule per pack: train_<pack-id>
    assert rules <= {"train", "plan", "aggregate", "answers", "scorecard", "site", "all"}
    assert counts.get("aggregate") == 1 and counts.get("site") == 1
    assert "dataset" not in counts


def test_data_rule_recorded_provenance(workflow):
    for name in ("mnist", "fashion_mnist"):
        info = json.loads((workflow / f"results/data/{name}.json").read_text())
        assert info["source"] and len(info["sha256"]) == 4
        assert (workflow / f"results/data/logs/{name}.log").is_file()


def test_bad_config_key_is_one_screen_naming_it(workflow, tmp_path):
    bad = yaml.safe_load((workflow / "config/config.yaml").read_text())
    bad["experiments"]["a7_4"]["base"]["learning_rate"] = 0.1
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    proc = subprocess.run([*SNAKEMAKE, "-n", "--cores", "1", "--configfile", str(path)], cwd=workflow,
                          capture_output=True, text=True)
    assert proc.returncode != 0
    err = proc.stdout + proc.stderr
    assert "'learning_rate' was unexpected" in err and "experiments.a7_4.base" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) < 25


def test_a_damaged_run_file_is_named_and_exactly_that_run_is_retrained(workflow):
    """A truncated metrics.parquet of a finished run: a dry run names the run in words and changes nothing; the
    build copies its files aside (kept), retrains it alone and rebuilds the site; the retrained run's metrics equal
    the lost ones (same spec and seed on CPU)."""
    runs = pd.read_parquet(workflow / "results/quick/tables/runs.parquet")
    victim = runs[(runs["experiments"].apply(lambda e: "lr_check" in e)) & (runs["lr"] == 0.01)]["run_id"].iloc[0]
    folder = workflow / "results/runs" / victim
    before = pd.read_parquet(folder / "metrics.parquet")
    pending = trained_runs(snakemake(workflow, "-n", "-p").stdout)  # what the earlier lr edit left to train
    (folder / "metrics.parquet").write_bytes((folder / "metrics.parquet").read_bytes()[:100])
    dry = snakemake(workflow, "-n", "-p")
    named = f"run {victim} (lr_check, lr 0.01, seed 1): metrics.parquet is damaged"
    assert named in dry.stderr and "a build (not a dry run) keeps a copy of its files" in dry.stderr
    # a dry run changes nothing, so Snakemake still sees the run as done: only the message says a build retrains it
    assert (folder / "metrics.parquet").stat().st_size == 100 and trained_runs(dry.stdout) == pending
    records = {p.parent.name: p.stat().st_mtime_ns for p in (workflow / "results/runs").glob("*/record.json")}
    proc = snakemake(workflow, "-p")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert named in proc.stderr and "the run is retrained" in proc.stderr
    rewritten = {p.parent.name for p in (workflow / "results/runs").glob("*/record.json")
                 if records.get(p.parent.name) != p.stat().st_mtime_ns}
    assert rewritten == pending | {victim}  # no other run is touched
    kept = list(folder.glob("damaged-*/metrics.parquet"))
    assert len(kept) == 1 and kept[0].stat().st_size == 100  # nothing lost: the damaged file is kept
    after = pd.read_parquet(folder / "metrics.parquet")
    metrics = [c for c in before.columns if c.endswith(("_loss", "_acc"))]
    pd.testing.assert_frame_equal(after[metrics], before[metrics])
    record = json.loads((folder / "record.json").read_text())
    assert set(record["files"]) >= {"metrics.parquet", "batches.parquet"}
    verify = subprocess.run([sys.executable, "-m", "analysis.pipeline.verify", "--profile", "quick"], cwd=workflow,
                            capture_output=True, text=True)
    assert verify.returncode == 0 and "0 damaged" in verify.stderr


def test_config_text_shows_as_text_and_runs_no_script(workflow):
    """The LeNet experiment's title holds an <img onerror> tag and Markdown metacharacters: in Chromium the page
    shows them verbatim, in the index table and the section heading, and nothing runs."""
    from playwright.sync_api import sync_playwright

    from analysis.site.sitecheck import find_chromium, serve

    with serve(workflow / "results/quick/site") as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=find_chromium(), args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(f"{base}experiments.html")
        page.wait_for_load_state("load")
        title, text = page.title(), page.inner_text("body")
        injected = page.locator('img[src="x"]').count() + page.locator("b", has_text="only").count()
        heading = page.inner_text("#exp-lenet")
        browser.close()
    assert title != "INJECTED" and injected == 0
    assert text.count(HOSTILE_TITLE) >= 2 and HOSTILE_TITLE in heading  # the index row and the heading
    assert "config <b>only</b>" in text
