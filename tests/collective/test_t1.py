"""T1 (amplitude damping) in the collective engine: dense 2^N simulation, register engine, closed forms,
invariants, gradients, errors."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import qlearn_sense  # noqa: F401
from qlearn_sense import collective as col
from qlearn_sense.collective._decay import _ladder_batch, cg_stretched
from qlearn_sense.collective._dicke import flip_table
from qlearn_sense.fisher import cfi
from qlearn_sense.protocol import compile_jax


def _embed(c):
    """Symmetric Dicke amplitudes -> register state (n = popcount), and the J_z diagonal."""
    n = len(c) - 1
    pc = np.array([bin(x).count("1") for x in range(2 ** n)])
    comb = np.array([math.comb(n, x) for x in pc])
    return np.asarray(c)[pc] / np.sqrt(comb), (n - 2 * pc) / 2.0


def _apply(rho, k, q, n):
    r = rho.reshape([2] * (2 * n))
    r = np.moveaxis(np.tensordot(k, r, axes=([1], [q])), 0, q)
    r = np.moveaxis(np.tensordot(r, k.conj(), axes=([n + q], [1])), -1, n + q)
    return r.reshape(2 ** n, 2 ** n)


def _dense_noisy(c, eta, gamma):
    """Independent numpy simulation on 2^N: AD(gamma) then PD(eta / sqrt(1 - gamma)) on every qubit."""
    n = len(c) - 1
    psi, g = _embed(c)
    rho = np.outer(psi, psi.conj())
    p = (1 - min(1.0, eta / math.sqrt(1 - gamma))) / 2
    k0, k1 = np.diag([1.0, math.sqrt(1 - gamma)]), np.array([[0.0, math.sqrt(gamma)], [0.0, 0.0]])
    z = np.diag([1.0, -1.0])
    for q in range(n):
        rho = _apply(rho, k0, q, n) + _apply(rho, k1, q, n)
        rho = (1 - p) * rho + p * _apply(rho, z, q, n)
    return rho, g


def _dense_qfi(rho, g):
    lam, v = np.linalg.eigh(rho)
    gp = v.conj().T @ np.diag(g) @ v
    s, d = lam[:, None] + lam[None, :], lam[:, None] - lam[None, :]
    mask = s > 1e-12
    return float(np.sum(np.where(mask, 2 * d ** 2 / np.where(mask, s, 1), 0) * np.abs(gp) ** 2))


def _total_spin_projectors(n):
    """Projectors on total spin j = n/2 - i in the 2^n register (from the Casimir J^2)."""
    paulis = {"x": np.array([[0, 1], [1, 0]]), "y": np.array([[0, -1j], [1j, 0]]), "z": np.diag([1.0, -1.0])}
    j2 = 0
    for p in paulis.values():
        ja = sum(np.kron(np.kron(np.eye(2 ** q), p), np.eye(2 ** (n - q - 1))) for q in range(n)) / 2
        j2 = j2 + ja @ ja
    w, v = np.linalg.eigh(j2)
    out = []
    for i in range(n // 2 + 1):
        j = n / 2 - i
        sel = np.abs(w - j * (j + 1)) < 1e-6
        out.append(v[:, sel] @ v[:, sel].conj().T)
    return out


def _random_state(rng, n):
    c = rng.normal(size=n + 1) + 1j * rng.normal(size=n + 1)
    return c / np.linalg.norm(c)


def _block_eigs(r, n, i):
    """Eigenvalues of block i restricted to its 2j+1 rows (|m| <= j)."""
    sl = slice(i, n - i + 1)
    return np.sort(np.linalg.eigvalsh(r[sl, sl]))


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6])
def test_blocks_and_qfi_match_dense_simulation(n, rng):
    c = _random_state(rng, n)
    gamma = rng.uniform(0.05, 0.6)
    eta = math.sqrt(1 - gamma) * rng.uniform(0.4, 1.0)
    rho, g = _dense_noisy(c, eta, gamma)
    blocks = np.asarray(col.decayed_blocks(c, eta, gamma))
    assert blocks.shape[0] == n // 2 + 1  # exact for small N: every total spin j
    for i, proj in enumerate(_total_spin_projectors(n)):
        d_j = math.comb(n, i) - (math.comb(n, i - 1) if i else 0)
        ref = np.sort(np.linalg.eigvalsh(proj @ rho @ proj))[-(n - 2 * i + 1) * d_j:]
        ours = np.sort(np.repeat(_block_eigs(blocks[i], n, i) / d_j, d_j))
        np.testing.assert_allclose(ours, ref, atol=1e-12)
        assert np.trace(blocks[i]).real == pytest.approx(np.trace(proj @ rho).real, abs=1e-12)
    assert float(col.qfi(c, eta, gamma_t1=gamma)) == pytest.approx(_dense_qfi(rho, g), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("n, prep, meas, readout, gamma, eta_frac", [
    (3, "oat", "oat", "jz", 0.2, 0.9), (4, "css", "rotation", "jy", 0.3, 1.0),
    (5, "oat", "rotation", "parity", 0.1, 0.8), (6, "ghz", "oat", "jz", 0.15, 0.95)])
def test_compiled_protocol_matches_register_engine(n, prep, meas, readout, gamma, eta_frac, rng):
    spec = col.CollectiveSpec(n, prep, meas, 1, 1, readout, eta=eta_frac * math.sqrt(1 - gamma), gamma_t1=gamma)
    cp = col.compile_collective(spec)
    rp = compile_jax(col.to_register_protocol(spec))
    assert col.to_register_protocol(spec).noise.gamma == (gamma,) * n
    theta, phi = rng.uniform(-3, 3, cp.n_params), rng.uniform(-1, 1)
    p_reg, dp_reg = rp.probs_and_dprobs(theta, phi)
    p, dp = cp.probs_and_dprobs(theta, phi)
    np.testing.assert_allclose(p, col.register_to_collective_probs(p_reg, n, readout), atol=1e-9)
    np.testing.assert_allclose(dp, col.register_to_collective_probs(dp_reg, n, readout), atol=1e-9)
    assert float(cp.qfi(theta)) == pytest.approx(float(rp.qfi(theta)), rel=1e-9)
    p_col, dp_col = (col.register_to_collective_probs(x, n, readout) for x in (p_reg, dp_reg))
    assert float(cp.cfi(theta, phi)) == pytest.approx(float(cfi(p_col, dp_col)), rel=1e-7, abs=1e-9)


@pytest.mark.parametrize("n, gamma, eta_frac", [(50, 0.1, 0.98), (200, 0.05, 1.0)])
def test_trace_positivity_and_binomial_thinning(n, gamma, eta_frac, rng):
    c = _random_state(rng, n)
    blocks = np.asarray(col.decayed_blocks(c, eta_frac * math.sqrt(1 - gamma), gamma))
    assert sum(np.trace(b).real for b in blocks) == pytest.approx(1.0, abs=1e-12)
    assert min(np.linalg.eigvalsh(b).min() for b in blocks) > -1e-13
    np.testing.assert_allclose(blocks, np.conj(np.transpose(blocks, (0, 2, 1))), atol=1e-14)
    # J_z populations: every excitation survives with probability 1 - gamma (binomial thinning)
    from scipy import stats
    thin = stats.binom.pmf(np.arange(n + 1)[:, None], np.arange(n + 1)[None, :], 1 - gamma)  # [n_out, n_in]
    pop = np.sum(np.real(np.einsum("inn->in", blocks)), axis=0)
    np.testing.assert_allclose(pop, thin @ np.abs(c) ** 2, atol=1e-13)


def test_zero_gamma_reproduces_dephasing_engine(rng):
    c = _random_state(rng, 9)
    for eta in (0.7, 1.0):
        ref = float(col.qfi(c, eta))
        # max_decays=0 forces the T1 code path
        assert float(col.qfi(c, eta, gamma_t1=0.0, max_decays=0)) == pytest.approx(ref, rel=1e-12, abs=1e-12)
        new = np.asarray(col.decayed_blocks(c, eta, 0.0))
        old = np.asarray(col.dephased_blocks(c, eta))
        np.testing.assert_allclose(new, old[: new.shape[0]], atol=1e-13)
    assert float(col.qfi(c, 0.8, gamma_t1=0.0)) == float(col.qfi(c, 0.8))  # the very same computation


@pytest.mark.parametrize("n, gamma, eta_frac", [(50, 0.2, 0.97), (200, 0.03, 1.0)])
def test_closed_forms_css_and_ghz(n, gamma, eta_frac):
    eta = eta_frac * math.sqrt(1 - gamma)
    # product state along x: each spin's Bloch vector (eta, 0, gamma), QFI per spin eta^2
    assert float(col.qfi(col.coherent_state(n), eta, gamma_t1=gamma)) == pytest.approx(n * eta ** 2, rel=1e-10)
    # GHZ: coherence eta^N / 2 between |0..0> (weight (1 + gamma^N)/2) and |1..1> (weight (1-gamma)^N / 2);
    # the partially decayed terms are diagonal in J_z
    ghz = 2 * n ** 2 * eta ** (2 * n) / (1 + gamma ** n + (1 - gamma) ** n)
    assert float(col.qfi(col.ghz_state(n), eta, gamma_t1=gamma)) == pytest.approx(ghz, rel=1e-9)


def test_ghz_closed_form_matches_dense_small_n():
    n, gamma, eta = 5, 0.4, 0.7
    rho, g = _dense_noisy(np.asarray(col.ghz_state(n)), eta, gamma)
    assert _dense_qfi(rho, g) == pytest.approx(2 * n ** 2 * eta ** (2 * n) / (1 + gamma ** n + (1 - gamma) ** n),
                                               rel=1e-10)


@pytest.mark.parametrize("n, gamma, eta_frac", [(6, 0.2, 0.9), (8, 0.02, 1.0)])
def test_gradient_matches_finite_differences(n, gamma, eta_frac, rng):
    """n = 6 exercises the dense-block form (more columns than rows), n = 8 pure T1 the Gram form."""
    eta = eta_frac * math.sqrt(1 - gamma)
    c = jnp.asarray(_random_state(rng, n))
    f = lambda p: col.qfi(p, eta, gamma_t1=gamma)  # noqa: E731
    grad = jax.grad(f)(c)
    d = jnp.asarray(rng.normal(size=n + 1) + 1j * rng.normal(size=n + 1))
    h = 1e-6
    fd = (float(f(c + h * d)) - float(f(c - h * d))) / (2 * h)
    assert float(jnp.real(jnp.sum(grad * d))) == pytest.approx(fd, rel=1e-6)
    fg = lambda gm: col.qfi(c, eta_frac * jnp.sqrt(1 - gm), gamma_t1=gm, max_decays=n, max_flips=n)  # noqa: E731
    fd_g = (float(fg(gamma + h)) - float(fg(gamma - h))) / (2 * h)
    assert float(jax.grad(fg)(gamma)) == pytest.approx(fd_g, rel=1e-5, abs=1e-7)


def test_jit_and_traced_gamma():
    c = col.coherent_state(4)
    f = jax.jit(lambda p, e, g: col.qfi(p, e, gamma_t1=g))
    assert float(f(c, 0.8, 0.1)) == pytest.approx(4 * 0.64, rel=1e-10)
    assert float(f(c, 0.6, 0.3)) == pytest.approx(4 * 0.36, rel=1e-10)


def test_clebsch_gordan_against_sympy():
    cg_sym = pytest.importorskip("sympy.physics.quantum.cg")
    from sympy import Rational

    n_tot = 7
    for k in range(n_tot + 1):
        for ip in range((n_tot - k) // 2 + 1):
            for i in range(n_tot // 2 + 1):
                ours = cg_stretched(k, n_tot, ip, i, np.arange(n_tot + 1))
                j1, j2, j = Rational(k, 2), Rational(n_tot - k, 2) - ip, Rational(n_tot, 2) - i
                for nn in range(n_tot + 1):
                    m = Rational(n_tot, 2) - nn
                    ok = abs(m - j1) <= j2 and abs(m) <= j and abs(j1 - j2) <= j <= j1 + j2
                    ref = float(cg_sym.CG(j1, j1, j2, m - j1, j, m).doit()) if ok else 0.0
                    assert ours[nn] == pytest.approx(ref, abs=1e-13)


def test_batched_flip_tables_match_flip_table():
    sizes = (23, 9, 2)
    with jax.ensure_compile_time_eval():
        g = _ladder_batch(sizes, 6)
    for b, n in enumerate(sizes):
        s = min(5, n)
        np.testing.assert_allclose(g[b, : s + 1, : s + 1, : n + 1], flip_table(n, s), atol=1e-13)


def test_truncation_report():
    tr = col.decay_truncation(1000, math.sqrt(0.99), 0.01)
    assert tr.max_flips == 0 and 20 < tr.max_decays < 100 and 0 < tr.dropped_weight < 1e-19
    assert col.decay_truncation(6, 0.5, 0.2) == col.DecayTruncation(6, 6, 0.0)  # small N: exact


def test_errors():
    c = col.coherent_state(4)
    with pytest.raises(ValueError, match="gamma_t1"):
        col.qfi(c, 0.5, gamma_t1=1.0)
    with pytest.raises(ValueError, match="gamma_t1"):
        col.qfi(c, 0.5, gamma_t1=-0.1)
    with pytest.raises(ValueError, match="eta"):
        col.qfi(c, 0.99, gamma_t1=0.1)  # eta > sqrt(1 - gamma): T2 > 2 T1
    with pytest.raises(ValueError, match="max_decays"):
        col.qfi(c, 0.9, gamma_t1=0.1, max_decays=7)
    with pytest.raises(ValueError, match="gamma_t1"):
        col.CollectiveSpec(n_spins=4, eta=0.5, gamma_t1=1.5)
    with pytest.raises(ValueError, match="eta"):
        col.CollectiveSpec(n_spins=4, eta=1.0, gamma_t1=0.1)
    with pytest.raises(ValueError, match="gamma_t1"):
        col.decayed_blocks(c, 0.5, 2.0)
    with pytest.raises(ValueError, match="factor table"):
        col.decayed_factors(col.coherent_state(1000), 0.99 * math.sqrt(0.99), 0.01)


@pytest.mark.slow
def test_n1000_pure_t1_and_truncated_dephasing():
    n, gamma = 1000, 0.01
    eta = math.sqrt(1 - gamma)
    css = col.coherent_state(n)
    value, grad = jax.value_and_grad(lambda p: col.qfi(p, eta, gamma_t1=gamma))(css)
    assert float(value) == pytest.approx(n * eta ** 2, rel=1e-10)
    assert bool(jnp.all(jnp.isfinite(grad)))
    # T1 + dephasing at N = 1000 needs explicit truncation; the dropped weight bounds the error
    eta2 = 0.9999 * eta
    tr = col.decay_truncation(n, eta2, gamma, max_decays=35, max_flips=4)
    f = float(col.qfi(css, eta2, gamma_t1=gamma, max_decays=35, max_flips=4))
    assert abs(f / (n * eta2 ** 2) - 1) < 10 * tr.dropped_weight
