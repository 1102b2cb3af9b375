"""The network simulator against qiskit.quantum_info (and Aer's noise channels), and its invariants."""

from dataclasses import replace

import numpy as np
import pytest
from qiskit.quantum_info import DensityMatrix, Kraus

from qlearn_sense.network import (
    Link,
    Network,
    NetworkCircuit,
    Node,
    Source,
    bind_network,
    common_mode_factor,
    compile_network,
    node_charges,
    to_qiskit_network,
)


def _network(**kw):
    nodes = (Node("a", (0, 0, 0), 2, 1.0, eta=0.9), Node("b", (0.1, 0, 0), 1, 1.0, eta=0.8, axes=("x", "z")))
    src = (Source("node_field", 0.3, node=0), Source("node_field", 0.2, node=1, axis="x"),
           Source("node_field", -0.4, node=1, axis="z"))
    return Network(nodes, (Link(0, 1, 0.7, 0.1),), src, **kw)


def _qiskit_probs(circuit, theta, phis):
    """Independent density-matrix pipeline: qiskit circuits + Aer channels, same stage order."""
    from qiskit_aer.noise import amplitude_damping_error, depolarizing_error

    prep = replace(circuit, measure=(), channels=())
    enc = replace(circuit, prep=(), measure=())
    meas = replace(circuit, prep=(), channels=())
    dm = DensityMatrix(bind_network(to_qiskit_network(prep, measure=False), theta, []))
    for q in range(circuit.n_qubits):
        if circuit.travelling[q]:
            dm = dm.evolve(amplitude_damping_error(circuit.link_gamma[q]).to_quantumchannel(), [q])
            dm = dm.evolve(depolarizing_error(circuit.link_p[q], 1).to_quantumchannel(), [q])
    dm = dm.evolve(bind_network(to_qiskit_network(enc, measure=False, phis=phis), theta, phis))
    for q, eta in enumerate(circuit.eta):
        dm = dm.evolve(Kraus([np.diag([1, eta]), np.diag([0, np.sqrt(1 - eta**2)])]), [q])
    dm = DensityMatrix(dm.data * common_mode_factor(circuit))
    return dm.evolve(bind_network(to_qiskit_network(meas, measure=False), theta, [])).probabilities()


@pytest.mark.parametrize("strategy", ["classical", "local", "distributed"])
def test_probs_match_qiskit_with_links_dephasing_and_vector_encoding(strategy, rng):
    net = _network(common_std_T=0.3, common_correlation=0.5)
    c = net.circuit(strategy, layers=1)
    theta = rng.uniform(-np.pi, np.pi, c.n_params)
    phis = rng.uniform(-1, 1, len(c.channels))
    ours = np.asarray(compile_network(c).probs(theta, phis))
    np.testing.assert_allclose(ours, _qiskit_probs(c, theta, phis), atol=1e-10)
    assert abs(ours.sum() - 1) < 1e-10


def test_vector_encoding_needs_numeric_phases():
    c = _network().circuit("classical")
    with pytest.raises(ValueError, match="numeric phis"):
        to_qiskit_network(c)


def test_common_mode_factor_matches_gaussian_average(rng):
    # perfectly correlated noise on two 1-qubit nodes: average RZ(delta) RZ(delta) over delta ~ N(0, s^2)
    s = 0.7
    nodes = (Node("a", (0, 0, 0), 1, 1.0), Node("b", (1, 0, 0), 1, 1.0))
    net = Network(nodes, (), (Source("node_field", 0.0, node=0),), common_std_T=s, common_correlation=1.0)
    c = net.circuit("classical")
    psi = rng.normal(size=4) + 1j * rng.normal(size=4)
    rho = np.outer(psi, psi.conj()) / np.vdot(psi, psi)
    x, wts = np.polynomial.hermite_e.hermegauss(60)
    z = np.diag(node_charges(c).sum(axis=1))
    avg = sum(w * (np.diag(np.exp(-1j * s * xi * np.diag(z))) @ rho @ np.diag(np.exp(1j * s * xi * np.diag(z))))
              for xi, w in zip(x, wts)) / wts.sum()
    np.testing.assert_allclose(rho * common_mode_factor(c), avg, atol=1e-12)


def test_qfim_and_cfim_invariants(rng):
    net = _network()
    c = net.circuit("distributed", layers=1)
    nj = compile_network(c)
    theta = rng.uniform(-np.pi, np.pi, c.n_params)
    jac = np.eye(3)
    fq = np.asarray(nj.qfim(theta, net.phases(), jac))
    fc = np.asarray(nj.cfim(theta, net.phases(), jac))
    np.testing.assert_allclose(fq, fq.T, atol=1e-12)
    assert np.linalg.eigvalsh(fq - fc).min() > -1e-9  # QFIM >= CFIM (Braunstein-Caves)
    # the Jacobian transforms as J^T F J
    j2 = rng.normal(size=(3, 2))
    np.testing.assert_allclose(np.asarray(nj.qfim(theta, net.phases(), j2)), j2.T @ fq @ j2, atol=1e-9)


def test_gammas_override_equals_network_with_that_efficiency(rng):
    net = _network()
    c = net.circuit("distributed", layers=1)
    theta = rng.uniform(-np.pi, np.pi, c.n_params)
    c2 = net.with_efficiency(0.4).circuit("distributed", layers=1)
    p_override = compile_network(c).probs(theta, net.phases(), np.asarray(c.travelling) * 0.6)
    np.testing.assert_allclose(p_override, compile_network(c2).probs(theta, net.phases()), atol=1e-12)


def test_circuit_validation_errors():
    good = dict(n_qubits=1, node_of_qubit=(0,), channels=((0, "z"),), prep=(), measure=(), n_params=0,
                n_prep_params=0, eta=(1.0,), link_gamma=(0.0,), link_p=(0.0,))
    NetworkCircuit(**good)
    with pytest.raises(ValueError, match="n_qubits"):
        NetworkCircuit(**{**good, "n_qubits": 9})
    with pytest.raises(ValueError, match="eta"):
        NetworkCircuit(**{**good, "eta": (0.0,)})
    with pytest.raises(ValueError, match="link_gamma"):
        NetworkCircuit(**{**good, "link_gamma": (1.0,)})
    with pytest.raises(ValueError, match="link_p"):
        NetworkCircuit(**{**good, "link_p": (1.5,)})
    with pytest.raises(ValueError, match="channel"):
        NetworkCircuit(**{**good, "channels": ((0, "w"),)})
    with pytest.raises(ValueError, match="length"):
        NetworkCircuit(**{**good, "eta": (1.0, 1.0)})


def test_aer_counts_follow_the_simulator(rng):
    from qlearn_sense.experiments._network_run import aer_network_counts

    net = _network()
    c = net.circuit("distributed", layers=1)
    theta = rng.uniform(-np.pi, np.pi, c.n_params)
    p = np.asarray(compile_network(c).probs(theta, net.phases()))
    shots = 40_000
    counts = aer_network_counts(c, theta, net.phases(), shots, seed=3)
    chi2 = np.sum((counts - shots * p) ** 2 / np.clip(shots * p, 1e-12, None))
    assert chi2 < 7 * 4  # 7 degrees of freedom: far inside (p ~ 1e-6 would need chi2 ~ 40)
