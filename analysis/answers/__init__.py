"""Per-page answers: `python -m analysis.answers --page seed002 ...`.

PAGES maps each report page to the function that computes its answers. Pages whose
exercise has not been built yet use `pending`, which says so on the page.
"""
from __future__ import annotations

import importlib
from typing import Callable

#: report page -> "module:function" computing its answers (module under analysis.answers)
PAGES: dict[str, str] = {
    "seed000": "seed000:build",
    "seed001": "seed001:build",
    "seed002": "seed002:build",
    "seed003": "seed003:build",
    "seed004": "seed004:build",
}


def builder(page: str) -> Callable:
    module_name, func = PAGES[page].split(":")
    return getattr(importlib.import_module(f"analysis.answers.{module_name}"), func)
