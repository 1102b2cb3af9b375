"""T1 (amplitude damping) together with local dephasing, exact in the total-spin blocks.

Per spin, amplitude damping with decay probability ``gamma = 1 - exp(-t/T1)`` toward |0>
(``m = +1/2``): ``K0 = |0><0| + sqrt(1-gamma)|1><1|``, ``K1 = sqrt(gamma)|0><1|``. It commutes
with the phase-flip channel and with ``exp(-i phi J_z)`` (both are phase covariant), so the noise
is ``PD(eta_pd) o AD(gamma)`` on every spin, with the pure-dephasing factor
``eta_pd = eta / sqrt(1 - gamma)`` for a TOTAL coherence factor ``eta`` (the convention of
``qlearn_sense.protocol.Noise``: the off-diagonal element is multiplied by eta in all).

For a symmetric input ``sum_n c_n |D_n>`` (n spins in |1>), the decay of a set S of k spins
leaves ``|0>_S (x) phi_k`` with ``phi_k`` a symmetric state of the other N-k spins; summed over
the ``C(N, k)`` sets its amplitudes are the binomial thinning
``A_k[n] = c_{n+k} sqrt(C(n+k, k) gamma^k (1-gamma)^n)`` (n undecayed excitations). Local
dephasing of ``phi_k`` is the flip-count kernel of ``_dicke`` for N-k spins (blocks ``j'``).
The k decayed spins are in ``|k/2, k/2>``; coupling it with ``j'`` into ``j`` by Clebsch-Gordan
coefficients and twirling over S_N (Schur-Weyl: the multiplicity parts become maximally mixed,
cross-j terms vanish) gives the PIQS form ``rho = (+)_j R_j (x) 1/d_j``
(Shammah et al., PRA 98, 063815 (2018); Chase & Geremia, PRA 78, 052101 (2008)) with
``R_j = B_j B_j^dag`` and factor columns indexed by (k, j', s):
``B_j[n, (k, j', s)] = <k/2 k/2; j' m-k/2 | j m> sqrt(W_s(N-k)) g_{N-k}[s, j', n] A_k[n]``.

Since the columns mix amplitudes with shifted indices, the Gram matrices are complex Hermitian
(not functions of ``|c|^2`` alone as with dephasing only); the QFI uses the SLD formula with a custom
VJP (never differentiating eigh) on the real embedding of the Gram matrix (columns <= N+1) or of the
dense block (otherwise).
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaln as jgammaln
from scipy import special, stats

from qlearn_sense import _jax  # noqa: F401
from qlearn_sense.collective._dicke import check_n_spins, flips_needed, m_values

Array = jax.Array

DEFAULT_TOL = 1e-20
"""Binomial tail weight of the decay (and flip) counts dropped for large N."""
MAX_DECAY_TABLE = 40_000_000
"""Largest (blocks x columns x (N+1)) factor table the T1 engine builds (320 MB of float64)."""
_ATOL = 1e-14
_SNAP = 1e-14  # 1 - eta_pd below this is rounding of eta / sqrt(1 - gamma): no pure dephasing


class DecayTruncation(NamedTuple):
    """Decay and flip counts kept by the T1 engine, and the weight dropped.

    Attributes:
      max_decays: K, decay counts 0..K kept.
      max_flips: S, dephasing flip counts 0..S kept.
      dropped_weight: upper bound on the trace left out,
        ``P(Binom(N, gamma) > K) + P(Binom(N, p) > S)`` with ``p = (1 - eta_pd)/2``; 0 when exact.
    """

    max_decays: int
    max_flips: int
    dropped_weight: float


def _concrete(x):
    try:
        return float(x)
    except (TypeError, jax.errors.ConcretizationTypeError):
        return None


def check_gamma_t1(gamma_t1, eta=None) -> None:
    """Validate a decay probability (and a total eta against it) when they are concrete.

    Raises:
      ValueError: ``gamma_t1`` outside [0, 1) or ``eta > sqrt(1 - gamma_t1)`` (T2 > 2 T1); the message
        names the field.
    """
    g = _concrete(gamma_t1)
    if g is None:
        return
    if not 0.0 <= g < 1.0:
        raise ValueError(f"gamma_t1 = {g}; accepted: 0 <= gamma_t1 < 1 (decay probability 1 - exp(-t/T1))")
    e = _concrete(eta) if eta is not None else None
    if e is not None and e > np.sqrt(1.0 - g) * (1 + 1e-12):
        raise ValueError(f"eta = {e} exceeds sqrt(1 - gamma_t1) = {np.sqrt(1.0 - g):.6g}: the total coherence "
                         "factor cannot outlast amplitude damping (T2 <= 2 T1)")


def pure_dephasing(eta, gamma_t1):
    """Pure-dephasing factor ``min(1, eta / sqrt(1 - gamma_t1))`` (works on floats and traced values)."""
    if _concrete(eta) is not None and _concrete(gamma_t1) is not None:
        e = min(1.0, float(eta) / np.sqrt(1.0 - float(gamma_t1)))
        return 1.0 if 1.0 - e < _SNAP else e
    e = jnp.minimum(1.0, jnp.asarray(eta, dtype=jnp.float64) / jnp.sqrt(1.0 - jnp.asarray(gamma_t1, jnp.float64)))
    return jnp.where(1.0 - e < _SNAP, 1.0, e)


def decays_needed(n_spins: int, gamma: float, tol: float = DEFAULT_TOL) -> int:
    """Largest decay count kept: the binomial(N, gamma) upper tail beyond it is below ``tol`` (N if never)."""
    if gamma <= 0.0:
        return 0
    tail = stats.binom.sf(np.arange(n_spins + 1), n_spins, gamma)
    ok = np.nonzero(tail < tol)[0]
    return int(ok[0]) if ok.size else n_spins


def decay_truncation(n_spins: int, eta, gamma_t1, *, max_flips: int | None = None,
                     max_decays: int | None = None, tol: float = DEFAULT_TOL) -> DecayTruncation:
    """The decay and flip counts the T1 engine keeps, with the trace weight they leave out.

    Args:
      n_spins: N, 2..1000.
      eta: total coherence factor per spin, in (0, sqrt(1 - gamma_t1)] (float or traced).
      gamma_t1: decay probability per spin ``1 - exp(-t/T1)``, in [0, 1) (float or traced).
      max_flips: flip counts kept, or None (automatic: binomial tail below ``tol``; all N if traced).
      max_decays: decay counts kept, or None (automatic, as for flips).
      tol: tail weight dropped by the automatic choice.

    Returns:
      :class:`DecayTruncation`.

    Raises:
      ValueError: n_spins outside 2..1000, gamma_t1 outside [0, 1), eta above sqrt(1 - gamma_t1),
        or max_flips / max_decays outside 0..N.
    """
    n_spins = check_n_spins(n_spins)
    check_gamma_t1(gamma_t1, eta)
    g, e = _concrete(gamma_t1), _concrete(eta)
    for name, val in (("max_flips", max_flips), ("max_decays", max_decays)):
        if val is not None and not 0 <= int(val) <= n_spins:
            raise ValueError(f"{name} = {val}; accepted: 0..{n_spins}")
    if max_decays is None:
        max_decays = n_spins if g is None else decays_needed(n_spins, g, tol)
    if max_flips is None:
        max_flips = n_spins if (g is None or e is None) else flips_needed(n_spins, pure_dephasing(e, g), tol)
    dropped = 0.0
    if g is not None and max_decays < n_spins:
        dropped += float(stats.binom.sf(max_decays, n_spins, g))
    if g is not None and e is not None and max_flips < n_spins:
        dropped += float(stats.binom.sf(max_flips, n_spins, (1.0 - pure_dephasing(e, g)) / 2.0))
    return DecayTruncation(int(max_decays), int(max_flips), dropped)


def cg_stretched(k: int, n_total: int, i_prime: int, i: int, n: np.ndarray) -> np.ndarray:
    """``<k/2, k/2; j', m - k/2 | j, m>`` with ``j' = (N-k)/2 - i'``, ``j = N/2 - i``, ``m = N/2 - n``.

    The first spin at its highest projection has the closed form (Varshalovich et al., Quantum
    Theory of Angular Momentum (1988), Sec. 8.5, the case alpha = a):
    ``C = [(2c+1) (2a)! (b-a+c)! (b-beta)! (c+gamma)! / ((a+b+c+1)! (a-b+c)! (a+b-c)! (b+beta)! (c-gamma)!)]^(1/2)``,
    non-negative (Condon-Shortley), evaluated in log space (stable in float64 for N <= 1000).

    Args:
      k: decayed spins (j1 = k/2).
      n_total: N.
      i_prime: block index of the other N-k spins.
      i: block index of the coupled N spins.
      n: excitation numbers (m = N/2 - n), integer array.

    Returns:
      float64 array shaped like n; 0 where the coefficient does not exist.
    """
    n = np.asarray(n, dtype=np.int64)
    big_n = n_total
    args = [k, big_n - k - i_prime - i, n - i_prime, big_n - i - n,
            big_n - i_prime - i + 1, k + i_prime - i, i - i_prime, big_n - k - i_prime - n, n - i]
    valid = np.ones(n.shape, dtype=bool)
    for a in args:
        valid &= np.asarray(a) >= 0
    lf = lambda x: special.gammaln(np.maximum(np.asarray(x, dtype=np.float64), 0.0) + 1.0)  # noqa: E731
    logc2 = (np.log(max(big_n - 2 * i + 1, 1)) + lf(args[0]) + lf(args[1]) + lf(args[2]) + lf(args[3])
             - lf(args[4]) - lf(args[5]) - lf(args[6]) - lf(args[7]) - lf(args[8]))
    return np.where(valid, np.exp(0.5 * np.where(valid, logc2, 0.0)), 0.0)


def _small_flip_table(n_sub: int, size: int) -> np.ndarray:
    """``g[s, i', n]`` for 0 or 1 remaining spins (flip_table needs N >= 2)."""
    g = np.zeros((size, size, n_sub + 1))
    g[0, 0, :] = 1.0
    if n_sub == 1 and size > 1:
        g[1, 0, :] = [1.0, -1.0]
    return g


def _ladder_batch(n_subs: tuple[int, ...], size: int) -> np.ndarray:
    """``flip_table(n, size - 1)`` for every n in ``n_subs`` (each >= 2) with ONE compiled scan.

    The J_- ladder of ``qlearn_sense.collective._dicke._ladder`` with the spin number a traced
    argument (vmapped) and the scan run over the longest range; sectors beyond a member's N are
    discarded. Returns ``g[b, s, i, n]`` of shape (len(n_subs), size, size, max(n_subs) + 1).
    """
    from qlearn_sense.collective._dicke import _highest_weights, _ladder_step

    length = max(n_subs) + 1
    hw_all = jnp.asarray(np.stack([_highest_weights(n, size) for n in n_subs]))

    def one(nsub, hw):
        return jax.lax.scan(_ladder_step(nsub, hw, size), jnp.zeros((size, size, size)), jnp.arange(length))[1]

    g = np.asarray(jax.jit(jax.vmap(one))(jnp.asarray(n_subs, jnp.float64), hw_all))  # (b, n, s, i)
    g = np.transpose(g, (0, 2, 3, 1))
    out = np.zeros_like(g)
    for b, n_sub in enumerate(n_subs):
        sv = np.arange(size)[:, None]
        exists = np.arange(size)[None, :] <= np.minimum(sv, n_sub - sv)
        m = n_sub / 2.0 - np.arange(n_sub + 1)
        inside = np.abs(m)[None, :] <= (n_sub / 2.0 - np.arange(size))[:, None] + 1e-9
        out[b, :, :, : n_sub + 1] = g[b, :, :, : n_sub + 1] * inside[None] * exists[:, :, None]
    return out


def _flip_tables(n_spins: int, max_decays: int, max_flips: int) -> list[np.ndarray]:
    """``g[s, j', n]`` of the N-k undecayed spins for k = 0..K (flip counts 0..min(S, N-k))."""
    big = [n_spins - k for k in range(max_decays + 1) if n_spins - k >= 2 and min(max_flips, n_spins - k) > 0]
    with jax.ensure_compile_time_eval():  # constants, also when first needed inside a jit trace
        batch = dict(zip(big, _ladder_batch(tuple(big), max_flips + 1))) if big else {}
    out = []
    for k in range(max_decays + 1):
        n_sub = n_spins - k
        s_k = min(max_flips, n_sub)
        if s_k == 0:
            out.append(np.ones((1, 1, n_sub + 1)))
        elif n_sub < 2:
            out.append(_small_flip_table(n_sub, s_k + 1))
        else:
            out.append(batch[n_sub][: s_k + 1, : s_k + 1, : n_sub + 1])
    return out


def _check_table_size(n_spins: int, max_decays: int, max_flips: int) -> None:
    """Raise before any table is built if blocks x columns x rows would exceed :data:`MAX_DECAY_TABLE`."""
    width = np.zeros(n_spins // 2 + 1, dtype=np.int64)
    for k in range(max_decays + 1):
        n_sub = n_spins - k
        s_k = min(max_flips, n_sub)
        for ip in range(min(s_k, n_sub // 2) + 1):
            n_s = max(0, min(s_k, n_sub - ip) - ip + 1)
            hi = min(ip + k, n_spins // 2, n_spins - k - ip)
            if hi >= ip:
                width[ip: hi + 1] += n_s
    n_blocks = int(np.nonzero(width)[0].max()) + 1
    if n_blocks * int(width.max()) * (n_spins + 1) > MAX_DECAY_TABLE:
        raise ValueError(
            f"the T1 factor table for n_spins = {n_spins} keeps {max_decays + 1} decay counts and {max_flips + 1} "
            f"flip counts: {n_blocks} blocks x {int(width.max())} columns x {n_spins + 1} rows exceeds "
            f"{MAX_DECAY_TABLE}; lower max_decays / max_flips (see decay_truncation) or use fewer spins")


@lru_cache(maxsize=8)
def _decay_table(n_spins: int, max_decays: int, max_flips: int):
    """Static structure of the factor columns.

    Returns:
      ``(table, k_idx, s_idx)``: ``table[i, c, n]`` = CG x flip amplitude (float64, shape
      (blocks, C, N+1)); ``k_idx[i, c]``, ``s_idx[i, c]`` the decay and flip count of column c of
      block i (padding columns have table 0).

    Raises:
      ValueError: the table would exceed :data:`MAX_DECAY_TABLE` entries (checked before building).
    """
    n_rows = n_spins + 1
    n_idx = np.arange(n_rows)
    cols: dict[int, list] = {}
    _check_table_size(n_spins, max_decays, max_flips)
    tables = _flip_tables(n_spins, max_decays, max_flips)
    for k in range(max_decays + 1):
        n_sub = n_spins - k
        s_k = min(max_flips, n_sub)
        g = tables[k]
        for ip in range(min(s_k, n_sub // 2) + 1):
            s_hi = min(s_k, n_sub - ip)  # irrep j' exists for ip <= min(s, N-k-s)
            if s_hi < ip:
                continue
            for i in range(ip, min(ip + k, n_spins // 2) + 1):
                cg = cg_stretched(k, n_spins, ip, i, n_idx)
                if not np.any(cg):
                    continue
                vecs = np.zeros((s_hi - ip + 1, n_rows))
                vecs[:, : n_sub + 1] = g[ip: s_hi + 1, ip, :] * cg[None, : n_sub + 1]
                keep = np.any(vecs != 0.0, axis=1)
                if np.any(keep):
                    svals = np.arange(ip, s_hi + 1)[keep]
                    cols.setdefault(i, []).append((np.full(svals.size, k), svals, vecs[keep]))
    n_blocks = max(cols) + 1
    width = max(sum(v[1].size for v in lst) for lst in cols.values())
    table = np.zeros((n_blocks, width, n_rows))
    k_idx = np.zeros((n_blocks, width), dtype=np.int64)
    s_idx = np.zeros((n_blocks, width), dtype=np.int64)
    for i, lst in cols.items():
        ks = np.concatenate([v[0] for v in lst])
        ss = np.concatenate([v[1] for v in lst])
        table[i, : ks.size] = np.concatenate([v[2] for v in lst])
        k_idx[i, : ks.size], s_idx[i, : ks.size] = ks, ss
    return table, k_idx, s_idx


def _thinning(c: Array, n_spins: int, gamma, max_decays: int) -> Array:
    """``A[k, n] = c_{n+k} sqrt(C(n+k, k) gamma^k (1-gamma)^n)``, shape (K+1, N+1) (0 for n > N-k)."""
    k = np.arange(max_decays + 1)[:, None]
    n = np.arange(n_spins + 1)[None, :]
    ok = n + k <= n_spins
    src = np.where(ok, n + k, 0)
    gamma = jnp.asarray(gamma, dtype=jnp.float64)
    kf, nf = jnp.asarray(k, jnp.float64), jnp.asarray(n, jnp.float64)
    logb = jgammaln(nf + kf + 1.0) - jgammaln(kf + 1.0) - jgammaln(nf + 1.0)
    safe = jnp.clip(gamma, 1e-300, 1.0 - 1e-16)
    logw = logb + kf * jnp.log(safe) + nf * jnp.log1p(-safe)
    w = jnp.where(gamma > 0, jnp.exp(0.5 * logw), jnp.where(kf == 0, 1.0, 0.0))
    return jnp.where(jnp.asarray(ok), c[src] * w, 0.0)


def _flip_weights(n_spins: int, p, max_decays: int, max_flips: int) -> Array:
    """``sqrt(W[k, s])``: binomial(N-k, p) weights of s flips, shape (K+1, S+1)."""
    nk = jnp.asarray(n_spins - np.arange(max_decays + 1), jnp.float64)[:, None]
    s = jnp.arange(max_flips + 1, dtype=jnp.float64)[None, :]
    ok = s <= nk
    logc = jgammaln(nk + 1.0) - jgammaln(s + 1.0) - jgammaln(jnp.where(ok, nk - s, 0.0) + 1.0)
    p = jnp.asarray(p, dtype=jnp.float64)
    safe = jnp.clip(p, 1e-300, 0.5)
    logw = logc + s * jnp.log(safe) + (nk - s) * jnp.log1p(-safe)
    w = jnp.where(p > 0, jnp.exp(0.5 * logw), jnp.where(s == 0, 1.0, 0.0))
    return jnp.where(ok, w, 0.0)


def _check_psi(psi):
    psi = jnp.asarray(psi, dtype=jnp.complex128)
    if psi.ndim != 1 or psi.shape[0] < 3:
        raise ValueError(f"psi has shape {psi.shape}; expected (N + 1,) Dicke amplitudes with N >= 2")
    return psi, check_n_spins(psi.shape[0] - 1)


def _check_eta(eta) -> None:
    e = _concrete(eta)
    if e is not None and not 0.0 < e <= 1.0:
        raise ValueError(f"eta = {e}; accepted: 0 < eta <= 1")


def factor_builder(n_spins: int, eta, gamma_t1, *, max_flips: int | None = None,
                   max_decays: int | None = None):
    """The static part of :func:`decayed_factors`: returns ``(build, truncation)`` with
    ``build(psi) -> B`` of shape (blocks, N+1, C) (jit-able; eta and gamma_t1 may be traced).

    Raises:
      ValueError: as :func:`decayed_factors`.
    """
    n_spins = check_n_spins(n_spins)
    _check_eta(eta)
    tr = decay_truncation(n_spins, eta, gamma_t1, max_flips=max_flips, max_decays=max_decays)
    table, k_idx, s_idx = _decay_table(n_spins, tr.max_decays, tr.max_flips)

    def build(psi: Array) -> Array:
        p = (1.0 - pure_dephasing(eta, gamma_t1)) / 2.0
        amp = _thinning(jnp.asarray(psi, jnp.complex128), n_spins, gamma_t1, tr.max_decays)  # (K+1, N+1)
        coef = _flip_weights(n_spins, p, tr.max_decays, tr.max_flips)[k_idx, s_idx]          # (blocks, C)
        b = jnp.asarray(table) * coef[:, :, None] * amp[k_idx]                               # (blocks, C, N+1)
        return jnp.transpose(b, (0, 2, 1))

    return build, tr


def decayed_factors(psi: Array, eta, gamma_t1, *, max_flips: int | None = None,
                    max_decays: int | None = None) -> Array:
    """Factors ``B_i`` of the state after T1 decay and dephasing: ``rho = (+)_i B_i B_i^dag (x) 1/d_j``.

    Args:
      psi: Dicke amplitudes, shape (N+1,), ordered m = N/2 ... -N/2 (n = spins in |1>), normalized.
      eta: TOTAL coherence factor per spin in (0, sqrt(1 - gamma_t1)] (as ``qlearn_sense.protocol.Noise``:
        the pure-dephasing part is ``eta / sqrt(1 - gamma_t1)``), e.g. ``exp(-t/T2)``; float or traced.
      gamma_t1: decay probability per spin toward |0>, ``1 - exp(-t/T1)``, in [0, 1); float or traced.
      max_flips: dephasing flip counts kept (static), None: automatic (see :func:`decay_truncation`).
      max_decays: decay counts kept (static), None: automatic.

    Returns:
      Complex array (blocks, N+1, C): ``B[i, n, c]`` for block ``j = N/2 - i``; rows with ``|m| > j`` are
      zero; the columns are the (decays, j', flips) terms of the module docstring.

    Raises:
      ValueError: psi not of shape (N+1,) with 2 <= N <= 1000, eta outside (0, 1], gamma_t1 outside [0, 1),
        eta > sqrt(1 - gamma_t1), max_flips / max_decays outside 0..N, or a table over
        :data:`MAX_DECAY_TABLE` entries.
    """
    psi, n_spins = _check_psi(psi)
    build, _ = factor_builder(n_spins, eta, gamma_t1, max_flips=max_flips, max_decays=max_decays)
    return build(psi)


def decayed_blocks(psi: Array, eta, gamma_t1, *, max_flips: int | None = None,
                   max_decays: int | None = None) -> Array:
    """Dense blocks ``R_i = B_i B_i^dag``, shape (blocks, N+1, N+1) (sum over the degenerate copies).

    ``sum_i Tr R_i = 1``; block i is total spin ``j = N/2 - i`` on the padded index n (PIQS form,
    Shammah et al., PRA 98, 063815 (2018)). Same arguments and errors as :func:`decayed_factors`.
    """
    b = decayed_factors(psi, eta, gamma_t1, max_flips=max_flips, max_decays=max_decays)
    return jnp.einsum("inc,imc->inm", b, jnp.conj(b))


# --- SLD terms with stable custom VJPs -----------------------------------------------------------

def _sld_real_parts(r: Array, g: Array):
    lam, v = jnp.linalg.eigh(r)
    gp = v.T @ g @ v
    s = lam[:, None] + lam[None, :]
    d = lam[:, None] - lam[None, :]
    mask = s > _ATOL
    safe = jnp.where(mask, s, 1.0)
    f = jnp.sum(jnp.where(mask, 2.0 * d ** 2 / safe, 0.0) * gp ** 2)
    kp = jnp.where(mask, 2.0 * d * gp / safe, 0.0)  # SLD = i K (K real antisymmetric) in the eigenbasis
    return f, v, kp, gp


@jax.custom_vjp
def sld_dense_real(r: Array, g: Array) -> Array:
    """QFI ``2 sum (l_a - l_b)^2/(l_a + l_b) G_ab^2`` of real symmetric r under ``exp(-i phi g)``.

    Braunstein & Caves, PRL 72, 3439 (1994); used on the real embedding of Hermitian blocks.

    With ``L = i K``: ``Gamma = 2 [K, G] + K^2`` (real symmetric), ``dF = Tr(Gamma dr)``.
    """
    return _sld_real_parts(r, g)[0]


def _sld_real_fwd(r, g):
    f, v, kp, gp = _sld_real_parts(r, g)
    return f, (v, kp, gp, g)


def _sld_real_bwd(res, ct):
    v, kp, gp, g = res
    gam = 2.0 * (kp @ gp - gp @ kp) + kp @ kp
    return ct * (v @ gam @ v.T), jnp.zeros_like(g)


sld_dense_real.defvjp(_sld_real_fwd, _sld_real_bwd)


def _embed(h: Array) -> Array:
    """Real embedding ``[[Re H, -Im H], [Im H, Re H]]`` of Hermitian matrices (..., d, d) -> (..., 2d, 2d).

    A *-homomorphism unitarily equivalent to ``H (+) conj(H)``: spectra double, and every SLD term of the
    embedded pair is twice that of the Hermitian pair. JAX's complex ``eigh`` on CPU is ~100x slower than the
    real one at these sizes, hence the embedding.
    """
    a, b = jnp.real(h), jnp.imag(h)
    return jnp.concatenate([jnp.concatenate([a, -b], axis=-1), jnp.concatenate([b, a], axis=-1)], axis=-2)


def factors_qfi(b: Array, m: Array) -> Array:
    """QFI of J_z = diag(m) summed over blocks ``R_i = B_i B_i^dag``; b of shape (blocks, N+1, C).

    Gram form (C <= N+1): ``F = 4 Tr(R J_z^2) - 8 T(B^dag B, B^dag J_z B)`` (``_qfi._lyap_term`` on the real
    embedding, halved); dense form otherwise (:func:`sld_dense_real` on the embedded blocks, halved).
    """
    from qlearn_sense.collective._qfi import _lyap_term

    n_rows, width = b.shape[1], b.shape[2]
    if width <= n_rows:
        bh = jnp.conj(b)
        mm = _embed(jnp.einsum("inc,ind->icd", bh, b))
        qq = _embed(jnp.einsum("inc,n,ind->icd", bh, m, b))
        second = jnp.sum((jnp.real(b) ** 2 + jnp.imag(b) ** 2) * (m ** 2)[None, :, None])
        return 4.0 * second - 4.0 * jnp.sum(jax.vmap(_lyap_term)(mm, qq))
    r = _embed(jnp.einsum("inc,imc->inm", b, jnp.conj(b)))
    g = jnp.diag(jnp.concatenate([m, m]))
    return 0.5 * jnp.sum(jax.vmap(sld_dense_real, in_axes=(0, None))(r, g))


def decayed_qfi(psi: Array, eta, gamma_t1, *, max_flips: int | None = None,
                max_decays: int | None = None) -> Array:
    """QFI of ``exp(-i phi J_z)`` after T1 decay and dephasing (see :func:`qlearn_sense.collective.qfi`)."""
    b = decayed_factors(psi, eta, gamma_t1, max_flips=max_flips, max_decays=max_decays)
    return factors_qfi(b, jnp.asarray(m_values(b.shape[1] - 1)))
