"""The unrolled Threefry of the per-shot update, and the linear-weight Bayes update."""

from __future__ import annotations

import math

import jax
import jax.extend.random
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from qlearn_sense.adaptive import RamseyModel, ramsey_outcome_probs, reweight, reweight_probs, smc_init
from qlearn_sense.adaptive import _rng


@pytest.mark.parametrize("seed", [0, 1, 2026])
@pytest.mark.parametrize("n", [1, 2, 7, 1000])
def test_threefry_is_bit_identical_to_jax(seed, n):
    """word_pairs(key, n) concatenated is JAX's threefry_2x32(key, arange(2 n)), raw and typed keys."""
    ref = np.asarray(jax.extend.random.threefry_2x32(jax.random.PRNGKey(seed), jnp.arange(2 * n, dtype=jnp.uint32)))
    for key in (jax.random.PRNGKey(seed), jax.random.key(seed)):
        a, b = _rng.word_pairs(key, n)
        np.testing.assert_array_equal(np.concatenate([np.asarray(a), np.asarray(b)]), ref)


def test_normal_and_uniform_distributions():
    """Kolmogorov-Smirnov at a 1e-3 level, moments within 4 standard errors (fixed seeds)."""
    n = 200_000
    for seed in (0, 1):
        z = np.asarray(_rng.normal_f32(jax.random.PRNGKey(seed), n), dtype=np.float64)
        u = np.asarray(_rng.uniform(jax.random.PRNGKey(seed), n))
        assert stats.kstest(z, "norm").pvalue > 1e-3
        assert stats.kstest(u, "uniform").pvalue > 1e-3
        assert abs(z.mean()) < 4 / math.sqrt(n)
        assert abs(z.var() - 1) < 4 * math.sqrt(2 / n)
        assert abs(stats.kurtosis(z)) < 4 * math.sqrt(24 / n)
        assert u.min() >= 0 and u.max() < 1
    # the two streams of one key and of split keys are not the same numbers
    k1, k2 = _rng.split(jax.random.PRNGKey(3), 2)
    assert not np.array_equal(np.asarray(_rng.word_pairs(k1, 8)), np.asarray(_rng.word_pairs(k2, 8)))
    assert abs(np.corrcoef(np.asarray(_rng.normal_f32(k1, n)), np.asarray(_rng.normal_f32(k2, n)))[0, 1]) < 4 / math.sqrt(n)


def test_linear_weight_update_matches_the_log_domain():
    lik = ramsey_outcome_probs(RamseyModel(1 / (2 * math.pi)))
    st = smc_init(jax.random.PRNGKey(0), [0.0], [1.0], 500)
    s = jnp.array([7.0, 0.3, 0.0])
    p = lik(st.particles, s)
    a = reweight_probs(st, p[:, 1])
    b = reweight(st, jnp.log(p[:, 1]))
    np.testing.assert_allclose(np.asarray(a.weights), np.asarray(b.weights), rtol=1e-12, atol=1e-300)
    assert float(a.log_evidence) == pytest.approx(float(jnp.log(jnp.mean(p[:, 1]))), rel=1e-12)
    # 5,000 shots at once: the likelihoods underflow as numbers, the shifted update does not
    ll = 2000 * jnp.log(p[:, 0]) + 3000 * jnp.log(p[:, 1])
    c = reweight(st, ll)
    w_ref = np.exp(np.asarray(ll) - np.asarray(ll).max())
    np.testing.assert_allclose(np.asarray(c.weights), w_ref / w_ref.sum(), rtol=1e-9, atol=1e-300)
    assert np.isfinite(float(c.log_evidence))
    # an outcome no particle can explain leaves the weights alone and marks the evidence
    d = reweight(st, jnp.full(500, -jnp.inf))
    np.testing.assert_array_equal(np.asarray(d.weights), np.asarray(st.weights))
    assert float(d.log_evidence) == -math.inf


def test_multinomial_indices_follow_the_weights_and_resampler_option():
    from qlearn_sense.adaptive import SMCOptions, liu_west_resample, multinomial_indices

    w = np.random.default_rng(1).dirichlet(np.full(3000, 0.4))
    counts = np.zeros(3000)
    for i in range(40):  # 120,000 independent draws in 40 resamplings
        idx = np.asarray(multinomial_indices(jax.random.PRNGKey(i), jnp.asarray(w)))
        assert idx.min() >= 0 and idx.max() < 3000
        counts += np.bincount(idx, minlength=3000)
    n = counts.sum()
    keep = w * n >= 5
    obs = np.append(counts[keep], counts[~keep].sum())
    exp = np.append(w[keep] * n, w[~keep].sum() * n)
    assert stats.chi2.sf(((obs - exp) ** 2 / exp).sum(), obs.size - 1) > 1e-3
    st = smc_init(jax.random.PRNGKey(0), [0.0], [1.0], 100)
    with pytest.raises(ValueError, match="resampler = 'stratified'"):
        liu_west_resample(st, jax.random.PRNGKey(1), SMCOptions(resampler="stratified"))
