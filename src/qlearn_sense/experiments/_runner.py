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
from qlearn_sense.experiments._design import Design, make_design
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
                   design: Design | None = None) -> RunOutcome:
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
      design: a precomputed design (default: :func:`make_design` of the config).

    Returns:
      :class:`RunOutcome`.

    Raises:
      ValueError: unknown backend (the message lists valid names).
      qlearn_sense.experiments.DesignError: impossible design.
    """
    from qlearn_sense.experiments._plots import plot_run

    backend_name = backend or config.execution.backend
    be = get_backend(backend_name)
    design = design or make_design(config)
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
    atomic_write_text(run_dir / "state.json", json.dumps({"params": params.tolist(), "backend": backend_name}) + "\n")
    atomic_write_text(run_dir / "optimized_circuit.qasm", _circuit_text(design.protocol, params))
    if progress is not None:
        progress("sampling", 0, 1)
    sample = execute(design, params, be)
    if progress is not None:
        progress("sampling", 1, 1)
    np.save(run_dir / "counts.npy", sample.counts)
    results.update(analyse(design, params, sample))
    extra_analyses(design, params, sample, be, run_dir, results, progress=progress)
    results["versions"] = versions()
    save_results(results, run_dir / "results.json")
    plot_run(results, run_dir / "plots")
    return RunOutcome(run_dir=run_dir, results=results)


def extra_analyses(design: Design, params: np.ndarray, sample: SampleResult, backend: AbstractBackend,
                   run_dir: Path, results: dict, *, progress: Progress | None = None) -> None:
    """Classical shadows and detection, when the config asks for them (results updated in place).

    Raw shadow data go to ``shadows.npz``; detection curves to ``detection_curves.json``
    and plots ``roc.png``, ``error_vs_shots_detection.png``.
    """
    from qlearn_sense.experiments._detection_run import analyse_detection
    from qlearn_sense.experiments._plots import plot_detection, plot_shadows
    from qlearn_sense.experiments._shadows_run import run_shadows

    seeds = derive_seeds(design.config.seed)
    if design.config.shadows is not None:
        if progress is not None:
            progress("classical shadows", 0, 1)
        sh = run_shadows(design, params, backend, seed=seeds["shadows"])
        recipes, bits = sh.pop("recipes"), sh.pop("bits")
        np.savez_compressed(run_dir / "shadows.npz", bits=np.asarray(bits, dtype=np.uint8),
                            **({} if recipes is None else {"recipes": np.asarray(recipes, dtype=np.int8)}))
        results["shadows"] = sh
        plot_shadows(sh, run_dir / "plots" / "shadows.png")
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
