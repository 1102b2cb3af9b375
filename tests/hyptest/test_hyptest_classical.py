"""Finite-shot tests on outcome distributions: exact laws against independent computations."""

import itertools

import numpy as np
import pytest
from scipy.stats import binom

from qlearn_sense import hyptest as ht
from qlearn_sense.hyptest import _llr


def brute_force(p0, p1, m):
    """LLR value and probabilities of every one of the K^m outcome sequences."""
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    seqs = np.array(list(itertools.product(range(p0.size), repeat=m)))
    pr0, pr1 = np.prod(p0[seqs], axis=1), np.prod(p1[seqs], axis=1)
    keep = (pr0 > 0) | (pr1 > 0)
    with np.errstate(divide="ignore"):
        s = np.log(pr1[keep]) - np.log(pr0[keep])
    return s, pr0[keep], pr1[keep]


def binomial_np(a, b, m, alpha):
    """Most powerful level-alpha test of Bernoulli(a) vs Bernoulli(b > a) on counts."""
    k = int(np.argmax(binom.sf(np.arange(m + 1), m, a) <= alpha))  # reject when n > k
    gamma = (alpha - binom.sf(k, m, a)) / binom.pmf(k, m, a)
    return binom.sf(k, m, b) + gamma * binom.pmf(k, m, b)


def test_classical_chernoff_against_grid():
    p0, p1 = np.array([0.7, 0.2, 0.1]), np.array([0.2, 0.3, 0.5])
    s = np.linspace(0, 1, 200001)
    q = (p0[:, None] ** s * p1[:, None] ** (1 - s)).sum(axis=0)
    res = ht.classical_chernoff_information(p0, p1)
    assert res.information == pytest.approx(-np.log(q.min()), rel=1e-9)
    assert res.s_opt == pytest.approx(s[np.argmin(q)], abs=1e-4)


def test_classical_chernoff_symmetric_and_disjoint():
    p = np.array([0.6, 0.3, 0.1])
    res = ht.classical_chernoff_information(p, p[::-1])
    assert res.s_opt == pytest.approx(0.5, abs=1e-6)
    assert res.information == pytest.approx(-np.log(2 * np.sqrt(0.06) + 0.3), rel=1e-10)
    assert ht.classical_chernoff_information([1, 0], [0, 1]).information == np.inf


@pytest.mark.parametrize("a,b,m,alpha", [(0.5, 0.6, 530, 0.01), (0.1, 0.3, 17, 0.05),
                                         (0.45, 0.5, 2000, 0.2), (0.3, 0.31, 1, 0.5)])
def test_np_binomial_against_scipy(a, b, m, alpha):
    res = ht.neyman_pearson_test([1 - a, a], [1 - b, b], alpha, m)
    assert res.method == "binomial" and not res.approximate
    assert res.power == pytest.approx(binomial_np(a, b, m, alpha), rel=1e-10)
    assert res.beta == pytest.approx(1 - res.power)
    # Reversed outcome labels: the test is the same.
    rev = ht.likelihood_ratio_test([a, 1 - a], [b, 1 - b], alpha, m)
    assert rev.power == pytest.approx(res.power, rel=1e-10)


def test_np_power_monte_carlo():
    rng = np.random.default_rng(7)
    p0, p1 = np.array([0.5, 0.3, 0.2]), np.array([0.35, 0.3, 0.35])
    m, alpha, n = 25, 0.05, 200_000
    res = ht.neyman_pearson_test(p0, p1, alpha, m)
    assert res.method == "multinomial"
    llr = np.log(p1 / p0)
    for p, expected in ((p0, alpha), (p1, res.power)):
        s = rng.multinomial(m, p, size=n) @ llr
        tie = np.isclose(s, res.threshold, rtol=1e-9, atol=1e-9)
        reject = (s > res.threshold) & ~tie | tie & (rng.random(n) < res.randomization)
        se = np.sqrt(expected * (1 - expected) / n)
        assert abs(reject.mean() - expected) < 4 * se


def test_lattice_and_multinomial_engines_agree(monkeypatch):
    p0, p1 = np.array([0.5, 0.25, 0.25]), np.array([0.25, 0.25, 0.5])
    lat = ht.neyman_pearson_test(p0, p1, 0.05, 40)
    assert lat.method == "lattice"
    monkeypatch.setattr(_llr, "MAX_LATTICE_OPS", 0)
    mult = ht.neyman_pearson_test(p0, p1, 0.05, 40)
    assert mult.method == "multinomial"
    assert lat.power == pytest.approx(mult.power, rel=1e-12)
    assert lat.threshold == pytest.approx(mult.threshold, rel=1e-9)


