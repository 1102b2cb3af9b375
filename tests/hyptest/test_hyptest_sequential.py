"""Wald's SPRT and the GLR test: published numbers, an exact recursion and Monte Carlo."""

import numpy as np
import pytest
from scipy.stats import binom, chi2

from qlearn_sense import hyptest as ht

P0, P1 = [0.5, 0.5], [0.4, 0.6]  # Bernoulli 0.5 vs 0.6 (outcome 1 = "bright")


def exact_bernoulli_sprt(a, b, alpha, beta, true_p):
    """Exact E[N] and P(decide H1) of the Bernoulli SPRT by recursion over (shots, ones)."""
    log_up, log_low = np.log((1 - beta) / alpha), np.log(beta / (1 - alpha))
    l1, l0 = np.log(b / a), np.log((1 - b) / (1 - a))
    mass = np.array([1.0])  # mass[n]: still running after j shots with n ones
    mean_n = p_h1 = 0.0
    j = 0
    while mass.sum() > 1e-15:
        j += 1
        new = np.zeros(j + 1)
        new[:-1] += (1 - true_p) * mass
        new[1:] += true_p * mass
        lam = np.arange(j + 1) * l1 + (j - np.arange(j + 1)) * l0
        up, low = lam >= log_up, lam <= log_low
        mean_n += j * new[up | low].sum()
        p_h1 += new[up].sum()
        new[up | low] = 0.0
        mass = new
    return mean_n, p_h1


def test_thresholds():
    thr = ht.sprt_thresholds(0.01, 0.01)
    assert thr.log_upper == pytest.approx(np.log(99))
    assert thr.log_lower == pytest.approx(-np.log(99))
    thr = ht.sprt_thresholds(0.05, 0.2)
    assert thr.log_upper == pytest.approx(np.log(0.8 / 0.05))
    assert thr.log_lower == pytest.approx(np.log(0.2 / 0.95))


def test_wald_expected_shots_reference():
    """REFERENCES.md: ~220.6 under H0 and ~223.7 under H1."""
    res = ht.sprt_expected_shots(P0, P1, 0.01, 0.01)
    assert res.under_h0 == pytest.approx(220.6, rel=0.005)
    assert res.under_h1 == pytest.approx(223.7, rel=0.005)


@pytest.mark.parametrize("h", [0, 1])
def test_simulation_against_exact_and_wald(h):
    n_runs = 20_000
    sim = ht.sprt_simulate(P0, P1, 0.01, 0.01, true_hypothesis=h, n_runs=n_runs, seed=2024)
    exact_n, exact_h1 = exact_bernoulli_sprt(0.5, 0.6, 0.01, 0.01, true_p=0.6 if h else 0.5)
    exact_err = exact_h1 if h == 0 else 1 - exact_h1
    wald = ht.sprt_expected_shots(P0, P1, 0.01, 0.01)[h]
    assert sim.truncated == 0.0
    assert abs(sim.mean_shots - exact_n) < 4 * sim.mean_shots_se
    assert abs(sim.mean_shots - wald) / wald < 0.15
    assert exact_n >= wald  # overshoot only adds shots
    se = np.sqrt(exact_err * (1 - exact_err) / n_runs)
    assert abs(sim.error_rate - exact_err) < 4 * se
    assert sim.error_rate <= 0.01 + 3 * sim.error_rate_se
    assert sim.shots.shape == sim.decisions.shape == (n_runs,)
    # Sequential testing beats the ~530-shot fixed-sample test on average.
    assert sim.mean_shots < 0.5 * ht.shots_to_decide(P0, P1, 0.01, 0.01)


def test_simulation_seeded_and_truncated():
    kw = dict(true_hypothesis=1, n_runs=300)
    a = ht.sprt_simulate(P0, P1, 0.01, 0.01, seed=5, **kw)
    b = ht.sprt_simulate(P0, P1, 0.01, 0.01, seed=np.random.default_rng(5), **kw)
    assert np.array_equal(a.shots, b.shots) and np.array_equal(a.decisions, b.decisions)
    t = ht.sprt_simulate(P0, P1, 0.01, 0.01, seed=5, max_shots=50, **kw)
    assert t.truncated > 0.5 and t.shots.max() == 50
    assert set(np.unique(t.decisions)) <= {0, 1}


