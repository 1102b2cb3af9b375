"""Quantum limits: closed forms, independent implementations and invariants."""

import cvxpy
import numpy as np
import pytest
from scipy.linalg import fractional_matrix_power, logm
from scipy.optimize import minimize_scalar

from qlearn_sense import hyptest as ht


def rand_pure(rng, d):
    v = rng.normal(size=d) + 1j * rng.normal(size=d)
    return v / np.linalg.norm(v)


def rand_mixed(rng, d, rank=None):
    g = rng.normal(size=(d, rank or d)) + 1j * rng.normal(size=(d, rank or d))
    rho = g @ g.conj().T
    return rho / np.trace(rho).real


def rand_unitary(rng, d):
    q, r = np.linalg.qr(rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d)))
    return q * (np.diag(r) / np.abs(np.diag(r)))


def measure(rho, u):
    """Outcome distribution of the projective measurement onto the columns of u."""
    p = np.real(np.einsum("ki,ij,jk->k", u.conj().T, rho, u))
    p = np.clip(p, 0, None)
    return p / p.sum()


def proj(v):
    return np.outer(v, v.conj())


@pytest.mark.parametrize("d", [2, 3, 5])
def test_helstrom_pure_closed_form(rng, d):
    for _ in range(5):
        psi, phi = rand_pure(rng, d), rand_pure(rng, d)
        f = abs(np.vdot(psi, phi)) ** 2
        for p0 in (0.5, 0.3):
            expected = 0.5 * (1 - np.sqrt(1 - 4 * p0 * (1 - p0) * f))
            assert ht.helstrom_error(proj(psi), proj(phi), p0=p0) == pytest.approx(
                expected, abs=1e-12)


def test_helstrom_copies_is_tensor_power(rng):
    psi, phi = rand_pure(rng, 2), rand_pure(rng, 2)
    f = abs(np.vdot(psi, phi)) ** 2
    for m in (1, 2, 4):
        expected = 0.5 * (1 - np.sqrt(1 - f**m))
        assert ht.helstrom_error(proj(psi), proj(phi), copies=m) == pytest.approx(
            expected, abs=1e-12)


def test_helstrom_too_many_copies_suggests_chernoff():
    rho = np.eye(2) / 2
    with pytest.raises(ValueError, match="chernoff_bound_error"):
        ht.helstrom_error(rho, rho, copies=13)


def test_helstrom_extreme_priors_and_orthogonal():
    a, b = np.diag([1.0, 0.0]), np.diag([0.0, 1.0])
    assert ht.helstrom_error(a, b) == pytest.approx(0.0, abs=1e-15)
    rho = rand_mixed(np.random.default_rng(0), 3)
    assert ht.helstrom_error(rho, rho, p0=0.2) == pytest.approx(0.2)
    assert ht.helstrom_error(rho, rho, p0=0.0) == pytest.approx(0.0)


@pytest.mark.parametrize("d", [2, 4])
def test_chernoff_pure_closed_form(rng, d):
    for _ in range(5):
        psi, phi = rand_pure(rng, d), rand_pure(rng, d)
        f = abs(np.vdot(psi, phi)) ** 2
        res = ht.chernoff_exponent(proj(psi), proj(phi))
        assert res.exponent == pytest.approx(-np.log(f), rel=1e-9)


def test_chernoff_against_fractional_matrix_power(rng):
    """Independent matrix powers (scipy Schur-Pade), coarse grid plus golden refinement."""
    for d in (2, 3):
        r0, r1 = rand_mixed(rng, d), rand_mixed(rng, d)

        def q(s):
            return np.real(np.trace(fractional_matrix_power(r0, s)
                                    @ fractional_matrix_power(r1, 1 - s)))

        grid = np.linspace(0.05, 0.95, 19)
        i = int(np.argmin([q(s) for s in grid]))
        res = minimize_scalar(q, bracket=(grid[max(i - 1, 0)], grid[i], grid[min(i + 1, 18)]),
                              method="golden", tol=1e-8)
        ours = ht.chernoff_exponent(r0, r1)
        assert ours.exponent >= -np.log(res.fun) - 1e-10
        assert ours.exponent == pytest.approx(-np.log(res.fun), rel=1e-8)
        assert ours.s_opt == pytest.approx(res.x, abs=1e-3)


