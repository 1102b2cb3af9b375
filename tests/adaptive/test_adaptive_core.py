"""Sequential Bayesian core: likelihoods, grid vs particle filter, calibration, resampling, real-time step."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from qlearn_sense.adaptive import (
    RamseyModel,
    SMCOptions,
    candidate_settings,
    coherence_cap_s,
    credible_interval,
    ess,
    expected_information_gain,
    fixed_policy,
    greedy_eig_policy,
    grid_credible_interval,
    grid_init,
    grid_mean,
    grid_update,
    grid_var,
    liu_west_resample,
    make_pipelined_step,
    make_realtime_step,
    measure_latency,
    particle_guess_policy,
    posterior_cov,
    posterior_mean,
    protocol_outcome_probs,
    ramsey_outcome_probs,
    ramsey_p0,
    ramsey_readout_params,
    shot_sequence,
    simulate_trials,
    smc_init,
    smc_update,
    systematic_indices,
    weighted_quantiles,
)
from qlearn_sense.protocol import Noise, build_protocol, compile_jax

GAMMA = 28.024e9
T2 = 2e-5


def test_ramsey_closed_form_matches_compiled_protocol():
    """Closed form vs the register engine (independent implementation), decoherence and readout included."""
    t, p01, p10 = 4e-6, 0.03, 0.05
    eta = math.exp(-t / T2)
    prot = build_protocol(1, "ramsey", "local", noise=Noise.uniform(1, eta=eta, p01=p01, p10=p10))
    hook = protocol_outcome_probs(compile_jax(prot).probs, GAMMA, ramsey_readout_params(1))
    closed = ramsey_outcome_probs(RamseyModel(GAMMA, t2_s=T2, p01=p01, p10=p10))
    x = jnp.linspace(-3e-6, 7e-6, 11)[:, None]
    for phase in (0.0, 0.7, math.pi / 2):
        s = jnp.array([t, phase, 0.0])
        np.testing.assert_allclose(hook(x, s), closed(x, s), atol=1e-12)
    # two qubits: the register hook gives the product of single-qubit marginals
    prot2 = build_protocol(2, "ramsey", "local", noise=Noise.uniform(2, eta=eta))
    hook2 = protocol_outcome_probs(compile_jax(prot2).probs, GAMMA, ramsey_readout_params(2))
    p2 = hook2(x, jnp.array([t, 0.3, 0.0]))
    p1 = ramsey_p0(RamseyModel(GAMMA, t2_s=T2), x, jnp.array([t, 0.3, 0.0]))
    np.testing.assert_allclose(p2[:, 0], p1 ** 2, atol=1e-12)
    np.testing.assert_allclose(p2.sum(axis=1), 1.0, atol=1e-12)


def test_nuisance_columns_enter_the_likelihood():
    m = RamseyModel(GAMMA, t2_column=1, contrast_column=2)
    x = jnp.array([[1e-6, 1e-5, 0.8], [1e-6, 1e-3, 1.0]])
    s = jnp.array([5e-6, 0.0, 0.0])
    phi = 2 * math.pi * GAMMA * 1e-6 * 5e-6
    expected = [0.5 * (1 + 0.8 * math.exp(-0.5) * math.cos(phi)), 0.5 * (1 + math.exp(-5e-3) * math.cos(phi))]
    np.testing.assert_allclose(ramsey_p0(m, x, s), expected, rtol=1e-12)


def _outcomes(lik, truth, settings, key):
    p = jnp.stack([lik(jnp.array([[truth]]), s)[0, 0] for s in settings])
    return (jax.random.uniform(key, p.shape) > p).astype(int)


def test_grid_and_particle_filter_agree(key):
    """One-parameter problem, same data: SMC mean and sd match the exact grid posterior."""
    lik = ramsey_outcome_probs(RamseyModel(GAMMA, t2_s=T2, p01=0.02, p10=0.02))
    ts = np.geomspace(5e-8, 4e-6, 40)
    settings = [jnp.array([t, ph, 0.0]) for t in ts for ph in (0.0, math.pi / 2)]
    ys = _outcomes(lik, 3.3e-5, settings, key)
    g = grid_init(0.0, 1e-4, 20001)
    gu = jax.jit(lambda st, y, s: grid_update(lik, st, y, s))
    for y, s in zip(ys, settings):
        g = gu(g, y, s)
    opts = SMCOptions(lower=(0.0,), upper=(1e-4,))
    st = smc_init(jax.random.PRNGKey(5), [0.0], [1e-4], 4000)
    su = jax.jit(lambda st, y, s, k: smc_update(lik, st, y, s, k, opts))
    for i, (y, s) in enumerate(zip(ys, settings)):
        st = su(st, y, s, jax.random.PRNGKey(100 + i))
    g_mean, g_sd = float(grid_mean(g)), math.sqrt(float(grid_var(g)))
    s_mean, s_sd = float(posterior_mean(st)[0]), math.sqrt(float(posterior_cov(st)[0, 0]))
    assert g_sd < 0.02 * 1e-4  # the data pin the field down: a real test, not the prior
    assert abs(s_mean - g_mean) < 4 * g_sd / math.sqrt(float(ess(st))) + 0.05 * g_sd
    assert s_sd == pytest.approx(g_sd, rel=0.15)
    np.testing.assert_allclose(credible_interval(st, 0.9), grid_credible_interval(g, 0.9), atol=0.5 * g_sd)


def test_posterior_unbiased_and_calibrated():
    """Over seeded trials with truths from the prior: 95 % intervals cover at their rate; no bias."""
    lik = ramsey_outcome_probs(RamseyModel(GAMMA, t2_s=T2, p01=0.02, p10=0.02))
    n = 300
    truth = np.random.default_rng(3).uniform(0, 1e-4, (n, 1))
    run = simulate_trials(jax.random.PRNGKey(11), lik, particle_guess_policy(GAMMA, coherence_cap_s(T2)), truth,
                          [0.0], [1e-4], n_particles=400, n_experiments=30)
    inside = (run.ci95[:, 0] <= truth[:, 0]) & (truth[:, 0] <= run.ci95[:, 1])
    se = math.sqrt(0.95 * 0.05 / n)
    assert abs(inside.mean() - 0.95) < 3.5 * se
    err = run.errors[:, -1]
    assert abs(err.mean()) < 3.5 * err.std(ddof=1) / math.sqrt(n)  # unbiased
    # E[(B - mean)^2 / var] = 1 exactly under the prior predictive; tolerance from the sample's own spread
    z2 = (err / np.maximum(run.sds[:, -1], 1e-30)) ** 2
    assert abs(z2.mean() - 1.0) < 4 * z2.std(ddof=1) / math.sqrt(n)
    assert np.all(np.diff(np.median(np.abs(run.errors), axis=0)[::5]) < 0)  # the error keeps falling


def test_liu_west_keeps_mean_and_covariance(key):
    st = smc_init(key, [0.0, 0.0], [1.0, 2.0], 20000)
    w = jnp.exp(-((st.particles[:, 0] - 0.3) ** 2) / 0.02)
    st = st._replace(weights=jnp.asarray(w / w.sum()))
    new = liu_west_resample(st, jax.random.PRNGKey(2), SMCOptions(lower=(0.0, 0.0), upper=(1.0, 2.0)))
    sd = np.sqrt(np.diag(np.asarray(posterior_cov(st))))
    np.testing.assert_allclose(posterior_mean(new), posterior_mean(st), atol=5 * sd.max() / math.sqrt(float(ess(st))))
    np.testing.assert_allclose(np.sqrt(np.diag(np.asarray(posterior_cov(new)))), sd, rtol=0.05)
    assert float(ess(new)) == pytest.approx(20000)


def test_systematic_resampling_counts():
    w = jnp.asarray(np.random.default_rng(0).dirichlet(np.ones(50)))
    idx = np.asarray(systematic_indices(jax.random.PRNGKey(3), w))
    counts = np.bincount(idx, minlength=50)
    assert counts.sum() == 50
    assert np.all(counts >= np.floor(50 * np.asarray(w)) - 1e-9) and np.all(counts <= np.ceil(50 * np.asarray(w)))


def test_weighted_quantiles_match_numpy():
    v = jnp.asarray(np.random.default_rng(1).normal(size=4001))
    q = weighted_quantiles(v, jnp.full(v.shape, 1 / v.size), jnp.array([0.1, 0.5, 0.9]))
    np.testing.assert_allclose(q, np.quantile(np.asarray(v), [0.1, 0.5, 0.9]), atol=2e-3)


def test_policies():
    st = smc_init(jax.random.PRNGKey(0), [0.0], [1e-4], 500)
    cap = coherence_cap_s(T2)
    s = particle_guess_policy(GAMMA, cap)(st, jax.random.PRNGKey(1))
    assert 0 < float(s[0]) <= cap and float(s[1]) == 0.0
    # a narrow posterior gives long times, capped at T2/2
    narrow = st._replace(particles=3e-5 + 1e-12 * st.particles / 1e-4)
    assert float(particle_guess_policy(GAMMA, cap)(narrow, jax.random.PRNGKey(1))[0]) == pytest.approx(cap)
    fp = fixed_policy(2e-6)
    assert [float(fp(st._replace(n_updates=jnp.asarray(i)), None)[1]) for i in range(3)] == [0.0, math.pi / 2, 0.0]
    lik = ramsey_outcome_probs(RamseyModel(GAMMA, t2_s=T2))
    cand = candidate_settings(cap, 12)
    eig = expected_information_gain(lik, st, jnp.asarray(cand))
    assert np.all(np.asarray(eig) >= -1e-12) and np.all(np.asarray(eig) <= math.log(2) + 1e-12)
    best = greedy_eig_policy(lik, cand)(st, None)
    assert float(best[0]) in cand[:, 0]
    # uniform prior on [0, 1e-4]: the shortest times carry almost no information
    assert float(eig[0]) < float(eig[-1])


def test_realtime_step_compiles_once_and_resamples_inside(key):
    lik = ramsey_outcome_probs(RamseyModel(GAMMA, t2_s=T2))
    step = make_realtime_step(lik, particle_guess_policy(GAMMA, coherence_cap_s(T2)),
                              SMCOptions(lower=(0.0,), upper=(1e-4,)))
    st = smc_init(key, [0.0], [1e-4], 256)
    setting = jnp.array([1e-6, 0.0, 0.0])
    for i in range(30):
        st, setting = step(st, jnp.asarray(i % 2), setting, jax.random.PRNGKey(i))
    assert step._cache_size() == 1
    assert int(st.n_resamples) >= 1 and int(st.n_updates) == 30
    lat = measure_latency(step, st, setting, key, n_calls=20, warmup=2)
    assert lat.samples_us.shape == (20,) and 0 < lat.p50_us <= lat.p99_us <= lat.max_us
    assert step._cache_size() == 1


def test_pipelined_step_defers_resampling_and_learns_like_the_one_call_step():
    """update never resamples (ESS falls), maintain restores it; both steps reach the truth."""
    lik = ramsey_outcome_probs(RamseyModel(GAMMA, t2_s=T2))
    pol = particle_guess_policy(GAMMA, coherence_cap_s(T2))
    opts = SMCOptions(lower=(0.0,), upper=(1e-4,))
    pipe, one = make_pipelined_step(lik, pol, opts), make_realtime_step(lik, pol, opts)
    truth = 3.3e-5
    errs = {"pipe": [], "one": []}
    for trial in range(12):
        rng = np.random.default_rng(trial)
        for name in ("pipe", "one"):
            st = smc_init(jax.random.PRNGKey(trial), [0.0], [1e-4], 400)
            setting = jnp.array([1e-6, 0.0, 0.0])
            for i in range(60):
                p0 = float(lik(jnp.array([[truth]]), setting)[0, 0])
                y = jnp.asarray(int(rng.random() > p0))
                k = jax.random.PRNGKey(1000 * trial + i)
                if name == "pipe":
                    before = int(st.n_resamples)
                    st, setting = pipe.update(st, y, setting, k)
                    assert int(st.n_resamples) == before  # the update path never resamples
                    st = pipe.maintain(st, jax.random.fold_in(k, 1))
                    w = np.asarray(st.weights)
                    assert 1 / np.dot(w, w) >= 0.5 * 400 - 1e-9  # maintained: ESS back above threshold
                else:
                    st, setting = one(st, y, setting, k)
            errs[name].append(abs(float(posterior_mean(st)[0]) - truth))
    assert int(st.n_updates) == 60
    # same algorithm, different random streams: errors of the same order, both far below the prior sd
    prior_sd = 1e-4 / math.sqrt(12)
    assert np.median(errs["pipe"]) < 0.05 * prior_sd and np.median(errs["one"]) < 0.05 * prior_sd
    lat = measure_latency(pipe, smc_init(jax.random.PRNGKey(0), [0.0], [1e-4], 400), jnp.array([1e-6, 0.0, 0.0]),
                          jax.random.PRNGKey(5), n_calls=30, warmup=3)
    assert lat.samples_us.shape == (30,) and 0 < lat.p50_us <= lat.p99_us <= lat.max_us
    assert lat.cycle_p50_us >= lat.p50_us and lat.cycle_p99_us >= lat.p50_us


def test_shot_sequence_interleaves():
    rows, outs = shot_sequence(np.array([[2, 1], [0, 2]]))
    assert rows.tolist() == [0, 1, 0, 1, 0] and outs.tolist() == [0, 1, 0, 1, 1]


def test_bad_inputs():
    with pytest.raises(ValueError, match="n_particles = 0"):
        smc_init(jax.random.PRNGKey(0), [0.0], [1.0], 0)
    with pytest.raises(ValueError, match="upper > lower"):
        smc_init(jax.random.PRNGKey(0), [1.0], [0.0], 10)
    st = smc_init(jax.random.PRNGKey(0), [0.0], [1.0], 10)
    with pytest.raises(ValueError, match="level"):
        credible_interval(st, 1.5)
    with pytest.raises(ValueError, match="n_points"):
        grid_init(0.0, 1.0, 1)
    with pytest.raises(ValueError, match="upper_T > lower_T"):
        grid_init(1.0, 0.0, 10)
    with pytest.raises(ValueError, match="level"):
        grid_credible_interval(grid_init(0.0, 1.0, 10), 0.0)
    with pytest.raises(ValueError, match="t2_s"):
        coherence_cap_s(-1.0)
    with pytest.raises(ValueError, match="t_max_s"):
        coherence_cap_s(1.0, t_max_s=0.0)
    with pytest.raises(ValueError, match="t_max_s"):
        particle_guess_policy(GAMMA, 0.0)
    with pytest.raises(ValueError, match="t_s"):
        fixed_policy(-1e-6)
    with pytest.raises(ValueError, match="n_times"):
        candidate_settings(1e-6, 0)
    lik = ramsey_outcome_probs(RamseyModel(GAMMA))
    with pytest.raises(ValueError, match="n_particles = 1"):
        simulate_trials(jax.random.PRNGKey(0), lik, fixed_policy(1e-6), [[0.0]], [0.0], [1.0], n_particles=1,
                        n_experiments=1)
    with pytest.raises(ValueError, match="truth has shape"):
        simulate_trials(jax.random.PRNGKey(0), lik, fixed_policy(1e-6), [[0.0, 1.0]], [0.0], [1.0], n_particles=4,
                        n_experiments=1)
    with pytest.raises(ValueError, match="n_calls"):
        measure_latency(None, st, jnp.zeros(3), jax.random.PRNGKey(0), n_calls=0)
