"""Robust phase estimation (schedule, bound, slope) and waveform tracking with a detection statistic."""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest

from qlearn_sense.adaptive import (
    RamseyModel,
    ap_shape,
    credible_interval,
    detection_decision,
    posterior_mean,
    rpe_estimate,
    rpe_schedule,
    rpe_simulate,
    rpe_total_time,
    rpe_variance_bound,
    template_waveform,
    track,
)
from qlearn_sense.hyptest import sprt_thresholds
from qlearn_sense.physics import ActionPotentialField

GAMMA = 28.024e9


@pytest.mark.parametrize("k,alpha,beta", [(1, 2.5, 0.5), (5, 2.5, 0.5), (10, 2.5, 0.5), (7, 3.0, 1.0), (4, 2.2, 0.3)])
def test_rpe_schedule_matches_the_paper(k, alpha, beta):
    """Kimmel, Low, Yoder 2015 eq. (V.11): M_j = ceil(alpha (K - j) + beta), j = 1..K."""
    expected = [math.ceil(alpha * (k - j) + beta) for j in range(1, k + 1)]
    assert rpe_schedule(k, alpha, beta).tolist() == expected


def test_rpe_schedule_hand_values():
    assert rpe_schedule(5).tolist() == [11, 8, 6, 3, 1]  # 10.5, 8, 5.5, 3, 0.5 rounded up
    assert rpe_total_time(rpe_schedule(5)) == 2 * (11 + 2 * 8 + 4 * 6 + 8 * 3 + 16 * 1)


def test_rpe_variance_bound_hand_value():
    """K = 1, M = 1: (1 - p) (pi/2)^2 + pi^2 p with p = 1 / (2 sqrt(2 pi)) (eqs. (V.6), (V.7), (V.9))."""
    p = 0.5 / math.sqrt(2 * math.pi)
    assert rpe_variance_bound([1]) == pytest.approx((1 - p) * (math.pi / 2) ** 2 + math.pi ** 2 * p, rel=1e-12)


def test_rpe_estimate_exact_inputs_recover_the_phase():
    a = np.random.default_rng(0).uniform(-math.pi, math.pi, 100)
    k = 2.0 ** np.arange(12)
    est = rpe_estimate(np.cos(np.outer(a, k)), np.sin(np.outer(a, k)))
    np.testing.assert_allclose(est, a, atol=1e-12)


def test_rpe_noiseless_heisenberg_slope_small():
    """Small-size version of the benchmark's 2,000-trial check: slope near -1 and error under the bound."""
    rng = np.random.default_rng(7)
    times, rmse = [], []
    for k in range(1, 9):
        r = rpe_simulate(rng, rng.uniform(-math.pi, math.pi, 600), k)
        times.append(r.total_time)
        rmse.append(math.sqrt(np.mean(r.errors ** 2)))
        assert rmse[-1] <= math.sqrt(rpe_variance_bound(r.schedule))
    slope = np.polyfit(np.log(times[3:]), np.log(rmse[3:]), 1)[0]
    assert -1.1 < slope < -0.85


def test_rpe_dephasing_ends_heisenberg_scaling():
    """T2 = 64 units: close to noiseless while the longest time is short; flat (slope > -1/2) past T2/2."""
    rng = np.random.default_rng(8)
    rmse = {}
    for k in (4, 8, 10):
        a = rng.uniform(-math.pi, math.pi, 800)
        deph, clean = rpe_simulate(rng, a, k, t2=64.0), rpe_simulate(rng, a, k)
        rmse[k] = (math.sqrt(np.mean(deph.errors ** 2)), math.sqrt(np.mean(clean.errors ** 2)), deph.total_time)
    assert rmse[4][0] / rmse[4][1] < 1.6  # longest time 8 << T2/2 = 32
    assert rmse[10][0] / rmse[10][1] > 5  # longest time 512 >> T2/2
    late = math.log(rmse[10][0] / rmse[8][0]) / math.log(rmse[10][2] / rmse[8][2])
    assert late > -0.5


def test_rpe_bad_input():
    with pytest.raises(ValueError, match="n_generations"):
        rpe_schedule(0)
    with pytest.raises(ValueError, match="alpha"):
        rpe_schedule(3, alpha=-1.0)
    with pytest.raises(ValueError, match="shape"):
        rpe_estimate(np.zeros((2, 3)), np.zeros((2, 4)))


