"""Network circuits on device backends: run, submit, fetch, and the likelihood model that matches the device.

A network circuit's noise (link damping and depolarizing, local dephasing,
common-mode field noise) is simulated, not made of gates: on a device
(``aer:<fake>``, ``ibm-local:<fake>``, ``ibm:<device>``) the bound circuit of
:func:`qlearn_sense.network.to_qiskit_network` runs without those channels and
the device's own noise applies. The maximum-likelihood estimate from device
counts therefore uses the bare circuit (:func:`without_channels`) and says so;
a G-test of the counts against that model (Cochran pooling, scipy.stats) flags
device noise the model leaves out.

On IBM hardware each strategy's circuit is one PUB of the run in the job
ledger, numbered from :data:`NETWORK_PUB_OFFSET` (the main job is PUB 0, the
shadows PUBs 1-2, adaptive rounds 1000 and up). The analysis runs when the
run is fetched: it finds the PUBs already in the ledger (never submitting a
finished, failed or unknown one again) or submits them, waits a bounded time
and reports ``pending`` with the job ids when they have not finished.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qlearn_sense.backends._base import (
    AbstractAsyncBackend,
    AbstractBackend,
    AbstractDeviceBackend,
    BackendError,
    CompiledCircuit,
)
from qlearn_sense.experiments._estimation_run import goodness_of_fit
from qlearn_sense.network._sim import NetworkCircuit, compile_network, device_network_circuit, without_channels

NETWORK_PUB_OFFSET = 2000
"""Ledger PUB number of the first network circuit of a run (strategy i is PUB 2000 + i)."""

MISFIT_P_VALUE = 1e-3
"""G-test p-value below which the counts are said to misfit the likelihood model."""

ASYNC_WAIT_S = 60.0
"""How long the analysis waits for network jobs on hardware before reporting them pending, s."""

ASYNC_POLL_S = 10.0
"""Seconds between status polls while waiting."""

DEVICE_MODEL = ("bare network circuit: no link, dephasing or common-mode channels (a device cannot insert "
                "them); the device's own noise is not in the likelihood")
"""The likelihood model used for device counts, as results.json states it."""


@dataclass
class NetworkRun:
    """Outcome of running every strategy's circuit on a backend.

    Attributes:
      status: ``done`` (every circuit has counts), ``pending`` (hardware jobs not
        finished, or a submission's fate unknown because a lookup failed), ``error``
        (a job failed and none is pending), ``not_submitted`` (no run folder to key the PUBs on).
      counts: strategy -> counts (2**N,), little-endian; only the strategies with data.
      compiled: strategy -> ISA record (layout, depth, two-qubit gates, hash).
      jobs: one dict per hardware PUB (strategy, pub, job_id, status, error).
      warnings: problems found while running.
    """

    status: str
    counts: dict[str, np.ndarray] = field(default_factory=dict)
    compiled: dict[str, dict] = field(default_factory=dict)
    jobs: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def check_network_fits(backend: AbstractBackend, n_qubits: int, n_nodes: int) -> None:
    """Raise before any optimization when a device backend has fewer qubits than the network.

    Args:
      backend: the run's backend (only device backends are checked; the size of
        an ``ibm:`` device is known once it is connected).
      n_qubits: the network's total qubits.
      n_nodes: its number of nodes (for the message).

    Raises:
      BackendError: the device has fewer qubits than the network (the message
        names the backend and both qubit counts).
    """
    if not isinstance(backend, AbstractDeviceBackend):
        return
    reason = backend.circuit_fits(n_qubits, f"the {n_nodes}-node network")
    if reason is not None:
        raise BackendError(f"{reason}: use a larger device or fewer qubits per node")


def device_circuits(circuits: dict[str, tuple[NetworkCircuit, np.ndarray]], phis) -> dict:
    """Strategy -> bound, measured qiskit circuit (what a device runs), named ``network_<strategy>``."""
    out = {}
    for name, (circuit, params) in circuits.items():
        qc = device_network_circuit(circuit, params, phis)
        qc.name = f"network_{name}"
        out[name] = qc
    return out


def run_network_sync(backend: AbstractDeviceBackend, circuits: dict[str, tuple[NetworkCircuit, np.ndarray]],
                     phis, shots: int, seed: int) -> NetworkRun:
    """Run every strategy's circuit on a synchronous device backend (``aer:<fake>``, ``ibm-local:<fake>``).

    Args:
      backend: the device backend.
      circuits: strategy -> (network circuit, optimized parameters (P,)).
      phis: true channel phases (C,), rad.
      shots: shots per circuit.
      seed: sampling seed (strategy i uses ``seed + i``).

    Returns:
      :class:`NetworkRun` with status ``done``.

    Raises:
      BackendError: a circuit does not fit on the device.
    """
    names = list(circuits)
    qcs = device_circuits(circuits, phis)
    res = backend.run_circuits([qcs[n] for n in names], shots, seed=seed)
    return NetworkRun(status="done", counts=dict(zip(names, res.counts)),
                      compiled={n: c.record() for n, c in zip(names, res.compiled)})


def run_network_async(backend: AbstractAsyncBackend, circuits: dict[str, tuple[NetworkCircuit, np.ndarray]],
                      phis, shots: int, seed: int, *, run_dir: str | Path, config_name: str | None,
                      config_hash: str | None, timeout_s: float = ASYNC_WAIT_S,
                      poll_s: float = ASYNC_POLL_S) -> NetworkRun:
    """Submit (or find) every strategy's circuit as a ledger PUB on hardware; collect what has finished.

    Strategy i is PUB ``NETWORK_PUB_OFFSET + i`` of the run. For each PUB the
    ledger is read first: a job that ended in ERROR or CANCELLED is reported,
    not submitted again; otherwise :meth:`IBMRuntimeBackend.submit_circuit`
    returns the recorded job (finished or not), completes an interrupted
    submission from its tag, or submits a new one after recording the intent.
    A lookup failure leaves the PUB unknown (nothing is submitted). Then the
    jobs are polled until ``timeout_s`` has passed in all.

    Args:
      backend: the asynchronous device backend (``ibm:<device>``).
      circuits: strategy -> (network circuit, optimized parameters (P,)).
      phis: true channel phases (C,), rad.
      shots: shots per circuit.
      seed: seed (local testing mode only; strategy i uses ``seed + i``).
      run_dir: the run folder (the ledger's key).
      config_name: the config's name (job tags).
      config_hash: the config's hash (ledger).
      timeout_s: total time to wait for the jobs, s (0: one status check).
      poll_s: seconds between polls.

    Returns:
      :class:`NetworkRun`: ``done``, ``pending`` (job ids in ``jobs``) or ``error``.

    The backend's own errors (no usable account, an unusable ledger) propagate.

    Raises:
      BackendError: a circuit does not fit on the device.
    """
    from qlearn_sense.backends.ibm import SubmissionError

    run_dir = Path(run_dir)
    run_id = run_dir.name
    names = list(circuits)
    qcs = device_circuits(circuits, phis)
    compiled: list[CompiledCircuit] = backend.compile_circuits([qcs[n] for n in names])
    out = NetworkRun(status="done", compiled={n: c.record() for n, c in zip(names, compiled)})
    records = {}
    for i, (name, comp) in enumerate(zip(names, compiled)):
        pub = NETWORK_PUB_OFFSET + i
        job = {"strategy": name, "pub": pub, "job_id": None, "status": None, "error": None}
        out.jobs.append(job)
        latest = backend.ledger.latest(run_dir, pub)
        if latest is not None and latest.status in ("ERROR", "CANCELLED"):
            job.update(job_id=latest.job_id, status=latest.status, error=latest.error)
            continue
        try:
            record = backend.submit_circuit(comp, shots, seed=seed + i, run_dir=run_dir, run_id=run_id,
                                            config_name=config_name, config_hash=config_hash, pub=pub)
        except SubmissionError as exc:
            job.update(status="UNKNOWN" if exc.kind == "unknown" else "FAILED", error=str(exc))
            continue
        records[name] = record
        job.update(job_id=record.job_id, status=record.status)
        if record.isa_hash and record.isa_hash != comp.isa_hash:
            out.warnings.append(f"network {name}: job {record.job_id} ran ISA circuit {record.isa_hash}, but the "
                                f"circuit compiled now is {comp.isa_hash} (the design or the device changed since "
                                "submission); the estimate uses the job's counts with the current model")
    deadline = time.monotonic() + max(float(timeout_s), 0.0)
    for job in out.jobs:
        name = job["strategy"]
        if name not in records:
            continue
        record = backend.wait(records[name], timeout_s=max(deadline - time.monotonic(), 0.0), poll_s=poll_s)
        job.update(job_id=record.job_id, status=record.status, error=record.error)
        if record.status == "DONE":
            out.counts[name] = backend.result(record, circuits[name][0].n_qubits).counts[0]
    statuses = [j["status"] for j in out.jobs]
    if all(s == "DONE" for s in statuses):
        out.status = "done"
    elif any(s not in ("DONE", "ERROR", "CANCELLED", "FAILED") for s in statuses):
        out.status = "pending"  # running, queued, or unknown (a lookup failed): fetch again later
    else:
        out.status = "error"
    for job in out.jobs:
        if job["status"] in ("ERROR", "CANCELLED", "FAILED", "UNKNOWN"):
            out.warnings.append(f"network {job['strategy']}: PUB {job['pub']} on {backend.name} is {job['status']}"
                                + (f": {job['error']}" if job["error"] else "")
                                + ("" if job["status"] == "UNKNOWN" else "; it is not submitted again"))
    return out


def network_pending(results: dict) -> bool:
    """True when a run's ``results.json`` holds network jobs that had not finished (fetch the run again).

    Args:
      results: the run's results dict.
    """
    net = results.get("network")
    return isinstance(net, dict) and net.get("execution_status") == "pending"


def model_fit(circuit: NetworkCircuit, params, phis, counts: np.ndarray) -> dict:
    """G-test of counts against a network circuit's outcome probabilities at the true phases.

    Args:
      circuit: the likelihood model's circuit.
      params: its parameters (P,).
      phis: true channel phases (C,), rad.
      counts: counts (2**N,), little-endian.

    Returns:
      :func:`qlearn_sense.experiments._estimation_run.goodness_of_fit`'s dict
      (``statistic``, ``dof``, ``p_value``, ``tvd``, ``tvd_sampling``, ``test``)
      plus ``misfit`` (p-value below :data:`MISFIT_P_VALUE`).
    """
    probs = np.asarray(compile_network(circuit).probs(np.asarray(params), np.asarray(phis)))
    gof = goodness_of_fit(np.asarray(counts), probs)
    gof["test"] = "G-test (counts vs the likelihood model at the true source values)"
    gof["misfit"] = bool(gof["p_value"] < MISFIT_P_VALUE)
    return gof


def likelihood_circuit(circuit: NetworkCircuit, backend: AbstractBackend) -> tuple[NetworkCircuit, str]:
    """The circuit whose likelihood matches the backend's counts, and a line naming that model.

    Device backends run the bare circuit (:func:`without_channels`); the local
    simulator and ``aer`` apply the network's channels (``aer`` without the
    common-mode noise, which it cannot insert).
    """
    if isinstance(backend, AbstractDeviceBackend):
        return without_channels(circuit), DEVICE_MODEL
    if backend.name == "aer":
        return circuit, ("network model with its channels (links, local dephasing"
                         + (")" if not circuit.common_cov_rad2 else "; common-mode noise is in the model but "
                            "not in the Aer circuit)"))
    return circuit, "network model with its channels (links, local dephasing, common-mode noise)"


__all__ = ["ASYNC_POLL_S", "ASYNC_WAIT_S", "DEVICE_MODEL", "MISFIT_P_VALUE", "NETWORK_PUB_OFFSET", "NetworkRun",
           "check_network_fits", "device_circuits", "likelihood_circuit", "model_fit", "network_pending",
           "run_network_async",
           "run_network_sync"]
