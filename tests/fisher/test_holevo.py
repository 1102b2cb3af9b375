"""Holevo and RLD bounds: closed forms, ordering C_S <= C_H <= 2 C_S, compatible models, errors."""

import numpy as np
import pytest

from qlearn_sense.fisher import compatibility, holevo_bound, qfim, rld_bound, sld, sld_bound

SX = np.array([[0, 1], [1, 0]], dtype=complex)
SY = np.array([[0, -1j], [1j, 0]])
SZ = np.diag([1.0, -1.0]).astype(complex)


def _random_model(rng, d, r, k):
    """rho = A A^dag / Tr at A = a0, drhos along random directions of A (rank r kept)."""
    def c(*shape):
        return rng.normal(size=shape) + 1j * rng.normal(size=shape)

    a, dirs = c(d, r), c(k, d, r)
    n = np.real(np.trace(a @ a.conj().T))
    rho = a @ a.conj().T / n
    drhos = []
    for ad in dirs:
        g = ad @ a.conj().T + a @ ad.conj().T
        drhos.append(g / n - rho * np.real(np.trace(g)) / n)
    return rho, np.array(drhos)


def _random_weight(rng, k):
    m = rng.normal(size=(k, k))
    return m @ m.T + 0.1 * np.eye(k)


@pytest.mark.parametrize("d, r, k", [(2, 2, 2), (3, 1, 2), (3, 2, 2), (3, 3, 3), (4, 2, 3), (4, 4, 2)])
def test_holevo_between_sld_bound_and_twice_it(rng, d, r, k):
    rho, drhos = _random_model(rng, d, r, k)
    w = _random_weight(rng, k)
    cs = float(sld_bound(rho, drhos, w))
    ch = holevo_bound(rho, drhos, w)
    assert cs * (1 - 1e-6) <= ch <= 2 * cs * (1 + 1e-6)
    assert ch > cs * (1 + 1e-4)  # random models are incompatible: strictly above C_S
    # the grouping of modes into LMIs is a reformulation, not an approximation
    assert holevo_bound(rho, drhos, w, group=1) == pytest.approx(ch, rel=1e-5)


def _sld_closed_form(rho, drhos, w):
    """C_S + || sqrt(W) F^-1 Im Z F^-1 sqrt(W) ||_1 with Z_ab = Tr(rho L_a L_b): the Holevo function at X = F^-1 L."""
    ls = np.asarray(sld(rho, drhos))
    z = np.einsum("ij,ajk,bki->ab", rho, ls, ls)
    np.testing.assert_allclose(np.real(z), np.asarray(qfim(rho, drhos)), rtol=1e-9, atol=1e-12)
    finv = np.linalg.inv(np.real(z))
    ev, v = np.linalg.eigh(w)
    sw = (v * np.sqrt(ev)) @ v.T
    return np.trace(w @ finv) + np.sum(np.linalg.svd(sw @ finv @ np.imag(z) @ finv @ sw, compute_uv=False))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pure_qubit_closed_form(seed):
    # pure qubit, two parameters: C_H = C_S + || sqrt(W) F^-1 Im Z F^-1 sqrt(W) ||_1
    # (Matsumoto, J. Phys. A 35, 3111 (2002); Suzuki, J. Math. Phys. 57, 042201 (2016), pure-state case)
    rng = np.random.default_rng(seed)
    rho, drhos = _random_model(rng, 2, 1, 2)
    w = _random_weight(rng, 2)
    assert holevo_bound(rho, drhos, w) == pytest.approx(_sld_closed_form(rho, drhos, w), rel=1e-6)


@pytest.mark.parametrize("d, r, k", [(3, 1, 2), (4, 1, 3), (3, 3, 2)])
def test_holevo_below_sld_operator_value(rng, d, r, k):
    # X = F^-1 L is feasible, so the closed form above is an upper bound on C_H (Carollo et al.,
    # J. Stat. Mech. 094010 (2019)); in d >= 3 the optimum uses operators outside the SLD span: strictly below
    rho, drhos = _random_model(rng, d, r, k)
    w = _random_weight(rng, k)
    upper = _sld_closed_form(rho, drhos, w)
    assert holevo_bound(rho, drhos, w) < upper * (1 - 1e-3)


