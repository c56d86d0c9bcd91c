"""Search from `file://` (analysis/site/search.py's offline index, report/nnlab.js's offline search): the index
holds what Pagefind indexes, section by section, and nothing a page marks as not for search; page text reaches
the browser as text, never as markup."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from analysis.site.search import OFFLINE_INDEX, SEARCH_FOLDER, offline_entries, write_offline_index

HOSTILE = "<script>alert(1)</script>"
PAGE = """<!DOCTYPE html><html><head><title>Alpha page – nnlab</title>
<script src="{up}pagefind/pagefind-ui.js"></script></head><body>
<nav><div id="nnlab-search"></div>sidebarword</nav>
<main data-pagefind-body><h1>Alpha</h1><p>intro words<br>after a break</p>
<nav class="toc">tocword</nav>
<h2 id="a-1">First <code>part</code></h2><p>config note &lt;script&gt;alert(1)&lt;/script&gt; shown</p>
<div data-pagefind-ignore><h3 id="hidden">ignoredword</h3><p>ignoredword</p></div>
<svg><title>svgword</title><text>svgtext</text></svg><input data-pagefind-ignore type="hidden">
<div><button>tanh</button><button>relu</button></div><form>formword</form>
<p>slope <math><mi>f</mi><mo>′</mo><annotation encoding="application/x-tex">texword</annotation></math> here</p>
<h2 id="a-2">Second</h2><p>closing words</p></main>
<script src="{up}nnlab.js"></script></body></html>"""


def small_site(root: Path) -> Path:
    """Two pages (one in a subfolder, as run pages are), Pagefind's folder with an empty UI script, and nnlab.js."""
    site = root / "site"
    (site / "runs").mkdir(parents=True)
    (site / SEARCH_FOLDER).mkdir()
    (site / SEARCH_FOLDER / "pagefind-ui.js").write_text("")
    (site / SEARCH_FOLDER / "stray.html").write_text("<main data-pagefind-body>straywords</main>")
    (site / "a.html").write_text(PAGE.format(up=""))
    (site / "b.html").write_text('<html><head><title>Beta – nnlab</title></head><body data-pagefind-body>'
                                 '<p>beta words</p></body></html>')
    (site / "runs" / "r1.html").write_text(
        PAGE.format(up="../").replace("Alpha", "Run r1").replace("a-1", "r-1").replace("a-2", "r-2"))
    shutil.copy(Path(__file__).resolve().parents[1] / "report" / "nnlab.js", site / "nnlab.js")
    return site


def test_the_offline_index_holds_each_section_and_nothing_marked_as_not_for_search(tmp_path):
    site = small_site(tmp_path)
    entries = [e for e in offline_entries(site) if e[0] == "a.html"]
    assert [(e[1], e[2], e[3]) for e in entries] == [("", "Alpha", "Alpha"), ("a-1", "Alpha", "First part"),
                                                     ("a-2", "Alpha", "Second")]
    assert entries[0][4] == "intro words after a break"
    assert entries[1][4] == f"config note {HOSTILE} shown tanh relu slope f′ here"
    text = json.dumps(offline_entries(site), ensure_ascii=False)
    for hidden in ("sidebarword", "tocword", "ignoredword", "svgword", "svgtext", "straywords", "formword",
                   "texword", "Alpha page"):
        assert hidden not in text
    assert {e[0] for e in offline_entries(site)} == {"a.html", "b.html", "runs/r1.html"}
    # a page without a heading is named by its <title>
    assert [e[1:] for e in offline_entries(site) if e[0] == "b.html"] == [["", "Beta – nnlab", "", "beta words"]]


def test_the_offline_index_is_a_script_no_page_text_can_break_out_of(tmp_path):
    site = small_site(tmp_path)
    out = write_offline_index(site)
    assert out == site / SEARCH_FOLDER / OFFLINE_INDEX
    script = out.read_text()
    assert "<" not in script and script.isascii()
    prefix = "window.NNLAB_OFFLINE_SEARCH = "
    assert script.startswith(prefix) and script.endswith(";\n")
    assert json.loads(script[len(prefix):-2]) == offline_entries(site)


def test_searching_from_a_file_finds_sections_on_every_page_and_shows_page_text_as_text(tmp_path):
    """In Chromium from file://: results from both pages link to their sections, a config string holding a script
    is shown as its characters (no alert, no element), and the only requests are the site's own files."""
    from playwright.sync_api import sync_playwright

    from analysis.site.sitecheck import find_chromium

    site = small_site(tmp_path)
    write_offline_index(site)
    root = site.resolve().as_uri() + "/"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=find_chromium(), args=["--no-sandbox"])
        page = browser.new_page()
        problems, alerts = [], []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("dialog", lambda d: (alerts.append(d.message), d.dismiss()))
        page.on("request", lambda r: None if r.url.startswith(root) else problems.append(r.url))
        page.goto(root + "runs/r1.html")
        page.fill("#nnlab-search input", "alert config")
        page.wait_for_selector(".nnlab-offline-result")
        links = [(a.get_attribute("href"), a.text_content()) for a in page.locator(".nnlab-offline-result").all()]
        shown = page.locator(".nnlab-offline-results").inner_text()
        elements = page.locator(".nnlab-offline-results script, .nnlab-offline-results b").count()
        page.fill("#nnlab-search input", "nowhere-to-be-found")
        page.wait_for_selector(".nnlab-offline-results li:not(:has(a))")
        nothing = page.locator(".nnlab-offline-results").inner_text()
        page.fill("#nnlab-search input", "part second")   # words in two sections of one page: no section holds both
        page.wait_for_selector(".nnlab-offline-results li:not(:has(a))")
        split = page.locator(".nnlab-offline-results a").count()
        page.fill("#nnlab-search input", "second")
        page.locator(f'.nnlab-offline-result[href="{root}a.html#a-2"]').click()
        page.wait_for_load_state("load")
        landed = page.url
        browser.close()
    assert sorted(links) == [(f"{root}a.html#a-1", "First part"), (f"{root}runs/r1.html#r-1", "First part")]
    assert HOSTILE in shown and elements == 0 and alerts == []
    assert "No section holds every word" in nothing and split == 0
    assert landed == f"{root}a.html#a-2"
    assert problems == []


def test_searching_from_a_file_without_its_index_says_the_index_is_missing(tmp_path):
    """A site whose offline index was lost: every keystroke says so, the page keeps working."""
    from playwright.sync_api import sync_playwright

    from analysis.site.sitecheck import find_chromium

    site = small_site(tmp_path)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=find_chromium(), args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(site.resolve().as_uri() + "/a.html")
        page.fill("#nnlab-search input", "alp")
        page.wait_for_selector(".nnlab-offline-results:has-text('is missing')")
        page.type("#nnlab-search input", "ha")
        page.wait_for_timeout(200)
        said = page.locator(".nnlab-offline-results").inner_text()
        browser.close()
    assert said == "The search index (pagefind/offline-index.js) is missing."
