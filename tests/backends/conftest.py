"""Fixtures for backend tests: an isolated ledger, no back-off sleeps, and QiskitRuntimeService test doubles.

The doubles are handed to the backends (``IBMRuntimeBackend(name, service=..., retry=...)``);
the command-line tests get them through :func:`qlearn_sense.backends.override_backend`,
so no module global of qlearn_sense is patched. Submissions run in qiskit-ibm-runtime's
local testing mode: ``Executor.run`` (qiskit-ibm-runtime's) is wrapped to let the double
record each job with its tags and inject faults.

Two doubles:

- :class:`FakeRuntimeService`: state in memory (one process).
- :class:`DiskRuntimeService`: state in a folder (``state.json`` plus one pickled result per
  job), so a new service object, in this process or another one, sees the jobs a killed one
  accepted. Faults: ``lose_next_reply`` (the service accepts the job, the reply is lost),
  ``fail_lookups`` (the next N tag lookups fail), ``fail_lookups_after_lost_reply``,
  ``crash_after_accept`` (the client dies right after the service accepted: ``SimulatedCrash``,
  or ``os._exit`` / SIGKILL in a subprocess).
"""

from __future__ import annotations

import json
import os
import pickle
import signal
from pathlib import Path
from typing import Callable

import pytest

from qlearn_sense.backends import IBMRuntimeBackend, RetryPolicy, override_backend

TEST_TOKEN = "qls-TEST-token-0123456789abcdef-DO-NOT-LEAK"
"""A fake IBM token: tests grep every written file for it."""

FAST_RETRY = RetryPolicy(attempts=5, base_delay_s=0.0, max_delay_s=0.0, sleep=lambda s: None)
"""Back-off without waiting (same number of tries as the default policy)."""


class SimulatedCrash(BaseException):
    """The client process dies here (nothing after it runs; not an ``Exception``, so nothing catches it)."""


class FakeJob:
    """A RuntimeJobV2 stand-in wrapping a local-mode job, with controllable status."""

    def __init__(self, job, tags: list[str], service: "FakeRuntimeService"):
        self._job = job
        self.tags = list(tags)
        self._service = service
        self.forced_status: str | None = None
        self.forced_error: str | None = None

    def job_id(self) -> str:
        return self._job.job_id()

    def status(self) -> str:
        if self.forced_status is not None:
            return self.forced_status
        if self._service.hold:
            return "QUEUED"
        try:
            self._job.result()  # local jobs run in a thread: finish them, so statuses are deterministic
        except Exception:  # noqa: BLE001
            return "ERROR"
        s = self._job.status()
        return getattr(s, "name", str(s))

    def error_message(self) -> str | None:
        return self.forced_error

    def result(self):
        if self.forced_status == "ERROR":
            raise RuntimeError(f"Unable to retrieve job result. {self.forced_error}")
        return self._job.result()

    def metrics(self) -> dict:
        return {"timestamps": {"finished": "2026-01-01T00:00:00+00:00"}}


class FakeRuntimeService:
    """Test double of ``QiskitRuntimeService`` (state in memory).

    ``backend(name)`` gives a small fake device, so the executor-based Sampler
    runs in qiskit-ibm-runtime's local testing mode and returns local jobs;
    the double records them (with their tags) so that ``job(id)`` and
    ``jobs(job_tags=...)`` work. Knobs: ``fail_submit`` (exceptions raised by
    the next submissions before the job exists), ``fail_after_accept``
    (exceptions raised after the job exists: a lost reply),
    ``interrupt_after_submit`` (Ctrl-C right after the service accepted the
    job, before the client sees its id), ``error_next`` (the next job ends in
    ERROR with this message), ``hold`` (jobs stay QUEUED), ``fail_lookups``
    (the next N ``jobs(...)`` calls raise a connection error).
    """

    def __init__(self, device: str = "fake_manila"):
        from qlearn_sense.backends import fake_backend

        self.token = os.environ.get("QISKIT_IBM_TOKEN")  # read like the real service does
        self.device = fake_backend(device)
        self.jobs_by_id: dict[str, FakeJob] = {}
        self.submit_calls = 0
        self.fail_submit: list[BaseException] = []
        self.fail_after_accept: list[BaseException] = []
        self.interrupt_after_submit = False
        self.error_next: str | None = None
        self.hold = False
        self.fail_lookups = 0
        self.lookups = 0

    def backend(self, name: str):
        return self.device

    def backends(self):
        return [self.device]

    def job(self, job_id: str) -> FakeJob:
        from qiskit_ibm_runtime.exceptions import RuntimeJobNotFound

        if job_id not in self.jobs_by_id:
            raise RuntimeJobNotFound(f"Job not found: {job_id}")
        return self.jobs_by_id[job_id]

    def _maybe_fail_lookup(self) -> None:
        import requests

        self.lookups += 1
        if self.fail_lookups > 0:
            self.fail_lookups -= 1
            raise requests.exceptions.ConnectionError("lookup failed: connection reset by peer")

    def jobs(self, limit: int | None = 10, job_tags: list[str] | None = None, **kwargs) -> list[FakeJob]:
        self._maybe_fail_lookup()
        out = [j for j in reversed(list(self.jobs_by_id.values()))
               if not job_tags or all(t in j.tags for t in job_tags)]
        return out[:limit] if limit else out

    # called by the wrapped Executor.run
    def _on_submit(self, executor, run):
        self.submit_calls += 1
        if self.fail_submit:
            raise self.fail_submit.pop(0)
        job = run()
        fake = FakeJob(job, executor.options.environment.job_tags, self)
        if self.error_next is not None:
            fake.forced_status, fake.forced_error = "ERROR", self.error_next
            self.error_next = None
        self.jobs_by_id[job.job_id()] = fake
        if self.fail_after_accept:
            raise self.fail_after_accept.pop(0)
        if self.interrupt_after_submit:
            self.interrupt_after_submit = False
            raise KeyboardInterrupt
        return job


