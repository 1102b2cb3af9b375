"""Hardware runs: submit now, fetch later, resubmit failed PUBs; device compilation records.

A run on an asynchronous backend (IBM Quantum) stops after its PUBs are
submitted and recorded in the job ledger; :func:`fetch_run` finishes it with
exactly the analyses of a local run (:func:`finish_run`).

Ledger PUB numbers of one run: 0..999 the main job (0 the counts, 1-2 the
shadows), 1000 + r adaptive round r (submitted at fetch time by the adaptive
analysis, :mod:`._adaptive_rounds`), 2000+ network PUBs. Fetch, resubmit and
finish treat only PUBs below :data:`MAIN_PUB_LIMIT` as the main job's.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from qlearn_sense.backends import AbstractAsyncBackend, AbstractBackend, AbstractDeviceBackend, SampleResult
from qlearn_sense.backends import get_backend, require_async
from qlearn_sense.config import config_hash, load_config
from qlearn_sense.experiments._prepared import PreparedDesign, prepare_design
from qlearn_sense.experiments._results import (
    ResultsError,
    atomic_save_npy,
    atomic_write_text,
    load_results,
    save_results,
    versions,
)
from qlearn_sense.experiments._runner import (
    RunOutcome,
    backend_noise,
    backend_options,
    header,
    plot_core,
    run_analyses,
    write_analysis,
)
from qlearn_sense.protocol import Protocol

MAIN_PUB_LIMIT = 1000
"""Ledger PUBs below this belong to the main job (PUB 0 the counts, 1-2 the shadows); adaptive rounds
are 1000 + r (:data:`qlearn_sense.experiments._adaptive_rounds.ADAPTIVE_PUB_OFFSET`), network PUBs 2000+."""


def main_pubs(records) -> list[int]:
    """The main job's PUB numbers among ledger records (those below :data:`MAIN_PUB_LIMIT`), sorted."""
    return sorted({r.pub for r in records if r.pub < MAIN_PUB_LIMIT})


def device_record(backend: AbstractBackend, protocol: Protocol, run_dir: Path) -> dict | None:
    """For device backends: write ``isa_circuit.qasm`` and return the compilation record (layout, ISA hash)."""
    if not isinstance(backend, AbstractDeviceBackend):
        return None
    from qiskit import qasm3

    comp = backend.compile(protocol)
    atomic_write_text(run_dir / "isa_circuit.qasm", qasm3.dumps(comp.isa))
    o = comp.options
    return {"backend": backend.name, "layout": comp.layout, "isa_hash": comp.isa_hash,
            "optimization_level": o.optimization_level, "seed_transpiler": o.seed_transpiler,
            "initial_layout": list(o.initial_layout) if o.initial_layout is not None else None,
            "interrogation_delay_s": o.interrogation_time_s, "isa_ops": dict(comp.isa.count_ops())}


def noise_state(design) -> dict:
    """The calibrated noise of a ``from_backend`` design, for ``state.json`` (empty otherwise)."""
    if design.config.sensor.from_backend is None:
        return {}
    n = design.noise
    return {"noise": {"eta": list(n.eta), "gamma": list(n.gamma), "p01": list(n.p01), "p10": list(n.p10),
                      "from_backend": design.config.sensor.from_backend}}


def _device_shadow_pubs(prepared: PreparedDesign, params: np.ndarray) -> list:
    """The shadows batches a device run submits as PUBs 1 (snapshots) and 2 (robust calibration)."""
    from qlearn_sense.experiments._shadows_run import plan_shadows, shadow_pubs

    if prepared.config.shadows is None or prepared.config.shadows.ensemble == "clifford":
        return []
    plan = plan_shadows(prepared, seed=prepared.seeds["shadows"])
    return shadow_pubs(prepared, params, plan)


def _job_summary(record) -> dict:
    return {"job_id": record.job_id, "backend": record.backend, "pub": record.pub, "attempt": record.attempt,
            "status": record.status, "layout": record.layout, "isa_hash": record.isa_hash,
            "submitted_at": record.submitted_at, "error": record.error}


def _write_jobs(backend: AbstractAsyncBackend, run_dir: Path) -> None:
    """Copy the run's ledger rows to ``jobs.json`` in the run folder."""
    rows = [r.to_dict() for r in backend.ledger.for_run(run_dir)]
    atomic_write_text(run_dir / "jobs.json", json.dumps(rows, indent=2) + "\n")


