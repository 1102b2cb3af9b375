"""The ensemble analysis: can this NV-ensemble magnetometer see this action potential, in how many
events, and how much would a collective (entangled) state help under this decoherence?

Pure: reads the config's ``ensemble`` section and ``signal`` (an action potential), returns an
:class:`AnalysisResult` under key ``"ensemble"``.
"""

from __future__ import annotations

import math
from pathlib import Path

from qlearn_sense import _jax  # noqa: F401  (float64)
import jax
import numpy as np
from scipy import stats

from qlearn_sense.collective import CollectiveSpec, compile_collective, scale_report
from qlearn_sense.experiments._analysis import AnalysisContext, AnalysisResult, Quantity
from qlearn_sense.hyptest import gaussian_shots_to_decide
from qlearn_sense.optimize import optimize_protocol
from qlearn_sense.physics import ActionPotentialField, NVEnsembleSensor, pulse_times


def _sensor(cfg) -> NVEnsembleSensor:
    a0, a1 = cfg.photons
    return NVEnsembleSensor(n_spins=cfg.spins, a0=a0, a1=a1, t2_star_s=cfg.t2_star_s, t2_s=cfg.t2_s,
                            stretch_exponent=cfg.stretch_exponent, delta_ms=cfg.delta_ms,
                            overhead_s=cfg.overhead_s, cpmg_t2_exponent=cfg.cpmg_t2_exponent,
                            gyromagnetic_ratio_Hz_per_T=cfg.gyromagnetic_ratio_Hz_per_T)


def _ap_weights(ap: ActionPotentialField, starts: np.ndarray, sequence: str, k: int, tau: float) -> np.ndarray:
    """``int y(t - t0) s(t) dt`` (s) per shot start, from the antiderivative ``-w exp((1 - u^2)/2)``."""
    def prim(t):
        u = (t - ap.t_peak_s) / ap.width_s
        return -ap.width_s * np.exp((1 - u * u) / 2)
    edges = starts[:, None] + np.concatenate([[0.0], pulse_times(sequence, k, tau), [tau]])[None, :]
    signs = (-1.0) ** np.arange(edges.shape[1] - 1)
    return np.sum(signs * (prim(edges[:, 1:]) - prim(edges[:, :-1])), axis=1)


