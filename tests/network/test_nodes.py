"""Sensing-only network nodes (collective ensemble, NV ensemble): Fisher information, model and config errors."""

import math

import numpy as np
import pytest

from qlearn_sense.collective import finite_n_bound
from qlearn_sense.experiments._network_config import network_from_config
from qlearn_sense.network import (
    Estimand,
    Link,
    Network,
    Node,
    Source,
    ensemble_phase_fisher,
    fisher_matrices,
    nv_ensemble_phase_fisher,
    precision,
)
from qlearn_sense.physics import NVEnsembleSensor

from network_helpers import network_config, tiny_network


def test_ensemble_fisher_closed_forms_and_bounds():
    assert ensemble_phase_fisher(1, 0.8) == (pytest.approx(0.64), "single spin |+>")
    f, name = ensemble_phase_fisher(4, 1.0)
    assert f == pytest.approx(16.0, rel=1e-9) and name == "ghz"  # Heisenberg limit N^2 without dephasing
    n, eta = 12, 0.9
    f, name = ensemble_phase_fisher(n, eta)
    assert n * eta**2 * 1.2 < f <= finite_n_bound(n, eta) * (1 + 1e-9)  # squeezing beats N eta^2, below the bound
    assert name == "one-axis twisted"


@pytest.mark.parametrize("n, eta", [(0, 0.9), (1001, 0.9), (2.5, 0.9), (4, 0.0), (4, 1.2)])
def test_ensemble_fisher_bad_input(n, eta):
    with pytest.raises(ValueError, match="n_spins|eta"):
        ensemble_phase_fisher(n, eta)


def test_nv_ensemble_fisher_matches_physics_model():
    s = NVEnsembleSensor(n_spins=1e9, a0=0.03, a1=0.021, t2_star_s=2e-6, t2_s=2e-6)
    tau = 1e-6
    assert nv_ensemble_phase_fisher(1e9, 0.03, 0.021, s.coherence(tau)) == pytest.approx(
        s.phase_fisher_per_shot(tau), rel=1e-12)
    with pytest.raises(ValueError, match="a0"):
        nv_ensemble_phase_fisher(10, 0.02, 0.03, 0.9)
    with pytest.raises(ValueError, match="n_spins"):
        nv_ensemble_phase_fisher(0.5, 0.03, 0.02, 0.9)
    with pytest.raises(ValueError, match="eta"):
        nv_ensemble_phase_fisher(10, 0.03, 0.02, 0.0)


def _net_with_ensemble(fisher=50.0):
    nodes = (Node("a", (0, 0, 0), 1, 1.0), Node("b", (1, 0, 0), 1, 1.0),
             Node("e", (2, 0, 0), 0, 3.0, kind="ensemble", phase_fisher=fisher, n_spins=10))
    src = (Source("node_field", 0.3, "Ba", node=0), Source("node_field", 0.1, "Be", node=2))
    return Network(nodes, (Link(0, 1, 0.9),), src)


def test_ensemble_information_adds_through_the_lead_field():
    net, est = _net_with_ensemble(), Estimand(weights=(0.0, 1.0))
    assert net.n_qubits == 2 and list(net.register_channels) == [True, True, False]
    assert len(net.circuit_phases()) == 2
    np.testing.assert_allclose(net.local_fisher(), [[0, 0], [0, 50.0 * 9.0]])  # J^T F J, J = rad_per_T = 3
    for strategy in ("classical", "local", "distributed"):
        c = net.circuit(strategy, layers=1)
        assert c.channels == ((0, "z"), (1, "z"))  # the ensemble node has no qubits in the circuit
        fq, fc = fisher_matrices(net, c, np.zeros(c.n_params))
        # B_e is seen by the ensemble node only: its precision is F_node (d phi / d B)^2 in every strategy
        assert precision(est, fq) == pytest.approx(450.0, rel=1e-9)
        assert precision(est, fc) == pytest.approx(450.0, rel=1e-9)


