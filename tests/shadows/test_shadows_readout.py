"""Readout-biased shadow state: what the plain local-Pauli estimator converges to under bit flips."""

import numpy as np
import pytest

from qlearn_sense.shadows import (
    PauliObservables,
    estimate_fidelity,
    estimate_paulis,
    exact_expectations,
    qubit_wise_commuting_groups,
    random_pauli_recipes,
    readout_biased_state,
    readout_shadow_superoperator,
    to_big_endian,
)


def _random_rho(n, rng):
    a = rng.normal(size=(2**n, 2**n)) + 1j * rng.normal(size=(2**n, 2**n))
    rho = a @ a.conj().T
    return rho / np.trace(rho)


def _sample_bits(rho_little, recipes, p01, p10, rng):
    """Independent numpy sampler: rotate each qubit to its basis, measure, flip bits."""
    n = recipes.shape[1]
    h = np.array([[1, 1], [1, -1]]) / np.sqrt(2)
    sdg = np.diag([1, -1j])
    rot = {0: h, 1: h @ sdg, 2: np.eye(2)}  # X, Y, Z -> Z basis
    bits = np.empty_like(recipes, dtype=np.uint8)
    rho_big = to_big_endian(rho_little, n)
    for s, rec in enumerate(recipes):
        u = np.array([[1.0]])
        for j in range(n):  # big-endian: qubit 0 most significant
            u = np.kron(u, rot[int(rec[j])])
        p = np.clip(np.real(np.diag(u @ rho_big @ u.conj().T)), 0, None)
        k = rng.choice(2**n, p=p / p.sum())
        b = np.array([(k >> (n - 1 - j)) & 1 for j in range(n)])
        flip = rng.random(n) < np.where(b == 0, p01, p10)
        bits[s] = b ^ flip
    return bits


def test_identity_without_flips_and_trace_preserved():
    rng = np.random.default_rng(1)
    rho = _random_rho(3, rng)
    np.testing.assert_allclose(readout_biased_state(rho, [0] * 3, [0] * 3), rho, atol=1e-14)
    biased = readout_biased_state(rho, [0.02, 0.1, 0.0], [0.05, 0.0, 0.2])
    assert np.trace(biased) == pytest.approx(1.0)
    np.testing.assert_allclose(biased, biased.conj().T, atol=1e-14)


def test_symmetric_flips_shrink_each_pauli_by_one_minus_2p_per_qubit():
    """Closed form: symmetric flips p multiply a weight-k Pauli expectation by (1 - 2p)^k."""
    rng = np.random.default_rng(2)
    rho = _random_rho(3, rng)
    obs = PauliObservables.from_strings(["XIZ", "YYY", "IIZ", "ZXI"])
    p = 0.07
    got = exact_expectations(readout_biased_state(rho, [p] * 3, [p] * 3), obs)
    want = exact_expectations(rho, obs) * (1 - 2 * p) ** obs.weights
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_plain_estimator_converges_to_the_biased_values():
    """Asymmetric flips, independent sampler: estimates within 4 standard errors of the biased state's values."""
    rng = np.random.default_rng(3)
    n = 2
    rho = _random_rho(n, rng)
    p01, p10 = np.array([0.03, 0.12]), np.array([0.08, 0.02])
    recipes = random_pauli_recipes(n, 6000, rng)
    bits = _sample_bits(rho, recipes, p01, p10, rng)
    obs = PauliObservables.from_strings(["XI", "IY", "ZZ", "ZI", "XY"])
    est = estimate_paulis(recipes, bits, obs, groups=10)
    target = exact_expectations(readout_biased_state(rho, p01, p10), obs)
    z = np.abs(np.asarray(est.estimates) - target) / np.asarray(est.standard_errors)
    assert np.all(z < 4), z
    psi = np.linalg.eigh(rho)[1][:, -1]
    fid = estimate_fidelity(recipes, bits, to_big_endian(psi, n))
    want = float(np.real(psi.conj() @ readout_biased_state(rho, p01, p10) @ psi))
    assert abs(fid.estimates[0] - want) < 4 * fid.standard_errors[0]


def test_superoperator_errors_and_qwc_groups():
    with pytest.raises(ValueError, match="p01"):
        readout_shadow_superoperator(0.6, 0.0)
    with pytest.raises(ValueError, match="shape"):
        readout_biased_state(np.eye(4) / 4, [0.0] * 3, [0.0] * 3)
    obs = PauliObservables.from_strings(["XIZ", "IYY", "ZZZ", "XII", "IXI", "XXZ"])
    groups = qubit_wise_commuting_groups(obs)
    assert sorted(i for g in groups for i in g) == list(range(6))
    labels = obs.to_strings()
    for g in groups:  # members agree on every qubit where both act
        for a in g:
            for b in g:
                assert all(x == "I" or y == "I" or x == y for x, y in zip(labels[a], labels[b]))