@pytest.mark.parametrize("p0,p1", [
    ([0.5, 0.25, 0.25], [0.25, 0.25, 0.5]),        # lattice
    ([0.5, 0.3, 0.2], [0.2, 0.3, 0.5]),            # multinomial
    ([0.4, 0.3, 0.2, 0.1], [0.1, 0.2, 0.3, 0.4]),  # multinomial, K = 4
    ([0.5, 0.5, 0.0], [0.0, 0.5, 0.5]),            # infinite LLRs
])
def test_bayes_error_and_auc_against_brute_force(p0, p1):
    m = 6
    s, pr0, pr1 = brute_force(p0, p1, m)
    for pi0 in (0.5, 0.3):
        expected = np.sum(np.minimum(pi0 * pr0, (1 - pi0) * pr1))
        assert ht.min_error_fixed_shots(p0, p1, m, p0_prior=pi0) == pytest.approx(
            expected, rel=1e-10, abs=1e-15)
    # AUC = P(S1 > S0) + P(S1 = S0) / 2 for independent sums.
    gt = s[None, :] > s[:, None]
    eq = np.isclose(s[None, :], s[:, None], rtol=1e-9, atol=1e-12) | (s[None, :] == s[:, None])
    expected_auc = pr0 @ ((gt & ~eq) + 0.5 * eq) @ pr1
    fa, de = ht.roc_curve(p0, p1, m)
    assert ht.auc(fa, de) == pytest.approx(expected_auc, rel=1e-10)


def test_roc_curve_shape_and_np_points():
    p0, p1 = [0.6, 0.4], [0.45, 0.55]
    fa, de = ht.roc_curve(p0, p1, 50)
    assert fa[0] == de[0] == 0.0 and fa[-1] == de[-1] == 1.0
    assert np.all(np.diff(fa) >= 0) and np.all(np.diff(de) >= 0)
    assert np.all(de >= fa - 1e-12)
    for alpha in (0.01, 0.1, 0.3):
        power = ht.neyman_pearson_test(p0, p1, alpha, 50).power
        assert np.interp(alpha, fa, de) == pytest.approx(power, rel=1e-10)
    same = ht.roc_curve(p0, p0, 10)
    assert ht.auc(*same) == pytest.approx(0.5)


def test_min_error_binomial_and_limits():
    a, b, m = 0.5, 0.6, 101
    n = np.arange(m + 1)
    expected = np.sum(np.minimum(0.5 * binom.pmf(n, m, a), 0.5 * binom.pmf(n, m, b)))
    assert ht.min_error_fixed_shots([1 - a, a], [1 - b, b], m) == pytest.approx(expected, rel=1e-10)
    assert ht.min_error_fixed_shots([1 - a, a], [1 - a, a], m, p0_prior=0.3) == pytest.approx(0.3)
    assert ht.min_error_fixed_shots([1 - a, a], [1 - b, b], m, p0_prior=1.0) == 0.0


def test_saddlepoint_close_to_exact():
    cases = [([0.5, 0.5], [0.4, 0.6], 530, 0.01), ([0.5, 0.3, 0.2], [0.31, 0.33, 0.36], 200, 0.05)]
    for p0, p1, m, alpha in cases:
        exact = ht.neyman_pearson_test(p0, p1, alpha, m)
        approx = ht.neyman_pearson_test(p0, p1, alpha, m, method="saddlepoint")
        assert approx.approximate and approx.method == "saddlepoint"
        assert not exact.approximate
        assert approx.beta == pytest.approx(exact.beta, rel=0.05)
        err_exact = ht.min_error_fixed_shots(p0, p1, m)
        err_approx = ht.min_error_fixed_shots(p0, p1, m, method="saddlepoint")
        assert err_approx == pytest.approx(err_exact, rel=0.05)


def test_auto_falls_back_with_warning():
    p0, p1 = np.array([0.4, 0.3, 0.2, 0.1]), np.array([0.3, 0.3, 0.22, 0.18])
    res = ht.neyman_pearson_test(p0, p1, 0.01, 400)
    assert res.approximate and res.method == "saddlepoint"
    with pytest.warns(ht.ApproximationWarning):
        err = ht.min_error_fixed_shots(p0, p1, 400)
    assert 0 < err < 0.5
    with pytest.warns(ht.ApproximationWarning):
        fa, de = ht.roc_curve(p0, p1, 400)
    assert 0.5 < ht.auc(fa, de) <= 1.0


def test_shots_to_decide_bernoulli_reference():
    p0, p1 = [0.5, 0.5], [0.4, 0.6]
    m = ht.shots_to_decide(p0, p1, 0.01, 0.01)
    assert 520 <= m <= 540
    assert ht.neyman_pearson_test(p0, p1, 0.01, m).power >= 0.99
    assert ht.neyman_pearson_test(p0, p1, 0.01, m - 1).power < 0.99
    assert ht.shots_to_seconds(m, 1e3) == pytest.approx(m * 1e-3)


def test_shots_to_decide_minimal_beyond_binomial():
    p0, p1 = [0.5, 0.25, 0.25], [0.25, 0.25, 0.5]
    m = ht.shots_to_decide(p0, p1, 0.05, 0.1)
    assert ht.neyman_pearson_test(p0, p1, 0.05, m).power >= 0.9
    assert ht.neyman_pearson_test(p0, p1, 0.05, m - 1).power < 0.9
    assert ht.shots_to_decide([1.0, 0.0], [0.0, 1.0], 0.01, 0.01) == 1
    # Support mismatch: no normal guess, the bracket search still finds the minimum.
    m = ht.shots_to_decide([0.5, 0.5, 0.0], [0.2, 0.4, 0.4], 0.01, 0.01)
    assert ht.neyman_pearson_test([0.5, 0.5, 0.0], [0.2, 0.4, 0.4], 0.01, m).power >= 0.99
    assert ht.neyman_pearson_test([0.5, 0.5, 0.0], [0.2, 0.4, 0.4], 0.01, m - 1).power < 0.99
