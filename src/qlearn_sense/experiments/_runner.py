"""The main job: design -> optimize -> execute -> analyse -> run folder.

Stages are separate functions so a hardware run can stop after submission and
be finished later by :func:`finish_run` with the same analysis.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from qlearn_sense import _jax  # noqa: F401
import jax
import numpy as np

from qlearn_sense.backends import AbstractBackend, SampleResult, get_backend
from qlearn_sense.config import ExperimentConfig, config_hash, config_to_yaml, load_config
from qlearn_sense.estimation import PhaseModel, mle_phase, shots_for_relative_precision, shots_for_snr
from qlearn_sense.experiments._design import Design, DesignError, make_design
from qlearn_sense.experiments._results import SCHEMA, atomic_write_text, save_results, versions
from qlearn_sense.fisher import bounds_table, crb_field_std, crb_phase_std, sensitivity
from qlearn_sense.optimize import OptimizationResult, make_optimizer, optimize_protocol
from qlearn_sense.protocol import Protocol, compile_jax, to_qiskit
from qlearn_sense.protocol._qiskit import parameter_binding

Progress = Callable[[str, int, int], None]
"""``progress(task, completed, total)``: called while long stages run."""


def derive_seeds(seed: int) -> dict[str, int]:
    """Independent child seeds of the config seed (numpy SeedSequence), by stage name."""
    children = np.random.SeedSequence(seed).spawn(4)
    names = ("optimize", "sample", "shadows", "detection")
    return {k: int(c.generate_state(1, dtype=np.uint32)[0]) for k, c in zip(names, children)}


def optimize_design(design: Design, *, progress: Progress | None = None) -> OptimizationResult:
    """Run the config's optax optimization of the design's protocol (seeded restarts)."""
    oc = design.config.optimizer
    jp = compile_jax(design.protocol)
    key = jax.random.PRNGKey(derive_seeds(design.config.seed)["optimize"])

    def cb(step: int, values: np.ndarray) -> None:
        if progress is not None:
            progress(f"optimizing {oc.objective.upper()}", step + 1, oc.steps)

    return optimize_protocol(jp, design.protocol.n_params, design.protocol.n_prep_params, objective=oc.objective,
                             key=key, phi=design.phase_rad, optimizer=make_optimizer(oc.name, oc.learning_rate),
                             steps=oc.steps, restarts=oc.restarts, init_scale=oc.init_scale, callback=cb)


def execute(design: Design, params: np.ndarray, backend: AbstractBackend, *, seed: int | None = None) -> SampleResult:
    """Sample ``repetitions`` x ``shots`` at the true phase as one batch (one PUB).

    Returns:
      :class:`SampleResult` with counts of shape (repetitions, 2**n).
    """
    ec = design.config.execution
    seed = derive_seeds(design.config.seed)["sample"] if seed is None else seed
    batch = np.tile(np.asarray(params, dtype=np.float64), (ec.repetitions, 1))
    return backend.run(design.protocol, batch, design.phase_rad, ec.shots, seed=seed)


def phase_model(protocol: Protocol, params: np.ndarray) -> PhaseModel:
    """The exact Fourier phase model of a protocol at fixed parameters (one jitted, vmapped call)."""
    jp = compile_jax(protocol)
    batched = jax.jit(jax.vmap(jp.probs, in_axes=(None, 0)))
    n = protocol.n_qubits
    phis = 2 * np.pi * np.arange(2 * n + 1) / (2 * n + 1)
    table = dict(zip(phis.tolist(), np.asarray(batched(np.asarray(params, dtype=np.float64), phis))))
    return PhaseModel.from_probs_fn(lambda x: table[x], n)


def fisher_summary(design: Design, params: np.ndarray, model: PhaseModel | None = None) -> dict:
    """QFI, CFI at the true phase, and the closed-form limits for the design's (n, eta)."""
    jp = compile_jax(design.protocol)
    n = design.protocol.n_qubits
    qfi = float(jax.jit(jp.qfi)(np.asarray(params, dtype=np.float64)))
    model = model or phase_model(design.protocol, params)
    cfi = float(model.cfi(design.phase_rad))
    limits = bounds_table(n, design.eta)
    return {"qfi": qfi, "cfi": cfi, "sql": limits["sql"], "hl": limits["hl"],
            "qfi_over_sql": qfi / limits["sql"], "cfi_over_qfi": cfi / qfi if qfi > 0 else None,
            "qfi_over_hl": qfi / limits["hl"], "ghz": limits["ghz"], "asymptotic_bound": limits["asymptotic_bound"],
            "channel_extension_bound": limits["channel_extension_bound"]}


