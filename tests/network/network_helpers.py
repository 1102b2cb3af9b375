"""Helpers: an ExperimentConfig that carries the ``network:`` section.

Until ``network: NetworkConfig | None`` is added to ExperimentConfig (by the lead), the tests
validate configs with a subclass that adds it.
"""

from pathlib import Path

import yaml

from qlearn_sense.config import ExperimentConfig
from qlearn_sense.config._network import NetworkConfig

CONFIGS = Path(__file__).resolve().parents[2] / "configs"

if "network" in ExperimentConfig.model_fields:
    NetworkExperimentConfig = ExperimentConfig
else:
    class NetworkExperimentConfig(ExperimentConfig):  # pragma: no cover - until the field exists
        network: NetworkConfig | None = None


def network_config(d: dict):
    """Validate an experiment dict with a network section."""
    return NetworkExperimentConfig.model_validate(d)


BASE = {
    "name": "net", "seed": 3,
    "sensor": {"kind": "nv_center", "eta": 1.0, "interrogation_time_s": 1e-6},
    "signal": {"kind": "constant", "field_T": 1e-9}, "protocol": {"n_qubits": 2},
}


def tiny_network(**overrides) -> dict:
    """Two one-qubit NV nodes, a 0.9 link, average of the two node fields."""
    net = {"nodes": [{"name": "a", "position_m": [0, 0, 0], "qubits": 1},
                     {"name": "b", "position_m": [0.05, 0, 0], "qubits": 1}],
           "links": [{"nodes": ["a", "b"], "efficiency": 0.9}],
           "sources": [{"kind": "node_field", "name": "Ba", "node": "a", "value_T": 3e-6},
                       {"kind": "node_field", "name": "Bb", "node": "b", "value_T": 1e-6}],
           "estimand": {"named": "average"}}
    net.update(overrides)
    return {**BASE, "network": net}


SHIPPED = [CONFIGS / n for n in ("network_gradiometer.yaml", "network_brain_heart.yaml",
                                 "multiparameter_vector_field.yaml")]


def load_yaml(path: Path) -> dict:
    """Parse a YAML file."""
    return yaml.safe_load(path.read_text())
