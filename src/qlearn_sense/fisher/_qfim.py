"""Multiparameter Fisher information: SLD QFIM (custom VJP), SLDs, CFIM, SLD bound, nuisance parameters.

Conventions (all functions here): ``k`` parameters ``theta = (theta_1..theta_k)``; ``rho`` is a
``(d, d)`` density matrix and ``drhos[a] = d rho / d theta_a`` (shape ``(k, d, d)``); the symmetric
logarithmic derivatives (SLDs) ``L_a`` solve ``drho_a = (rho L_a + L_a rho) / 2`` and are returned in
the same (computational) basis as ``rho``; the SLD QFIM is
``F_ab = Re Tr(rho L_a L_b) = Tr(drho_a L_b)`` (Helstrom, Quantum Detection and Estimation Theory
(1976), ch. VIII; Paris, Int. J. Quantum Inf. 7, 125 (2009); Liu et al., J. Phys. A 53,
023001 (2020)).

Like :func:`qlearn_sense.fisher.qfi`, :func:`qfim` differentiates through a custom VJP instead of
through ``eigh`` (whose derivative is NaN on degenerate spectra, i.e. every pure state). With
``R(L) = (rho L + L rho) / 2`` and ``F_ab = <drho_a, R^-1 drho_b>``,
``dF_ab = Tr(L_b d(drho_a)) + Tr(L_a d(drho_b)) - Tr(d(rho) {L_a, L_b}) / 2``
(the k = 1 case is the identity used by ``qfi``), which needs only the forward eigendecomposition.
"""

from __future__ import annotations

from qlearn_sense import _jax  # noqa: F401
import jax
import jax.numpy as jnp
import numpy as np

from qlearn_sense.fisher._sld import DEFAULT_ATOL, _cmatmul

Array = jax.Array

#: Relative eigenvalue tolerance: an eigenvalue of a Fisher matrix at or below ``SINGULAR_RTOL``
#: times its largest eigenvalue counts as zero (singular matrix, pseudo-inverse cut-off).
SINGULAR_RTOL = 1e-10


def _concrete(*xs) -> bool:
    return not any(isinstance(x, jax.core.Tracer) for x in xs)


def _check_rho_drhos(rho, drhos) -> tuple[Array, Array]:
    rho = jnp.asarray(rho, dtype=jnp.complex128)
    drhos = jnp.asarray(drhos, dtype=jnp.complex128)
    if rho.ndim != 2 or rho.shape[0] != rho.shape[1]:
        raise ValueError(f"rho must be a square matrix of shape (d, d), got shape {rho.shape}")
    if drhos.ndim != 3 or drhos.shape[1:] != rho.shape or drhos.shape[0] < 1:
        raise ValueError(
            f"drhos has shape {drhos.shape}; expected (k, d, d) = (k, {rho.shape[0]}, {rho.shape[1]}) with k >= 1 "
            "(for one parameter pass drho[None])"
        )
    return rho, drhos


def _check_weight(weight, k: int, name: str = "weight") -> Array:
    """Real symmetric positive-semidefinite (k, k) weight matrix; value checks only on concrete arrays."""
    w = jnp.asarray(weight)
    if w.shape != (k, k):
        raise ValueError(f"{name} has shape {w.shape}; expected ({k}, {k}) for k = {k} parameters")
    if _concrete(w):
        wn = np.asarray(w)
        if np.iscomplexobj(wn):
            if np.max(np.abs(wn.imag), initial=0.0) > 1e-12 * max(1.0, np.max(np.abs(wn))):
                raise ValueError(f"{name} must be a real symmetric matrix, got complex entries")
            wn = wn.real
        scale = max(np.max(np.abs(wn)), 1e-300)
        if not np.all(np.isfinite(wn)) or np.max(np.abs(wn - wn.T)) > 1e-10 * scale:
            raise ValueError(f"{name} = {wn.tolist()} is not a finite symmetric matrix")
        ev = np.linalg.eigvalsh(wn)
        if ev[0] < -1e-10 * scale:
            raise ValueError(f"{name} has eigenvalue {ev[0]:.3g} < 0; accepted: positive semidefinite")
        if ev[-1] <= 0:
            raise ValueError(f"{name} is zero; accepted: positive semidefinite and nonzero")
    return jnp.real(w).astype(jnp.float64)


