"""`python -m analysis.tools.config_reference > docs/config-reference.md`: every configuration key from the schema.

Why generated: config/schema.yaml is what validation enforces, so a reference written from it cannot drift
(tests/test_config_reference.py compares the committed file with this output). A key's default is the schema's
`default` where it states one, else the value config/config.yaml gives it (its `defaults:` block for run keys).
"""
from __future__ import annotations

import json
import sys
from typing import Any, Iterator

import yaml

from analysis.pipeline.config import CONFIG_PATH, load_schema

_MISSING = object()
#: references documented in a section of their own instead of repeated where they are used
_SECTIONS = {"#/$defs/spec": "mapping of run keys (above)", "#/$defs/override": "profile override (below)"}


def _resolve(node: dict, root: dict) -> dict:
    """The node with its `$ref` (to #/$defs/…) merged in; the node's own keys win."""
    ref = node.get("$ref", "")
    if not ref.startswith("#/$defs/"):
        return node
    target = _resolve(root["$defs"][ref.split("/")[-1]], root)
    return {**target, **{k: v for k, v in node.items() if k != "$ref"}}


def _type(node: dict, root: dict) -> str:
    node = _resolve(node, root)
    if "enum" in node:
        return " \\| ".join(f"`{v}`" for v in node["enum"])
    if "const" in node:
        return f"`{node['const']}`"
    if "oneOf" in node:
        return " or ".join(_type(option, root) for option in node["oneOf"])
    kinds = node.get("type", "object" if "properties" in node else "any")
    text = " or ".join(kinds) if isinstance(kinds, list) else kinds
    if text == "array" and "items" in node:
        text = f"array of {_type(node['items'], root)}"
    bounds = [f"{sign} {node[key]}" for key, sign in (("minimum", "≥"), ("exclusiveMinimum", ">"),
                                                       ("maximum", "≤"), ("exclusiveMaximum", "<"))
              if key in node]
    return text + (f" ({', '.join(bounds)})" if bounds else "")


def _value(value: Any) -> str:
    return "" if value is _MISSING else f"`{json.dumps(value)}`"


def rows(node: dict, root: dict, prefix: str, config: Any) -> Iterator[tuple[str, str, str, str]]:
    """(key, type, default, description) for every property under `node`, depth first."""
    node = _resolve(node, root)
    for key, child in (node.get("properties") or {}).items():
        name = f"{prefix}{key}"
        if child.get("$ref") in _SECTIONS:
            yield name, _SECTIONS[child["$ref"]], "", " ".join(child.get("description", "").split())
            continue
        child = _resolve(child, root)
        given = config.get(key, _MISSING) if isinstance(config, dict) else _MISSING
        default = child["default"] if "default" in child else given
        if "properties" in child and key != "model":
            yield name, "mapping", "", " ".join(child.get("description", "").split())
            yield from rows(child, root, f"{name}.", given)
            continue
        yield name, _type(child, root), _value(default), " ".join(child.get("description", "").split())
        if key == "model":
            yield from rows(child, root, f"{name}.", _MISSING)
        items = _resolve(child.get("items", {}), root)
        for option in items.get("oneOf", []):
            yield from rows(option, root, f"{name}[].", _MISSING)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _table(entries: Iterator[tuple[str, str, str, str]]) -> str:
    lines = ["| key | type | default | description |", "|---|---|---|---|"]
    lines += [f"| `{k}` | {t} | {d} | {_cell(desc)} |" for k, t, d, desc in entries]
    return "\n".join(lines)


def reference() -> str:
    """The whole reference as Markdown."""
    schema = load_schema()
    config = yaml.safe_load(CONFIG_PATH.read_text())
    top = {**schema, "properties": {k: v for k, v in schema["properties"].items() if k not in ("defaults",
                                                                                               "experiments")}}
    return "\n\n".join([
        "# Configuration reference",
        "Generated from `config/schema.yaml` by "
        "`python -m analysis.tools.config_reference > docs/config-reference.md`; "
        "do not edit by hand. Defaults: the schema's where it states one, else `config/config.yaml`'s.",
        "## Top-level settings", _table(rows(top, schema, "", config)),
        "## Run keys (`defaults:`, an experiment's `base`, its profile overrides and grids)",
        _table(rows(schema["$defs"]["spec_keys"], schema, "", config.get("defaults", {}))),
        "## Experiments (`experiments.<name>`)", _table(rows(schema["$defs"]["experiment"], schema, "", _MISSING)),
        "## Profile overrides (`experiments.<name>.profiles.<profile>`, besides any run key)",
        _table((k, t, d, desc) for k, t, d, desc in rows(schema["$defs"]["override"], schema, "", _MISSING)
               if k in ("seeds", "note", "grid")),
    ]) + "\n"


def main() -> int:
    sys.stdout.write(reference())
    return 0


if __name__ == "__main__":
    sys.exit(main())
