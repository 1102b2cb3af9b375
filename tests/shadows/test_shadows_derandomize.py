"""Derandomized measurements (Huang, Kueng, Preskill, PRL 127, 030503 (2021))."""

import itertools

import numpy as np
import pytest
from shadows_sampling import expval, ghz, sample_local_pauli

from qlearn_sense.shadows import (
    PauliObservables,
    derandomized_recipes,
    estimate_paulis,
    random_pauli_recipes,
)


def _two_local_zz_xx(n):
    labels = []
    for i, j in itertools.combinations(range(n), 2):
        for p in "ZX":
            row = ["I"] * n
            row[i] = row[j] = p
            labels.append("".join(row))
    return PauliObservables.from_strings(labels)


def test_deterministic_and_covers_all_observables():
    obs = _two_local_zz_xx(6)
    a = derandomized_recipes(obs, 40)
    np.testing.assert_array_equal(a, derandomized_recipes(obs, 40))
    assert a.shape == (40, 6) and a.dtype == np.int8
    # every observable is hit, and far more often than the 40/9 of random bases
    hits = estimate_paulis(a, np.zeros_like(a), obs, estimator="matching").hits
    assert hits.min() >= 10


def test_derandomized_beats_randomized_on_ghz():
    """All 30 two-local ZZ and XX observables of a 6-qubit GHZ state, S = 120.

    Randomized bases hit each observable ~S/9 times and the 3^k shadow estimator
    then has variance 9 - <P>^2; the derandomized bases measure all-Z or all-X
    blocks and hit each observable S/2 times with a +-1 estimator (variance <= 1),
    so the expected error ratio is about sqrt(2 / 9) ~ 0.5. Compare the max error
    over the observables, averaged over 8 seeds.
    """
    n, S = 6, 120
    psi = ghz(n)
    obs = _two_local_zz_xx(n)
    exact = np.array([expval(psi, lab) for lab in obs.to_strings()])
    derand = derandomized_recipes(obs, S)
    hits = estimate_paulis(derand, np.zeros_like(derand), obs, estimator="matching").hits
    np.testing.assert_array_equal(hits, S // 2)
    err_rand, err_derand = [], []
    for seed in range(8):
        rng = np.random.default_rng(seed)
        rec = random_pauli_recipes(n, S, rng)
        est = estimate_paulis(rec, sample_local_pauli(psi, rec, rng), obs)
        err_rand.append(np.max(np.abs(est.estimates - exact)))
        est = estimate_paulis(derand, sample_local_pauli(psi, derand, rng), obs, estimator="matching")
        err_derand.append(np.max(np.abs(est.estimates - exact)))
    assert np.mean(err_derand) < 0.7 * np.mean(err_rand)


@pytest.mark.parametrize("snapshots, eps", [(0, 0.9), (5, 0.0), (5, 1.5)])
def test_derandomized_errors(snapshots, eps):
    with pytest.raises(ValueError):
        derandomized_recipes(["ZZ"], snapshots, eps=eps)
