"""Every shipped config validates; bad input raises errors that name field, value and what is accepted."""

from pathlib import Path

import pytest
import yaml

from qlearn_sense.config import (
    MEASUREMENT_NAMES,
    PREPARATION_NAMES,
    ConfigError,
    config_from_dict,
    config_to_yaml,
    load_config,
)
from qlearn_sense.protocol import MEASUREMENTS, PREPARATIONS

CONFIGS = sorted((Path(__file__).parents[2] / "configs").glob("*.yaml"))
EXPERIMENT_CONFIGS = [p for p in CONFIGS if not p.name.startswith("budget_")]


def test_there_are_shipped_configs():
    names = {p.name for p in CONFIGS}
    assert {"quickstart.yaml", "nv_action_potential.yaml"} <= names


@pytest.mark.parametrize("path", EXPERIMENT_CONFIGS, ids=lambda p: p.name)
def test_shipped_config_validates_and_round_trips(path, tmp_path):
    cfg = load_config(path)
    assert cfg.seed is not None
    again = tmp_path / "again.yaml"
    again.write_text(config_to_yaml(cfg))
    assert load_config(again) == cfg


def test_registry_names_match_config_literals():
    assert set(PREPARATION_NAMES) == set(PREPARATIONS)
    assert set(MEASUREMENT_NAMES) == set(MEASUREMENTS)


BASE = {
    "name": "t", "seed": 1,
    "sensor": {"kind": "nv_center", "t2_star_s": 2e-6, "interrogation_time_s": 1e-6},
    "signal": {"kind": "constant", "field_T": 1e-9},
    "protocol": {"n_qubits": 2},
}


def _with(path: str, value):
    data = yaml.safe_load(yaml.safe_dump(BASE))
    node = data
    parts = path.split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = value
    return data


@pytest.mark.parametrize("path, value, accepted", [
    ("sensor.t2_star_s", -1e-6, "greater than 0"),
    ("sensor.interrogation_time_s", 0.0, "greater than 0"),
    ("sensor.eta", 1.5, "less than or equal to 1"),
    ("sensor.eta", 0.0, "greater than 0"),
    ("execution.shots", 0, "greater than or equal to 1"),
    ("protocol.n_qubits", 13, "less than or equal to 12"),
    ("protocol.n_qubits", "four", "integer"),
    ("sensor.readout_fidelity", 0.4, "greater than 0.5"),
    ("optimizer.objective", "mse", "'qfi' or 'cfi'"),
    ("sensor.t2_star_sec", 1e-6, "unknown key"),
    ("bogus", 1, "unknown key"),
])
def test_bad_values_name_field_value_and_accepted(path, value, accepted):
    with pytest.raises(ConfigError) as info:
        config_from_dict(_with(path, value))
    msg = str(info.value)
    assert path in msg
    assert repr(value) in msg
    assert accepted in msg


def test_seed_is_required_and_names_are_checked():
    data = dict(BASE)
    del data["seed"]
    with pytest.raises(ConfigError, match="seed"):
        config_from_dict(data)
    with pytest.raises(ConfigError, match="accepted for engine .register.: ramsey"):
        config_from_dict(_with("protocol.preparation", {"ansatz": "bogus"}))
    with pytest.raises(ConfigError, match="name"):
        config_from_dict(_with("name", "has space"))
    with pytest.raises(ConfigError, match="gyromagnetic_ratio_Hz_per_T is required"):
        config_from_dict(_with("sensor.kind", "qubit"))


def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    bad.write_text("- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(bad)


def test_models_are_frozen():
    cfg = config_from_dict(BASE)
    with pytest.raises(Exception):
        cfg.seed = 3
