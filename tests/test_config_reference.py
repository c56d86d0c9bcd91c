"""docs/config-reference.md is what `python -m analysis.tools.config_reference` prints from the schema, and covers
every key the schema allows in a run spec."""
from __future__ import annotations

from pathlib import Path

from analysis.pipeline.config import load_schema
from analysis.tools.config_reference import reference

ROOT = Path(__file__).resolve().parent.parent


def test_committed_reference_is_the_generated_one():
    committed = (ROOT / "docs" / "config-reference.md").read_text()
    assert committed == reference(), "regenerate: python -m analysis.tools.config_reference > docs/config-reference.md"


def test_every_run_key_is_documented_with_a_description():
    text = reference()
    for key in load_schema()["$defs"]["spec_keys"]["properties"]:
        row = next(line for line in text.splitlines() if line.startswith(f"| `{key}` |"))
        assert not row.endswith("|  |"), row
