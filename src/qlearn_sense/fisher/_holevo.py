"""RLD and Holevo Cramer-Rao bounds (NumPy / cvxpy, not jit-able).

Holevo bound (Holevo, Probabilistic and Statistical Aspects of Quantum Theory (1982), ch. 6):
``C_H = min_X Tr(W Re Z(X)) + ||sqrt(W) Im Z(X) sqrt(W)||_1`` over Hermitian ``X_1..X_k`` with
``Tr(rho X_a) = 0`` and ``Tr(drho_b X_a) = delta_ab``, where ``Z_ab(X) = Tr(rho X_a X_b)``. Albarelli, Friel
and Datta (PRL 123, 200503 (2019)) write it as the SDP
``min Tr(W V)`` s.t. ``[[V, Y^dag], [Y, 1]] >= 0`` with ``Z = Y^dag Y`` and ``Y = R X`` linear in X, R the
rank-reduced square root of the inner product ``Tr(rho A B)``. Here ``R`` is explicit in the eigenbasis of
rho: ``Z_ab = sum_{ij} l_i conj(X_b,ij) X_a,ij`` (``l_i`` eigenvalues, only rows with ``l_i > 0``), a sum
over independent matrix-element "modes" (the diagonal entries and each pair ``{i, j}``). Splitting
``V = V_diag + sum_m V_m`` with one small LMI ``[[V_m, Y_m^dag], [Y_m, 1]] >= 0`` per group of modes is
equivalent (``V >= sum_m G_m`` iff such a split exists: take ``V_m = G_m`` for all but one) and replaces
one LMI of size ``k + d r`` by many of size ``k + 2 g``. Each LMI is handed to cvxpy in its real embedding
``[[Re M, -Im M], [Im M, Re M]] >= 0`` as one sparse affine map of a single real variable vector, which keeps
cvxpy's compile time small: the d = 16, k = 2 full-rank SDP takes about 0.5 s (benchmarks/bench_qfim.py).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from qlearn_sense.fisher._qfim import _check_rho_drhos, _check_weight

#: eigenvalues at or below this times the largest are treated as zero (outside the support)
SUPPORT_RTOL = 1e-12


def _numpy_inputs(rho, drhos, weight):
    rho, drhos = _check_rho_drhos(rho, drhos)
    w = np.asarray(_check_weight(weight, drhos.shape[0]))
    return np.asarray(rho), np.asarray(drhos), w


def _sqrtm_psd(w: np.ndarray) -> np.ndarray:
    ev, v = np.linalg.eigh(w)
    return (v * np.sqrt(np.clip(ev, 0.0, None))) @ v.T


def rld_bound(rho, drhos, weight) -> float:
    r"""Right-logarithmic-derivative (RLD) Cramer-Rao bound.

    ``C_R = Tr(W Re J^-1) + ||sqrt(W) Im J^-1 sqrt(W)||_1`` with the RLD QFIM
    ``J_ab = Tr(drho_a rho^-1 drho_b)`` (RLD ``drho_a = rho Lt_a``, ``J_ab = Tr(rho Lt_b Lt_a^dag)``)
    (Yuen & Lax, IEEE Trans. Inf. Theory 19, 740 (1973); Holevo (1982), ch. 6; Suzuki, J. Math. Phys. 57,
    042201 (2016); Albarelli, Barbieri, Genoni, Gianani, Phys. Lett. A 384, 126311 (2020)).
    ``C_R <= C_H``, with equality for D-invariant models (e.g. all three Bloch components of a qubit).

    Args:
      rho: full-rank density matrix, shape (d, d).
      drhos: derivatives, shape (k, d, d).
      weight: real symmetric positive-semidefinite cost matrix W, shape (k, k).

    Returns:
      The bound as a float (units of ``Tr(W Cov)``).

    Raises:
      ValueError: bad shapes or weight; ``rho`` rank-deficient (smallest eigenvalue <= 1e-12 times the
        largest: the RLD does not exist); singular J.
    """
    rho, drhos, w = _numpy_inputs(rho, drhos, weight)
    lam, u = np.linalg.eigh(rho)
    if lam[0] <= SUPPORT_RTOL * lam[-1]:
        raise ValueError(
            f"rho is rank-deficient (smallest eigenvalue {lam[0]:.3g}): the RLD bound needs a full-rank rho; "
            "use sld_bound or holevo_bound"
        )
    dm = np.einsum("ji,ajk,kl->ail", u.conj(), drhos, u)
    j = np.einsum("aij,j,bji->ab", dm, 1.0 / lam, dm)  # Tr(drho_a rho^-1 drho_b)
    if np.linalg.eigvalsh(np.real(j))[0] <= 1e-10 * np.max(np.abs(j)):
        raise ValueError("the RLD QFIM of drhos is singular: some parameter combination is not identifiable")
    jinv = np.linalg.inv(j)
    sw = _sqrtm_psd(w)
    return float(np.trace(w @ np.real(jinv)) + np.sum(np.linalg.svd(sw @ np.imag(jinv) @ sw, compute_uv=False)))


def holevo_bound(rho, drhos, weight, *, group: int = 4, solver: str = "CLARABEL", **solver_options) -> float:
    r"""Holevo Cramer-Rao bound, solved as a semidefinite program in cvxpy.

    ``C_H = min_{V, X} Tr(W V)`` s.t. ``V >= Z(X)`` (real symmetric V), ``Tr(rho X_a) = 0``,
    ``Tr(drho_b X_a) = delta_ab``, ``Z_ab = Tr(rho X_a X_b)`` (Albarelli, Friel, Datta, PRL 123, 200503
    (2019), with their rank-reduced representation ``Z = Y^dag Y``; split into one
    LMI per group of matrix-element modes as described in this module's docstring). The optimal
    operators are restricted to the entries with at least one index in the support of rho (entries of X
    in the kernel-kernel block do not enter Z and, for a family that keeps its support, not the
    constraints). ``C_S <= C_H <= 2 C_S`` with ``C_S`` = :func:`qlearn_sense.fisher.sld_bound`
    (Carollo et al., J. Stat. Mech. (2019) 094010; Tsang, Albarelli, Datta, PRX 10, 031023 (2020)), and
    ``C_H = C_S`` iff the model is compatible (:func:`qlearn_sense.fisher.compatibility` zero).

    Args:
      rho: density matrix, shape (d, d), any rank.
      drhos: derivatives, shape (k, d, d), with zero kernel-kernel block (rank-preserving family).
      weight: real symmetric positive-semidefinite cost matrix W, shape (k, k).
      group: number of off-diagonal modes per LMI (1 gives the smallest cones; larger groups give fewer
        cvxpy constraints, hence a faster cvxpy compile).
      solver: cvxpy solver name (an interior-point solver such as CLARABEL; SCS is much less accurate).
      **solver_options: passed to ``cvxpy.Problem.solve``.

    Returns:
      The bound as a float (per shot, units of ``Tr(W Cov)``), to the solver's accuracy (CLARABEL's default
      tolerances give about 1e-6 relative; cvxpy may warn "Solution may be inaccurate", which is accepted).

    Raises:
      ValueError: bad shapes or weight; ``group < 1``; the SDP is infeasible (no locally unbiased
        observables: singular model) or the solver fails.
    """
    import cvxpy as cp

    rho, drhos, w = _numpy_inputs(rho, drhos, weight)
    if int(group) != group or group < 1:
        raise ValueError(f"group = {group}; accepted: integer >= 1")
    d, k = rho.shape[0], drhos.shape[0]
    lam, u = np.linalg.eigh(rho)
    supp = lam > SUPPORT_RTOL * lam[-1]
    lam = np.where(supp, lam, 0.0)
    sl = np.sqrt(lam)
    dm = np.einsum("ji,ajk,kl->ail", u.conj(), drhos, u)  # <i|drho_a|j>
    sup = np.flatnonzero(supp)
    pairs = [(i, j) for i in range(d) for j in range(i + 1, d) if supp[i] or supp[j]]
    groups = [pairs[s:s + int(group)] for s in range(0, len(pairs), int(group))]

    # one real variable vector z: X_a,ii (i in support), Re/Im X_a,ij (i < j), and per LMI the real
    # symmetric part A and antisymmetric part B of V_m = A + iB (V_diag real); V = sum of the A's.
    n_z = 0

    def alloc(*shape):
        nonlocal n_z
        idx = n_z + np.arange(int(np.prod(shape))).reshape(shape)
        n_z += idx.size
        return idx

    xd, xr, xi = alloc(len(sup), k), alloc(len(pairs), k), alloc(len(pairs), k)
    a_idx = [alloc(k, k) for _ in range(len(groups) + 1)]  # use the upper triangle only
    b_idx = [alloc(k, k) for _ in range(len(groups))]

    def sym(idx, a, b):
        return idx[min(a, b), max(a, b)]

    lmis = []  # (size, [(row, col, z index, coef)], constant identity start)
    # diagonal modes (real): [[A_0, Yd^T], [Yd, 1]], Yd[i, a] = sqrt(l_i) X_a,ii
    ent = [(a, b, sym(a_idx[0], a, b), 1.0) for a in range(k) for b in range(k)]
    for r_, i in enumerate(sup):
        for a in range(k):
            ent += [(k + r_, a, xd[r_, a], sl[i]), (a, k + r_, xd[r_, a], sl[i])]
    lmis.append((k + len(sup), ent, k))
    # off-diagonal modes, complex LMI [[V_m, Y^dag], [Y, 1]] embedded as [[Re, -Im], [Im, Re]]:
    # rows of Y: sqrt(l_i) X_ij for (i, j), sqrt(l_j) conj(X_ij) for (j, i); Y = P + iR.
    m0 = 0
    for g, modes in enumerate(groups):
        rows = []  # (mode index, coefficient, sign of the imaginary part)
        for m, (i, j) in enumerate(modes, start=m0):
            if supp[i]:
                rows.append((m, sl[i], 1.0))
            if supp[j]:
                rows.append((m, sl[j], -1.0))
        m0 += len(modes)
        q = len(rows)
        ent = []
        for a in range(k):
            for b in range(k):
                ia = sym(a_idx[g + 1], a, b)
                ent += [(a, b, ia, 1.0), (k + a, k + b, ia, 1.0)]
                if a != b:
                    sb = 1.0 if a < b else -1.0
                    ib = sym(b_idx[g], a, b)
                    ent += [(a, k + b, ib, -sb), (k + a, b, ib, sb)]  # [[A, -B], [B, A]]
        for r_, (m, c, sgn) in enumerate(rows):
            for a in range(k):
                # Q = [[P, -R], [R, P]] in the lower-left block, Q^T in the upper right
                for (row, col, zi, coef) in [(r_, a, xr[m, a], c), (r_, k + a, xi[m, a], -sgn * c),
                                             (q + r_, a, xi[m, a], sgn * c), (q + r_, k + a, xr[m, a], c)]:
                    ent += [(2 * k + row, col, zi, coef), (col, 2 * k + row, zi, coef)]
        lmis.append((2 * k + 2 * q, ent, 2 * k))

    z = cp.Variable(n_z)
    cons = []
    for size, ent, start in lmis:
        rr, cc, zz, vv = (np.array(t) for t in zip(*ent))
        coeff = sp.csr_matrix((vv, (rr + cc * size, zz)), shape=(size * size, n_z))
        const = np.zeros((size, size))
        const[start:, start:] = np.eye(size - start)
        cons.append(cp.reshape(coeff @ z, (size, size), order="F") + const >> 0)
    # Tr(drho_b X_a) = sum_i X_ii <i|drho_b|i> + 2 sum_{i<j} Re(X_ij <j|drho_b|i>) = delta_ab; Tr(rho X_a) = 0
    lin = sp.lil_matrix((k * k + k, n_z))
    ii = np.array([p[0] for p in pairs], dtype=int)
    jj = np.array([p[1] for p in pairs], dtype=int)
    for a in range(k):
        for b in range(k):
            row = a * k + b
            lin[row, xd[:, a]] = np.real(dm[b, sup, sup])
            if pairs:
                dji = dm[b, jj, ii]
                lin[row, xr[:, a]] = 2 * np.real(dji)
                lin[row, xi[:, a]] = -2 * np.imag(dji)
        lin[k * k + a, xd[:, a]] = lam[sup]
    rhs = np.concatenate([np.eye(k).reshape(-1), np.zeros(k)])
    cons.append(lin.tocsr() @ z == rhs)
    if groups and k > 1:  # V real: the imaginary parts of the V_m sum to zero
        iu = np.triu_indices(k, 1)
        bsum = sp.lil_matrix((len(iu[0]), n_z))
        for b_ in b_idx:
            for r_, (a, b) in enumerate(zip(*iu)):
                bsum[r_, b_[a, b]] = 1.0
        cons.append(bsum.tocsr() @ z == 0)
    # objective Tr(W V) with V = sum of the A's (upper-triangle storage)
    obj = np.zeros(n_z)
    for a_ in a_idx:
        for a in range(k):
            for b in range(k):
                obj[sym(a_, a, b)] += w[a, b]
    prob = cp.Problem(cp.Minimize(obj @ z), cons)
    try:
        value = prob.solve(solver=solver, **solver_options)
    except cp.error.SolverError as exc:
        raise ValueError(f"Holevo SDP: solver {solver} failed ({exc})") from exc
    if prob.status not in ("optimal", "optimal_inaccurate") or value is None or not np.isfinite(value):
        raise ValueError(f"Holevo SDP status {prob.status!r}: no locally unbiased observables (singular model?)")
    return float(value)
