"""qiskit-ibm-runtime backends: ``ibm-local:<fake>`` (local testing mode) and ``ibm:<device>``.

Both use the client-side, executor-based ``qiskit_ibm_runtime.executor_sampler.Sampler``
that qiskit-ibm-runtime 0.50+ recommends (the server-side ``SamplerV2`` is
deprecated), with one PUB ``(isa_circuit, values)`` per sweep. Bound circuits
that are not protocols (network circuits) go out as PUBs ``(isa_circuit,)``:
``run_circuits`` on both, ``submit_circuit`` (one ledger PUB per circuit, the
same ledger discipline as ``submit``) on hardware.

Hardware submissions go through the job ledger (:class:`JobLedger`): the intent
is written first (with a unique job tag), the job id right after the service
accepts it, with Ctrl-C deferred in between; a later call recovers an
interrupted submission from its tag. Transient failures (network, HTTP 429/5xx)
are retried with exponential back-off, after checking the service for a job
carrying the tag; input, ISA and authorization errors are not retried.

A failed lookup is never taken for "no job": when the service may hold a job
(a reply was lost, a submission was interrupted) and the lookup that would
find it fails, the record stays ``SUBMITTING``, nothing more is submitted, and
:class:`JobUnknownError` tells the user to run ``qlearn-sense jobs`` later.

The service and the retry policy are given to the constructor
(``IBMRuntimeBackend("ibm_fez", service=..., retry=RetryPolicy(...))``); by
default the service comes from :func:`qlearn_sense.backends.ibm.get_service`.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Callable

import numpy as np

from qlearn_sense.backends import ibm as _ibm
from qlearn_sense.backends._base import (
    AbstractAsyncBackend,
    AbstractDeviceBackend,
    BackendError,
    CircuitsResult,
    CompiledCircuit,
    SampleResult,
    _check_batch,
    check_shots,
)
from qlearn_sense.backends._compile import Compiled, counts_from_primitive_result, pub_values
from qlearn_sense.backends._devices import fake_backend
from qlearn_sense.backends._ledger import JobLedger, JobRecord, LedgerError, now
from qlearn_sense.backends._retry import DEFAULT_RETRY, RetryPolicy, call_with_retry, deferred_interrupt
from qlearn_sense.protocol import Protocol

__all__ = ["DEFAULT_RETRY", "PACKAGE_TAG", "IBMLocalBackend", "IBMRuntimeBackend", "JobUnknownError",
           "RetryPolicy", "call_with_retry", "deferred_interrupt", "run_key", "runtime_version", "status_name"]

PACKAGE_TAG = "qlearn-sense"
"""Tag set on every job this package submits."""


class JobUnknownError(_ibm.SubmissionError):
    """Whether the service holds a job is unknown (its lookup failed); nothing more was submitted.

    ``kind`` is ``"unknown"``. The ledger record, if any, stays ``SUBMITTING``;
    ``qlearn-sense jobs`` completes it once the service answers again.
    """

    def __init__(self, message: str):
        super().__init__(message, kind="unknown")


def runtime_version() -> str:
    """Installed qiskit-ibm-runtime version."""
    try:
        return version("qiskit-ibm-runtime")
    except PackageNotFoundError:  # pragma: no cover
        return "unknown"


def status_name(job) -> str:
    """A job's status as an upper-case string (``QUEUED``, ``RUNNING``, ``DONE``, ``ERROR``, ``CANCELLED``)."""
    s = job.status()
    s = getattr(s, "name", s)
    s = str(s).upper().removeprefix("JOBSTATUS.")
    return {"INITIALIZING": "QUEUED", "VALIDATING": "QUEUED", "COMPLETED": "DONE", "FAILED": "ERROR"}.get(s, s)


def _finished_at(job) -> str:
    try:
        ts = (job.metrics() or {}).get("timestamps", {}).get("finished")
        if ts:
            return str(ts)
    except Exception:  # noqa: BLE001 - metrics are optional
        pass
    return now()


def _is_local_device(device) -> bool:
    try:
        from qiskit_ibm_runtime import IBMBackend
    except ImportError:  # pragma: no cover
        return True
    return not isinstance(device, IBMBackend)