def test_simulation_infinite_llr_stops_at_once():
    sim = ht.sprt_simulate([0.5, 0.5, 0.0], [0.0, 0.5, 0.5], 0.01, 0.01,
                           true_hypothesis=1, n_runs=2000, seed=3)
    assert sim.error_rate == 0.0
    # Stops at the first outcome 2 (prob 1/2 per shot): geometric, mean 2.
    assert abs(sim.mean_shots - 2.0) < 4 * sim.mean_shots_se


def test_sprt_on_outcomes():
    llr1, llr0 = np.log(0.6 / 0.5), np.log(0.4 / 0.5)
    outcomes = np.ones(100, dtype=int)
    res = ht.sprt_on_outcomes(outcomes, P0, P1, 0.01, 0.01)
    n = int(np.ceil(np.log(99) / llr1))
    assert res.decision == 1 and res.shots_used == n
    np.testing.assert_allclose(res.llr_trace, llr1 * np.arange(1, n + 1))
    res = ht.sprt_on_outcomes(np.zeros(100, dtype=int), P0, P1, 0.01, 0.01)
    assert res.decision == 0 and res.shots_used == int(np.ceil(np.log(99) / -llr0))
    alt = np.tile([0, 1], 10)
    res = ht.sprt_on_outcomes(alt, P0, P1, 0.01, 0.01)
    assert res.decision is None and res.shots_used == 20
    np.testing.assert_allclose(res.llr_trace, np.cumsum(np.where(alt == 1, llr1, llr0)))


def test_sprt_on_outcomes_matches_simulation_logic():
    rng = np.random.default_rng(11)
    x = (rng.random(5000) < 0.6).astype(int)
    res = ht.sprt_on_outcomes(x, P0, P1, 0.05, 0.05)
    trace = np.cumsum(np.where(x == 1, np.log(1.2), np.log(0.8)))
    thr = ht.sprt_thresholds(0.05, 0.05)
    first = int(np.argmax((trace >= thr.log_upper) | (trace <= thr.log_lower)))
    assert res.shots_used == first + 1
    assert res.decision == int(trace[first] >= thr.log_upper)


def ramsey(amp):
    """Toy readout: bright probability 0.3 + 0.2 amp for a field amplitude amp."""
    return np.array([0.7 - 0.2 * amp, 0.3 + 0.2 * amp])


GRID = np.linspace(-1, 1, 201)


def test_glrt_statistic_against_binomial():
    counts = np.array([130, 70])
    res = ht.glrt_composite(counts, ramsey, GRID, 0.0)
    ll = binom.logpmf(70, 200, 0.3 + 0.2 * GRID)
    assert res.statistic == pytest.approx(2 * (ll.max() - binom.logpmf(70, 200, 0.3)), rel=1e-10)
    assert res.theta_hat == GRID[np.argmax(ll)]
    assert res.p_value == pytest.approx(chi2.sf(res.statistic, 1))
    assert res.dof == 1


def test_glrt_wilks_calibration_and_power():
    rng = np.random.default_rng(99)
    reps, m = 600, 400
    p = np.array([ht.glrt_composite([m - k, k], ramsey, GRID, 0.0).p_value
                  for k in rng.binomial(m, 0.3, size=reps)])
    se = np.sqrt(0.05 * 0.95 / reps)
    assert abs(np.mean(p < 0.05) - 0.05) < 4 * se
    # Typical counts at amplitude 0.5 (bright 0.4): about 4 standard errors from the null.
    res = ht.glrt_composite([240, 160], ramsey, GRID, 0.0)
    assert res.theta_hat == pytest.approx(0.5) and res.p_value < 1e-3


def test_glrt_boundary_mixture():
    grid = np.linspace(0, 1, 101)
    res = ht.glrt_composite([120, 80], ramsey, grid, 0.0, boundary=True)
    assert res.p_value == pytest.approx(0.5 * chi2.sf(res.statistic, 1))
    res = ht.glrt_composite([150, 50], ramsey, grid, 0.0, boundary=True)
    assert res.statistic == 0.0 and res.p_value == 1.0 and res.theta_hat == 0.0