def test_ap_shape_matches_physics():
    ap = ActionPotentialField(1.0, width_s=3e-4, t_peak_s=1e-3)
    for t in (0.0, 8e-4, 1.1e-3, 1.3e-3, 2e-3):
        assert float(ap_shape(t - 1e-3, 3e-4)) == pytest.approx(ap.shape(t), rel=1e-12, abs=1e-15)


WIDTH, T_INT, AMP, T_ARR = 3e-4, 1e-6, 1e-9, 8e-4


def _window(present):
    clock = np.arange(0.0, 2e-3, 1e-5)
    shape = ActionPotentialField(1.0, WIDTH, T_ARR).shape
    truth = (AMP if present else 0.0) * np.array([shape(c + T_INT / 2) for c in clock])
    return clock, truth


@pytest.fixture(scope="module")
def tracked():
    model = RamseyModel(GAMMA, t2_s=2e-6, p01=0.02, p10=0.02)
    out = {}
    for present in (True, False):
        clock, truth = _window(present)
        out[present] = track(jax.random.PRNGKey(3 if present else 4), model, truth, clock, t_s=T_INT, shots=10**9,
                             kind="template", lower=[0.0, 2 * WIDTH], upper=[3e-9, 2e-3 - 2 * WIDTH],
                             n_particles=1500, width_s=WIDTH)
    return out


def test_template_tracking_recovers_amplitude_and_arrival(tracked):
    r = tracked[True]
    a_lo, a_hi = np.asarray(credible_interval(r.final, 0.95, 0))
    t_lo, t_hi = np.asarray(credible_interval(r.final, 0.95, 1))
    assert a_lo <= AMP <= a_hi and t_lo <= T_ARR <= t_hi
    assert a_hi - a_lo < 0.3 * AMP and t_hi - t_lo < 0.2 * WIDTH  # informative, not the prior
    clock, truth = _window(True)
    mean, lo, hi = template_waveform(r.final, clock + T_INT / 2, WIDTH)
    assert np.mean((lo <= truth) & (truth <= hi)) > 0.9
    assert np.max(np.abs(mean - truth)) < 0.15 * AMP


def test_detection_statistic_separates_event_from_empty_window(tracked):
    th = sprt_thresholds(0.01, 0.01)
    assert tracked[True].log_bayes_factor > th.log_upper
    assert tracked[False].log_bayes_factor < tracked[True].log_bayes_factor - 10
    assert detection_decision(tracked[True].log_bayes_factor, 0.01, 0.01) == "event"
    assert detection_decision(th.log_lower - 1, 0.01, 0.01) == "no_event"
    assert detection_decision(0.0, 0.01, 0.01) == "undecided"
    assert float(posterior_mean(tracked[False].final)[0]) < 0.2 * AMP


def test_random_walk_band_covers_the_waveform():
    clock, truth = _window(True)
    r = track(jax.random.PRNGKey(5), RamseyModel(GAMMA, t2_s=2e-6), truth, clock, t_s=T_INT, shots=10**9,
              kind="random_walk", lower=[-3e-9], upper=[3e-9], n_particles=1000,
              sigma_T_per_sqrt_s=AMP / math.sqrt(WIDTH))
    assert np.mean((r.lower_T <= truth) & (truth <= r.upper_T)) > 0.85
    assert np.sqrt(np.mean((r.mean_T - truth) ** 2)) < 0.3 * AMP


def test_tracking_bad_input():
    clock, truth = _window(True)
    m = RamseyModel(GAMMA)
    with pytest.raises(ValueError, match="kind"):
        track(jax.random.PRNGKey(0), m, truth, clock, t_s=1e-6, shots=1, kind="kalman", lower=[0], upper=[1],
              n_particles=10)
    with pytest.raises(ValueError, match="width_s"):
        track(jax.random.PRNGKey(0), m, truth, clock, t_s=1e-6, shots=1, kind="template", lower=[0, 0],
              upper=[1, 1], n_particles=10)
    with pytest.raises(ValueError, match="shots = 0"):
        track(jax.random.PRNGKey(0), m, truth, clock, t_s=1e-6, shots=0, kind="random_walk", lower=[0], upper=[1],
              n_particles=10)
    with pytest.raises(ValueError, match="shape"):
        track(jax.random.PRNGKey(0), m, truth[:-1], clock, t_s=1e-6, shots=1, kind="random_walk", lower=[0],
              upper=[1], n_particles=10)
    with pytest.raises(ValueError, match="level"):
        template_waveform(None, clock, WIDTH, level=1.0)
    with pytest.raises(ValueError, match="alpha"):
        detection_decision(0.0, 0.0, 0.1)
