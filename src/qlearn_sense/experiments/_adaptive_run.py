"""Adaptive analysis: error vs total sensing time per policy, update latency, tracking, live mode.

On local backends every shot adapts in simulation (:func:`qlearn_sense.adaptive.simulate_trials`,
truths drawn from the prior so that calibration is testable). On asynchronous
backends (IBM hardware) the simulated error curve stays as the local reference,
and the loop also runs on the device in rounds, one PUB each
(:func:`run_adaptive_rounds`, ledger PUBs 1000 + r): the analysis runs at fetch
time (``qlearn-sense fetch``), submits each round with the settings from the
posterior after the previous one, and polls it a bounded number of times; a
round still pending is left in the ledger and the next fetch resumes it
without resubmitting any finished round.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from qlearn_sense import _jax  # noqa: F401
import jax
import jax.numpy as jnp
import numpy as np

from qlearn_sense.adaptive import (
    RamseyModel,
    SMCOptions,
    candidate_settings,
    coherence_cap_s,
    detection_decision,
    fixed_policy,
    greedy_eig_policy,
    make_pipelined_step,
    measure_latency,
    particle_guess_policy,
    sigma_heuristic_policy,
    protocol_outcome_probs,
    ramsey_outcome_probs,
    ramsey_readout_params,
    rpe_simulate,
    simulate_trials,
    smc_init,
    template_waveform,
    track,
)
from qlearn_sense.adaptive import credible_interval as _ci
from qlearn_sense.adaptive import posterior_mean as _pmean
from qlearn_sense.adaptive._evr import evr_policy
from qlearn_sense.experiments._adaptive_rounds import ADAPTIVE_PUB_OFFSET, run_adaptive_rounds
from qlearn_sense.experiments._analysis import AnalysisContext, AnalysisResult
from qlearn_sense.experiments._design import make_design
from qlearn_sense.physics import ActionPotentialField

__all__ = ["ADAPTIVE_PUB_OFFSET", "LATENCY_BUDGETS_US", "analyse_adaptive", "rounds_pending", "run_adaptive_rounds",
           "run_live"]

LATENCY_BUDGETS_US = {"action_potential_1ms": 1e3, "software_closed_loop_10ms": 1e4, "heartbeat_1s": 1e6}
"""Budgets an update must fit (issue 13): an action potential lasts ~1 ms, a software loop has 10-30 ms,
a heartbeat ~1 s."""


def _physics(ctx: AnalysisContext):
    design = ctx.design if ctx.design is not None else make_design(ctx.config)
    sc = ctx.config.sensor
    sensor = design.sensor
    t2 = sensor.coherence_time(sc.sequence) if sensor is not None else sc.t2_star_s or math.inf
    p = sensor.stretch_exponent if sensor is not None else 1.0
    p01 = float(np.mean(design.noise.p01))
    p10 = float(np.mean(design.noise.p10))
    return design, float(design.gyromagnetic_ratio_Hz_per_T), float(t2), float(p), p01, p10


def _model_and_box(cfg, gamma, t2, p, p01, p10):
    lower, upper = [cfg.prior_min_T], [cfg.prior_max_T]
    t2_col = c_col = -1
    if cfg.learn_t2:
        t2_col = len(lower)
        lower.append(cfg.t2_prior_min_s)
        upper.append(cfg.t2_prior_max_s)
    if cfg.learn_contrast:
        c_col = len(lower)
        lower.append(cfg.contrast_prior_min)
        upper.append(1.0)
    model = RamseyModel(gamma, t2_s=t2, stretch_exponent=p, p01=p01, p10=p10, t2_column=t2_col,
                        contrast_column=c_col)
    return model, np.asarray(lower), np.asarray(upper)


def _policy(cfg, lik, gamma, cap):
    if cfg.policy == "particle_guess":
        return particle_guess_policy(gamma, cap)
    if cfg.policy == "sigma_heuristic":
        return sigma_heuristic_policy(gamma, cap)
    if cfg.policy == "greedy_eig":
        return greedy_eig_policy(lik, candidate_settings(cap, cfg.candidate_times))
    if cfg.policy == "evr":
        return evr_policy(lik, candidate_settings(cap, cfg.candidate_times), cap)
    return fixed_policy(cfg.fixed_time_s or cap)


def _one_qubit_ramsey(design, gamma):
    """The 1-qubit Ramsey protocol (local readout) with the design's first-qubit noise, its likelihood and
    ``theta_of_phase`` (readout phase -> RZ(-phase))."""
    from qlearn_sense.protocol import Noise, build_protocol, compile_jax

    nz = design.protocol.noise  # the first sensor qubit's noise at the design's interrogation time
    prot = build_protocol(1, "ramsey", "local", noise=Noise(eta=nz.eta[:1], gamma=nz.gamma[:1], p01=nz.p01[:1],
                                                            p10=nz.p10[:1]))
    theta_of = ramsey_readout_params(1)
    return prot, protocol_outcome_probs(compile_jax(prot).probs, gamma, theta_of), theta_of


def _checkpoints(n: int, k: int = 16) -> np.ndarray:
    return np.unique(np.round(np.geomspace(1, n, k)).astype(int)) - 1


def _fit_slope(times, rmse) -> tuple[float | None, list]:
    t, r = np.asarray(times, float), np.asarray(rmse, float)
    ok = (t > 0) & (r > 0)
    if ok.sum() < 2:
        return None, []
    s = float(np.polyfit(np.log(t[ok]), np.log(r[ok]), 1)[0])
    return s, [float(t[ok].min()), float(t[ok].max())]


def _smc_curve(cfg, ctx, lik, policy, lower, upper, truth, cap):
    opts = SMCOptions(cfg.resample_threshold, cfg.liu_west_a, tuple(lower.tolist()), tuple(upper.tolist()))
    run = simulate_trials(jax.random.PRNGKey(ctx.seed), lik, policy, truth, lower, upper,
                          n_particles=cfg.particles, n_experiments=cfg.experiments, options=opts)
    err, tot, t_used = np.abs(run.errors), run.total_time_s, np.maximum.accumulate(run.times_s, axis=1)
    fail = err > cfg.failure_sigmas * np.maximum(run.sds, 1e-300)
    curve = []
    for e in _checkpoints(cfg.experiments):
        t_med = float(np.median(tot[:, e]))
        if cfg.time_budget_s is not None and t_med > cfg.time_budget_s:
            break
        curve.append({"experiments": int(e + 1), "total_time_s": t_med, "rmse": float(np.sqrt(np.mean(err[:, e] ** 2))),
                      "median_error": float(np.median(err[:, e])), "failure_rate": float(np.mean(fail[:, e])),
                      "longest_time_s": float(np.median(t_used[:, e]))})
    inside = (run.ci95[:, 0] <= truth[:, 0]) & (truth[:, 0] <= run.ci95[:, 1])
    n = len(truth)
    final = run.errors[:, -1]
    diag = {"ci95_coverage": float(inside.mean()), "ci95_coverage_stderr": float(np.sqrt(0.95 * 0.05 / n)),
            "bias_T": float(final.mean()), "bias_stderr_T": float(final.std(ddof=1) / np.sqrt(n)) if n > 1 else None,
            "mean_posterior_sd_T": float(run.sds[:, -1].mean()), "mean_final_ess": float(run.ess.mean()),
            "mean_resamples": float(run.n_resamples.mean()),
            "coherence_limit_s": float(np.median(run.times_s.max(axis=1)))}
    return curve, diag, run


def _rpe_curve(cfg, ctx, gamma, t2, p, p01, p10, truth, cap):
    width = cfg.prior_max_T - cfg.prior_min_T
    centre = 0.5 * (cfg.prior_max_T + cfg.prior_min_T)
    w_per_T = 2 * math.pi * gamma
    tau0 = 0.999 * math.pi / (w_per_T * width / 2)  # |A| = |omega - omega_c| tau0 < pi on the prior
    k_max = max(1, min(cfg.rpe_generations, int(math.floor(math.log2(cap / tau0))) + 1 if cap >= tau0 else 1))
    rng = np.random.default_rng(ctx.seed)
    a_true = w_per_T * (truth[:, 0] - centre) * tau0
    curve, longest = [], 0.0
    for k in range(1, k_max + 1):
        r = rpe_simulate(rng, a_true, k, alpha=cfg.rpe_alpha, beta=cfg.rpe_beta, base_time=tau0, t2=t2,
                         stretch_exponent=p, p01=p01, p10=p10)
        err = np.abs(r.errors) / (w_per_T * tau0)
        resolution = math.pi / 2 ** (k - 1) / (w_per_T * tau0)  # the last generation's half interval
        if cfg.time_budget_s is not None and r.total_time > cfg.time_budget_s:
            break
        longest = r.longest_time
        curve.append({"generations": k, "total_time_s": r.total_time, "rmse": float(np.sqrt(np.mean(err ** 2))),
                      "median_error": float(np.median(err)), "failure_rate": float(np.mean(err > resolution)),
                      "longest_time_s": r.longest_time, "schedule": r.schedule.tolist()})
    return curve, {"base_time_s": tau0, "generations_used": len(curve), "coherence_limit_s": longest}


def run_live(backend, design, *, gamma: float, true_field_T: float, lower, upper, n_particles: int,
             cap_s: float, event_rate_Hz: float, events: int, seed: int) -> dict:
    """Run the loop live against a backend, one shot per event, and report whether it kept up.

    Events arrive every ``1 / event_rate_Hz``; each is processed (backend shot, jitted update,
    next setting) as soon as the previous one finished. The likelihood is the compiled design
    protocol's (a one-qubit Ramsey protocol with a local readout: readout phase -> RZ(-phase)).

    Returns:
      dict with ``kept_up`` (every event finished before the next arrived, apart from <= 1 %),
      ``processing_us`` p50/p99 (shot, update and resampling), ``dead_time_us`` p50/p99 (from the
      start of the event to the next setting), ``max_lag_s``, ``late_events``, ``final_error_T``.
    """
    prot, lik, theta_of = _one_qubit_ramsey(design, gamma)
    theta_jit = jax.jit(theta_of)  # one compiled call per event (eager jnp ops cost ~200 us each event)
    lo, hi = np.atleast_1d(lower), np.atleast_1d(upper)
    step = make_pipelined_step(lik, particle_guess_policy(gamma, cap_s), SMCOptions(lower=tuple(lo), upper=tuple(hi)))
    key = jax.random.PRNGKey(seed)
    state = smc_init(jax.random.fold_in(key, 0), lo, hi, n_particles)
    setting = jnp.array([cap_s / 64, 0.0, 0.0])
    period, finish, lags, proc, dead = 1.0 / event_rate_Hz, 0.0, [], [], []
    # per-event keys drawn before the clock starts, as host arrays: no eager JAX dispatch inside the loop
    # two per event: the update's and the resampling's
    event_keys = np.asarray(jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(1, 2 * int(events) + 1))
                            ).reshape(int(events), 2, -1)
    # compile (and warm the backend) before the clock starts, with the argument types the loop passes
    warm, _ = step.update(state, np.int32(0), setting, event_keys[0, 0])
    collapsed = warm._replace(weights=jnp.asarray(np.eye(1, n_particles)[0]))  # all weight on one particle
    jax.block_until_ready(step.maintain(collapsed, event_keys[0, 1]))  # compiles the resampling too
    backend.run(prot, np.asarray(theta_jit(np.asarray(setting)[1]))[None], 0.0, 1, seed=seed)
    for i in range(int(events)):
        arrival = i * period
        t0 = time.perf_counter()
        s = np.asarray(setting)
        params = np.asarray(theta_jit(s[1]))[None]
        phi = 2 * math.pi * gamma * true_field_T * s[0]
        y = int(np.argmax(backend.run(prot, params, phi, 1, seed=seed + i).counts[0]))
        state, setting = step.update(state, np.int32(y), setting, event_keys[i, 0])
        jax.block_until_ready(setting)
        dead.append(time.perf_counter() - t0)
        # resampling after the next setting is issued: on hardware it overlaps that experiment;
        # here the simulated shot runs on the same CPU, so it counts in the event's processing
        state = jax.block_until_ready(step.maintain(state, event_keys[i, 1]))
        dt = time.perf_counter() - t0
        finish = max(arrival, finish) + dt
        proc.append(dt)
        lags.append(finish - arrival)
    lags_a, proc_a = np.asarray(lags), np.asarray(proc) * 1e6
    late = int(np.sum(lags_a > period))
    return {"event_rate_Hz": event_rate_Hz, "events": int(events), "late_events": late,
            "kept_up": bool(late <= 0.01 * events), "max_lag_s": float(lags_a.max()),
            "processing_us": {"p50": float(np.percentile(proc_a, 50)), "p99": float(np.percentile(proc_a, 99))},
            "dead_time_us": {"p50": float(np.percentile(np.asarray(dead) * 1e6, 50)),
                             "p99": float(np.percentile(np.asarray(dead) * 1e6, 99))},
            "final_error_T": float(_pmean(state)[0] - true_field_T), "backend": backend.name}


def _tracking(cfg, ctx, design, gamma, t2, p, p01, p10):
    tc = cfg.tracking
    sig = design.signal
    if not isinstance(sig, ActionPotentialField):
        raise ValueError(f"adaptive.tracking needs signal.kind = 'action_potential'; got {type(sig).__name__}")
    width, amp = sig.width_s, sig.peak_field_T
    model = RamseyModel(gamma, t2_s=t2, stretch_exponent=p, p01=p01, p10=p10)
    t_int = design.interrogation_time_s
    clock = np.arange(0.0, tc.window_s - t_int, tc.update_interval_s)
    t_arr = 0.4 * tc.window_s
    a_max = tc.amplitude_max_T or 3 * abs(amp)
    events, waveform = [], None
    for ev in range(tc.events):
        present = ev % 2 == 0
        shape = ActionPotentialField(1.0, width, t_arr).shape
        truth = (amp if present else 0.0) * np.array([shape(c + t_int / 2) for c in clock])
        key = jax.random.fold_in(jax.random.PRNGKey(ctx.seed), 1000 + ev)
        if tc.model == "template":
            r = track(key, model, truth, clock, t_s=t_int, shots=tc.shots_per_update, kind="template",
                      lower=[0.0, 2 * width], upper=[a_max, tc.window_s - 2 * width], n_particles=cfg.particles,
                      width_s=width)
            m = np.asarray(_pmean(r.final))
            ci_a, ci_t = np.asarray(_ci(r.final, 0.95, 0)), np.asarray(_ci(r.final, 0.95, 1))
            entry = {"event_present": present, "amplitude_T": float(m[0]), "amplitude_ci95_T": ci_a.tolist(),
                     "arrival_s": float(m[1]), "arrival_ci95_s": ci_t.tolist()}
            mean, lo, hi = template_waveform(r.final, clock + t_int / 2, width)
        else:
            r = track(key, model, truth, clock, t_s=t_int, shots=tc.shots_per_update, kind="random_walk",
                      lower=[-a_max], upper=[a_max], n_particles=cfg.particles,
                      sigma_T_per_sqrt_s=tc.random_walk_T_per_sqrt_s)
            mean, lo, hi = r.mean_T, r.lower_T, r.upper_T
            entry = {"event_present": present, "band_coverage": float(np.mean((lo <= truth) & (truth <= hi)))}
        entry.update({"log_bayes_factor": r.log_bayes_factor,
                      "decision": detection_decision(r.log_bayes_factor, tc.alpha, tc.beta)})
        events.append(entry)
        if present and waveform is None:
            waveform = {"time_s": (clock + t_int / 2).tolist(), "true_T": truth.tolist(),
                        "mean_T": np.asarray(mean).tolist(),
                        "lower_T": np.asarray(lo).tolist(), "upper_T": np.asarray(hi).tolist()}
    truth_amp = {"peak_field_T": amp, "arrival_s": t_arr, "width_s": width}
    return {"model": tc.model, "truth": truth_amp, "events": events, "waveform": waveform,
            "statistic": "log Bayes factor (event model vs B = 0), Wald thresholds from hyptest.sprt_thresholds"}


def _hardware_rounds(cfg, ctx, design, gamma, lower, upper, cap, run_dir) -> tuple[dict, list[str], list[str]]:
    """Drive (or resume) the round-based loop on an asynchronous backend: ``(data, summary, warnings)``."""
    prot, lik, theta_of = _one_qubit_ramsey(design, gamma)
    note = None
    if cfg.policy == "rpe":
        note = "RPE is non-adaptive; the hardware rounds use the particle-guess heuristic"
        policy = particle_guess_policy(gamma, cap)
    else:
        policy = _policy(cfg, lik, gamma, cap)
    lo, hi = lower[:1], upper[:1]
    true_field = float(design.amplitude_T)
    run_dir = Path(run_dir)
    opts = SMCOptions(cfg.resample_threshold, cfg.liu_west_a, tuple(lo.tolist()), tuple(hi.tolist()))
    res = run_adaptive_rounds(
        ctx.backend, prot, likelihood=lik, policy=policy, theta_of_phase=theta_of, gyromagnetic_ratio_Hz_per_T=gamma,
        true_field_T=true_field, lower=lo, upper=hi, n_particles=cfg.particles, n_rounds=cfg.rounds,
        settings_per_round=cfg.settings_per_round, shots=cfg.shots_per_setting, seed=ctx.seed, run_dir=run_dir,
        run_id=run_dir.name, config_name=ctx.config.name, options=opts, max_polls=cfg.round_max_polls,
        poll_s=cfg.round_poll_interval_s, pub_offset=ADAPTIVE_PUB_OFFSET, on_error="return")
    data = {"rounds": res.rounds, "complete": res.complete, "pending_round": res.pending_round,
            "pub_offset": res.pub_offset, "error": res.error, "n_rounds": cfg.rounds,
            "settings_per_round": cfg.settings_per_round, "shots_per_setting": cfg.shots_per_setting,
            "policy": cfg.policy if note is None else "particle_guess", "coherence_cap_s": cap,
            "true_field_T": true_field, "prior_T": [float(lo[0]), float(hi[0])],
            "protocol": "1-qubit Ramsey, local readout (readout phase = RZ(-phase)); the field is emulated by the "
                        "encoding phase 2 pi gamma B t",
            "meaning": "the adaptive loop on the device, one PUB per round (ledger PUB pub_offset + round); "
                       "settings of round r from the posterior after round r - 1"}
    if note is not None:
        data["note"] = note
    summary, warnings = [], []
    done = len(res.rounds)
    if res.rounds:
        last = res.rounds[-1]
        data["final"] = {"mean_T": last["mean_T"], "sd_T": last["sd_T"], "error_T": last["mean_T"] - true_field}
    if res.complete:
        last = res.rounds[-1]
        summary.append(f"hardware rounds: {done}/{cfg.rounds} done on {ctx.backend.name}, field "
                       f"{last['mean_T']:.4g} +- {last['sd_T']:.2g} T (emulated {true_field:.4g} T)")
        if abs(last["mean_T"] - true_field) > cfg.failure_sigmas * max(last["sd_T"], 1e-300):
            warnings.append(f"hardware rounds: estimate {last['mean_T']:.4g} T is more than {cfg.failure_sigmas:g} "
                            f"posterior sd from the emulated field {true_field:.4g} T")
    elif res.error is not None:
        summary.append(f"hardware rounds: {done}/{cfg.rounds} done; {res.error}: run `qlearn-sense fetch {run_dir}` "
                       "again to resubmit that round (finished rounds are not resubmitted)")
        warnings.append(f"hardware rounds: {res.error}")
    else:
        r = res.pending_round
        summary.append(f"hardware rounds: {done}/{cfg.rounds} done; round {r} (PUB {res.pub_offset + r}) is still "
                       f"pending: run `qlearn-sense fetch {run_dir}` again to resume (nothing is resubmitted)")
    if not lo[0] <= true_field <= hi[0]:
        warnings.append(f"hardware rounds: the emulated field {true_field:.4g} T lies outside the prior "
                        f"[{lo[0]:.4g}, {hi[0]:.4g}] T (adaptive.prior_min_T / prior_max_T)")
    return data, summary, warnings


def analyse_adaptive(ctx: AnalysisContext, *, run_dir: str | Path | None = None) -> AnalysisResult:
    """The ``adaptive`` analysis (results key ``adaptive``).

    Returns ``policy``, ``error_curve`` (records with ``total_time_s``, ``rmse``,
    ``median_error``, ``failure_rate``), ``slope`` with its fit range,
    ``latency_us`` (p50/p99/max from an outcome to the next setting, and ``cycle_p50`` /
    ``cycle_p99`` of the whole update with its resampling, the cycle's p99 checked against
    :data:`LATENCY_BUDGETS_US`; :func:`qlearn_sense.adaptive.make_pipelined_step`),
    ``coherence_limit_s`` and ``coherence_cap_s``, posterior diagnostics, and
    ``tracking`` / ``live`` when configured. Plots: error vs total sensing time
    (log-log, 1/sqrt(T) and 1/T guides) and the tracked waveform with its band.
    ``error_curve_source`` labels the curve (simulated, with truths from the prior).

    On an asynchronous backend (``ctx.backend.asynchronous``) the loop also runs
    on the device in rounds, under ``hardware``: ``rounds`` (``round``, ``pub``,
    ``job_id``, ``status``, ``settings`` (S, 3), ``counts`` (S, 2), posterior
    ``mean_T`` / ``sd_T`` after the round), ``complete``, ``pending_round``,
    ``pub_offset`` (1000) and ``error``. A pending round is no failure: the
    summary says to fetch again, which resumes without resubmitting finished
    rounds. The interrogation times are capped at the coherence cap there too.

    Args:
      ctx: the analysis context.
      run_dir: the run folder (the ledger key of the rounds); default ``ctx.run_dir`` when the context has
        one. Needed only on asynchronous backends (without it the rounds are reported ``not_run``).

    Raises:
      ValueError: the config has no ``adaptive`` section, or tracking without an action-potential signal.
    """
    cfg = getattr(ctx.config, "adaptive", None)
    if cfg is None:
        raise ValueError("analyse_adaptive needs an 'adaptive:' section in the config")
    design, gamma, t2, p, p01, p10 = _physics(ctx)
    if cfg.tracking is not None and not isinstance(design.signal, ActionPotentialField):
        raise ValueError("adaptive.tracking needs signal.kind = 'action_potential'; "
                         f"got {type(design.signal).__name__}")
    cap = coherence_cap_s(t2, cfg.coherence_fraction, cfg.max_interrogation_time_s) if math.isfinite(t2) else (
        cfg.max_interrogation_time_s or 1.0)
    model, lower, upper = _model_and_box(cfg, gamma, t2, p, p01, p10)
    lik = ramsey_outcome_probs(model)
    rng = np.random.default_rng(ctx.seed)
    truth = lower + rng.random((cfg.trials, lower.size)) * (upper - lower)
    ctx.report("adaptive", 0, 3)
    warnings, data = [], {"policy": cfg.policy, "coherence_cap_s": cap, "particles": cfg.particles,
                          "trials": cfg.trials, "truth": "drawn from the prior, one per trial"}
    if cfg.policy == "rpe":
        curve, diag = _rpe_curve(cfg, ctx, gamma, t2, p, p01, p10, truth, cap)
    else:
        sim_policy = _policy(cfg, lik, gamma, cap)
        curve, diag, _ = _smc_curve(cfg, ctx, lik, sim_policy, lower, upper, truth, cap)
        if cfg.policy == "evr":
            data["evr"] = {"coherence_cap_s": sim_policy.t_max_s, "candidates": int(sim_policy.candidates.shape[0]),
                           "candidates_capped": sim_policy.n_capped,
                           "longest_candidate_s": float(sim_policy.candidates[:, 0].max()),
                           "meaning": "greedy minimum of the expected posterior variance of the field after one "
                                      "outcome (Granade et al., NJP 14, 103013 (2012)); candidate times capped at "
                                      "coherence_cap_s"}
        z = abs(diag["ci95_coverage"] - 0.95) / diag["ci95_coverage_stderr"]
        if z > 4:
            warnings.append(f"95 % credible intervals cover the truth in {diag['ci95_coverage']:.3f} of trials "
                            f"({z:.1f} standard errors from 0.95): posterior not calibrated")
    data.update(diag)
    data["error_curve"] = curve
    data["error_curve_source"] = ("simulated on the design's likelihood, truths drawn from the prior"
                                  + (" (local reference; the device rounds are under adaptive.hardware)"
                                     if ctx.backend.asynchronous else ""))
    if cfg.policy != "rpe":  # reference: robust phase estimation on the same prior, sensor and cap
        ref, ref_diag = _rpe_curve(cfg, ctx, gamma, t2, p, p01, p10, truth, cap)
        ref_slope, ref_range = _fit_slope([c["total_time_s"] for c in ref], [c["rmse"] for c in ref])
        data["rpe_reference"] = {"error_curve": ref, "slope": ref_slope, "fit_range_s": ref_range, **ref_diag}
    heis = [c for c in curve if c["longest_time_s"] < 0.99 * cap]
    if cfg.policy != "rpe":  # the prior-dominated start is pre-asymptotic (like RPE's K >= 3 rule below)
        prior_sd = (cfg.prior_max_T - cfg.prior_min_T) / math.sqrt(12)
        if sum(c["rmse"] <= prior_sd / 2 for c in heis) >= 2:
            heis = [c for c in heis if c["rmse"] <= prior_sd / 2]
    if cfg.policy == "rpe" and sum(c["generations"] >= 3 for c in heis) >= 2:
        heis = [c for c in heis if c["generations"] >= 3]  # RPE's 1/T asymptotics (small K is pre-asymptotic)
    slope, rng_fit = _fit_slope([c["total_time_s"] for c in heis], [c["rmse"] for c in heis])
    slope_all, rng_all = _fit_slope([c["total_time_s"] for c in curve], [c["rmse"] for c in curve])
    data["slope"] = {"value": slope, "fit_range_s": rng_fit, "meaning": "log-log slope of rmse vs total sensing "
                     "time while the longest interrogation is below the coherence cap and (adaptive policies) the rmse is "
                     "below half the prior's sd, past the prior-dominated start (-1: Heisenberg, -0.5: SQL)",
                     "all_points": slope_all, "all_points_range_s": rng_all}
    if curve and curve[-1]["failure_rate"] > 0.05:
        warnings.append(f"failure rate {curve[-1]['failure_rate']:.3f} at the last checkpoint: posteriors "
                        "collapsed away from the truth in more than 5 % of trials")
    ctx.report("adaptive", 1, 3)
    pol = _policy(cfg, lik, gamma, cap) if cfg.policy != "rpe" else particle_guess_policy(gamma, cap)
    opts = SMCOptions(cfg.resample_threshold, cfg.liu_west_a, tuple(lower.tolist()), tuple(upper.tolist()))
    step = make_pipelined_step(lik, pol, opts)
    state = smc_init(jax.random.PRNGKey(ctx.seed + 1), lower, upper, cfg.particles)
    lat = measure_latency(step, state, jnp.array([cap / 64, 0.0, 0.0]), jax.random.PRNGKey(ctx.seed + 2),
                          n_calls=cfg.latency_calls)
    data["latency_us"] = {"p50": lat.p50_us, "p99": lat.p99_us, "max": lat.max_us,
                          "cycle_p50": lat.cycle_p50_us, "cycle_p99": lat.cycle_p99_us, "particles": cfg.particles,
                          "meaning": "p50/p99/max: outcome -> next setting (likelihood, reweight, next setting; "
                                     "never resamples, so it does not depend on the data); cycle_p50/cycle_p99: "
                                     "the whole update including the Liu-West resampling when the ESS is low, "
                                     "run after the next setting is issued",
                          "budgets_us": LATENCY_BUDGETS_US,
                          "p99_within_budget": {k: lat.cycle_p99_us <= v for k, v in LATENCY_BUDGETS_US.items()}}
    if cfg.policy == "rpe":
        data["latency_us"]["note"] = "RPE is non-adaptive; latency of the particle-guess update shown"
    shown = slope if slope is None else round(slope, 3)
    summary = [f"adaptive ({cfg.policy}): {len(curve)} checkpoints, slope {shown} "
               f"over {rng_fit}, coherence cap {cap:.3g} s, limit reached {data['coherence_limit_s']:.3g} s",
               f"update latency (outcome -> next setting) p50 {lat.p50_us:.0f} us, p99 {lat.p99_us:.0f} us; whole "
               f"cycle with resampling p50 {lat.cycle_p50_us:.0f} us, p99 {lat.cycle_p99_us:.0f} us ({cfg.particles} "
               "particles)"]
    plots = {"adaptive_error_vs_time.png": lambda path: _plot_curve(data, path)}
    if cfg.tracking is not None:
        data["tracking"] = _tracking(cfg, ctx, design, gamma, t2, p, p01, p10)
        summary.append("tracking: " + ", ".join(f"{e['decision']} (logBF {e['log_bayes_factor']:.1f})"
                                                for e in data["tracking"]["events"]))
        if data["tracking"]["waveform"] is not None:
            plots["adaptive_tracked_waveform.png"] = lambda path: _plot_waveform(data["tracking"], path)
    if cfg.live is not None:
        from qlearn_sense.backends import get_backend

        live_backend = ctx.backend if ctx.backend.name == "local" else get_backend("local")
        data["live"] = run_live(live_backend, design, gamma=gamma, true_field_T=float(truth[0, 0]),
                                lower=lower[:1], upper=upper[:1], n_particles=cfg.particles, cap_s=cap,
                                event_rate_Hz=cfg.live.event_rate_Hz, events=cfg.live.events, seed=ctx.seed)
        lv = data["live"]
        summary.append(f"live at {cfg.live.event_rate_Hz:g} Hz: kept up = {lv['kept_up']} "
                       f"({lv['late_events']} late of {cfg.live.events})")
        if not lv["kept_up"]:
            warnings.append(f"live loop did not keep up with {cfg.live.event_rate_Hz:g} Hz: processing per event "
                            f"p50 {lv['processing_us']['p50']:.0f} us, p99 {lv['processing_us']['p99']:.0f} us "
                            f"(backend shot + update) against {1e6 / cfg.live.event_rate_Hz:.0f} us between events")
    flags = {"adaptive_failure": bool(curve and curve[-1]["failure_rate"] > 0.05)}
    if ctx.backend.asynchronous:
        ctx.report("adaptive", 2, 3)
        run_dir = run_dir if run_dir is not None else getattr(ctx, "run_dir", None)
        if run_dir is None:
            data["hardware"] = {"status": "not_run", "complete": False, "pub_offset": ADAPTIVE_PUB_OFFSET,
                                "reason": "no run folder given to the analysis (the rounds' ledger key)"}
            summary.append("hardware rounds: not run (no run folder given to the analysis)")
        else:
            hw, hw_summary, hw_warnings = _hardware_rounds(cfg, ctx, design, gamma, lower, upper, cap, run_dir)
            data["hardware"] = hw
            summary.extend(hw_summary)
            warnings.extend(hw_warnings)
            flags["adaptive_rounds_pending"] = not hw["complete"]
    ctx.report("adaptive", 3, 3)
    return AnalysisResult(key="adaptive", data=data, summary=summary, warnings=warnings, flags=flags, plots=plots)


def rounds_pending(results: dict) -> bool:
    """True when a run's ``results.json`` has adaptive hardware rounds still to run (pending or failed)."""
    hw = (results.get("adaptive") or {}).get("hardware")
    return isinstance(hw, dict) and hw.get("complete") is False and hw.get("status") != "not_run"


