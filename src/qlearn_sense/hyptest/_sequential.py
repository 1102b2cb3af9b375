"""Sequential and composite tests: Wald's SPRT and the generalized likelihood ratio.

Outcomes are indices into the outcome distributions p0, p1 of shape (K,).
Log-likelihood ratios are in nats, log(p1/p0): positive values favour H1.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from scipy.stats import chi2

from qlearn_sense.hyptest._classical import _pair
from qlearn_sense.hyptest._validate import (
    as_probability_vector,
    check_distinct,
    check_open_unit,
    check_shots,
)


class SPRTThresholds(NamedTuple):
    """Wald's log thresholds: stop for H1 at LLR >= log_upper, for H0 at <= log_lower."""

    log_upper: float
    log_lower: float


class SPRTExpectedShots(NamedTuple):
    """Wald's approximations to the expected number of shots under H0 and H1."""

    under_h0: float
    under_h1: float


@dataclass(frozen=True)
class SPRTResult:
    """SPRT on a recorded sequence: ``decision`` 0, 1 or None (undecided).

    ``llr_trace`` has shape (shots_used,): the cumulative LLR (nats) after each shot.
    """

    decision: int | None
    shots_used: int
    llr_trace: np.ndarray


@dataclass(frozen=True)
class SPRTSimulation:
    """Monte-Carlo SPRT runs: error rate and mean shots with standard errors.

    ``shots`` and ``decisions`` have shape (n_runs,); ``truncated`` is the
    fraction of runs stopped at ``max_shots`` (decided by the sign of the LLR).
    """

    error_rate: float
    error_rate_se: float
    mean_shots: float
    mean_shots_se: float
    truncated: float
    shots: np.ndarray
    decisions: np.ndarray


@dataclass(frozen=True)
class GLRTResult:
    """GLR statistic 2 [max_theta l(theta) - l(theta0)], its p-value and the grid MLE."""

    statistic: float
    p_value: float
    theta_hat: Any
    loglik_max: float
    loglik_null: float
    dof: int


def sprt_thresholds(alpha: float, beta: float) -> SPRTThresholds:
    r"""Wald's SPRT thresholds in log form.

    log A = log((1 - beta) / alpha), log B = log(beta / (1 - alpha)) (Wald,
    Ann. Math. Stat. 16, 117 (1945), eq. (3.24)); the achieved errors satisfy
    alpha' + beta' <= alpha + beta.

    Args:
      alpha: target false-alarm probability, in (0, 1).
      beta: target miss probability, in (0, 1), with alpha + beta < 1.

    Returns:
      SPRTThresholds(log_upper, log_lower) in nats, log_upper > 0 > log_lower.

    Raises:
      ValueError: alpha or beta outside (0, 1), or alpha + beta >= 1.
    """
    alpha = check_open_unit("alpha", alpha)
    beta = check_open_unit("beta", beta)
    if alpha + beta >= 1.0:
        raise ValueError(f"alpha + beta = {alpha + beta:g}; accepted: alpha + beta < 1")
    return SPRTThresholds(log_upper=math.log((1.0 - beta) / alpha),
                          log_lower=math.log(beta / (1.0 - alpha)))


def _sprt_setup(p0, p1, alpha, beta):
    a, b = _pair(p0, p1)
    check_distinct("p0", a, "p1", b)
    thr = sprt_thresholds(alpha, beta)
    with np.errstate(divide="ignore", invalid="ignore"):
        llr = np.log(b) - np.log(a)  # +-inf off the common support, nan if both 0
    return a, b, thr, llr


def sprt_expected_shots(p0, p1, alpha: float, beta: float) -> SPRTExpectedShots:
    r"""Wald's approximations to the expected sample size of the SPRT.

    E0[N] = ((1 - alpha) log B + alpha log A) / E0[l],
    E1[N] = (beta log B + (1 - beta) log A) / E1[l], with E0[l] = -D(p0||p1),
    E1[l] = D(p1||p0) (Wald, Ann. Math. Stat. 16, 117 (1945), eqs. (4.8)-(4.9)).
    Overshoot of the thresholds is ignored, so the true values are slightly
    larger. Bernoulli 0.5 vs 0.6 at alpha = beta = 0.01: 220.6 and 223.7.

    Args:
      p0: outcome probabilities under H0, shape (K,).
      p1: outcome probabilities under H1, shape (K,), same support as p0.
      alpha: target false-alarm probability, in (0, 1).
      beta: target miss probability, in (0, 1), alpha + beta < 1.

    Returns:
      SPRTExpectedShots(under_h0, under_h1), expected numbers of shots.

    Raises:
      ValueError: invalid or identical p0, p1, shapes differ, supports differ
        (an infinite LLR; Wald's formulas do not apply), alpha or beta outside
        (0, 1), or alpha + beta >= 1.
    """
    a, b, thr, llr = _sprt_setup(p0, p1, alpha, beta)
    alpha, beta = float(alpha), float(beta)
    if np.any((a > 0) != (b > 0)):
        raise ValueError("p0 and p1 have different supports (infinite LLR); accepted: "
                         "p0 > 0 exactly where p1 > 0 for Wald's approximations")
    keep = a > 0
    e0, e1 = float(a[keep] @ llr[keep]), float(b[keep] @ llr[keep])
    n0 = ((1.0 - alpha) * thr.log_lower + alpha * thr.log_upper) / e0
    n1 = (beta * thr.log_lower + (1.0 - beta) * thr.log_upper) / e1
    return SPRTExpectedShots(under_h0=float(n0), under_h1=float(n1))


