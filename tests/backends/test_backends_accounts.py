"""IBM account handling: clear messages, the real cause when offline, no token in any output."""

from __future__ import annotations

import json

import numpy as np

import pytest
import requests
import yaml
from typer.testing import CliRunner

from qlearn_sense.backends import AccountError, RetryPolicy, SubmissionError, call_with_retry
from qlearn_sense.backends import ibm
from qlearn_sense.cli import app

from conftest import TEST_TOKEN  # noqa: E402  (tests/backends/conftest.py)


def unreachable(timeout=3.0):
    """The network probe of an offline machine."""
    return False, "iam.cloud.ibm.com:443: unreachable"


@pytest.fixture
def no_account(monkeypatch, tmp_path):
    """No token in the environment and no saved account file."""
    for var in (ibm.TOKEN_ENV, ibm.INSTANCE_ENV, ibm.CHANNEL_ENV, ibm.URL_ENV):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def _service_raising(exc: BaseException):
    """A ``QiskitRuntimeService`` stand-in class whose constructor raises ``exc``."""

    class Raising:
        def __init__(self, *args, **kwargs):
            raise exc

    return Raising


def _offline_error() -> BaseException:
    from qiskit_ibm_runtime.accounts.exceptions import InvalidAccountError

    try:
        try:
            raise requests.exceptions.ConnectionError("Failed to resolve 'iam.cloud.ibm.com' ([Errno -2])")
        except requests.exceptions.ConnectionError as cause:
            raise InvalidAccountError("Unable to retrieve instances. Please check that you are using a valid "
                                      "API token.") from cause
    except InvalidAccountError as exc:
        return exc


def test_missing_account_says_what_to_set(no_account):
    with pytest.raises(AccountError) as info:
        ibm.create_service()
    msg = str(info.value)
    assert "QISKIT_IBM_TOKEN" in msg and "QISKIT_IBM_INSTANCE" in msg and "qiskit-ibm.json" in msg


def test_offline_reports_the_network_not_an_invalid_token(no_account, monkeypatch):
    monkeypatch.setenv(ibm.TOKEN_ENV, TEST_TOKEN)
    with pytest.raises(AccountError) as info:
        ibm.create_service(service_class=_service_raising(_offline_error()), reachable=unreachable)
    msg = str(info.value)
    assert "cannot reach IBM Quantum" in msg and "network" in msg
    assert "valid API token" not in msg and TEST_TOKEN not in msg
    assert info.value.__cause__ is None and info.value.__context__ is None  # nothing token-bearing attached


def test_rejected_token_is_reported_without_the_token(no_account, monkeypatch):
    from qiskit_ibm_runtime.api.exceptions import RequestsApiError

    monkeypatch.setenv(ibm.TOKEN_ENV, TEST_TOKEN)
    raising = _service_raising(RequestsApiError(f"401 Client Error: apikey {TEST_TOKEN} not found", 401))
    with pytest.raises(AccountError) as info:
        ibm.create_service(service_class=raising)
    msg = str(info.value)
    assert "rejected" in msg and "$QISKIT_IBM_TOKEN" in msg and "HTTP 401" in msg
    assert TEST_TOKEN not in msg and "***" in msg


def test_saved_account_is_used_and_its_token_redacted(no_account, monkeypatch, tmp_path):
    path = tmp_path / "home" / ".qiskit" / "qiskit-ibm.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"default-ibm-quantum-platform": {"channel": "ibm_quantum_platform",
                                                                 "token": TEST_TOKEN}}))
    assert ibm.saved_account_exists()
    with pytest.raises(AccountError) as info:
        ibm.create_service(service_class=_service_raising(RuntimeError(f"bad token {TEST_TOKEN}")))
    assert "qiskit-ibm.json" in str(info.value) and TEST_TOKEN not in str(info.value)
    assert ibm.redact(f"x{TEST_TOKEN}y") == "x***y"


