"""Fixtures for backend tests: an isolated ledger, no back-off sleeps, and a QiskitRuntimeService test double."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

TEST_TOKEN = "qls-TEST-token-0123456789abcdef-DO-NOT-LEAK"
"""A fake IBM token: tests grep every written file for it."""


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
    """Test double of ``QiskitRuntimeService``.

    ``backend(name)`` gives a small fake device, so the executor-based Sampler
    runs in qiskit-ibm-runtime's local testing mode and returns local jobs;
    the double records them (with their tags) so that ``job(id)`` and
    ``jobs(job_tags=...)`` work. Knobs: ``fail_submit`` (exceptions raised by
    the next submissions before the job exists), ``fail_after_accept``
    (exceptions raised after the job exists: a lost reply),
    ``interrupt_after_submit`` (Ctrl-C right after the service accepted the
    job, before the client sees its id), ``error_next`` (the next job ends in
    ERROR with this message), ``hold`` (jobs stay QUEUED).
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

    def backend(self, name: str):
        return self.device

    def backends(self):
        return [self.device]

    def job(self, job_id: str) -> FakeJob:
        from qiskit_ibm_runtime.exceptions import RuntimeJobNotFound

        if job_id not in self.jobs_by_id:
            raise RuntimeJobNotFound(f"Job not found: {job_id}")
        return self.jobs_by_id[job_id]

    def jobs(self, limit: int | None = 10, job_tags: list[str] | None = None, **kwargs) -> list[FakeJob]:
        out = [j for j in reversed(list(self.jobs_by_id.values()))
               if not job_tags or all(t in j.tags for t in job_tags)]
        return out[:limit] if limit else out

    # called by the patched Executor.run
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


@pytest.fixture
def ledger_path(tmp_path, monkeypatch) -> Path:
    """A private job ledger for the test (``QLEARN_SENSE_LEDGER``)."""
    path = tmp_path / "ledger" / "jobs.sqlite"
    monkeypatch.setenv("QLEARN_SENSE_LEDGER", str(path))
    return path


@pytest.fixture
def no_sleep(monkeypatch):
    """Back-off without waiting."""
    from qlearn_sense.backends import _runtime

    monkeypatch.setattr(_runtime, "DEFAULT_RETRY", dataclasses.replace(_runtime.DEFAULT_RETRY, sleep=lambda s: None))


@pytest.fixture
def fake_service(monkeypatch, ledger_path, no_sleep):
    """Install the test double as ``qlearn_sense.backends.ibm.service_factory`` (token set in the env)."""
    from qiskit_ibm_runtime.executor import executor as executor_mod

    from qlearn_sense.backends import ibm

    monkeypatch.setenv("QISKIT_IBM_TOKEN", TEST_TOKEN)
    service = FakeRuntimeService()
    original = executor_mod.Executor.run

    def run(self, program, dry_run=False):
        return service._on_submit(self, lambda: original(self, program, dry_run=dry_run))

    monkeypatch.setattr(executor_mod.Executor, "run", run)
    monkeypatch.setattr(ibm, "service_factory", lambda: service)
    return service


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
