"""Local-Pauli estimation: independent implementations, unbiasedness, rates."""

import numpy as np
import pennylane as qml
import pytest
from shadows_sampling import expval, random_state, sample_local_pauli

from qlearn_sense.shadows import (
    PauliObservables,
    estimate_paulis,
    median_of_means,
    random_pauli_recipes,
)
from qlearn_sense.shadows import _estimate


def _naive_values(recipes, bits, paulis, estimator="shadow"):
    """Per-snapshot values (S, M) straight from the definition."""
    match = (paulis[None, :, :] == 0) | (recipes[:, None, :] == paulis[None, :, :] - 1)
    sign = np.where(paulis[None, :, :] == 0, 1.0, 1.0 - 2.0 * bits[:, None, :])
    hit = match.all(-1)
    parity = sign.prod(-1)
    if estimator == "matching":
        return hit, parity
    return hit * parity * 3.0 ** np.count_nonzero(paulis, axis=1)[None, :]


def _random_observables(rng, M, n, max_weight):
    P = np.zeros((M, n), dtype=np.int8)
    for m in range(M):
        k = rng.integers(0, max_weight + 1)
        support = rng.choice(n, size=k, replace=False)
        P[m, support] = rng.integers(1, 4, size=k)
    return PauliObservables(P, rng.normal(size=M))


def _to_pennylane(obs):
    ops = []
    for row, c in zip(obs.paulis, obs.coefficients):
        factors = [(qml.X, qml.Y, qml.Z)[p - 1](j) for j, p in enumerate(row) if p]
        op = qml.Identity(0) if not factors else (factors[0] if len(factors) == 1 else qml.prod(*factors))
        ops.append(c * op)
    return ops


def test_agrees_with_pennylane_classical_shadow(rng):
    S, n, M, K = 1200, 6, 60, 4
    recipes = random_pauli_recipes(n, S, rng)
    bits = sample_local_pauli(random_state(n, rng), recipes, rng)
    obs = _random_observables(rng, M, n, 4)
    est = estimate_paulis(recipes, bits, obs, groups=K)
    shadow = qml.ClassicalShadow(bits.astype(np.int64), recipes.astype(np.int64))
    ops = _to_pennylane(obs)
    np.testing.assert_allclose(est.estimates, shadow.expval(ops, k=1), rtol=0, atol=1e-10)
    np.testing.assert_allclose(est.median_of_means, shadow.expval(ops, k=K), rtol=0, atol=1e-10)


@pytest.mark.parametrize("S, K", [(1001, 6), (777, 1), (64, 64)])
def test_matches_naive_definition_uneven_groups(rng, S, K):
    n = 5
    recipes = random_pauli_recipes(n, S, rng)
    bits = rng.integers(0, 2, (S, n)).astype(np.uint8)
    bits[:, :2] = 0  # non-trivial expectation values
    obs = _random_observables(rng, 40, n, n)
    values = _naive_values(recipes, bits, obs.paulis) * obs.coefficients
    est = estimate_paulis(recipes, bits, obs, groups=K)
    np.testing.assert_allclose(est.estimates, values.mean(0), atol=1e-12)
    np.testing.assert_allclose(est.standard_errors, values.std(0, ddof=1) / np.sqrt(S), atol=1e-12)
    means = [g.mean(0) for g in np.array_split(values, K)]
    np.testing.assert_allclose(est.median_of_means, np.median(means, 0), atol=1e-12)
    np.testing.assert_allclose(median_of_means(values, K), np.median(means, 0), atol=1e-12)
    assert est.snapshots == S and est.groups == K


def test_chunking_does_not_change_results(rng, monkeypatch):
    recipes = random_pauli_recipes(8, 500, rng)
    bits = rng.integers(0, 2, (500, 8))
    obs = _random_observables(rng, 30, 8, 3)
    full = estimate_paulis(recipes, bits, obs, groups=3)
    monkeypatch.setattr(_estimate, "_CHUNK_WORDS", 8)
    chunked = estimate_paulis(recipes, bits, obs, groups=3)
    np.testing.assert_array_equal(full.estimates, chunked.estimates)
    np.testing.assert_array_equal(full.median_of_means, chunked.median_of_means)


