"""Network circuits on a device backend (aer:<fake>): ISA records, MLE from device counts, misfit, size checks.

The tiny two-node network (one qubit each) fits every fake device; aer:fake_manila
(5 qubits) keeps the file fast; aer:fake_fez (the issue's device) runs under
``-m slow``.
"""

from __future__ import annotations

import numpy as np
import pytest

from qlearn_sense.backends import BackendError, get_backend
from qlearn_sense.experiments import AnalysisContext
from qlearn_sense.experiments._network_backend import (
    DEVICE_MODEL,
    NETWORK_PUB_OFFSET,
    check_network_fits,
    model_fit,
    network_pending,
)
from qlearn_sense.experiments._network_run import analyse_network
from qlearn_sense.network import STRATEGIES
from qlearn_sense.network._sim import NetworkCircuit, compile_network, device_network_circuit, without_channels

from network_helpers import network_config, tiny_network

OPT = {"layers": 1, "steps": 120, "restarts": 2, "learning_rate": 0.1}


def _cfg(shots: int, optimizer: dict = OPT):
    return network_config(tiny_network(strategies=["classical", "distributed"], efficiency_sweep=[],
                                       optimizer=optimizer, shots=shots))


def _check_device_result(res, backend: str, shots: int) -> None:
    data = res.data
    assert backend in data["executed_on"] and data["likelihood_model"] == DEVICE_MODEL
    assert data["execution_status"] == "done" and not res.flags["network_not_on_backend"]
    assert any("simulated channels" in w for w in res.warnings)  # the 0.9 link is not on the device
    for name, entry in data["strategies"].items():
        assert entry["counts"].sum() == shots
        assert entry["estimate"]["likelihood_model"] == DEVICE_MODEL
        isa = entry["isa"]
        assert isa["depth"] >= 2 and len(isa["layout"]) == 2 and isa["isa_hash"]
        assert isa["two_qubit_gates"] == (0 if name == "classical" else isa["two_qubit_gates"])
        assert 0.0 <= entry["goodness_of_fit"]["p_value"] <= 1.0
    assert data["strategies"]["distributed"]["isa"]["two_qubit_gates"] >= 1  # the GHZ preparation's CNOT


def test_network_on_fake_device_mle_within_errors():
    shots = 4000
    res = analyse_network(AnalysisContext(config=_cfg(shots), backend=get_backend("aer:fake_manila"), seed=5))
    _check_device_result(res, "aer:fake_manila", shots)
    for name, entry in res.data["strategies"].items():
        # the device's errors (readout ~2 %, one CNOT) bias the estimate far less than the shot noise at 4000 shots
        assert abs(entry["estimate"]["z"]) < 4, (name, entry["estimate"]["z"])
        assert not entry["goodness_of_fit"]["misfit"]
    assert "network_model_misfit" not in res.flags
    assert any("ISA depth" in line for line in res.summary)


def test_device_noise_at_many_shots_is_flagged_as_misfit():
    # with 400k shots the device's readout errors (left out of the bare-circuit likelihood) are resolved
    quick = {**OPT, "steps": 40, "restarts": 1}
    res = analyse_network(AnalysisContext(config=_cfg(400_000, quick), backend=get_backend("aer:fake_manila"),
                                          seed=5))
    assert res.flags.get("network_model_misfit") is True
    assert any("misfit the likelihood model" in w and "G-test p" in w for w in res.warnings)


@pytest.mark.slow
def test_network_on_fake_fez():
    shots = 4000
    res = analyse_network(AnalysisContext(config=_cfg(shots), backend=get_backend("aer:fake_fez"), seed=5))
    _check_device_result(res, "aer:fake_fez", shots)
    for entry in res.data["strategies"].values():
        assert abs(entry["estimate"]["z"]) < 4


def test_network_too_large_for_device_is_a_clear_error():
    nodes = [{"name": n, "position_m": [0.05 * i, 0, 0], "qubits": 2} for i, n in enumerate("abc")]
    cfg = network_config(tiny_network(nodes=nodes, strategies=["classical"], optimizer=OPT,
                                      links=[{"nodes": ["a", "b"], "efficiency": 0.9},
                                             {"nodes": ["a", "c"], "efficiency": 0.9}]))
    with pytest.raises(BackendError, match=r"'aer:fake_manila' has 5 qubits; the 3-node network needs 6"):
        analyse_network(AnalysisContext(config=cfg, backend=get_backend("aer:fake_manila"), seed=1))
    check_network_fits(get_backend("local"), 6, 3)  # simulators take any size the simulator does
    check_network_fits(get_backend("aer:fake_manila"), 5, 3)


