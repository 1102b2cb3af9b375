"""Recipes: random Pauli and Clifford sampling, basis-change angles."""

import numpy as np
import pytest
from shadows_sampling import PAULI, basis_change

from qlearn_sense.shadows import basis_rotation_angles, random_clifford_recipes, random_pauli_recipes
from qlearn_sense.shadows._recipes import check_recipes_bits


def test_random_pauli_recipes_seeded_and_uniform():
    a = random_pauli_recipes(5, 30000, np.random.default_rng(7))
    b = random_pauli_recipes(5, 30000, 7)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (30000, 5) and a.dtype == np.int8
    freq = np.bincount(a.ravel(), minlength=3) / a.size
    # binomial SE sqrt(p(1-p)/N) with N = 150000
    np.testing.assert_allclose(freq, 1 / 3, atol=4 * np.sqrt(2 / 9 / a.size))


@pytest.mark.parametrize("n, s", [(0, 5), (3, 0), (2.5, 4)])
def test_random_pauli_recipes_size_errors(n, s):
    with pytest.raises(ValueError):
        random_pauli_recipes(n, s, 0)


def test_random_pauli_recipes_rng_type_error():
    with pytest.raises(TypeError, match="Generator"):
        random_pauli_recipes(2, 3, None)


@pytest.mark.parametrize("recipe, label", [(0, "X"), (1, "Y"), (2, "Z")])
def test_basis_rotation_maps_pauli_to_z(recipe, label):
    theta, phi = basis_rotation_angles(np.array([[recipe]]))[0, 0]
    G = basis_change(theta, phi)
    np.testing.assert_allclose(G @ PAULI[label] @ G.conj().T, PAULI["Z"], atol=1e-12)
    # measuring Z after G == measuring P, on random states: P(b) = <psi|(I + (-1)^b P)/2|psi>
    rng = np.random.default_rng(recipe)
    for _ in range(5):
        psi = rng.normal(size=2) + 1j * rng.normal(size=2)
        psi /= np.linalg.norm(psi)
        p_rot = np.abs(G @ psi) ** 2
        p_pauli = [np.real(psi.conj() @ (np.eye(2) + s * PAULI[label]) @ psi) / 2 for s in (1, -1)]
        np.testing.assert_allclose(p_rot, p_pauli, atol=1e-12)


def test_basis_rotation_angles_shape_and_errors():
    rec = np.array([[0, 1, 2], [2, 2, 0]])
    ang = basis_rotation_angles(rec)
    assert ang.shape == (2, 3, 2)
    np.testing.assert_allclose(ang[0, 0], [-np.pi / 2, 0])
    with pytest.raises(ValueError):
        basis_rotation_angles(np.array([[3]]))
    with pytest.raises(ValueError):
        basis_rotation_angles(np.array([0, 1]))


def test_random_clifford_recipes_are_cliffords():
    U = random_clifford_recipes(2, 20, np.random.default_rng(3))
    np.testing.assert_array_equal(U, random_clifford_recipes(2, 20, 3))
    assert U.shape == (20, 4, 4)
    paulis = [np.kron(PAULI[a], PAULI[b]) for a in "IXYZ" for b in "IXYZ"]
    for u in U:
        np.testing.assert_allclose(u @ u.conj().T, np.eye(4), atol=1e-12)
        for P in paulis[1:]:  # conjugated Pauli is +-Pauli
            Q = u @ P @ u.conj().T
            overlaps = [abs(np.trace(Q @ R)) / 4 for R in paulis]
            assert np.isclose(max(overlaps), 1.0)


def test_random_clifford_recipes_too_many_qubits():
    with pytest.raises(ValueError, match="n <= 5"):
        random_clifford_recipes(6, 1, 0)


@pytest.mark.parametrize(
    "recipes, bits, match",
    [
        (np.zeros((3, 2), int), np.zeros((3, 3), int), "differs"),
        (np.zeros(3, int), np.zeros(3, int), "shape"),
        (np.full((2, 2), 3), np.zeros((2, 2), int), "recipes must be"),
        (np.zeros((2, 2)), np.zeros((2, 2), int), "recipes must be"),
        (np.zeros((2, 2), int), np.full((2, 2), 2), "bits must be"),
        (np.zeros((2, 2), int), np.full((2, 2), 0.5), "bits must be"),
    ],
)
def test_check_recipes_bits_errors(recipes, bits, match):
    with pytest.raises(ValueError, match=match):
        check_recipes_bits(recipes, bits)


def test_random_clifford_recipes_argument_errors():
    with pytest.raises(TypeError, match="Generator"):
        random_clifford_recipes(1, 2, "seed")
    with pytest.raises(ValueError, match="snapshots"):
        random_clifford_recipes(1, 0, 0)
