"""QFI and CFI: closed forms, independent implementations, gradients, invariants."""

import jax
import jax.numpy as jnp
import numpy as np
import pennylane as qml
import pytest

from qlearn_sense.fisher import (
    asymptotic_bound,
    cfi,
    channel_extension_bound,
    ghz_dephased,
    heisenberg_limit,
    pure_state_qfi,
    qfi,
    qfi_dephased,
    qfi_generator,
    sql,
    two_qubit_optimum,
)
from qlearn_sense.protocol import Noise, build_protocol, compile_jax


def _numpy_qfi(rho, drho):
    lam, u = np.linalg.eigh(rho)
    d = u.conj().T @ drho @ u
    s = lam[:, None] + lam[None, :]
    mask = s > 1e-12
    return float(np.sum(2 * np.abs(d[mask]) ** 2 / s[mask]))


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("eta", [1.0, 0.9, 0.6])
def test_product_and_ghz_closed_forms(n, eta):
    noise = Noise.uniform(n, eta=eta)
    prod = compile_jax(build_protocol(n, "ramsey", "none", noise=noise))
    ghz = compile_jax(build_protocol(n, "ghz", "none", noise=noise))
    assert float(prod.qfi(jnp.zeros(0))) == pytest.approx(sql(n, eta), rel=1e-10)
    assert float(ghz.qfi(jnp.zeros(0))) == pytest.approx(ghz_dephased(n, eta), rel=1e-10)
    if eta == 1.0:
        assert float(ghz.qfi(jnp.zeros(0))) == pytest.approx(heisenberg_limit(n), rel=1e-10)


def _pennylane_mixed_state(n, weights, phi):
    dev = qml.device("default.mixed", wires=n)

    @qml.qnode(dev)
    def circuit(phi):
        for j in range(n):
            qml.RY(weights[0, j], wires=j)
            qml.RZ(weights[1, j], wires=j)
        for j in range(n - 1):
            qml.CNOT(wires=[j, j + 1])
        for j in range(n):
            qml.DepolarizingChannel(0.05 * (j + 1), wires=j)
            qml.RZ(phi, wires=j)
            qml.PhaseDamping(0.3, wires=j)
        return qml.density_matrix(wires=range(n))

    return circuit


@pytest.mark.parametrize("n", [1, 2, 3])
def test_qfi_matches_pennylane_default_mixed_and_numpy(n, rng):
    weights = rng.uniform(-np.pi, np.pi, (2, n))
    circuit = _pennylane_mixed_state(n, weights, 0.0)
    phi0, h = 0.4, 1e-5
    rho = np.asarray(circuit(phi0))
    drho = (np.asarray(circuit(phi0 + h)) - np.asarray(circuit(phi0 - h))) / (2 * h)
    ours = float(qfi(rho, drho))
    assert ours == pytest.approx(_numpy_qfi(rho, drho), rel=1e-8)
    # Bures form with PennyLane's own fidelity: F_Q = 8 (1 - sqrt(F(rho_phi, rho_phi+dphi))) / dphi^2
    dphi = 2e-3
    fid = float(qml.math.fidelity(circuit(phi0), circuit(phi0 + dphi)))
    bures = 8 * (1 - np.sqrt(fid)) / dphi**2
    assert ours == pytest.approx(bures, rel=2e-3)


def test_qfi_of_random_mixed_states_matches_numpy(rng):
    for d in (2, 4, 8):
        a = rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
        rho = a @ a.conj().T
        rho /= np.trace(rho)
        h = rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
        h = h + h.conj().T
        drho = -1j * (h @ rho - rho @ h)
        assert float(qfi(rho, drho)) == pytest.approx(_numpy_qfi(rho, drho), rel=1e-9)
        assert float(qfi_generator(rho, h)) == pytest.approx(_numpy_qfi(rho, drho), rel=1e-9)


def test_pure_state_qfi_is_four_variance(rng):
    psi = rng.normal(size=8) + 1j * rng.normal(size=8)
    psi /= np.linalg.norm(psi)
    g = np.diag(rng.normal(size=8))
    var = np.real(psi.conj() @ g @ g @ psi - (psi.conj() @ g @ psi) ** 2)
    rho = np.outer(psi, psi.conj())
    assert float(qfi_generator(rho, np.diag(g))) == pytest.approx(4 * var, rel=1e-9)
    assert float(pure_state_qfi(psi, -1j * g @ psi)) == pytest.approx(4 * var, rel=1e-9)


@pytest.mark.parametrize("eta", [1.0, 0.85])
def test_qfi_gradient_matches_finite_differences(eta, rng):
    p = build_protocol(3, "hea", "none", prep_layers=1, noise=Noise.uniform(3, eta=eta))
    jp = compile_jax(p)
    theta = rng.uniform(-np.pi, np.pi, p.n_params)
    grad = np.asarray(jax.grad(jp.qfi)(theta))
    assert np.all(np.isfinite(grad))
    h = 1e-6
    fd = np.array([(jp.qfi(theta + h * e) - jp.qfi(theta - h * e)) / (2 * h) for e in np.eye(p.n_params)])
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-6)


