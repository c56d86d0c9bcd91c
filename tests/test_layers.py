"""The package's layers are folders, and imports run one way: a layer imports only the layers listed before it
(analysis/__init__.py). Read from the source (every import statement, also inside functions), so a new
upward import fails here before it tangles the graph; and the site and the figure style load without torch."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "analysis"
ORDER = ("store", "data", "engine", "pipeline", "study", "site", "tools")


def layer_of(module: str) -> str | None:
    """'analysis.engine.models' -> 'engine'; a name outside the package -> None."""
    parts = module.split(".")
    return parts[1] if parts[0] == "analysis" and len(parts) > 1 else None


def imported_modules(path: Path) -> set[str]:
    """Every `analysis.*` module a file imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.update(f"{node.module}.{alias.name}" if node.module.count(".") == 1 else node.module
                         for alias in node.names)
    return {name for name in found if name.startswith("analysis.")}


def upward_imports() -> list[str]:
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if len(rel.parts) < 2:
            continue
        own = rel.parts[0]
        for module in imported_modules(path):
            target = layer_of(module)
            if target not in ORDER:
                bad.append(f"{rel}: imports {module}, which is in no layer")
            elif ORDER.index(target) > ORDER.index(own):
                bad.append(f"{rel} ({own}) imports {module} ({target})")
    return bad


def test_every_module_lives_in_a_layer_folder():
    loose = [p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py"]
    assert loose == []
    assert sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__") == sorted(ORDER)


def test_imports_run_one_way_between_layers():
    assert upward_imports() == []


def test_the_check_finds_an_upward_import(tmp_path, monkeypatch):
    fake = tmp_path / "analysis"
    (fake / "engine").mkdir(parents=True)
    (fake / "engine" / "models.py").write_text("def f():\n    from analysis.site import landing\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    assert upward_imports() == ["engine/models.py (engine) imports analysis.site.landing (site)"]


@pytest.mark.parametrize("module", ["analysis.site.report", "analysis.site.landing", "analysis.site.results_summary",
                                    "analysis.site.pandoc_site", "analysis.site.sitecheck", "analysis.study.figures"])
def test_the_site_and_the_figure_style_import_without_torch(module):
    code = f"import sys, {module}; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False", f"importing {module} loads torch"
