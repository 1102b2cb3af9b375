"""Global-Clifford shadows."""

import numpy as np
import pytest
from shadows_sampling import expval, pauli_matrix, random_state, sample_clifford

from qlearn_sense.shadows import estimate_clifford, random_clifford_recipes


def test_clifford_shadows_unbiased():
    n = 2
    rng = np.random.default_rng(21)
    psi = random_state(n, rng)
    labels = ["XI", "ZY", "YY", "IZ"]
    obs = np.stack([pauli_matrix(lab) for lab in labels] + [np.outer(psi, psi.conj())])
    exact = np.array([expval(psi, lab) for lab in labels] + [1.0])
    ests, ses = [], []
    for seed in range(4):
        rng = np.random.default_rng(seed)
        U = random_clifford_recipes(n, 800, rng)
        est = estimate_clifford(U, sample_clifford(psi, U, rng), obs, groups=4)
        ests.append(est.estimates)
        ses.append(est.standard_errors)
    mean = np.mean(ests, 0)
    pooled = np.sqrt(np.sum(np.square(ses), 0)) / len(ses)
    assert np.all(np.abs(mean - exact) <= 4 * pooled)
    # variance of a traceless Pauli under global Cliffords ~ (2^n + 1) - <P>^2 at most 3 + ...
    assert np.all(pooled[:4] < 0.06)


def test_clifford_identity_and_single_matrix(rng):
    U = random_clifford_recipes(1, 50, rng)
    bits = rng.integers(0, 2, (50, 1))
    est = estimate_clifford(U, bits, np.eye(2))
    np.testing.assert_allclose(est.estimates, [1.0])  # (d + 1) <b|b> - tr(I) = 1 = tr(rho)
    np.testing.assert_allclose(est.standard_errors, [0.0], atol=1e-12)


@pytest.mark.parametrize(
    "U, bits, O, match",
    [
        (np.zeros((3, 4, 4)), np.zeros((3, 1), int), np.eye(4), "bits must have shape"),
        (np.zeros((3, 3, 3)), np.zeros((3, 1), int), np.eye(3), "power of two"),
        (np.zeros((3, 4)), np.zeros((3, 2), int), np.eye(4), "unitaries must have shape"),
        (np.zeros((3, 4, 4)), np.full((3, 2), 2), np.eye(4), "bits must be"),
        (np.zeros((3, 4, 4)), np.zeros((3, 2), int), np.eye(2), "observables must have shape"),
        (np.zeros((3, 4, 4)), np.zeros((3, 2), int), np.triu(np.ones((4, 4))), "Hermitian"),
    ],
)
def test_clifford_errors(U, bits, O, match):
    with pytest.raises(ValueError, match=match):
        estimate_clifford(U, bits, O)