def _sampler(device, *, seed: int | None, tags: list[str] | None):
    from qiskit_ibm_runtime.executor_sampler import Sampler

    sampler = Sampler(mode=device)
    if seed is not None and _is_local_device(device):
        sampler.options.simulator.seed_simulator = int(seed)
    if tags:
        sampler.options.environment.job_tags = list(tags)
    return sampler


class IBMLocalBackend(AbstractDeviceBackend):
    """``ibm-local:<fake>``: qiskit-ibm-runtime local testing mode on a fake device.

    Runs the same executor-based Sampler code path as hardware, offline; the
    runtime builds the noise model of the whole device for every job (slow on
    large devices; ``aer:<fake>`` gives the same distributions faster).

    Args:
      device_name: a fake device (``fake_fez``, ``FakeFez``).

    Raises:
      ValueError: unknown fake device (the message lists the valid ones).
    """

    def __init__(self, device_name: str):
        super().__init__()
        self._device = fake_backend(device_name)
        self.name = f"ibm-local:{self._device.name}"

    @property
    def device(self):
        """The fake device (a qiskit ``BackendV2``)."""
        return self._device

    def compile(self, protocol: Protocol) -> Compiled:
        """See :meth:`AbstractDeviceBackend.compile`."""
        return self._compile_cached(protocol)

    def run(self, protocol: Protocol, params: np.ndarray, phis, shots: int, *, seed: int,
            memory: bool = False) -> SampleResult:
        """See :meth:`AbstractBackend.run`. One PUB for the whole sweep."""
        params, phis = _check_batch(protocol, params, phis, shots)
        t0 = time.perf_counter()
        comp = self.compile(protocol)
        values = pub_values(comp.isa, params, phis)
        job = _sampler(self.device, seed=seed, tags=None).run([(comp.isa, values)], shots=int(shots))
        counts, mem = counts_from_primitive_result(job.result(), protocol.n_qubits)
        return SampleResult(counts=counts, shots=int(shots), n_qubits=protocol.n_qubits, backend=self.name,
                            memory=mem if memory else None,
                            metadata={"layout": comp.layout, "isa_hash": comp.isa_hash, "job_id": job.job_id(),
                                      "optimization_level": comp.options.optimization_level,
                                      "seed_transpiler": comp.options.seed_transpiler,
                                      "primitive": "qiskit_ibm_runtime.executor_sampler.Sampler",
                                      "seconds": time.perf_counter() - t0})

    def run_circuits(self, circuits: list, shots: int, *, seed: int) -> CircuitsResult:
        """See :meth:`AbstractDeviceBackend.run_circuits`: one local-mode job, one PUB ``(isa,)`` per circuit."""
        shots = check_shots(shots)
        t0 = time.perf_counter()
        compiled = self.compile_circuits(circuits)
        job = _sampler(self.device, seed=seed, tags=None).run([(c.isa,) for c in compiled], shots=shots)
        result = job.result()
        counts = [counts_from_primitive_result([result[i]], c.n_qubits)[0][0] for i, c in enumerate(compiled)]
        return CircuitsResult(counts=counts, shots=shots, backend=self.name, compiled=compiled,
                              metadata={"job_id": job.job_id(), "seconds": time.perf_counter() - t0,
                                        "primitive": "qiskit_ibm_runtime.executor_sampler.Sampler"})


def run_key(config_name: str | None, run_id: str) -> str:
    """Short stable key of a run (used in job tags): 12 hex digits of SHA-256 of ``name/run_id``."""
    return hashlib.sha256(f"{config_name}/{run_id}".encode()).hexdigest()[:12]