def test_qfi_dephased_equals_density_matrix_path(rng):
    """The pure-dephasing fast path (VJP straight to psi) against the general rho path, value and gradient."""
    n = 4
    eta = (0.9, 0.75, 0.97, 0.6)  # distinct per qubit: checks the little-endian qubit mapping
    p = build_protocol(n, "hea", "local", prep_layers=2, noise=Noise(eta=eta))
    jp = compile_jax(p)
    theta = rng.uniform(-np.pi, np.pi, p.n_params)

    def general(t):
        return qfi_generator(jp.density_matrix(t, 0.0), jp.generator)

    def fast(t):
        return qfi_dephased(jp.statevector(t), eta, jp.generator)

    assert float(fast(theta)) == pytest.approx(float(general(theta)), rel=1e-10)
    assert float(jp.qfi(theta)) == pytest.approx(float(general(theta)), rel=1e-10)
    np.testing.assert_allclose(np.asarray(jax.grad(fast)(theta)), np.asarray(jax.grad(general)(theta)),
                               rtol=1e-8, atol=1e-10)
    psi = np.asarray(jp.statevector(theta))
    rho = np.asarray(jp.density_matrix(theta, 0.0))
    drho = -1j * (np.diag(jp.generator) @ rho - rho @ np.diag(jp.generator))
    assert float(qfi_dephased(psi, eta, jp.generator)) == pytest.approx(_numpy_qfi(rho, drho), rel=1e-9)


def test_qfi_with_amplitude_damping_gradient_matches_finite_differences(rng):
    """With T1 decay compile_jax uses the general density-matrix path."""
    p = build_protocol(3, "hea", "none", prep_layers=1, noise=Noise.uniform(3, eta=0.8, gamma=0.2))
    jp = compile_jax(p)
    theta = rng.uniform(-np.pi, np.pi, p.n_params)
    grad = np.asarray(jax.grad(jp.qfi)(theta))
    h = 1e-6
    fd = np.array([(jp.qfi(theta + h * e) - jp.qfi(theta - h * e)) / (2 * h) for e in np.eye(p.n_params)])
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-6)


def test_qfi_dephased_validation():
    g = np.array([1.0, 0.0, 0.0, -1.0])
    psi = np.array([1.0, 0.0, 0.0, 1.0]) / np.sqrt(2)
    assert float(qfi_dephased(psi, (1.0, 1.0), g)) == pytest.approx(4.0)  # GHZ, G = (Z0 + Z1)/2: n^2
    with pytest.raises(ValueError, match="expected \\(4,\\) for 2 qubits"):
        qfi_dephased(psi[:2], (1.0, 1.0), g)
    with pytest.raises(ValueError, match="generator diagonal"):
        qfi_dephased(psi, (1.0, 1.0), g[:2])
    with pytest.raises(ValueError, match="dephasing"):
        qfi_dephased(psi, (1.0, 1.5), g)


def test_qfi_gradient_finite_at_ghz():
    """Degenerate spectrum (pure GHZ): autodiff through eigh would give NaN."""
    p = build_protocol(3, "hea", "none", prep_layers=1)
    theta = np.zeros(p.n_params)
    theta[0] = np.pi / 2  # RY(pi/2) on qubit 0, then CNOT chain: GHZ
    jp = compile_jax(p)
    assert float(jp.qfi(theta)) == pytest.approx(9.0, rel=1e-10)
    g = np.asarray(jax.grad(jp.qfi)(theta))
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g, 0.0, atol=1e-8)  # the GHZ state is a maximum


@pytest.mark.parametrize("seed", range(5))
def test_qfi_bounds_cfi_for_every_measurement(seed):
    rng = np.random.default_rng(seed)
    p = build_protocol(3, "hea", "hea", prep_layers=1, noise=Noise.uniform(3, eta=0.8, gamma=0.1, p01=0.02, p10=0.03))
    jp = compile_jax(p)
    theta = rng.uniform(-np.pi, np.pi, p.n_params)
    phi = rng.uniform(-1, 1)
    q, c = float(jp.qfi(theta)), float(jp.cfi(theta, phi))
    assert 0 <= c <= q * (1 + 1e-10)


def test_cfi_closed_form_and_validation():
    # Ramsey fringe p = (1 + eta sin phi)/2: F = eta^2 cos^2 / (1 - eta^2 sin^2)
    eta, phi = 0.7, 0.3
    p = np.array([(1 + eta * np.sin(phi)) / 2, (1 - eta * np.sin(phi)) / 2])
    dp = np.array([eta * np.cos(phi) / 2, -eta * np.cos(phi) / 2])
    assert float(cfi(p, dp)) == pytest.approx(eta**2 * np.cos(phi) ** 2 / (1 - eta**2 * np.sin(phi) ** 2))
    with pytest.raises(ValueError, match="same shape"):
        cfi(p, dp[:1])
    with pytest.raises(ValueError, match="square"):
        qfi(np.ones((2, 3)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="shape"):
        qfi(np.eye(2) / 2, np.eye(3))
    with pytest.raises(ValueError, match="generator"):
        qfi_generator(np.eye(2) / 2, np.ones(3))


def test_reference_bounds():
    """Values from shared/REFERENCES.md."""
    assert channel_extension_bound(2, 0.9) == pytest.approx(2.722689, abs=1e-6)
    assert channel_extension_bound(4, 0.9) == pytest.approx(8.254777, abs=1e-6)
    assert channel_extension_bound(8, 0.9) == pytest.approx(22.248927, abs=1e-6)
    assert asymptotic_bound(10, 0.9) == pytest.approx(10 * 0.81 / 0.19)
    assert asymptotic_bound(3, 1.0) == float("inf")
    assert two_qubit_optimum(0.9) == pytest.approx(4 * 0.9**4)
    e2 = 0.7**2
    assert two_qubit_optimum(0.7) == pytest.approx(e2 * (2 - e2) ** 2 / (2 * (1 - e2)))
    with pytest.raises(ValueError, match="eta"):
        sql(2, 0.0)
    with pytest.raises(ValueError, match="n ="):
        heisenberg_limit(0)