def test_network_rejects_bad_sensing_nodes():
    a = Node("a", (0, 0, 0), 1, 1.0)
    with pytest.raises(ValueError, match=r"nodes\[1\].qubits"):
        Network((a, Node("e", (1, 0, 0), 2, 1.0, kind="ensemble", phase_fisher=1.0)))
    with pytest.raises(ValueError, match=r"nodes\[1\].phase_fisher"):
        Network((a, Node("e", (1, 0, 0), 0, 1.0, kind="ensemble")))
    with pytest.raises(ValueError, match=r"nodes\[1\].axes"):
        Network((a, Node("e", (1, 0, 0), 0, 1.0, axes=("x", "z"), kind="nv_ensemble", phase_fisher=1.0)))
    with pytest.raises(ValueError, match=r"nodes\[1\].kind"):
        Network((a, Node("e", (1, 0, 0), 0, 1.0, kind="squid", phase_fisher=1.0)))
    with pytest.raises(ValueError, match="no register node"):
        Network((Node("e", (1, 0, 0), 0, 1.0, kind="ensemble", phase_fisher=1.0),))
    with pytest.raises(ValueError, match="hub"):
        Network((a, Node("e", (1, 0, 0), 0, 1.0, kind="ensemble", phase_fisher=1.0)), hub=1)
    with pytest.raises(ValueError, match=r"common_mode.correlation = 1.5"):
        Network((a,), common_correlation=1.5)
    with pytest.raises(ValueError, match=r"common_mode.std_T"):
        Network((a,), common_std_T=-1.0)
    two = Network((a, Node("b", (1, 0, 0), 1, 1.0), Node("c", (2, 0, 0), 1, 1.0)), common_std_T=1.0)
    assert two.with_correlation(0.4).common_correlation == 0.4
    with pytest.raises(ValueError, match="not positive semidefinite"):
        two.with_correlation(-0.9)


def _nodes(extra: dict) -> list:
    return [{"name": "a", "position_m": [0, 0, 0], "qubits": 1}, {"name": "b", "position_m": [1, 0, 0], "qubits": 1},
            {"name": "e", "position_m": [2, 0, 0], **extra}]


def _error(**overrides) -> str:
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as info:
        network_config(tiny_network(**overrides))
    return str(info.value)


@pytest.mark.parametrize("extra, expected", [
    ({"kind": "ensemble", "n_spins": 0}, "network.nodes.2.n_spins"),
    ({"kind": "ensemble", "n_spins": 2000}, "network.nodes[2].n_spins = 2000"),
    ({"kind": "ensemble", "n_spins": 10.5}, "network.nodes[2].n_spins = 10.5"),
    ({"kind": "ensemble"}, "network.nodes[2].n_spins is required"),
    ({"kind": "ensemble", "n_spins": 10, "qubits": 1}, "network.nodes[2].qubits"),
    ({"kind": "ensemble", "n_spins": 10, "axes": ["x", "z"]}, "network.nodes[2].axes"),
    ({"kind": "ensemble", "n_spins": 10, "a0": 0.03}, "network.nodes[2].a0"),
    ({"kind": "nv_ensemble", "n_spins": 1e6, "a0": 0.02, "a1": 0.03}, "network.nodes[2].a0 = 0.02 must exceed"),
    ({"kind": "nv_ensemble", "n_spins": 1e6, "a0": 0.02, "a1": 0.02}, "network.nodes[2].a0 = 0.02 must exceed"),
    ({"kind": "nv_ensemble", "n_spins": 1e6}, "network.nodes[2].a0 and"),
    ({"kind": "nv_ensemble", "n_spins": 1e6, "a0": 0.03, "a1": -0.1}, "network.nodes.2.a1"),
    ({}, "network.nodes[2].qubits is required"),
    ({"qubits": 1, "n_spins": 5}, "network.nodes[2].n_spins applies to ensemble nodes only"),
])
def test_node_config_errors_name_the_field(extra, expected):
    assert expected in _error(nodes=_nodes(extra))


@pytest.mark.parametrize("corr", [1.5, -1.01])
def test_correlation_outside_unit_interval(corr):
    msg = _error(common_mode={"std_T": 1e-9, "correlation": corr})
    assert "network.common_mode.correlation" in msg


def test_hub_must_be_a_register_and_ensembles_need_no_link():
    msg = _error(nodes=_nodes({"kind": "ensemble", "n_spins": 4}), hub="e")
    assert "network.hub = 'e' is not a register node" in msg
    cfg = network_config(tiny_network(nodes=_nodes({"kind": "ensemble", "n_spins": 4})))  # no link a-e: fine
    net, _ = network_from_config(cfg.network, cfg.sensor)
    assert net.nodes[2].kind == "ensemble" and net.nodes[2].phase_fisher == pytest.approx(16.0)  # GHZ, eta = 1
    assert net.nodes[2].n_spins == 4 and math.isclose(net.nodes[2].rad_per_T, net.nodes[0].rad_per_T)