def analyse(design: Design, params: np.ndarray, sample: SampleResult) -> dict:
    """Field estimate, Cramer-Rao comparison and honest sensing-time figures from counts.

    Pure function of the design, the parameters and the data.
    """
    ec = design.config.execution
    model = phase_model(design.protocol, params)
    fisher = fisher_summary(design, params, model)
    cfi = max(float(model.cfi(design.phase_rad)), 1e-300)
    dphi = design.dphi_dA
    reps = mle_phase(model, sample.counts, phi0=0.0)
    pooled = mle_phase(model, sample.counts.sum(axis=0), phi0=0.0)
    total = int(sample.counts.sum())
    field_reps = reps.phi / dphi
    crb_rep = crb_field_std(cfi, sample.shots, dphi)
    emp = float(np.std(field_reps, ddof=1))
    phase = design.phase_rad
    snr1 = shots_for_snr(cfi, phase)
    target = shots_for_relative_precision(cfi, phase, ec.target_relative_precision)
    return {
        "fisher": fisher,
        "estimate": {
            "field_T": float(pooled.phi[0] / dphi),
            "field_std_T": float(pooled.phi_std[0] / abs(dphi)),
            "phase_rad": float(pooled.phi[0]),
            "phase_std_rad": float(pooled.phi_std[0]),
            "total_shots": total,
            "true_field_T": design.amplitude_T,
            "z_score": float((pooled.phi[0] - phase) / pooled.phi_std[0]),
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
            "field_std_T": crb_field_std(cfi, total, dphi),
            "phase_std_rad": crb_phase_std(cfi, total),
            "field_std_qfi_T": crb_field_std(fisher["qfi"], total, dphi),
            "field_std_sql_T": crb_field_std(fisher["sql"], total, dphi),
            "field_std_per_repetition_T": crb_rep,
        },
        "sensitivity_T_per_sqrtHz": sensitivity(cfi, dphi, design.shot_time_s),
        "sensitivity_qfi_T_per_sqrtHz": sensitivity(fisher["qfi"], dphi, design.shot_time_s),
        "honesty": {
            "snr_per_shot": abs(phase) * cfi**0.5,
            "snr_achieved": abs(phase) / float(pooled.phi_std[0]),
            "shots_for_snr1": snr1,
            "time_for_snr1_s": snr1 * design.shot_time_s,
            "target_relative_precision": ec.target_relative_precision,
            "shots_for_target": target,
            "time_for_target_s": target * design.shot_time_s,
            "resolved": bool(abs(phase) > 3 * float(pooled.phi_std[0])),
        },
    }


def _circuit_text(protocol: Protocol, params: np.ndarray) -> str:
    from qiskit import qasm3

    qc = to_qiskit(protocol)
    binding = {p: v for p, v in parameter_binding(qc, params, 0.0).items() if p.name != "phi"}
    header = "// qlearn-sense optimized protocol; input phi = signal phase per qubit (rad)\n"
    header += "// protocol: " + json.dumps(protocol_spec(protocol)) + "\n"
    header += "// params: " + json.dumps([float(x) for x in params]) + "\n"
    return header + qasm3.dumps(qc.assign_parameters(binding))


def protocol_spec(protocol: Protocol) -> dict:
    """A JSON description from which :func:`qlearn_sense.protocol.build_protocol` rebuilds the gates."""
    meta = dict(protocol.meta)
    return {"n_qubits": protocol.n_qubits, "preparation": meta.get("preparation"),
            "measurement": meta.get("measurement"), "prep_layers": int(meta.get("prep_layers", 0)),
            "meas_layers": int(meta.get("meas_layers", 0)),
            "noise": {"eta": list(protocol.noise.eta), "gamma": list(protocol.noise.gamma),
                      "p01": list(protocol.noise.p01), "p10": list(protocol.noise.p10)}}


@dataclass
class RunOutcome:
    """A finished (or submitted) run: its folder and its results dict."""

    run_dir: Path
    results: dict


def new_run_id(config: ExperimentConfig) -> str:
    """``YYYYmmdd-HHMMSS-<config hash>`` (UTC)."""
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S") + "-" + config_hash(config)[:8]


