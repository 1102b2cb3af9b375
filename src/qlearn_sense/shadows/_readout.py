"""What local-Pauli shadows converge to when readout flips bits.

Readout errors turn the unbiased shadow of rho into the shadow of a biased
state: per qubit, outcome b' of the measured basis is read as b with
probability A(b | b') (A(1|0) = p01, A(0|1) = p10) and then inverted as if it
were right. By linearity, the mean of the estimator is ``E^{(x)n}(rho)`` with
the single-qubit map

    E(X) = 1/3 sum_{B in X,Y,Z} sum_{b, b'} A(b|b') <v_Bb'|X|v_Bb'> (3 |v_Bb><v_Bb| - I)

(Huang, Kueng, Preskill, Nat. Phys. 16, 1050 (2020), eq. (S13) for the
inverse; Chen et al., PRX Quantum 2, 030348 (2021) for the noisy-readout bias).
With A = I, E is the identity. Exact values "including readout" computed with
it are what the plain (non-robust) shadow estimator targets.
"""

from __future__ import annotations

import numpy as np

_S = 1 / np.sqrt(2)
_EIGVECS = {  # outcome 0 = eigenvalue +1 of the measured Pauli
    "X": (np.array([_S, _S]), np.array([_S, -_S])),
    "Y": (np.array([_S, 1j * _S]), np.array([_S, -1j * _S])),
    "Z": (np.array([1.0, 0.0]), np.array([0.0, 1.0])),
}


def readout_shadow_superoperator(p01: float, p10: float) -> np.ndarray:
    """The single-qubit map E as a (2, 2, 2, 2) tensor ``T[a, b, c, d]`` with ``E(X)_ab = sum_cd T_abcd X_cd``.

    Args:
      p01: P(read 1 | state 0), in [0, 0.5).
      p10: P(read 0 | state 1), in [0, 0.5).

    Raises:
      ValueError: a flip probability outside [0, 0.5).
    """
    for name, p in (("p01", p01), ("p10", p10)):
        if not 0.0 <= p < 0.5:
            raise ValueError(f"{name} = {p}; accepted: 0 <= p < 0.5")
    flip = np.array([[1 - p01, p10], [p01, 1 - p10]])  # flip[b, b'] = A(b | b')
    t = np.zeros((2, 2, 2, 2), dtype=complex)
    eye = np.eye(2)
    for vecs in _EIGVECS.values():
        proj = [np.outer(v, v.conj()) for v in vecs]
        for b in range(2):
            target = 3 * proj[b] - eye
            for bp in range(2):
                # <v|X|v> = sum_cd conj(v_c) X_cd v_d
                t += flip[b, bp] / 3 * np.einsum("ab,c,d->abcd", target, vecs[bp].conj(), vecs[bp])
    return t


def readout_biased_state(rho: np.ndarray, p01, p10) -> np.ndarray:
    """The mean of the local-Pauli shadow estimator under readout errors, ``E_0 (x) ... (x) E_{n-1} (rho)``.

    Args:
      rho: density matrix, shape (2**n, 2**n), little-endian (qubit 0 least significant).
      p01: P(read 1 | 0) per qubit, shape (n,).
      p10: P(read 0 | 1) per qubit, shape (n,).

    Returns:
      Matrix of shape (2**n, 2**n), little-endian; Hermitian with trace 1 (not
      necessarily positive).

    Raises:
      ValueError: rho not square with side 2**n, or rates of the wrong length or range.
    """
    rho = np.asarray(rho, dtype=complex)
    p01, p10 = np.atleast_1d(np.asarray(p01, dtype=float)), np.atleast_1d(np.asarray(p10, dtype=float))
    n = len(p01)
    if rho.shape != (2**n, 2**n) or len(p10) != n:
        raise ValueError(f"rho has shape {rho.shape} and {len(p01)}/{len(p10)} readout rates; "
                         f"expected (2**n, 2**n) with n = {n} rates each")
    t = rho.reshape((2,) * (2 * n))
    for j in range(n):
        ax_row, ax_col = n - 1 - j, 2 * n - 1 - j  # little-endian: qubit j is the (n-1-j)-th tensor axis
        sup = readout_shadow_superoperator(float(p01[j]), float(p10[j]))
        t_in = [2 if k == ax_row else 3 if k == ax_col else 4 + k for k in range(2 * n)]
        t_out = [0 if k == ax_row else 1 if k == ax_col else 4 + k for k in range(2 * n)]
        t = np.einsum(sup, [0, 1, 2, 3], t, t_in, t_out)
    return t.reshape(2**n, 2**n)
