"""A run's stable id: the hash of its resolved spec, so two experiments (or profiles) asking for the same training
share one run and editing one setting changes the id of exactly the runs it touches. Kept in the store, below the
engine, because training checks that each spec it is handed hashes to its run's id."""
from __future__ import annotations

import hashlib
import json
from typing import Any

#: Bump when the meaning of a spec key or the training arithmetic changes, so old cached runs
#: are not reused. 2: fused SGD/Adam kernels. 3: gradient probe reduces a preallocated |g|.
#: 4: train_penalty, track and dead_fraction outputs; full-batch steps skip the shuffle.
#: Packed training (analysis/engine/packed.py) kept 4: a run trained alone is a pack of one and gives the
#: same bits as before (tests/test_packed.py), so cached runs stay valid.
SPEC_VERSION = 4
#: Spec keys added after runs were cached: key -> (the value meaning "as before", defaults of its sub-keys).
#: `canonical` drops them (and their sub-keys) at these values, so a run that does not use a new feature keeps
#: its id and its cached results whether or not its spec spells the default out. A new key goes here with
#: the schema `default` it documents (tests/test_config.py checks they agree).
NEUTRAL_KEYS: dict[str, tuple[Any, dict[str, Any]]] = {
    "optimizer_args": ({}, {}),
    "schedule": ({"name": "constant"}, {"interval": "epoch", "warmup": 0}),
    "init_mode": ("fan_in", {}),
    "init_bias": (None, {}),
    "loss": ({"name": "cross_entropy"}, {"label_smoothing": 0.0, "output": "softmax"}),
    "conventions": ("pytorch", {}),
}


def canonical(spec: dict) -> dict:
    """The spec without the new keys (NEUTRAL_KEYS) that are at their defaults: what trains and what is hashed."""
    out = dict(spec)
    for key, (neutral, sub_defaults) in NEUTRAL_KEYS.items():
        if key not in out:
            continue
        value = out[key]
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in sub_defaults or sub_defaults[k] != v}
            out[key] = value
        if value is None or value == neutral:
            del out[key]
    return out


def run_id(spec: dict) -> str:
    """Stable id: the first 12 hex digits of the SHA-256 of the canonical JSON spec (new keys at their
    defaults left out, see `canonical`)."""
    text = json.dumps({"v": SPEC_VERSION, **canonical(spec)}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]
