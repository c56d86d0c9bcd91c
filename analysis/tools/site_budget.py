"""The site's budgets (issue 28), printed, never asserted: how long the site step takes for a profile, how large the
site is (by part), and how long the heaviest page takes in headless Chromium until its figures are drawn. Run it
on a quiet machine (no build or test beside it) after the profile's site exists:

    python -m analysis.tools.site_budget --profile default

It re-runs the site step into a scratch folder (the profile's own site is left as it is), so the time includes
rendering, the run pages, the explorer's data and the search index.
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from analysis.site.sitecheck import find_chromium, serve


def cpu_model() -> str:
    """The CPU's model name (Linux), else what the platform module knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def parts(site: Path) -> dict[str, int]:
    """Bytes per part of the site: the pages, the run pages, the figures and data, the search index."""
    sizes = {"pages": sum(p.stat().st_size for p in site.glob("*.html")),
             "run pages": folder_bytes(site / "runs") if (site / "runs").is_dir() else 0,
             "figures and data (generated/)": folder_bytes(site / "generated") if (site / "generated").is_dir() else 0,
             "search index (pagefind/)": folder_bytes(site / "pagefind") if (site / "pagefind").is_dir() else 0}
    sizes["other"] = folder_bytes(site) - sum(sizes.values())
    return sizes


def page_weight(site: Path, page: Path) -> int:
    """A page's HTML plus the images it shows."""
    import re

    html = page.read_text()
    images = {site / src for src in re.findall(r'<img[^>]+src="([^"]+)"', html)}
    return page.stat().st_size + sum(p.stat().st_size for p in images if p.is_file())


def time_site_step(profile: str, results: Path) -> tuple[float, Path]:
    scratch = Path(tempfile.mkdtemp(prefix="nnlab-site-budget-"))
    out = results / profile
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "analysis.site.report", "--profile", profile, "--answers",
                    str(out / "answers"), "--build", str(scratch / "build"), "--site", str(scratch / "site"),
                    "--tables", str(out / "tables"), "--runs-dir", str(results / "runs")], check=True,
                   capture_output=True)
    return time.perf_counter() - start, scratch / "site"


def drawn_ms(site: Path, page: str, repeats: int = 3) -> float:
    """Median milliseconds from navigation to the load event (every image decoded, the scripts run)."""
    from playwright.sync_api import sync_playwright

    times = []
    with serve(site) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=find_chromium(), args=["--no-sandbox"])
        for _ in range(repeats):
            tab = browser.new_page()
            tab.goto(base + page, wait_until="load")
            times.append(tab.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd"))
            tab.close()
        browser.close()
    return sorted(times)[len(times) // 2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="default")
    parser.add_argument("--results", type=Path, default=Path("results"))
    args = parser.parse_args(argv)
    if not (args.results / args.profile / "answers").is_dir():
        print(f"nnlab site_budget: no answers for profile {args.profile} under {args.results}: build it first",
              file=sys.stderr)
        return 1
    seconds, site = time_site_step(args.profile, args.results)
    sizes = parts(site)
    pages = sorted(site.glob("*.html"), key=lambda p: page_weight(site, p), reverse=True)
    heaviest = pages[0]
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores; profile {args.profile}")
    print(f"site step: {seconds:.1f} s (render, run pages, explorer data, search index)")
    print(f"site size: {sum(sizes.values()) / 1e6:.1f} MB; " +
          ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in sizes.items()))
    print(f"run pages: {len([p for p in (site / 'runs').glob('*.html') if p.name != 'index.html'])}")
    print(f"heaviest page: {heaviest.name} ({page_weight(site, heaviest) / 1e6:.1f} MB with its images), drawn in "
          f"{drawn_ms(site, heaviest.name):.0f} ms (median of 3, headless Chromium, load event)")
    print(f"explorer: drawn in {drawn_ms(site, 'explorer.html'):.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
