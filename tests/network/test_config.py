"""The ``network:`` config section: bad input names the field; shipped configs validate and build."""

import pytest
from pydantic import ValidationError

from qlearn_sense.experiments._network_config import network_from_config

from network_helpers import SHIPPED, load_yaml, network_config, tiny_network


def _error(**overrides) -> str:
    with pytest.raises(ValidationError) as info:
        network_config(tiny_network(**overrides))
    return str(info.value)


def test_tiny_config_builds():
    cfg = network_config(tiny_network())
    net, est = network_from_config(cfg.network, cfg.sensor)
    assert net.n_qubits == 2 and est.weights == (0.5, 0.5)
    assert net.links[0].efficiency == 0.9


def test_node_with_zero_qubits():
    msg = _error(nodes=[{"name": "a", "position_m": [0, 0, 0], "qubits": 0},
                        {"name": "b", "position_m": [1, 0, 0], "qubits": 1}])
    assert "network.nodes.0.qubits" in msg and "greater than or equal to 1" in msg


def test_link_to_unknown_node():
    msg = _error(links=[{"nodes": ["a", "c"], "efficiency": 0.5}])
    assert "network.links[0].nodes" in msg and "'c' is not a node" in msg


@pytest.mark.parametrize("eff", [0.0, 1.5, -0.2])
def test_efficiency_outside_unit_interval(eff):
    msg = _error(links=[{"nodes": ["a", "b"], "efficiency": eff}])
    assert "network.links.0.efficiency" in msg


def test_singular_weight_matrix():
    msg = _error(estimand={"weight_matrix": [[1.0, 1.0], [1.0, 1.0]]})
    assert "network.estimand.weight_matrix" in msg and "singular" in msg


def test_other_errors_name_their_field():
    assert "network.estimand.weights has 3 entries" in _error(estimand={"weights": [1, 2, 3]})
    assert "exactly one of" in _error(estimand={"weights": [1, 1], "named": "sum"})
    assert "no link between hub 'a' and node 'b'" in _error(links=[])
    assert "network.sources[0].node" in _error(
        sources=[{"kind": "node_field", "name": "x", "node": "zz", "value_T": 1e-9},
                 {"kind": "node_field", "name": "y", "node": "b", "value_T": 1e-9}])
    assert "at most 8" in _error(nodes=[{"name": "a", "position_m": [0, 0, 0], "qubits": 5},
                                        {"name": "b", "position_m": [1, 0, 0], "qubits": 4}])
    assert "strictly increasing" in _error(efficiency_sweep=[0.5, 0.2])
    assert "network.hub" in _error(hub="zz")


def test_ensemble_nodes_build_as_sensing_only_nodes():
    cfg = network_config(tiny_network(nodes=[{"name": "a", "position_m": [0, 0, 0], "qubits": 1},
                                             {"name": "b", "position_m": [1, 0, 0], "qubits": 1},
                                             {"name": "nv", "position_m": [2, 0, 0], "kind": "nv_ensemble",
                                              "n_spins": 1e6, "a0": 0.03, "a1": 0.021, "delta_ms": 2}]))
    net, _ = network_from_config(cfg.network, cfg.sensor)
    nv = net.nodes[2]
    assert nv.kind == "nv_ensemble" and nv.n_qubits == 0 and net.n_qubits == 2
    assert nv.rad_per_T == pytest.approx(2 * net.nodes[0].rad_per_T)  # double quantum: twice the phase
    assert nv.phase_fisher == pytest.approx(1e6 / 35.50**2, rel=1e-3)  # N eta^2 / sigma_R^2, eta = 1 (REFERENCES)


def test_shipped_configs_validate_and_build():
    for path in SHIPPED:
        cfg = network_config(load_yaml(path))
        net, est = network_from_config(cfg.network, cfg.sensor)
        assert net.n_qubits <= 8
        assf = net.jacobian()
        assert (abs(assf).sum(axis=0) > 0).all()  # every source is seen by some node