@pytest.mark.parametrize("exc, kind", [
    (requests.exceptions.ConnectionError("reset"), "transient"),
    (requests.exceptions.Timeout("slow"), "transient"),
    ("api503", "transient"), ("api429", "transient"), ("api401", "auth"), ("api403", "auth"), ("api400", "input"),
    ("notauth", "auth"), ("input", "input"), (ValueError("bad shape"), "input"), (RuntimeError("boom"), "fatal"),
])
def test_classify_error(exc, kind):
    from qiskit_ibm_runtime.api.exceptions import RequestsApiError
    from qiskit_ibm_runtime.exceptions import IBMInputValueError, IBMNotAuthorizedError

    if isinstance(exc, str):
        exc = {"api503": RequestsApiError("503", 503), "api429": RequestsApiError("429", 429),
               "api401": RequestsApiError("401", 401), "api403": RequestsApiError("403", 403),
               "api400": RequestsApiError("400", 400), "notauth": IBMNotAuthorizedError("no"),
               "input": IBMInputValueError("not ISA")}[exc]
    assert ibm.classify_error(exc) == kind


def test_call_with_retry_backs_off_on_transient_errors_only(monkeypatch):
    monkeypatch.setenv(ibm.TOKEN_ENV, TEST_TOKEN)
    sleeps = []
    policy = RetryPolicy(attempts=4, base_delay_s=1.0, sleep=sleeps.append)
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise requests.exceptions.ConnectionError("reset")
        return "ok"

    assert call_with_retry(flaky, policy, what="x") == "ok"
    assert sleeps == [1.0, 2.0]

    def always_down():
        raise requests.exceptions.ConnectionError("down")

    with pytest.raises(SubmissionError) as info:
        call_with_retry(always_down, policy, what="submitting")
    assert info.value.kind == "transient" and "4 tries" in str(info.value)

    calls.clear()

    def unauthorized():
        calls.append(1)
        raise PermissionError(f"401 token {TEST_TOKEN}")

    with pytest.raises(SubmissionError) as info:
        call_with_retry(unauthorized, policy, what="submitting")
    assert len(calls) == 1 and TEST_TOKEN not in str(info.value)


def test_cli_run_without_account_fails_cleanly_before_optimizing(no_account, tmp_path):
    cfg = {"name": "acct", "seed": 1,
           "sensor": {"kind": "qubit", "gyromagnetic_ratio_Hz_per_T": 1e9, "t2_star_s": 1e-5,
                      "interrogation_time_s": 1e-6},
           "signal": {"kind": "constant", "field_T": 1e-8},
           "protocol": {"n_qubits": 1, "preparation": {"ansatz": "ramsey"}, "measurement": {"ansatz": "local"}},
           "execution": {"backend": "ibm:ibm_fez"}}
    path = tmp_path / "acct.yaml"
    path.write_text(yaml.safe_dump(cfg))
    r = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "exp")], env={"COLUMNS": "250"})
    assert r.exit_code == 2
    assert "QISKIT_IBM_TOKEN" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "exp" / "acct").exists() or not any((tmp_path / "exp" / "acct").rglob("state.json"))


def test_live_calibration_needs_an_account(no_account):
    from qlearn_sense.backends import calibrated_noise

    with pytest.raises(AccountError, match="QISKIT_IBM_TOKEN"):
        calibrated_noise("ibm_fez", [0, 1], 1e-6)


def test_unknown_service_backend_lists_available_ones(fake_service, monkeypatch):
    def missing(name):
        raise ValueError(f"backend {name} not found")  # what the service does for an unknown name

    monkeypatch.setattr(fake_service, "backend", missing)
    with pytest.raises(ValueError, match="not available to this account; accepted: fake_manila"):
        ibm.service_backend("ibm_nowhere", service=fake_service)


def test_refreshing_jobs_without_account_is_an_account_error(no_account, ledger_path, tmp_path):
    from qlearn_sense.backends import JobLedger, refresh_records

    book = JobLedger(ledger_path)
    book.record_intent(run_dir=tmp_path, run_id="r", config_name="c", pub=0, tag="t", backend="ibm:ibm_fez",
                       config_hash=None, isa_hash=None, pub_shape=None, shots=1, layout=None,
                       runtime_version=None, attempt=1)
    book.record_submitted("t", "job-1")
    with pytest.raises(AccountError):
        refresh_records(book.all(), book)
    r = CliRunner().invoke(app, ["jobs"], env={"COLUMNS": "250"})  # lists the cached rows, says why not refreshed
    assert r.exit_code == 0 and "job-1" in r.output and "not refreshed" in r.output