def submit_run(design, params: np.ndarray, backend: AbstractAsyncBackend, run_dir: Path, results: dict, *,
               wait: bool = False, progress=None) -> RunOutcome:
    """Submit the run's PUBs to an asynchronous backend, record them, write a ``submitted`` results.json.

    With ``wait`` the jobs are awaited and the run finished (:func:`fetch_run`).
    """
    prepared = prepare_design(design)
    config = prepared.config
    ec = config.execution
    batch = np.tile(np.asarray(params, dtype=np.float64), (ec.repetitions, 1))
    results["status"] = "submitting"  # the run folder is complete before anything is sent
    results["versions"] = versions()
    save_results(results, run_dir / "results.json")
    if progress is not None:
        progress("submitting", 0, 1)
    common = {"run_dir": run_dir, "run_id": run_dir.name, "config_name": config.name,
              "config_hash": config_hash(config)}
    seeds = prepared.seeds
    records = [backend.submit(prepared.protocol, batch, prepared.phase_rad, ec.shots, seed=seeds["sample"], pub=0,
                              **common)]
    _write_jobs(backend, run_dir)
    # classical shadows: one shot per basis setting, as PUB 1 (and PUB 2 for the robust calibration)
    for pub, (protocol, shadow_batch) in enumerate(_device_shadow_pubs(prepared, params), start=1):
        records.append(backend.submit(protocol, shadow_batch, prepared.phase_rad, 1,
                                      seed=seeds["shadows"] + pub - 1, pub=pub, **common))
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


def _load_run(run_dir: Path) -> tuple[PreparedDesign, np.ndarray, dict]:
    from qlearn_sense.protocol import Noise

    try:
        state = json.loads((run_dir / "state.json").read_text())
    except FileNotFoundError:
        raise ResultsError(f"{run_dir} is not a run folder with optimized parameters (no state.json)") from None
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{run_dir / 'state.json'} is corrupt: {exc.msg} at line {exc.lineno}") from None
    config = load_config(run_dir / "config.yaml")
    noise = None
    if config.sensor.from_backend is not None:
        noise = (Noise(**{k: tuple(v) for k, v in state["noise"].items() if k != "from_backend"})
                 if "noise" in state else backend_noise(config))
    return prepare_design(config, noise=noise), np.asarray(state["params"], dtype=np.float64), state


def finish_run(run_dir: str | Path, sample: SampleResult, *, design=None,
               shadow_bits: list[np.ndarray] | None = None) -> RunOutcome:
    """Analyse data of a submitted run exactly as a local run would and write its results.json.

    Re-derives the design from ``config.yaml`` (the calibrated noise from
    ``state.json``), loads the parameters from ``state.json``, runs the
    registered analyses and writes ``results.json``, ``counts.npy`` and the plots.

    Args:
      run_dir: the run folder written by :func:`~qlearn_sense.experiments.run_experiment`.
      sample: the data (counts of shape (repetitions, 2**n)).
      design: the design, when already at hand.
      shadow_bits: asynchronous backends: the bits (S, n) of the shadows PUB
        and, for robust shadows, of the calibration PUB.

    Returns:
      :class:`RunOutcome` with the complete results.
    """
    from qlearn_sense.experiments._sections import shadows_result

    run_dir = Path(run_dir)
    loaded, params, state = _load_run(run_dir)
    prepared = prepare_design(design) if design is not None else loaded
    config = prepared.config
    try:
        previous = load_results(run_dir, require_complete=False)
    except ResultsError:  # rebuild the header when the submitted file is missing
        previous = {}
    results = header(config, prepared, run_dir.name, state.get("backend", sample.backend))
    for key in ("created", "optimization", "device"):
        if key in previous:
            results[key] = previous[key]
    atomic_save_npy(run_dir / "counts.npy", sample.counts)
    if "jobs" in previous:
        results["jobs"] = previous["jobs"]
    be = get_backend(state.get("backend", sample.backend))
    asynchronous = isinstance(be, AbstractAsyncBackend)
    shadows_async = asynchronous and config.shadows is not None
    try:  # the analyses get the run folder: adaptive rounds (PUBs 1000+) and network circuits (2000+) key on it
        run_analyses(prepared, params, sample, be, run_dir, results, skip=("shadows",) if shadows_async else ())
    finally:
        if asynchronous:
            _write_jobs(be, run_dir)  # PUBs the analyses submitted, also when interrupted
    if shadows_async:
        from qlearn_sense.experiments._shadows_run import CLIFFORD_LOCAL_ONLY, analyse_shadows, plan_shadows

        if shadow_bits:
            plan = plan_shadows(prepared, seed=prepared.seeds["shadows"])
            write_analysis(run_dir, results, shadows_result(analyse_shadows(
                prepared, params, plan, shadow_bits[0], shadow_bits[1] if len(shadow_bits) > 1 else None,
                backend_name=be.name)))
        else:
            results["shadows"] = {
                "status": "not_run",
                "reason": (CLIFFORD_LOCAL_ONLY if config.shadows.ensemble == "clifford" else
                           "no shadows PUB was submitted with this run; resubmit it to collect shadows"),
            }
    results["status"] = "done"
    results["versions"] = versions()
    save_results(results, run_dir / "results.json")
    plot_core(results, run_dir)
    return RunOutcome(run_dir=run_dir, results=results)


