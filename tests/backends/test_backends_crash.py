"""No job is ever submitted twice: lost replies, failed lookups, lost ledgers and crashes (issue 10).

Against :class:`conftest.DiskRuntimeService`, a service double that keeps its jobs
in a folder, so a new service object (after a crash, or in another process) sees
what the service accepted before. A failed lookup is "unknown", never "no job":
the ledger record stays SUBMITTING, nothing more is submitted, and the error says
to run ``qlearn-sense jobs`` later.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from qlearn_sense.backends import BackendError, JobLedger, JobUnknownError, LedgerError
from qlearn_sense.protocol import build_protocol

from conftest import IBM_RUN_CONFIG, TEST_TOKEN, SimulatedCrash  # noqa: E402  (tests/backends/conftest.py)

PROTOCOL = build_protocol(2, "ghz", "ghz_parity")
PARAMS = np.zeros((2, PROTOCOL.n_params))
PHIS = np.array([0.0, 0.5])
SHOTS = 100


def _submit(be, run_dir, run_id="r1", pub=0):
    return be.submit(PROTOCOL, PARAMS, PHIS, SHOTS, seed=3, run_dir=run_dir, run_id=run_id, config_name="crash",
                     pub=pub)


def test_lost_reply_and_failed_lookups_leave_the_record_submitting(disk_services, tmp_path, ledger_path):
    """Issue 10, data loss 1: accepted, reply lost, the tag lookup fails: no second job, record unknown."""
    svc = disk_services.current
    svc.hold = True
    svc.lose_next_reply = True
    svc.fail_lookups_after_lost_reply = 1000  # every lookup fails from the lost reply on
    ledger = JobLedger(ledger_path)
    be = disk_services.backend(ledger)
    run_dir = tmp_path / "run"
    with pytest.raises(JobUnknownError) as info:
        _submit(be, run_dir)
    msg = str(info.value)
    assert "qlearn-sense jobs" in msg and "SUBMITTING" in msg and str(ledger_path) in msg and "\n" not in msg
    assert info.value.kind == "unknown" and TEST_TOKEN not in msg
    assert svc.submit_calls == 1 and len(svc.job_ids) == 1
    (row,) = ledger.for_run(run_dir)
    assert row.status == "SUBMITTING" and row.job_id is None

    # trying again (a rerun, a resubmission) while the lookups still fail submits nothing
    with pytest.raises(JobUnknownError):
        _submit(be, run_dir)
    assert svc.submit_calls == 1 and [r.status for r in ledger.for_run(run_dir)] == ["SUBMITTING"]
    assert be.refresh(row).status == "SUBMITTING"  # `jobs` while the service is down: still unknown

    # later, a new process: the service answers again and the job is recovered from its tag
    svc2 = disk_services.new()
    be2 = disk_services.backend(JobLedger(ledger_path))
    rec = be2.refresh(row)
    assert rec.job_id == svc2.job_ids[0] and rec.status == "QUEUED"
    assert _submit(be2, run_dir).job_id == rec.job_id and svc2.submit_calls == 1
    svc2.hold = False
    rec = be2.wait(rec, timeout_s=5.0, poll_s=0.0)
    assert rec.status == "DONE"
    sample = be2.result(rec, PROTOCOL.n_qubits)
    assert sample.counts.shape == (2, 4) and sample.counts.sum() == 2 * SHOTS
    assert len(JobLedger(ledger_path).for_run(run_dir)) == 1


def test_lost_reply_and_one_failed_lookup_adopts_the_accepted_job(disk_services, tmp_path, ledger_path):
    svc = disk_services.current
    svc.hold = True
    svc.lose_next_reply = True
    svc.fail_lookups_after_lost_reply = 1  # the lookup fails once, its retry answers
    ledger = JobLedger(ledger_path)
    rec = _submit(disk_services.backend(ledger), tmp_path / "run")
    assert svc.submit_calls == 1 and rec.job_id == svc.job_ids[0] and rec.status == "QUEUED"


@pytest.mark.parametrize("lookups_fail", [1, 1000])
def test_lost_ledger_and_failed_lookup_never_submit_while_the_first_job_may_exist(disk_services, tmp_path,
                                                                                   ledger_path, lookups_fail):
    """Issue 10, data loss 1: with a lost ledger and failed lookups, no second job while the first is QUEUED."""
    svc = disk_services.current
    svc.hold = True
    run_dir = tmp_path / "run"
    first = _submit(disk_services.backend(JobLedger(ledger_path)), run_dir)
    assert first.status == "QUEUED"

    ledger_path.unlink()  # the ledger is lost (deleted, another machine ...)
    svc2 = disk_services.new()
    svc2.fail_lookups = lookups_fail
    ledger = JobLedger(ledger_path)
    be2 = disk_services.backend(ledger)
    if lookups_fail == 1:  # the retried lookup answers: the live job is adopted
        rec = _submit(be2, run_dir)
        assert rec.job_id == first.job_id and rec.status == "QUEUED"
    else:  # the service never answers: nothing is submitted and nothing is recorded
        with pytest.raises(JobUnknownError, match="nothing was submitted") as info:
            _submit(be2, run_dir)
        assert "\n" not in str(info.value) and "qlearn-sense jobs" in str(info.value)
        assert ledger.for_run(run_dir) == []
    assert svc2.submit_calls == 1 and svc2.job_ids == [first.job_id]


@pytest.mark.parametrize("ledger_lost", [False, True])
def test_crash_right_after_the_service_accepted(disk_services, tmp_path, ledger_path, ledger_lost):
    """The client dies between the service's acceptance and the ledger write: the job is adopted, not doubled."""
    svc = disk_services.current
    svc.hold = True
    svc.crash_after_accept = "raise"
    run_dir = tmp_path / "run"
    with pytest.raises(SimulatedCrash):
        _submit(disk_services.backend(JobLedger(ledger_path)), run_dir)
    (row,) = JobLedger(ledger_path).for_run(run_dir)
    assert row.status == "SUBMITTING" and row.job_id is None  # the intent was durable before sending
    if ledger_lost:
        ledger_path.unlink()

    svc2 = disk_services.new()
    svc2.fail_lookups = 1000
    be2 = disk_services.backend(JobLedger(ledger_path))
    with pytest.raises(JobUnknownError):  # the service does not answer: nothing is sent
        _submit(be2, run_dir)
    assert svc2.submit_calls == 1
    svc2.fail_lookups = 0
    rec = _submit(be2, run_dir)
    assert rec.job_id == svc2.job_ids[0] and svc2.submit_calls == 1 and len(svc2.job_ids) == 1
    assert [r.job_id for r in JobLedger(ledger_path).for_run(run_dir)] == [rec.job_id]


