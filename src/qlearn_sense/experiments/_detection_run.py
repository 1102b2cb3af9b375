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

from qlearn_sense.experiments._design import Design
from qlearn_sense.experiments._prepared import PreparedDesign, prepare_design
from qlearn_sense.hyptest import (
    EXACT_SHOT_LIMIT,
    ApproximationWarning,
    fidelity,
    fidelity_error_lower_bound,
    gaussian_shots_to_decide,
    lrt_verdict,
    chernoff_exponent,
    classical_chernoff_information,
    helstrom_error,
    min_error_fixed_shots,
    quantum_shots_to_decide,
    relative_entropy,
    roc_curve,
    auc,
    shots_to_decide,
    sprt_expected_shots,
)
from qlearn_sense.optimize import make_optimizer, optimize_protocol

_PROTOCOLS = {"ramsey": ("ramsey", "local"), "ghz": ("ghz", "ghz_parity")}


def _params_for(name: str, prepared: PreparedDesign, optimized: np.ndarray, seed: int
                ) -> tuple[PreparedDesign, np.ndarray]:
    """The prepared design and parameters of a compared protocol, optimized with the config's optimizer settings."""
    if name == "optimized":
        return prepared, np.asarray(optimized)
    d = prepare_design(prepared.config, noise=prepared.noise, protocol_override=_PROTOCOLS[name])
    oc = prepared.config.optimizer
    res = optimize_protocol(d.jp, d.protocol.n_params, d.protocol.n_prep_params, objective="cfi",
                            key=jax.random.PRNGKey(seed), phi=d.phase_rad,
                            optimizer=make_optimizer(oc.name, oc.learning_rate), steps=oc.steps,
                            restarts=oc.restarts, init_scale=oc.init_scale)
    return d, np.asarray(res.params)


# former names (the numerics live in qlearn_sense.hyptest)
helstrom_lower_bound = fidelity_error_lower_bound


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
    design = prepare_design(design)
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
        jp = d.jp
        rho0, rho1 = (np.asarray(jp.density_matrix(params, phi)) for phi in (phi0, phi1))
        p0, p1 = (np.clip(np.asarray(jp.probs(params, phi)), 0, None) for phi in (phi0, phi1))
        p0, p1 = p0 / p0.sum(), p1 / p1.sum()
        q_chernoff = chernoff_exponent(rho0, rho1)
        fid = fidelity(rho0, rho1)
        qshots = quantum_shots_to_decide(rho0, rho1, det.alpha, det.beta)
        c_chernoff = classical_chernoff_information(p0, p1)
        approx = gaussian_shots_to_decide(p0, p1, det.alpha, det.beta)
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
                "quantum_lower_bound": fidelity_error_lower_bound(fid, grid, det.prior_null).tolist(),
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


def _verdict(design, params, counts, phi0, phi1, alpha) -> dict:
    """Likelihood-ratio test at false-alarm alpha on the counts actually taken (:func:`~qlearn_sense.hyptest.lrt_verdict`)."""
    p0, p1 = prepare_design(design).probs(params, np.array([phi0, phi1]))
    return lrt_verdict(p0, p1, counts, alpha)
