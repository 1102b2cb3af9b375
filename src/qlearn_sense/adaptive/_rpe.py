"""Robust phase estimation (Kimmel, Low, Yoder, PRA 92, 062315 (2015), Sec. V).

Generation j = 1..K evolves for k_j = 2^(j-1) time units and measures two
quadratures (readout phase 0 and pi/2: P(0) = (1 + cos kA)/2 and
(1 + sin kA)/2), M_j shots each, with the sample schedule of eq. (V.11)
``M_j = ceil(alpha (K - j) + beta)``. Each generation's arctangent estimate of
k_j A is unwrapped into the interval of width 2 pi / k_j centred on the
previous estimate. Error falls as 1/T in the total evolution time T
(Heisenberg scaling) while the longest evolution stays below about T2/2.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np


def rpe_schedule(n_generations: int, alpha: float = 2.5, beta: float = 0.5) -> np.ndarray:
    """Samples per quadrature for each generation: ``M_j = ceil(alpha (K - j) + beta)``, j = 1..K.

    Kimmel, Low, Yoder 2015, eq. (V.11); their analysis needs alpha > 2 and beta > 0
    (alpha = 5/2, beta = 1/2 as in Rigetti forest-benchmarking's implementation).

    Args:
      n_generations: K >= 1.
      alpha: slope, > 0.
      beta: offset, > 0.

    Returns:
      Shape (K,) int64.

    Raises:
      ValueError: K < 1, or alpha or beta not positive.
    """
    if int(n_generations) != n_generations or n_generations < 1:
        raise ValueError(f"n_generations = {n_generations}; accepted: integer >= 1")
    if not alpha > 0 or not beta > 0:
        raise ValueError(f"alpha = {alpha}, beta = {beta}; accepted: both > 0")
    j = np.arange(1, int(n_generations) + 1)
    return np.ceil(alpha * (n_generations - j) + beta - 1e-12).astype(np.int64)


def rpe_total_time(schedule: np.ndarray, base_time: float = 1.0) -> float:
    """Total evolution time ``sum_j 2 M_j 2^(j-1) base_time`` (two quadratures per generation)."""
    m = np.asarray(schedule)
    return float(np.sum(2 * m * 2.0 ** np.arange(m.size)) * base_time)


def rpe_variance_bound(schedule: np.ndarray) -> float:
    """Upper bound on the mean squared error of the RPE estimate, rad^2 (eqs. (V.6), (V.7), (V.9)).

    ``sigma^2 <= (1 - p_max(M_K)) (2 pi / 2^(K+1))^2 + sum_j (2 pi / 2^j)^2 p_max(M_j)``,
    ``p_max(M) = 2^-M / sqrt(2 pi M)``.
    """
    m = np.asarray(schedule, dtype=np.float64)
    k = m.size
    pmax = 2.0 ** (-m) / np.sqrt(2 * np.pi * m)
    xci = 2 * np.pi / 2.0 ** np.arange(1, k + 2)
    return float((1 - pmax[-1]) * xci[k] ** 2 + np.sum(xci[:k] ** 2 * pmax))


def rpe_estimate(cos_estimates: np.ndarray, sin_estimates: np.ndarray) -> np.ndarray:
    """RPE phase estimate from per-generation quadrature estimates.

    Args:
      cos_estimates: estimates of cos(k_j A), shape (..., K) (``2 p0 - 1`` of the first quadrature).
      sin_estimates: estimates of sin(k_j A), same shape.

    Returns:
      Estimates of A in (-pi, pi], shape (...,). Generation j restricts A to
      +-pi / k_j around generation j-1's estimate.

    Raises:
      ValueError: shapes differ.
    """
    c, s = np.asarray(cos_estimates, dtype=np.float64), np.asarray(sin_estimates, dtype=np.float64)
    if c.shape != s.shape:
        raise ValueError(f"cos_estimates shape {c.shape} != sin_estimates shape {s.shape}")
    est = np.zeros(c.shape[:-1])
    for j in range(c.shape[-1]):
        k = 2.0 ** j
        theta = np.arctan2(s[..., j], c[..., j])
        est = est + (np.mod(theta - k * est + np.pi, 2 * np.pi) - np.pi) / k
    return np.mod(est + np.pi, 2 * np.pi) - np.pi


class RPERun(NamedTuple):
    """Simulated RPE trials.

    Attributes:
      estimates: shape (N,), rad.
      errors: wrapped errors estimate - truth, shape (N,), rad.
      total_time: total evolution time (time units of ``base_time``).
      longest_time: longest single evolution 2^(K-1) base_time.
      schedule: M_j, shape (K,).
    """

    estimates: np.ndarray
    errors: np.ndarray
    total_time: float
    longest_time: float
    schedule: np.ndarray


def rpe_simulate(rng: np.random.Generator, phases: np.ndarray, n_generations: int, *, alpha: float = 2.5,
                 beta: float = 0.5, base_time: float = 1.0, t2: float = math.inf, stretch_exponent: float = 1.0,
                 p01: float = 0.0, p10: float = 0.0, offsets: np.ndarray | None = None) -> RPERun:
    """Simulate RPE for many trials at once (binomial shots, dephasing and readout errors).

    Generation j reads P(0) = (1-p01) q + p10 (1-q), q = (1 + eta_j cos(k_j A - phi))/2,
    phi in {0, pi/2}, eta_j = exp(-(k_j base_time / T2)^p).

    Args:
      rng: numpy Generator.
      phases: true phases A per trial, shape (N,), rad (phase per ``base_time``).
      n_generations: K.
      alpha, beta: schedule constants (:func:`rpe_schedule`).
      base_time: duration of k = 1 (any time unit; T2 in the same unit).
      t2: coherence time, same unit (inf: none).
      stretch_exponent: p.
      p01, p10: readout errors.
      offsets: known demodulation phase per generation added to both quadratures' readout phase
        (shape (K,)); None for zero.

    Returns:
      :class:`RPERun`.
    """
    sched = rpe_schedule(n_generations, alpha, beta)
    a = np.asarray(phases, dtype=np.float64)
    k = 2.0 ** np.arange(n_generations)
    eta = np.exp(-((k * base_time / t2) ** stretch_exponent))
    off = np.zeros(n_generations) if offsets is None else np.asarray(offsets)
    cs, ss = [], []
    for j in range(n_generations):
        est = []
        for phi in (0.0, np.pi / 2):
            q = 0.5 * (1 + eta[j] * np.cos(k[j] * a - phi - off[j]))
            p0 = (1 - p01) * q + p10 * (1 - q)
            est.append(2 * rng.binomial(sched[j], p0) / sched[j] - 1)
        cs.append(est[0])
        ss.append(est[1])
    estimate = rpe_estimate(np.stack(cs, -1), np.stack(ss, -1))
    err = np.mod(estimate - a + np.pi, 2 * np.pi) - np.pi
    return RPERun(estimate, err, rpe_total_time(sched, base_time), float(k[-1] * base_time), sched)
