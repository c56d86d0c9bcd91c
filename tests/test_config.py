import copy

import pytest

from analysis.engine.activations import NAMES
from analysis.pipeline.config import ConfigError, load_config, load_schema, validate
from analysis.pipeline.plan import study_runs
from analysis.store.run_ids import run_id


@pytest.fixture
def config():
    return load_config()


def reject(config, mutate, *fragments):
    bad = copy.deepcopy(config)
    mutate(bad)
    with pytest.raises(ConfigError) as info:
        validate(bad)
    for fragment in fragments:
        assert fragment in str(info.value), str(info.value)
    return str(info.value)


def _activation_refs(node, path="") -> list[str]:
    """Where the schema names activations: every `act`/`activation` property, and what it holds."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("act", "activation") and isinstance(value, dict) and path.endswith("properties"):
                found.append(f"{path}.{key}: {value}")
            found += _activation_refs(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for item in node:
            found += _activation_refs(item, path)
    return found


def test_the_schemas_activation_names_are_the_registrys():
    """One list of activation names in the schema (`$defs/activation`), equal to analysis/engine/activations.py's."""
    schema = load_schema()
    enum = schema["$defs"]["activation"]["enum"]
    assert not set(NAMES) - set(enum), f"registered but not in schema.yaml: {sorted(set(NAMES) - set(enum))}"
    assert not set(enum) - set(NAMES), f"in schema.yaml but not registered: {sorted(set(enum) - set(NAMES))}"
    assert tuple(enum) == NAMES, "schema.yaml's $defs/activation should list the registry's names in its order"
    refs = _activation_refs(schema)
    assert len(refs) == 2 and all("#/$defs/activation" in r for r in refs), refs


def test_a_registered_activation_validates_and_keeps_run_ids(config):
    """gelu is registered and accepted by the schema; registering it changed no existing run's id."""
    before = set(study_runs(config, "quick"))
    changed = copy.deepcopy(config)
    changed["experiments"]["m2_depth"]["grid"]["activation"].append("gelu")
    validate(changed)
    after = study_runs(changed, "quick")
    assert before < set(after)
    assert {r.spec["activation"] for rid, r in after.items() if rid not in before} == {"gelu"}


def test_unknown_key_is_named(config):
    reject(config, lambda c: c["experiments"]["a7_4"]["base"].update(lrr=0.1), "'lrr' was unexpected",
           "experiments.a7_4.base")


def test_unknown_top_level_key_is_named(config):
    reject(config, lambda c: c.update(epochz=3), "'epochz' was unexpected")


def test_wrong_type_and_negative_lr(config):
    reject(config, lambda c: c["experiments"]["a7_4"]["base"].update(lr="fast"), "base.lr", "not of type")
    reject(config, lambda c: c["experiments"]["a7_4"]["base"].update(lr=-0.1), "base.lr", "-0.1")


def test_unknown_activation_in_grid_and_empty_grid(config):
    reject(config, lambda c: c["experiments"]["a7_4"]["grid"].update(activation=["sigmoid", "swish"]), "'swish'")
    reject(config, lambda c: c["experiments"]["a7_4"]["grid"].update(activation=[]), "grid.activation")


def test_unknown_dataset_and_profile(config):
    reject(config, lambda c: c["experiments"]["a7_4"]["base"].update(dataset="cifar10"), "'cifar10'")
    reject(config, lambda c: c.update(profile="huge"), "profile")


def test_run_id_is_content_derived_and_stable():
    spec = {"dataset": "mnist", "model": {"kind": "mlp", "hidden": [8]}, "activation": "relu",
            "optimizer": "sgd", "lr": 0.1, "batch_size": 4, "epochs": 1, "seed": 0}
    reordered = dict(reversed(list(spec.items())))
    assert run_id(spec) == run_id(reordered)
    assert run_id(spec) == "2892048492e7"  # a change here silently orphans every cached run
    assert run_id({**spec, "lr": 0.2}) != run_id(spec)


def test_grid_times_seeds_and_profiles(config):
    def of(runs, name):
        return {rid: r for rid, r in runs.items() if name in r.experiments}

    quick, default = of(study_runs(config, "quick"), "a7_4"), of(study_runs(config, "default"), "a7_4")
    exp = config["experiments"]["a7_4"]
    assert len(default) == len(exp["grid"]["activation"]) * len(exp["profiles"]["default"]["seeds"])
    assert len(quick) == len(exp["grid"]["activation"]) * len(exp["profiles"]["quick"]["seeds"])
    assert {r.spec["activation"] for r in default.values()} == set(exp["grid"]["activation"])
    assert not set(quick) & set(default)  # the quick subset is a different run
    # a profile's grid override replaces the grid: D1.4's default drops the δ = 1 L2 run; full adds seeds 2-5
    full_pen = of(study_runs(config, "full"), "d1_penalty")
    default_pen = of(study_runs(config, "default"), "d1_penalty")
    assert len(full_pen) == 6 * 5 and len(default_pen) == 5 and set(default_pen) < set(full_pen)
    assert {r.spec["seed"] for r in full_pen.values()} == {1, 2, 3, 4, 5}


def _hash_before_new_keys(spec: dict) -> str:
    """run_id as it was computed before any key was added (SPEC_VERSION 4, the spec as written)."""
    import hashlib
    import json

    text = json.dumps({"v": 4, **spec}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def test_quick_profile_ids_are_those_of_the_specs_as_before(config):
    """Cached runs keep their ids: every run id equals the pre-change hash of its spec, computed from the config."""
    from analysis.pipeline.config import experiment_specs

    expected = sorted({_hash_before_new_keys(spec) for name in config["experiments"]
                       for spec in experiment_specs(config, name, "quick")})
    assert sorted(study_runs({**config, "profile": "quick"}, "quick")) == expected


def test_new_keys_at_their_defaults_do_not_enter_the_id(config):
    from analysis.pipeline.config import load_schema
    from analysis.store.run_ids import NEUTRAL_KEYS, canonical

    spec = next(iter(study_runs({**config, "profile": "quick"}, "quick").values())).spec
    spelled = dict(spec)
    for key, (neutral, sub_defaults) in NEUTRAL_KEYS.items():
        spelled[key] = {**neutral, **sub_defaults} if isinstance(neutral, dict) else neutral
    assert canonical(spelled) == spec and run_id(spelled) == run_id(spec)
    properties = load_schema()["$defs"]["spec_keys"]["properties"]
    for key, (neutral, _) in NEUTRAL_KEYS.items():
        assert properties[key].get("default") == neutral, key
    changed = {**spec, "optimizer_args": {"nesterov": True}}
    assert run_id(changed) != run_id(spec)


def test_optimizer_argument_typo_fails_the_dag_build_in_one_line(config):
    def mutate(c):
        c["experiments"]["a7_4"]["base"].update(optimizer="sgd", optimizer_args={"nesterovv": True})

    message = reject(config, mutate, "experiments.a7_4", "optimizer sgd has no argument 'nesterovv'", "nesterov")
    assert "\n" not in message


@pytest.mark.parametrize("name", ["../evil name", "a/b", "1st", "x<y>"])
def test_an_experiment_name_must_be_an_identifier(name):
    """A name becomes an anchor, a figure's file name and a run's experiment: the schema refuses anything else,
    in one line naming it."""
    config = load_config()
    config["experiments"][name] = config["experiments"]["a7_4"]
    with pytest.raises(ConfigError) as info:
        validate(config)
    assert name in str(info.value) and "does not match" in str(info.value) and "\n" not in str(info.value)