def test_matching_estimator(rng):
    S, n = 900, 4
    recipes = rng.integers(0, 3, (S, n))
    recipes[:, 0] = 2  # never X or Y on qubit 0
    bits = rng.integers(0, 2, (S, n))
    obs = PauliObservables.from_strings(["ZZII", "IXYI", "XIII", "IIII"])
    est = estimate_paulis(recipes, bits, obs, estimator="matching", groups=3)
    hit, parity = _naive_values(recipes, bits, obs.paulis, "matching")
    for m in range(3):
        vals = parity[hit[:, m], m]
        if vals.size:
            assert est.hits[m] == vals.size
            np.testing.assert_allclose(est.estimates[m], vals.mean(), atol=1e-12)
            np.testing.assert_allclose(est.standard_errors[m], vals.std(ddof=1) / np.sqrt(vals.size))
    assert est.hits[2] == 0 and np.isnan(est.estimates[2]) and np.isinf(est.standard_errors[2])
    assert np.isnan(est.median_of_means[2])
    assert est.estimates[3] == 1.0 and est.hits[3] == S


def test_unbiased_over_seeds():
    """Mean over 10 seeds lies within 4 pooled standard errors of the exact value."""
    n = 3
    psi = random_state(n, np.random.default_rng(11))
    labels = ["XII", "IYI", "IIZ", "XZI", "YIY", "ZZZ", "XYZ", "III"]
    obs = PauliObservables.from_strings(labels)
    exact = np.array([expval(psi, lab) for lab in labels])
    ests, ses = [], []
    for seed in range(10):
        rng = np.random.default_rng(100 + seed)
        recipes = random_pauli_recipes(n, 3000, rng)
        est = estimate_paulis(recipes, sample_local_pauli(psi, recipes, rng), obs)
        ests.append(est.estimates)
        ses.append(est.standard_errors)
    mean = np.mean(ests, 0)
    pooled_se = np.sqrt(np.sum(np.square(ses), 0)) / len(ses)
    assert np.all(np.abs(mean - exact) <= 4 * pooled_se + 1e-12)
    # the single-snapshot variance of a weight-k Pauli is 3^k - <P>^2
    var = np.mean(np.square(ses), 0) * 3000
    k = obs.weights
    np.testing.assert_allclose(var[k > 0], (3.0**k - exact**2)[k > 0], rtol=0.15)


def test_error_scales_as_inverse_sqrt_snapshots():
    n = 3
    psi = random_state(n, np.random.default_rng(5))
    labels = ["XII", "IZI", "YYI", "XIZ", "ZZZ"]
    obs = PauliObservables.from_strings(labels)
    exact = np.array([expval(psi, lab) for lab in labels])
    sizes = np.array([100, 400, 1600, 6400])
    rms = []
    for S in sizes:
        errs = []
        for seed in range(24):
            rng = np.random.default_rng(1000 * S + seed)
            recipes = random_pauli_recipes(n, S, rng)
            errs.append(estimate_paulis(recipes, sample_local_pauli(psi, recipes, rng), obs).estimates - exact)
        rms.append(np.sqrt(np.mean(np.square(errs))))
    slope = np.polyfit(np.log(sizes), np.log(rms), 1)[0]
    assert -0.6 <= slope <= -0.4


@pytest.mark.parametrize(
    "kwargs, match",
    [({"groups": 0}, "groups"), ({"groups": 11}, "exceeds"), ({"groups": 2.5}, "groups"),
     ({"estimator": "median"}, "estimator")],
)
def test_estimate_paulis_errors(rng, kwargs, match):
    recipes = rng.integers(0, 3, (10, 2))
    bits = rng.integers(0, 2, (10, 2))
    with pytest.raises(ValueError, match=match):
        estimate_paulis(recipes, bits, ["XZ"], **kwargs)


def test_median_of_means_errors():
    with pytest.raises(ValueError, match="shape"):
        median_of_means(np.zeros((2, 2, 2)), 1)
    with pytest.raises(ValueError, match="exceeds"):
        median_of_means(np.zeros(3), 4)
    with pytest.raises(ValueError, match="positive integer"):
        median_of_means(np.zeros(3), None)
    np.testing.assert_allclose(median_of_means(np.arange(9.0), 3), 4.0)