@pytest.mark.parametrize("z", [0.0, 0.3, 0.8])
def test_qubit_transverse_closed_form_equals_rld(rng, z):
    # rho = (1 + z sigma_z) / 2, parameters x, y of the Bloch vector: drho = sigma_x / 2, sigma_y / 2.
    # J^-1 = [[1, -i z], [i z, 1]], F = 1, span{sigma_x, sigma_y} is D-invariant, so
    # C_H = C_R = Tr W + 2 |z| sqrt(det W) (Suzuki, J. Math. Phys. 57, 042201 (2016), D-invariant case).
    rho = (np.eye(2) + z * SZ) / 2
    drhos = np.array([SX / 2, SY / 2])
    w = _random_weight(rng, 2)
    closed = np.trace(w) + 2 * abs(z) * np.sqrt(np.linalg.det(w))
    assert rld_bound(rho, drhos, w) == pytest.approx(closed, rel=1e-10)
    assert holevo_bound(rho, drhos, w) == pytest.approx(closed, rel=1e-6)
    assert float(sld_bound(rho, drhos, w)) == pytest.approx(np.trace(w), rel=1e-10)


def test_qubit_three_parameters_holevo_equals_rld(rng):
    # all three Bloch components: the model is D-invariant, C_H = C_R (Holevo (1982); Suzuki 2016)
    r = np.array([0.3, -0.2, 0.5])
    rho = (np.eye(2) + r[0] * SX + r[1] * SY + r[2] * SZ) / 2
    drhos = np.array([SX / 2, SY / 2, SZ / 2])
    w = _random_weight(rng, 3)
    assert holevo_bound(rho, drhos, w) == pytest.approx(rld_bound(rho, drhos, w), rel=1e-6)


def test_holevo_equals_sld_bound_for_compatible_model(rng):
    # classical (commuting) model: diagonal rho and drhos, compatibility zero, C_H = C_S
    p = np.array([0.4, 0.3, 0.2, 0.1])
    rho = np.diag(p).astype(complex)
    drhos = np.array([np.diag([1.0, -1.0, 0.0, 0.0]), np.diag([0.0, 0.5, 0.5, -1.0])]).astype(complex)
    w = _random_weight(rng, 2)
    np.testing.assert_allclose(np.asarray(compatibility(rho, drhos)), 0.0, atol=1e-14)
    assert holevo_bound(rho, drhos, w) == pytest.approx(float(sld_bound(rho, drhos, w)), rel=1e-6)
    # a quantum but compatible model: the two-qubit product |+>|+> with local phases (commuting generators)
    plus = np.ones(4) / 2
    rho = np.outer(plus, plus)
    gens = [np.diag([0.5, -0.5, 0.5, -0.5]), np.diag([0.5, 0.5, -0.5, -0.5])]
    drhos = np.array([-1j * (g @ rho - rho @ g) for g in gens])
    np.testing.assert_allclose(np.asarray(compatibility(rho, drhos)), 0.0, atol=1e-12)
    assert holevo_bound(rho, drhos, w) == pytest.approx(float(sld_bound(rho, drhos, w)), rel=1e-6)


def test_errors(rng):
    rho, drhos = _random_model(rng, 3, 2, 2)
    with pytest.raises(ValueError, match="rank-deficient"):
        rld_bound(rho, drhos, np.eye(2))
    full, dfull = _random_model(rng, 3, 3, 2)
    with pytest.raises(ValueError, match="RLD QFIM of drhos is singular"):
        rld_bound(full, np.stack([dfull[0], dfull[0]]), np.eye(2))
    for fn in (rld_bound, holevo_bound):
        with pytest.raises(ValueError, match="weight has eigenvalue"):
            fn(full, dfull, np.diag([1.0, -0.5]))
        with pytest.raises(ValueError, match="weight has shape"):
            fn(full, dfull, np.eye(3))
        with pytest.raises(ValueError, match="drhos has shape"):
            fn(full, dfull[0], np.eye(2))
    with pytest.raises(ValueError, match="group = 0"):
        holevo_bound(full, dfull, np.eye(2), group=0)
    with pytest.raises(ValueError, match="solver NOT_A_SOLVER failed"):
        holevo_bound(full, dfull, np.eye(2), solver="NOT_A_SOLVER")
    with pytest.raises(ValueError, match="Holevo SDP status"):
        holevo_bound(full, np.stack([dfull[0], dfull[0]]), np.eye(2))
