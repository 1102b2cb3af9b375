"""The core analysis of a run: field estimate, Fisher values, bounds, and the checks behind every number.

Every number the run prints is checked against the model it came from:

- the estimate against the known true field (z-score; a |z| above
  :data:`Z_IMPLAUSIBLE` is flagged), and the true phase against the window the
  design can resolve without ambiguity;
- the counts against the model's outcome probabilities (G-test, a p-value
  below :data:`GOF_P_WARN` is flagged: the Cramer-Rao numbers are then the
  model's, not the data's);
- each closed-form bound against its assumptions (uniform pure dephasing, no
  amplitude damping): where they do not hold the bound is reported as not
  applicable, with the reason, instead of a number.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from qlearn_sense.backends import SampleResult
from qlearn_sense.estimation import mle_phase, shots_for_relative_precision, shots_for_snr
from qlearn_sense.experiments._analysis import AnalysisContext, AnalysisResult
from qlearn_sense.experiments._prepared import prepare_design
from qlearn_sense.fisher import bounds_table, crb_field_std, crb_phase_std, sensitivity

Z_IMPLAUSIBLE = 5.0
"""|z| of the estimate against a known true field above which the estimate is flagged (two-sided
p = 5.7e-7 under the Cramer-Rao Gaussian)."""

GOF_P_WARN = 1e-3
"""G-test p-value of the pooled counts against the model below which the model is flagged as not fitting."""

_BOUND_ASSUMPTIONS = "identical local pure dephasing on every qubit and no amplitude damping"


def bound_applicability(noise) -> str | None:
    """Why the dephasing bounds do not apply to ``noise`` (a :class:`~qlearn_sense.protocol.Noise`), or None.

    The asymptotic bound n eta^2/(1 - eta^2) (Escher et al., Nat. Phys. 7, 406 (2011);
    Demkowicz-Dobrzanski et al., Nat. Commun. 3, 1063 (2012)) and the finite-n
    channel-extension bound assume :data:`_BOUND_ASSUMPTIONS`.
    """
    eta = np.asarray(noise.eta, dtype=float)
    reasons = []
    if np.ptp(eta) > 1e-12 * max(1.0, float(eta.max())):
        reasons.append(f"the qubits dephase differently (eta from {eta.min():.4g} to {eta.max():.4g})")
    if any(g > 0 for g in noise.gamma):
        reasons.append("the noise includes amplitude damping (T1)")
    if not reasons:
        return None
    return "not applicable: the bound assumes " + _BOUND_ASSUMPTIONS + "; here " + " and ".join(reasons)


def fisher_summary(design, params: np.ndarray, model=None) -> dict:
    """QFI, CFI at the true phase, and the closed-form limits for the design's (n, eta).

    Bounds whose assumptions do not hold for the design's noise are ``None``,
    with the reason under ``bounds_not_applicable``.

    Args:
      design: a Design or PreparedDesign.
      params: protocol parameters, shape (n_params,).
      model: unused (kept for callers of the previous signature).
    """
    prepared = prepare_design(design)
    op = prepared.at(params)
    n = prepared.protocol.n_qubits
    limits = bounds_table(n, prepared.eta)
    qfi, cfi = op.qfi, op.cfi
    out = {"qfi": qfi, "cfi": cfi, "sql": limits["sql"], "hl": limits["hl"],
           "qfi_over_sql": qfi / limits["sql"], "cfi_over_qfi": cfi / qfi if qfi > 0 else None,
           "qfi_over_hl": qfi / limits["hl"], "ghz": limits["ghz"], "asymptotic_bound": limits["asymptotic_bound"],
           "channel_extension_bound": limits["channel_extension_bound"]}
    reason = bound_applicability(prepared.noise)
    if reason is not None:
        out["asymptotic_bound"] = None
        out["channel_extension_bound"] = None
        out["bounds_not_applicable"] = {"asymptotic_bound": reason, "channel_extension_bound": reason}
    return out


def goodness_of_fit(counts: np.ndarray, probs: np.ndarray, *, min_expected: float = 5.0) -> dict:
    """G-test (likelihood-ratio chi-square) of pooled counts against model probabilities.

    Outcomes with expected counts below ``min_expected`` are pooled into one bin
    (Cochran's rule) so the chi-square law of the statistic holds; the degrees
    of freedom are the number of bins minus one (the model has no parameter
    fitted to these counts: the phase is the true one).

    Args:
      counts: pooled counts, shape (K,).
      probs: model probabilities, shape (K,), summing to 1.
      min_expected: smallest expected count of a bin.

    Returns:
      ``{"statistic", "dof", "p_value", "tvd", "tvd_sampling", "test"}``.

    Raises:
      ValueError: shapes differ or there are no counts.
    """
    counts = np.asarray(counts, dtype=np.float64).reshape(-1)
    probs = np.clip(np.asarray(probs, dtype=np.float64).reshape(-1), 0, None)
    if counts.shape != probs.shape:
        raise ValueError(f"counts have shape {counts.shape}; probs {probs.shape}")
    total = counts.sum()
    if total <= 0:
        raise ValueError("no counts to test")
    probs = probs / probs.sum()
    expected = probs * total
    big = expected >= min_expected
    obs_b = list(counts[big]) + ([counts[~big].sum()] if (~big).any() else [])
    exp_b = list(expected[big]) + ([expected[~big].sum()] if (~big).any() else [])
    obs_b, exp_b = np.asarray(obs_b), np.asarray(exp_b)
    keep = exp_b > 0
    stray = float(obs_b[~keep].sum())  # counts where the model says impossible
    obs_b, exp_b = obs_b[keep], exp_b[keep]
    freqs = counts / total
    out = {"test": "G-test (pooled counts vs model at the true phase)",
           "tvd": float(0.5 * np.abs(freqs - probs).sum()),
           "tvd_sampling": float(0.5 * np.sqrt(probs * (1 - probs) / total).sum() * np.sqrt(2 / np.pi))}
    if stray > 0:
        out.update(statistic=math.inf, dof=int(len(obs_b)), p_value=0.0)
        return out
    if len(obs_b) < 2:
        out.update(statistic=0.0, dof=0, p_value=1.0)
        return out
    exp_b = exp_b * obs_b.sum() / exp_b.sum()
    res = stats.power_divergence(obs_b, exp_b, lambda_="log-likelihood")
    out.update(statistic=float(res.statistic), dof=int(len(obs_b) - 1), p_value=float(res.pvalue))
    return out


def analyse(design, params: np.ndarray, sample: SampleResult) -> dict:
    """Field estimate, Cramer-Rao comparison, honest sensing-time figures and the checks, from counts.

    Pure function of the design, the parameters and the data.

    Args:
      design: a Design or PreparedDesign.
      params: protocol parameters, shape (n_params,).
      sample: counts of shape (repetitions, 2**n).

    Returns:
      JSON-ready dict with ``fisher``, ``estimate``, ``crb``, sensitivities,
      ``honesty`` and ``checks`` (see :func:`checks`).
    """
    prepared = prepare_design(design)
    ec = prepared.config.execution
    op = prepared.at(params)
    model = op.model
    fisher = fisher_summary(prepared, params)
    cfi = max(op.cfi, 1e-300)
    dphi = prepared.dphi_dA
    reps = mle_phase(model, sample.counts, phi0=0.0)
    pooled = mle_phase(model, sample.counts.sum(axis=0), phi0=0.0)
    total = int(sample.counts.sum())
    field_reps = reps.phi / dphi
    crb_rep = crb_field_std(cfi, sample.shots, dphi)
    emp = float(np.std(field_reps, ddof=1))
    phase = prepared.phase_rad
    snr1 = shots_for_snr(cfi, phase)
    target = shots_for_relative_precision(cfi, phase, ec.target_relative_precision)
    z = float((pooled.phi[0] - phase) / pooled.phi_std[0])
    lo, hi = pooled.window
    in_window = bool(lo < phase < hi)
    plausible = abs(z) <= Z_IMPLAUSIBLE and in_window
    return {
        "fisher": fisher,
        "estimate": {
            "field_T": float(pooled.phi[0] / dphi),
            "field_std_T": float(pooled.phi_std[0] / abs(dphi)),
            "phase_rad": float(pooled.phi[0]),
            "phase_std_rad": float(pooled.phi_std[0]),
            "total_shots": total,
            "true_field_T": prepared.amplitude_T,
            "true_phase_rad": phase,
            "z_score": z,
            "plausible": plausible,
            "true_phase_in_window": in_window,
            "window_rad": list(pooled.window),
            "at_window_edge": bool(pooled.at_edge[0]),
            "repetitions": {
                "field_T": field_reps,
                "empirical_std_T": emp,
                "crb_std_T": crb_rep,
                "empirical_over_crb": emp / crb_rep,
                "n_at_window_edge": int(np.sum(reps.at_edge)),
            },
        },
        "crb": {
            "source": "model: the design's protocol and noise model (not fitted to the counts)",
            "field_std_T": crb_field_std(cfi, total, dphi),
            "phase_std_rad": crb_phase_std(cfi, total),
            "field_std_qfi_T": crb_field_std(fisher["qfi"], total, dphi),
            "field_std_sql_T": crb_field_std(fisher["sql"], total, dphi),
            "field_std_per_repetition_T": crb_rep,
        },
        "sensitivity_T_per_sqrtHz": sensitivity(cfi, dphi, prepared.shot_time_s),
        "sensitivity_qfi_T_per_sqrtHz": sensitivity(fisher["qfi"], dphi, prepared.shot_time_s),
        "honesty": {
            "snr_per_shot": abs(phase) * cfi**0.5,
            "snr_achieved": abs(phase) / float(pooled.phi_std[0]),
            "shots_for_snr1": snr1,
            "time_for_snr1_s": snr1 * prepared.shot_time_s,
            "target_relative_precision": ec.target_relative_precision,
            "shots_for_target": target,
            "time_for_target_s": target * prepared.shot_time_s,
            "resolved": bool(plausible and abs(phase) > 3 * float(pooled.phi_std[0])),
        },
    }


def cfi_check(design, params: np.ndarray, sample: SampleResult, *, noise_from_protocol: bool = True) -> dict:
    """Simulated vs measured Fisher information of the run, and the goodness of fit of the counts.

    ``cfi_model`` is the protocol model's CFI at the true phase (rad^-2 per
    shot); ``cfi_data`` is measured: ``1 / (shots var(phi_hat))`` over the
    repetitions' MLEs, with relative standard error ``sqrt(2 / (R - 1))``.
    ``tvd`` is the total-variation distance between the pooled outcome
    frequencies and the model's probabilities (``tvd_sampling`` its typical
    size from shot noise alone); ``gof`` is the G-test of :func:`goodness_of_fit`.
    """
    prepared = prepare_design(design)
    op = prepared.at(params)
    reps = mle_phase(op.model, sample.counts, phi0=0.0)
    r = sample.counts.shape[0]
    var = float(np.var(reps.phi, ddof=1)) if r > 1 else float("nan")
    cfi_data = 1.0 / (sample.shots * var) if var > 0 else None
    gof = goodness_of_fit(sample.counts.sum(axis=0), op.probs)
    return {"cfi_model": op.cfi, "cfi_data": cfi_data,
            "cfi_data_rel_std": float(np.sqrt(2.0 / (r - 1))) if r > 1 else None,
            "data_over_model": cfi_data / op.cfi if cfi_data and op.cfi > 0 else None,
            "tvd": gof["tvd"], "tvd_sampling": gof["tvd_sampling"], "gof": gof,
            "noise": "protocol model" if noise_from_protocol else "device (calibrated model for the design)"}


def checks(results: dict) -> tuple[list[str], dict]:
    """Warnings and flags for a results dict holding ``estimate``, ``fisher`` and ``cfi_check``.

    Returns:
      ``(warnings, flags)``: human sentences and machine-readable flags
      (``implausible_estimate``, ``phase_outside_window``, ``model_misfit``,
      ``bound_exceeded``, ``bounds_not_applicable``).
    """
    warnings: list[str] = []
    flags: dict = {}
    est = results["estimate"]
    if not est.get("true_phase_in_window", True):
        lo, hi = est["window_rad"]
        flags["phase_outside_window"] = True
        warnings.append(
            f"the true phase {est['true_phase_rad']:.4g} rad lies outside the window "
            f"[{lo:.4g}, {hi:.4g}] rad that this design resolves without ambiguity: the estimate is aliased "
            "(shorten sensor.interrogation_time_s or use a phase-unwrapping schedule)")
    if abs(est["z_score"]) > Z_IMPLAUSIBLE:
        flags["implausible_estimate"] = True
        warnings.append(
            f"the estimate {est['field_T']:.4g} T lies {est['z_score']:.3g} standard errors from the true field "
            f"{est['true_field_T']:.4g} T (|z| > {Z_IMPLAUSIBLE:g}): do not trust it")
    gof = results.get("cfi_check", {}).get("gof")
    if gof is not None and gof["p_value"] < GOF_P_WARN:
        flags["model_misfit"] = True
        ratio = results["cfi_check"].get("data_over_model")
        warnings.append(
            f"the counts do not fit the design's model (G-test p = {gof['p_value']:.2g}, total variation "
            f"{gof['tvd']:.3g} where sampling explains {gof['tvd_sampling']:.2g}"
            + (f", data CFI / model CFI = {ratio:.3g}" if ratio else "")
            + "): eta, CFI and the Cramer-Rao bound printed are the model's, not the device's")
    fisher = results["fisher"]
    if fisher.get("bounds_not_applicable"):
        flags["bounds_not_applicable"] = sorted(fisher["bounds_not_applicable"])
    for name in ("channel_extension_bound", "asymptotic_bound"):
        bound = fisher.get(name)
        if bound is not None and fisher["qfi"] > bound * (1 + 1e-6):
            flags["bound_exceeded"] = True
            warnings.append(f"QFI {fisher['qfi']:.6g} exceeds the {name.replace('_', ' ')} {bound:.6g}: "
                            "the model breaks the bound's assumptions; report this as a bug")
    return warnings, flags


def _summary_lines(results: dict) -> list[str]:
    f, e, h = results["fisher"], results["estimate"], results["honesty"]
    lines = [f"QFI {f['qfi']:.4g} rad^-2 per shot, CFI of the measurement {f['cfi']:.4g}, "
             f"SQL {f['sql']:.4g}, Heisenberg limit {f['hl']:.4g}",
             f"estimated field {e['field_T']:.4g} +- {e['field_std_T']:.3g} T (true {e['true_field_T']:.4g} T, "
             f"z = {e['z_score']:.2f})",
             f"Cramer-Rao std (model) {results['crb']['field_std_T']:.4g} T; sensitivity "
             f"{results['sensitivity_T_per_sqrtHz']:.4g} T/sqrt(Hz); shots for SNR 1 {h['shots_for_snr1']:.4g}"]
    gof = results["cfi_check"]["gof"]
    lines.append(f"counts vs model: G-test p = {gof['p_value']:.3g} ({gof['dof']} dof)")
    for name, reason in f.get("bounds_not_applicable", {}).items():
        lines.append(f"{name}: {reason}")
    return lines


def analyse_estimation(ctx: AnalysisContext) -> AnalysisResult:
    """The core analysis (empty ``key``: its data are the top-level keys of results.json).

    Raises:
      ValueError: the context has no design, parameters or counts.
    """
    if ctx.design is None or ctx.params is None or ctx.sample is None:
        raise ValueError("the estimation analysis needs the design, the parameters and the counts")
    data = analyse(ctx.design, ctx.params, ctx.sample)
    data["cfi_check"] = cfi_check(ctx.design, ctx.params, ctx.sample,
                                  noise_from_protocol=ctx.backend.noise_from_protocol)
    warnings, flags = checks(data)
    if not data["estimate"]["plausible"]:
        data["honesty"]["resolved"] = False
    return AnalysisResult(key="", data=data, summary=_summary_lines(data), warnings=warnings, flags=flags)

