"""Collective QFI: closed forms, register-engine agreement, invariants, bounds, gradients, errors."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import qlearn_sense  # noqa: F401
from qlearn_sense import collective as col
from qlearn_sense.fisher import qfi_dephased
from qlearn_sense.optimize import optimize_protocol


def _embed(c):
    """Symmetric Dicke amplitudes -> register state (little-endian, n = popcount)."""
    n = len(c) - 1
    k = np.arange(2 ** n)
    pc = np.array([bin(x).count("1") for x in k])
    comb = np.array([math.comb(n, x) for x in pc])
    return np.asarray(c)[pc] / np.sqrt(comb), (n - 2 * pc) / 2.0


def _random_state(rng, n):
    c = rng.normal(size=n + 1) + 1j * rng.normal(size=n + 1)
    return c / np.linalg.norm(c)


@pytest.mark.parametrize("n, eta_css, eta_ghz", [(50, 0.9, 0.99), (200, 0.95, 0.999)])
def test_css_and_ghz_closed_forms(n, eta_css, eta_ghz):
    f = float(col.qfi(col.coherent_state(n), eta_css))
    assert f == pytest.approx(n * eta_css ** 2, rel=1e-10)
    f = float(col.qfi(col.ghz_state(n), eta_ghz))
    assert f == pytest.approx(n ** 2 * eta_ghz ** (2 * n), rel=1e-10)


@pytest.mark.slow
def test_css_and_ghz_closed_forms_n1000():
    n = 1000
    assert float(col.qfi(col.coherent_state(n), 0.99)) == pytest.approx(n * 0.99 ** 2, rel=1e-10)
    assert float(col.qfi(col.ghz_state(n), 0.9995)) == pytest.approx(n ** 2 * 0.9995 ** (2 * n), rel=1e-10)
    g = jax.grad(lambda p: col.qfi(p, 0.99))(col.coherent_state(n))
    assert bool(jnp.all(jnp.isfinite(g)))


@pytest.mark.parametrize("n", [3, 6, pytest.param(10, marks=pytest.mark.slow)])
def test_qfi_matches_register_engine_on_random_states(n, rng):
    c = _random_state(rng, n)
    psi, g = _embed(c)
    for eta in (0.6, 0.93):
        assert float(col.qfi(c, eta)) == pytest.approx(float(qfi_dephased(psi, (eta,) * n, g)), rel=1e-9, abs=1e-10)


def test_trace_and_positivity(rng):
    c = _random_state(rng, 9)
    blocks = np.asarray(col.dephased_blocks(c, 0.7))
    assert sum(np.trace(b).real for b in blocks) == pytest.approx(1.0, abs=1e-12)
    assert min(np.linalg.eigvalsh(b).min() for b in blocks) > -1e-12
    np.testing.assert_allclose(blocks, np.conj(np.transpose(blocks, (0, 2, 1))), atol=1e-14)


def test_no_value_above_bounds(rng, key):
    eta = 0.7
    for n in (4, 8):
        for _ in range(5):
            f = float(col.qfi(_random_state(rng, n), eta))
            assert f <= col.finite_n_bound(n, eta) + 1e-9
            assert f <= n * eta ** 2 / (1 - eta ** 2)
    cp = col.compile_collective(col.CollectiveSpec(8, "oat", "none", 2, 0, "jz", eta=eta))
    res = optimize_protocol(cp, cp.n_params, cp.n_prep_params, objective="qfi", key=key, steps=100, restarts=2)
    assert res.value <= col.finite_n_bound(8, eta) + 1e-9


def test_gradient_matches_finite_differences(rng):
    c = jnp.asarray(_random_state(rng, 6))
    g = jax.grad(lambda p: col.qfi(p, 0.8))(c)
    d = jnp.asarray(rng.normal(size=7) + 1j * rng.normal(size=7))
    h = 1e-6
    fd = (float(col.qfi(c + h * d, 0.8)) - float(col.qfi(c - h * d, 0.8))) / (2 * h)
    assert float(jnp.real(jnp.sum(g * d))) == pytest.approx(fd, rel=1e-6)  # JAX: df = Re sum(grad * d)


def test_jit_and_traced_eta():
    c = col.coherent_state(6)
    f = jax.jit(col.qfi)
    assert float(f(c, 0.8)) == pytest.approx(6 * 0.64, rel=1e-12)
    assert float(jax.grad(lambda e: col.qfi(c, e))(0.8)) == pytest.approx(2 * 6 * 0.8, rel=1e-8)


def test_scale_report_kinds():
    rep = col.scale_report(1e12, 0.9, 20.0, 20)
    assert rep["product"].value == pytest.approx(1e12 * 0.81) and rep["product"].kind == "computed"
    assert rep["asymptotic_bound"].kind == "bound"
    assert rep["asymptotic_bound"].value == pytest.approx(1e12 * 0.81 / 0.19)
    assert rep["collective_exact"].n_spins == 20 and rep["collective_exact"].kind == "computed"
    assert {v.kind for v in rep.values()} <= {"computed", "bound"}


def test_errors():
    with pytest.raises(ValueError, match="n_spins"):
        col.CollectiveSpec(n_spins=1001)
    with pytest.raises(ValueError, match="eta"):
        col.CollectiveSpec(n_spins=4, eta=1.5)
    with pytest.raises(ValueError, match="readout"):
        col.CollectiveSpec(n_spins=4, readout="jx")
    with pytest.raises(ValueError, match="psi"):
        col.qfi(jnp.ones((3, 3)), 0.9)
    with pytest.raises(ValueError, match="eta"):
        col.qfi(col.coherent_state(4), 0.0)
    with pytest.raises(ValueError, match="max_flips"):
        col.qfi(col.coherent_state(4), 0.9, max_flips=9)
    with pytest.raises(ValueError, match="collective engine only"):
        col.to_register_protocol(col.CollectiveSpec(n_spins=13))
    with pytest.raises(ValueError, match="counter-twisting"):
        col.to_register_protocol(col.CollectiveSpec(n_spins=4, preparation="tact"))
    with pytest.raises(ValueError, match="outcomes"):
        col.register_to_collective_probs(np.ones(8), 4)
    with pytest.raises(ValueError, match="n_excited"):
        col.dicke_state(4, 5)
    with pytest.raises(ValueError, match="n_nv"):
        col.scale_report(0.5, 0.9, 1.0, 4)
    with pytest.raises(ValueError, match="mean spin"):
        col.squeezing_parameters(col.dicke_state(4, 2))
    with pytest.raises(ValueError, match="axis"):
        col.rotate(col.coherent_state(4), "w", 0.1)
    with pytest.raises(ValueError, match="rotated blocks"):
        col.compile_collective(col.CollectiveSpec(n_spins=1000, eta=0.8, measurement="rotation"))
