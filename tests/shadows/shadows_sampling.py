"""Exact snapshot sampling from state vectors / density matrices (test helper).

Independent of the package's estimators: it only uses the documented rotation
angles and numpy linear algebra. Big-endian ordering (qubit 0 most significant).
"""

from __future__ import annotations

from functools import reduce

import numpy as np

from qlearn_sense.shadows import basis_rotation_angles

PAULI = {
    "I": np.eye(2, dtype=complex),
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=complex),
    "Z": np.array([[1, 0], [0, -1]], dtype=complex),
}


def rz(phi):
    return np.array([[np.exp(-0.5j * phi), 0], [0, np.exp(0.5j * phi)]])


def ry(theta):
    c, s = np.cos(theta / 2), np.sin(theta / 2)
    return np.array([[c, -s], [s, c]], dtype=complex)


def basis_change(theta, phi):
    """G = RY(theta) RZ(phi): RZ first, then RY."""
    return ry(theta) @ rz(phi)


def pauli_matrix(label: str) -> np.ndarray:
    """Dense matrix of a label with qubit j at character j (big-endian)."""
    return reduce(np.kron, [PAULI[c] for c in label])


def expval(state: np.ndarray, label: str) -> float:
    P = pauli_matrix(label)
    if state.ndim == 1:
        return float(np.real(state.conj() @ P @ state))
    return float(np.real(np.trace(P @ state)))


def _sample_index(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    cdf = np.cumsum(probs, axis=1)
    cdf /= cdf[:, -1:]
    u = rng.random((probs.shape[0], 1))
    return np.minimum((cdf < u).sum(axis=1), probs.shape[1] - 1)


def _index_to_bits(index: np.ndarray, n: int) -> np.ndarray:
    return ((index[:, None] >> (n - 1 - np.arange(n))[None, :]) & 1).astype(np.uint8)


def sample_local_pauli(state: np.ndarray, recipes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Exact outcome bits (S, n) of measuring ``state`` in the bases ``recipes``.

    ``state``: vector (2^n,) or density matrix (2^n, 2^n); a density matrix is
    sampled as the mixture of its eigenvectors (exact).
    """
    S, n = recipes.shape
    state = np.asarray(state, dtype=complex)
    if state.ndim == 2:
        w, v = np.linalg.eigh(state)
        w = np.clip(w, 0, None)
        comp = rng.choice(len(w), size=S, p=w / w.sum())
        psi = v.T[comp]  # (S, d)
    else:
        psi = np.broadcast_to(state, (S, 2**n))
    angles = basis_rotation_angles(recipes)
    G = np.empty((S, n, 2, 2), dtype=complex)
    for p in range(3):
        G[recipes == p] = basis_change(*angles[recipes == p][0]) if np.any(recipes == p) else 0
    x = psi.copy()
    for j in range(n):
        x = x.reshape(S, 2**j, 2, 2 ** (n - j - 1))
        x = np.einsum("sab,sxby->sxay", G[:, j], x)
    probs = np.abs(x.reshape(S, 2**n)) ** 2
    return _index_to_bits(_sample_index(probs, rng), n)


def sample_clifford(state: np.ndarray, unitaries: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Exact outcome bits (S, n) after applying U_s to a state vector."""
    S, d, _ = unitaries.shape
    n = d.bit_length() - 1
    probs = np.abs(unitaries @ np.asarray(state, dtype=complex)) ** 2
    return _index_to_bits(_sample_index(probs, rng), n)


def ghz(n: int) -> np.ndarray:
    psi = np.zeros(2**n, dtype=complex)
    psi[0] = psi[-1] = 2**-0.5
    return psi


def random_state(n: int, rng: np.random.Generator) -> np.ndarray:
    psi = rng.normal(size=2**n) + 1j * rng.normal(size=2**n)
    return psi / np.linalg.norm(psi)