class DiskJob:
    """A job of :class:`DiskRuntimeService`: every call reads the service's state from disk."""

    def __init__(self, service: "DiskRuntimeService", job_id: str):
        self._service = service
        self._id = job_id

    @property
    def tags(self) -> list[str]:
        return self._service.state()["jobs"][self._id]["tags"]

    def job_id(self) -> str:
        return self._id

    def status(self) -> str:
        state = self._service.state()
        return "QUEUED" if state["hold"] else state["jobs"][self._id]["status"]

    def error_message(self) -> str | None:
        return None

    def result(self):
        return pickle.loads((self._service.root / f"{self._id}.pkl").read_bytes())

    def metrics(self) -> dict:
        return {"timestamps": {"finished": "2026-01-01T00:00:00+00:00"}}


class DiskRuntimeService(FakeRuntimeService):
    """A service double whose jobs live in ``root`` (``state.json`` and ``<job id>.pkl``).

    A new object on the same folder (after a simulated crash, or in another
    process) sees every job accepted before. ``hold`` and ``submit_calls``
    are stored too; the faults are per object (a new object has none).
    """

    def __init__(self, root: str | Path, device: str = "fake_manila"):
        self.root = Path(root)
        self._ready = False  # the base class's defaults must not overwrite the stored state
        super().__init__(device)
        self.root.mkdir(parents=True, exist_ok=True)
        if not (self.root / "state.json").exists():
            self._save({"jobs": {}, "hold": False, "submit_calls": 0})
        self._ready = True
        self.lose_next_reply = False
        self.fail_lookups_after_lost_reply = 0
        self.crash_after_accept: str | None = None  # "raise", "exit" or "kill"

    # persistent state ------------------------------------------------------------------------
    def state(self) -> dict:
        return json.loads((self.root / "state.json").read_text())

    def _save(self, state: dict) -> None:
        tmp = self.root / "state.json.tmp"
        tmp.write_text(json.dumps(state))
        os.replace(tmp, self.root / "state.json")

    @property
    def hold(self) -> bool:
        return bool(self.state()["hold"])

    @hold.setter
    def hold(self, value: bool) -> None:
        if not self._ready:
            return
        state = self.state()
        state["hold"] = bool(value)
        self._save(state)

    @property
    def submit_calls(self) -> int:
        return int(self.state()["submit_calls"])

    @submit_calls.setter
    def submit_calls(self, value: int) -> None:
        if not self._ready:
            return
        state = self.state()
        state["submit_calls"] = int(value)
        self._save(state)

    @property
    def job_ids(self) -> list[str]:
        return list(self.state()["jobs"])

    # the service API -------------------------------------------------------------------------
    def job(self, job_id: str) -> DiskJob:
        from qiskit_ibm_runtime.exceptions import RuntimeJobNotFound

        if job_id not in self.state()["jobs"]:
            raise RuntimeJobNotFound(f"Job not found: {job_id}")
        return DiskJob(self, job_id)

    def jobs(self, limit: int | None = 10, job_tags: list[str] | None = None, **kwargs) -> list[DiskJob]:
        self._maybe_fail_lookup()
        jobs = self.state()["jobs"]
        out = [DiskJob(self, i) for i in reversed(list(jobs))
               if not job_tags or all(t in jobs[i]["tags"] for t in job_tags)]
        return out[:limit] if limit else out

    def _on_submit(self, executor, run):
        import requests

        self.submit_calls = self.submit_calls + 1
        if self.fail_submit:
            raise self.fail_submit.pop(0)
        job = run()
        result = job.result()
        (self.root / f"{job.job_id()}.pkl").write_bytes(pickle.dumps(result))
        state = self.state()
        state["jobs"][job.job_id()] = {"tags": list(executor.options.environment.job_tags), "status": "DONE"}
        self._save(state)  # the service has accepted the job: from here on it exists
        if self.crash_after_accept == "raise":
            raise SimulatedCrash
        if self.crash_after_accept == "exit":
            os._exit(9)
        if self.crash_after_accept == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if self.lose_next_reply:
            self.lose_next_reply = False
            self.fail_lookups += self.fail_lookups_after_lost_reply
            raise requests.exceptions.ConnectionError("connection reset by peer (the reply was lost)")
        return job