def _header(config: ExperimentConfig, design: Design, run_id: str, backend: str) -> dict:
    return {
        "schema": SCHEMA, "name": config.name, "run_id": run_id,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config_hash": config_hash(config), "backend": backend, "seed": config.seed,
        "n_qubits": design.protocol.n_qubits, "shots": config.execution.shots,
        "repetitions": config.execution.repetitions,
        "sensor": {
            "kind": config.sensor.kind, "eta": design.eta, "eta_per_qubit": list(design.noise.eta),
            "phase_rad": design.phase_rad, "interrogation_time_s": design.interrogation_time_s,
            "shot_time_s": design.shot_time_s, "shot_rate_Hz": 1.0 / design.shot_time_s,
            "gyromagnetic_ratio_Hz_per_T": design.gyromagnetic_ratio_Hz_per_T,
            "dphi_dB_rad_per_T": design.dphi_dA, "sequence": config.sensor.sequence,
            "amplitude_damping": list(design.noise.gamma), "readout_p01": list(design.noise.p01),
            "readout_p10": list(design.noise.p10),
        },
        "signal": {"kind": config.signal.kind, "amplitude_T": design.amplitude_T},
        "protocol": protocol_spec(design.protocol),
    }


def run_experiment(config: ExperimentConfig, *, backend: str | None = None, out_root: str | Path = "experiments",
                   run_id: str | None = None, progress: Progress | None = None,
                   design: Design | None = None, wait: bool | None = None) -> RunOutcome:
    """Run one experiment end to end and write its run folder.

    Folder ``<out_root>/<config.name>/<run_id>/``: ``config.yaml`` (validated,
    defaults filled), ``results.json``, ``state.json`` (optimized parameters),
    ``counts.npy``, ``optimized_circuit.qasm`` (OpenQASM 3, ``phi`` as input),
    ``plots/*.png``.

    Args:
      config: validated config.
      backend: backend name overriding ``execution.backend``.
      out_root: root of run folders.
      run_id: folder name (default: time stamp plus config hash).
      progress: progress callback.
      design: a precomputed design (default: :func:`make_design` of the config,
        with the backend's calibrated noise when ``sensor.from_backend`` is set).
      wait: asynchronous (IBM hardware) backends: wait for the job and finish
        the run (default ``execution.wait``); otherwise return right after the
        submission with ``results.json`` marked ``status: "submitted"`` (finish
        it with :func:`fetch_run`).

    Returns:
      :class:`RunOutcome`.

    Raises:
      ValueError: unknown backend (the message lists valid names).
      qlearn_sense.experiments.DesignError: impossible design.
    """
    from qlearn_sense.experiments._plots import plot_run

    backend_name = backend or config.execution.backend
    be = get_backend(backend_name).configure(**backend_options(config))
    if be.asynchronous:
        be.connect()  # fail on a missing account or network before optimizing
    design = design or make_design(config, noise=backend_noise(config))
    run_id = run_id or new_run_id(config)
    run_dir = Path(out_root) / config.name / run_id
    (run_dir / "plots").mkdir(parents=True, exist_ok=True)
    atomic_write_text(run_dir / "config.yaml", config_to_yaml(config))

    t0 = time.perf_counter()
    opt = optimize_design(design, progress=progress)
    opt_seconds = time.perf_counter() - t0
    params = np.asarray(opt.params)
    oc = config.optimizer
    results = _header(config, design, run_id, backend_name)
    results["optimization"] = {
        "objective": oc.objective, "optimizer": oc.name, "learning_rate": oc.learning_rate, "steps": oc.steps,
        "restarts": oc.restarts, "value": opt.value, "final_values": opt.final_values, "trace": opt.trace,
        "params": params, "seconds": opt_seconds,
    }
    atomic_write_text(run_dir / "state.json", json.dumps({"params": params.tolist(), "backend": backend_name,
                                                          **_noise_state(design)}) + "\n")
    atomic_write_text(run_dir / "optimized_circuit.qasm", _circuit_text(design.protocol, params))
    device = device_record(be, design.protocol, run_dir)
    if device is not None:
        results["device"] = device
    if be.asynchronous:
        return submit_run(design, params, be, run_dir, results,
                          wait=config.execution.wait if wait is None else wait, progress=progress)
    if progress is not None:
        progress("sampling", 0, 1)
    sample = execute(design, params, be)
    if progress is not None:
        progress("sampling", 1, 1)
    np.save(run_dir / "counts.npy", sample.counts)
    results.update(analyse(design, params, sample))
    results["cfi_check"] = cfi_check(design, params, sample, noise_from_protocol=be.noise_from_protocol)
    extra_analyses(design, params, sample, be, run_dir, results, progress=progress)
    results["versions"] = versions()
    save_results(results, run_dir / "results.json")
    plot_run(results, run_dir / "plots")
    return RunOutcome(run_dir=run_dir, results=results)


