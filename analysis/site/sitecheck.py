"""Open every page of a built site in a real headless Chromium and report what a reader would hit.

The site is served over HTTP on loopback (as a reader's browser would fetch it, not via file://),
the crawl starts at index.html and follows every same-site link, and for each page it records:
HTTP errors (of the page or anything it loads), failed requests, console errors, images that did
not load, links to pages or files that do not exist, and anchors that point nowhere. A screenshot of
every page is written beside the report. Pages named in the sidebar but never reached by following
links are reported too.

    python -m analysis.site.sitecheck results/quick/site --screenshots results/quick/browser
"""
from __future__ import annotations

import argparse
import functools
import http.server
import json
import shutil
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


@dataclass
class SiteReport:
    pages: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    screenshots: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def find_chromium() -> str:
    for name in CHROMIUM_CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    raise FileNotFoundError("no Chromium found (tried " + ", ".join(CHROMIUM_CANDIDATES)
                            + "); on Debian: apt-get install chromium")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep test output clean
        pass


@contextmanager
def serve(directory: Path):
    """A static HTTP server for `directory` on 127.0.0.1 and a free port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def sidebar_pages(site: Path) -> set[str]:
    """The pages the site's navigation promises: every .html at the top level of the site."""
    return {p.name for p in site.glob("*.html")}


def check_site(site: Path, screenshots: Path | None = None, width: int = 1300) -> SiteReport:
    """Open every page reachable from index.html in headless Chromium: HTTP errors, console and script errors,
    failed requests and requests outside the site, images that did not load or have no alt text, broken links,
    and anchors (on any page) that point nowhere."""
    from playwright.sync_api import sync_playwright

    site = Path(site)
    if not (site / "index.html").is_file():
        raise FileNotFoundError(f"{site / 'index.html'} does not exist: build the site first")
    report = SiteReport()
    if screenshots is not None:
        screenshots.mkdir(parents=True, exist_ok=True)
    ids: dict[str, set[str]] = {}  # page -> element ids on it
    wanted: list[tuple[str, str, str]] = []  # (linking page, href, target page#fragment)
    with serve(site) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=find_chromium(), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": width, "height": 900})
        events = _record_events(page)
        _keep_inside(page, base, events)
        queue = ["index.html"]
        while queue:
            name = queue.pop(0)
            if name in ids:
                continue
            events.clear()
            response = page.goto(urljoin(base, name), wait_until="load")
            report.pages.append(name)
            ids[name] = set()
            if response is None or response.status >= 400:
                report.problems.append(f"{name}: HTTP {response.status if response else 'no response'}")
                continue
            broken_images = page.evaluate(
                "Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0)"
                ".map(i => i.getAttribute('src'))")
            report.problems += [f"{name}: image did not load: {src}" for src in broken_images]
            no_alt = page.evaluate("Array.from(document.images).filter(i => !(i.getAttribute('alt') || '').trim())"
                                   ".map(i => i.getAttribute('src'))")
            report.problems += [f"{name}: image without alt text: {src}" for src in no_alt]
            ids[name] = set(page.evaluate("Array.from(document.querySelectorAll('[id]')).map(e => e.id)"))
            hrefs = page.evaluate("Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href'))")
            queue += _follow(site, base, name, hrefs, report, wanted)
            report.problems += [f"{name}: {event}" for event in events]
            if screenshots is not None and "/" not in name:  # the site's pages, not every run page
                shot = screenshots / (Path(name).stem + ".png")
                page.screenshot(path=str(shot), full_page=True)
                report.screenshots.append(str(shot))
        browser.close()
    report.problems += [f"{source}: anchor {href!r} points nowhere on {target}" for source, href, target, fragment
                        in ((s, h, t.split("#")[0], t.split("#")[1]) for s, h, t in wanted)
                        if target in ids and fragment not in ids[target]]
    unreached = sidebar_pages(site) - set(ids)
    report.problems += [f"{page_name}: not reachable by following links from index.html"
                        for page_name in sorted(unreached)]
    return report


def _keep_inside(page, base: str, events: list[str]) -> None:
    """Refuse, and report, every request to anything but the site's own files: the site must work offline."""
    def route(request_route) -> None:
        url = request_route.request.url
        if url.startswith(base) or url.startswith("data:"):
            request_route.continue_()
        else:
            events.append(f"request outside the site: {url}")
            request_route.abort()

    page.route("**/*", route)


def check_narrow(site: Path, pages: list[str], width: int = 390, height: int = 844) -> list[str]:
    """At a phone's viewport: every page fits its width (nothing scrolls sideways), and the menu button shows the
    navigation it hides. Returns the problems."""
    from playwright.sync_api import sync_playwright

    problems = []
    with serve(site) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=find_chromium(), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": width, "height": height})
        for name in pages:
            page.goto(urljoin(base, name), wait_until="load")
            scroll = page.evaluate("document.documentElement.scrollWidth")
            if scroll > width:
                problems.append(f"{name}: {scroll} px wide at a {width}-px viewport (scrolls sideways)")
            menu = page.locator(".nnlab-menu-button")
            if menu.count():
                nav = page.locator(".nnlab-sidebar")
                if nav.is_visible():
                    problems.append(f"{name}: the sidebar takes the screen before the menu is opened")
                menu.click()
                if not nav.is_visible():
                    problems.append(f"{name}: the menu button does not open the navigation")
        browser.close()
    return problems


def _record_events(page) -> list[str]:
    """What the browser reports while a page loads: console errors, script errors, failed or 4xx/5xx requests."""
    events: list[str] = []
    page.on("console", lambda m: events.append(f"console {m.type}: {m.text} ({m.location.get('url', '')})")
            if m.type == "error" else None)
    page.on("pageerror", lambda e: events.append(f"script error: {e}"))
    page.on("requestfailed", lambda r: events.append(f"request failed: {r.url} ({r.failure})"))
    page.on("response", lambda r: events.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    return events


def _follow(site: Path, base: str, name: str, hrefs: list[str], report: SiteReport,
            wanted: list[tuple[str, str, str]]) -> list[str]:
    """The site's pages a page links to (to visit next); a link to a missing file is a problem, a link with a
    fragment is remembered to check once its target page has been seen."""
    found = []
    for href in hrefs:
        target, fragment = urldefrag(urljoin(urljoin(base, name), href))
        if urlparse(target).netloc != urlparse(base).netloc:
            continue  # external links are not followed (no network here)
        relative = urlparse(target).path.lstrip("/")
        if not relative and not target.rstrip("/") + "/" == base:
            continue
        relative = relative or "index.html"
        if not (site / relative).is_file():
            report.problems.append(f"{name}: broken link {href!r} (no {relative} in the site)")
            continue
        if fragment and relative.endswith(".html"):
            wanted.append((name, href, f"{relative}#{fragment}"))
        if relative.endswith(".html"):
            found.append(relative)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", type=Path, help="the built site folder (holds index.html)")
    parser.add_argument("--screenshots", type=Path, default=None, help="write one full-page PNG per page here")
    args = parser.parse_args(argv)
    try:
        report = check_site(args.site, args.screenshots)
    except FileNotFoundError as exc:
        print(f"nnlab sitecheck: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"pages": report.pages, "problems": report.problems, "screenshots": report.screenshots}, indent=1))
    print(f"{len(report.pages)} pages, {len(report.problems)} problem(s)", file=sys.stderr)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
