"""Per-page answers: `python -m analysis.study.answers --page a7 ...`.

PAGES maps each report page to the function that computes its answers. Each source-document
page module declares the experiments it shows in a `CLAIMS` tuple; the `experiments` page shows
every experiment no document page claims, so an experiment added in YAML alone is still shown.
Kept free of heavy imports: the Snakefile reads PAGES.
"""
from __future__ import annotations

import importlib
from types import ModuleType
from typing import Callable

from analysis.study.documents import BY_PAGE, DOCUMENTS

#: the pages that answer one source document each (analysis/study/documents.py; their modules declare CLAIMS)
DOCUMENT_PAGES: tuple[str, ...] = tuple(d.page for d in DOCUMENTS)
#: report page -> "module:function" computing its answers (module under analysis.study.answers)
PAGES: dict[str, str] = {**{page: f"{page}:build" for page in DOCUMENT_PAGES}, "experiments": "experiments:build"}


def page_label(page: str) -> str:
    """Link text for a page: 'm2' -> 'M2 · document 003', 'experiments' -> 'Experiments'."""
    return BY_PAGE[page].label if page in BY_PAGE else page.capitalize()


def module(page: str) -> ModuleType:
    return importlib.import_module(f"analysis.study.answers.{PAGES[page].split(':')[0]}")


def builder(page: str) -> Callable:
    return getattr(module(page), PAGES[page].split(":")[1])


def claims(page: str) -> tuple[str, ...] | None:
    """The experiments a page declares it shows (None: the page declares none and is not checked)."""
    return getattr(module(page), "CLAIMS", None)


def declared_questions(page: str) -> tuple:
    """The questions a page declares (analysis.study.answers.questions.Question; empty for the experiments page)."""
    return getattr(module(page), "QUESTIONS", ())


def claimed_experiments() -> dict[str, list[str]]:
    """experiment -> the document pages that show it, from the pages' CLAIMS declarations."""
    owners: dict[str, list[str]] = {}
    for page in DOCUMENT_PAGES:
        for experiment in claims(page) or ():
            owners.setdefault(experiment, []).append(page)
    return owners