def event_snr(sensor: NVEnsembleSensor, ap: ActionPotentialField, sequence: str, n_pulses: int, tau_s: float,
              window_widths: float = 8.0) -> tuple[float, float]:
    """Matched-filter SNR of one action potential: repeated shots tile a window of ``window_widths``
    pulse widths; ``SNR^2 = sum_k (A Delta m_s gamma_e w_k)^2 F_phi(tau)`` (best of 4 shot offsets).

    Returns:
      ``(snr, max |phase| per shot in rad)``.
    """
    t_shot = tau_s + sensor.overhead_s
    lo = ap.t_peak_s - window_widths / 2 * ap.width_s
    n_shots = max(1, int(window_widths * ap.width_s // t_shot))
    fisher = sensor.phase_fisher_per_shot(tau_s, sequence, n_pulses)
    best, phase_max = 0.0, 0.0
    for off in (0.0, 0.25, 0.5, 0.75):
        w = _ap_weights(ap, lo + (off + np.arange(n_shots)) * t_shot, sequence, n_pulses, tau_s)
        dphi = ap.peak_field_T * sensor.delta_ms * sensor.gamma_rad * w
        snr = float(np.sqrt(np.sum(dphi ** 2) * fisher))
        if snr > best:
            best, phase_max = snr, float(np.max(np.abs(dphi)))
    return best, phase_max


def best_scheme(sensor: NVEnsembleSensor, ap: ActionPotentialField, max_pulses: int, window_widths: float):
    """Scan Ramsey, Hahn echo and CPMG-k (k = 2, 4, ... <= max_pulses) over a log grid of tau."""
    rows = []
    schemes = [("ramsey", 1), ("hahn_echo", 1)] + [("cpmg", k) for k in 2 ** np.arange(1, 11) if k <= max_pulses]
    for seq, k in schemes:
        t_c = sensor.t2_star_s if seq == "ramsey" else sensor.t2_s
        hi = min(3 * t_c, window_widths * ap.width_s)
        grid = np.geomspace(min(0.05 * sensor.t2_star_s, hi / 2), hi, 40)
        snrs = [event_snr(sensor, ap, seq, int(k), float(t), window_widths) for t in grid]
        i = int(np.argmax([s[0] for s in snrs]))
        rows.append({"sequence": seq, "n_pulses": int(k), "tau_s": float(grid[i]), "snr": snrs[i][0],
                     "max_phase_rad": snrs[i][1], "edge": i in (0, len(grid) - 1)})
    return max(rows, key=lambda r: r["snr"]), rows


def _collective_opt(cc, eta: float, seed: int, gamma_t1: float = 0.0):
    """Optimize the collective ansatz at (N, eta, gamma_t1); returns ``(value, params, spec, compiled)``.

    ``eta`` is the total coherence factor; with T1 it is capped at ``sqrt(1 - gamma_t1)`` (T2 <= 2 T1), as
    ``qlearn_sense.physics`` does for the register sensor.
    """
    eta = min(eta, math.sqrt(1.0 - gamma_t1))
    spec = CollectiveSpec(cc.n_spins, cc.preparation, cc.measurement, cc.prep_layers, cc.meas_layers,
                          cc.observable, eta=eta, gamma_t1=gamma_t1)
    cp = compile_collective(spec)
    res = optimize_protocol(cp, cp.n_params, cp.n_prep_params, objective=cc.objective,
                            key=jax.random.PRNGKey(seed), steps=cc.steps, restarts=cc.restarts)
    return float(res.value), np.asarray(res.params), spec, cp


def _collective_best(cc, eta: float, seed: int, gamma_t1: float = 0.0) -> float:
    return _collective_opt(cc, eta, seed, gamma_t1)[0]


def t1_decay(t1_s: float | None, tau_s: float) -> float:
    """T1 decay probability ``1 - exp(-tau/T1)`` during an interrogation of ``tau_s`` s (0 without T1)."""
    return 0.0 if t1_s is None else -math.expm1(-tau_s / t1_s)


def tau_at_eta(eta: float, eta_ref: float, tau_ref_s: float, stretch_exponent: float) -> float:
    """Interrogation time (s) where the coherence ``exp(-(tau/T)^p)`` equals ``eta``, from one reference
    point ``(tau_ref_s, eta_ref)`` of the same sequence: ``tau = tau_ref (ln eta / ln eta_ref)^(1/p)``."""
    return tau_ref_s * (math.log(eta) / math.log(eta_ref)) ** (1.0 / stretch_exponent)


def run_collective_on_backend(spec, cp, params: np.ndarray, backend, shots: int, seed: int) -> dict:
    """Run an optimized collective protocol on a circuit backend (N <= 12) and test the counts against the model.

    The protocol is compiled to a register protocol (``to_register_protocol``), sampled at phi = 0 on
    ``backend``, its register counts summed into collective outcomes and compared with the collective
    engine's probabilities by a G-test.

    Returns:
      ``{"status": "run", "backend", "shots", "counts", "model_probs", "gof"}``, or
      ``{"status": "local engine only", "reason"}`` when the protocol has no circuit form (N > 12, TACT).
    """
    from qlearn_sense.collective import register_to_collective_probs, to_register_protocol
    from qlearn_sense.experiments._estimation_run import goodness_of_fit

    try:
        protocol = to_register_protocol(spec)
    except ValueError as exc:
        return {"status": "local engine only", "reason": str(exc)}
    reason = backend.supports(protocol)
    if reason is not None:
        return {"status": "not run", "reason": reason}
    sample = backend.run(protocol, params[None, :], 0.0, shots, seed=seed)
    counts = np.rint(register_to_collective_probs(sample.counts.astype(float), spec.n_spins,
                                                   spec.readout)).astype(np.int64)[0]
    model = np.clip(np.asarray(cp.probs(params, 0.0), dtype=float), 0, None)
    model = model / model.sum()
    return {"status": "run", "backend": backend.name, "shots": shots, "counts": counts, "model_probs": model,
            "gof": goodness_of_fit(counts, model)}


def analyse_ensemble(ctx: AnalysisContext) -> AnalysisResult:
    """Sensitivity, SNR of one action potential, events to detect it, collective-state gain.

    Args:
      ctx: context whose config has an ``ensemble`` section and an ``action_potential`` signal.

    Returns:
      :class:`AnalysisResult` with key ``"ensemble"`` and plots ``ensemble_sensitivity_vs_n.png``,
      ``ensemble_gain_vs_eta.png``, ``ensemble_detection_vs_events.png``.

    Raises:
      ValueError: no ``ensemble`` section, or the signal is not an action potential.
    """
    cfg = getattr(ctx.config, "ensemble", None)
    if cfg is None:
        raise ValueError("config.ensemble is missing: the ensemble analysis needs an 'ensemble:' section")
    sig = ctx.config.signal
    if getattr(sig, "kind", None) != "action_potential":
        raise ValueError(f"signal.kind = {getattr(sig, 'kind', None)!r}; the ensemble analysis needs "
                         "'action_potential'")
    sensor = _sensor(cfg.sensor)
    ap = ActionPotentialField(sig.peak_field_T, sig.width_s)
    warnings: list[str] = []
    tau_dc = sensor.optimal_tau("ramsey")
    sens = sensor.dc_sensitivity(tau_dc)
    best, rows = best_scheme(sensor, ap, cfg.sensor.cpmg_max_pulses, cfg.event_window_widths)
    d = best["snr"]
    z = stats.norm.ppf(1 - cfg.alpha) + stats.norm.ppf(1 - cfg.beta)
    n_events = max(1, math.ceil((z / d) ** 2)) if d > 0 else math.inf
    # the hypothesis-testing module on the per-event statistic (binned Gaussians N(0,1) vs N(d,1))
    edges = np.linspace(-12.0, d + 12.0, 4001)
    p0, p1 = np.diff(stats.norm.cdf(edges)), np.diff(stats.norm.cdf(edges - d))
    n_events_hyptest = max(1.0, gaussian_shots_to_decide(p0, p1, cfg.alpha, cfg.beta))
    if best["edge"]:
        warnings.append(f"best interrogation time {best['tau_s']:.3g} s of {best['sequence']} lies on the scan's edge")
    if best["max_phase_rad"] > 0.5:
        warnings.append(f"phase per shot up to {best['max_phase_rad']:.2g} rad: beyond the linear (small-phase) "
                        "regime the Fisher-information SNR overstates detection")
    if n_events > 1e6:
        warnings.append(f"{n_events:.3g} averaged events needed: not detectable in practice with this sensor")
    # collective-state gain at the exact N, eta of the best scheme's interrogation
    cc = cfg.collective
    eta = sensor.coherence(best["tau_s"], best["sequence"], best["n_pulses"])
    gamma_t1 = t1_decay(cc.t1_s, best["tau_s"])
    if eta > math.sqrt(1.0 - gamma_t1):
        warnings.append(f"coherence factor {eta:.6g} exceeds sqrt(1 - gamma_t1) = {math.sqrt(1 - gamma_t1):.6g} "
                        f"(T2 > 2 T1 at tau = {best['tau_s']:.3g} s): capped for the collective engine")
        eta = math.sqrt(1.0 - gamma_t1)
    f_best, best_params, best_spec, best_cp = _collective_opt(cc, eta, ctx.seed, gamma_t1)
    execution = run_collective_on_backend(best_spec, best_cp, best_params, ctx.backend,
                                          int(min(ctx.config.execution.shots, 10**6)), ctx.seed)
    if execution["status"] == "run" and execution["gof"]["p_value"] < 1e-3:
        warnings.append(f"the collective protocol's counts on {execution['backend']} do not fit the collective "
                        f"model (G-test p = {execution['gof']['p_value']:.2g})")
    gain = f_best / (cc.n_spins * eta ** 2)
    if gain < 1 - 1e-6:
        warnings.append(f"the optimizer found QFI {f_best:.4g} < N eta^2 = {cc.n_spins * eta ** 2:.4g} (the product "
                        "state, which the ansatz contains): raise collective.steps or restarts")
    scale = scale_report(sensor.n_spins, eta, f_best, cc.n_spins, gamma_t1=gamma_t1)
    gains = []  # (eta, gain, gamma_t1, gain bound); with T1, gamma at the tau where this sequence reaches eta
    for e in cc.eta_values:
        g_e = 0.0
        if cc.t1_s is not None and e < 1.0:
            g_e = t1_decay(cc.t1_s, tau_at_eta(e, eta, best["tau_s"], cfg.sensor.stretch_exponent))
        e_c = min(e, math.sqrt(1.0 - g_e))
        gains.append((e_c, _collective_best(cc, e_c, ctx.seed, g_e) / (cc.n_spins * e_c * e_c), g_e,
                      scale_report(sensor.n_spins, e_c, 0.0, cc.n_spins, gamma_t1=g_e)["gain_bound"].value))
    if sensor.sigma_r > 1.5:
        warnings.append(f"readout noise sigma_R = {sensor.sigma_r:.3g}: collective-state gains assume "
                        "spin-projection-limited collective readout, which this optical readout is not")
    if sensor.n_spins > cc.n_spins:
        warnings.append(f"collective gain computed at N = {cc.n_spins} only; at N = {sensor.n_spins:.3g} only "
                        "the product value and the asymptotic bound are reported (no extrapolation)")
    q = {
        "dc_sensitivity": Quantity(sens, "T/sqrt(Hz)", "Ramsey DC sensitivity at the optimal tau (Barry 2020)"),
        "optimal_ramsey_tau": Quantity(tau_dc, "s", "interrogation time minimizing the DC sensitivity (numerical)"),
        "sigma_r": Quantity(sensor.sigma_r, "1", "readout noise factor sqrt(1 + 2(a0+a1)/(a0-a1)^2)"),
        "snr_one_event": Quantity(d, "1", f"matched-filter SNR of one action potential, best scheme "
                                  f"{best['sequence']} k={best['n_pulses']} tau={best['tau_s']:.3g} s", kind="model"),
        "events_needed": Quantity(float(n_events), "1", f"averaged events for alpha={cfg.alpha}, beta={cfg.beta} "
                                  "(Gaussian per-event statistic)", kind="model"),
        "events_needed_hyptest": Quantity(float(n_events_hyptest), "1", "the same from "
                                          "hyptest.gaussian_shots_to_decide on the binned per-event statistic",
                                          kind="model"),
        "eta_at_best_tau": Quantity(eta, "1", "coherence factor per spin at the best scheme's tau"),
        "collective_qfi": Quantity(f_best, "rad^-2", f"best collective QFI found at N = {cc.n_spins}"),
        "collective_gain": Quantity(gain, "1", f"over N eta^2 at N = {cc.n_spins}, same eta"),
        "t1_decay_probability": Quantity(gamma_t1, "1", "T1 decay probability 1 - exp(-tau/T1) per spin at the best "
                                         "tau, in the collective engine" if cc.t1_s is not None
                                         else "no T1 configured (collective.t1_s): dephasing only"),
    }
    data = {k: v.to_dict() for k, v in q.items()}
    data["schemes"] = rows
    data["execution"] = execution
    data["scale"] = {k: v._asdict() for k, v in scale.items()}
    data["gain_vs_eta"] = [{"eta": e, "gain": g, "gamma_t1": gt, "bound": b if e < 1 else None}
                           for e, g, gt, b in gains]
    summary = [
        f"sensitivity {sens:.3g} T/sqrt(Hz) (Ramsey tau {tau_dc:.3g} s, sigma_R {sensor.sigma_r:.3g}, "
        f"N {sensor.n_spins:.3g})",
        f"one action potential ({ap.peak_field_T:.3g} T peak): SNR {d:.3g} with {best['sequence']} "
        f"(k={best['n_pulses']}, tau {best['tau_s']:.3g} s)",
        f"events to detect (alpha {cfg.alpha}, beta {cfg.beta}): {n_events}",
        f"collective gain at N = {cc.n_spins}, eta {eta:.3g}"
        + (f", T1 decay {gamma_t1:.3g}" if cc.t1_s is not None else "")
        + f": {gain:.3g} (bound {scale['gain_bound'].value:.3g})",
        (f"optimized collective circuit on {execution['backend']}: {execution['shots']} shots, G-test vs the "
         f"collective model p = {execution['gof']['p_value']:.3g}" if execution["status"] == "run"
         else f"optimized collective circuit: {execution['status']} ({execution['reason']})"),
    ]
    plots = {
        "ensemble_sensitivity_vs_n.png": lambda p: _plot_sensitivity(p, sensor, tau_dc, eta),
        "ensemble_gain_vs_eta.png": lambda p: _plot_gain(p, gains, cc.n_spins),
        "ensemble_detection_vs_events.png": lambda p: _plot_detection(p, d, cfg.alpha, n_events),
    }
    return AnalysisResult("ensemble", data, summary, warnings, {}, {}, plots)


def _fig():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt, plt.subplots(figsize=(6, 4))


def _plot_sensitivity(path: Path, sensor: NVEnsembleSensor, tau: float, eta: float) -> None:
    plt, (fig, ax) = _fig()
    n = np.geomspace(1e6, 1e16, 50)
    prod = sensor.dc_sensitivity(tau) * np.sqrt(sensor.n_spins / n)
    ax.loglog(n, prod, label="product state (computed)")
    if eta < 1:
        ax.loglog(n, prod * math.sqrt(1 - eta * eta), "--", label="asymptotic bound N eta^2/(1-eta^2)")
    ax.axvline(sensor.n_spins, color="k", lw=0.8, label="this sensor")
    ax.set_xlabel("number of NV spins N")
    ax.set_ylabel("sensitivity (T/sqrt(Hz))")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _plot_gain(path: Path, gains, n_spins: int) -> None:
    plt, (fig, ax) = _fig()
    e = np.array([g[0] for g in gains])
    t1 = any(g[2] > 0 for g in gains)
    ax.plot(e, [g[1] for g in gains], "o-", label=f"best collective state, N = {n_spins} (computed"
            + (", with T1)" if t1 else ")"))
    if t1:
        ax.plot(e, [g[3] for g in gains], "v", label="bound of the pure-dephasing part")
    else:
        fine = np.linspace(min(e.min(), 0.5), min(e.max(), 0.995), 100)
        ax.plot(fine, 1 / (1 - fine ** 2), "--", label="bound 1/(1-eta^2)")
    ax.set_xlabel("coherence factor per spin eta")
    ax.set_ylabel("QFI gain over N eta^2")
    ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _plot_detection(path: Path, d: float, alpha: float, n_events: float) -> None:
    plt, (fig, ax) = _fig()
    top = max(10.0, 3 * (n_events if math.isfinite(n_events) else 10))
    n = np.unique(np.geomspace(1, top, 200).astype(int))
    ax.semilogx(n, stats.norm.sf(stats.norm.ppf(1 - alpha) - np.sqrt(n) * d))
    ax.set_xlabel("number of averaged action potentials")
    ax.set_ylabel(f"detection probability (false alarm {alpha})")
    ax.set_ylim(0, 1.02)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
