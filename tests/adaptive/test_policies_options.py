"""Design-policy options: the PGH growth limit, the sigma heuristic, alternating quadrature readout,
the two-level particle draw, and their errors."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from qlearn_sense.adaptive import (
    READOUT_PHASES,
    coherence_cap_s,
    particle_guess_policy,
    sigma_heuristic_policy,
    smc_init,
)
from qlearn_sense.adaptive._policies import _draw_indices

GAMMA, T2 = 28.024e9, 2e-5
CAP = coherence_cap_s(T2)
W = 2 * math.pi * GAMMA


def _gauss_state(mu_T, sd_T, n=4000, seed=0):
    st = smc_init(jax.random.PRNGKey(seed), [0.0], [1.0], n)
    x = mu_T + sd_T * np.random.default_rng(seed).standard_normal((n, 1))
    return st._replace(particles=jnp.asarray(x))


def test_sigma_heuristic_time_and_phases():
    st = _gauss_state(3e-4, 1e-5)
    mu, sd = float(st.particles[:, 0].mean()), float(st.particles[:, 0].std())
    pol = sigma_heuristic_policy(GAMMA, CAP, sd_multiple=0.6)
    s0 = np.asarray(pol(st, jax.random.PRNGKey(0)))
    t = 0.6 / (W * sd)
    assert s0[0] == pytest.approx(t, rel=1e-9) and s0[2] == 0.0
    # quadrature of the posterior-mean fringe, -pi/4 then +pi/4 on the next update
    assert s0[1] == pytest.approx(np.mod(W * mu * t + math.pi / 4, 2 * math.pi), abs=1e-9)
    s1 = np.asarray(pol(st._replace(n_updates=st.n_updates + 1), jax.random.PRNGKey(0)))
    assert s1[1] == pytest.approx(np.mod(W * mu * t + 3 * math.pi / 4, 2 * math.pi), abs=1e-9)
    # narrow posterior: capped at the coherence cap
    assert float(pol(_gauss_state(3e-4, 1e-13), None)[0]) == pytest.approx(CAP)
    assert float(sigma_heuristic_policy(GAMMA, CAP, readout_phase="zero")(st, None)[1]) == 0.0


def test_pgh_growth_limit_caps_the_heavy_tail():
    st = _gauss_state(3e-4, 1e-5)
    sd = float(st.particles[:, 0].std())
    plain = particle_guess_policy(GAMMA, CAP)
    limited = particle_guess_policy(GAMMA, CAP, max_sd_multiple=1.0)
    keys = jax.random.split(jax.random.PRNGKey(1), 400)
    tp = np.asarray(jax.jit(jax.vmap(lambda k: plain(st, k)[0]))(keys))
    tl = np.asarray(jax.jit(jax.vmap(lambda k: limited(st, k)[0]))(keys))
    bound = 1.0 / (W * sd)
    assert np.all(tl <= bound * (1 + 1e-9)) and np.any(tp > 3 * bound)  # PGH's tail exceeds the limit
    np.testing.assert_allclose(tl, np.minimum(tp, bound), rtol=1e-9)  # same draws, only clipped
    # defaults unchanged: phase 0 (QInfer's PGH)
    assert float(plain(st, keys[0])[1]) == 0.0


def test_draw_indices_follow_the_weights():
    w = np.random.default_rng(0).dirichlet(np.full(1001, 0.5))  # P not a square: padded blocks
    n = 100000
    idx = np.asarray(jax.jit(lambda k: _draw_indices(k, jnp.asarray(w), n))(jax.random.PRNGKey(2)))
    assert idx.min() >= 0 and idx.max() <= 1000
    counts = np.bincount(idx, minlength=1001)
    keep = w * n >= 5
    other = counts[~keep].sum()
    obs = np.append(counts[keep], other)
    exp = np.append(w[keep] * n, w[~keep].sum() * n)
    chi2 = ((obs - exp) ** 2 / exp).sum()
    assert stats.chi2.sf(chi2, obs.size - 1) > 1e-3


def test_policy_option_errors():
    assert READOUT_PHASES == ("zero", "alternating_quadrature")
    with pytest.raises(ValueError, match="readout_phase"):
        sigma_heuristic_policy(GAMMA, CAP, readout_phase="random")
    with pytest.raises(ValueError, match="readout_phase"):
        particle_guess_policy(GAMMA, CAP, readout_phase="quadrature")
    with pytest.raises(ValueError, match="sd_multiple"):
        sigma_heuristic_policy(GAMMA, CAP, sd_multiple=0.0)
    with pytest.raises(ValueError, match="t_max_s"):
        sigma_heuristic_policy(GAMMA, -1.0)
    with pytest.raises(ValueError, match="max_sd_multiple"):
        particle_guess_policy(GAMMA, CAP, max_sd_multiple=-1.0)
