"""Detection: "biomarker present?" per protocol, quantum limits vs the concrete measurement.

For each protocol (Ramsey, GHZ, the optimized circuit) the sensor output states
rho_0 (field = null) and rho_1 (field = alternative) give the quantum limits
(Helstrom, Chernoff, Stein); the protocol's outcome distributions p_0, p_1 give
what its measurement achieves (exact finite-shot Neyman-Pearson test, Chernoff
information, ROC), the shots needed for the target (alpha, beta), Wald's SPRT,
and the verdict on the shots actually taken.
"""

from __future__ import annotations

import math
import warnings

from qlearn_sense import _jax  # noqa: F401
import jax
import numpy as np
from scipy import stats

from qlearn_sense.experiments._design import Design, make_design
from qlearn_sense.hyptest import (
    ApproximationWarning,
    chernoff_exponent,
    classical_chernoff_information,
    helstrom_error,
    min_error_fixed_shots,
    neyman_pearson_test,
    quantum_shots_to_decide,
    relative_entropy,
    roc_curve,
    auc,
    shots_to_decide,
    sprt_expected_shots,
)
from qlearn_sense.optimize import make_optimizer, optimize_protocol
from qlearn_sense.protocol import compile_jax

_PROTOCOLS = {"ramsey": ("ramsey", "local"), "ghz": ("ghz", "ghz_parity")}
EXACT_SHOT_LIMIT = 10**6


def _params_for(name: str, design: Design, optimized: np.ndarray, seed: int) -> tuple[Design, np.ndarray]:
    if name == "optimized":
        return design, np.asarray(optimized)
    d = make_design(design.config, noise=design.noise, protocol_override=_PROTOCOLS[name])
    jp = compile_jax(d.protocol)
    res = optimize_protocol(jp, d.protocol.n_params, d.protocol.n_prep_params, objective="cfi",
                            key=jax.random.PRNGKey(seed), phi=d.phase_rad, optimizer=make_optimizer("adam", 0.05),
                            steps=150, restarts=2)
    return d, np.asarray(res.params)


def _fisher_shots(p0, p1, alpha, beta) -> float:
    """Local (Gaussian) approximation: ``(z_{1-a} + z_{1-b})^2 / (sum (p1-p0)^2 / p0)``."""
    mask = p0 > 1e-15
    chi2 = float(np.sum((p1[mask] - p0[mask]) ** 2 / p0[mask]))
    z = stats.norm.ppf(1 - alpha) + stats.norm.ppf(1 - beta)
    return math.inf if chi2 == 0 else z**2 / chi2


def fidelity(rho0: np.ndarray, rho1: np.ndarray) -> float:
    """Uhlmann fidelity ``(Tr |sqrt(rho0) sqrt(rho1)|)^2`` of two density matrices (d, d)."""
    def sqrtm(r):
        lam, u = np.linalg.eigh((r + r.conj().T) / 2)
        return (u * np.sqrt(np.clip(lam, 0, None))) @ u.conj().T
    return float(np.sum(np.linalg.svd(sqrtm(rho0) @ sqrtm(rho1), compute_uv=False)) ** 2)


def helstrom_lower_bound(fid: float, copies: np.ndarray, prior_null: float) -> np.ndarray:
    """Fuchs-van de Graaf lower bound on the m-copy Helstrom error, ``(1 - sqrt(1 - 4 p0 p1 F^m)) / 2``.

    Fidelity is multiplicative over copies (Fuchs & van de Graaf, IEEE Trans.
    Inf. Theory 45, 1216 (1999); Audenaert et al., PRL 98, 160501 (2007)).
    """
    p0p1 = prior_null * (1 - prior_null)
    return 0.5 * (1 - np.sqrt(np.clip(1 - 4 * p0p1 * fid ** np.asarray(copies, dtype=float), 0, None)))