def _store_shadows(sh: dict, run_dir: Path, results: dict) -> None:
    """Raw shadow data to ``shadows.npz``, the estimates into ``results["shadows"]``, the plot."""
    from qlearn_sense.experiments._plots import plot_shadows

    recipes, bits = sh.pop("recipes"), sh.pop("bits")
    np.savez_compressed(run_dir / "shadows.npz", bits=np.asarray(bits, dtype=np.uint8),
                        **({} if recipes is None else {"recipes": np.asarray(recipes, dtype=np.int8)}))
    results["shadows"] = sh
    plot_shadows(sh, run_dir / "plots" / "shadows.png")


def _device_shadow_pubs(design: Design, params: np.ndarray) -> list:
    """The shadows batches a device run submits as PUBs 1 (snapshots) and 2 (robust calibration)."""
    from qlearn_sense.experiments._shadows_run import plan_shadows, shadow_pubs

    if design.config.shadows is None or design.config.shadows.ensemble == "clifford":
        return []
    plan = plan_shadows(design, seed=derive_seeds(design.config.seed)["shadows"])
    return shadow_pubs(design, params, plan)


def extra_analyses(design: Design, params: np.ndarray, sample: SampleResult, backend: AbstractBackend,
                   run_dir: Path, results: dict, *, progress: Progress | None = None) -> None:
    """Classical shadows and detection, when the config asks for them (results updated in place).

    Raw shadow data go to ``shadows.npz``; detection curves to ``detection_curves.json``
    and plots ``roc.png``, ``error_vs_shots_detection.png``.
    """
    from qlearn_sense.experiments._detection_run import analyse_detection
    from qlearn_sense.experiments._plots import plot_detection
    from qlearn_sense.experiments._shadows_run import run_shadows

    seeds = derive_seeds(design.config.seed)
    if design.config.shadows is not None:
        if progress is not None:
            progress("classical shadows", 0, 1)
        _store_shadows(run_shadows(design, params, backend, seed=seeds["shadows"]), run_dir, results)
        if progress is not None:
            progress("classical shadows", 1, 1)
    if design.config.detection is not None:
        if progress is not None:
            progress("detection", 0, 1)
        det = analyse_detection(design, params, sample.counts.sum(axis=0), seed=seeds["detection"])
        curves = det.pop("curves")
        atomic_write_text(run_dir / "detection_curves.json", json.dumps(curves) + "\n")
        results["detection"] = det
        plot_detection(curves, run_dir / "plots")
        if progress is not None:
            progress("detection", 1, 1)


def run_config_file(path: str | Path, **kwargs) -> RunOutcome:
    """Load a YAML config and :func:`run_experiment` it."""
    return run_experiment(load_config(path), **kwargs)


# -- devices and hardware runs (submit now, fetch later) ------------------------------------------


def backend_options(config: ExperimentConfig) -> dict:
    """Compilation options for device backends from a config (simulators ignore them).

    ``optimization_level`` and ``transpile_seed`` from ``execution``; with
    ``sensor.from_backend``, the sensor qubits as the initial layout and the
    interrogation time as a delay before the encoding.
    """
    opts = {"optimization_level": config.execution.optimization_level,
            "seed_transpiler": config.execution.transpile_seed}
    if config.sensor.from_backend is not None:
        opts["interrogation_time_s"] = config.sensor.interrogation_time_s
        opts["initial_layout"] = config.sensor.qubits or list(range(config.protocol.n_qubits))
    return opts


