"""Compiled collective protocols: register agreement, squeezing, OAT references, optimizer."""

import jax
import numpy as np
import pytest
from scipy.optimize import minimize_scalar

import qlearn_sense  # noqa: F401
from qlearn_sense import collective as col
from qlearn_sense.optimize import optimize_protocol
from qlearn_sense.protocol import compile_jax


@pytest.mark.parametrize("n, prep, meas, readout", [(3, "oat", "oat", "jz"), (5, "oat", "rotation", "jy"),
                                                    (6, "ghz", "oat", "parity"), (4, "css", "rotation", "jz"),
                                                    pytest.param(10, "oat", "oat", "jz", marks=pytest.mark.slow)])
def test_compiled_protocol_matches_register_engine(n, prep, meas, readout, rng):
    spec = col.CollectiveSpec(n, prep, meas, 1, 1, readout, eta=0.83)
    cp = col.compile_collective(spec)
    rp = compile_jax(col.to_register_protocol(spec))
    for _ in range(1):
        theta, phi = rng.uniform(-3, 3, cp.n_params), rng.uniform(-1, 1)
        p_reg, dp_reg = rp.probs_and_dprobs(theta, phi)
        p, dp = cp.probs_and_dprobs(theta, phi)
        np.testing.assert_allclose(p, col.register_to_collective_probs(p_reg, n, readout), atol=1e-9)
        np.testing.assert_allclose(dp, col.register_to_collective_probs(dp_reg, n, readout), atol=1e-9)
        assert float(cp.qfi(theta)) == pytest.approx(float(rp.qfi(theta)), rel=1e-9)


def test_kitagawa_ueda_squeezing():
    """N = 10: min Wineland xi_R^2 = 0.309859 at mu_KU = 0.400960 (REFERENCES.md; our mu = mu_KU / 2)."""
    xi = lambda mu: col.squeezing_parameters(col.twist(col.coherent_state(10), mu))[1]  # noqa: E731
    res = minimize_scalar(xi, bounds=(0.1, 0.4), method="bounded", options={"xatol": 1e-9})
    assert res.fun == pytest.approx(0.309859, abs=2e-6)
    assert 2 * res.x == pytest.approx(0.400960, abs=2e-5)
    assert xi(0.0) == pytest.approx(1.0, abs=1e-12)  # coherent state: no squeezing


def _anti_squeezed_angle(n, mu):
    """The axis angle of the pure state's largest QFI (the anti-squeezed axis)."""
    f = jax.jit(lambda a: -col.qfi(col.oat_state(n, mu, a), 1.0))
    grid = np.linspace(0, np.pi, 37)
    a0 = grid[int(np.argmin([float(f(a)) for a in grid]))]
    return minimize_scalar(lambda a: float(f(a)), bounds=(a0 - 0.1, a0 + 0.1), method="bounded",
                           options={"xatol": 1e-10}).x


def test_oat_qfi_reference_values():
    n = 20
    a = _anti_squeezed_angle(n, 0.334564)
    assert float(col.qfi(col.oat_state(n, 0.334564, a), 1.0)) == pytest.approx(217.70278548, rel=1e-8)
    a = _anti_squeezed_angle(n, 0.327919)
    assert float(col.qfi(col.oat_state(n, 0.327919, a), 0.95)) == pytest.approx(84.45701445, rel=1e-8)


def test_optimizer_reaches_best_oat(key):
    cp = col.compile_collective(col.CollectiveSpec(20, "oat", "none", 2, 0, "jz", eta=0.95))
    res = optimize_protocol(cp, cp.n_params, cp.n_prep_params, objective="qfi", key=key, steps=300, restarts=4)
    assert res.value >= 84.45701445 - 1e-6


def test_cfi_objective_and_qfi_dominates(key):
    cp = col.compile_collective(col.CollectiveSpec(6, "oat", "oat", 1, 1, "jz", eta=0.9))
    res = optimize_protocol(cp, cp.n_params, cp.n_prep_params, objective="cfi", key=key, steps=60, restarts=2,
                            phi=0.1)
    assert 0 < res.value <= float(cp.qfi(res.params)) + 1e-9


def test_gates_match_operators():
    n = 5
    ops = col.spin_operators(n)
    psi = np.asarray(col.oat_state(n, 0.3, 0.7))
    from scipy.linalg import expm
    for axis in "xyz":
        np.testing.assert_allclose(col.rotate(psi, axis, 0.4), expm(-0.4j * ops[axis]) @ psi, atol=1e-12)
    tact = ops["x"] @ ops["y"] + ops["y"] @ ops["x"]
    np.testing.assert_allclose(col.counter_twist(psi, 0.2), expm(-0.2j * tact) @ psi, atol=1e-12)


def test_register_protocol_compiles_to_qiskit():
    from qlearn_sense.protocol import to_qiskit

    spec = col.CollectiveSpec(4, "oat", "oat", 1, 1, "jy", eta=0.9)
    circuit = to_qiskit(col.to_register_protocol(spec))
    assert circuit.num_qubits == 4
    assert circuit.count_ops()["rzz"] == 2 * 6  # one twist in prep and one in measure: 6 pairs each