def wrap_executor(get_service: Callable[[], FakeRuntimeService], setattr_: Callable | None = None) -> None:
    """Route qiskit-ibm-runtime's ``Executor.run`` through ``get_service()._on_submit``.

    ``setattr_`` is ``monkeypatch.setattr`` in tests (undone afterwards); a
    subprocess passes nothing and patches for its lifetime.
    """
    from qiskit_ibm_runtime.executor import executor as executor_mod

    original = executor_mod.Executor.run

    def run(self, program, dry_run=False):
        return get_service()._on_submit(self, lambda: original(self, program, dry_run=dry_run))

    (setattr_ or setattr)(executor_mod.Executor, "run", run)


def ibm_backend_factory(get_service: Callable[[], FakeRuntimeService], retry: RetryPolicy = FAST_RETRY):
    """A registry factory for ``ibm:<device>`` that hands every backend the current double."""

    def factory(arg, **injected):
        if not arg:
            raise ValueError("backend 'ibm:<backend>' needs a device name, e.g. 'ibm:ibm_fez'")
        injected.setdefault("service", get_service())
        injected.setdefault("retry", retry)
        return IBMRuntimeBackend(arg, **injected)

    return factory


@pytest.fixture
def ledger_path(tmp_path, monkeypatch) -> Path:
    """A private job ledger for the test (``QLEARN_SENSE_LEDGER``)."""
    path = tmp_path / "ledger" / "jobs.sqlite"
    monkeypatch.setenv("QLEARN_SENSE_LEDGER", str(path))
    return path


@pytest.fixture
def fake_service(monkeypatch, ledger_path):
    """The in-memory double, handed to every ``ibm:`` backend built by name (token set in the env)."""
    monkeypatch.setenv("QISKIT_IBM_TOKEN", TEST_TOKEN)
    service = FakeRuntimeService()
    wrap_executor(lambda: service, monkeypatch.setattr)
    with override_backend("ibm", ibm_backend_factory(lambda: service)):
        yield service


class DiskServices:
    """Makes :class:`DiskRuntimeService` objects on one folder; the newest one gets the submissions."""

    def __init__(self, root: Path):
        self.root = root
        self.current: DiskRuntimeService | None = None

    def new(self) -> DiskRuntimeService:
        """A fresh service object (as after a crash or in a new process) on the same state."""
        self.current = DiskRuntimeService(self.root)
        return self.current

    def backend(self, ledger, device: str = "ibm_fez") -> IBMRuntimeBackend:
        """A new ``ibm:`` backend on the current service (as a new process would build it)."""
        return IBMRuntimeBackend(device, service=self.current, retry=FAST_RETRY, ledger=ledger)


@pytest.fixture
def disk_services(tmp_path, monkeypatch, ledger_path) -> DiskServices:
    """Disk-backed service doubles on ``tmp_path/service``; ``ibm:`` names built by the CLI use the newest."""
    monkeypatch.setenv("QISKIT_IBM_TOKEN", TEST_TOKEN)
    services = DiskServices(tmp_path / "service")
    services.new()
    wrap_executor(lambda: services.current, monkeypatch.setattr)
    with override_backend("ibm", ibm_backend_factory(lambda: services.current)):
        yield services


def files_containing(root: Path, needle: str) -> list[Path]:
    """Every file under ``root`` whose bytes contain ``needle``."""
    hits = []
    for p in Path(root).rglob("*"):
        if p.is_file() and needle.encode() in p.read_bytes():
            hits.append(p)
    return hits


@pytest.fixture
def token_leaks():
    """``token_leaks(*roots)``: files under the roots that contain the test token."""

    def scan(*roots) -> list[Path]:
        return [p for root in roots for p in files_containing(Path(root), TEST_TOKEN)]

    return scan



IBM_RUN_CONFIG = {
    "sensor": {"kind": "qubit", "gyromagnetic_ratio_Hz_per_T": 28.024e9, "t2_star_s": 1.0e-5,
               "interrogation_time_s": 1.0e-6, "readout_fidelity": 0.98},
    "signal": {"kind": "constant", "field_T": 1.0e-9},
    "protocol": {"n_qubits": 2, "preparation": {"ansatz": "ramsey"}, "measurement": {"ansatz": "local"}},
    "optimizer": {"steps": 5, "restarts": 1},
    "execution": {"backend": "ibm:ibm_fez", "shots": 400, "repetitions": 3},
}
"""A small 2-qubit Ramsey experiment on ibm:ibm_fez (add ``name`` and ``seed``), shared by the hardware-path tests."""