def test_network_pub_range_clashes_with_nothing():
    from qlearn_sense.config._adaptive import AdaptiveConfig
    from qlearn_sense.experiments._adaptive_rounds import ADAPTIVE_PUB_OFFSET

    le = [m.le for m in AdaptiveConfig.model_fields["rounds"].metadata if hasattr(m, "le")][0]
    network_pubs = set(range(NETWORK_PUB_OFFSET, NETWORK_PUB_OFFSET + len(STRATEGIES)))
    assert not network_pubs & {0, 1, 2}  # main job, shadows
    assert not network_pubs & set(range(ADAPTIVE_PUB_OFFSET, ADAPTIVE_PUB_OFFSET + le))  # every adaptive round


def _ghz2() -> tuple[NetworkCircuit, np.ndarray]:
    from qlearn_sense.network import Link, Network, Node

    net = Network(nodes=(Node("a", (0, 0, 0), 1, 1.0), Node("b", (1, 0, 0), 1, 1.0, eta=0.8)),
                  links=(Link(0, 1, 0.7),))
    c = net.circuit("distributed", layers=1)
    return c, np.random.default_rng(0).uniform(-1, 1, c.n_params)


def test_without_channels_and_device_circuit_agree_with_qiskit():
    from qiskit.quantum_info import Statevector

    c, theta = _ghz2()
    bare = without_channels(c)
    assert bare.eta == (1.0, 1.0) and not any(bare.travelling) and bare.common_cov_rad2 == ()
    assert bare.prep == c.prep and bare.measure == c.measure and bare.channels == c.channels
    phis = np.array([0.4, -0.2])
    qc = device_network_circuit(c, theta, phis)
    assert qc.num_parameters == 0 and "meas" in [r.name for r in qc.cregs]
    p_qiskit = Statevector(qc.remove_final_measurements(inplace=False)).probabilities()
    p_jax = np.asarray(compile_network(bare).probs(theta, phis))
    np.testing.assert_allclose(p_jax, p_qiskit, atol=1e-10)  # bare model = the circuit the device runs
    p_noisy = np.asarray(compile_network(c).probs(theta, phis))
    assert np.abs(p_noisy - p_qiskit).max() > 1e-3  # the channels are really left out


def test_model_fit_flags_misfit_only_for_wrong_models():
    c, theta = _ghz2()
    phis = np.array([0.4, -0.2])
    rng = np.random.default_rng(7)
    p_bare = np.asarray(compile_network(without_channels(c)).probs(theta, phis))
    counts = rng.multinomial(20000, p_bare / p_bare.sum())
    assert not model_fit(without_channels(c), theta, phis, counts)["misfit"]
    bad = model_fit(c, theta, phis, counts)  # the model with the link and dephasing the counts do not have
    assert bad["misfit"] and bad["p_value"] < 1e-3


def test_network_pending_reads_results():
    assert network_pending({"network": {"execution_status": "pending"}})
    assert not network_pending({"network": {"execution_status": "done"}})
    assert not network_pending({})


def test_bind_network_short_values_raise():
    from qlearn_sense.network import bind_network, to_qiskit_network

    c, theta = _ghz2()
    qc = to_qiskit_network(c)
    with pytest.raises(IndexError):
        bind_network(qc, theta, np.array([0.1]))  # two channels need two phases
    with pytest.raises(IndexError):
        bind_network(qc, theta[:2], np.array([0.1, 0.2]))


def test_run_network_sync_rejects_a_circuit_too_wide():
    from qlearn_sense.experiments._network_backend import run_network_sync
    from qlearn_sense.network import Network, Node

    net = Network(nodes=tuple(Node(n, (i, 0, 0), 2, 1.0) for i, n in enumerate("abc")))
    c = net.circuit("classical")
    with pytest.raises(BackendError, match=r"'aer:fake_manila' has 5 qubits; circuit 'network_classical' needs 6"):
        run_network_sync(get_backend("aer:fake_manila"), {"classical": (c, np.zeros(c.n_params))},
                         np.zeros(3), 100, seed=1)