def test_interrupted_submission_without_a_job_is_failed_and_submitted_again(disk_services, tmp_path, ledger_path):
    """Only a lookup that answers "no job carries the tag" lets the same PUB go out again."""
    svc = disk_services.current
    ledger = JobLedger(ledger_path)
    run_dir = tmp_path / "run"
    ledger.record_intent(run_dir=run_dir, run_id="r1", config_name="crash", pub=0, tag="qls:dead:p0:a1",
                         backend="ibm:ibm_fez", config_hash=None, isa_hash=None, pub_shape=None, shots=SHOTS,
                         layout=None, runtime_version=None, attempt=1)  # an intent whose job never reached the service
    rec = _submit(disk_services.backend(ledger), run_dir)
    rows = ledger.for_run(run_dir)
    assert [r.status for r in rows] == ["FAILED", "QUEUED"] and "no job carries its tag" in rows[0].error
    assert rec.attempt == 2 and svc.submit_calls == 1


def test_reply_lost_on_the_last_try_is_looked_up_not_failed(disk_services, tmp_path, ledger_path):
    """Four tries fail before the service accepts, the fifth is accepted and its reply lost: adopted."""
    from qiskit_ibm_runtime.api.exceptions import RequestsApiError

    svc = disk_services.current
    svc.hold = True
    svc.fail_submit = [RequestsApiError("503 Server Error: Service Unavailable", status_code=503)] * 4
    svc.lose_next_reply = True
    ledger = JobLedger(ledger_path)
    rec = _submit(disk_services.backend(ledger), tmp_path / "run")
    assert svc.submit_calls == 5 and svc.job_ids == [rec.job_id] and rec.status == "QUEUED"


@pytest.mark.parametrize("accepted", [True, False])
def test_unclassified_failure_is_looked_up_before_the_record_is_failed(disk_services, tmp_path, ledger_path,
                                                                        accepted):
    """A failure of unknown kind may come after the service accepted: the tag decides, not the exception."""
    svc = disk_services.current
    svc.hold = True
    if accepted:
        svc.fail_after_accept = [RuntimeError("unexpected EOF while reading the reply")]
    else:
        svc.fail_submit = [RuntimeError("unexpected EOF while sending")]
    ledger = JobLedger(ledger_path)
    run_dir = tmp_path / "run"
    if accepted:
        rec = _submit(disk_services.backend(ledger), run_dir)
        assert rec.status == "QUEUED" and rec.job_id == svc.job_ids[0]
    else:
        from qlearn_sense.backends import SubmissionError

        with pytest.raises(SubmissionError, match="not retried"):
            _submit(disk_services.backend(ledger), run_dir)
        (row,) = ledger.for_run(run_dir)
        assert row.status == "FAILED" and svc.job_ids == []
    assert svc.submit_calls == 1


