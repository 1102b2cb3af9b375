"""Dicke-basis tables: collective spin operators per j block and the dephasing decomposition.

Basis: N spin-1/2 sensors, |0> = spin up (Z|0> = +|0>), J_z = sum_j Z_j / 2. A symmetric
state is a vector of Dicke amplitudes indexed by ``n = 0..N`` (the number of spins in |1>),
i.e. ``m = N/2 - n`` from N/2 down to -N/2. Every block of total spin ``j = N/2 - i`` is
stored padded on the same index ``n`` (rows with ``|m| > j`` are zero), as in QuTiP's PIQS
(Shammah et al., PRA 98, 063815 (2018)), with the block holding the SUM over its degenerate
copies.

Local dephasing with coherence factor eta per spin is the phase-flip channel with
``p = (1 - eta) / 2``: ``rho -> sum_S p^|S| (1-p)^(N-|S|) Z_S rho Z_S``. For a symmetric pure
state ``sum_m c_m |N/2, m>`` the term of the flipped set ``S`` (``|S| = s``) is a pure state of
the coupled spins ``s/2 (x) (N-s)/2``; its component in irrep ``j`` is ``g[s, i, n] c_n |j, m>``
with ``g`` below (Clebsch-Gordan sums), and the permutation twirl adds the copies. So the
dephased state is ``rho = sum_i B_i B_i^dag`` with ``B_i[n, s] = sqrt(W_s) g[s, i, n] c_n``,
``W_s`` the binomial(N, p) weights: every block is a Hadamard product of ``c c^dag`` with a
real kernel of rank <= number of flip counts kept. This is exact when all flip counts
``s = 0..N`` are kept; larger N keep those with binomial weight above a tolerance.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import special, stats

from qlearn_sense import _jax  # noqa: F401  (float64)

MAX_SPINS = 1000
"""Largest ensemble the collective engine accepts."""


def check_n_spins(n_spins: int) -> int:
    """Validate the number of spins.

    Raises:
      ValueError: ``n_spins`` not an integer in 2..1000 (message names ``n_spins``).
    """
    if int(n_spins) != n_spins or not 2 <= n_spins <= MAX_SPINS:
        raise ValueError(f"n_spins = {n_spins!r}; accepted: an integer in 2..{MAX_SPINS}")
    return int(n_spins)


def m_values(n_spins: int) -> np.ndarray:
    """J_z eigenvalues ``m = N/2 - n`` for ``n = 0..N``, shape (N+1,)."""
    return n_spins / 2.0 - np.arange(n_spins + 1)


def ladder_plus(n_spins: int, i: int = 0) -> np.ndarray:
    """J_+ of block ``j = N/2 - i`` on the padded index n, shape (N+1, N+1), real.

    ``J_+ |j, m> = sqrt((j - m)(j + m + 1)) |j, m + 1>`` (Condon-Shortley).
    """
    j = n_spins / 2.0 - i
    m = m_values(n_spins)
    amp = np.sqrt(np.clip((j - m[1:]) * (j + m[1:] + 1), 0.0, None))
    amp[np.abs(m[1:]) > j + 1e-9] = 0.0
    jp = np.zeros((n_spins + 1, n_spins + 1))
    jp[np.arange(n_spins), np.arange(1, n_spins + 1)] = amp  # row n-1 (m+1) <- column n (m)
    return jp


def flips_needed(n_spins: int, eta: float, tol: float = 1e-20) -> int:
    """Largest flip count kept: the binomial(N, (1-eta)/2) upper tail beyond it is below ``tol``.

    Returns N (exact, nothing dropped) when the tail never falls below ``tol``.
    """
    p = (1.0 - float(eta)) / 2.0
    if p <= 0.0:
        return 0
    s = np.arange(n_spins + 1)
    tail = stats.binom.sf(s, n_spins, p)  # P(flips > s)
    ok = np.nonzero(tail < tol)[0]
    return int(ok[0]) if ok.size else n_spins


def _highest_weights(n_spins: int, size: int) -> np.ndarray:
    """``hw[i, s, k]``: highest weight of irrep ``j = N/2 - i`` of ``s/2 (x) (N-s)/2`` (k ones in s).

    ``<j1 m1 j2 m2|j j>`` is proportional to ``(-1)^(j1-m1) sqrt((j1+m1)!(j2+m2)!/((j1-m1)!(j2-m2)!))``
    (Condon-Shortley; e.g. Varshalovich et al., Quantum Theory of Angular Momentum, Sec. 8.5).
    """
    lg = special.gammaln
    s = np.arange(size)[None, :, None]
    k = np.arange(size)[None, None, :]
    i = np.arange(size)[:, None, None]
    ll = i - k
    valid = (k <= s) & (ll >= 0) & (ll <= n_spins - s) & (i <= np.minimum(s, n_spins - s))
    with np.errstate(invalid="ignore"):
        logmag = 0.5 * (lg(s - k + 1) + lg(n_spins - s - ll + 1) - lg(k + 1) - lg(ll + 1))
    logmag = np.where(valid, logmag, -np.inf)
    top = np.max(logmag, axis=2, keepdims=True)
    mag = np.where(valid, np.exp(logmag - np.where(np.isfinite(top), top, 0.0)), 0.0)
    hw = np.where(k % 2 == 0, 1.0, -1.0) * mag
    nrm = np.linalg.norm(hw, axis=2, keepdims=True)
    return hw / np.where(nrm > 0, nrm, 1.0)


def _ladder_step(n_spins, hw, size: int):
    """One step of the J_- ladder over sectors n (the body of a ``lax.scan`` over n = 0, 1, ...).

    Args:
      n_spins: N, a Python number or a traced float (``collective._decay`` vmaps over it);
        sectors n > N give zero amplitudes.
      hw: highest weights ``_highest_weights(N, size)`` as a JAX array, shape (size, size, size).
      size: flip counts tabulated, S + 1.

    Returns:
      ``step(vec, n) -> (vec, g[s, i])`` for ``jax.lax.scan``.
    """
    import jax.numpy as jnp
    from jax.scipy.special import gammaln as lg

    s = jnp.arange(size, dtype=jnp.float64)[:, None]
    k = jnp.arange(size, dtype=jnp.float64)[None, :]
    i_idx = jnp.arange(size, dtype=jnp.float64)[None, :]
    sign = jnp.where(jnp.arange(size) % 2 == 0, 1.0, -1.0)[None, :]
    a_flip = jnp.sqrt(jnp.clip((s - k + 1) * k, 0.0, None))
    eye_low = jnp.tril(jnp.ones((size, size)), k=-1)

    def normalize(a):
        norm = jnp.sqrt(jnp.sum(a * a, axis=2, keepdims=True))
        return a / jnp.where(norm > 0, norm, 1.0)

    def step(vec, n):
        nf = n.astype(jnp.float64)
        l_old = nf - 1.0 - k
        a_rest = jnp.sqrt(jnp.clip((n_spins - s - l_old) * (l_old + 1.0), 0.0, None))
        a_rest = jnp.where((l_old >= 0) & (l_old <= n_spins - s), a_rest, 0.0)
        shifted = jnp.pad(vec[:, :, :-1], ((0, 0), (0, 0), (1, 0)))
        lowered = a_flip[:, None, :] * shifted + a_rest[:, None, :] * vec
        vec = jnp.where(n > 0, lowered, vec)
        new = hw[jnp.clip(n, 0, size - 1)]  # (s, k): irrep i = n enters at sector n
        vec = jnp.where((jnp.arange(size) == n)[None, :, None], new[:, None, :], vec)
        # Gram-Schmidt against the higher irreps: the bare ladder is unstable (rounding leaks
        # into higher-j irreps, whose ladder factors are larger, and grows step by step);
        # one first-order correction per step leaves errors of order leak^2
        active = (i_idx <= jnp.minimum(s, n_spins - s)) & (i_idx <= nf) & (i_idx <= n_spins - nf)
        vec = normalize(jnp.where(active[:, :, None], vec, 0.0))
        leak = eye_low * jnp.einsum("sik,sjk->sij", vec, vec)
        vec = normalize(vec - jnp.einsum("sij,sjk->sik", leak, vec))
        # Z_S |N/2, m>: symmetric split sqrt(C(s,k) C(N-s,n-k) / C(N,n)) times (-1)^k
        ll = nf - k
        valid = (k <= s) & (ll >= 0) & (ll <= n_spins - s) & (nf <= n_spins)
        logw = 0.5 * (lg(s + 1) - lg(k + 1) - lg(s - k + 1) + lg(n_spins - s + 1) - lg(ll + 1)
                      - lg(n_spins - s - ll + 1) - lg(n_spins + 1.0) + lg(nf + 1) + lg(n_spins - nf + 1))
        stretched = jnp.where(valid, jnp.exp(jnp.where(valid, logw, 0.0)), 0.0) * sign
        return vec, jnp.einsum("sik,sk->si", vec, stretched)

    return step


def _ladder(n_spins: int, size: int):
    """The jitted J_- ladder over sectors n = 0..N (a lax.scan), returning ``g[n, s, i]``."""
    import jax
    import jax.numpy as jnp

    step = _ladder_step(n_spins, jnp.asarray(_highest_weights(n_spins, size)), size)

    @jax.jit
    def run():
        _, g = jax.lax.scan(step, jnp.zeros((size, size, size)), jnp.arange(n_spins + 1))
        return g

    return run


@lru_cache(maxsize=8)
def flip_table(n_spins: int, max_flips: int) -> np.ndarray:
    """``g[s, i, n]``: amplitude of ``Z_S |N/2, m>`` (``|S| = s``) on ``|j = N/2 - i, m>``.

    Built by coupling ``s/2 (x) (N-s)/2``: each irrep's highest-weight state in closed form,
    then the J_- ladder with one Gram-Schmidt correction per step; ``Z_S`` multiplies the
    ``k``-ones component of the s spins by ``(-1)^k``, and the symmetric state splits with
    amplitudes ``sqrt(C(s,k) C(N-s,n-k) / C(N,n))``. Cost O(N S^3) for ``S = max_flips``
    (one jitted scan); cached.

    Args:
      n_spins: N, 2..1000.
      max_flips: S, flip counts 0..S are tabulated (0 <= S <= N).

    Returns:
      Array of shape (S+1, S+1, N+1), float64; ``sum_i g[s, i, n]^2 = 1``.
    """
    n_spins = check_n_spins(n_spins)
    size = int(max_flips) + 1
    import jax

    with jax.ensure_compile_time_eval():  # a constant, also when first needed inside a jit trace
        g = np.transpose(np.asarray(_ladder(n_spins, size)()), (1, 2, 0))
    s = np.arange(size)[:, None]
    i_idx = np.arange(size)
    exists = i_idx[None, :] <= np.minimum(s, n_spins - s)
    inside = np.abs(m_values(n_spins))[None, :] <= (n_spins / 2.0 - i_idx)[:, None] + 1e-9
    return g * inside[None, :, :] * exists[:, :, None]


def binomial_weights(n_spins: int, p, max_flips: int):
    """Binomial(N, p) weights of ``s = 0..S`` flips, as a JAX array (differentiable in p)."""
    import jax.numpy as jnp
    from jax.scipy.special import gammaln

    s = jnp.arange(max_flips + 1, dtype=jnp.float64)
    logc = gammaln(n_spins + 1.0) - gammaln(s + 1.0) - gammaln(n_spins - s + 1.0)
    p = jnp.asarray(p, dtype=jnp.float64)
    safe_p = jnp.clip(p, 1e-300, 1.0)
    w = jnp.exp(logc + s * jnp.log(safe_p) + (n_spins - s) * jnp.log1p(-jnp.clip(p, 0.0, 1.0 - 1e-16)))
    return jnp.where(p > 0, w, jnp.where(s == 0, 1.0, 0.0))
