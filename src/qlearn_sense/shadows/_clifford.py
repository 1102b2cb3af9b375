"""Global-Clifford classical shadows (dense, small n)."""

from __future__ import annotations

import numpy as np

from qlearn_sense.shadows._estimate import ShadowEstimate, _check_groups, median_of_means

__all__ = ["estimate_clifford"]


def estimate_clifford(
    unitaries: np.ndarray,
    bits: np.ndarray,
    observables: np.ndarray,
    *,
    groups: int | None = None,
    atol: float = 1e-10,
) -> ShadowEstimate:
    r"""Estimate tr(O rho) from global-Clifford shadows.

    Inverse channel rho_hat_s = (2^n + 1) U_s^dag |b_s><b_s| U_s - I (Huang,
    Kueng, Preskill, Nat. Phys. 16, 1050 (2020), random Clifford measurements), so
    the single-snapshot value is
    tr(O rho_hat_s) = (2^n + 1) <b_s| U_s O U_s^dag |b_s> - tr(O).

    Args:
      unitaries: complex array (S, 2^n, 2^n), e.g. from
        :func:`random_clifford_recipes`, applied before a computational-basis
        measurement; big-endian (qubit 0 most significant).
      bits: int array (S, n), bits[s, j] the outcome of qubit j (0 or 1).
      observables: Hermitian matrices, shape (2^n, 2^n) or (M, 2^n, 2^n), big-endian.
      groups: K for the median of means, or None.
      atol: tolerance of the Hermiticity check.

    Returns:
      :class:`ShadowEstimate` with M entries.

    Raises:
      ValueError: if shapes are inconsistent, bits are not 0/1, or an observable
        is not Hermitian.
    """
    U = np.asarray(unitaries)
    bits = np.asarray(bits)
    if U.ndim != 3 or U.shape[1] != U.shape[2] or U.shape[0] < 1:
        raise ValueError(f"unitaries must have shape (S, d, d), got {U.shape}")
    S, d = U.shape[0], U.shape[1]
    n = d.bit_length() - 1
    if 2**n != d:
        raise ValueError(f"unitary dimension {d} is not a power of two")
    if bits.shape != (S, n):
        raise ValueError(f"bits must have shape ({S}, {n}), got {bits.shape}")
    if not (np.issubdtype(bits.dtype, np.integer) or bits.dtype == np.bool_) or (
        bits.min() < 0 or bits.max() > 1
    ):
        raise ValueError("bits must be integers in {0, 1}")
    O = np.asarray(observables, dtype=np.complex128)
    if O.ndim == 2:
        O = O[None]
    if O.ndim != 3 or O.shape[1:] != (d, d):
        raise ValueError(f"observables must have shape ({d}, {d}) or (M, {d}, {d}), got {O.shape}")
    if np.any(np.abs(O - O.conj().transpose(0, 2, 1)) > atol):
        raise ValueError("observables must be Hermitian")
    K = _check_groups(groups, S)
    index = (bits.astype(np.int64) << (n - 1 - np.arange(n))).sum(axis=1)  # big-endian
    rows = U[np.arange(S), index]  # (S, d): <b_s| U_s
    # <b|U O U^dag|b> = row O row^dag
    values = (d + 1) * np.einsum("si,mij,sj->sm", rows, O, rows.conj(), optimize=True).real
    values -= np.trace(O, axis1=1, axis2=2).real[None, :]
    mean = values.mean(axis=0)
    se = values.std(axis=0, ddof=1) / np.sqrt(S) if S > 1 else np.full(O.shape[0], np.inf)
    return ShadowEstimate(
        estimates=mean,
        standard_errors=se,
        median_of_means=median_of_means(values, K) if K is not None else None,
        snapshots=S,
        groups=K,
        hits=np.full(O.shape[0], S, dtype=np.int64),
        estimator="clifford",
    )
