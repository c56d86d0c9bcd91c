"""Config → validated run specs with stable, content-derived ids.

The DAG is built from this module alone: the Snakefile validates the YAML, resolves
each experiment's grid for the chosen profile and gets one spec per run. A run's id is
a hash of its resolved spec, so two experiments (or two profiles) that ask for the same
training share one run, and editing one setting changes the id of exactly the runs it
touches: Snakemake then trains only those.
"""
from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from analysis.store.run_ids import canonical

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = ROOT / "config" / "schema.yaml"
CONFIG_PATH = ROOT / "config" / "config.yaml"
PROFILES = ("quick", "default", "full")
#: Keys of a resolved spec that must be present for a run to be trainable.
REQUIRED_SPEC_KEYS = ("dataset", "model", "activation", "optimizer", "lr", "batch_size", "epochs", "seed")
class ConfigError(ValueError):
    """The configuration is invalid; the message names the key and the problem."""


@dataclass(frozen=True)
class Run:
    """One training job: its id, resolved spec and the experiments that use it."""

    run_id: str
    spec: dict[str, Any]
    experiments: tuple[str, ...]


def load_schema() -> dict:
    return yaml.safe_load(SCHEMA_PATH.read_text())


def load_config(path: Path | str = CONFIG_PATH, overrides: dict | None = None) -> dict:
    """Read the YAML config, apply `--config`-style top-level overrides and validate it."""
    config = yaml.safe_load(Path(path).read_text()) or {}
    config.update(overrides or {})
    validate(config)
    return config


def _allowed_keys(schema: dict, root: dict) -> list[str]:
    keys = set((schema.get("properties") or {}).keys())
    ref = schema.get("$ref", "")
    if ref.startswith("#/$defs/"):
        keys |= set(_allowed_keys(root["$defs"][ref.split("/")[-1]], root))
    return sorted(keys)


def _describe(error: ValidationError, root: dict, prefix: str = "") -> str:
    where = ".".join([prefix] * bool(prefix) + [str(p) for p in error.absolute_path]) or "<top level>"
    if error.validator in ("additionalProperties", "unevaluatedProperties"):
        allowed = _allowed_keys(error.schema, root)
        hint = f" (allowed here: {', '.join(allowed)})" if allowed else ""
        return f"config key error at {where}: {error.message}{hint}"
    return f"config value error at {where}: {error.message}"


def validate(config: dict) -> None:
    """Validate against the JSON schema, then the cross-field rules the schema cannot state."""
    schema = load_schema()
    _raise_first(Draft202012Validator(schema).iter_errors(config), schema)
    # grid values are only typed once combined into runs: check every resolved spec too
    spec_validator = Draft202012Validator({"$ref": "#/$defs/spec", "$defs": schema["$defs"]})
    for name, exp in config["experiments"].items():
        for profile in PROFILES:
            for spec in _expand(config, name, exp, profile):
                where = f"experiments.{name} (profile {profile}, a run of the grid)"
                _raise_first(spec_validator.iter_errors(spec), schema, where)
                _check_spec(spec, where)


def _raise_first(errors, schema: dict, prefix: str = "") -> None:
    errors = list(errors)
    if errors:
        # the most specific error first, then a count: one screen, never a wall of text
        more = f"\n({len(errors) - 1} more problem(s) in the config)" if len(errors) > 1 else ""
        raise ConfigError(_describe(best_match(errors), schema, prefix) + more)


def _check_spec(spec: dict, where: str) -> None:
    missing = [k for k in REQUIRED_SPEC_KEYS if k not in spec]
    if missing:
        raise ConfigError(f"config error at {where}: resolved run lacks {', '.join(missing)}")
    model = spec["model"]
    need = {"mlp": ("hidden",), "cnn": ("conv", "fc"), "layers": ("layers",)}[model["kind"]]
    if model["kind"] == "mlp" and "hidden" not in model:
        need = ("depth", "width")  # `depth` hidden layers of `width` units
    lacking = [k for k in need if k not in model]
    if lacking:
        raise ConfigError(f"config error at {where}.model: kind {model['kind']} needs {', '.join(lacking)}")
    _check_training(spec, where)


def _check_training(spec: dict, where: str) -> None:
    """What only the training code can judge (the optimizer's own signature, a schedule's arguments, the loss):
    checked here so a typo fails the DAG build with one line, not a training job. Imports torch, so only for
    specs that use an optimizer, schedule or loss setting the cached runs did not (their DAG builds without it)."""
    if spec["optimizer"] in ("sgd", "adam") and not any(
            spec.get(k) for k in ("optimizer_args", "schedule", "loss", "conventions")):
        return
    from analysis.engine import losses, optim, schedules

    try:
        optim.check(spec)
        schedules.check(spec)
        losses.check(spec)
    except ValueError as exc:
        raise ConfigError(f"config error at {where}: {exc}") from None


def _deep_merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key != "model":
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _set_dotted(spec: dict, key: str, value: Any) -> None:
    parts = key.split(".")
    target = spec
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = copy.deepcopy(value)


def _expand(config: dict, name: str, exp: dict, profile: str) -> list[dict]:
    override = dict(exp.get("profiles", {}).get(profile, {}))
    seeds = override.pop("seeds", exp.get("seeds", [0]))
    override.pop("note", None)
    grid = {**exp.get("grid", {}), **override.pop("grid", {})}
    base = _deep_merge(_deep_merge(config["defaults"], exp["base"]), override)
    keys = list(grid)
    specs = []
    for combo in itertools.product(*(grid[k] for k in keys)):
        for seed in seeds:
            spec = copy.deepcopy(base)
            for key, value in zip(keys, combo):
                _set_dotted(spec, key, value)
            spec["seed"] = seed
            specs.append(canonical(spec))
    return specs


def experiment_specs(config: dict, experiment: str, profile: str) -> list[dict]:
    """The resolved run specs of one experiment in one profile (defaults, base, override and grid merged as
    for training), for pages that describe or rebuild an experiment's networks."""
    exp = config["experiments"].get(experiment)
    return _expand(config, experiment, exp, profile) if exp is not None else []


def grid_keys_of(config: dict) -> dict[str, list[str]]:
    """Experiment -> its grid keys (the base grid's and any profile's), to name a run by its grid cell."""
    return {name: list(dict.fromkeys([*exp.get("grid", {}),
                                      *(k for o in exp.get("profiles", {}).values() for k in o.get("grid", {}))]))
            for name, exp in config["experiments"].items()}
