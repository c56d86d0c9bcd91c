"""The pandoc renderer of the report's `.qmd` sources, for machines without Quarto.

It renders the build folder `analysis.site.report` prepared into the layout `quarto render` would give: one HTML
file per page listed in `_quarto.yml`'s sidebar, the sidebar itself, and the Quarto features the pages use
(the `var`, `include` and `meta` shortcodes, callout titles, links between pages).
"""
from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

SHORTCODE = re.compile(r"\{\{<\s*(var|include|meta)\s+(.+?)\s*>\}\}")


class ReportError(RuntimeError):
    """A page cannot be rendered: a missing value or include, or the renderer failed."""


def front_matter(text: str) -> tuple[dict, str]:
    if text.startswith("---\n"):
        end = text.index("\n---", 4)
        return yaml.safe_load(text[4:end]) or {}, text[end + 4:].lstrip("\n")
    return {}, text


def lookup(variables: dict, key: str, page: str):
    value = variables
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            raise ReportError(f"{page}: {{{{< var {key} >}}}} has no value in _variables.yml "
                              "(the answers step did not compute it)")
        value = value[part]
    return value


def expand_shortcodes(text: str, base: Path, variables: dict, meta: dict, page: str, depth: int = 0) -> str:
    """Expand the Quarto shortcodes the pages use: var, include (recursive), meta."""
    if depth > 10:
        raise ReportError(f"{page}: includes nested more than 10 deep")

    def replace(match: re.Match) -> str:
        kind, arg = match.group(1), match.group(2).strip()
        if kind == "var":
            return str(lookup(variables, arg, page))
        if kind == "meta":
            return str(lookup(meta, arg, page))
        path = base / arg
        if not path.is_file():
            raise ReportError(f"{page}: {{{{< include {arg} >}}}}: no such file {path}")
        return expand_shortcodes(path.read_text(), path.parent, variables, meta, page, depth + 1)

    return SHORTCODE.sub(replace, text)


def callout_titles(text: str) -> str:
    """Quarto callouts take their title from a leading `## heading`; pandoc gets a bold title line."""
    return re.sub(r"(:::+\s*\{\.callout-[a-z]+[^}]*\}\s*\n)##\s+(.+)\n",
                  lambda m: f'{m.group(1)}<div class="callout-title">**{m.group(2).strip()}**</div>\n\n', text)


def page_head(title: str, up: str = "", favicon: str = "favicon.svg") -> str:
    """The head every page of the site shares (the rendered pages and those the site writes itself): the
    stylesheet, the icon and the search UI; `up` leads from the page's folder to the site's root."""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{up}styles.css">
<link rel="icon" href="{up}{favicon}" type="image/svg+xml">
<link rel="stylesheet" href="{up}pagefind/pagefind-ui.css">
<script src="{up}pagefind/pagefind-ui.js"></script>
</head>
"""


TEMPLATE = page_head("$pagetitle$ – $sitetitle$", favicon="$favicon$") + """<body>
<button type="button" class="nnlab-menu-button" aria-controls="nnlab-sidebar"
 aria-expanded="false">&#9776; Menu</button>
<div class="nnlab-layout">
<nav class="nnlab-sidebar" id="nnlab-sidebar" aria-label="Site">
<div class="nnlab-search" id="nnlab-search" data-pagefind-ignore></div>
$sidebar$
</nav>
<main class="nnlab-main" data-pagefind-body>
<h1 class="title">$title$</h1>
$if(toc)$<nav class="nnlab-toc" aria-label="On this page"><strong>On this page</strong>
$table-of-contents$
</nav>$endif$
$body$
</main>
</div>
$for(include-after)$
$include-after$
$endfor$
</body>
</html>
"""


def sidebar_html(site_title: str, entries: list[tuple[str, str]], current: str) -> str:
    items = []
    for href, text in entries:
        target = Path(href).with_suffix(".html").as_posix()
        active = ' class="active" aria-current="page"' if href == current else ""
        items.append(f'<li><a href="{target}"{active}>{html.escape(text)}</a></li>')
    return (f'<a class="site-title" href="index.html">{html.escape(site_title)}</a>\n<ul>\n'
            + "\n".join(items) + "\n</ul>")


def render_pandoc(build: Path, site: Path) -> list[Path]:
    """Render every page listed in the sidebar with pandoc 3, into `site/`."""
    import pypandoc

    project = yaml.safe_load((build / "_quarto.yml").read_text())
    website = project["website"]
    entries = [(e["href"], e.get("text") or e["href"]) if isinstance(e, dict) else (e, e)
               for e in website["sidebar"]["contents"]]
    variables = yaml.safe_load((build / "_variables.yml").read_text())
    html_opts = project.get("format", {}).get("html", {})
    if site.exists():
        shutil.rmtree(site)
    site.mkdir(parents=True)
    pandoc = pypandoc.get_pandoc_path()
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        template = Path(tmp) / "template.html"
        template.write_text(TEMPLATE)
        for href, _ in entries:
            source = build / href
            meta, body = front_matter(source.read_text())
            body = callout_titles(expand_shortcodes(body, source.parent, variables, meta, href))
            body = re.sub(r"\]\(([\w./-]+)\.qmd(#[\w-]*)?\)", r"](\1.html\2)", body)  # as Quarto rewrites links
            target = site / Path(href).with_suffix(".html")
            args = [pandoc, "--from=markdown+tex_math_dollars", "--to=html5", "--standalone",
                    f"--template={template}", "--mathml", f"--metadata=title:{meta.get('title', href)}",
                    f"--variable=sitetitle:{website['title']}",
                    f"--variable=sidebar:{sidebar_html(website['title'], entries, href)}",
                    f"--variable=favicon:{website.get('favicon', 'favicon.svg')}",
                    f"--resource-path={build}", "-o", str(target)]
            if html_opts.get("toc"):
                args += ["--toc", "--toc-depth=2"]
            if html_opts.get("include-after-body"):
                args += [f"--include-after-body={build / html_opts['include-after-body']}"]
            proc = subprocess.run(args, input=body, text=True, capture_output=True)
            if proc.returncode != 0:
                raise ReportError(f"pandoc failed on {href}: {proc.stderr.strip()}")
            if proc.stderr.strip():
                print(f"pandoc ({href}): {proc.stderr.strip()}", file=sys.stderr)
            written.append(target)
    resources = [r for r in project.get("project", {}).get("resources", []) if "*" not in r]
    for extra in [html_opts.get("css", "styles.css"), website.get("favicon", "favicon.svg"), *resources]:
        shutil.copy2(build / extra, site / extra)
    if (build / "generated").is_dir():
        shutil.copytree(build / "generated", site / "generated",
                        ignore=shutil.ignore_patterns("*.md"), dirs_exist_ok=True)
    return written
