"""qiskit-ibm-runtime backends: ``ibm-local:<fake>`` (local testing mode) and ``ibm:<device>``.

Both use the client-side, executor-based ``qiskit_ibm_runtime.executor_sampler.Sampler``
that qiskit-ibm-runtime 0.50+ recommends (the server-side ``SamplerV2`` is
deprecated), with one PUB ``(isa_circuit, values)`` per sweep.

Hardware submissions go through the job ledger (:class:`JobLedger`): the intent
is written first (with a unique job tag), the job id right after the service
accepts it, with Ctrl-C deferred in between; a later call recovers an
interrupted submission from its tag. Transient failures (network, HTTP 429/5xx)
are retried with exponential back-off, after checking the service for a job
carrying the tag; input, ISA and authorization errors are not retried.
"""

from __future__ import annotations

import hashlib
import signal
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Callable

import numpy as np

from qlearn_sense.backends import ibm as _ibm
from qlearn_sense.backends._aer import _update_options
from qlearn_sense.backends._base import AbstractBackend, BackendError, SampleResult, _check_batch
from qlearn_sense.backends._compile import (
    Compiled,
    TranspileOptions,
    counts_from_primitive_result,
    pub_values,
    structural_key,
    transpile_protocol,
)
from qlearn_sense.backends._devices import fake_backend
from qlearn_sense.backends._ledger import JobLedger, JobRecord, now
from qlearn_sense.protocol import Protocol

PACKAGE_TAG = "qlearn-sense"
"""Tag set on every job this package submits."""


