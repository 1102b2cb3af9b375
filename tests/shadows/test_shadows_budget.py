"""Snapshot budgets (Huang, Kueng, Preskill, Nat. Phys. 16, 1050 (2020), Theorem 1)."""

import math

import numpy as np
import pytest
from shadows_sampling import sample_local_pauli

from qlearn_sense.shadows import (
    PauliObservables,
    estimate_paulis,
    random_pauli_recipes,
    sample_complexity_from_variance,
    shadow_norm_pauli,
    shadow_sample_complexity,
)


def test_shadow_norm_pauli():
    assert shadow_norm_pauli(0) == 1 and shadow_norm_pauli(4) == 81
    np.testing.assert_array_equal(shadow_norm_pauli(np.array([1, 2, 3])), [3, 9, 27])
    with pytest.raises(ValueError):
        shadow_norm_pauli(-1)
    with pytest.raises(ValueError):
        shadow_norm_pauli(1.5)


def test_theorem1_worked_example():
    # M = 1000 weight-4 Paulis, eps = 0.1, delta = 0.01:
    # K = ceil(2 ln(2e5)) = ceil(24.41) = 25, N = ceil(34 / 0.01 * 81) = 275400.
    res = shadow_sample_complexity(np.full(1000, 81.0), eps=0.1, delta=0.01)
    assert res == (25, 275400, 25 * 275400)
    assert res.groups == math.ceil(2 * math.log(2 * 1000 / 0.01))


def test_sample_complexity_from_observables():
    obs = PauliObservables.from_strings(["XXI", "ZII", "III"], [0.5, 1.0, 7.0])
    res = shadow_sample_complexity(obs, eps=0.2, delta=0.05)
    # max(0.25 * 9, 1 * 3, identity -> 0) = 3
    assert res.per_group == math.ceil(34 / 0.04 * 3)
    assert res.groups == math.ceil(2 * math.log(2 * 3 / 0.05))


def test_variance_budget_below_worst_case():
    """For |000>, Var[Z_0 Z_1 estimate] = 9 - 1 = 8 <= 3^2; for X_0 it is 3 - 0 = 3."""
    rng = np.random.default_rng(8)
    psi = np.zeros(8, complex)
    psi[0] = 1
    obs = PauliObservables.from_strings(["ZZI", "XII"])
    rec = random_pauli_recipes(3, 20000, rng)
    est = estimate_paulis(rec, sample_local_pauli(psi, rec, rng), obs)
    np.testing.assert_allclose(est.variances, [8.0, 3.0], rtol=0.08)
    data = sample_complexity_from_variance(est, eps=0.1, delta=0.01)
    worst = shadow_sample_complexity(obs, eps=0.1, delta=0.01)
    assert data.groups == worst.groups and data.per_group < worst.per_group
    assert sample_complexity_from_variance(np.array([8.0, 3.0]), 0.1, 0.01).per_group == 27200


@pytest.mark.parametrize(
    "fn, arg, eps, delta",
    [
        (shadow_sample_complexity, [9.0], 0.0, 0.1),
        (shadow_sample_complexity, [9.0], 0.1, 1.0),
        (shadow_sample_complexity, [], 0.1, 0.1),
        (shadow_sample_complexity, [-1.0], 0.1, 0.1),
        (sample_complexity_from_variance, [np.nan], 0.1, 0.1),
        (sample_complexity_from_variance, [1.0], -0.1, 0.1),
    ],
)
def test_budget_errors(fn, arg, eps, delta):
    with pytest.raises(ValueError):
        fn(np.asarray(arg), eps, delta)
