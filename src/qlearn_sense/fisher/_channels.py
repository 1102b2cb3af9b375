"""The one implementation of the phase encoding's generator and of local dephasing on a register.

Every engine (the register simulator in :mod:`qlearn_sense.protocol`, the
dephased-QFI VJP in :mod:`qlearn_sense.fisher`, the reference state optimum in
:mod:`qlearn_sense.optimize`) calls these.
"""

from __future__ import annotations

from qlearn_sense import _jax  # noqa: F401
import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array


def generator_diagonal(n: int) -> np.ndarray:
    """Diagonal of the collective generator ``sum_j Z_j / 2`` on n qubits, little-endian.

    Entry k is ``(n - 2 popcount(k)) / 2`` (``Z|0> = +|0>``).

    Args:
      n: number of qubits, >= 1.

    Returns:
      float64 array of shape (2**n,), in units of the phase per qubit (rad per rad).

    Raises:
      ValueError: n < 1.
    """
    if n < 1:
        raise ValueError(f"n = {n}; accepted: n >= 1")
    k = np.arange(2**n)
    ones = sum(((k >> j) & 1) for j in range(n))
    return (n - 2 * ones) / 2.0


def local_dephasing(rho: Array, coherence) -> Array:
    """Multiply each qubit's coherences of a register density matrix by a (complex) factor.

    ``rho_ab -> rho_ab prod_j c_j^[a_j=0, b_j=1] conj(c_j)^[a_j=1, b_j=0]``: local
    dephasing with coherence factor ``|c_j| = eta_j`` and, for ``c_j = eta_j
    exp(-i phi)``, the encoding ``exp(-i phi sum_j Z_j / 2)`` in the same pass
    (both are diagonal Hadamard-product maps; Nielsen & Chuang eq. (8.128)).

    Args:
      rho: density matrix (2**n, 2**n), or its (2,)*2n tensor form, little-endian.
      coherence: factors c_j, shape (n,), real or complex, |c_j| <= 1.

    Returns:
      Array of the same shape as ``rho``.
    """
    coherence = jnp.asarray(coherence)
    n = coherence.shape[0]
    shape_in = rho.shape
    t = rho.reshape((2,) * (2 * n))
    for j in range(n):
        c = coherence[j]
        f = jnp.stack([jnp.stack([jnp.ones_like(c), c]), jnp.stack([jnp.conj(c), jnp.ones_like(c)])])
        shape = [1] * (2 * n)
        shape[n - 1 - j] = shape[2 * n - 1 - j] = 2
        t = t * f.reshape(shape)
    return t.reshape(shape_in)