def runtime_version() -> str:
    """Installed qiskit-ibm-runtime version."""
    try:
        return version("qiskit-ibm-runtime")
    except PackageNotFoundError:  # pragma: no cover
        return "unknown"


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off for transient failures.

    Attributes:
      attempts: total tries (>= 1).
      base_delay_s: delay before the second try; doubles each time.
      max_delay_s: cap of one delay.
      sleep: the sleeping function (tests pass a no-op).
    """

    attempts: int = 5
    base_delay_s: float = 2.0
    max_delay_s: float = 60.0
    sleep: Callable[[float], None] = time.sleep

    def delay(self, attempt: int) -> float:
        """Delay after the failed try number ``attempt`` (0-based)."""
        return min(self.max_delay_s, self.base_delay_s * 2 ** attempt)


DEFAULT_RETRY = RetryPolicy()
"""Policy used by new IBM backends (tests replace it)."""


def call_with_retry(fn: Callable[[], Any], policy: RetryPolicy, *, what: str,
                    before_retry: Callable[[], Any] | None = None) -> Any:
    """Call ``fn``; retry transient failures with back-off.

    Args:
      fn: the call.
      policy: back-off settings.
      what: description for error messages ("submitting the job").
      before_retry: called before each retry; a non-None return value is
        returned instead of retrying (used to find a job that the service
        accepted although the reply was lost).

    Raises:
      SubmissionError: a non-transient failure at once, a transient one when
        the tries are used up; the message is redacted and ``kind`` says which.
      AccountError: passed through unchanged (no usable account).
    """
    for attempt in range(policy.attempts):
        try:
            return fn()
        except (KeyboardInterrupt, _ibm.AccountError):
            raise
        except Exception as exc:  # noqa: BLE001 - classified below, re-raised redacted
            kind = _ibm.classify_error(exc)
            message = _ibm.redact(exc)
        if kind != "transient":
            hint = {"auth": " (not retried: authorization failed; " + _ibm._account_hint() + ")",
                    "input": " (not retried: the service rejected the input)"}.get(kind, " (not retried)")
            raise _ibm.SubmissionError(f"{what} failed: {message}{hint}", kind=kind)
        if attempt + 1 >= policy.attempts:
            raise _ibm.SubmissionError(f"{what} failed after {policy.attempts} tries (transient error: "
                                       f"{message}); check the network and retry", kind="transient")
        policy.sleep(policy.delay(attempt))
        if before_retry is not None:
            found = before_retry()
            if found is not None:
                return found
    raise AssertionError("unreachable")  # pragma: no cover


@contextmanager
def deferred_interrupt():
    """Hold back Ctrl-C (SIGINT) inside the block and raise it at the end (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        received.append(signum)

    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            raise KeyboardInterrupt


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


class _DeviceMixin:
    """Transpile-once caching against ``self.device.target``."""

    options: TranspileOptions
    _compiled: dict

    def configure(self, **options):
        """See :meth:`AbstractBackend.configure`."""
        self.options = _update_options(self.options, options)
        return self

    def compile(self, protocol: Protocol) -> Compiled:
        """The protocol's ISA circuit for this device (transpiled once, then cached)."""
        key = (structural_key(protocol), self.options)
        if key not in self._compiled:
            self._compiled[key] = transpile_protocol(protocol, self.device.target, self.options)
        return self._compiled[key]


class IBMLocalBackend(_DeviceMixin, AbstractBackend):
    """``ibm-local:<fake>``: qiskit-ibm-runtime local testing mode on a fake device.

    Runs the same executor-based Sampler code path as hardware, offline; the
    runtime builds the noise model of the whole device for every job (slow on
    large devices; ``aer:<fake>`` gives the same distributions faster).
    """

    noise_from_protocol = False

    def __init__(self, device_name: str):
        self.device = fake_backend(device_name)
        self.name = f"ibm-local:{self.device.name}"
        self.options = TranspileOptions()
        self._compiled = {}

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


def run_key(config_name: str | None, run_id: str) -> str:
    """Short stable key of a run (used in job tags): 12 hex digits of SHA-256 of ``name/run_id``."""
    return hashlib.sha256(f"{config_name}/{run_id}".encode()).hexdigest()[:12]


class IBMRuntimeBackend(_DeviceMixin, AbstractBackend):
    """``ibm:<device>``: IBM Quantum hardware through ``QiskitRuntimeService`` (job mode).

    Asynchronous: :meth:`submit` records the job in the ledger and returns;
    :meth:`refresh` updates statuses; :meth:`collect` downloads finished
    results as a :class:`SampleResult`. :meth:`run` does all three and waits.

    Attributes:
      ledger: the job ledger (default: :func:`default_ledger_path`).
      retry: back-off policy for transient failures.
    """

    noise_from_protocol = False
    asynchronous = True

    def __init__(self, device_name: str, *, ledger: JobLedger | None = None, retry: RetryPolicy | None = None):
        self.device_name = device_name
        self.name = f"ibm:{device_name}"
        self.options = TranspileOptions()
        self._compiled = {}
        self._ledger = ledger
        self.retry = retry or DEFAULT_RETRY
        self._service = None
        self._device = None

    @property
    def ledger(self) -> JobLedger:
        """The job ledger (opened on first use, so ``QLEARN_SENSE_LEDGER`` is read then)."""
        if self._ledger is None:
            self._ledger = JobLedger()
        return self._ledger

    @property
    def service(self):
        """The runtime service (created on first use through :func:`qlearn_sense.backends.ibm.service_factory`)."""
        if self._service is None:
            self._service = _ibm.get_service()
        return self._service

    @property
    def device(self):
        """The service's backend object (its target is used for transpilation)."""
        if self._device is None:
            service = self.service
            self._device = call_with_retry(lambda: service.backend(self.device_name), self.retry,
                                           what=f"looking up IBM backend {self.device_name!r}")
        return self._device

    def connect(self) -> "IBMRuntimeBackend":
        """Create the service and look up the device now (fails early on account or network problems)."""
        _ = self.device
        return self

    # -- submission --------------------------------------------------------------------------

    def _find_by_tag(self, tag: str, *, strict: bool = False):
        """The service's job carrying ``tag``, or None.

        With ``strict`` a failed lookup raises (after retries) instead of
        answering None, so "unknown" is never taken for "absent".
        """
        if strict:
            jobs = call_with_retry(lambda: self.service.jobs(job_tags=[tag], limit=5), self.retry,
                                   what=f"looking up jobs tagged {tag}")
            return jobs[0] if jobs else None
        try:
            jobs = self.service.jobs(job_tags=[tag], limit=5)
        except Exception:  # noqa: BLE001 - a lookup failure means "unknown", not "absent"
            return None
        return jobs[0] if jobs else None

    def _adopt(self, record: JobRecord, job) -> JobRecord:
        try:
            status = status_name(job)
        except Exception:  # noqa: BLE001
            status = "QUEUED"
        return self.ledger.record_submitted(record.tag, job.job_id(), status=status)

    def submit(self, protocol: Protocol, params: np.ndarray, phis, shots: int, *, seed: int | None,
               run_dir: str | Path, run_id: str, config_name: str | None = None, config_hash: str | None = None,
               pub: int = 0) -> JobRecord:
        """Submit one PUB (the whole sweep) unless this run and PUB already has a live job.

        Order: (1) the ledger: an attempt that is not ERROR/CANCELLED/FAILED is
        returned as is (an interrupted ``SUBMITTING`` one is first completed
        from its tag on the service); (2) the service: a live job tagged with
        this run and PUB is adopted; (3) otherwise the intent is recorded and
        the job submitted (Ctrl-C deferred until the job id is in the ledger).

        Returns:
          The ledger record (status ``QUEUED`` or later).

        Raises:
          SubmissionError: rejected input, authorization failure, or transient
            failures beyond the retry budget (the record is then ``FAILED``).
          AccountError: no usable account.
        """
        params, phis = _check_batch(protocol, params, phis, shots)
        key = run_key(config_name, run_id)
        pub_tag = f"qls-pub:{key}:{pub}"
        existing = self.ledger.active(run_dir, pub)
        if existing is not None:
            if existing.job_id is not None:
                return existing
            job = self._find_by_tag(existing.tag, strict=True)
            if job is not None:
                return self._adopt(existing, job)
            self.ledger.update(existing.tag, status="FAILED",
                               error="interrupted before the service accepted the job (no job carries its tag)")
        live = None
        try:
            for job in self.service.jobs(job_tags=[pub_tag], limit=10):
                if status_name(job) not in ("ERROR", "CANCELLED"):
                    live = job
                    break
        except _ibm.AccountError:
            raise
        except Exception:  # noqa: BLE001 - a failed lookup must not block submission; tags still guard
            live = None
        comp = self.compile(protocol)
        values = pub_values(comp.isa, params, phis)
        attempt = self.ledger.next_attempt(run_dir, pub)
        tag = f"qls:{key}:p{pub}:a{attempt}"
        record = self.ledger.record_intent(
            run_dir=run_dir, run_id=run_id, config_name=config_name, pub=pub, tag=tag, backend=self.name,
            config_hash=config_hash, isa_hash=comp.isa_hash, pub_shape=list(values.shape), shots=int(shots),
            layout=comp.layout, runtime_version=runtime_version(), attempt=attempt)
        if live is not None:
            return self._adopt(record, live)
        sampler = _sampler(self.device, seed=seed, tags=[PACKAGE_TAG, f"qls-run:{key}", pub_tag, tag])
        try:
            with deferred_interrupt():
                job = call_with_retry(lambda: sampler.run([(comp.isa, values)], shots=int(shots)), self.retry,
                                      what=f"submitting to {self.name}",
                                      before_retry=lambda: self._find_by_tag(tag))
                return self.ledger.record_submitted(tag, job.job_id(), status="QUEUED")
        except _ibm.SubmissionError as exc:
            self.ledger.update(tag, status="FAILED", error=str(exc))
            raise

    # -- status and results ------------------------------------------------------------------

    def refresh(self, record: JobRecord) -> JobRecord:
        """Ask the service for a job's status and record it (with the error message for ERROR).

        A ``SUBMITTING`` record is completed from its tag when the service has
        the job. Final records are returned unchanged.
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

    def wait(self, record: JobRecord, *, timeout_s: float | None = None, poll_s: float = 5.0) -> JobRecord:
        """Poll :meth:`refresh` until the job is final (or ``timeout_s`` passes)."""
        start = time.monotonic()
        while True:
            record = self.refresh(record)
            if record.final or (timeout_s is not None and time.monotonic() - start >= timeout_s):
                return record
            time.sleep(poll_s)

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

    def run(self, protocol: Protocol, params: np.ndarray, phis, shots: int, *, seed: int,
            memory: bool = False) -> SampleResult:
        """Submit, wait and download (the job is still recorded in the ledger, as an ad-hoc run)."""
        run_id = "adhoc-" + uuid.uuid4().hex[:12]
        run_dir = self.ledger.path.parent / "adhoc" / run_id
        record = self.submit(protocol, params, phis, shots, seed=seed, run_dir=run_dir, run_id=run_id)
        record = self.wait(record)
        sample = self.result(record, protocol.n_qubits)
        if not memory:
            sample.memory = None
        return sample


def refresh_records(records: list[JobRecord], ledger: JobLedger | None = None) -> list[JobRecord]:
    """Refresh the statuses of ledger records through their backends (final ones are kept).

    Args:
      records: rows of ``ledger``.
      ledger: the ledger they come from (default: the default ledger).

    Raises:
      AccountError: no usable IBM account while some record needs the service.
    """
    from qlearn_sense.backends._registry import get_backend

    backends: dict[str, IBMRuntimeBackend] = {}
    out = []
    for rec in records:
        if rec.final:
            out.append(rec)
            continue
        be = backends.get(rec.backend)
        if be is None:
            be = get_backend(rec.backend)
            if not isinstance(be, IBMRuntimeBackend):
                out.append(rec)
                continue
            be._ledger = ledger
            backends[rec.backend] = be
        out.append(be.refresh(rec))
    return out
