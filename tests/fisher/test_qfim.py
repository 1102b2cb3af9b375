"""QFIM, SLDs, CFIM, SLD bound, nuisance-parameter Fisher information, compatibility."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.linalg import solve_continuous_lyapunov, solve_sylvester

from qlearn_sense.fisher import (
    cfi,
    cfim,
    compatibility,
    linear_function_fisher,
    qfi,
    qfim,
    qfim_pure,
    sld,
    sld_bound,
)


def _family(x, a0, a_dirs, b_dirs):
    """rho(x) = A A^dag / Tr(A A^dag), A = a0 + sum_c x_c b_dirs[c] (d, r): rank r for all x.

    Returns rho and drhos along the k directions a_dirs (analytic derivatives, rank-preserving).
    """
    xp = jnp if isinstance(x, jax.Array) else np
    a = a0 + xp.einsum("c,cij->ij", x, b_dirs)
    aa = a @ xp.conj(a.T)
    n = xp.real(xp.trace(aa))
    rho = aa / n
    ds = []
    for ad in a_dirs:
        g = ad @ xp.conj(a.T) + a @ xp.conj(ad.T)
        ds.append(g / n - rho * xp.real(xp.trace(g)) / n)
    return rho, xp.stack(ds)


def _random_model(rng, d, r, k, n_x=0):
    def c(*shape):
        return rng.normal(size=shape) + 1j * rng.normal(size=shape)

    return c(d, r), c(k, d, r), c(max(n_x, 1), d, r)


def _lyapunov_slds(rho, drhos, tol=1e-10):
    """Independent SLDs: scipy Lyapunov on the support, Sylvester on the support-kernel block, 0 elsewhere."""
    lam, u = np.linalg.eigh(rho)
    s = lam > tol
    us, uk = u[:, s], u[:, ~s]
    rs = us.conj().T @ rho @ us
    out = []
    for dr in drhos:
        lss = solve_continuous_lyapunov(rs, 2 * us.conj().T @ dr @ us)  # rs X + X rs = 2 drho_ss
        lsk = solve_sylvester(rs, np.zeros((uk.shape[1],) * 2), 2 * us.conj().T @ dr @ uk) if uk.shape[1] else None
        blk = np.zeros((len(lam), len(lam)), complex)
        r = us.shape[1]
        blk[:r, :r] = lss
        if lsk is not None:
            blk[:r, r:] = lsk
            blk[r:, :r] = lsk.conj().T
        v = np.concatenate([us, uk], axis=1)
        out.append(v @ blk @ v.conj().T)
    return np.array(out)


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("d, r", [(4, 1), (4, 2), (4, 3), (4, 4), (6, 1), (6, 3), (6, 6)])
def test_qfim_matches_lyapunov_solution_every_rank(rng, d, r, k):
    a0, a_dirs, _ = _random_model(rng, d, r, k)
    rho, drhos = _family(np.zeros(1), a0, a_dirs, np.zeros((1, d, r)))
    assert np.linalg.matrix_rank(rho, tol=1e-10) == r
    ls = _lyapunov_slds(rho, drhos)
    # the reference SLDs solve the SLD equation, and F_ab = Re Tr(rho L_a L_b) = Tr(drho_a L_b)
    for dr, la in zip(drhos, ls):
        np.testing.assert_allclose(0.5 * (rho @ la + la @ rho), dr, atol=1e-10)
    ref = np.real(np.einsum("ij,ajk,bki->ab", rho, ls, ls))
    ref2 = np.real(np.einsum("aij,bji->ab", drhos, ls))
    np.testing.assert_allclose(ref, ref2, rtol=1e-9, atol=1e-10)
    f = np.asarray(qfim(rho, drhos))
    np.testing.assert_allclose(f, ref, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(jax.jit(qfim)(rho, drhos), f, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.asarray(sld(rho, drhos)), ls, atol=1e-8)
    assert np.all(np.linalg.eigvalsh(f) > -1e-10)  # PSD
    # compatibility matrix against the reference SLDs: Tr(rho [L_a, L_b]) = i D_ab
    comm = np.einsum("ij,ajk,bki->ab", rho, ls, ls) - np.einsum("ij,bjk,aki->ab", rho, ls, ls)
    np.testing.assert_allclose(np.real(comm), 0, atol=1e-9)
    np.testing.assert_allclose(np.asarray(compatibility(rho, drhos)), np.imag(comm), atol=1e-9)


@pytest.mark.parametrize("r", [1, 2, 4])
def test_qfim_k1_equals_qfi(rng, r):
    a0, a_dirs, _ = _random_model(rng, 4, r, 1)
    rho, drhos = _family(np.zeros(1), a0, a_dirs, np.zeros((1, 4, r)))
    assert float(qfim(rho, drhos)[0, 0]) == pytest.approx(float(qfi(rho, drhos[0])), rel=1e-12)


@pytest.mark.parametrize("k", [2, 3])
def test_pure_state_formula(rng, k):
    d = 5
    psi = rng.normal(size=d) + 1j * rng.normal(size=d)
    psi /= np.linalg.norm(psi)
    # derivatives of a normalized family: remove the component that changes the norm (Re <psi|dpsi> = 0)
    dpsis = rng.normal(size=(k, d)) + 1j * rng.normal(size=(k, d))
    dpsis -= np.real(dpsis.conj() @ psi)[:, None] * psi[None, :]
    drhos = np.einsum("ai,j->aij", dpsis, psi.conj()) + np.einsum("i,aj->aij", psi, dpsis.conj())
    rho = np.outer(psi, psi.conj())
    ref = 4 * np.real(dpsis.conj() @ dpsis.T - np.outer(dpsis.conj() @ psi, psi.conj() @ dpsis.T))
    np.testing.assert_allclose(np.asarray(qfim_pure(psi, dpsis)), ref, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(qfim(rho, drhos)), ref, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("r", [1, 2])
def test_qfim_gradient_finite_and_matches_finite_differences(rng, r):
    d, k, n_x = 4, 2, 3
    a0, a_dirs, b_dirs = _random_model(rng, d, r, k, n_x)
    weights = rng.normal(size=(k, k))

    def objective(x):
        rho, drhos = _family(x, jnp.asarray(a0), jnp.asarray(a_dirs), jnp.asarray(b_dirs))
        return jnp.sum(weights * qfim(rho, drhos))

    x0 = jnp.asarray(rng.normal(size=n_x) * 0.1)
    grad = np.asarray(jax.jit(jax.grad(objective))(x0))
    assert np.all(np.isfinite(grad))
    h = 1e-5
    fd = np.array([(objective(x0 + h * e) - objective(x0 - h * e)) / (2 * h) for e in np.eye(n_x)])
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-7)


def test_cfim_formula_k1_and_braunstein_caves_inequality(rng):
    d, k = 4, 3
    a0, a_dirs, _ = _random_model(rng, d, 2, k)
    rho, drhos = _family(np.zeros(1), a0, a_dirs, np.zeros((1, d, 2)))
    q, _ = np.linalg.qr(rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d)))
    p = np.real(np.einsum("im,ij,jm->m", q.conj(), rho, q))
    dp = np.real(np.einsum("im,aij,jm->am", q.conj(), drhos, q))
    c = np.asarray(cfim(p, dp))
    np.testing.assert_allclose(c, np.einsum("am,bm->ab", dp, dp / p), rtol=1e-12)
    assert c[1, 1] == pytest.approx(float(cfi(p, dp[1])), rel=1e-12)
    # QFIM - CFIM is positive semidefinite (Braunstein & Caves 1994, matrix form)
    assert np.linalg.eigvalsh(np.asarray(qfim(rho, drhos)) - c)[0] > -1e-10
    # zero-probability outcomes are dropped with a finite gradient
    g = jax.grad(lambda pp: jnp.sum(cfim(pp, jnp.asarray(dp))))(jnp.asarray(np.r_[p[:-1], 0.0]))
    assert np.all(np.isfinite(np.asarray(g)))


def test_sld_bound_equals_trace_w_inverse_f(rng):
    a0, a_dirs, _ = _random_model(rng, 4, 3, 2)
    rho, drhos = _family(np.zeros(1), a0, a_dirs, np.zeros((1, 4, 3)))
    w = np.array([[2.0, 0.5], [0.5, 1.0]])
    f = np.asarray(qfim(rho, drhos))
    assert float(sld_bound(rho, drhos, w)) == pytest.approx(np.trace(w @ np.linalg.inv(f)), rel=1e-10)
    assert float(jax.jit(sld_bound)(rho, drhos, w)) == pytest.approx(np.trace(w @ np.linalg.inv(f)), rel=1e-10)
    # singular weight is fine (only one parameter of interest)
    assert float(sld_bound(rho, drhos, np.diag([1.0, 0.0]))) == pytest.approx(np.linalg.inv(f)[0, 0], rel=1e-10)


def _phase_model(psi):
    """Two qubits, theta_j Z_j / 2 on qubit j (index bit j): rho and drhos at theta = 0."""
    z = np.array([1.0, -1.0])
    gens = [np.kron(np.ones(2), z) / 2, np.kron(z, np.ones(2)) / 2]  # qubit 0 = least significant bit
    rho = np.outer(psi, psi.conj())
    return rho, np.array([-1j * (np.diag(g) @ rho - rho @ np.diag(g)) for g in gens])


def test_linear_function_fisher_network_closed_forms():
    # Eldredge et al., PRA 97, 042337 (2018): best 1 / max_j w_j^2, product 1 / sum_j w_j^2
    plus = np.ones(4) / 2
    ghz = np.array([1, 0, 0, 1]) / np.sqrt(2)
    grad_state = np.array([0, 1, 1, 0]) / np.sqrt(2)
    f_plus, f_ghz, f_grad = (np.asarray(qfim(*_phase_model(s))) for s in (plus, ghz, grad_state))
    np.testing.assert_allclose(f_plus, np.eye(2), atol=1e-12)
    assert np.linalg.matrix_rank(f_ghz, tol=1e-9) == 1  # singular QFIM, sum in its range
    mean, diff = np.array([0.5, 0.5]), np.array([1.0, -1.0])
    assert float(linear_function_fisher(f_plus, mean)) == pytest.approx(2.0, rel=1e-12)
    assert float(linear_function_fisher(f_ghz, mean)) == pytest.approx(4.0, rel=1e-10)
    assert float(linear_function_fisher(f_plus, diff)) == pytest.approx(0.5, rel=1e-12)
    assert float(linear_function_fisher(f_grad, diff)) == pytest.approx(1.0, rel=1e-10)
    # nonsingular F: 1 / (w^T F^-1 w), and differentiable under jit with degenerate F (F = I)
    f = np.array([[3.0, 1.0], [1.0, 2.0]])
    assert float(linear_function_fisher(f, diff)) == pytest.approx(1 / (diff @ np.linalg.solve(f, diff)), rel=1e-12)
    g = jax.jit(jax.grad(linear_function_fisher))(jnp.eye(2), jnp.asarray(mean))
    np.testing.assert_allclose(np.asarray(g), 4 * np.outer(mean, mean), rtol=1e-10)  # dF_q/dF = F_q^2 F^-1 w w^T F^-1


def test_linear_function_fisher_errors():
    f_ghz = np.asarray(qfim(*_phase_model(np.array([1, 0, 0, 1]) / np.sqrt(2))))
    with pytest.raises(ValueError, match="not identifiable"):
        linear_function_fisher(f_ghz, np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="w = "):
        linear_function_fisher(np.eye(2), np.zeros(2))
    with pytest.raises(ValueError, match="w has shape"):
        linear_function_fisher(np.eye(2), np.ones(3))
    with pytest.raises(ValueError, match="fisher must be a square"):
        linear_function_fisher(np.ones((2, 3)), np.ones(2))
    with pytest.raises(ValueError, match="not a finite symmetric"):
        linear_function_fisher(np.array([[1.0, 0.5], [0.0, 1.0]]), np.ones(2))


def test_compatibility_zero_for_commuting_model_nonzero_for_pure_qubit():
    rho = np.diag([0.5, 0.3, 0.2]).astype(complex)
    drhos = np.array([np.diag([1.0, -1.0, 0.0]), np.diag([0.0, 1.0, -1.0])]).astype(complex)
    np.testing.assert_allclose(np.asarray(compatibility(rho, drhos)), 0.0, atol=1e-14)
    # pure qubit |0> rotated about x and y: L_1 = -i[s_x, rho] = -s_y, L_2 = s_x, Tr(rho [L_1, L_2]) = 2i <Z> = 2i
    sx, sy = np.array([[0, 1], [1, 0]]), np.array([[0, -1j], [1j, 0]])
    rho = np.diag([1.0, 0.0]).astype(complex)
    drhos = np.array([-0.5j * (s @ rho - rho @ s) for s in (sx, sy)])
    ls = np.asarray(sld(rho, drhos))
    expected = np.imag(np.trace(rho @ (ls[0] @ ls[1] - ls[1] @ ls[0])))
    assert expected == pytest.approx(2.0, rel=1e-12)
    np.testing.assert_allclose(np.asarray(compatibility(rho, drhos)), [[0, expected], [-expected, 0]], atol=1e-12)


def test_bad_input_errors(rng):
    rho = np.eye(3) / 3
    drhos = np.zeros((2, 3, 3))
    for fn in (qfim, sld, compatibility):
        with pytest.raises(ValueError, match="rho must be a square"):
            fn(np.ones((3, 2)), drhos)
        with pytest.raises(ValueError, match="drhos has shape"):
            fn(rho, np.zeros((2, 2, 2)))
        with pytest.raises(ValueError, match="drhos has shape"):
            fn(rho, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="psi must be a vector"):
        qfim_pure(np.ones((2, 2)), np.ones((1, 2)))
    with pytest.raises(ValueError, match="dpsis has shape"):
        qfim_pure(np.ones(2), np.ones((1, 3)))
    with pytest.raises(ValueError, match="probs must be a vector"):
        cfim(np.ones((2, 2)), np.ones((1, 2)))
    with pytest.raises(ValueError, match="dprobs has shape"):
        cfim(np.ones(2) / 2, np.ones((1, 3)))
    a0, a_dirs, _ = _random_model(rng, 3, 3, 2)
    rho, drhos = _family(np.zeros(1), a0, a_dirs, np.zeros((1, 3, 3)))
    with pytest.raises(ValueError, match="weight has shape"):
        sld_bound(rho, drhos, np.eye(3))
    with pytest.raises(ValueError, match="weight has eigenvalue"):
        sld_bound(rho, drhos, np.diag([1.0, -1.0]))
    with pytest.raises(ValueError, match="weight = .* not a finite symmetric"):
        sld_bound(rho, drhos, np.array([[1.0, 1.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="weight must be a real"):
        sld_bound(rho, drhos, np.array([[1.0, 1j], [-1j, 1.0]]))
    with pytest.raises(ValueError, match="weight is zero"):
        sld_bound(rho, drhos, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="QFIM of drhos is singular"):
        sld_bound(rho, np.stack([drhos[0], 2 * drhos[0]]), np.eye(2))


def test_bounds_differentiable_through_qfim_for_pure_states(rng):
    # objectives the network optimizer uses: Tr(W F^-1) and 1 / (w^T F^+ w), for a pure-state family
    d, k, n_x = 4, 2, 3
    a0, a_dirs, b_dirs = _random_model(rng, d, 1, k, n_x)
    w_mat = np.array([[1.0, 0.2], [0.2, 0.5]])
    w_vec = np.array([0.5, 0.5])

    def parts(x):
        return _family(x, jnp.asarray(a0), jnp.asarray(a_dirs), jnp.asarray(b_dirs))

    objectives = [lambda x: sld_bound(*parts(x), w_mat), lambda x: linear_function_fisher(qfim(*parts(x)), w_vec)]
    x0 = jnp.asarray(rng.normal(size=n_x) * 0.1)
    h = 1e-5
    for obj in objectives:
        g = np.asarray(jax.jit(jax.grad(obj))(x0))
        fd = np.array([(obj(x0 + h * e) - obj(x0 - h * e)) / (2 * h) for e in np.eye(n_x)])
        np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-7)


def test_qfim_jit_does_not_recompile(rng):
    a0, a_dirs, _ = _random_model(rng, 4, 2, 2)
    rho, drhos = _family(np.zeros(1), a0, a_dirs, np.zeros((1, 4, 2)))
    f = jax.jit(qfim)
    f(rho, drhos)
    with jax.log_compiles(True):
        import logging

        records = []
        handler = logging.Handler()
        handler.emit = records.append
        logger = logging.getLogger("jax")
        logger.addHandler(handler)
        try:
            f(rho * 1.0, drhos * 1.0)
        finally:
            logger.removeHandler(handler)
    assert not [r for r in records if "Compiling" in r.getMessage()]
