"""The IBM hardware path end to end against a QiskitRuntimeService test double (local jobs).

submit -> interrupt -> jobs -> fetch gives results identical to a synchronous run
with the same seed; ERROR jobs are recorded and resubmitted; transient errors are
retried, authorization errors are not; no job is submitted twice; no token is
written anywhere.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from qlearn_sense.backends import JobLedger
from qlearn_sense.cli import app

from conftest import IBM_RUN_CONFIG, TEST_TOKEN  # noqa: E402  (tests/backends/conftest.py)

CONFIG = {"name": "hw_double", "seed": 5, **IBM_RUN_CONFIG}
COMPARED = ("fisher", "estimate", "crb", "sensitivity_T_per_sqrtHz", "honesty", "cfi_check", "optimization",
            "sensor", "protocol")

runner = CliRunner()


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "hw_double.yaml"
    path.write_text(yaml.safe_dump(CONFIG))
    return path


def cli(*args):
    result = runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "250"})
    assert TEST_TOKEN not in result.output
    return result


def _run(config_file, out, run_id, backend="ibm:ibm_fez", *extra):
    return cli("run", config_file, "--backend", backend, "--out", out, "--run-id", run_id, *extra)


def test_submit_interrupt_jobs_fetch_matches_local_run(fake_service, config_file, tmp_path, ledger_path,
                                                       token_leaks):
    out = tmp_path / "experiments"
    fake_service.interrupt_after_submit = True  # Ctrl-C after the service accepted, before we saw the id
    r = _run(config_file, out, "hw")
    assert r.exit_code != 0
    run_dir = out / "hw_double" / "hw"
    (row,) = JobLedger(ledger_path).for_run(run_dir)
    assert row.status == "SUBMITTING" and row.job_id is None  # intent recorded, id not yet known
    assert json.loads((run_dir / "results.json").read_text())["status"] == "submitting"
    assert len(fake_service.jobs_by_id) == 1

    r = cli("jobs")  # recovers the job id from its tag and refreshes the status
    assert r.exit_code == 0, r.output
    (row,) = JobLedger(ledger_path).for_run(run_dir)
    job_id = next(iter(fake_service.jobs_by_id))
    assert row.job_id == job_id and row.status == "DONE"
    assert job_id in r.output and "hw_double/hw" in r.output
    assert row.isa_hash and row.pub_shape == [3, 5] and row.layout and row.runtime_version
    assert row.config_hash and row.backend == "ibm:ibm_fez" and row.finished_at

    r = cli("fetch", run_dir)
    assert r.exit_code == 0, r.output
    fetched = json.loads((run_dir / "results.json").read_text())
    assert fetched.get("status", "done") == "done" and fetched["jobs"][0]["job_id"] == job_id
    assert JobLedger(ledger_path).for_run(run_dir)[0].fetched_at is not None
    assert json.loads((run_dir / "jobs.json").read_text())[0]["job_id"] == job_id
    assert fake_service.submit_calls == 1

    # the same config run synchronously on local testing mode with the same seed
    r = _run(config_file, out, "sync", "ibm-local:fake_manila")
    assert r.exit_code == 0, r.output
    local = json.loads((out / "hw_double" / "sync" / "results.json").read_text())
    for key in COMPARED:
        if key == "optimization":
            fetched[key].pop("seconds"), local[key].pop("seconds")
        assert fetched[key] == local[key], key
    np.testing.assert_array_equal(np.load(run_dir / "counts.npy"), np.load(out / "hw_double" / "sync" / "counts.npy"))
    assert token_leaks(tmp_path) == []


def test_returns_after_submission_and_never_submits_twice(fake_service, config_file, tmp_path, ledger_path):
    out = tmp_path / "experiments"
    fake_service.hold = True
    r = _run(config_file, out, "once")
    assert r.exit_code == 0, r.output
    assert "submitted" in r.output and "fetch" in r.output
    run_dir = out / "hw_double" / "once"
    res = json.loads((run_dir / "results.json").read_text())
    assert res["status"] == "submitted" and res["jobs"][0]["status"] == "QUEUED"
    r = cli("fetch", run_dir)
    assert r.exit_code == 0 and "QUEUED" in r.output
    assert _run(config_file, out, "once").exit_code == 2  # an existing --run-id is refused without --force
    _run(config_file, out, "once", "ibm:ibm_fez", "--force")  # same run and PUB again: the live job is reused
    assert fake_service.submit_calls == 1 and len(JobLedger(ledger_path).for_run(run_dir)) == 1
    r = cli("resubmit", run_dir)
    assert r.exit_code == 2 and "not submitted again" in r.output
    fake_service.hold = False
    r = cli("fetch", run_dir)
    assert r.exit_code == 0, r.output
    assert "estimated field" in r.output


def test_job_tags_prevent_duplicates_when_the_ledger_is_lost(fake_service, config_file, tmp_path, monkeypatch):
    out = tmp_path / "experiments"
    fake_service.hold = True
    assert _run(config_file, out, "tags").exit_code == 0
    monkeypatch.setenv("QLEARN_SENSE_LEDGER", str(tmp_path / "other-ledger.sqlite"))  # a fresh, empty ledger
    assert _run(config_file, out, "tags", "ibm:ibm_fez", "--force").exit_code == 0  # the same run again
    assert fake_service.submit_calls == 1
    (row,) = JobLedger(tmp_path / "other-ledger.sqlite").all()
    assert row.job_id == next(iter(fake_service.jobs_by_id))


def test_error_job_is_recorded_and_can_be_resubmitted(fake_service, config_file, tmp_path, ledger_path,
                                                      token_leaks):
    out = tmp_path / "experiments"
    fake_service.error_next = "Error 1517: the device went offline for calibration"
    assert _run(config_file, out, "err").exit_code == 0
    run_dir = out / "hw_double" / "err"
    r = cli("fetch", run_dir)
    assert r.exit_code == 1
    assert "ERROR" in r.output and "offline for calibration" in r.output and "resubmit" in r.output
    (row,) = JobLedger(ledger_path).for_run(run_dir)
    assert row.status == "ERROR" and "offline for calibration" in row.error
    assert json.loads((run_dir / "results.json").read_text())["status"] == "error"
    r = cli("jobs")
    assert "ERROR" in r.output
    r = cli("resubmit", run_dir)
    assert r.exit_code == 0, r.output
    rows = JobLedger(ledger_path).for_run(run_dir)
    assert [x.attempt for x in rows] == [1, 2] and rows[1].status == "QUEUED"
    r = cli("fetch", run_dir)
    assert r.exit_code == 0, r.output
    assert json.loads((run_dir / "results.json").read_text())["jobs"][0]["attempt"] == 2
    assert token_leaks(tmp_path) == []


def test_transient_errors_are_retried(fake_service, config_file, tmp_path, ledger_path):
    from qiskit_ibm_runtime.api.exceptions import RequestsApiError

    out = tmp_path / "experiments"
    fake_service.fail_submit = [RequestsApiError("503 Server Error: Service Unavailable", status_code=503),
                                RequestsApiError("502 Bad Gateway", status_code=502)]
    r = _run(config_file, out, "flaky")
    assert r.exit_code == 0, r.output
    assert fake_service.submit_calls == 3 and len(fake_service.jobs_by_id) == 1
    (row,) = JobLedger(ledger_path).for_run(out / "hw_double" / "flaky")
    assert row.status == "QUEUED" and row.job_id in fake_service.jobs_by_id


def test_lost_reply_is_recovered_from_the_job_tag(fake_service, config_file, tmp_path, ledger_path):
    import requests

    out = tmp_path / "experiments"
    fake_service.fail_after_accept = [requests.exceptions.ConnectionError("connection reset by peer")]
    r = _run(config_file, out, "lost")
    assert r.exit_code == 0, r.output
    assert fake_service.submit_calls == 1 and len(fake_service.jobs_by_id) == 1
    (row,) = JobLedger(ledger_path).for_run(out / "hw_double" / "lost")
    assert row.job_id == next(iter(fake_service.jobs_by_id))


def test_auth_error_is_not_retried(fake_service, config_file, tmp_path, ledger_path, token_leaks):
    from qiskit_ibm_runtime.exceptions import IBMNotAuthorizedError

    out = tmp_path / "experiments"
    fake_service.fail_submit = [IBMNotAuthorizedError(f"401 Unauthorized: token {TEST_TOKEN} is not valid")]
    r = _run(config_file, out, "auth")
    assert r.exit_code == 2
    assert "not retried" in r.output and "QISKIT_IBM_TOKEN" in r.output
    assert fake_service.submit_calls == 1 and not fake_service.jobs_by_id
    run_dir = out / "hw_double" / "auth"
    (row,) = JobLedger(ledger_path).for_run(run_dir)
    assert row.status == "FAILED" and "401" in row.error and TEST_TOKEN not in row.error
    r = cli("resubmit", run_dir)  # after fixing the account, the run goes out
    assert r.exit_code == 0, r.output
    assert len(fake_service.jobs_by_id) == 1
    assert token_leaks(tmp_path) == []


def test_input_errors_are_not_retried(fake_service, config_file, tmp_path, ledger_path):
    from qiskit_ibm_runtime.exceptions import IBMInputValueError

    fake_service.fail_submit = [IBMInputValueError("The instruction rzz on qubits (0, 1) is not supported (not ISA)")]
    r = _run(config_file, tmp_path / "experiments", "isa")
    assert r.exit_code == 2 and "rejected the input" in r.output
    assert fake_service.submit_calls == 1


def test_synchronous_run_method_records_an_adhoc_job(fake_service, ledger_path):
    from qlearn_sense.backends import get_backend
    from qlearn_sense.protocol import build_protocol

    protocol = build_protocol(2, "ghz", "ghz_parity")
    res = get_backend("ibm:ibm_fez").run(protocol, np.zeros((2, 2)), [0.0, 0.5], 200, seed=3)
    assert res.counts.shape == (2, 4) and res.counts.sum() == 400
    (row,) = JobLedger(ledger_path).all()
    assert row.status == "DONE" and row.run_id.startswith("adhoc-")


@pytest.mark.parametrize("robust", [False, True])
def test_shadows_go_to_hardware_as_their_own_pubs_and_match_local_mode(fake_service, tmp_path, ledger_path,
                                                                         robust, token_leaks):
    """Shadows on IBM: PUB 1 (one shot per basis setting) and, robust, PUB 2 (calibration); fetched
    results equal a synchronous ibm-local run with the same seed."""
    config = dict(CONFIG, shadows={"snapshots": 120, "groups": 4, "robust": robust, "calibration_snapshots": 60})
    path = tmp_path / "hw_shadows.yaml"
    path.write_text(yaml.safe_dump(config))
    out = tmp_path / "experiments"
    assert _run(path, out, "hw").exit_code == 0
    run_dir = out / "hw_double" / "hw"
    rows = JobLedger(ledger_path).for_run(run_dir)
    assert sorted(r.pub for r in rows) == ([0, 1, 2] if robust else [0, 1])
    shapes = {r.pub: r.pub_shape for r in rows}
    assert shapes[1][0] == 120 and (not robust or shapes[2][0] == 60)
    submitted = json.loads((run_dir / "results.json").read_text())
    assert [j["pub"] for j in submitted["jobs"]] == sorted(shapes)

    r = cli("fetch", run_dir, "--wait")
    assert r.exit_code == 0, r.output
    fetched = json.loads((run_dir / "results.json").read_text())
    assert fetched.get("status", "done") == "done" and fetched["shadows"]["backend"] == "ibm:ibm_fez"
    assert len(fetched["jobs"]) == len(shapes)
    assert (run_dir / "shadows.npz").is_file()
    assert fake_service.submit_calls == len(shapes)

    assert _run(path, out, "sync", "ibm-local:fake_manila").exit_code == 0
    local = json.loads((out / "hw_double" / "sync" / "results.json").read_text())
    for key in ("observables", "max_abs_error", "fidelity_ideal_exact", "error_reference"):
        assert fetched["shadows"][key] == local["shadows"][key], key
    assert token_leaks(tmp_path) == []


def test_failed_shadows_pub_alone_is_resubmitted(fake_service, tmp_path, ledger_path):
    config = dict(CONFIG, shadows={"snapshots": 50, "groups": 2})
    path = tmp_path / "hw_shadows.yaml"
    path.write_text(yaml.safe_dump(config))
    out = tmp_path / "experiments"
    assert _run(path, out, "hw").exit_code == 0
    run_dir = out / "hw_double" / "hw"
    ledger = JobLedger(ledger_path)
    shadow_job = ledger.latest(run_dir, 1).job_id
    failed = fake_service.jobs_by_id[shadow_job]
    failed.forced_status, failed.forced_error = "ERROR", "Error 8041: the job exceeded its time limit"
    r = cli("fetch", run_dir, "--wait")
    assert r.exit_code == 1 and "8041" in r.output and shadow_job in r.output
    assert json.loads((run_dir / "results.json").read_text())["status"] == "error"
    r = cli("resubmit", run_dir)
    assert r.exit_code == 0, r.output
    assert ledger.latest(run_dir, 0).attempt == 1 and ledger.latest(run_dir, 1).attempt == 2
    assert fake_service.submit_calls == 3  # PUB 0 once, PUB 1 twice
    r = cli("fetch", run_dir, "--wait")
    assert r.exit_code == 0, r.output
    assert "observables" in json.loads((run_dir / "results.json").read_text())["shadows"]
