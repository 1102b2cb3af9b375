"""The main job on the collective engine: ``protocol.engine: collective`` with no register form.

For ``n_spins`` beyond the register (N > 12, or the 'tact' preparation) the whole
estimation runs on the exact permutation-symmetric engine
(:mod:`qlearn_sense.collective`), locally: the collective ansatz is optimized by the
same optax loop, ``repetitions x shots`` collective outcomes (J_z counts n = 0..N,
or parity) are sampled at the true phase, the phase is estimated by maximum
likelihood, and every printed number is checked like the register run's
(``_estimation_run.checks``: |z| > 5, phase window, G-test of the counts against
the model, bounds' assumptions). Readout errors (p01, p10 per spin) are applied
exactly to the J_z distribution (a sum of two binomial thinnings); the optimizer's
objective is the engine's, without readout errors (said in results.json).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from qlearn_sense import _jax  # noqa: F401
import jax
import jax.numpy as jnp
import numpy as np
from scipy import optimize as sopt
from scipy import stats

from qlearn_sense.config import ExperimentConfig, config_hash, config_to_yaml
from qlearn_sense.config._checks import phase_window_rad
from qlearn_sense.estimation import shots_for_relative_precision, shots_for_snr
from qlearn_sense.experiments._analysis import Progress
from qlearn_sense.experiments._design import DesignError, collective_spec, design_physics
from qlearn_sense.experiments._estimation_run import GOF_P_WARN, Z_IMPLAUSIBLE, checks, goodness_of_fit
from qlearn_sense.experiments._prepared import derive_seeds
from qlearn_sense.experiments._results import SCHEMA, atomic_save_npy, atomic_write_text, save_results, versions
from qlearn_sense.experiments._rundir import create_run_dir
from qlearn_sense.fisher import bounds_table, crb_field_std, crb_phase_std, sensitivity
from qlearn_sense.optimize import make_optimizer, optimize_protocol

if TYPE_CHECKING:
    from qlearn_sense.experiments._runner import RunOutcome

GRID_POINTS = 33
"""Coarse phase grid over the identifiable window for the pooled MLE."""
LOCAL_POINTS = 9
"""Chebyshev nodes of the local outcome model used for the per-repetition MLEs."""
_P_FLOOR = 1e-300


def readout_confusion(n_spins: int, p01: float, p10: float) -> np.ndarray:
    """Confusion matrix of J_z outcomes under independent per-spin readout errors, shape (N+1, N+1).

    ``C[n', n] = P(read n' ones | n spins in |1>)``: of the n ones, ``Binomial(n, p10)`` read 0; of
    the N - n zeros, ``Binomial(N - n, p01)`` read 1, so the read count is their convolution.

    Args:
      n_spins: N >= 1.
      p01: P(read 1 | state 0) per spin, in [0, 1).
      p10: P(read 0 | state 1) per spin, in [0, 1).

    Raises:
      ValueError: an error probability outside [0, 1).
    """
    for name, p in (("p01", p01), ("p10", p10)):
        if not 0.0 <= p < 1.0:
            raise ValueError(f"{name} = {p}; accepted: 0 <= {name} < 1")
    c = np.zeros((n_spins + 1, n_spins + 1))
    for n in range(n_spins + 1):
        lost = stats.binom.pmf(np.arange(n + 1), n, p10)[::-1]  # index a: n - a ones survive
        gained = stats.binom.pmf(np.arange(n_spins - n + 1), n_spins - n, p01)
        c[:, n] = np.convolve(lost, gained)
    return c


@dataclass(eq=False)
class CollectiveRun:
    """The compiled collective design of a config: probabilities with readout errors, QFI, CFI.

    Attributes:
      config: the validated config.
      spec: the collective spec (``qlearn_sense.collective.CollectiveSpec``).
      eta: coherence factor per spin; gamma: T1 decay probability; p01, p10: readout errors.
      phase_rad: true phase per spin, rad; dphi_dA: rad/T; shot_time_s: s.
    """

    config: ExperimentConfig
    spec: object
    eta: float
    gamma: float
    p01: float
    p10: float
    phase_rad: float
    dphi_dA: float
    amplitude_T: float
    gyromagnetic_ratio_Hz_per_T: float
    interrogation_time_s: float
    shot_time_s: float

    def __post_init__(self) -> None:
        from qlearn_sense.collective import compile_collective

        self.cp = compile_collective(self.spec)
        parity = self.spec.readout == "parity"
        jz_spec = collective_spec(self.config, self.eta, "jz", self.gamma)
        self._raw = compile_collective(jz_spec) if parity else self.cp
        noisy = self.p01 > 0 or self.p10 > 0
        conf = jnp.asarray(readout_confusion(self.spec.n_spins, self.p01, self.p10)) if noisy else None
        n = np.arange(self.spec.n_spins + 1)
        parity_map = jnp.asarray(np.stack([n % 2 == 0, n % 2 == 1], axis=1).astype(float))

        def probs(params, phi):
            p = self._raw.probs(params, phi) if (parity and noisy) else self.cp.probs(params, phi)
            if noisy:
                p = conf @ p
                if parity:
                    p = p @ parity_map
            return p

        self.probs = jax.jit(probs)
        self._dprobs = jax.jit(jax.jacfwd(probs, argnums=1))
        self.qfi = jax.jit(self.cp.qfi)

    def cfi(self, params, phi: float) -> float:
        """CFI of the collective readout (with readout errors) at ``phi``, rad^-2 per shot."""
        p = np.asarray(self.probs(params, phi))
        dp = np.asarray(self._dprobs(params, phi))
        keep = p > 1e-14
        return float(np.sum(dp[keep] ** 2 / p[keep]))

    def probs_at(self, params, phis) -> np.ndarray:
        """Outcome probabilities at each phase, shape (len(phis), K); one jitted call per phase."""
        return np.stack([np.asarray(self.probs(params, float(x))) for x in np.atleast_1d(phis)])


def collective_run(config: ExperimentConfig) -> CollectiveRun:
    """Physics and compiled engine of a ``protocol.engine: collective`` config without register form.

    Raises:
      DesignError: the sequence cancels the signal, or the sensor is a backend calibration.
    """
    n = config.protocol.n_spins
    if config.sensor.from_backend is not None:
        raise DesignError("sensor.from_backend: the collective engine needs a physical sensor model")
    _, noise, signal, gamma_ratio, t, dphi_dA = design_physics(config, n)
    eta, gamma = float(noise.eta[0]), float(noise.gamma[0])
    spec = collective_spec(config, eta, gamma_t1=gamma)
    amplitude = float(signal.amplitude_T)
    return CollectiveRun(config=config, spec=spec, eta=eta, gamma=gamma, p01=float(noise.p01[0]),
                         p10=float(noise.p10[0]), phase_rad=amplitude * float(dphi_dA), dphi_dA=float(dphi_dA),
                         amplitude_T=amplitude, gyromagnetic_ratio_Hz_per_T=gamma_ratio, interrogation_time_s=t,
                         shot_time_s=t + config.sensor.overhead_time_s)


def _loglik(counts: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """``counts`` (R, K), ``probs`` (G, K) -> (R, G)."""
    return counts @ np.log(np.clip(probs, _P_FLOOR, None)).T


def mle_collective(run: CollectiveRun, params: np.ndarray, counts: np.ndarray, cfi_hint: float) -> dict:
    """Maximum-likelihood phase of each repetition and of the pooled counts, within the window.

    The pooled MLE: a coarse grid over ``|phi| < pi / (2N)`` then a bounded scalar
    minimization. The repetitions: a Chebyshev interpolant of every outcome probability on
    ``phi_pooled +- 8 / sqrt(shots CFI)`` (exact to rounding for these smooth functions at this
    scale), maximized per repetition on a fine grid plus a parabolic step; a repetition whose
    maximum sits on the interval's edge is re-solved directly and counted in ``n_at_edge``.

    Args:
      run: the compiled collective design.
      params: protocol parameters, shape (n_params,).
      counts: collective outcome counts, shape (R, K).
      cfi_hint: CFI per shot at the true phase (sets the local interval), rad^-2.

    Returns:
      ``{"phi", "phi_std", "window", "at_edge", "reps", "reps_at_edge"}`` (phase per spin, rad).
    """
    w = phase_window_rad(run.spec.n_spins)
    lo, hi = -w, w
    pooled = counts.sum(axis=0, keepdims=True)
    grid = np.linspace(lo, hi, GRID_POINTS)
    ll = _loglik(pooled, run.probs_at(params, grid))[0]
    i = int(np.argmax(ll))
    a, b = grid[max(i - 1, 0)], grid[min(i + 1, GRID_POINTS - 1)]

    def nll(x):
        return -float(_loglik(pooled, run.probs_at(params, x))[0, 0])

    res = sopt.minimize_scalar(nll, bounds=(a, b), method="bounded",
                               options={"xatol": 1e-3 / math.sqrt(max(pooled.sum() * cfi_hint, 1.0))})
    phi = float(res.x)
    cfi_hat = run.cfi(params, phi)
    total = float(pooled.sum())
    phi_std = 1.0 / math.sqrt(total * cfi_hat) if cfi_hat > 0 else math.inf
    at_edge = bool(min(phi - lo, hi - phi) < 1e-6 * w)
    shots = counts[0].sum()
    half = min(8.0 / math.sqrt(max(shots * max(cfi_hat, cfi_hint), 1e-300)), w)
    la, lb = max(lo, phi - half), min(hi, phi + half)
    k = np.arange(LOCAL_POINTS)
    nodes = 0.5 * (la + lb) + 0.5 * (lb - la) * np.cos(np.pi * (k + 0.5) / LOCAL_POINTS)
    table = run.probs_at(params, nodes)
    fine = np.linspace(la, lb, 801)
    cheb = np.polynomial.chebyshev
    t_nodes = (2 * nodes - la - lb) / (lb - la)
    t_fine = (2 * fine - la - lb) / (lb - la)
    coef = cheb.chebfit(t_nodes, table, LOCAL_POINTS - 1)
    model = np.clip(cheb.chebval(t_fine, coef).T, _P_FLOOR, None)  # (801, K)
    llr = _loglik(counts, model)
    j = np.argmax(llr, axis=1)
    reps = fine[j].copy()
    step = fine[1] - fine[0]
    inner = (j > 0) & (j < fine.size - 1)
    rows = np.nonzero(inner)[0]
    y0, y1, y2 = llr[rows, j[rows] - 1], llr[rows, j[rows]], llr[rows, j[rows] + 1]
    den = y0 - 2 * y1 + y2
    reps[rows] += np.where(den < 0, 0.5 * step * (y0 - y2) / np.where(den < 0, den, -1.0), 0.0)
    edge_rows = np.nonzero(~inner)[0]
    for r in edge_rows:  # outside the local interval: solve over the whole window
        row = counts[r:r + 1]
        g = _loglik(row, run.probs_at(params, grid))[0]
        ii = int(np.argmax(g))
        rr = sopt.minimize_scalar(lambda x: -float(_loglik(row, run.probs_at(params, x))[0, 0]),
                                  bounds=(grid[max(ii - 1, 0)], grid[min(ii + 1, GRID_POINTS - 1)]),
                                  method="bounded")
        reps[r] = float(rr.x)
    reps_edge = int(np.sum(np.minimum(reps - lo, hi - reps) < 1e-6 * w))
    return {"phi": phi, "phi_std": phi_std, "window": [lo, hi], "at_edge": at_edge, "reps": reps,
            "reps_at_edge": reps_edge}


def analyse_collective(run: CollectiveRun, params: np.ndarray, counts: np.ndarray) -> dict:
    """Estimation results of a collective run, with the register run's top-level keys.

    Returns the keys ``fisher``, ``estimate``, ``crb``, ``sensitivity_T_per_sqrtHz``,
    ``sensitivity_qfi_T_per_sqrtHz``, ``honesty``, ``cfi_check``, ``collective`` (so
    ``_estimation_run.checks``, the summary and the report read it unchanged).
    """
    n, eta = run.spec.n_spins, run.eta
    qfi = float(run.qfi(params))
    cfi = max(run.cfi(params, run.phase_rad), 1e-300)
    limits = bounds_table(n, eta)
    fisher = {"qfi": qfi, "cfi": cfi, "sql": limits["sql"], "hl": limits["hl"], "qfi_over_sql": qfi / limits["sql"],
              "cfi_over_qfi": cfi / qfi if qfi > 0 else None, "qfi_over_hl": qfi / limits["hl"],
              "ghz": limits["ghz"], "asymptotic_bound": limits["asymptotic_bound"],
              "channel_extension_bound": limits["channel_extension_bound"],
              "qfi_noise": "local dephasing (eta per spin)" + ("" if run.gamma == 0 else " and T1 decay (exact in "
                                                              "the total-spin blocks)"),
              "cfi_noise": "the QFI's noise and the per-spin readout errors"}
    reasons = []
    if run.gamma > 0:
        reasons.append("the noise includes amplitude damping (T1)")
    if reasons:
        why = "not applicable: the bound assumes uncorrelated dephasing only; here " + " and ".join(reasons)
        fisher["asymptotic_bound"] = fisher["channel_extension_bound"] = None
        fisher["bounds_not_applicable"] = {"asymptotic_bound": why, "channel_extension_bound": why}
    est = mle_collective(run, params, counts, cfi)
    shots, reps_n = int(counts[0].sum()), counts.shape[0]
    total = int(counts.sum())
    dphi, phase = run.dphi_dA, run.phase_rad
    field_reps = est["reps"] / dphi
    crb_rep = crb_field_std(cfi, shots, dphi)
    emp = float(np.std(field_reps, ddof=1)) if reps_n > 1 else float("nan")
    z = float((est["phi"] - phase) / est["phi_std"]) if est["phi_std"] > 0 else 0.0
    lo, hi = est["window"]
    in_window = bool(lo < phase < hi)
    plausible = abs(z) <= Z_IMPLAUSIBLE and in_window
    model_probs = np.asarray(run.probs(params, phase), dtype=float)
    gof = goodness_of_fit(counts.sum(axis=0), model_probs)
    var = float(np.var(est["reps"], ddof=1)) if reps_n > 1 else float("nan")
    cfi_data = 1.0 / (shots * var) if var > 0 else None
    snr1 = shots_for_snr(cfi, phase)
    target = shots_for_relative_precision(cfi, phase, run.config.execution.target_relative_precision)
    return {
        "fisher": fisher,
        "estimate": {
            "field_T": est["phi"] / dphi, "field_std_T": est["phi_std"] / abs(dphi), "phase_rad": est["phi"],
            "phase_std_rad": est["phi_std"], "total_shots": total, "true_field_T": run.amplitude_T,
            "true_phase_rad": phase, "z_score": z, "plausible": plausible, "true_phase_in_window": in_window,
            "window_rad": est["window"], "at_window_edge": est["at_edge"],
            "repetitions": {"field_T": field_reps, "empirical_std_T": emp, "crb_std_T": crb_rep,
                            "empirical_over_crb": emp / crb_rep, "n_at_window_edge": est["reps_at_edge"]},
        },
        "crb": {"source": "model: the collective engine's protocol and noise model (not fitted to the counts)",
                "field_std_T": crb_field_std(cfi, total, dphi), "phase_std_rad": crb_phase_std(cfi, total),
                "field_std_qfi_T": crb_field_std(qfi, total, dphi),
                "field_std_sql_T": crb_field_std(fisher["sql"], total, dphi),
                "field_std_per_repetition_T": crb_rep},
        "sensitivity_T_per_sqrtHz": sensitivity(cfi, dphi, run.shot_time_s),
        "sensitivity_qfi_T_per_sqrtHz": sensitivity(qfi, dphi, run.shot_time_s),
        "honesty": {"snr_per_shot": abs(phase) * cfi ** 0.5, "snr_achieved": abs(phase) / est["phi_std"],
                    "shots_for_snr1": snr1, "time_for_snr1_s": snr1 * run.shot_time_s,
                    "target_relative_precision": run.config.execution.target_relative_precision,
                    "shots_for_target": target, "time_for_target_s": target * run.shot_time_s,
                    "resolved": bool(plausible and abs(phase) > 3 * est["phi_std"])},
        "cfi_check": {"cfi_model": cfi, "cfi_data": cfi_data,
                      "cfi_data_rel_std": float(np.sqrt(2.0 / (reps_n - 1))) if reps_n > 1 else None,
                      "data_over_model": cfi_data / cfi if cfi_data else None, "tvd": gof["tvd"],
                      "tvd_sampling": gof["tvd_sampling"], "gof": gof, "noise": "collective engine model"},
        "collective": {"engine": "collective (exact, permutation-symmetric; qlearn_sense.collective)",
                       "n_spins": n, "preparation": run.spec.preparation, "measurement": run.spec.measurement,
                       "readout": run.spec.readout, "eta": eta, "t1_decay_probability": run.gamma,
                       "readout_p01": run.p01, "readout_p10": run.p10,
                       "outcomes": "J_z counts n = 0..N (spins read 1)" if run.spec.readout != "parity"
                       else "parity of the J_z count (even, odd)",
                       "backends": "local collective engine only (no register form: N > 12 or 'tact')",
                       "optimizer_objective_noise": "dephasing and T1 (readout errors enter the reported CFI, not the "
                                                    "optimizer's objective)"},
    }


def _summary(data: dict) -> list[str]:
    f, e, h, c = data["fisher"], data["estimate"], data["honesty"], data["collective"]
    gof = data["cfi_check"]["gof"]
    return [f"collective engine: N = {c['n_spins']} spins, {c['preparation']}/{c['measurement']}, readout "
            f"{c['readout']}, eta = {c['eta']:.4g}",
            f"QFI {f['qfi']:.4g} rad^-2 per shot ({f['qfi_over_sql']:.3g} x SQL {f['sql']:.4g}; Heisenberg "
            f"{f['hl']:.4g}), CFI of the readout {f['cfi']:.4g}",
            f"estimated field {e['field_T']:.4g} +- {e['field_std_T']:.3g} T (true {e['true_field_T']:.4g} T, "
            f"z = {e['z_score']:.2f})",
            f"sensitivity {data['sensitivity_T_per_sqrtHz']:.4g} T/sqrt(Hz); shots for SNR 1 "
            f"{h['shots_for_snr1']:.4g}",
            f"counts vs model: G-test p = {gof['p_value']:.3g} ({gof['dof']} dof)"]


def run_collective_experiment(config: ExperimentConfig, *, backend: str | None = None,
                              out_root: str | Path = "experiments", run_id: str | None = None,
                              progress: Progress | None = None, force: bool = False) -> RunOutcome:
    """Run a collective-engine-only config end to end and write its run folder.

    Files: ``config.yaml``, ``state.json`` (optimized parameters), ``counts.npy`` (repetitions x
    outcomes), ``results.json`` (the register run's keys plus ``collective``), ``plots/``.

    Raises:
      qlearn_sense.backends.BackendError: a backend other than ``local`` (only the local
        collective engine runs these protocols).
      RunDirError: the run folder exists (without ``force``) or cannot be written.
      DesignError: impossible design.
    """
    from qlearn_sense.backends import BackendError
    from qlearn_sense.experiments._plots import plot_run
    from qlearn_sense.experiments._runner import RunOutcome, mark_failed

    name = backend or config.execution.backend
    if name != "local":
        raise BackendError(f"backend {name!r}: protocol.n_spins = {config.protocol.n_spins} "
                           f"({config.protocol.preparation.ansatz}) has no register form; only the local "
                           "collective engine applies (use backend 'local', or n_spins <= 12)")
    run = collective_run(config)
    run_dir = create_run_dir(out_root, config, run_id, force=force)
    ec, oc = config.execution, config.optimizer
    seeds = derive_seeds(config.seed)
    results = {"schema": SCHEMA, "name": config.name, "run_id": run_dir.name,
               "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
               "config_hash": config_hash(config), "backend": name, "seed": config.seed,
               "n_qubits": None, "n_spins": run.spec.n_spins, "shots": ec.shots, "repetitions": ec.repetitions,
               "sensor": {"kind": config.sensor.kind, "eta": run.eta, "phase_rad": run.phase_rad,
                          "interrogation_time_s": run.interrogation_time_s, "shot_time_s": run.shot_time_s,
                          "shot_rate_Hz": 1.0 / run.shot_time_s,
                          "gyromagnetic_ratio_Hz_per_T": run.gyromagnetic_ratio_Hz_per_T,
                          "dphi_dB_rad_per_T": run.dphi_dA, "sequence": config.sensor.sequence,
                          "amplitude_damping": run.gamma, "readout_p01": run.p01, "readout_p10": run.p10},
               "signal": {"kind": config.signal.kind, "amplitude_T": run.amplitude_T},
               "protocol": {"engine": "collective", "n_spins": run.spec.n_spins,
                            "preparation": run.spec.preparation, "measurement": run.spec.measurement,
                            "prep_layers": run.spec.prep_layers, "meas_layers": run.spec.meas_layers,
                            "readout": run.spec.readout, "n_params": run.cp.n_params},
               "status": "running"}
    stage = "setup"
    try:
        atomic_write_text(run_dir / "config.yaml", config_to_yaml(config))
        stage = "optimize"
        t0 = time.perf_counter()

        def cb(step: int, values: np.ndarray) -> None:
            if progress is not None:
                progress(f"optimizing {oc.objective.upper()} (collective, N = {run.spec.n_spins})", step + 1,
                         oc.steps)

        opt = optimize_protocol(run.cp, run.cp.n_params, run.cp.n_prep_params, objective=oc.objective,
                                key=jax.random.PRNGKey(seeds["optimize"]), phi=run.phase_rad,
                                optimizer=make_optimizer(oc.name, oc.learning_rate), steps=oc.steps,
                                restarts=oc.restarts, init_scale=oc.init_scale, callback=cb)
        params = np.asarray(opt.params)
        results["optimization"] = {
            "objective": oc.objective, "optimizer": oc.name, "learning_rate": oc.learning_rate, "steps": oc.steps,
            "restarts": oc.restarts, "value": opt.value, "final_values": opt.final_values, "trace": opt.trace,
            "qfi_stage_steps": oc.steps // 2 if oc.objective == "cfi" and run.cp.n_prep_params else 0,
            "params": params, "seconds": time.perf_counter() - t0}
        atomic_write_text(run_dir / "state.json", json.dumps({"params": params.tolist(), "backend": name,
                                                              "engine": "collective"}) + "\n")
        stage = "sample"
        if progress is not None:
            progress("sampling (collective engine)", 0, 1)
        p = np.clip(np.asarray(run.probs(params, run.phase_rad), dtype=float), 0, None)
        rng = np.random.default_rng(seeds["sample"])
        counts = rng.multinomial(ec.shots, p / p.sum(), size=ec.repetitions).astype(np.int64)
        atomic_save_npy(run_dir / "counts.npy", counts)
        if progress is not None:
            progress("sampling (collective engine)", 1, 1)
        stage = "analyse"
        data = analyse_collective(run, params, counts)
        warnings, flags = checks(data)
        if not data["estimate"]["plausible"]:
            data["honesty"]["resolved"] = False
        results.update(data)
        results["summary"] = {"estimation": _summary(data)}
        results["warnings"] = [f"estimation: {w}" for w in warnings]
        results["flags"] = flags
        results["status"] = "done"
        results["versions"] = versions()
        stage = "write"
        save_results(results, run_dir / "results.json")
        plot_run(results, run_dir / "plots")
        return RunOutcome(run_dir=run_dir, results=results)
    except BaseException as exc:
        mark_failed(run_dir, results, exc, stage)
        raise


__all__ = ["CollectiveRun", "GOF_P_WARN", "analyse_collective", "collective_run", "mle_collective",
           "readout_confusion", "run_collective_experiment"]