def sprt_on_outcomes(outcomes, p0, p1, alpha: float, beta: float) -> SPRTResult:
    r"""Runs Wald's SPRT on a recorded sequence of outcome indices.

    Stops at the first shot n with Lambda_n = sum_{i<=n} log(p1[x_i]/p0[x_i])
    >= log A (decide H1) or <= log B (decide H0); see :func:`sprt_thresholds`.

    Args:
      outcomes: outcome indices in [0, K), shape (n,).
      p0: outcome probabilities under H0, shape (K,).
      p1: outcome probabilities under H1, shape (K,).
      alpha: target false-alarm probability, in (0, 1).
      beta: target miss probability, in (0, 1), alpha + beta < 1.

    Returns:
      SPRTResult(decision, shots_used, llr_trace); decision None and
      shots_used = n when no threshold is crossed.

    Raises:
      ValueError: invalid or identical p0, p1, shapes differ, alpha or beta
        invalid, outcomes not 1-d integers in [0, K), or an outcome impossible
        under both hypotheses.
    """
    a, b, thr, llr = _sprt_setup(p0, p1, alpha, beta)
    x = np.asarray(outcomes)
    if x.ndim != 1 or not np.issubdtype(x.dtype, np.integer) or np.any((x < 0) | (x >= a.size)):
        raise ValueError(f"outcomes has shape {x.shape}, dtype {x.dtype}; accepted: 1-d "
                         f"integer indices in [0, {a.size})")
    bad = np.nonzero((a[x] == 0) & (b[x] == 0))[0]
    if bad.size:
        raise ValueError(f"outcomes[{bad[0]}] = {x[bad[0]]} has zero probability under "
                         "both p0 and p1; accepted: outcomes possible under H0 or H1")
    trace = np.cumsum(llr[x])
    hit = np.nonzero((trace >= thr.log_upper) | (trace <= thr.log_lower))[0]
    if hit.size == 0:
        return SPRTResult(decision=None, shots_used=int(x.size), llr_trace=trace)
    n = int(hit[0]) + 1
    return SPRTResult(decision=int(trace[n - 1] >= thr.log_upper), shots_used=n,
                      llr_trace=trace[:n])


