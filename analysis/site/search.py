"""The site's full-text search (issue 28): Pagefind (`pagefind[bin]`, its binary from PyPI, pinned) indexes every
page of the built site, the run pages too, into `site/pagefind/`, with the browser UI the pages load. It runs
after every page is written, for the Quarto and the pandoc renderings alike. The index is fetched by the browser,
so search needs the site served over HTTP (any static host, or `python -m http.server`); from `file://` the
pages work and the search box stays empty."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from analysis.site.pandoc_site import ReportError

#: where the index and the UI land inside the site
SEARCH_FOLDER = "pagefind"


def index_site(site: Path) -> Path:
    """Index `site` in place; a failure names Pagefind's own message."""
    proc = subprocess.run([sys.executable, "-m", "pagefind", "--site", str(site), "--output-subdir", SEARCH_FOLDER,
                           "--silent"], capture_output=True, text=True)
    if proc.returncode != 0 or not (Path(site) / SEARCH_FOLDER / "pagefind-ui.js").is_file():
        raise ReportError(f"Pagefind could not index {site} (exit {proc.returncode}): "
                          f"{(proc.stderr or proc.stdout).strip()[-2000:]}")
    return Path(site) / SEARCH_FOLDER