def test_ledger_failure_after_acceptance_names_the_job(disk_services, tmp_path, ledger_path):
    """The service accepted but the ledger cannot take the id: the error names the job; `jobs` recovers it."""

    class LockedAfterIntent(JobLedger):
        def record_submitted(self, tag, job_id, status="QUEUED", submitted_at=None):
            raise LedgerError(f"job ledger {self.path} is locked by another process (waited 30 s)", self.path)

    svc = disk_services.current
    svc.hold = True
    run_dir = tmp_path / "run"
    with pytest.raises(BackendError) as info:
        _submit(disk_services.backend(LockedAfterIntent(ledger_path)), run_dir)
    msg = str(info.value)
    assert svc.job_ids[0] in msg and "qlearn-sense jobs" in msg and str(ledger_path) in msg
    (row,) = JobLedger(ledger_path).for_run(run_dir)
    rec = disk_services.backend(JobLedger(ledger_path)).refresh(row)
    assert rec.job_id == svc.job_ids[0] and svc.submit_calls == 1


def test_locked_ledger_submits_nothing(disk_services, tmp_path, ledger_path):
    import sqlite3

    JobLedger(ledger_path)
    ledger = JobLedger(ledger_path, timeout_s=0.1)
    holder = sqlite3.connect(ledger_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        be = disk_services.backend(ledger)
        with pytest.raises(LedgerError, match="locked") as info:
            be.preflight()
        assert str(ledger_path) in str(info.value)
        with pytest.raises(LedgerError):
            _submit(be, tmp_path / "run")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert disk_services.current.submit_calls == 0


_KILL_SCRIPT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    import numpy as np
    from conftest import FAST_RETRY, DiskRuntimeService, wrap_executor
    from qlearn_sense.backends import IBMRuntimeBackend, JobLedger
    from qlearn_sense.protocol import build_protocol

    svc = DiskRuntimeService({root!r})
    svc.hold = True
    svc.crash_after_accept = "kill"
    wrap_executor(lambda: svc)
    be = IBMRuntimeBackend("ibm_fez", service=svc, retry=FAST_RETRY, ledger=JobLedger({ledger!r}))
    p = build_protocol(2, "ghz", "ghz_parity")
    be.submit(p, np.zeros((2, p.n_params)), np.array([0.0, 0.5]), {shots}, seed=3, run_dir={run_dir!r},
              run_id="r1", config_name="crash")
    print("not killed")
""")


@pytest.mark.slow
def test_kill_9_after_acceptance_then_resubmit_adopts_the_job(disk_services, tmp_path, ledger_path):
    """A real SIGKILL of the submitting process right after the service accepted (a subprocess, ~10 s)."""
    run_dir = tmp_path / "run"
    script = _KILL_SCRIPT.format(tests=str(Path(__file__).parent), root=str(disk_services.root),
                                 ledger=str(ledger_path), shots=SHOTS, run_dir=str(run_dir))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "JAX_PLATFORMS": "cpu"})
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert "not killed" not in proc.stdout
    (row,) = JobLedger(ledger_path).for_run(run_dir)
    assert row.status == "SUBMITTING" and row.job_id is None
    svc = disk_services.new()
    assert len(svc.job_ids) == 1 and svc.submit_calls == 1
    rec = _submit(disk_services.backend(JobLedger(ledger_path)), run_dir)
    assert rec.job_id == svc.job_ids[0] and svc.submit_calls == 1


# -- the same through the command line ------------------------------------------------------------

CONFIG = {"name": "crash_cli", "seed": 5, **IBM_RUN_CONFIG}


def _cli(*args):
    from qlearn_sense.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "250"})
    assert TEST_TOKEN not in result.output
    return result


def test_cli_run_resubmit_and_jobs_after_a_lost_reply(disk_services, tmp_path, ledger_path):
    cfg = tmp_path / "crash_cli.yaml"
    cfg.write_text(yaml.safe_dump(CONFIG))
    out = tmp_path / "experiments"
    run_dir = out / "crash_cli" / "lost"
    svc = disk_services.current
    svc.hold = True
    svc.lose_next_reply = True
    svc.fail_lookups_after_lost_reply = 1000
    r = _cli("run", cfg, "--out", out, "--run-id", "lost")
    assert r.exit_code == 2, r.output
    assert "qlearn-sense jobs" in r.output and "Traceback" not in r.output
    assert json.loads((run_dir / "results.json").read_text())["status"] == "submitting"
    assert svc.submit_calls == 1

    r = _cli("resubmit", run_dir)  # the service still does not answer: nothing is sent
    assert r.exit_code == 2 and "qlearn-sense jobs" in r.output, r.output
    assert svc.submit_calls == 1

    svc2 = disk_services.new()  # the service answers again
    r = _cli("jobs")
    assert r.exit_code == 0 and svc2.job_ids[0] in r.output, r.output
    (row,) = JobLedger(ledger_path).for_run(run_dir)
    assert row.job_id == svc2.job_ids[0]
    svc2.hold = False
    r = _cli("fetch", run_dir, "--wait")
    assert r.exit_code == 0, r.output
    assert json.loads((run_dir / "results.json").read_text()).get("status", "done") == "done"  # complete
    assert svc2.submit_calls == 1