def sprt_simulate(p0, p1, alpha: float, beta: float, *, true_hypothesis: int,
                  seed: int | np.random.Generator, n_runs: int = 1000,
                  max_shots: int = 100_000) -> SPRTSimulation:
    r"""Monte-Carlo operating characteristics of Wald's SPRT, vectorized over runs.

    Draws i.i.d. outcomes from p_{true_hypothesis} in blocks for all unfinished
    runs, stops each at its first threshold crossing. Runs still undecided at
    ``max_shots`` are decided by the sign of the LLR (> 0: H1) and counted in
    ``truncated``. Standard errors: sqrt(e (1 - e) / n_runs) for the error rate
    and std(shots) / sqrt(n_runs) for the mean.

    Args:
      p0: outcome probabilities under H0, shape (K,).
      p1: outcome probabilities under H1, shape (K,).
      alpha: target false-alarm probability, in (0, 1).
      beta: target miss probability, in (0, 1), alpha + beta < 1.
      true_hypothesis: 0 or 1, the hypothesis generating the data.
      seed: integer seed or numpy Generator (the same seed gives the same runs).
      n_runs: number of independent runs, >= 1.
      max_shots: per-run cap on shots, >= 1.

    Returns:
      SPRTSimulation; error_rate is the fraction of runs deciding
      1 - true_hypothesis (empirical alpha under H0, beta under H1).

    Raises:
      ValueError: invalid or identical p0, p1, shapes differ, alpha or beta
        invalid, true_hypothesis not 0 or 1, seed not an integer >= 0 or a
        Generator, n_runs < 1, or max_shots < 1.
    """
    a, b, thr, llr = _sprt_setup(p0, p1, alpha, beta)
    if true_hypothesis not in (0, 1) or isinstance(true_hypothesis, bool):
        raise ValueError(f"true_hypothesis={true_hypothesis!r}; accepted: 0 or 1")
    n_runs = check_shots("n_runs", n_runs)
    max_shots = check_shots("max_shots", max_shots)
    if not (isinstance(seed, np.random.Generator) or (
            isinstance(seed, numbers.Integral) and not isinstance(seed, (bool, np.bool_))
            and seed >= 0)):
        raise ValueError(f"seed={seed!r}; accepted: an integer >= 0 or a numpy Generator")
    rng = np.random.default_rng(seed)
    p = b if true_hypothesis else a
    support = np.nonzero(p > 0)[0]
    cdf = np.cumsum(p[support]) / np.sum(p[support])
    cdf[-1] = 1.0
    step_llr = llr[support]

    lam = np.zeros(n_runs)
    shots = np.zeros(n_runs, dtype=np.int64)
    decisions = np.full(n_runs, -1, dtype=np.int64)
    active = np.arange(n_runs)
    block = 64
    while active.size and shots[active[0]] < max_shots:
        width = int(min(block, max_shots - shots[active[0]], max(1, 2**22 // active.size)))
        u = rng.random((active.size, width))
        path = lam[active, None] + np.cumsum(step_llr[np.searchsorted(cdf, u, side="right")],
                                             axis=1)
        crossed = (path >= thr.log_upper) | (path <= thr.log_lower)
        done = crossed.any(axis=1)
        first = np.where(done, crossed.argmax(axis=1), width - 1)
        rows = np.arange(active.size)
        lam[active] = path[rows, first]
        shots[active] += first + 1
        decisions[active[done]] = (path[rows[done], first[done]] >= thr.log_upper)
        active = active[~done]
        block = min(2 * block, 4096)
    truncated = active.size / n_runs
    decisions[active] = (lam[active] > 0).astype(np.int64)

    err = float(np.mean(decisions != true_hypothesis))
    return SPRTSimulation(
        error_rate=err, error_rate_se=math.sqrt(err * (1.0 - err) / n_runs),
        mean_shots=float(np.mean(shots)),
        mean_shots_se=float(np.std(shots, ddof=1) / math.sqrt(n_runs)) if n_runs > 1 else math.nan,
        truncated=float(truncated), shots=shots, decisions=decisions)


def glrt_composite(counts, model_fn: Callable[[Any], np.ndarray], theta_grid: Sequence,
                   theta0, *, dof: int = 1, boundary: bool = False) -> GLRTResult:
    r"""Generalized likelihood-ratio test of theta = theta0 against theta on a grid.

    With multinomial log-likelihood l(theta) = sum_k n_k log p_k(theta), the
    statistic is Lambda = 2 [max_{theta in grid U {theta0}} l(theta) - l(theta0)]
    and, by Wilks' theorem (Ann. Math. Stat. 9, 60 (1938)), Lambda ~ chi^2_dof
    under H0 for many shots. With ``boundary=True`` (theta0 on the edge of the
    parameter space, e.g. biomarker amplitude 0 with amplitude >= 0 and one
    parameter) the null law is (chi^2_0 + chi^2_1)/2 (Chernoff, Ann. Math.
    Stat. 25, 573 (1954); Self & Liang, JASA 82, 605 (1987), case 1).

    Args:
      counts: outcome counts n_k >= 0 (integers), shape (K,).
      model_fn: theta -> outcome probabilities, shape (K,); e.g. the readout
        distribution for a field amplitude (T) or a T2 (s).
      theta_grid: candidate parameter values (any objects model_fn accepts),
        length >= 1; theta_hat is the grid maximizer.
      theta0: the null parameter value.
      dof: degrees of freedom of the chi-square law (free parameters), >= 1.
      boundary: use the chi-bar-square mixture for a boundary null (dof = 1).

    Returns:
      GLRTResult(statistic, p_value, theta_hat, loglik_max, loglik_null, dof);
      log-likelihoods in nats without the multinomial constant.

    Raises:
      ValueError: counts not 1-d non-negative integers with a positive total,
        empty theta_grid, model_fn output not a probability vector of shape
        (K,), dof < 1, or boundary with dof != 1.
    """
    n = np.asarray(counts)
    if (n.ndim != 1 or n.size < 1 or not np.all(np.isfinite(n)) or np.any(n < 0)
            or np.any(n != np.round(n)) or n.sum() <= 0):
        raise ValueError(f"counts={n!r}; accepted: 1-d non-negative integer counts with a "
                         "positive total")
    n = n.astype(float)
    grid = list(theta_grid)
    if not grid:
        raise ValueError("theta_grid is empty; accepted: at least one parameter value")
    dof = check_shots("dof", dof)
    if boundary and dof != 1:
        raise ValueError(f"dof={dof} with boundary=True; accepted: dof = 1")

    def loglik(theta):
        p = as_probability_vector(f"model_fn({theta!r})", model_fn(theta))
        if p.shape != n.shape:
            raise ValueError(f"model_fn({theta!r}) has shape {p.shape}; accepted: {n.shape}")
        used = n > 0
        with np.errstate(divide="ignore"):
            return float(n[used] @ np.log(p[used]))

    l0 = loglik(theta0)
    lls = [loglik(t) for t in grid]
    i = int(np.argmax(lls))
    theta_hat, lmax = (grid[i], lls[i]) if lls[i] > l0 else (theta0, l0)
    stat = 2.0 * (lmax - l0) if math.isfinite(l0) else math.inf
    p_value = float(chi2.sf(stat, dof))
    if boundary:
        p_value = 0.5 * p_value if stat > 0 else 1.0
    return GLRTResult(statistic=float(stat), p_value=p_value, theta_hat=theta_hat,
                      loglik_max=float(lmax), loglik_null=float(l0), dof=dof)
