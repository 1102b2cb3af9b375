"""QFI of dephased permutation-symmetric states, block by block in total spin j.

For ``rho = sum_i B_i B_i^dag`` (blocks of total spin ``j = N/2 - i``, see ``_dicke``) and
the generator J_z (diagonal, m), the SLD formula written with the Gram matrices of the
factors avoids any division by small eigenvalues:
``F = 4 Tr(rho J_z^2) - 8 sum_i sum_ab |Q'_ab|^2 / (l_a + l_b)``, where
``M_i = B_i^dag B_i = V diag(l) V^dag`` and ``Q' = V^dag (B_i^dag J_z B_i) V``
(Braunstein & Caves, PRL 72, 3439 (1994); the form ``4 <G^2> - 8 sum l_a l_b/(l_a+l_b) |G_ab|^2``).
Since ``B_i = diag(c) K_i`` with a real kernel K_i, ``M_i`` and ``Q_i`` depend on ``|c|^2`` only
and are real: one real eigendecomposition of size (flip counts kept) per block.

Gradients: ``T(M, Q) = sum_ab |Q'_ab|^2/(l_a+l_b) = Tr(Q X)`` with ``M X + X M = Q``, and
``dT = 2 Tr(X dQ) - 2 Tr(X^2 dM)`` (the SLD identity of ``qlearn_sense.fisher``), a custom VJP
that never differentiates ``eigh`` (degenerate and zero eigenvalues are the rule here).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from qlearn_sense import _jax  # noqa: F401
from qlearn_sense.collective._dicke import (
    binomial_weights,
    check_n_spins,
    flip_table,
    flips_needed,
    m_values,
)

Array = jax.Array

DEFAULT_TOL = 1e-20
"""Binomial weight of the flip counts dropped for large N (nothing is dropped when N is small)."""
_ATOL = 1e-14


def _lyap_parts(m: Array, q: Array):
    lam, v = jnp.linalg.eigh(m)
    qp = v.T @ q @ v
    s = lam[:, None] + lam[None, :]
    mask = s > _ATOL
    xp = jnp.where(mask, qp / jnp.where(mask, s, 1.0), 0.0)
    return jnp.sum(xp * qp), v, xp


@jax.custom_vjp
def _lyap_term(m: Array, q: Array) -> Array:
    return _lyap_parts(m, q)[0]


def _lyap_fwd(m, q):
    t, v, xp = _lyap_parts(m, q)
    return t, (v, xp)


def _lyap_bwd(res, ct):
    v, xp = res
    x = v @ xp @ v.T
    return -2.0 * ct * (x @ x), 2.0 * ct * x


_lyap_term.defvjp(_lyap_fwd, _lyap_bwd)


def _kernel(n_spins: int, eta, max_flips: int) -> Array:
    """``K[i, n, s] = sqrt(W_s) g[s, i, n]``, shape (S+1, N+1, S+1)."""
    g = jnp.asarray(np.transpose(flip_table(n_spins, max_flips), (1, 2, 0)))
    w = binomial_weights(n_spins, (1.0 - jnp.asarray(eta, dtype=jnp.float64)) / 2.0, max_flips)
    return g * jnp.sqrt(w)[None, None, :]


def resolve_max_flips(n_spins: int, eta, max_flips: int | None, tol: float = DEFAULT_TOL) -> int:
    """Flip counts to keep: ``max_flips`` if given, else from the binomial tail (all N if eta is traced)."""
    if max_flips is not None:
        if not 0 <= int(max_flips) <= n_spins:
            raise ValueError(f"max_flips = {max_flips}; accepted: 0..{n_spins}")
        return int(max_flips)
    try:
        eta_f = float(eta)
    except (TypeError, jax.errors.ConcretizationTypeError):
        return n_spins
    return flips_needed(n_spins, eta_f, tol)


def _check_psi_eta(psi, eta):
    psi = jnp.asarray(psi, dtype=jnp.complex128)
    if psi.ndim != 1 or psi.shape[0] < 3:
        raise ValueError(f"psi has shape {psi.shape}; expected (N + 1,) Dicke amplitudes with N >= 2")
    n_spins = check_n_spins(psi.shape[0] - 1)
    try:
        eta_f = float(eta)
        if not 0.0 < eta_f <= 1.0:
            raise ValueError(f"eta = {eta_f}; accepted: 0 < eta <= 1")
    except (TypeError, jax.errors.ConcretizationTypeError):
        pass
    return psi, n_spins


def dephased_factors(psi: Array, eta, *, max_flips: int | None = None) -> Array:
    """Factors ``B_i`` of the dephased state ``rho = sum_i B_i B_i^dag`` (block j = N/2 - i).

    Args:
      psi: Dicke amplitudes, shape (N+1,), ordered m = N/2 ... -N/2, normalized.
      eta: coherence factor per spin, in (0, 1] (``rho_xy -> eta^Hamming(x,y) rho_xy``).
      max_flips: flip counts kept (default: all whose binomial tail exceeds 1e-20; all N when
        eta is traced).

    Returns:
      Complex array (S+1, N+1, S+1): ``B[i, n, s]``; rows with ``|m| > j`` are zero.

    Raises:
      ValueError: psi not of shape (N+1,) with 2 <= N <= 1000, or eta outside (0, 1].
    """
    psi, n_spins = _check_psi_eta(psi, eta)
    s_max = resolve_max_flips(n_spins, eta, max_flips)
    return psi[None, :, None] * _kernel(n_spins, eta, s_max)


def dephased_blocks(psi: Array, eta, *, max_flips: int | None = None) -> Array:
    """Dense blocks ``rho_i = B_i B_i^dag``, shape (S+1, N+1, N+1) (sum over degenerate copies).

    For tests and small N. Same arguments and errors as :func:`dephased_factors`.
    """
    b = dephased_factors(psi, eta, max_flips=max_flips)
    return jnp.einsum("ins,ims->inm", b, jnp.conj(b))


def block_qfi(weights: Array, kernel: Array, m: Array) -> Array:
    """QFI of J_z for ``rho = sum_i diag(c) K_i K_i^T diag(c)^dag`` given ``weights = |c|^2``.

    Args:
      weights: ``|c_n|^2``, shape (N+1,).
      kernel: ``K[i, n, s]``, real, shape (B, N+1, S+1).
      m: J_z eigenvalues, shape (N+1,).

    Returns:
      Scalar QFI in rad^-2 (differentiable in weights and kernel).
    """
    mm = jnp.einsum("ins,n,int->ist", kernel, weights, kernel)
    qq = jnp.einsum("ins,n,int->ist", kernel, weights * m, kernel)
    second = jnp.sum(jnp.einsum("ins,n->n", kernel ** 2, weights) * m ** 2)
    t = jax.vmap(_lyap_term)(mm, qq)
    return 4.0 * second - 8.0 * jnp.sum(t)


def qfi(psi: Array, eta, *, gamma_t1=0.0, max_flips: int | None = None,
        max_decays: int | None = None) -> Array:
    r"""QFI of ``exp(-i phi J_z)`` on a symmetric pure state after local dephasing and T1 decay.

    ``rho = D o |psi><psi|`` in the product basis with ``D_xy = eta^Hamming(x, y)`` (every
    spin's coherence times eta), written in the Dicke blocks of total spin j; the QFI is the
    sum over blocks of the SLD formula (Braunstein & Caves, PRL 72, 3439 (1994)). Limits:
    coherent spin state ``N eta^2``; GHZ ``N^2 eta^(2N)`` (Huelga et al., PRL 79, 3865 (1997)).
    With ``gamma_t1 > 0`` every spin also decays toward |0> (amplitude damping), exactly in the
    PIQS block form (Shammah et al., PRA 98, 063815 (2018); Chase & Geremia, PRA 78, 052101
    (2008)); see ``qlearn_sense.collective._decay``. Then the coherent spin state along x still
    gives ``N eta^2`` and GHZ gives ``2 N^2 eta^(2N) / (1 + gamma^N + (1-gamma)^N)``.

    Args:
      psi: complex Dicke amplitudes, shape (N+1,), ordered m = N/2, N/2-1, ..., -N/2, where
        ``|N/2, N/2>`` is every spin in |0> and Z|0> = +|0>; normalized; 2 <= N <= 1000.
      eta: TOTAL coherence factor per spin in (0, 1] (float, or a traced scalar): the factor on
        every spin's coherence, including the ``sqrt(1 - gamma_t1)`` of T1 (the convention of
        ``qlearn_sense.protocol.Noise``); so ``eta <= sqrt(1 - gamma_t1)``, and the pure-dephasing
        part is ``eta / sqrt(1 - gamma_t1)``. E.g. ``exp(-t/T2)`` with T2 including T1.
      gamma_t1: amplitude-damping (T1) probability per spin during the interrogation,
        ``1 - exp(-t/T1)``, in [0, 1) (float or traced; default 0: dephasing only, the same
        computation as before T1 existed).
      max_flips: flip counts kept (static). Default: exact (all N) when eta is traced or
        N is small, else the counts whose binomial(N, (1-eta)/2) tail exceeds 1e-20.
      max_decays: decay counts kept (static, with T1). Default: the counts whose
        binomial(N, gamma_t1) tail exceeds 1e-20 (all N when traced);
        ``qlearn_sense.collective.decay_truncation`` reports the weight left out.

    Returns:
      Scalar QFI in rad^-2. jit-able; differentiable in psi (and eta, gamma_t1) with a custom VJP
      that does not differentiate eigh. Cost O(N S^3) with S the flip counts kept (dephasing
      only); with T1 the blocks have one column per (decays, j', flips) term.

    Raises:
      ValueError: psi not a vector of length N+1 with 2 <= N <= 1000, eta outside (0, 1],
        gamma_t1 outside [0, 1), eta above sqrt(1 - gamma_t1), max_flips or max_decays
        outside 0..N, or a T1 table too large (``_decay.MAX_DECAY_TABLE``).
    """
    from qlearn_sense.collective._decay import _concrete, check_gamma_t1, decayed_qfi

    check_gamma_t1(gamma_t1, eta)
    if _concrete(gamma_t1) == 0.0 and max_decays is None:
        psi, n_spins = _check_psi_eta(psi, eta)
        s_max = resolve_max_flips(n_spins, eta, max_flips)
        kernel = _kernel(n_spins, eta, s_max)
        w = jnp.real(psi) ** 2 + jnp.imag(psi) ** 2
        return block_qfi(w, kernel, jnp.asarray(m_values(n_spins)))
    return decayed_qfi(psi, eta, gamma_t1, max_flips=max_flips, max_decays=max_decays)