def backend_noise(config: ExperimentConfig):
    """The calibrated protocol noise when ``sensor.from_backend`` is set, else None.

    The sensor qubits are the first ``protocol.n_qubits`` of ``sensor.qubits``
    (``0..n-1`` when not listed), so a sweep over register sizes reuses one list.

    Raises:
      DesignError: fewer physical qubits listed than ``protocol.n_qubits``.
    """
    from qlearn_sense.backends import calibrated_noise

    sc = config.sensor
    if sc.from_backend is None:
        return None
    n = config.protocol.n_qubits
    qubits = None if sc.qubits is None else list(sc.qubits)
    if qubits is not None and len(qubits) < n:
        raise DesignError(f"sensor.qubits = {qubits} lists {len(qubits)} physical qubits; "
                          f"the design needs n_qubits = {n}")
    return calibrated_noise(sc.from_backend, None if qubits is None else qubits[:n], sc.interrogation_time_s,
                            n_qubits=n)


def device_record(backend: AbstractBackend, protocol: Protocol, run_dir: Path) -> dict | None:
    """For device backends: write ``isa_circuit.qasm`` and return the compilation record (layout, ISA hash)."""
    compile_ = getattr(backend, "compile", None)
    if compile_ is None:
        return None
    from qiskit import qasm3

    comp = compile_(protocol)
    atomic_write_text(run_dir / "isa_circuit.qasm", qasm3.dumps(comp.isa))
    o = comp.options
    return {"backend": backend.name, "layout": comp.layout, "isa_hash": comp.isa_hash,
            "optimization_level": o.optimization_level, "seed_transpiler": o.seed_transpiler,
            "initial_layout": list(o.initial_layout) if o.initial_layout is not None else None,
            "interrogation_delay_s": o.interrogation_time_s, "isa_ops": dict(comp.isa.count_ops())}


def _noise_state(design: Design) -> dict:
    if design.config.sensor.from_backend is None:
        return {}
    n = design.noise
    return {"noise": {"eta": list(n.eta), "gamma": list(n.gamma), "p01": list(n.p01), "p10": list(n.p10),
                      "from_backend": design.config.sensor.from_backend}}


def cfi_check(design: Design, params: np.ndarray, sample: SampleResult, *, noise_from_protocol: bool = True) -> dict:
    """Simulated vs measured Fisher information of the run.

    ``cfi_model`` is the protocol model's CFI at the true phase (rad^-2 per
    shot); ``cfi_data`` is measured: ``1 / (shots var(phi_hat))`` over the
    repetitions' MLEs, with relative standard error ``sqrt(2 / (R - 1))``.
    ``tvd`` is the total-variation distance between the pooled outcome
    frequencies and the model's probabilities (``tvd_sampling`` its typical
    size from shot noise alone).
    """
    model = phase_model(design.protocol, params)
    cfi_model = float(model.cfi(design.phase_rad))
    reps = mle_phase(model, sample.counts, phi0=0.0)
    r = sample.counts.shape[0]
    var = float(np.var(reps.phi, ddof=1)) if r > 1 else float("nan")
    cfi_data = 1.0 / (sample.shots * var) if var > 0 else None
    pooled = sample.counts.sum(axis=0)
    freqs = pooled / max(pooled.sum(), 1)
    p = np.asarray(model.probs(design.phase_rad), dtype=np.float64).reshape(-1)
    return {"cfi_model": cfi_model, "cfi_data": cfi_data,
            "cfi_data_rel_std": float(np.sqrt(2.0 / (r - 1))) if r > 1 else None,
            "data_over_model": cfi_data / cfi_model if cfi_data and cfi_model > 0 else None,
            "tvd": float(0.5 * np.abs(freqs - p).sum()),
            "tvd_sampling": float(0.5 * np.sqrt(p * (1 - p) / max(pooled.sum(), 1)).sum() * np.sqrt(2 / np.pi)),
            "noise": "protocol model" if noise_from_protocol else "device (calibrated model for the design)"}


