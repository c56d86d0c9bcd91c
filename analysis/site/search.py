"""The site's full-text search (issue 28): Pagefind (`pagefind[bin]`, its binary from PyPI, pinned) indexes every
page of the built site, the run pages too, into `site/pagefind/`, with the browser UI the pages load. It runs
after every page is written, for the Quarto and the pandoc renderings alike. Pagefind fetches its index, which
a browser refuses from `file://`; so the site also carries a plain index of the same text as a script
(`pagefind/offline-index.js`), which `report/nnlab.js` loads and searches instead when the page is a file."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

from analysis.site.pandoc_site import ReportError

#: where the index and the UI land inside the site
SEARCH_FOLDER = "pagefind"
#: the index searched from `file://`, inside SEARCH_FOLDER: `window.NNLAB_OFFLINE_SEARCH = [[page, anchor, page
#: title, heading, text], ...]`, one entry per section of a page (the text from one heading h1-h4 to the next)
OFFLINE_INDEX = "offline-index.js"
#: the elements whose text no search should find: scripts, forms, the charts' hover labels, a page's table of
#: contents, a formula's TeX source (MathML's hidden `annotation`)
_SKIPPED = {"script", "style", "svg", "template", "noscript", "nav", "form", "annotation"}
#: elements inside a line of text; every other tag separates words ("tanh</button><button>relu" is two words), except
#: inside a formula, whose MathML pieces (`<mi>x</mi><mo>+</mo>`) read as one line
_INLINE = {"a", "abbr", "b", "cite", "code", "del", "dfn", "em", "i", "ins", "kbd", "label", "mark", "q", "s", "samp",
           "small", "span", "strong", "sub", "sup", "time", "u", "var", "wbr"}
_HEADINGS = {"h1", "h2", "h3", "h4"}
#: elements without an end tag, which never close a skipped or indexed element
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def index_site(site: Path) -> Path:
    """Index `site` in place; a failure names Pagefind's own message."""
    proc = subprocess.run([sys.executable, "-m", "pagefind", "--site", str(site), "--output-subdir", SEARCH_FOLDER,
                           "--silent"], capture_output=True, text=True)
    if proc.returncode != 0 or not (Path(site) / SEARCH_FOLDER / "pagefind-ui.js").is_file():
        raise ReportError(f"Pagefind could not index {site} (exit {proc.returncode}): "
                          f"{(proc.stderr or proc.stdout).strip()[-2000:]}")
    write_offline_index(Path(site))
    return Path(site) / SEARCH_FOLDER


class _Sections(HTMLParser):
    """The text Pagefind indexes on one page (inside `data-pagefind-body`, outside `data-pagefind-ignore`), cut
    into sections at each heading h1-h4, so a result can link to its section as Pagefind's do: the heading's id is
    the section's anchor (one without an id keeps the anchor before it)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.sections: list[list[str]] = []   # [anchor, heading, text]
        self._stack: list[tuple[str, str]] = []   # open elements: (tag, role: body / ignore / heading / "")
        self._in_title = False

    def _inside(self, role: str) -> bool:
        return any(r == role for _, r in self._stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "title" and not self._inside("ignore") and not self._inside("body"):
            self._in_title = True
        self._gap(tag)
        if tag in _VOID:
            return
        role = ("ignore" if "data-pagefind-ignore" in a or tag in _SKIPPED else
                "body" if "data-pagefind-body" in a else
                "heading" if tag in _HEADINGS and self._inside("body") and not self._inside("ignore") else "")
        if role == "heading":
            self.sections.append([a.get("id") or (self.sections[-1][0] if self.sections else ""), "", ""])
        self._stack.append((tag, role))

    def _gap(self, tag: str) -> None:
        if tag not in _INLINE and self.sections and not any(t == "math" for t, _ in self._stack):
            self.sections[-1][1 if self._inside("heading") else 2] += " "

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        self._gap(tag)
        for i in range(len(self._stack) - 1, -1, -1):   # close up to the matching tag, as browsers do
            if self._stack[i][0] == tag:
                del self._stack[i:]
                return

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
            return
        if not self._inside("body") or self._inside("ignore"):
            return
        if not self.sections:
            self.sections.append(["", "", ""])
        self.sections[-1][1 if self._inside("heading") else 2] += data


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def offline_entries(site: Path) -> list[list[str]]:
    """One `[page, anchor, page title, heading, text]` per section of every indexed page of `site`, in path order."""
    entries = []
    for page in sorted(site.rglob("*.html")):
        rel = page.relative_to(site)
        if rel.parts[0] == SEARCH_FOLDER:
            continue
        parser = _Sections()
        parser.feed(page.read_text(encoding="utf-8", errors="replace"))
        # the page's name is its first heading (its <title> adds the site's name), else its <title>
        title = next((_squash(h) for _, h, _ in parser.sections if _squash(h)), _squash(parser.title))
        for anchor, heading, text in parser.sections:
            if _squash(heading) or _squash(text):
                entries.append([rel.as_posix(), anchor, title, _squash(heading), _squash(text)])
    return entries


def write_offline_index(site: Path) -> Path:
    """Write the `file://` index as a script, in ASCII (so it reads the same whatever charset the page has), with
    every `<` escaped, so no page text can close or open a tag."""
    body = json.dumps(offline_entries(site), ensure_ascii=True, separators=(",", ":")).replace("<", "\\u003c")
    out = site / SEARCH_FOLDER / OFFLINE_INDEX
    out.write_text(f"window.NNLAB_OFFLINE_SEARCH = {body};\n", encoding="utf-8")
    return out