def _plot_curve(data: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from qlearn_sense.experiments._results import atomic_savefig

    t = np.array([c["total_time_s"] for c in data["error_curve"]])
    r = np.array([c["rmse"] for c in data["error_curve"]])
    med = np.array([c["median_error"] for c in data["error_curve"]])
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.loglog(t, r, "o-", label="RMS error")
    ax.loglog(t, med, "s--", ms=3, label="median error")
    ref = data.get("rpe_reference")
    if ref and ref["error_curve"]:
        ax.loglog([c["total_time_s"] for c in ref["error_curve"]], [c["rmse"] for c in ref["error_curve"]],
                  "^-", color="C2", ms=4, label="RPE reference (RMS)")
    if len(t):
        ax.loglog(t, r[0] * np.sqrt(t[0] / t), "k:", label="1/sqrt(T) (SQL)")
        ax.loglog(t, r[0] * t[0] / t, "k-.", label="1/T (Heisenberg)")
    ax.axvline(data["coherence_cap_s"], color="0.6", lw=0.8, ls="--")
    ax.set_xlabel("total sensing time T (s)")
    ax.set_ylabel("field error (T)")
    ax.set_title(f"{data['policy']}: longest interrogation capped at {data['coherence_cap_s']:.3g} s (dashed)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=120)
    plt.close(fig)


def _plot_waveform(tracking: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from qlearn_sense.experiments._results import atomic_savefig

    w = tracking["waveform"]
    t = np.asarray(w["time_s"]) * 1e3
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.fill_between(t, w["lower_T"], w["upper_T"], alpha=0.3, label="95 % credible band")
    ax.plot(t, w["mean_T"], "C0-", label="posterior mean")
    ax.plot(t, w["true_T"], "k--", lw=1, label="true field")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("field (T)")
    ax.set_title(f"tracked action potential ({tracking['model']})")
    ax.legend(fontsize=8)
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=120)
    plt.close(fig)
