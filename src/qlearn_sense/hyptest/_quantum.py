"""Quantum limits of binary and k-ary state discrimination (density matrices).

All functions take density matrices of shape (d, d) (Hermitian, trace 1,
positive semidefinite within ``ATOL``), are side-effect free and return floats
or small NamedTuples. Exponents are in nats per copy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import cvxpy as cp
import numpy as np
from scipy.special import logsumexp

from qlearn_sense.hyptest._classical import _minimize_on_unit, _normal_shots
from qlearn_sense.hyptest._validate import (
    as_density_matrix,
    as_states_and_priors,
    check_distinct,
    check_open_unit,
    check_prior,
    check_same_shape,
    check_shots,
)

#: Largest tensor-power dimension d**copies that helstrom_error builds explicitly.
MAX_TENSOR_DIM = 4096


class ChernoffExponent(NamedTuple):
    """Quantum Chernoff exponent ``xi`` (nats per copy) and its minimizer ``s_opt``."""

    exponent: float
    s_opt: float


class DiscriminationResult(NamedTuple):
    """Success and error probability of a k-outcome POVM and its elements (d, d)."""

    success: float
    error: float
    povm: list[np.ndarray]


class QuantumShotsEstimate(NamedTuple):
    """Copies needed to reach errors (alpha, beta); see :func:`quantum_shots_to_decide`."""

    shots: int
    upper_bound: int
    method: str


def _pair(rho0, rho1) -> tuple[np.ndarray, np.ndarray]:
    r0 = as_density_matrix("rho0", rho0)
    r1 = as_density_matrix("rho1", rho1)
    check_same_shape("rho0", r0, "rho1", r1)
    return r0, r1


def _nussbaum_szkola(r0: np.ndarray, r1: np.ndarray, atol: float):
    """Nussbaum-Szkola distributions P_ij = a_i |<u_i|v_j>|^2, Q_ij = b_j |<u_i|v_j>|^2.

    Eigenvalues below ``atol`` (incl. tiny negative ones) are clipped to zero.
    Returns (P, Q, a, b, W) with P, Q flattened to shape (d*d,).
    """
    a, u = np.linalg.eigh(r0)
    b, v = np.linalg.eigh(r1)
    a = np.where(a > atol, a, 0.0)
    b = np.where(b > atol, b, 0.0)
    w = np.abs(u.conj().T @ v) ** 2
    return (a[:, None] * w).ravel(), (b[None, :] * w).ravel(), a, b, w


def helstrom_error(rho0, rho1, p0: float = 0.5, copies: int = 1) -> float:
    r"""Minimum error probability of discriminating rho0 from rho1 (Helstrom bound).

    P_err = (1 - ||p0 rho0^{(x)m} - p1 rho1^{(x)m}||_1) / 2 with p1 = 1 - p0
    (Helstrom, Quantum Detection and Estimation Theory (1976), ch. IV, eq. (2.34)).

    Args:
      rho0: density matrix under H0 (no biomarker), shape (d, d).
      rho1: density matrix under H1, shape (d, d).
      p0: prior probability of H0, in [0, 1].
      copies: number m of identical copies measured jointly; the tensor powers
        are built explicitly, so d**m must not exceed 4096.

    Returns:
      Error probability in [0, 1/2] (dimensionless).

    Raises:
      ValueError: invalid density matrices or shapes, p0 outside [0, 1],
        copies < 1, or d**copies > 4096 (use :func:`chernoff_bound_error`).
    """
    r0, r1 = _pair(rho0, rho1)
    p0 = check_prior("p0", p0)
    m = check_shots("copies", copies)
    d = r0.shape[0]
    if m * math.log(d) > math.log(MAX_TENSOR_DIM) + 1e-12:
        raise ValueError(
            f"copies={m} gives dimension d**copies = {d}**{m} > {MAX_TENSOR_DIM}; "
            f"accepted: d**copies <= {MAX_TENSOR_DIM}. For more copies use "
            "chernoff_bound_error (Chernoff upper bound) instead"
        )
    t0, t1 = r0, r1
    for _ in range(m - 1):
        t0, t1 = np.kron(t0, r0), np.kron(t1, r1)
    gamma = p0 * t0 - (1.0 - p0) * t1
    trace_norm = float(np.sum(np.abs(np.linalg.eigvalsh(0.5 * (gamma + gamma.conj().T)))))
    return float(min(max(0.5 * (1.0 - trace_norm), 0.0), 0.5))


def _log_q(p: np.ndarray, q: np.ndarray):
    """Returns s -> log sum_k p_k^s q_k^(1-s) over the common support (-inf if empty)."""
    keep = (p > 0) & (q > 0)
    lp, lq = np.log(p[keep]), np.log(q[keep])
    if lp.size == 0:
        return lambda s: -np.inf
    return lambda s: float(logsumexp(s * lp + (1.0 - s) * lq))


def chernoff_exponent(rho0, rho1, *, atol: float = 1e-12) -> ChernoffExponent:
    r"""Quantum Chernoff exponent xi = -log min_{0<=s<=1} Tr(rho0^s rho1^(1-s)).

    The symmetric (Bayesian) error of m copies decays as exp(-m xi) for any
    priors (Audenaert et al., PRL 98, 160501 (2007), eq. (3); Nussbaum & Szkola,
    Ann. Stat. 37, 1040 (2009)). Matrix powers use the eigendecompositions
    rho0 = sum a_i |u_i><u_i|, rho1 = sum b_j |v_j><v_j|, so
    Tr rho0^s rho1^(1-s) = sum_ij a_i^s b_j^(1-s) |<u_i|v_j>|^2, with
    eigenvalues below ``atol`` clipped to zero and 0^s = 0 (support
    projector convention at s = 0, 1). The log of this is convex in s and is
    minimized by bounded Brent search (scipy ``minimize_scalar``) plus the
    endpoints.

    Args:
      rho0: density matrix under H0, shape (d, d).
      rho1: density matrix under H1, shape (d, d).
      atol: eigenvalues below this are treated as zero.

    Returns:
      ChernoffExponent(exponent, s_opt): exponent in nats per copy (inf for
      orthogonal supports), s_opt in [0, 1].

    Raises:
      ValueError: invalid density matrices or mismatched shapes.
    """
    r0, r1 = _pair(rho0, rho1)
    pp, qq, *_ = _nussbaum_szkola(r0, r1, atol)
    s, val = _minimize_on_unit(_log_q(pp, qq))
    return ChernoffExponent(exponent=float(-val), s_opt=float(s))


def chernoff_bound_error(
    rho0, rho1, copies: int, p0: float = 0.5, *, atol: float = 1e-12
) -> float:
    r"""Chernoff upper bound on the m-copy Helstrom error, any d and m.

    P_err(m) <= min_s p0^s p1^(1-s) Tr(rho0^s rho1^(1-s))^m (Audenaert et al.,
    PRL 98, 160501 (2007), eq. (2) applied to p0 rho0^{(x)m}, p1 rho1^{(x)m}).
    The minimization over s includes the priors, so the bound is at least as
    tight as using the ``s_opt`` of :func:`chernoff_exponent`.

    Args:
      rho0: density matrix under H0, shape (d, d).
      rho1: density matrix under H1, shape (d, d).
      copies: number m >= 1 of copies.
      p0: prior probability of H0, in [0, 1].
      atol: eigenvalues below this are treated as zero.

    Returns:
      Upper bound on the error probability, dimensionless, in [0, min(p0, p1)].

    Raises:
      ValueError: invalid density matrices or shapes, copies < 1, p0 outside [0, 1].
    """
    r0, r1 = _pair(rho0, rho1)
    m = check_shots("copies", copies)
    p0 = check_prior("p0", p0)
    if p0 in (0.0, 1.0):
        return 0.0
    pp, qq, *_ = _nussbaum_szkola(r0, r1, atol)
    logq = _log_q(pp, qq)
    lp0, lp1 = math.log(p0), math.log1p(-p0)
    _, val = _minimize_on_unit(lambda s: s * lp0 + (1.0 - s) * lp1 + m * logq(s))
    return float(min(math.exp(val), min(p0, 1.0 - p0)))


def relative_entropy(rho0, rho1, *, atol: float = 1e-12) -> float:
    r"""Quantum relative entropy D(rho0||rho1) = Tr rho0 (log rho0 - log rho1), nats.

    Umegaki's relative entropy; equals the Stein exponent of :func:`stein_exponent`.
    Computed as sum_ij a_i |<u_i|v_j>|^2 (log a_i - log b_j) over the
    eigendecompositions. Returns inf when supp(rho0) is not contained in
    supp(rho1), decided as Tr[rho0 Pi_ker(rho1)] > atol.

    Args:
      rho0: density matrix, shape (d, d).
      rho1: density matrix, shape (d, d).
      atol: eigenvalues below this are treated as zero, and leaked weight
        below this is ignored.

    Returns:
      D(rho0||rho1) >= 0 in nats (math.inf if the supports are not contained).

    Raises:
      ValueError: invalid density matrices or mismatched shapes.
    """
    r0, r1 = _pair(rho0, rho1)
    return _relative_entropy_and_variance(r0, r1, atol)[0]


def _relative_entropy_and_variance(r0, r1, atol) -> tuple[float, float]:
    """(D(rho0||rho1), V(rho0||rho1)) with V = Tr rho0 (log rho0 - log rho1)^2 - D^2."""
    pp, qq, *_ = _nussbaum_szkola(r0, r1, atol)
    leak = float(np.sum(pp[qq <= 0.0]))
    if leak > atol:
        return math.inf, math.inf
    keep = (pp > 0) & (qq > 0)
    p, llr = pp[keep], np.log(pp[keep]) - np.log(qq[keep])
    dval = float(np.sum(p * llr))
    var = float(np.sum(p * (llr - dval) ** 2))
    return max(dval, 0.0), var


def stein_exponent(rho0, rho1, *, atol: float = 1e-12) -> float:
    r"""Quantum Stein exponent: -lim (1/m) log beta_m at fixed false-alarm alpha.

    Equals D(rho0||rho1) (Hiai & Petz, CMP 143, 99 (1991); Ogawa & Nagaoka,
    IEEE TIT 46, 2428 (2000)). Here alpha = P(decide H1 | H0) is held fixed and
    beta_m = P(decide H0 | H1) on m copies decays as exp(-m D).

    Args:
      rho0: density matrix under H0, shape (d, d).
      rho1: density matrix under H1, shape (d, d).
      atol: see :func:`relative_entropy`.

    Returns:
      Exponent in nats per copy (math.inf when supp(rho0) is not in supp(rho1)).

    Raises:
      ValueError: invalid density matrices or mismatched shapes.
    """
    return relative_entropy(rho0, rho1, atol=atol)


def min_error_discrimination(
    states: Sequence, priors=None, *, solver: str | None = None
) -> DiscriminationResult:
    r"""Optimal (minimum-error) discrimination of k >= 2 states by semidefinite program.

    maximize sum_i p_i Tr(E_i rho_i) s.t. E_i >= 0, sum_i E_i = I
    (Holevo, J. Multivar. Anal. 3, 337 (1973); Yuen, Kennedy, Lax, IEEE TIT 21,
    125 (1975); Eldar, Megretski, Verghese, IEEE TIT 49, 1007 (2003)), solved with
    cvxpy over complex Hermitian variables. For k = 2 it reproduces
    :func:`helstrom_error` to solver accuracy (~1e-7).

    Args:
      states: k density matrices, each shape (d, d) (sequence or array (k, d, d)).
      priors: prior probabilities, shape (k,); uniform if None.
      solver: cvxpy solver name; cvxpy's default if None.

    Returns:
      DiscriminationResult(success, error, povm), povm a list of k (d, d)
      complex arrays; the solver output is projected onto the PSD cone and
      renormalized, so the POVM is valid to machine precision and ``success``
      is achieved by it (optimal to solver accuracy).

    Raises:
      ValueError: fewer than 2 states, an invalid state, mismatched shapes, or
        invalid priors.
      cvxpy.error.SolverError: ``solver`` is not installed or fails.
    """
    rhos, pri = as_states_and_priors(states, priors)
    d = rhos[0].shape[0]
    elems = [cp.Variable((d, d), hermitian=True) for _ in rhos]
    constraints = [e >> 0 for e in elems] + [sum(elems) == np.eye(d)]
    objective = cp.Maximize(
        cp.real(sum(p * cp.trace(r @ e) for p, r, e in zip(pri, rhos, elems)))
    )
    cp.Problem(objective, constraints).solve(solver=solver)
    povm = _clean_povm([e.value for e in elems])
    success = float(sum(p * np.real(np.trace(r @ e)) for p, r, e in zip(pri, rhos, povm)))
    success = min(max(success, 0.0), 1.0)
    return DiscriminationResult(success=success, error=1.0 - success, povm=povm)


def _clean_povm(raw: list[np.ndarray]) -> list[np.ndarray]:
    """Projects solver output onto a valid POVM: PSD parts, renormalized to sum to I."""
    pos = []
    for e in raw:
        lam, vec = np.linalg.eigh(0.5 * (e + e.conj().T))
        pos.append((vec * np.clip(lam, 0.0, None)) @ vec.conj().T)
    lam, vec = np.linalg.eigh(sum(pos))
    s = (vec / np.sqrt(lam)) @ vec.conj().T
    return [0.5 * (s @ e @ s + (s @ e @ s).conj().T) for e in pos]


def pretty_good_measurement(
    states: Sequence, priors=None, *, atol: float = 1e-12
) -> DiscriminationResult:
    r"""Pretty-good (square-root) measurement: a closed-form lower bound on success.

    E_i = rho_bar^(-1/2) p_i rho_i rho_bar^(-1/2) with rho_bar = sum_i p_i rho_i
    (pseudo-inverse on the support; the kernel projector is added to E_0 to
    complete the POVM). Its success satisfies P_opt^2 <= P_pgm <= P_opt
    (Hausladen & Wootters, J. Mod. Opt. 41, 2385 (1994); Barnum & Knill,
    J. Math. Phys. 43, 2097 (2002), Theorem 4).

    Args:
      states: k density matrices, each shape (d, d).
      priors: prior probabilities, shape (k,); uniform if None.
      atol: eigenvalues of rho_bar below this are treated as zero.

    Returns:
      DiscriminationResult(success, error, povm) of the PGM.

    Raises:
      ValueError: fewer than 2 states, an invalid state, mismatched shapes, or
        invalid priors.
    """
    rhos, pri = as_states_and_priors(states, priors)
    rho_bar = sum(p * r for p, r in zip(pri, rhos))
    lam, vec = np.linalg.eigh(rho_bar)
    inv_sqrt = np.where(lam > atol, 1.0 / np.sqrt(np.where(lam > atol, lam, 1.0)), 0.0)
    s = (vec * inv_sqrt) @ vec.conj().T
    kernel = (vec * (lam <= atol)) @ vec.conj().T
    povm = [s @ (p * r) @ s for p, r in zip(pri, rhos)]
    povm[0] = povm[0] + kernel
    povm = [0.5 * (e + e.conj().T) for e in povm]
    success = float(sum(p * np.real(np.trace(r @ e)) for p, r, e in zip(pri, rhos, povm)))
    return DiscriminationResult(success=success, error=1.0 - success, povm=povm)


def quantum_shots_to_decide(
    rho0, rho1, alpha: float, beta: float, *, atol: float = 1e-12
) -> QuantumShotsEstimate:
    r"""Copies m needed by the best joint measurement to reach errors (alpha, beta).

    Two numbers are returned:

    * ``upper_bound`` (rigorous): the smallest m with exp(-m xi) <= min(alpha,
      beta), xi the quantum Chernoff exponent. The Helstrom projector of
      rho1^{(x)m} - rho0^{(x)m} then has alpha_m + beta_m <= Q_s^m (Audenaert et
      al., PRL 98, 160501 (2007), eq. (2)), so both errors meet their targets.
    * ``shots`` (estimate): the normal (second-order) approximation
      m = ((z_{1-alpha} sqrt(V01) + z_{1-beta} sqrt(V10)) / (D01 + D10))^2 with
      D01 = D(rho0||rho1), V01 = Tr rho0 (log rho0 - log rho1)^2 - D01^2 and
      D10, V10 likewise. The D + sqrt(V/m) z expansion of the optimal type-II
      exponent is exact to second order in Stein's regime (Li, Ann. Stat. 42,
      171 (2014); Tomamichel & Hayashi, IEEE TIT 59, 7693 (2013)); applying it to
      both errors at once is a heuristic, with O(log m) corrections ignored
      (unreliable below a few tens of copies; use ``upper_bound`` there). For
      commuting states it is the classical normal approximation (Bernoulli 0.5
      vs 0.6 at alpha = beta = 0.01 gives 530, exact 530..540). When a relative
      entropy is infinite (support mismatch) the estimate falls back to
      ``upper_bound`` and ``method`` says "chernoff".

    Args:
      rho0: density matrix under H0, shape (d, d).
      rho1: density matrix under H1, shape (d, d).
      alpha: target false-alarm probability P(decide H1 | H0), in (0, 1).
      beta: target miss probability P(decide H0 | H1), in (0, 1).
      atol: eigenvalues below this are treated as zero.

    Returns:
      QuantumShotsEstimate(shots, upper_bound, method) with counts of copies
      (convert with :func:`shots_to_seconds`) and method "normal" or "chernoff".

    Raises:
      ValueError: invalid or identical density matrices, mismatched shapes, or
        alpha, beta outside (0, 1).
    """
    r0, r1 = _pair(rho0, rho1)
    check_distinct("rho0", r0, "rho1", r1)
    alpha = check_open_unit("alpha", alpha)
    beta = check_open_unit("beta", beta)
    xi = chernoff_exponent(r0, r1, atol=atol).exponent
    upper = 1 if math.isinf(xi) else max(1, math.ceil(math.log(1.0 / min(alpha, beta)) / xi))
    d01, v01 = _relative_entropy_and_variance(r0, r1, atol)
    d10, v10 = _relative_entropy_and_variance(r1, r0, atol)
    if math.isinf(d01) or math.isinf(d10):
        return QuantumShotsEstimate(shots=upper, upper_bound=upper, method="chernoff")
    est = _normal_shots(-d01, v01, d10, v10, alpha, beta)
    return QuantumShotsEstimate(shots=est, upper_bound=upper, method="normal")