# --------------------------------------------------------------------------- QFIM with custom VJP


def _qfim_parts(rho: Array, drhos: Array, atol: float):
    lam, u = jnp.linalg.eigh(rho)
    uh = jnp.conj(u.T)
    dm = _cmatmul(_cmatmul(uh, drhos), u)  # <i|drho_a|j>, (k, d, d)
    s = lam[:, None] + lam[None, :]
    mask = s > atol
    inv = jnp.where(mask, 2.0 / jnp.where(mask, s, 1.0), 0.0)
    l_eig = dm * inv  # SLDs in the eigenbasis, zero where l_i + l_j <= atol
    k = drhos.shape[0]
    x = jnp.concatenate([jnp.real(dm).reshape(k, -1), jnp.imag(dm).reshape(k, -1)], axis=1)
    wts = jnp.concatenate([inv.reshape(-1), inv.reshape(-1)])
    f = (x * wts) @ x.T  # F_ab = sum_ij 2 Re(conj(D_a,ij) D_b,ij) / (l_i + l_j)
    return 0.5 * (f + f.T), u, l_eig


@jax.custom_vjp
def _qfim(rho: Array, drhos: Array, atol: float) -> Array:
    return _qfim_parts(rho, drhos, atol)[0]


def _qfim_fwd(rho, drhos, atol):
    f, u, l_eig = _qfim_parts(rho, drhos, atol)
    return f, (u, l_eig)


def _qfim_bwd(res, ct):
    u, l_eig = res
    k, d, _ = l_eig.shape
    cs = 0.5 * (ct + ct.T)
    n_eig = jnp.einsum("ab,bij->aij", cs.astype(l_eig.dtype), l_eig)  # N_a = sum_b Cs_ab L_b
    # M_rho = -sum_ab Cs_ab L_a L_b = -sum_a L_a N_a as one (d, kd) x (kd, d) product
    m_eig = -_cmatmul(l_eig.transpose(1, 0, 2).reshape(d, k * d), n_eig.reshape(k * d, d))
    uh = jnp.conj(u.T)
    m_rho = _cmatmul(_cmatmul(u, m_eig), uh)
    m_drho = 2.0 * _cmatmul(_cmatmul(u, n_eig), uh)
    # dF = Tr(M dZ) = Re sum_ij (M^T)_ij dZ_ij: JAX's cotangent is M^T (as in qfi's VJP)
    return m_rho.T, jnp.swapaxes(m_drho, -1, -2), None


_qfim.defvjp(_qfim_fwd, _qfim_bwd)


def qfim(rho: Array, drhos: Array, *, atol: float = DEFAULT_ATOL) -> Array:
    r"""SLD quantum Fisher information matrix of a k-parameter density-matrix family.

    ``F_ab = 2 sum_{ij: l_i + l_j > atol} Re(<i|drho_a|j> <j|drho_b|i>) / (l_i + l_j)`` with
    ``rho = sum_i l_i |i><i|``; equivalently ``F_ab = Re Tr(rho L_a L_b)`` with the SLDs of :func:`sld`
    (Helstrom (1976); Paris, Int. J. Quantum Inf. 7, 125 (2009); Liu et al., J. Phys. A 53,
    023001 (2020)). Valid for every rank (pure, rank-deficient, full-rank) when the family keeps
    its support to first order (the kernel block of each ``drho_a`` is zero, as for unitary families and
    any smooth pure-state family). For ``k = 1`` it equals :func:`qlearn_sense.fisher.qfi`.

    Args:
      rho: density matrix, shape (d, d), Hermitian, trace 1.
      drhos: derivatives ``d rho / d theta_a``, shape (k, d, d), each Hermitian, in units of the
        inverse parameter (rad^-1 for phases, T^-1 for fields in tesla).
      atol: eigenvalue sums ``l_i + l_j`` at or below this are treated as outside the support.

    Returns:
      Real symmetric positive-semidefinite QFIM, shape (k, k), in units of
      ``1 / (theta_a theta_b)`` (rad^-2 for phases). Jit-able; differentiable in ``rho`` and
      ``drhos`` through a custom VJP, with finite gradients for pure and rank-deficient states.

    Raises:
      ValueError: if ``rho`` is not square or ``drhos`` is not of shape (k, d, d).
    """
    rho, drhos = _check_rho_drhos(rho, drhos)
    return _qfim(rho, drhos, atol)


