"""Variational optimization reaches the published optima; the jitted step does not recompile."""

import jax
import numpy as np
import pytest

from qlearn_sense.fisher import two_qubit_optimum
from qlearn_sense.optimize import make_optimizer, make_step, maximize, optimal_state_qfi, optimize_protocol
from qlearn_sense.protocol import Noise, build_protocol, compile_jax


@pytest.mark.parametrize("n", [2, 3, 4])
def test_noiseless_hea_reaches_heisenberg(n):
    p = build_protocol(n, "hea", "none", prep_layers=1)
    res = optimize_protocol(compile_jax(p), p.n_params, p.n_prep_params, objective="qfi",
                            key=jax.random.PRNGKey(n), steps=150, restarts=3,
                            optimizer=make_optimizer("adam", 0.1))
    assert res.value >= 0.999 * n**2
    assert res.value <= n**2 * (1 + 1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("n", [5, 6])
def test_noiseless_hea_reaches_heisenberg_larger(n):
    p = build_protocol(n, "hea", "none", prep_layers=2)
    res = optimize_protocol(compile_jax(p), p.n_params, p.n_prep_params, objective="qfi",
                            key=jax.random.PRNGKey(n), steps=300, restarts=3)
    assert res.value >= 0.999 * n**2


def test_reference_state_optimum_matches_closed_form_and_table():
    assert optimal_state_qfi(2, 0.8, key=jax.random.PRNGKey(0))[0] == pytest.approx(two_qubit_optimum(0.8), rel=1e-6)
    # shared/REFERENCES.md: eta = 0.7, n = 3 -> 1.723998
    assert optimal_state_qfi(3, 0.7, key=jax.random.PRNGKey(0))[0] == pytest.approx(1.723998, rel=1e-5)


@pytest.mark.parametrize("n", [2, 3])
def test_dephased_hea_reaches_optimum_over_all_states(n):
    eta = 0.8
    best, _ = optimal_state_qfi(n, eta, key=jax.random.PRNGKey(1), restarts=3, steps=500)
    p = build_protocol(n, "hea", "none", prep_layers=2, noise=Noise.uniform(n, eta=eta))
    res = optimize_protocol(compile_jax(p), p.n_params, p.n_prep_params, objective="qfi",
                            key=jax.random.PRNGKey(5), steps=300, restarts=3)
    assert res.value >= 0.99 * best


@pytest.mark.slow
def test_dephased_hea_reaches_optimum_n4():
    best, _ = optimal_state_qfi(4, 0.8, key=jax.random.PRNGKey(1), restarts=3, steps=800)
    p = build_protocol(4, "hea", "none", prep_layers=3, noise=Noise.uniform(4, eta=0.8))
    res = optimize_protocol(compile_jax(p), p.n_params, p.n_prep_params, objective="qfi",
                            key=jax.random.PRNGKey(5), steps=600, restarts=4)
    assert res.value >= 0.99 * best


def test_cfi_objective_saturates_qfi_for_ghz():
    """GHZ + parity readout: the optimized CFI reaches the QFI n^2 eta^(2n)."""
    n, eta = 3, 0.9
    p = build_protocol(n, "ghz", "ghz_parity", noise=Noise.uniform(n, eta=eta))
    res = optimize_protocol(compile_jax(p), p.n_params, p.n_prep_params, objective="cfi",
                            key=jax.random.PRNGKey(0), steps=200, restarts=2)
    assert res.value == pytest.approx(n**2 * eta ** (2 * n), rel=1e-4)


def test_step_compiles_once():
    p = build_protocol(2, "hea", "local", prep_layers=1)
    jp = compile_jax(p)
    opt = make_optimizer("adam", 0.05)
    step = make_step(jp.qfi, opt)
    params = jax.random.uniform(jax.random.PRNGKey(0), (2, p.n_params))
    state = jax.vmap(opt.init)(params)
    for _ in range(4):
        params, state, _ = step(params, state)
    assert step._cache_size() == 1


def test_same_key_same_result():
    p = build_protocol(2, "hea", "local", prep_layers=1, noise=Noise.uniform(2, eta=0.9))
    jp = compile_jax(p)
    a = optimize_protocol(jp, p.n_params, p.n_prep_params, objective="cfi", key=jax.random.PRNGKey(3), steps=20)
    b = optimize_protocol(jp, p.n_params, p.n_prep_params, objective="cfi", key=jax.random.PRNGKey(3), steps=20)
    np.testing.assert_array_equal(a.params, b.params)
    np.testing.assert_array_equal(a.trace, b.trace)
    assert len(a.trace) == 20


def test_validation():
    with pytest.raises(ValueError, match="accepted"):
        make_optimizer("newton")
    with pytest.raises(ValueError, match="learning_rate"):
        make_optimizer("adam", 0.0)
    p = build_protocol(1, "product", "none")
    jp = compile_jax(p)
    with pytest.raises(ValueError, match="objective"):
        optimize_protocol(jp, p.n_params, p.n_prep_params, objective="mse", key=jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match="restarts"):
        optimize_protocol(jp, p.n_params, p.n_prep_params, objective="qfi", key=jax.random.PRNGKey(0), restarts=0)
    with pytest.raises(ValueError, match="shape"):
        maximize(jp.qfi, np.zeros(3), optimizer=make_optimizer(), steps=1)
    with pytest.raises(ValueError, match="steps"):
        maximize(jp.qfi, np.zeros((1, 2)), optimizer=make_optimizer(), steps=-1)
    with pytest.raises(ValueError, match="n ="):
        optimal_state_qfi(9, 0.5, key=jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match="eta"):
        optimal_state_qfi(2, 1.5, key=jax.random.PRNGKey(0))