def submit_run(design: Design, params: np.ndarray, backend: AbstractBackend, run_dir: Path, results: dict, *,
               wait: bool = False, progress: Progress | None = None) -> RunOutcome:
    """Submit the run's PUB to an asynchronous backend, record it, write a ``submitted`` results.json.

    With ``wait`` the job is awaited and the run finished (:func:`finish_run`).
    """
    config = design.config
    ec = config.execution
    batch = np.tile(np.asarray(params, dtype=np.float64), (ec.repetitions, 1))
    results["status"] = "submitting"  # the run folder is complete before anything is sent
    results["versions"] = versions()
    save_results(results, run_dir / "results.json")
    if progress is not None:
        progress("submitting", 0, 1)
    common = {"run_dir": run_dir, "run_id": run_dir.name, "config_name": config.name,
              "config_hash": config_hash(config)}
    seeds = derive_seeds(config.seed)
    records = [backend.submit(design.protocol, batch, design.phase_rad, ec.shots, seed=seeds["sample"], pub=0,
                              **common)]
    _write_jobs(backend, run_dir)
    # classical shadows: one shot per basis setting, as PUB 1 (and PUB 2 for the robust calibration)
    for pub, (protocol, shadow_batch) in enumerate(_device_shadow_pubs(design, params), start=1):
        records.append(backend.submit(protocol, shadow_batch, design.phase_rad, 1, seed=seeds["shadows"] + pub - 1,
                                      pub=pub, **common))
        _write_jobs(backend, run_dir)
    if progress is not None:
        progress("submitting", 1, 1)
    results["status"] = "submitted"
    results["jobs"] = [_job_summary(r) for r in records]
    results["versions"] = versions()
    save_results(results, run_dir / "results.json")
    if wait:
        return fetch_run(run_dir, wait=True, backend=backend)
    return RunOutcome(run_dir=run_dir, results=results)


def _job_summary(record) -> dict:
    return {"job_id": record.job_id, "backend": record.backend, "pub": record.pub, "attempt": record.attempt,
            "status": record.status, "layout": record.layout, "isa_hash": record.isa_hash,
            "submitted_at": record.submitted_at, "error": record.error}


def _write_jobs(backend, run_dir: Path) -> None:
    """Copy the run's ledger rows to ``jobs.json`` in the run folder."""
    rows = [r.to_dict() for r in backend.ledger.for_run(run_dir)]
    atomic_write_text(run_dir / "jobs.json", json.dumps(rows, indent=2) + "\n")


def _load_run(run_dir: Path) -> tuple[Design, np.ndarray, dict]:
    from qlearn_sense.protocol import Noise

    config = load_config(run_dir / "config.yaml")
    state = json.loads((run_dir / "state.json").read_text())
    noise = None
    if config.sensor.from_backend is not None:
        noise = (Noise(**{k: tuple(v) for k, v in state["noise"].items() if k != "from_backend"})
                 if "noise" in state else backend_noise(config))
    return make_design(config, noise=noise), np.asarray(state["params"], dtype=np.float64), state


def finish_run(run_dir: str | Path, sample: SampleResult, *, design: Design | None = None,
               shadow_bits: list[np.ndarray] | None = None) -> RunOutcome:
    """Analyse data of a submitted run exactly as a local run would and write its results.json.

    Re-derives the design from ``config.yaml`` (the calibrated noise from
    ``state.json``), loads the parameters from ``state.json``, runs
    :func:`analyse` (and detection, when configured) and writes
    ``results.json``, ``counts.npy`` and the plots.

    Args:
      run_dir: the run folder written by :func:`run_experiment`.
      sample: the data (counts of shape (repetitions, 2**n)).
      design: the design, when already at hand.
      shadow_bits: asynchronous backends: the bits (S, n) of the shadows PUB
        and, for robust shadows, of the calibration PUB.

    Returns:
      :class:`RunOutcome` with the complete results.
    """
    from dataclasses import replace

    from qlearn_sense.experiments._plots import plot_run
    from qlearn_sense.experiments._results import load_results

    run_dir = Path(run_dir)
    loaded, params, state = _load_run(run_dir)
    design = design or loaded
    config = design.config
    try:
        previous = load_results(run_dir, require_complete=False)
    except Exception:  # noqa: BLE001 - rebuild the header when the submitted file is missing
        previous = {}
    results = _header(config, design, run_dir.name, state.get("backend", sample.backend))
    for key in ("created", "optimization", "device"):
        if key in previous:
            results[key] = previous[key]
    np.save(run_dir / "counts.npy", sample.counts)
    results.update(analyse(design, params, sample))
    results["cfi_check"] = cfi_check(design, params, sample, noise_from_protocol=False)
    if "jobs" in previous:
        results["jobs"] = previous["jobs"]
    be = get_backend(state.get("backend", sample.backend))
    shadows_async = be.asynchronous and config.shadows is not None
    extra_analyses(replace(design, config=config.model_copy(update={"shadows": None})) if shadows_async else design,
                   params, sample, be, run_dir, results)
    if shadows_async:
        from qlearn_sense.experiments._shadows_run import CLIFFORD_LOCAL_ONLY, analyse_shadows, plan_shadows

        if shadow_bits:

            plan = plan_shadows(design, seed=derive_seeds(config.seed)["shadows"])
            _store_shadows(analyse_shadows(design, params, plan, shadow_bits[0],
                                           shadow_bits[1] if len(shadow_bits) > 1 else None, backend_name=be.name),
                           run_dir, results)
        else:
            results["shadows"] = {
                "status": "not_run",
                "reason": (CLIFFORD_LOCAL_ONLY if config.shadows.ensemble == "clifford" else
                           "no shadows PUB was submitted with this run; resubmit it to collect shadows"),
            }
    results["versions"] = versions()
    save_results(results, run_dir / "results.json")
    plot_run(results, run_dir / "plots")
    return RunOutcome(run_dir=run_dir, results=results)