def sld(rho: Array, drhos: Array, *, atol: float = DEFAULT_ATOL) -> Array:
    r"""Symmetric logarithmic derivatives ``L_a`` with ``drho_a = (rho L_a + L_a rho) / 2``.

    In the eigenbasis of ``rho``: ``<i|L_a|j> = 2 <i|drho_a|j> / (l_i + l_j)`` where
    ``l_i + l_j > atol``. Off the support the SLD is not unique; here its kernel-kernel block
    (``l_i + l_j <= atol``) is set to zero, which gives the minimal-norm solution and the same QFIM
    (Paris, Int. J. Quantum Inf. 7, 125 (2009); Liu et al., J. Phys. A 53, 023001 (2020)).

    Args:
      rho: density matrix, shape (d, d).
      drhos: derivatives, shape (k, d, d).
      atol: see :func:`qfim`.

    Returns:
      Hermitian SLDs, shape (k, d, d), in the basis of ``rho`` (the computational basis if ``rho``
      is given in it), in units of the inverse parameter. Not meant for autodiff (it goes through
      ``eigh``, NaN gradients on degenerate spectra): differentiate :func:`qfim` instead.

    Raises:
      ValueError: if ``rho`` is not square or ``drhos`` is not of shape (k, d, d).
    """
    rho, drhos = _check_rho_drhos(rho, drhos)
    _, u, l_eig = _qfim_parts(rho, drhos, atol)
    return u @ l_eig @ jnp.conj(u.T)


def compatibility(rho: Array, drhos: Array, *, atol: float = DEFAULT_ATOL) -> Array:
    r"""Weak-commutativity matrix ``D_ab = Im Tr(rho [L_a, L_b])`` of the SLDs.

    ``Tr(rho [L_a, L_b]) = 2 i Im Tr(rho L_a L_b)`` is purely imaginary; this returns its imaginary
    part, so ``Tr(rho [L_a, L_b]) = 1j * D_ab``. The SLD bound is asymptotically attainable (the model
    is compatible) iff ``D = 0`` (Ragy, Jarzyna, Demkowicz-Dobrzanski, PRA 94, 052108 (2016);
    for pure states Matsumoto, J. Phys. A 35, 3111 (2002)).

    Args:
      rho: density matrix, shape (d, d).
      drhos: derivatives, shape (k, d, d).
      atol: see :func:`qfim`.

    Returns:
      Real antisymmetric matrix, shape (k, k), in the units of the QFIM.

    Raises:
      ValueError: if ``rho`` is not square or ``drhos`` is not of shape (k, d, d).
    """
    rho, drhos = _check_rho_drhos(rho, drhos)
    lam, u = jnp.linalg.eigh(rho)
    _, _, l_eig = _qfim_parts(rho, drhos, atol)
    z = jnp.einsum("i,aij,bji->ab", lam.astype(l_eig.dtype), l_eig, l_eig)  # Tr(rho L_a L_b)
    im = jnp.imag(z)
    return im - im.T  # = 2 Im Z, exactly antisymmetric