def analyse_detection(design: Design, optimized_params: np.ndarray, counts: np.ndarray | None,
                      *, seed: int) -> dict:
    """Quantum limits, achieved performance and verdicts for every configured protocol.

    Args:
      design: the experiment design (its config has a ``detection`` section).
      optimized_params: parameters of the optimized protocol, shape (P,).
      counts: outcome counts of the optimized protocol measured at the true field,
        shape (K,) (pooled), or None.
      seed: seed of the reference protocols' optimization.

    Returns:
      JSON-ready dict keyed by protocol name, plus ``roc`` and ``error_vs_shots`` curves.

    Raises:
      ValueError: the config has no detection section.
    """
    det = design.config.detection
    if det is None:
        raise ValueError("the config has no 'detection' section")
    phi0, phi1 = det.null_field_T * design.dphi_dA, det.alt_field_T * design.dphi_dA
    rate = 1.0 / design.shot_time_s
    out: dict = {"null_field_T": det.null_field_T, "alt_field_T": det.alt_field_T, "alpha": det.alpha,
                 "beta": det.beta, "prior_null": det.prior_null, "protocols": {}}
    curves: dict = {"roc": {}, "error_vs_shots": {}}
    for i, name in enumerate(det.protocols):
        d, params = _params_for(name, design, optimized_params, seed + i)
        jp = compile_jax(d.protocol)
        rho0, rho1 = (np.asarray(jp.density_matrix(params, phi)) for phi in (phi0, phi1))
        p0, p1 = (np.clip(np.asarray(jp.probs(params, phi)), 0, None) for phi in (phi0, phi1))
        p0, p1 = p0 / p0.sum(), p1 / p1.sum()
        q_chernoff = chernoff_exponent(rho0, rho1)
        fid = fidelity(rho0, rho1)
        qshots = quantum_shots_to_decide(rho0, rho1, det.alpha, det.beta)
        c_chernoff = classical_chernoff_information(p0, p1)
        approx = _fisher_shots(p0, p1, det.alpha, det.beta)
        entry = {
            "quantum": {"helstrom_error_1shot": helstrom_error(rho0, rho1, det.prior_null), "fidelity": fid,
                        "chernoff_exponent": q_chernoff.exponent, "chernoff_s": q_chernoff.s_opt,
                        "stein_exponent": relative_entropy(rho0, rho1),
                        "shots_to_decide": qshots.shots, "shots_to_decide_upper_bound": qshots.upper_bound},
            "measurement": {"chernoff_information": c_chernoff.information, "chernoff_s": c_chernoff.s_opt,
                            "shots_to_decide_gaussian": approx},
        }
        if approx <= EXACT_SHOT_LIMIT:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ApproximationWarning)
                try:
                    m = shots_to_decide(p0, p1, det.alpha, det.beta, max_shots=EXACT_SHOT_LIMIT)
                except ValueError:
                    m = None
            entry["measurement"]["shots_to_decide"] = m
            entry["measurement"]["shots_to_decide_method"] = "saddle-point" if caught else "exact"
        else:
            m = approx
            entry["measurement"]["shots_to_decide"] = None
            entry["measurement"]["shots_to_decide_method"] = "gaussian (beyond exact range)"
        needed = entry["measurement"]["shots_to_decide"] or approx
        entry["measurement"]["seconds_to_decide"] = needed / rate
        entry["quantum"]["seconds_to_decide"] = qshots.shots / rate
        if math.isfinite(approx) and approx < 1e12:
            wald = sprt_expected_shots(p0, p1, det.alpha, det.beta)
            entry["sequential"] = {"expected_shots_h0": wald.under_h0, "expected_shots_h1": wald.under_h1,
                                   "saving_vs_fixed_h1": 1 - wald.under_h1 / needed}
        grid = np.unique(np.logspace(0, math.log10(max(10.0, 10 * needed)), 25).astype(np.int64))
        grid = grid[grid <= EXACT_SHOT_LIMIT]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ApproximationWarning)
            curves["error_vs_shots"][name] = {
                "shots": grid.tolist(),
                "measurement": [min_error_fixed_shots(p0, p1, int(k), det.prior_null) for k in grid],
                "quantum_chernoff_upper_bound": [
                    det.prior_null ** q_chernoff.s_opt * (1 - det.prior_null) ** (1 - q_chernoff.s_opt)
                    * math.exp(-k * q_chernoff.exponent) for k in grid],
                "quantum_lower_bound": helstrom_lower_bound(fid, grid, det.prior_null).tolist(),
            }
            roc_shots = int(min(max(1, round(needed)), EXACT_SHOT_LIMIT))
            fa, dt = roc_curve(p0, p1, roc_shots)
            curves["roc"][name] = {"shots": roc_shots, "false_alarm": np.asarray(fa).tolist(),
                                   "detection": np.asarray(dt).tolist(), "auc": auc(fa, dt)}
        out["protocols"][name] = entry
    if counts is not None and "optimized" in det.protocols:
        out["verdict"] = _verdict(design, optimized_params, counts, phi0, phi1, det.alpha)
    out["curves"] = curves
    return out


def _verdict(design: Design, params, counts, phi0, phi1, alpha) -> dict:
    """Likelihood-ratio test at false-alarm alpha on the counts actually taken."""
    jp = compile_jax(design.protocol)
    p0, p1 = (np.clip(np.asarray(jp.probs(params, phi)), 1e-300, None) for phi in (phi0, phi1))
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