def fetch_run(run_dir: str | Path, *, wait: bool = False, backend: AbstractBackend | None = None,
              timeout_s: float | None = None) -> RunOutcome:
    """Finish a submitted run when its job is done: refresh, download, analyse, write results.json.

    Returns:
      :class:`RunOutcome`; ``results["status"]`` stays ``"submitted"`` (with the
      job's status in ``results["jobs"]``) while the job is not done, and is
      ``"error"`` with the service's message when it failed (resubmit with
      :func:`resubmit_run`).

    Raises:
      qlearn_sense.experiments.ResultsError: not a run folder.
      ValueError: the run has no recorded jobs.
    """
    from qlearn_sense.experiments._results import load_results

    run_dir = Path(run_dir)
    previous = load_results(run_dir, require_complete=False)
    if previous.get("status") not in ("submitting", "submitted", "error"):
        return RunOutcome(run_dir=run_dir, results=previous)
    be = backend or get_backend(json.loads((run_dir / "state.json").read_text())["backend"])
    records = [r for r in be.ledger.for_run(run_dir)]
    if not records:
        raise ValueError(f"run {run_dir} has no jobs in the ledger {be.ledger.path}")
    latest = []
    for pub in sorted({r.pub for r in records}):
        record = be.ledger.latest(run_dir, pub)
        record = be.wait(record, timeout_s=timeout_s) if wait else be.refresh(record)
        if record.job_id is None and not record.final:
            raise ValueError(f"run {run_dir}: the submission was interrupted and the service shows no job with tag "
                             f"{record.tag} yet; run `qlearn-sense jobs` later, or `qlearn-sense resubmit {run_dir}`")
        latest.append(record)
    _write_jobs(be, run_dir)
    previous["jobs"] = [_job_summary(r) for r in latest]
    done = all(r.status == "DONE" for r in latest)
    if not done:
        previous["status"] = "error" if any(r.final and r.status != "DONE" for r in latest) else "submitted"
    save_results(previous, run_dir / "results.json")
    if not done:
        return RunOutcome(run_dir=run_dir, results=previous)
    n = int(previous["n_qubits"])
    sample = be.result(latest[0], n)
    shadow_bits = [be.result(r, n).bits()[:, 0, :] for r in latest[1:]]
    _write_jobs(be, run_dir)
    return finish_run(run_dir, sample, shadow_bits=shadow_bits or None)


def resubmit_run(run_dir: str | Path, *, backend: AbstractBackend | None = None) -> RunOutcome:
    """Submit again the PUBs of a run whose jobs ended in ERROR or CANCELLED (same design and parameters).

    PUBs with a live or finished job are not submitted again.

    Raises:
      ValueError: every PUB of the run has a live or done job (never submitted twice).
    """
    from qlearn_sense.experiments._results import load_results

    run_dir = Path(run_dir)
    design, params, state = _load_run(run_dir)
    be = backend or get_backend(state["backend"]).configure(**backend_options(design.config))
    pubs = sorted({r.pub for r in be.ledger.for_run(run_dir)}) or [0]
    live = [be.ledger.active(run_dir, pub) for pub in pubs]
    if all(r is not None and r.job_id is not None for r in live):
        raise ValueError(f"run {run_dir} already has job(s) " + ", ".join(f"{r.job_id} ({r.status})" for r in live)
                         + "; none failed, so it is not submitted again")
    results = load_results(run_dir, require_complete=False)
    return submit_run(design, params, be, run_dir, results)
