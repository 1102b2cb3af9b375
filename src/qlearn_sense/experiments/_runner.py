"""The main job: prepare the design once -> optimize -> execute -> registered analyses -> run folder.

The runner only sequences: the numerics live in the design (compiled once,
:mod:`._prepared`), the optimizer, the backends and the registered analyses
(:mod:`._sections`); every file goes through one atomic writer. A failed run
leaves its folder marked ``status: failed`` with the error; nothing already
written is lost.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from qlearn_sense.backends import AbstractAsyncBackend, AbstractBackend, BackendError, SampleResult, get_backend
from qlearn_sense.config import ExperimentConfig, config_hash, config_to_yaml, load_config
from qlearn_sense.experiments import _sections  # noqa: F401  (registers the core analyses)
from qlearn_sense.experiments._analysis import AnalysisContext, AnalysisResult, Progress, analyses_for
from qlearn_sense.experiments._design import Design, DesignError, make_design
from qlearn_sense.experiments._prepared import PreparedDesign, derive_seeds, prepare_design
from qlearn_sense.experiments._results import (
    SCHEMA,
    atomic_save_npy,
    atomic_savez,
    atomic_write_bytes,
    atomic_write_text,
    dumps,
    save_results,
    versions,
)
from qlearn_sense.experiments._rundir import create_run_dir
from qlearn_sense.optimize import OptimizationResult, make_optimizer, optimize_protocol
from qlearn_sense.protocol import Protocol, to_qiskit

__all__ = ["RunOutcome", "backend_noise", "backend_options", "derive_seeds", "execute", "optimize_design",
           "protocol_spec", "run_analyses", "run_config_file", "run_experiment", "write_analysis"]


def optimize_design(design: Design | PreparedDesign, *, progress: Progress | None = None) -> OptimizationResult:
    """Run the config's optax optimization of the design's protocol (seeded restarts).

    Uses the prepared design's compiled protocol (compiled once per run).
    """
    prepared = prepare_design(design)
    oc = prepared.config.optimizer

    def cb(step: int, values: np.ndarray) -> None:
        if progress is not None:
            progress(f"optimizing {oc.objective.upper()}", step + 1, oc.steps)

    return optimize_protocol(prepared.jp, prepared.protocol.n_params, prepared.protocol.n_prep_params,
                             objective=oc.objective, key=prepared.key("optimize"), phi=prepared.phase_rad,
                             optimizer=make_optimizer(oc.name, oc.learning_rate), steps=oc.steps,
                             restarts=oc.restarts, init_scale=oc.init_scale, callback=cb)


def execute(design: Design | PreparedDesign, params: np.ndarray, backend: AbstractBackend, *,
            seed: int | None = None) -> SampleResult:
    """Sample ``repetitions`` x ``shots`` at the true phase as one batch (one PUB).

    Returns:
      :class:`SampleResult` with counts of shape (repetitions, 2**n).
    """
    prepared = prepare_design(design)
    ec = prepared.config.execution
    seed = prepared.seeds["sample"] if seed is None else seed
    batch = np.tile(np.asarray(params, dtype=np.float64), (ec.repetitions, 1))
    return backend.run(prepared.protocol, batch, prepared.phase_rad, ec.shots, seed=seed)


def circuit_text(protocol: Protocol, params: np.ndarray) -> str:
    """The optimized protocol as OpenQASM 3 with a self-describing header (``phi`` stays an input)."""
    from qiskit import qasm3

    from qlearn_sense.protocol._qiskit import parameter_binding

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
    """A finished (or submitted, or failed) run: its folder and its results dict."""

    run_dir: Path
    results: dict


def header(config: ExperimentConfig, design: Design | PreparedDesign, run_id: str, backend: str) -> dict:
    """The identifying part of results.json: schema, run id, config hash, sensor physics, protocol."""
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


def write_analysis(run_dir: Path, results: dict, res: AnalysisResult) -> None:
    """Store one analysis: data under its key (the top level for an empty key), summary, warnings,
    flags, extra files and plots, each file through the atomic writer."""
    if res.key:
        results[res.key] = res.data
    else:
        results.update(res.data)
    name = res.key or "estimation"
    results.setdefault("summary", {})[name] = list(res.summary)
    if res.warnings:
        results.setdefault("warnings", []).extend(f"{name}: {w}" for w in res.warnings)
    if res.flags:
        results.setdefault("flags", {}).update(res.flags)
    for rel, content in res.files.items():
        path = run_dir / rel
        if isinstance(content, np.ndarray):
            atomic_save_npy(path, content)
        elif isinstance(content, dict) and rel.endswith(".npz"):
            atomic_savez(path, **content)
        elif isinstance(content, (dict, list)):
            atomic_write_text(path, dumps(content) if isinstance(content, dict) else json.dumps(content) + "\n")
        elif isinstance(content, bytes):
            atomic_write_bytes(path, content)
        else:
            atomic_write_text(path, str(content))
    for png, plot in res.plots.items():
        plot(run_dir / "plots" / png)


def run_analyses(prepared: PreparedDesign, params: np.ndarray, sample: SampleResult | None,
                 backend: AbstractBackend, run_dir: Path, results: dict, *, progress: Progress | None = None,
                 skip: tuple[str, ...] = ()) -> None:
    """Call every registered analysis that applies to the config, in order, and store each result."""
    for name, fn in analyses_for(prepared.config):
        if name in skip:
            continue
        ctx = AnalysisContext(config=prepared.config, backend=backend, seed=prepared.seeds.get(name, 0),
                              design=prepared, params=params, sample=sample, progress=progress,
                              run_dir=run_dir)
        write_analysis(run_dir, results, fn(ctx))


def mark_failed(run_dir: Path, results: dict, exc: BaseException, stage: str) -> None:
    """Record a failed (or interrupted) run in its results.json; files already written stay."""
    failed = {k: v for k, v in results.items() if k in ("schema", "name", "run_id", "created", "config_hash",
                                                      "backend", "seed", "n_qubits", "shots", "repetitions")}
    failed.setdefault("schema", SCHEMA)
    failed["status"] = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
    if stage == "submit":
        # a job the service may already have accepted must stay fetchable: keep the run 'submitting'
        failed.update({k: v for k, v in results.items() if k not in failed})
        failed["status"] = "submitting"
    failed["failed_stage"] = stage
    failed["error"] = (str(exc) or type(exc).__name__).splitlines()[0][:500]
    failed["versions"] = versions()
    try:
        save_results(failed, run_dir / "results.json")
    except OSError:  # pragma: no cover - the folder itself became unwritable
        pass


def _connect_and_check(be: AbstractBackend, protocol: Protocol) -> None:
    """Before any work: the ledger is writable, the account connects, the backend can run the protocol."""
    be.preflight()
    if isinstance(be, AbstractAsyncBackend):
        be.connect()
    reason = be.supports(protocol)
    if reason is not None:
        raise BackendError(reason)


def run_experiment(config: ExperimentConfig, *, backend: str | None = None, out_root: str | Path = "experiments",
                   run_id: str | None = None, progress: Progress | None = None,
                   design: Design | PreparedDesign | None = None, wait: bool | None = None,
                   force: bool = False) -> RunOutcome:
    """Run one experiment end to end and write its run folder.

    A ``protocol.engine: collective`` config without register form (``n_spins > 12`` or the
    'tact' preparation) runs on the local collective engine
    (:func:`~qlearn_sense.experiments._collective_main.run_collective_experiment`).

    Folder ``<out_root>/<config.name>/<run_id>/``: ``config.yaml`` (validated,
    defaults filled), ``results.json``, ``state.json`` (optimized parameters),
    ``counts.npy``, ``optimized_circuit.qasm`` (OpenQASM 3, ``phi`` as input),
    ``plots/*.png``, and each analysis's files.

    Everything that can be checked before work is checked first: the backend
    name, its account and ledger, whether it can run the protocol, and that the
    run folder can be created.

    Args:
      config: validated config.
      backend: backend name overriding ``execution.backend``.
      out_root: root of run folders.
      run_id: folder name (default: a unique time stamp, config hash and random suffix).
      progress: progress callback.
      design: a precomputed (or prepared) design (default: :func:`make_design`
        of the config, with the backend's calibrated noise when
        ``sensor.from_backend`` is set).
      wait: asynchronous (IBM hardware) backends: wait for the job and finish
        the run (default ``execution.wait``); otherwise return right after the
        submission with ``results.json`` marked ``status: "submitted"``.
      force: an existing ``run_id`` folder is moved aside instead of refused.

    Returns:
      :class:`RunOutcome`.

    Raises:
      ValueError: unknown backend (the message lists valid names).
      BackendError: the backend cannot run the protocol, or its account or ledger is unusable.
      RunDirError: the run folder exists (without ``force``) or cannot be written.
      qlearn_sense.experiments.DesignError: impossible design.
    """
    from qlearn_sense.experiments._hardware import device_record, noise_state, submit_run

    if config.protocol.collective_only and design is None:  # no register form: the collective engine runs it
        from qlearn_sense.experiments._collective_main import run_collective_experiment

        return run_collective_experiment(config, backend=backend, out_root=out_root, run_id=run_id,
                                         progress=progress, force=force)
    backend_name = backend or config.execution.backend
    be = get_backend(backend_name).configure(**backend_options(config))
    prepared = prepare_design(design or make_design(config, noise=backend_noise(config)))
    _connect_and_check(be, prepared.protocol)
    run_dir = create_run_dir(out_root, config, run_id, force=force)
    results = header(config, prepared, run_dir.name, backend_name)
    stage = "setup"
    try:
        atomic_write_text(run_dir / "config.yaml", config_to_yaml(config))
        stage = "optimize"
        t0 = time.perf_counter()
        opt = optimize_design(prepared, progress=progress)
        params = np.asarray(opt.params)
        oc = config.optimizer
        results["optimization"] = {
            "objective": oc.objective, "optimizer": oc.name, "learning_rate": oc.learning_rate, "steps": oc.steps,
            "restarts": oc.restarts, "value": opt.value, "final_values": opt.final_values, "trace": opt.trace,
            "qfi_stage_steps": oc.steps // 2 if oc.objective == "cfi" and prepared.protocol.n_prep_params else 0,
            "params": params, "seconds": time.perf_counter() - t0,
        }
        atomic_write_text(run_dir / "state.json", json.dumps({"params": params.tolist(), "backend": backend_name,
                                                              **noise_state(prepared)}) + "\n")
        atomic_write_text(run_dir / "optimized_circuit.qasm", circuit_text(prepared.protocol, params))
        stage = "compile"
        device = device_record(be, prepared.protocol, run_dir)
        if device is not None:
            results["device"] = device
        if be.asynchronous:
            stage = "submit"
            return submit_run(prepared, params, be, run_dir, results,
                              wait=config.execution.wait if wait is None else wait, progress=progress)
        stage = "sample"
        if progress is not None:
            progress("sampling", 0, 1)
        sample = execute(prepared, params, be)
        if progress is not None:
            progress("sampling", 1, 1)
        atomic_save_npy(run_dir / "counts.npy", sample.counts)
        stage = "analyse"
        run_analyses(prepared, params, sample, be, run_dir, results, progress=progress)
        results["status"] = "done"
        results["versions"] = versions()
        stage = "write"
        save_results(results, run_dir / "results.json")
        plot_core(results, run_dir)
        return RunOutcome(run_dir=run_dir, results=results)
    except BaseException as exc:
        mark_failed(run_dir, results, exc, stage)
        raise


def plot_core(results: dict, run_dir: Path) -> None:
    """The core plots (Fisher vs iterations, estimates vs CRB, error vs shots)."""
    from qlearn_sense.experiments._plots import plot_run

    plot_run(results, run_dir / "plots")


def run_config_file(path: str | Path, **kwargs) -> RunOutcome:
    """Load a YAML config and :func:`run_experiment` it."""
    return run_experiment(load_config(path), **kwargs)


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
