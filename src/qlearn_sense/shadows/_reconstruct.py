"""Dense reconstructions from local-Pauli shadows: the shadow state, fidelities."""

from __future__ import annotations

import numpy as np

from qlearn_sense.shadows._estimate import ShadowEstimate, _check_groups, median_of_means
from qlearn_sense.shadows._recipes import check_recipes_bits

__all__ = ["estimate_fidelity", "shadow_state", "MAX_DENSE_QUBITS"]

MAX_DENSE_QUBITS = 10

_PAULI = np.array(
    [[[1, 0], [0, 1]], [[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]],
    dtype=np.complex128,
)


def _check_dense(n: int) -> None:
    if n > MAX_DENSE_QUBITS:
        raise ValueError(f"dense shadow reconstructions support n <= {MAX_DENSE_QUBITS}, got {n}")


def _local_snapshots(recipes: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """(S, n, 2, 2) single-qubit snapshots (I + 3 (-1)^b P) / 2 = 3 U^dag|b><b|U - I."""
    sign = 1.0 - 2.0 * bits.astype(np.float64)
    return 0.5 * (_PAULI[0] + 3.0 * sign[..., None, None] * _PAULI[recipes.astype(np.int64) + 1])


def shadow_state(recipes: np.ndarray, bits: np.ndarray) -> np.ndarray:
    r"""Inverse-channel state estimate rho_hat = mean_s tensor_j (3 U_j^dag |b_j><b_j| U_j - I).

    (Huang, Kueng, Preskill, Nat. Phys. 16, 1050 (2020), local Pauli measurements.)
    Computed in the Pauli basis: snapshot s contributes prod_{j in T} 3 (-1)^{b_j}
    to the coefficient of the Pauli string with P_j = recipes[s, j] on T and I
    elsewhere, for all 2^n subsets T; then rho_hat = 2^-n sum_Q r_Q Q. Cost
    O(S 2^n + n 4^n). Unit trace and Hermitian, but generally not positive.

    Args:
      recipes: int array (S, n), 0=X, 1=Y, 2=Z.
      bits: int array (S, n), 0 -> +1, 1 -> -1.

    Returns:
      complex128 array, shape (2^n, 2^n), big-endian (qubit 0 most significant).

    Raises:
      ValueError: if n > 10 or recipes/bits are malformed.
    """
    recipes, bits = check_recipes_bits(recipes, bits)
    S, n = recipes.shape
    _check_dense(n)
    subsets = ((np.arange(2**n)[:, None] >> (n - 1 - np.arange(n))[None, :]) & 1).astype(bool)
    place = 4 ** (n - 1 - np.arange(n))  # base-4 digit of qubit j (big-endian)
    coeff = np.zeros(4**n)
    chunk = max(1, (1 << 21) // 2**n)
    for lo in range(0, S, chunk):
        r = recipes[lo : lo + chunk].astype(np.int64) + 1
        v = 3.0 * (1.0 - 2.0 * bits[lo : lo + chunk])
        idx = (subsets[None, :, :] * (r * place)[:, None, :]).sum(-1)  # (C, 2^n)
        val = np.where(subsets[None, :, :], v[:, None, :], 1.0).prod(-1)
        coeff += np.bincount(idx.ravel(), weights=val.ravel(), minlength=4**n)
    coeff /= S
    # rho = 2^-n sum_Q r_Q Q, contracted one qubit at a time
    t = coeff.reshape((4,) * n).astype(np.complex128)
    for _ in range(n):
        t = np.tensordot(t, _PAULI, axes=([0], [0]))  # moves qubit axis to the end as (a, b)
    t = t.reshape((2,) * (2 * n))
    rows = tuple(range(0, 2 * n, 2))
    cols = tuple(range(1, 2 * n, 2))
    return t.transpose(rows + cols).reshape(2**n, 2**n) / 2**n


def estimate_fidelity(
    recipes: np.ndarray,
    bits: np.ndarray,
    psi: np.ndarray,
    *,
    groups: int | None = None,
    atol: float = 1e-8,
) -> ShadowEstimate:
    r"""Fidelity <psi|rho|psi> to pure targets from local-Pauli shadows.

    Single-snapshot value f_s = <psi| tensor_j (3 U_j^dag|b_j><b_j|U_j - I) |psi>,
    an unbiased estimate of <psi|rho|psi> (Huang, Kueng, Preskill, Nat. Phys. 16,
    1050 (2020)); its variance grows like 3^n for entangled targets, so this is
    for small n.

    Args:
      recipes: int array (S, n), 0=X, 1=Y, 2=Z.
      bits: int array (S, n), 0 -> +1, 1 -> -1.
      psi: target state vector(s), shape (2^n,) or (M, 2^n), big-endian, normalized.
      groups: K for the median of means, or None.
      atol: tolerance on | ||psi|| - 1 |.

    Returns:
      :class:`ShadowEstimate` with M entries (M = 1 for a single vector).

    Raises:
      ValueError: if n > 10, psi has the wrong shape or is not normalized, or the
        recipes/bits/groups are malformed.
    """
    recipes, bits = check_recipes_bits(recipes, bits)
    S, n = recipes.shape
    _check_dense(n)
    K = _check_groups(groups, S)
    psi = np.asarray(psi, dtype=np.complex128)
    if psi.ndim == 1:
        psi = psi[None, :]
    if psi.ndim != 2 or psi.shape[1] != 2**n:
        raise ValueError(f"psi must have shape (2^n,) or (M, 2^n) with 2^n = {2**n}, got {psi.shape}")
    if np.any(np.abs(np.linalg.norm(psi, axis=1) - 1.0) > atol):
        raise ValueError("psi must be normalized")
    M = psi.shape[0]
    sig = _local_snapshots(recipes, bits)  # (S, n, 2, 2)
    values = np.empty((S, M))
    chunk = max(1, (1 << 20) // (M * 2**n))
    for lo in range(0, S, chunk):
        hi = min(S, lo + chunk)
        x = np.broadcast_to(psi, (hi - lo, M, 2**n))
        for j in range(n):
            x = x.reshape(hi - lo, M, 2**j, 2, 2 ** (n - j - 1))
            x = np.einsum("sab,smxby->smxay", sig[lo:hi, j], x)
        values[lo:hi] = np.einsum("mi,smi->sm", psi.conj(), x.reshape(hi - lo, M, 2**n)).real
    mean = values.mean(axis=0)
    se = values.std(axis=0, ddof=1) / np.sqrt(S) if S > 1 else np.full(M, np.inf)
    return ShadowEstimate(
        estimates=mean,
        standard_errors=se,
        median_of_means=median_of_means(values, K) if K is not None else None,
        snapshots=S,
        groups=K,
        hits=np.full(M, S, dtype=np.int64),
        estimator="fidelity",
    )