class IBMRuntimeBackend(AbstractDeviceBackend, AbstractAsyncBackend):
    """``ibm:<device>``: IBM Quantum hardware through ``QiskitRuntimeService`` (job mode).

    Asynchronous: :meth:`submit` records the job in the ledger and returns;
    :meth:`refresh` updates statuses; :meth:`result` downloads finished
    results as a :class:`SampleResult`. :meth:`run` does all three and waits.

    Args:
      device_name: the service's device (``ibm_fez``).
      service: a ``QiskitRuntimeService`` (or a test double) to use; default:
        created on first use by ``service_factory``.
      service_factory: zero-argument callable creating the service on first
        use; default :func:`qlearn_sense.backends.ibm.get_service`.
      retry: back-off policy for transient failures; default :data:`DEFAULT_RETRY`.
      ledger: the job ledger; default a :class:`JobLedger` at
        :func:`default_ledger_path`, opened on first use.

    Attributes:
      retry: the back-off policy.
    """

    def __init__(self, device_name: str, *, service: Any | None = None,
                 service_factory: Callable[[], Any] | None = None, retry: RetryPolicy | None = None,
                 ledger: JobLedger | None = None):
        super().__init__()
        self.device_name = device_name
        self.name = f"ibm:{device_name}"
        self._ledger = ledger
        self.retry = retry if retry is not None else DEFAULT_RETRY
        self._service = service
        self._service_factory = service_factory
        self._device = None

    @property
    def ledger(self) -> JobLedger:
        """The job ledger (opened on first use, so ``QLEARN_SENSE_LEDGER`` is read then).

        Raises:
          LedgerError: the ledger cannot be opened (the message names the path).
        """
        if self._ledger is None:
            self._ledger = JobLedger()
        return self._ledger

    @property
    def service(self):
        """The runtime service (given to the constructor, or created on first use).

        Raises:
          AccountError: no usable account, or the service is unreachable.
        """
        if self._service is None:
            self._service = (self._service_factory or _ibm.get_service)()
        return self._service

    @property
    def device(self):
        """The service's backend object (its target is used for transpilation)."""
        if self._device is None:
            service = self.service
            self._device = call_with_retry(lambda: service.backend(self.device_name), self.retry,
                                           what=f"looking up IBM backend {self.device_name!r}")
        return self._device

    def _target_for_checks(self):
        return self._device.target if self._device is not None else None

    def connect(self) -> "IBMRuntimeBackend":
        """Create the service and look up the device now (fails early on account or network problems).

        Raises:
          AccountError: no usable account, or the service is unreachable.
          SubmissionError: the device lookup failed (after retries where transient).
        """
        _ = self.device
        return self

    def compile(self, protocol: Protocol) -> Compiled:
        """See :meth:`AbstractDeviceBackend.compile` (needs the device: connects on first use)."""
        return self._compile_cached(protocol)

    # -- lookups -----------------------------------------------------------------------------

    def _lookup(self, tag: str) -> list:
        """Jobs carrying ``tag`` (retried when transient); raises when the lookup fails."""
        return list(call_with_retry(lambda: self.service.jobs(job_tags=[tag], limit=10), self.retry,
                                    what=f"looking up jobs tagged {tag}"))

    def _find_by_tag(self, tag: str, *, strict: bool = False):
        """The service's job carrying ``tag``, or None.

        With ``strict`` a failed lookup raises (after retries) instead of
        answering None, so "unknown" is never taken for "absent".
        """
        if strict:
            jobs = self._lookup(tag)
            return jobs[0] if jobs else None
        try:  # one try, no back-off: callers that take "unknown" as "not yet" (refresh)
            jobs = list(self.service.jobs(job_tags=[tag], limit=10))
        except Exception:  # noqa: BLE001
            return None
        return jobs[0] if jobs else None

    def _unknown(self, record_tag: str, run_dir, run_id: str, pub: int, cause: BaseException) -> JobUnknownError:
        return JobUnknownError(
            f"{self.name}: the service may already hold the job of run {run_id} PUB {pub} (tag {record_tag}), but "
            f"looking it up failed ({_ibm.redact(cause)}); its ledger record in {self.ledger.path} stays "
            f"SUBMITTING and nothing more was submitted. Run `qlearn-sense jobs` later to recover the job id, "
            f"then `qlearn-sense fetch {run_dir}`")

    def _find_or_unknown(self, tag: str, run_dir, run_id: str, pub: int):
        """The job carrying ``tag`` or None when the service surely has none; JobUnknownError when unknown."""
        try:
            return self._find_by_tag(tag, strict=True)
        except (_ibm.SubmissionError, _ibm.AccountError) as exc:
            raise self._unknown(tag, run_dir, run_id, pub, exc) from None

    def _live_job(self, pub_tag: str, run_dir, run_id: str, pub: int):
        """A job of this run and PUB on the service that is not ERROR/CANCELLED (a lost ledger's job), or None.

        Raises:
          JobUnknownError: the lookup failed, so nothing may be submitted.
          AccountError: no usable account.
        """
        try:
            jobs = self._lookup(pub_tag)
        except _ibm.AccountError:
            raise
        except _ibm.SubmissionError as exc:
            raise JobUnknownError(
                f"{self.name}: could not check whether run {run_id} PUB {pub} already has a job on the service "
                f"({exc}); nothing was submitted, so no job can be doubled. Retry later; `qlearn-sense jobs` "
                f"lists the jobs recorded in {self.ledger.path}") from None
        for job in jobs:
            try:
                status = status_name(job)
            except Exception:  # noqa: BLE001 - a job whose status cannot be read may be live
                return job
            if status not in ("ERROR", "CANCELLED"):
                return job
        return None

    def _adopt(self, record: JobRecord, job) -> JobRecord:
        try:
            status = status_name(job)
        except Exception:  # noqa: BLE001
            status = "QUEUED"
        return self._record_accepted(record.tag, job.job_id(), status)

    def _record_accepted(self, tag: str, job_id: str, status: str = "QUEUED") -> JobRecord:
        try:
            return self.ledger.record_submitted(tag, job_id, status=status)
        except LedgerError as exc:
            raise BackendError(f"{self.name} accepted job {job_id} (tag {tag}) but the ledger could not record "
                               f"its id: {exc}. The job is not lost: once the ledger works, `qlearn-sense jobs` "
                               f"recovers it from its tag") from None

    # -- submission --------------------------------------------------------------------------

    def submit(self, protocol: Protocol, params: np.ndarray, phis, shots: int, *, seed: int | None,
               run_dir: str | Path, run_id: str, config_name: str | None = None, config_hash: str | None = None,
               pub: int = 0) -> JobRecord:
        """Submit one PUB (the whole sweep) unless this run and PUB already has, or may have, a job.

        Order: (1) the ledger: an attempt that is not ERROR/CANCELLED/FAILED is
        returned as is (an interrupted ``SUBMITTING`` one is first completed
        from its tag on the service; it is marked FAILED only when the
        service answers that no job carries the tag); (2) the service: a live
        job tagged with this run and PUB is adopted (a lost ledger); (3)
        otherwise the intent is recorded and the job submitted (Ctrl-C
        deferred until the job id is in the ledger). A transient or unknown
        failure of the submission is followed by a lookup of the attempt's
        tag before anything is sent again.

        Args:
          protocol: the protocol.
          params: parameter sets, shape (P, n_params).
          phis: signal phase per qubit, rad, shape (P,) or scalar.
          shots: shots per parameter set, >= 1.
          seed: simulator seed (used by local testing mode only).
          run_dir: the run folder (the ledger's key, with ``pub``).
          run_id: the run folder's name.
          config_name: the config's ``name``.
          config_hash: hash of the validated config.
          pub: index of the PUB within the run.

        Returns:
          The ledger record (status ``QUEUED`` or later).

        Raises:
          JobUnknownError: the service may hold a job of this PUB but the
            lookup that would tell failed; nothing more was submitted (the
            message says to run ``qlearn-sense jobs`` later).
          SubmissionError: rejected input, authorization failure, or transient
            failures beyond the retry budget with the service answering that
            no job exists (the record is then ``FAILED``).
          AccountError: no usable account.
          LedgerError: the ledger cannot be written (nothing was submitted).
          BackendError: the job was accepted but its id could not be recorded.
        """
        params, phis = _check_batch(protocol, params, phis, shots)

        def build():
            comp = self.compile(protocol)
            values = pub_values(comp.isa, params, phis)
            return (comp.isa, values), comp.isa_hash, comp.layout, list(values.shape)

        return self._submit_pub(build, shots, seed=seed, run_dir=run_dir, run_id=run_id, config_name=config_name,
                                config_hash=config_hash, pub=pub)

    def submit_circuit(self, circuit, shots: int, *, seed: int | None, run_dir: str | Path, run_id: str,
                       config_name: str | None = None, config_hash: str | None = None, pub: int) -> JobRecord:
        """Submit one bound circuit (not a protocol) as PUB ``pub`` of a run, never twice; return its ledger record.

        Exactly the ledger discipline of :meth:`submit`: the ledger is asked
        first (a record that is not ERROR/CANCELLED/FAILED is returned as is; an
        interrupted ``SUBMITTING`` one is completed from its tag), then the
        service (a live job of this run and PUB is adopted); only then is the
        intent recorded and the job sent with the tags ``qlearn-sense``,
        ``qls-run:<key>``, ``qls-pub:<key>:<pub>`` and its attempt's tag.

        Args:
          circuit: a bound ``QuantumCircuit`` measured into ``meas``, or its
            :class:`CompiledCircuit` (from :meth:`compile_circuits`).
          shots: shots, >= 1.
          seed: simulator seed (local testing mode only).
          run_dir: the run folder (the ledger's key, with ``pub``).
          run_id: the run folder's name.
          config_name: the config's ``name``.
          config_hash: hash of the validated config.
          pub: the PUB number within the run (callers keep their own range:
            network circuits use 2000 and up).

        Returns:
          The ledger record (status ``QUEUED`` or later; ``DONE`` when it had finished before).

        Raises:
          ValueError: shots < 1, free parameters or no ``meas`` register.
          JobUnknownError: the service may hold a job of this PUB but the lookup failed;
            nothing was submitted.
          SubmissionError: rejected input, authorization failure, or transient
            failures beyond the retry budget (the record is then ``FAILED``).
          AccountError: no usable account.
          LedgerError: the ledger cannot be written (nothing was submitted).
          BackendError: the circuit does not fit the device, or the job was accepted
            but its id could not be recorded.
        """
        shots = check_shots(shots)

        def build():
            comp = circuit if isinstance(circuit, CompiledCircuit) else self.compile_circuits([circuit])[0]
            return (comp.isa,), comp.isa_hash, comp.layout, [1, 0]

        return self._submit_pub(build, shots, seed=seed, run_dir=run_dir, run_id=run_id, config_name=config_name,
                                config_hash=config_hash, pub=pub)

    def run_circuits(self, circuits: list, shots: int, *, seed: int) -> CircuitsResult:
        """See :meth:`AbstractDeviceBackend.run_circuits`: submit each circuit, wait, download (an ad-hoc run).

        The jobs are recorded in the ledger under an ``adhoc`` run folder, as :meth:`run` does.
        """
        shots = check_shots(shots)
        compiled = self.compile_circuits(circuits)
        run_id = "adhoc-" + uuid.uuid4().hex[:12]
        run_dir = self.ledger.path.parent / "adhoc" / run_id
        records = [self.submit_circuit(c, shots, seed=seed + i, run_dir=run_dir, run_id=run_id, pub=i)
                   for i, c in enumerate(compiled)]
        records = [self.wait(r) for r in records]
        counts = [self.result(r, c.n_qubits).counts[0] for r, c in zip(records, compiled)]
        return CircuitsResult(counts=counts, shots=shots, backend=self.name, compiled=compiled,
                              metadata={"job_ids": [r.job_id for r in records]})

    def _submit_pub(self, build: Callable[[], tuple], shots: int, *, seed: int | None, run_dir: str | Path,
                    run_id: str, config_name: str | None, config_hash: str | None, pub: int) -> JobRecord:
        """The ledger-guarded submission of one PUB; ``build()`` gives ``(pub, isa_hash, layout, pub_shape)``."""
        key = run_key(config_name, run_id)
        pub_tag = f"qls-pub:{key}:{pub}"
        existing = self.ledger.active(run_dir, pub)
        if existing is not None:
            if existing.job_id is not None:
                return existing
            job = self._find_or_unknown(existing.tag, run_dir, run_id, pub)
            if job is not None:
                return self._adopt(existing, job)
            self.ledger.update(existing.tag, status="FAILED",
                               error="interrupted before the service accepted the job (no job carries its tag)")
        live = self._live_job(pub_tag, run_dir, run_id, pub)
        primitive_pub, isa_hash, layout, pub_shape = build()
        attempt = self.ledger.next_attempt(run_dir, pub)
        tag = f"qls:{key}:p{pub}:a{attempt}"
        record = self.ledger.record_intent(
            run_dir=run_dir, run_id=run_id, config_name=config_name, pub=pub, tag=tag, backend=self.name,
            config_hash=config_hash, isa_hash=isa_hash, pub_shape=pub_shape, shots=int(shots),
            layout=layout, runtime_version=runtime_version(), attempt=attempt)
        if live is not None:
            return self._adopt(record, live)
        sampler = _sampler(self.device, seed=seed, tags=[PACKAGE_TAG, f"qls-run:{key}", pub_tag, tag])
        with deferred_interrupt():
            try:
                job = call_with_retry(lambda: sampler.run([primitive_pub], shots=int(shots)), self.retry,
                                      what=f"submitting to {self.name}",
                                      before_retry=lambda: self._find_or_unknown(tag, run_dir, run_id, pub))
            except JobUnknownError:
                raise
            except _ibm.SubmissionError as exc:
                if exc.kind in ("transient", "fatal"):  # the service may have accepted it before failing
                    found = self._find_or_unknown(tag, run_dir, run_id, pub)
                    if found is not None:
                        return self._adopt(record, found)
                self.ledger.update(tag, status="FAILED", error=str(exc))
                raise
            if isinstance(job, JobRecord):  # pragma: no cover - defensive
                return job
            return self._record_accepted(tag, job.job_id(), "QUEUED")

    # -- status and results ------------------------------------------------------------------

    def refresh(self, record: JobRecord) -> JobRecord:
        """Ask the service for a job's status and record it (with the error message for ERROR).

        A ``SUBMITTING`` record is completed from its tag when the service has
        the job; while the lookup fails or finds nothing it is returned
        unchanged (still unknown). Final records are returned unchanged.

        Raises:
          SubmissionError: the status lookup failed (after retries).
          AccountError: no usable account.
        """
        if record.final:
            return record
        if record.job_id is None:
            job = self._find_by_tag(record.tag)
            if job is None:
                return record
            record = self._adopt(record, job)
        job = call_with_retry(lambda: self.service.job(record.job_id), self.retry,
                              what=f"looking up job {record.job_id}")
        status = call_with_retry(lambda: status_name(job), self.retry, what=f"status of job {record.job_id}")
        if status == record.status and status not in ("DONE", "ERROR", "CANCELLED"):
            return self.ledger.update(record.tag)
        error = None
        if status == "ERROR":
            try:
                error = _ibm.redact(job.error_message() or "the job ended in ERROR without a message")
            except Exception as exc:  # noqa: BLE001
                error = f"the job ended in ERROR; its message could not be read: {_ibm.redact(exc)}"
        finished = _finished_at(job) if status in ("DONE", "ERROR", "CANCELLED") else None
        return self.ledger.update(record.tag, status=status, error=error, finished_at=finished)

    def result(self, record: JobRecord, n_qubits: int) -> SampleResult:
        """Download a DONE job's counts as a :class:`SampleResult` and mark the record fetched.

        Raises:
          BackendError: the job is not DONE (the message gives its status and error).
        """
        if record.status != "DONE":
            raise BackendError(f"job {record.job_id} of {record.backend} is {record.status}"
                               + (f": {record.error}" if record.error else ""))
        job = call_with_retry(lambda: self.service.job(record.job_id), self.retry,
                              what=f"looking up job {record.job_id}")
        result = call_with_retry(job.result, self.retry, what=f"downloading job {record.job_id}")
        counts, mem = counts_from_primitive_result(result, n_qubits)
        self.ledger.update(record.tag, fetched=True)
        return SampleResult(counts=counts, shots=int(record.shots or counts[0].sum()), n_qubits=n_qubits,
                            backend=self.name, memory=mem,
                            metadata={"job_id": record.job_id, "layout": record.layout, "isa_hash": record.isa_hash,
                                      "runtime_version": record.runtime_version, "attempt": record.attempt,
                                      "primitive": "qiskit_ibm_runtime.executor_sampler.Sampler"})