def test_chernoff_commuting_equals_classical(rng):
    for k in (2, 3, 5):
        p, q = rng.dirichlet(np.ones(k)), rng.dirichlet(np.ones(k))
        quantum = ht.chernoff_exponent(np.diag(p), np.diag(q))
        classical = ht.classical_chernoff_information(p, q)
        assert quantum.exponent == pytest.approx(classical.information, rel=1e-10)
        assert quantum.s_opt == pytest.approx(classical.s_opt, abs=1e-5)


def test_chernoff_orthogonal_supports_infinite():
    res = ht.chernoff_exponent(np.diag([1.0, 0.0]), np.diag([0.0, 1.0]))
    assert res.exponent == np.inf


def test_chernoff_exponent_dominates_measurements(rng):
    for _ in range(4):
        d = 3
        r0, r1 = rand_mixed(rng, d), rand_mixed(rng, d)
        xi = ht.chernoff_exponent(r0, r1).exponent
        for _ in range(10):
            u = rand_unitary(rng, d)
            c = ht.classical_chernoff_information(measure(r0, u), measure(r1, u)).information
            assert c <= xi + 1e-10


def test_helstrom_below_any_measurement(rng):
    for _ in range(4):
        d = 3
        r0, r1 = rand_mixed(rng, d), rand_mixed(rng, d)
        for m in (1, 2):
            helstrom = ht.helstrom_error(r0, r1, p0=0.4, copies=m)
            for _ in range(10):
                u = rand_unitary(rng, d)
                bayes = ht.min_error_fixed_shots(measure(r0, u), measure(r1, u), m, p0_prior=0.4)
                assert helstrom <= bayes + 1e-12


def test_chernoff_bound_above_helstrom(rng):
    r0, r1 = rand_mixed(rng, 2), rand_mixed(rng, 2)
    xi = ht.chernoff_exponent(r0, r1).exponent
    for m in (1, 2, 3, 5, 8):
        bound = ht.chernoff_bound_error(r0, r1, copies=m)
        assert bound == pytest.approx(0.5 * np.exp(-m * xi), rel=1e-8)
        assert ht.helstrom_error(r0, r1, copies=m) <= bound + 1e-12
        assert ht.helstrom_error(r0, r1, p0=0.2, copies=m) <= ht.chernoff_bound_error(
            r0, r1, copies=m, p0=0.2) + 1e-12
    assert ht.chernoff_bound_error(r0, r1, copies=3, p0=0.0) == 0.0


def test_relative_entropy_against_logm(rng):
    for d in (2, 3, 4):
        r0, r1 = rand_mixed(rng, d), rand_mixed(rng, d)
        direct = np.real(np.trace(r0 @ (logm(r0) - logm(r1))))
        assert ht.relative_entropy(r0, r1) == pytest.approx(direct, rel=1e-9)
        assert ht.stein_exponent(r0, r1) == ht.relative_entropy(r0, r1)
        assert ht.relative_entropy(r0, r0) == pytest.approx(0.0, abs=1e-12)


def test_relative_entropy_supports():
    assert ht.relative_entropy(np.eye(2) / 2, np.diag([1.0, 0.0])) == np.inf
    assert ht.relative_entropy(np.diag([1.0, 0.0]), np.eye(2) / 2) == pytest.approx(np.log(2))
    p, q = np.array([0.2, 0.8, 0.0]), np.array([0.5, 0.25, 0.25])
    expected = np.sum(p[:2] * np.log(p[:2] / q[:2]))
    assert ht.relative_entropy(np.diag(p), np.diag(q)) == pytest.approx(expected, rel=1e-12)


