"""Published and derived reference values (../shared/REFERENCES.md) reproduced through the engine."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from qlearn_sense.fisher import frequency_optimum
from qlearn_sense.protocol import Noise, build_protocol, compile_jax


def test_frequency_estimation_worked_example():
    """gamma = 1e3 /s, n = 10, T = 1 s: d_omega = 23.3164 rad/s (product or GHZ), bound 14.1421 rad/s."""
    for state, t_opt in (("product", 5e-4), ("ghz", 5e-5)):
        res = frequency_optimum(10, 1e3, 1.0, state)
        assert res["t_opt_s"] == pytest.approx(t_opt, rel=1e-12)
        assert res["domega_rad_per_s"] == pytest.approx(23.3164, abs=1e-4)
        assert res["bound_domega_rad_per_s"] == pytest.approx(14.1421, abs=1e-4)


@pytest.mark.parametrize("state", ["ramsey", "ghz"])
def test_frequency_optimum_matches_engine_qfi_optimized_over_time(state):
    """Independent route: QFI of the dephased state from the simulator, Fisher rate F t^2 / t maximized over t."""
    n, gamma, total = 4, 1e3, 1.0

    def rate(t):  # Fisher information on omega per second of sensing, F_phi(eta = e^{-gamma t}) t^2 / t
        jp = compile_jax(build_protocol(n, state, "none", noise=Noise.uniform(n, eta=float(np.exp(-gamma * t)))))
        return float(jp.qfi(jnp.zeros(0))) * t

    best = minimize_scalar(lambda t: -rate(t), bounds=(1e-6, 5e-3), method="bounded", options={"xatol": 1e-9})
    ref = frequency_optimum(n, gamma, total, "product" if state == "ramsey" else "ghz")
    assert best.x == pytest.approx(ref["t_opt_s"], rel=1e-3)
    assert 1 / np.sqrt(total * -best.fun) == pytest.approx(ref["domega_rad_per_s"], rel=1e-6)


def test_one_axis_twisting_qfi_along_best_axis_n10():
    """Kitagawa-Ueda OAT, n = 10, twist mu = 0.400960 (the xi_R optimum): QFI along the best axis = 39.6141.

    Kitagawa & Ueda write the twist as exp(-i (mu / 2) Jz^2) (mu = 2 chi t); the ansatz's shared RZZ
    angle a gives exp(-i a Jz^2), so a = mu / 2.
    """
    n, mu = 10, 0.400960 / 2
    p = build_protocol(n, "oat", "none", prep_layers=1)  # params: [mu, nu (collective RX), final RZ]
    jp = compile_jax(p)
    g = np.asarray(jp.generator)

    @jax.jit
    def qfi(nu):  # pure state: 4 Var(J_z) after rotating the squeezed state by nu about the mean spin (x)
        prob = jnp.abs(jp.statevector(jnp.array([mu, nu, 0.0]))) ** 2
        return 4.0 * (prob @ g**2 - (prob @ g) ** 2)

    grid = np.linspace(0, np.pi, 721)
    values = np.asarray(jax.vmap(qfi)(jnp.asarray(grid)))
    nu0 = grid[np.argmax(values)]
    best = minimize_scalar(lambda x: -float(qfi(x)), bounds=(nu0 - 0.01, nu0 + 0.01), method="bounded",
                           options={"xatol": 1e-10})
    assert -best.fun == pytest.approx(39.6141, abs=2e-4)
    assert -best.fun >= n / 0.309859  # QFI >= n / xi_R^2 = 32.2727