def test_result_of_unfinished_job_is_refused(fake_service):
    from qlearn_sense.backends import BackendError, get_backend
    from qlearn_sense.protocol import build_protocol

    fake_service.hold = True
    be = get_backend("ibm:ibm_fez")
    rec = be.submit(build_protocol(1, "ramsey", "local"), np.zeros((1, 2)), 0.0, 10, seed=1, run_dir="r",
                    run_id="r")
    with pytest.raises(BackendError, match="QUEUED"):
        be.result(be.refresh(rec), 1)


def test_ctrl_c_is_deferred_until_the_job_id_is_recorded():
    import os
    import signal

    from qlearn_sense.backends._retry import deferred_interrupt

    done = []
    with pytest.raises(KeyboardInterrupt):
        with deferred_interrupt():
            os.kill(os.getpid(), signal.SIGINT)
            done.append("recorded")
    assert done == ["recorded"]


def test_fetch_of_a_folder_that_is_not_a_run_fails_cleanly(tmp_path, ledger_path):
    r = CliRunner().invoke(app, ["fetch", str(tmp_path)], env={"COLUMNS": "250"})
    assert r.exit_code == 2 and "does not exist" in r.output


def test_no_token_in_ledger_errors_or_logs_after_a_failing_connect(no_account, monkeypatch, tmp_path, caplog,
                                                                   capsys, token_leaks):
    """Issue 10: the token appears in no error message, traceback, log record, output or ledger file."""
    import logging
    import traceback

    from qiskit_ibm_runtime.api.exceptions import RequestsApiError

    from qlearn_sense.backends import IBMRuntimeBackend, JobLedger
    from conftest import FAST_RETRY  # noqa: E402

    monkeypatch.setenv(ibm.TOKEN_ENV, TEST_TOKEN)
    caplog.set_level(logging.DEBUG)
    ledger = JobLedger(tmp_path / "ledger" / "jobs.sqlite")
    errors = []

    # 1. the service rejects the token while being created (its message quotes the token)
    rejecting = _service_raising(RequestsApiError(f"401 Client Error: apikey {TEST_TOKEN} not found", 401))
    be = IBMRuntimeBackend("ibm_fez", service_factory=lambda: ibm.create_service(service_class=rejecting),
                           retry=FAST_RETRY, ledger=ledger)
    be.preflight()  # the ledger is written before connecting
    with pytest.raises(AccountError) as info:
        be.connect()
    errors.append(info.value)

    # 2. offline: "invalid token" with the real cause (and the token) in the chain
    offline = IBMRuntimeBackend("ibm_fez", retry=FAST_RETRY, ledger=ledger, service_factory=lambda: ibm.create_service(
        service_class=_service_raising(_offline_error()), reachable=unreachable))
    with pytest.raises(AccountError) as info:
        offline.connect()
    errors.append(info.value)

    # 3. the service exists but looking up the device fails with the token in the message
    class Forbidden:
        def backend(self, name):
            raise RequestsApiError(f"403 Forbidden: token {TEST_TOKEN} may not use {name}", 403)

    with pytest.raises(SubmissionError) as info:
        IBMRuntimeBackend("ibm_fez", service=Forbidden(), retry=FAST_RETRY, ledger=ledger).connect()
    errors.append(info.value)

    for exc in errors:
        text = "".join(traceback.format_exception(exc))
        assert TEST_TOKEN not in text and TEST_TOKEN not in repr(exc)
        assert exc.__context__ is None and exc.__cause__ is None  # no token-bearing exception kept alive
    assert "***" in str(errors[0]) and "***" in str(errors[2])
    assert TEST_TOKEN not in caplog.text
    captured = capsys.readouterr()
    assert TEST_TOKEN not in captured.out + captured.err
    assert token_leaks(tmp_path) == []
    assert ledger.all() == []