def qfim_pure(psi: Array, dpsis: Array) -> Array:
    r"""QFIM of a pure-state family: ``F_ab = 4 Re(<d_a psi|d_b psi> - <d_a psi|psi><psi|d_b psi>)``.

    Source: Paris, Int. J. Quantum Inf. 7, 125 (2009); Liu et al., J. Phys. A 53, 023001
    (2020).

    Args:
      psi: normalized state vector, shape (d,).
      dpsis: derivatives ``d psi / d theta_a``, shape (k, d).

    Returns:
      Real symmetric QFIM, shape (k, k). Differentiable (no eigendecomposition).

    Raises:
      ValueError: if ``psi`` is not a vector or ``dpsis`` is not of shape (k, d).
    """
    psi = jnp.asarray(psi, dtype=jnp.complex128)
    dpsis = jnp.asarray(dpsis, dtype=jnp.complex128)
    if psi.ndim != 1:
        raise ValueError(f"psi must be a vector of shape (d,), got shape {psi.shape}")
    if dpsis.ndim != 2 or dpsis.shape[1] != psi.shape[0]:
        raise ValueError(f"dpsis has shape {dpsis.shape}; expected (k, {psi.shape[0]})")
    g = jnp.conj(dpsis) @ dpsis.T  # <d_a|d_b>
    o = jnp.conj(dpsis) @ psi  # <d_a|psi>
    f = 4.0 * jnp.real(g - o[:, None] * jnp.conj(o)[None, :])
    return 0.5 * (f + f.T)


def cfim(probs: Array, dprobs: Array, *, atol: float = 1e-14) -> Array:
    r"""Classical Fisher information matrix of an outcome distribution.

    ``F_ab = sum_{m: p_m > atol} (d_a p_m)(d_b p_m) / p_m`` (Fisher 1925; Cramer, Mathematical Methods
    of Statistics (1946)). Outcomes with ``p_m <= atol`` are dropped; the gradient stays
    finite there (double ``where``).

    Args:
      probs: outcome probabilities, shape (m,), summing to 1.
      dprobs: derivatives ``d p / d theta_a``, shape (k, m).
      atol: probability floor.

    Returns:
      Real symmetric positive-semidefinite CFIM, shape (k, k), in units of ``1 / (theta_a theta_b)``.

    Raises:
      ValueError: if ``probs`` is not a vector or ``dprobs`` is not of shape (k, m).
    """
    probs = jnp.asarray(probs)
    dprobs = jnp.asarray(dprobs)
    if probs.ndim != 1:
        raise ValueError(f"probs must be a vector of shape (m,), got shape {probs.shape}")
    if dprobs.ndim != 2 or dprobs.shape[1] != probs.shape[0]:
        raise ValueError(f"dprobs has shape {dprobs.shape}; expected (k, {probs.shape[0]})")
    mask = probs > atol
    inv = jnp.where(mask, 1.0 / jnp.where(mask, probs, 1.0), 0.0)
    return (dprobs * inv) @ dprobs.T


def _check_fisher(fisher, name: str = "F") -> Array:
    f = jnp.asarray(fisher, dtype=jnp.float64)
    if f.ndim != 2 or f.shape[0] != f.shape[1] or f.shape[0] < 1:
        raise ValueError(f"{name} must be a square (k, k) Fisher matrix, got shape {f.shape}")
    return f


def sld_bound(rho: Array, drhos: Array, weight: Array, *, atol: float = DEFAULT_ATOL) -> Array:
    r"""Weighted SLD quantum Cramer-Rao bound ``C_S = Tr(W F^-1)`` with ``F`` = :func:`qfim`.

    Lower bound on ``Tr(W Cov(theta_hat))`` per shot for locally unbiased estimators (Helstrom (1976);
    Paris, Int. J. Quantum Inf. 7, 125 (2009)); attainable iff :func:`compatibility` is zero.

    Args:
      rho: density matrix, shape (d, d).
      drhos: derivatives, shape (k, d, d).
      weight: cost matrix W, shape (k, k), real symmetric positive semidefinite, in units of
        ``1 / (theta_a theta_b)`` if the cost is to be dimensionless.
      atol: see :func:`qfim`.

    Returns:
      Scalar ``Tr(W F^-1)``. Jit-able and differentiable (custom VJP of :func:`qfim` and
      ``jnp.linalg.solve``); under jit a singular F gives a non-finite value instead of an error.

    Raises:
      ValueError: bad shapes; ``weight`` not real symmetric positive semidefinite or zero; the QFIM
        is singular (smallest eigenvalue <= ``SINGULAR_RTOL`` times the largest: some parameter
        combination carries no information, the bound is infinite), checked outside jit.
    """
    rho, drhos = _check_rho_drhos(rho, drhos)
    w = _check_weight(weight, drhos.shape[0])
    f = _qfim(rho, drhos, atol)
    if _concrete(f):
        ev = np.linalg.eigvalsh(np.asarray(f))
        if ev[0] <= SINGULAR_RTOL * max(ev[-1], 0.0):
            raise ValueError(
                f"the QFIM of drhos is singular (eigenvalues {ev.tolist()}): some parameter combination is "
                "not identifiable and Tr(W F^-1) is infinite; use linear_function_fisher for one combination"
            )
    return jnp.trace(jnp.linalg.solve(f, w))


