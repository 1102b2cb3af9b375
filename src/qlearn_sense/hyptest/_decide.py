"""Fidelity bounds, Gaussian shot counts and the verdict on counts actually taken."""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import stats

from qlearn_sense.hyptest._classical import ApproximationWarning, neyman_pearson_test

EXACT_SHOT_LIMIT = 10**6
"""Largest number of shots for which the exact (or saddle-point) finite-shot law is used."""


def fidelity(rho0: np.ndarray, rho1: np.ndarray) -> float:
    """Uhlmann fidelity ``(Tr |sqrt(rho0) sqrt(rho1)|)^2`` of two density matrices.

    Args:
      rho0: density matrix, shape (d, d).
      rho1: density matrix, shape (d, d).

    Returns:
      Fidelity in [0, 1] (dimensionless).

    Raises:
      ValueError: shapes differ or are not square.
    """
    rho0, rho1 = np.asarray(rho0), np.asarray(rho1)
    if rho0.ndim != 2 or rho0.shape[0] != rho0.shape[1] or rho0.shape != rho1.shape:
        raise ValueError(f"rho0 has shape {rho0.shape}, rho1 {rho1.shape}; expected two (d, d) matrices")

    def sqrtm(r):
        lam, u = np.linalg.eigh((r + r.conj().T) / 2)
        return (u * np.sqrt(np.clip(lam, 0, None))) @ u.conj().T

    return float(np.sum(np.linalg.svd(sqrtm(rho0) @ sqrtm(rho1), compute_uv=False)) ** 2)


def fidelity_error_lower_bound(fid: float, copies, prior_null: float) -> np.ndarray:
    """Fuchs-van de Graaf lower bound on the m-copy Helstrom error, ``(1 - sqrt(1 - 4 p0 p1 F^m)) / 2``.

    Fidelity is multiplicative over copies (Fuchs & van de Graaf, IEEE Trans.
    Inf. Theory 45, 1216 (1999); Audenaert et al., PRL 98, 160501 (2007)).

    Args:
      fid: single-copy fidelity in [0, 1].
      copies: numbers of copies m, shape (K,).
      prior_null: prior probability of H0 in (0, 1).

    Returns:
      Lower bounds on the Bayes error, shape (K,).
    """
    p0p1 = prior_null * (1 - prior_null)
    return 0.5 * (1 - np.sqrt(np.clip(1 - 4 * p0p1 * fid ** np.asarray(copies, dtype=float), 0, None)))


def gaussian_shots_to_decide(p0: np.ndarray, p1: np.ndarray, alpha: float, beta: float) -> float:
    """Local (Gaussian) approximation of the shots to reach (alpha, beta): ``(z_{1-a} + z_{1-b})^2 / chi^2(p1||p0)``.

    Args:
      p0, p1: outcome distributions under H0 and H1, shape (K,).
      alpha: false-alarm probability; beta: miss probability.

    Returns:
      Shots (float; ``inf`` when the distributions agree).
    """
    p0, p1 = np.asarray(p0, dtype=float), np.asarray(p1, dtype=float)
    mask = p0 > 1e-15
    chi2 = float(np.sum((p1[mask] - p0[mask]) ** 2 / p0[mask]))
    z = stats.norm.ppf(1 - alpha) + stats.norm.ppf(1 - beta)
    return math.inf if chi2 == 0 else z**2 / chi2


def lrt_verdict(p0: np.ndarray, p1: np.ndarray, counts: np.ndarray, alpha: float) -> dict:
    """Likelihood-ratio test at false-alarm ``alpha`` on the counts actually taken.

    Exact (or saddle-point) Neyman-Pearson threshold up to :data:`EXACT_SHOT_LIMIT`
    shots, the Gaussian law of the log-likelihood-ratio sum beyond.

    Args:
      p0, p1: outcome distributions under H0 and H1, shape (K,).
      counts: observed counts, shape (K,).
      alpha: false-alarm probability in (0, 1).

    Returns:
      ``{"shots", "log_likelihood_ratio", "threshold", "decision", "alpha",
      "power_at_these_shots", "method"}``.
    """
    p0, p1 = (np.clip(np.asarray(p, dtype=float), 1e-300, None) for p in (p0, p1))
    counts = np.asarray(counts)
    m = int(counts.sum())
    llr = float(counts @ (np.log(p1) - np.log(p0)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ApproximationWarning)
        if m <= EXACT_SHOT_LIMIT:
            np_test = neyman_pearson_test(p0, p1, alpha, m)
            threshold, power, method = np_test.threshold, np_test.power, np_test.method
        else:  # Gaussian law of the LLR sum under H0
            d = np.log(p1) - np.log(p0)
            mu0, var0 = m * float(p0 @ d), m * float(p0 @ d**2 - (p0 @ d) ** 2)
            mu1, var1 = m * float(p1 @ d), m * float(p1 @ d**2 - (p1 @ d) ** 2)
            threshold = mu0 + stats.norm.ppf(1 - alpha) * math.sqrt(max(var0, 1e-300))
            power = float(stats.norm.sf((threshold - mu1) / math.sqrt(max(var1, 1e-300))))
            method = "gaussian"
    return {"shots": m, "log_likelihood_ratio": llr, "threshold": float(threshold),
            "decision": "biomarker present (H1)" if llr > threshold else "no biomarker detected (H0)",
            "alpha": alpha, "power_at_these_shots": float(power), "method": method}
