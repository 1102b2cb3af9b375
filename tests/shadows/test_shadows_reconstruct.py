"""Dense reconstructions: shadow state and fidelity."""

import numpy as np
import pennylane as qml
import pytest
from shadows_sampling import ghz, pauli_matrix, random_state, sample_local_pauli

from qlearn_sense.shadows import (
    PauliObservables,
    estimate_fidelity,
    estimate_paulis,
    random_pauli_recipes,
    shadow_state,
)


def test_shadow_state_matches_pennylane_global_snapshots(rng):
    n, S = 3, 200
    recipes = random_pauli_recipes(n, S, rng)
    bits = sample_local_pauli(random_state(n, rng), recipes, rng)
    rho = shadow_state(recipes, bits)
    ref = qml.ClassicalShadow(bits.astype(np.int64), recipes.astype(np.int64)).global_snapshots().mean(0)
    np.testing.assert_allclose(rho, ref, atol=1e-6)  # PennyLane builds in complex64
    np.testing.assert_allclose(np.trace(rho), 1.0, atol=1e-12)
    np.testing.assert_allclose(rho, rho.conj().T, atol=1e-12)


def test_shadow_state_consistent_with_pauli_estimates(rng):
    n, S = 4, 300
    recipes = random_pauli_recipes(n, S, rng)
    bits = rng.integers(0, 2, (S, n))
    rho = shadow_state(recipes, bits)
    labels = ["XIII", "IYZI", "ZZZZ", "XYIZ", "IIIY"]
    est = estimate_paulis(recipes, bits, PauliObservables.from_strings(labels))
    traces = [np.trace(pauli_matrix(lab) @ rho).real for lab in labels]
    np.testing.assert_allclose(traces, est.estimates, atol=1e-10)


def test_fidelity_unbiased_and_consistent():
    n = 3
    psi = ghz(n)
    rng = np.random.default_rng(3)
    recipes = random_pauli_recipes(n, 6000, rng)
    bits = sample_local_pauli(psi, recipes, rng)
    targets = np.stack([psi, random_state(n, rng)])
    est = estimate_fidelity(recipes, bits, targets, groups=5)
    assert abs(est.estimates[0] - 1.0) <= 4 * est.standard_errors[0]
    exact_other = abs(targets[1].conj() @ psi) ** 2
    assert abs(est.estimates[1] - exact_other) <= 4 * est.standard_errors[1]
    rho = shadow_state(recipes, bits)
    np.testing.assert_allclose(est.estimates, [np.real(t.conj() @ rho @ t) for t in targets], atol=1e-10)
    assert est.median_of_means.shape == (2,)


def test_dense_size_limit():
    recipes = np.zeros((1, 11), dtype=np.int8)
    with pytest.raises(ValueError, match="n <= 10"):
        shadow_state(recipes, recipes)
    with pytest.raises(ValueError, match="n <= 10"):
        estimate_fidelity(recipes, recipes, np.ones(2**11) / 2**5.5)


def test_fidelity_input_errors(rng):
    recipes = random_pauli_recipes(2, 10, rng)
    bits = np.zeros((10, 2), dtype=np.uint8)
    with pytest.raises(ValueError, match="shape"):
        estimate_fidelity(recipes, bits, np.ones(8) / np.sqrt(8))
    with pytest.raises(ValueError, match="normalized"):
        estimate_fidelity(recipes, bits, np.ones(4))