def linear_function_fisher(fisher: Array, w: Array, *, rtol: float = SINGULAR_RTOL) -> Array:
    r"""Fisher information of ``q = w . theta`` with the other directions as nuisance parameters.

    ``F_q = 1 / (w^T F^+ w)``, the reciprocal of the Cramer-Rao bound on ``Var(w . theta_hat)``
    (Eldredge et al., PRA 97, 042337 (2018); Proctor, Knott, Dunningham, PRL 120, 080501
    (2018)). ``F^+`` is the Moore-Penrose pseudo-inverse with eigenvalues at or below
    ``rtol * max eigenvalue`` cut (``jnp.linalg.pinv(F, rtol, hermitian=True)``); it equals ``F^-1`` for
    nonsingular F. A singular F is accepted when ``w`` lies in its range (then ``q`` is identifiable,
    e.g. the sum of phases for a GHZ state, whose QFIM has rank 1); otherwise ``F_q = 0`` and a
    ValueError is raised. ``w`` is used as given (not normalized): ``F_q`` scales as ``1 / |w|^2``.

    Args:
      fisher: Fisher information matrix F (quantum or classical), shape (k, k), real symmetric PSD.
      w: coefficient vector, shape (k,), nonzero.
      rtol: relative eigenvalue cut-off of the pseudo-inverse; also the range test: ``w`` is in the
        range of F if its component in F's null space is at most ``sqrt(rtol) * |w|``.

    Returns:
      Scalar ``F_q`` in units of ``1 / q^2``. Jit-able and differentiable (the pseudo-inverse's JVP
      needs no eigenvalue gaps, so degenerate F is fine); under jit the range checks are skipped.

    Raises:
      ValueError: bad shapes; ``w`` zero; F not symmetric, or singular with ``w`` outside its range
        (checked outside jit).
    """
    f = _check_fisher(fisher, "fisher")
    w = jnp.asarray(w, dtype=jnp.float64)
    k = f.shape[0]
    if w.shape != (k,):
        raise ValueError(f"w has shape {w.shape}; expected ({k},) to match fisher {f.shape}")
    if _concrete(f, w):
        fn, wn = np.asarray(f), np.asarray(w)
        if not np.any(wn != 0) or not np.all(np.isfinite(wn)):
            raise ValueError(f"w = {wn.tolist()}; accepted: a finite nonzero vector")
        scale = max(np.max(np.abs(fn)), 1e-300)
        if not np.all(np.isfinite(fn)) or np.max(np.abs(fn - fn.T)) > 1e-10 * scale:
            raise ValueError(f"fisher = {fn.tolist()} is not a finite symmetric matrix")
        ev, vec = np.linalg.eigh(fn)
        null = vec[:, ev <= rtol * max(ev[-1], 0.0)]
        if null.shape[1]:
            resid = np.linalg.norm(null.T @ wn)
            if resid > np.sqrt(rtol) * np.linalg.norm(wn):
                raise ValueError(
                    f"fisher is singular (eigenvalues {ev.tolist()}) and w = {wn.tolist()} has a component "
                    f"{resid:.3g} in its null space: q = w . theta is not identifiable (F_q = 0)"
                )
    return 1.0 / (w @ jnp.linalg.pinv(0.5 * (f + f.T), rtol=rtol, hermitian=True) @ w)