def _async_backend_of(run_dir: Path, action: str) -> AbstractAsyncBackend:
    try:
        name = json.loads((run_dir / "state.json").read_text())["backend"]
    except FileNotFoundError:
        raise ResultsError(f"{run_dir} is not a run folder (no state.json)") from None
    except (json.JSONDecodeError, KeyError):
        raise ResultsError(f"{run_dir / 'state.json'} is corrupt (no backend recorded)") from None
    return require_async(get_backend(name), action, run_dir=run_dir)


def fetch_run(run_dir: str | Path, *, wait: bool = False, backend: AbstractAsyncBackend | None = None,
              timeout_s: float | None = None) -> RunOutcome:
    """Finish a submitted run when its jobs are done: refresh, download, analyse, write results.json.

    Only the main job's PUBs (below :data:`MAIN_PUB_LIMIT`) decide whether the
    run can be finished; adaptive rounds (PUBs 1000 + r) are driven by the
    adaptive analysis inside :func:`finish_run`. A finished run whose adaptive
    rounds are still pending (``results["adaptive"]["hardware"]["complete"]``
    false) is finished again, which resumes the rounds without resubmitting
    finished ones.

    Returns:
      :class:`RunOutcome`; ``results["status"]`` stays ``"submitted"`` (with the
      job's status in ``results["jobs"]``) while a job is not done, and is
      ``"error"`` with the service's message when one failed (resubmit with
      :func:`resubmit_run`). A finished run is returned unchanged.

    Raises:
      qlearn_sense.experiments.ResultsError: not a run folder.
      BackendError: the run used a synchronous backend.
      ValueError: the run has no recorded jobs, or a submission's fate is unknown.
    """
    run_dir = Path(run_dir)
    from qlearn_sense.experiments._adaptive_run import rounds_pending

    previous = load_results(run_dir, require_complete=False)
    from qlearn_sense.experiments._network_backend import network_pending

    if (previous.get("status") not in ("submitting", "submitted", "error") and not rounds_pending(previous)
            and not network_pending(previous)):
        return RunOutcome(run_dir=run_dir, results=previous)
    be = backend or _async_backend_of(run_dir, "fetch")
    pubs = main_pubs(be.ledger.for_run(run_dir))
    if not pubs:
        raise ValueError(f"run {run_dir} has no jobs of its main PUBs (0..{MAIN_PUB_LIMIT - 1}) in the ledger "
                         f"{be.ledger.path}")
    latest = []
    for pub in pubs:
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


def resubmit_run(run_dir: str | Path, *, backend: AbstractAsyncBackend | None = None) -> RunOutcome:
    """Submit again the PUBs of a run whose jobs ended in ERROR or CANCELLED (same design and parameters).

    PUBs with a live or finished job are not submitted again. Only the main
    job's PUBs (below :data:`MAIN_PUB_LIMIT`) are considered: adaptive rounds
    and network PUBs are never touched here (a failed round is resubmitted by
    the next :func:`fetch_run`).

    Raises:
      BackendError: the run used a synchronous backend.
      ValueError: every PUB of the run has a live or done job (never submitted twice).
    """
    run_dir = Path(run_dir)
    be = backend or _async_backend_of(run_dir, "resubmit")
    prepared, params, state = _load_run(run_dir)
    if backend is None:
        be.configure(**backend_options(prepared.config))
    pubs = main_pubs(be.ledger.for_run(run_dir)) or [0]
    live = [be.ledger.active(run_dir, pub) for pub in pubs]
    if all(r is not None and r.job_id is not None for r in live):
        raise ValueError(f"run {run_dir} already has job(s) " + ", ".join(f"{r.job_id} ({r.status})" for r in live)
                         + "; none failed, so it is not submitted again")
    results = load_results(run_dir, require_complete=False)
    return submit_run(prepared, params, be, run_dir, results)


__all__ = ["MAIN_PUB_LIMIT", "device_record", "fetch_run", "finish_run", "main_pubs", "noise_state", "resubmit_run",
           "submit_run"]