def check_povm(povm, d):
    for e in povm:
        assert np.allclose(e, e.conj().T)
        assert np.linalg.eigvalsh(e)[0] > -1e-6
    assert np.allclose(sum(povm), np.eye(d), atol=1e-6)


@pytest.mark.parametrize("p0", [0.5, 0.3])
def test_sdp_two_states_equals_helstrom(rng, p0):
    r0, r1 = rand_mixed(rng, 3), rand_mixed(rng, 3, rank=2)
    res = ht.min_error_discrimination([r0, r1], priors=[p0, 1 - p0])
    assert res.error == pytest.approx(ht.helstrom_error(r0, r1, p0=p0), abs=1e-6)
    assert res.success + res.error == pytest.approx(1.0)
    check_povm(res.povm, 3)


def test_trine_states_closed_form():
    angles = 2 * np.pi * np.arange(3) / 3
    trine = [proj(np.array([np.cos(a / 2), np.sin(a / 2)])) for a in angles]
    opt = ht.min_error_discrimination(trine)
    assert opt.success == pytest.approx(2 / 3, abs=1e-6)
    assert ht.pretty_good_measurement(trine).success == pytest.approx(2 / 3, abs=1e-12)


def test_pgm_between_sdp_squared_and_sdp(rng):
    for k in (2, 3, 4):
        states = [rand_mixed(rng, 3) for _ in range(k)]
        priors = rng.dirichlet(np.ones(k))
        opt = ht.min_error_discrimination(states, priors)
        pgm = ht.pretty_good_measurement(states, priors)
        check_povm(pgm.povm, 3)
        assert pgm.success <= opt.success + 1e-6
        assert pgm.success >= opt.success**2 - 1e-6


def test_pgm_rank_deficient_average_completes_povm():
    states = [np.diag([1.0, 0.0, 0.0]), np.diag([0.0, 1.0, 0.0])]
    pgm = ht.pretty_good_measurement(states)
    check_povm(pgm.povm, 3)
    assert pgm.success == pytest.approx(1.0)


def test_sdp_unknown_solver_raises():
    with pytest.raises(cvxpy.error.SolverError):
        ht.min_error_discrimination([np.eye(2) / 2, np.diag([1.0, 0.0])], solver="NO_SUCH")


def test_quantum_shots_commuting_matches_classical():
    r0, r1 = np.diag([0.5, 0.5]), np.diag([0.4, 0.6])
    est = ht.quantum_shots_to_decide(r0, r1, 0.01, 0.01)
    exact = ht.shots_to_decide([0.5, 0.5], [0.4, 0.6], 0.01, 0.01)
    assert est.method == "normal"
    assert 520 <= est.shots <= 540
    assert abs(est.shots - exact) / exact < 0.02
    assert est.upper_bound >= exact


def test_quantum_shots_upper_bound_is_sufficient(rng):
    z, x = np.diag([1.0, -1.0]), np.array([[0.0, 1.0], [1.0, 0.0]])
    alpha, beta = 0.05, 0.1
    for r, th in [(0.8, 2.0), (0.8, 3.0), (0.9, 2.5)]:
        r0 = (np.eye(2) + r * z) / 2
        r1 = (np.eye(2) + r * (np.cos(th) * z + np.sin(th) * x)) / 2
        est = ht.quantum_shots_to_decide(r0, r1, alpha, beta)
        assert est.upper_bound <= 12
        # alpha_m + beta_m of the equal-weight Helstrom test is twice its error.
        assert 2 * ht.helstrom_error(r0, r1, copies=est.upper_bound) <= min(alpha, beta)
    psi, phi = rand_pure(rng, 2), rand_pure(rng, 2)
    pure = ht.quantum_shots_to_decide(proj(psi), proj(phi), 0.01, 0.01)
    assert pure.method == "chernoff" and pure.shots == pure.upper_bound
    f = abs(np.vdot(psi, phi)) ** 2
    assert pure.upper_bound == int(np.ceil(np.log(100) / -np.log(f)))
