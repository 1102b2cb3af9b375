"""Tests built on a concrete measurement: outcome distributions p0, p1 of shape (K,).

p0 and p1 are the outcome probabilities of one shot under H0 (no biomarker)
and H1 (biomarker present), exact or estimated. m shots are i.i.d. Errors are
alpha = P(decide H1 | H0) (false alarm) and beta = P(decide H0 | H1) (miss).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import logsumexp
from scipy.stats import norm

from qlearn_sense.hyptest._llr import METHODS, llr_law
from qlearn_sense.hyptest._validate import (
    as_probability_vector,
    check_distinct,
    check_open_unit,
    check_positive,
    check_prior,
    check_same_shape,
    check_shots,
)


class ApproximationWarning(UserWarning):
    """An exact computation was infeasible and a saddle-point approximation was used."""


class ChernoffInformation(NamedTuple):
    """Classical Chernoff information (nats per shot) and its minimizer ``s_opt``."""

    information: float
    s_opt: float


@dataclass(frozen=True)
class NeymanPearsonResult:
    """Most powerful test of H0 against H1 at false-alarm ``alpha`` on ``shots`` shots.

    Decide H1 when the LLR sum S = sum_i log(p1[x_i]/p0[x_i]) exceeds
    ``threshold`` (nats); when S equals it, decide H1 with probability
    ``randomization``. ``power`` = 1 - ``beta``. ``method`` is "binomial",
    "lattice", "multinomial" or "exact" (exact) or "saddlepoint" (approximate,
    then ``approximate`` is True and ``randomization`` is 0).
    """

    threshold: float
    randomization: float
    alpha: float
    power: float
    beta: float
    shots: int
    method: str
    approximate: bool


def _minimize_on_unit(f):
    """(s, f(s)) minimizing a convex f on [0, 1] (bounded Brent plus endpoints)."""
    res = minimize_scalar(f, bounds=(0.0, 1.0), method="bounded", options={"xatol": 1e-10})
    cands = [(float(res.x), float(res.fun)), (0.0, float(f(0.0))), (1.0, float(f(1.0)))]
    return min(cands, key=lambda c: c[1])


def _normal_shots(mu0, v0, mu1, v1, alpha, beta) -> int:
    """Normal-approximation shots for LLR means mu0 < mu1 and variances v0, v1 per shot."""
    z = norm.isf(alpha) * math.sqrt(v0) + norm.isf(beta) * math.sqrt(v1)
    if z <= 0:
        return 1
    return max(1, math.ceil((z / (mu1 - mu0)) ** 2))


def _pair(p0, p1):
    a = as_probability_vector("p0", p0)
    b = as_probability_vector("p1", p1)
    check_same_shape("p0", a, "p1", b)
    return a, b


def _method(method):
    if method not in METHODS:
        raise ValueError(f"method={method!r}; accepted: one of {METHODS}")
    return method


def _law(p0, p1, shots, method):
    law = llr_law(p0, p1, shots, method)
    if law.approximate and method == "auto":
        warnings.warn(
            f"exact LLR law infeasible for shots={shots}; using the saddle-point "
            "approximation", ApproximationWarning, stacklevel=3)
    return law


def classical_chernoff_information(p0, p1) -> ChernoffInformation:
    r"""Chernoff information C = -log min_{0<=s<=1} sum_k p0_k^s p1_k^(1-s).

    The Bayes error of m shots decays as exp(-m C) (Chernoff, Ann. Math. Stat.
    23, 493 (1952); Cover & Thomas, Elements of Information Theory, 2nd ed.,
    Theorem 11.9.1). Outcomes outside the common support contribute 0 for all
    s (0^s = 0 also at s = 0, 1).

    Args:
      p0: outcome probabilities under H0, shape (K,).
      p1: outcome probabilities under H1, shape (K,).

    Returns:
      ChernoffInformation(information, s_opt): nats per shot (inf for disjoint
      supports) and the minimizing s in [0, 1].

    Raises:
      ValueError: p0 or p1 not a probability vector, or shapes differ.
    """
    a, b = _pair(p0, p1)
    keep = (a > 0) & (b > 0)
    if not np.any(keep):
        return ChernoffInformation(information=math.inf, s_opt=0.5)
    la, lb = np.log(a[keep]), np.log(b[keep])
    s, val = _minimize_on_unit(lambda s: float(logsumexp(s * la + (1.0 - s) * lb)))
    return ChernoffInformation(information=float(-val), s_opt=float(s))


def neyman_pearson_test(p0, p1, alpha: float, shots: int, *, method: str = "auto"
                        ) -> NeymanPearsonResult:
    r"""Exact power of the most powerful (randomized) test at false-alarm alpha.

    By the Neyman-Pearson lemma (Neyman & Pearson, Phil. Trans. R. Soc. A 231,
    289 (1933); Lehmann & Romano, Testing Statistical Hypotheses, Theorem 3.2.1)
    the test thresholds the LLR sum S of the m shots, randomizing on the
    boundary so that P(decide H1 | H0) = alpha exactly. The law of S is
    computed exactly: binomially when the outcomes fall into at most two LLR
    groups (K = 2), by convolution on a lattice when the LLR values are
    commensurate, or by enumerating all multinomial types (at most 2e6).
    Otherwise (method "auto") the Lugannani-Rice saddle-point approximation
    (Adv. Appl. Prob. 12, 475 (1980)) is used and flagged in the result.

    Args:
      p0: outcome probabilities under H0, shape (K,).
      p1: outcome probabilities under H1, shape (K,).
      alpha: false-alarm probability, in (0, 1).
      shots: number m >= 1 of i.i.d. shots.
      method: "auto" (exact when feasible), "exact" (raise if infeasible), or
        "saddlepoint" (force the approximation).

    Returns:
      NeymanPearsonResult with threshold (nats), randomization in [0, 1],
      alpha, power = 1 - beta, beta, shots, method and approximate.

    Raises:
      ValueError: invalid p0 or p1, shapes differ, alpha outside (0, 1),
        shots < 1, unknown method, or method "exact" when infeasible.
    """
    a, b = _pair(p0, p1)
    alpha = check_open_unit("alpha", alpha)
    m = check_shots("shots", shots)
    law = llr_law(a, b, m, _method(method))
    thr, gamma, power = law.np_test(alpha)
    return NeymanPearsonResult(threshold=thr, randomization=gamma, alpha=alpha, power=power,
                               beta=1.0 - power, shots=m, method=law.method,
                               approximate=law.approximate)


likelihood_ratio_test = neyman_pearson_test


def roc_curve(p0, p1, shots: int, *, method: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    r"""Receiver operating characteristic of the LLR test on m shots.

    The vertices are (P0(S >= t), P1(S >= t)) over the support points t of the
    LLR sum S, from (0, 0) to (1, 1); the randomized Neyman-Pearson tests trace
    the straight segments between them, so linear interpolation is exact. In
    the saddle-point regime the curve is sampled at 1001 thresholds and an
    :class:`ApproximationWarning` is issued.

    Args:
      p0: outcome probabilities under H0, shape (K,).
      p1: outcome probabilities under H1, shape (K,).
      shots: number m >= 1 of i.i.d. shots.
      method: as in :func:`neyman_pearson_test`.

    Returns:
      (false_alarm, detection): non-decreasing arrays of equal shape (n,),
      probabilities starting at 0 and ending at 1.

    Raises:
      ValueError: invalid p0 or p1, shapes differ, shots < 1, unknown method,
        or method "exact" when infeasible.
    """
    a, b = _pair(p0, p1)
    m = check_shots("shots", shots)
    fa, de = _law(a, b, m, _method(method)).roc()
    return np.asarray(fa, dtype=float), np.asarray(de, dtype=float)


def auc(false_alarm, detection) -> float:
    r"""Area under a ROC curve by the trapezoidal rule (exact for a piecewise-linear ROC).

    Equals P(S1 > S0) + P(S1 = S0) / 2 for independent LLR sums S0 ~ H0,
    S1 ~ H1 (Hanley & McNeil, Radiology 143, 29 (1982)).

    Args:
      false_alarm: non-decreasing false-alarm probabilities, shape (n,), n >= 2.
      detection: detection probabilities at those points, shape (n,).

    Returns:
      Area in [0, 1]; 0.5 for useless tests, 1 for perfect ones.

    Raises:
      ValueError: shapes differ or are not 1-d with n >= 2, values outside
        [0, 1], or false_alarm decreasing.
    """
    x, y = np.asarray(false_alarm, dtype=float), np.asarray(detection, dtype=float)
    if x.ndim != 1 or x.size < 2:
        raise ValueError(f"false_alarm has shape {x.shape}; accepted: 1-d with n >= 2 points")
    check_same_shape("false_alarm", x, "detection", y)
    for name, v in (("false_alarm", x), ("detection", y)):
        if not np.all((v >= 0) & (v <= 1)):
            raise ValueError(f"{name} has values outside [0, 1] (min {np.min(v):.3g}, "
                             f"max {np.max(v):.3g}); accepted: probabilities")
    if np.any(np.diff(x) < 0):
        raise ValueError("false_alarm is not non-decreasing; accepted: sorted ROC points")
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2.0))


def min_error_fixed_shots(p0, p1, shots: int, p0_prior: float = 0.5, *,
                          method: str = "auto") -> float:
    r"""Bayes error of the maximum-a-posteriori decision on m i.i.d. shots.

    P_err = sum_S min(pi0 P0(S), pi1 P1(S)) over the law of the LLR sum S
    (exact; see :func:`neyman_pearson_test` for the engines). In the
    saddle-point regime pi0 P0(S > tau) + pi1 P1(S <= tau), tau = log(pi0/pi1),
    is returned with an :class:`ApproximationWarning`. Always >= the Helstrom
    error of the states producing p0, p1 with m copies.

    Args:
      p0: outcome probabilities under H0, shape (K,).
      p1: outcome probabilities under H1, shape (K,).
      shots: number m >= 1 of i.i.d. shots.
      p0_prior: prior probability pi0 of H0, in [0, 1].
      method: as in :func:`neyman_pearson_test`.

    Returns:
      Error probability in [0, min(pi0, pi1)].

    Raises:
      ValueError: invalid p0 or p1, shapes differ, shots < 1, p0_prior outside
        [0, 1], unknown method, or method "exact" when infeasible.
    """
    a, b = _pair(p0, p1)
    m = check_shots("shots", shots)
    pi0 = check_prior("p0_prior", p0_prior)
    err = _law(a, b, m, _method(method)).bayes_error(pi0)
    return float(min(max(err, 0.0), min(pi0, 1.0 - pi0)))


def shots_to_decide(p0, p1, alpha: float, beta: float, *, max_shots: int = 10**7,
                    method: str = "auto") -> int:
    r"""Smallest m whose most powerful test at false-alarm alpha has power >= 1 - beta.

    The optimal power is non-decreasing in m (extra shots may be ignored), so
    the search brackets the normal-approximation guess
    m0 = ((z_{1-alpha} sigma0 + z_{1-beta} sigma1) / (D(p1||p0) + D(p0||p1)))^2
    (sigma_h: standard deviation of the one-shot LLR under H_h; the Stein and
    Chernoff exponents set its scale) and bisects with the exact power of
    :func:`neyman_pearson_test`. Bernoulli 0.5 vs 0.6 at alpha = beta = 0.01
    needs about 530 shots (Wald's SPRT needs ~221 on average).

    Args:
      p0: outcome probabilities under H0, shape (K,).
      p1: outcome probabilities under H1, shape (K,).
      alpha: false-alarm probability, in (0, 1).
      beta: miss probability, in (0, 1).
      max_shots: give up above this many shots.
      method: as in :func:`neyman_pearson_test`; with "auto" an
        :class:`ApproximationWarning` is issued when approximate powers are used.

    Returns:
      Number of shots (int >= 1). Convert to time with :func:`shots_to_seconds`.

    Raises:
      ValueError: invalid or identical p0, p1, shapes differ, alpha or beta
        outside (0, 1), max_shots < 1, unknown method, or target not reached
        within max_shots.
    """
    a, b = _pair(p0, p1)
    check_distinct("p0", a, "p1", b)
    alpha = check_open_unit("alpha", alpha)
    beta = check_open_unit("beta", beta)
    cap = check_shots("max_shots", max_shots)
    method = _method(method)
    target = 1.0 - beta - 1e-12
    approx = []

    def ok(m):
        law = llr_law(a, b, m, method)
        approx.append(law.approximate)
        return law.np_test(alpha)[2] >= target

    keep = (a > 0) & (b > 0)
    guess = 1
    if np.all(keep):
        llr = np.log(b) - np.log(a)
        mu0, mu1 = float(a @ llr), float(b @ llr)
        v0, v1 = float(a @ (llr - mu0) ** 2), float(b @ (llr - mu1) ** 2)
        guess = min(_normal_shots(mu0, v0, mu1, v1, alpha, beta), cap)
    if ok(guess):
        hi, lo = guess, guess // 2
        while lo >= 1 and ok(lo):
            hi, lo = lo, lo // 2
        if lo < 1:
            return 1
    else:
        lo, hi = guess, min(2 * guess, cap)
        while not ok(hi):
            if hi >= cap:
                raise ValueError(f"power 1 - beta = {1 - beta:g} not reached within "
                                 f"max_shots={cap}; accepted: a larger max_shots")
            lo, hi = hi, min(2 * hi, cap)
    while hi - lo > 1:  # invariant: ok(hi) and not ok(lo)
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    if method == "auto" and any(approx):
        warnings.warn("exact LLR law infeasible for some shot numbers; saddle-point "
                      "powers were used in the search", ApproximationWarning, stacklevel=2)
    return int(hi)


def shots_to_seconds(shots, shot_rate_hz: float) -> float:
    """Wall-clock time of ``shots`` shots at a repetition rate of ``shot_rate_hz``.

    Args:
      shots: number of shots, integer >= 1.
      shot_rate_hz: shots per second (Hz), > 0.

    Returns:
      Time in seconds, shots / shot_rate_hz.

    Raises:
      ValueError: shots < 1 or not an integer, or shot_rate_hz not a finite
        number > 0.
    """
    m = check_shots("shots", shots)
    return m / check_positive("shot_rate_hz", shot_rate_hz)
