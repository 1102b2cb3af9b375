"""Sensor-network analysis: classical fusion vs local vs distributed entanglement on one network.

For each strategy: optimize its variational circuit for the estimand, report
the QFIM, the bound, the CFIM of the optimized measurement and the gain over
classical fusion; sweep the transduction efficiency for the distributed
strategy and find the crossover with classical fusion (brentq); sample the
optimized circuits and estimate every source by maximum likelihood.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from qlearn_sense import _jax  # noqa: F401
import jax
import jax.numpy as jnp
import numpy as np

from qlearn_sense.backends._base import AbstractAsyncBackend, AbstractDeviceBackend
from qlearn_sense.experiments._analysis import AnalysisContext, AnalysisResult, Quantity
from qlearn_sense.experiments import _network_backend as _nb
from qlearn_sense.experiments._network_backend import (
    MISFIT_P_VALUE,
    NETWORK_PUB_OFFSET,
    NetworkRun,
    check_network_fits,
    likelihood_circuit,
    model_fit,
    run_network_async,
    run_network_sync,
)
from qlearn_sense.experiments._network_config import network_from_config
from qlearn_sense.experiments._network_sweep import efficiency_sweep
from qlearn_sense.fisher import holevo_bound
from qlearn_sense.network import (
    Estimand,
    Network,
    compile_network,
    mle_network,
    normalization,
    optimize_strategy,
    sample_network_counts,
)

HOLEVO_MAX_DIM = 16
"""Largest Hilbert-space dimension for which the Holevo SDP is solved (cvxpy)."""
Z_WARN = 4.0


def _holevo(network: Network, res, estimand: Estimand) -> float | None:
    """Holevo bound tr(W Cov) per shot (weight-matrix estimands, d <= 16), None otherwise."""
    if estimand.matrix is None or res.circuit.dim > HOLEVO_MAX_DIM:
        return None
    jn, d = normalization(network)
    jn = jn[network.register_channels]  # the circuit encodes the register nodes' channels only
    nj = compile_network(res.circuit)
    phis = jnp.asarray(network.circuit_phases())
    rho = nj.density_matrix(jnp.asarray(res.params), phis)
    drhos = jax.vmap(lambda v: jax.jvp(lambda x: nj.density_matrix(jnp.asarray(res.params), x), (phis,), (v,))[1],
                     in_axes=1)(jnp.asarray(jn))
    wn = np.asarray(estimand.matrix) / np.outer(d, d)
    c = float(np.max(np.abs(wn)))  # the SDP solver's tolerances are absolute: solve with O(1) weights
    try:
        return c * float(holevo_bound(np.asarray(rho), np.asarray(drhos), wn / c))
    except Exception:  # noqa: BLE001 - a failed SDP must not sink the analysis; reported as None
        return None


def aer_network_counts(circuit, params, phis, shots: int, seed: int) -> np.ndarray:
    """Counts of a network circuit on qiskit-aer's density-matrix simulator, shape (2**N,), little-endian.

    The qiskit circuit of :func:`qlearn_sense.network.to_qiskit_network` (bound)
    with Aer channels inserted where the JAX simulator applies them: amplitude
    damping then depolarizing on travelling qubits after the preparation, phase
    damping ``1 - eta^2`` after the encoding. Common-mode noise is not inserted
    (it is a correlated mixture, not a per-qubit channel).
    """
    from dataclasses import replace

    from qiskit import QuantumCircuit
    from qiskit_aer import AerSimulator
    from qiskit_aer.noise import amplitude_damping_error, depolarizing_error, phase_damping_error

    from qlearn_sense.network import bind_network, to_qiskit_network

    def part(c):
        return bind_network(to_qiskit_network(c, measure=False, phis=phis), params, phis)

    qc = QuantumCircuit(circuit.n_qubits)
    qc.compose(part(replace(circuit, measure=(), channels=())), inplace=True)
    for q in range(circuit.n_qubits):
        if circuit.travelling[q]:
            qc.append(amplitude_damping_error(circuit.link_gamma[q]).to_instruction(), [q])
            if circuit.link_p[q] > 0:
                qc.append(depolarizing_error(circuit.link_p[q], 1).to_instruction(), [q])
    qc.compose(part(replace(circuit, prep=(), measure=())), inplace=True)
    for q, eta in enumerate(circuit.eta):
        if eta < 1:
            qc.append(phase_damping_error(1 - eta**2).to_instruction(), [q])
    qc.compose(part(replace(circuit, prep=(), channels=())), inplace=True)
    qc.measure_all()
    result = AerSimulator(method="density_matrix").run(qc, shots=int(shots), seed_simulator=int(seed)).result()
    counts = np.zeros(circuit.dim, dtype=np.int64)
    for bits, c in result.get_counts().items():
        counts[int(bits.replace(" ", ""), 2)] += c
    return counts


def analyse_network(ctx: AnalysisContext, *, run_dir: str | Path | None = None) -> AnalysisResult:
    """Compare classical fusion, local and distributed entanglement on the configured network.

    Args:
      ctx: the analysis context; ``ctx.config.network`` must be set.
      run_dir: the run folder, needed on asynchronous backends (``ibm:<device>``)
        to key the network PUBs in the job ledger; default ``ctx.run_dir`` when
        the context has one. Without it the circuits are not submitted there.

    Returns:
      :class:`AnalysisResult` under key ``"network"``: per strategy the QFIM and
      CFIM (1/unit^2 per shot), the precision of the estimand from each, the
      SLD bound (and the Holevo bound for weight-matrix estimands with d <= 16;
      for a linear estimand, a rank-one W, the Holevo bound equals the SLD
      bound), the gain over classical fusion, the MLE from the counts with its
      likelihood model and a G-test of the counts against it; the efficiency
      sweep and the crossover efficiency. Counts come from the local JAX
      network simulator (``local``), qiskit-aer with the network's channels
      inserted (``aer``), the device for ``aer:<fake>`` and ``ibm-local:<fake>``
      (bound ISA circuits, the device's noise, no inserted channels: the MLE
      then uses the bare circuit, :func:`qlearn_sense.network._sim.without_channels`),
      or IBM hardware for ``ibm:<device>`` (ledger PUBs from
      :data:`NETWORK_PUB_OFFSET`, submitted when the run is fetched; while
      they run the result says ``execution_status: pending`` with the job ids).
      Other backends get the local simulator, a warning and the flag
      ``network_not_on_backend``; counts that misfit the model (G-test p <
      1e-3) give a warning and the flag ``network_model_misfit``.

    Raises:
      ValueError: the config has no ``network`` section.
      BackendError: a device backend has fewer qubits than the network (the
        message names the backend and both qubit counts).
    """
    cfg = getattr(ctx.config, "network", None)
    if cfg is None:
        raise ValueError("the config has no 'network' section")
    network, estimand = network_from_config(cfg, ctx.config.sensor)
    check_network_fits(ctx.backend, network.n_qubits, len(network.nodes))
    opt = cfg.optimizer
    warnings: list[str] = []
    strategies = ["classical"] + [s for s in cfg.strategies if s != "classical"]
    unit = cfg.estimand.unit or _estimand_unit(network, estimand)
    results = {}
    for i, name in enumerate(strategies):
        ctx.report("network: optimize strategies", i, len(strategies))
        results[name] = optimize_strategy(network, name, estimand, key=jax.random.PRNGKey(ctx.seed + i),
                                          layers=opt.layers, steps=opt.steps, restarts=opt.restarts,
                                          learning_rate=opt.learning_rate)
    ref = results["classical"].precision_measured
    ref_q = results["classical"].precision_quantum
    rng = np.random.default_rng(ctx.seed)
    execution = _execute(ctx, network, results, cfg.shots, rng,
                         run_dir if run_dir is not None else getattr(ctx, "run_dir", None))
    warnings.extend(execution.warnings + execution.run.warnings)
    data: dict = {"estimand": {"label": estimand.label, "weights": estimand.weights, "weight_matrix": estimand.matrix,
                               "unit": unit},
                  "sources": [{"name": s.name, "kind": s.kind, "value": s.value, "unit": s.unit}
                              for s in network.sources],
                  "lead_field_T_per_unit": network.lead_field(), "channels": [list(c) for c in network.channels],
                  "executed_on": execution.executed_on, "likelihood_model": execution.model,
                  "execution_status": execution.run.status, "shots": cfg.shots,
                  "strategies": {}}
    if execution.run.jobs:
        data["jobs"] = execution.run.jobs
    data["nodes"] = [{"name": nd.name, "kind": nd.kind, "n_qubits": nd.n_qubits, "n_spins": nd.n_spins,
                      "phase_fisher_per_shot_rad-2": nd.phase_fisher, "shares_entanglement": nd.is_register}
                     for nd in network.nodes]
    summary = [f"network: {len(network.nodes)} nodes, {network.n_qubits} qubits, estimand {estimand.label} [{unit}]"]
    misfit = False
    for name, res in results.items():
        counts = execution.run.counts.get(name)
        est = gof = None
        if counts is not None:
            model, _ = likelihood_circuit(res.circuit, ctx.backend)
            est = mle_network(network, model, res.params, counts, estimand, qfim=res.qfim)
            gof = model_fit(model, res.params, network.circuit_phases(), counts)
        fusion = res.fusion
        if name == "classical" and counts is not None:
            from qlearn_sense.network import classical_fusion

            fusion = classical_fusion(network, res.circuit, res.params, estimand, counts=counts, rng=rng)
        entry = {
            "qfim": res.qfim, "cfim": res.cfim, "params": res.params, "trace": res.trace,
            "precision_quantum": Quantity(res.precision_quantum, f"({unit})^-2", "QFIM precision of the estimand "
                                          "per shot (1/CRB)", kind="bound").to_dict(),
            "precision_measured": Quantity(res.precision_measured, f"({unit})^-2", "CFIM precision of the optimized "
                                           "measurement per shot").to_dict(),
            "bound_per_shot": Quantity(1 / res.precision_quantum if res.precision_quantum > 0 else math.inf,
                                       f"({unit})^2", "SLD Cramer-Rao bound per shot (Var q or tr(W Cov))",
                                       kind="bound").to_dict(),
            "holevo_bound_per_shot": _holevo(network, res, estimand),
            "gain_over_classical": res.precision_measured / ref if ref > 0 else None,
            "gain_over_classical_quantum": res.precision_quantum / ref_q if ref_q > 0 else None,
            "estimate": None if est is None else {
                "theta": est.theta, "theta_true": network.theta_true, "covariance": est.cov, "q": est.q,
                "q_stderr": est.q_stderr, "q_bound_stderr": est.q_bound_stderr, "z": est.z,
                "converged": est.converged, "likelihood_model": execution.model},
            "goodness_of_fit": gof,
            "counts": counts,
            "fusion": fusion.to_dict() if fusion is not None else None,
        }
        if name in execution.run.compiled:
            entry["isa"] = execution.run.compiled[name]
        data["strategies"][name] = entry
        gain = entry["gain_over_classical"]
        gain_text = "n/a (classical cannot identify q)" if gain is None else f"{gain:.3g}x"
        mle_text = "MLE pending" if est is None else f"MLE z = {est.z:.2f}"
        summary.append(f"  {name:11s} F_q(QFIM) = {res.precision_quantum:.4g}, F_q(CFIM) = {res.precision_measured:.4g}"
                       f" ({unit})^-2, gain {gain_text}, {mle_text}")
        if res.precision_measured == 0:
            warnings.append(f"network {name}: the optimized measurement does not identify the estimand (singular "
                            "CFIM); one measurement setting cannot resolve every parameter")
        hol = entry["holevo_bound_per_shot"]
        sld = entry["bound_per_shot"]["value"]
        if hol is not None and math.isfinite(sld) and not sld * (1 - 1e-3) <= hol <= 2 * sld * (1 + 1e-3):
            warnings.append(f"network {name}: Holevo bound {hol:.4g} outside [SLD, 2 SLD] = [{sld:.4g}, {2 * sld:.4g}]"
                            " (SDP accuracy)")
        if est is not None and (abs(est.z) > Z_WARN or not est.converged):
            warnings.append(f"network {name}: MLE {abs(est.z):.1f} standard errors from the truth"
                            f"{'' if est.converged else ' (optimizer did not converge)'}")
        if gof is not None and gof["misfit"]:
            misfit = True
            warnings.append(f"network {name}: the counts misfit the likelihood model (G-test p = {gof['p_value']:.2g}"
                            f" < {MISFIT_P_VALUE:g}, total variation {gof['tvd']:.3g} vs {gof['tvd_sampling']:.3g} "
                            f"from shot noise; model: {execution.model}); the estimate and its error bar assume "
                            "that model")
        if res.precision_measured > res.precision_quantum * (1 + 1e-6):
            warnings.append(f"network {name}: CFIM precision exceeds the QFIM bound (numerical problem)")
    if execution.run.status == "pending":
        waiting = [f"{j['strategy']} {j['job_id'] or '(id not yet known)'} ({j['status']})"
                   for j in execution.run.jobs if j["status"] != "DONE"]
        summary.append(f"network: {len(waiting)} job(s) on {ctx.backend.name} not finished: {', '.join(waiting)}; "
                       f"run `qlearn-sense fetch {execution.run_dir}` again for their estimates")
    for name, rec in execution.run.compiled.items():
        summary.append(f"  {name:11s} on {ctx.backend.name}: ISA depth {rec['depth']}, {rec['two_qubit_gates']} "
                       f"two-qubit gates, layout {rec['layout']}")
    if "distributed" in results and cfg.efficiency_sweep and network.links:
        ctx.report("network: efficiency sweep", 0, 1)
        data["sweep"], line = efficiency_sweep(network, estimand, cfg, results, ctx.seed)
        summary.append(line)
    plots = {"network_precision_vs_efficiency.png": lambda p: _plot_sweep(data, unit, p)} if "sweep" in data else {}
    if len(network.sources) >= 2:
        plots["network_crb_ellipses.png"] = lambda p: _plot_ellipses(data, network, cfg.shots, p)
    flags = {"network_not_on_backend": execution.not_on_backend}
    if misfit:
        flags["network_model_misfit"] = True
    if execution.run.status != "done":
        flags["network_execution"] = execution.run.status
    return AnalysisResult(key="network", data=data, summary=summary, warnings=warnings, flags=flags, plots=plots)


@dataclass
class _Execution:
    run: NetworkRun
    executed_on: str
    model: str
    not_on_backend: bool
    run_dir: str | None = None
    warnings: list[str] = field(default_factory=list)


def _execute(ctx: AnalysisContext, network: Network, results: dict, shots: int, rng, run_dir) -> _Execution:
    """Counts of every strategy's optimized circuit on the run's backend (or pending hardware jobs)."""
    backend = ctx.backend
    phis = network.circuit_phases()
    first = next(iter(results.values()))
    _, model = likelihood_circuit(first.circuit, backend)
    circuits = {name: (res.circuit, res.params) for name, res in results.items()}
    if isinstance(backend, AbstractAsyncBackend) and isinstance(backend, AbstractDeviceBackend):
        where = f"{backend.name} (hardware jobs, ledger PUBs {NETWORK_PUB_OFFSET}+; no inserted noise channels)"
        if run_dir is None:
            reason = (f"network circuits were not submitted to {backend.name}: the analysis context has no run "
                      "folder to key their ledger PUBs on")
            return _Execution(NetworkRun(status="not_submitted", warnings=[reason]), where, model, True)
        from qlearn_sense.config import config_hash

        run = run_network_async(backend, circuits, phis, shots, int(rng.integers(2**31)), run_dir=run_dir,
                                config_name=ctx.config.name, config_hash=config_hash(ctx.config),
                                timeout_s=_nb.ASYNC_WAIT_S, poll_s=_nb.ASYNC_POLL_S)
        return _Execution(run, where, model, False, str(run_dir), _channel_notes(circuits, backend))
    if isinstance(backend, AbstractDeviceBackend):
        run = run_network_sync(backend, circuits, phis, shots, int(rng.integers(2**31)))
        return _Execution(run, f"{backend.name} (device ISA circuits, the device's noise; no inserted noise channels)",
                          model, False, warnings=_channel_notes(circuits, backend))
    counts, warnings = {}, []
    on_aer = backend.name == "aer"
    for name, (circuit, params) in circuits.items():
        if on_aer:
            counts[name] = aer_network_counts(circuit, params, phis, shots, int(rng.integers(2**31)))
        else:
            counts[name] = sample_network_counts(circuit, params, phis, shots, rng)
    not_on_backend = backend.name not in ("local", "aer")
    if not_on_backend:
        warnings.append(f"network circuits ran on the local JAX simulator, not on backend {backend.name!r}: it runs "
                        "single-phase register protocols only (device backends run the network's qiskit circuits)")
    if on_aer and network.common_std_T > 0:
        warnings.append("backend 'aer': common-mode field noise is not inserted in the Aer circuit (a correlated "
                        "mixture); the estimates there see only links and local dephasing")
    executed = ("qiskit-aer AerSimulator density matrix, network channels inserted" if on_aer
                else "local JAX network simulator (multinomial sampling)")
    return _Execution(NetworkRun(status="done", counts=counts), executed, model, not_on_backend, warnings=warnings)


def _channel_notes(circuits: dict, backend) -> list[str]:
    """Warnings for the simulated channels of the strategy circuits that a device run leaves out."""
    cs = [c for c, _ in circuits.values()]
    left_out = [what for what, present in (
        ("transduction links", any(any(c.travelling) for c in cs)),
        ("local dephasing (eta < 1)", any(e < 1 for c in cs for e in c.eta)),
        ("common-mode field noise", any(bool(c.common_cov_rad2) for c in cs))) if present]
    if not left_out:
        return []
    return [f"backend {backend.name!r}: the network's {', '.join(left_out)} are simulated channels, not gates; the "
            "device ran the circuits without them (its own noise applies), and the likelihood uses the bare circuit"]


def _estimand_unit(network: Network, estimand: Estimand) -> str:
    units = {s.unit for s in network.sources}
    return units.pop() if len(units) == 1 and estimand.weights is not None else "1"


def _plot_sweep(data: dict, unit: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from qlearn_sense.experiments._results import atomic_savefig

    sw = data["sweep"]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(sw["efficiency"], sw["distributed_measured"], "C2o-", label="distributed (CFIM)")
    ax.plot(sw["efficiency"], sw["distributed_quantum"], "C2:", label="distributed (QFIM)")
    ax.axhline(sw["classical_measured"], color="C0", label="classical fusion")
    if sw["local_measured"] is not None:
        ax.axhline(sw["local_measured"], color="C1", ls="--", label="local entanglement")
    if sw["crossover_efficiency"] is not None:
        ax.axvline(sw["crossover_efficiency"], color="k", ls=":",
                   label=f"crossover T* = {sw['crossover_efficiency']:.3f} (CFIM)")
    if sw["crossover_efficiency_quantum"] is not None:
        ax.axvline(sw["crossover_efficiency_quantum"], color="0.5", ls=":",
                   label=f"crossover T* = {sw['crossover_efficiency_quantum']:.3f} (QFIM)")
    ax.set_xlabel("transduction efficiency T")
    ax.set_ylabel(f"precision per shot ({unit}$^{{-2}}$)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=120)


def _plot_ellipses(data: dict, network: Network, shots: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from qlearn_sense.experiments._results import atomic_savefig

    s0, s1 = network.sources[0], network.sources[1]
    fig, ax = plt.subplots(figsize=(5, 5))
    t = np.linspace(0, 2 * np.pi, 200)
    extent = []
    for i, (name, entry) in enumerate(data["strategies"].items()):
        f = np.asarray(entry["cfim"]) * shots
        sc = np.sqrt(np.clip(np.diag(f), 1e-300, None))
        if np.linalg.cond(f / np.outer(sc, sc)) > 1e10:
            continue  # some direction unseen (e.g. a GHZ state): the ellipse is unbounded
        lam, vec = np.linalg.eigh(np.linalg.inv(f)[:2, :2])
        xy = vec @ (np.sqrt(np.clip(lam, 0, None))[:, None] * np.array([np.cos(t), np.sin(t)]))
        ax.plot(xy[0], xy[1], color=f"C{i}", label=f"{name} (1 sigma, {shots} shots)")
        extent.append(np.abs(xy).max(axis=1))
    if extent:  # zoom on the smallest ellipse; elongated ones (unseen directions) run off the axes
        lim = 3 * np.min(extent, axis=0)
        ax.set_xlim(-lim[0], lim[0])
        ax.set_ylim(-lim[1], lim[1])
    ax.set_xlabel(f"{s0.name} - true ({s0.unit})")
    ax.set_ylabel(f"{s1.name} - true ({s1.unit})")
    ax.set_title("Cramer-Rao ellipses (CFIM)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=120)
