"""The job ledger: durable rows, intent before submission, resubmission rules, default location."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from qlearn_sense.backends import JobLedger, default_ledger_path


def _intent(book: JobLedger, run_dir, tag: str, attempt: int = 1):
    return book.record_intent(run_dir=run_dir, run_id="r1", config_name="cfg", pub=0, tag=tag, backend="ibm:x",
                              config_hash="c" * 16, isa_hash="i" * 16, pub_shape=[20, 5], shots=1000,
                              layout=[3, 4, 5], runtime_version="0.51.0", attempt=attempt)


def test_intent_then_submission_survives_reopening(tmp_path):
    path = tmp_path / "jobs.sqlite"
    run_dir = tmp_path / "run"
    rec = _intent(JobLedger(path), run_dir, "t1")
    assert rec.status == "SUBMITTING" and rec.job_id is None and rec.pub_shape == [20, 5]
    JobLedger(path).record_submitted("t1", "job-123")
    again = JobLedger(path)  # a new process would see the same rows
    (row,) = again.for_run(run_dir)
    assert row.job_id == "job-123" and row.status == "QUEUED" and row.submitted_at
    assert row.run_dir == str(run_dir.resolve()) and row.layout == [3, 4, 5]
    assert again.by_job_id("job-123") == row
    done = again.update("t1", status="DONE", finished_at="2026-01-01T00:00:00+00:00", fetched=True)
    assert done.final and done.fetched_at and done.finished_at.startswith("2026")


def test_errors_allow_resubmission_live_jobs_do_not(tmp_path):
    book = JobLedger(tmp_path / "jobs.sqlite")
    run_dir = tmp_path / "run"
    _intent(book, run_dir, "t1")
    book.record_submitted("t1", "job-1")
    assert book.active(run_dir, 0).job_id == "job-1"
    book.update("t1", status="ERROR", error="calibration")
    assert book.active(run_dir, 0) is None
    assert book.next_attempt(run_dir, 0) == 2
    _intent(book, run_dir, "t2", attempt=2)
    assert book.active(run_dir, 0).tag == "t2"
    assert [r.attempt for r in book.for_run(run_dir)] == [1, 2]
    assert book.latest(run_dir, 0).tag == "t2" and book.all(limit=1)[0].tag == "t2"


def test_default_path_env_override_and_data_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("QLEARN_SENSE_LEDGER", str(tmp_path / "x" / "l.sqlite"))
    assert default_ledger_path() == tmp_path / "x" / "l.sqlite"
    assert JobLedger().path.parent.is_dir()
    monkeypatch.delenv("QLEARN_SENSE_LEDGER")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_ledger_path() == Path(tmp_path / "data" / "qlearn-sense" / "jobs.sqlite")


# -- faults: each a one-line LedgerError naming the path, found before any work (issue 10, file-system 6) --


def _one_line_naming(exc: BaseException, path) -> str:
    msg = str(exc)
    assert str(path) in msg and "\n" not in msg, msg
    return msg


def test_unwritable_ledger_folder_is_a_one_line_error_naming_the_path(tmp_path):
    from qlearn_sense.backends import LEDGER_ENV, LedgerError

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the ledger's folder should be")
    path = blocker / "jobs.sqlite"
    with pytest.raises(LedgerError) as info:
        JobLedger(path)
    msg = _one_line_naming(info.value, path)
    assert "cannot be written" in msg and LEDGER_ENV in msg
    assert info.value.path == path and info.value.__cause__ is None


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes to read-only folders")
def test_read_only_ledger_folder_fails_the_preflight_check(tmp_path):
    from qlearn_sense.backends import LedgerError

    folder = tmp_path / "ro"
    folder.mkdir()
    JobLedger(folder / "jobs.sqlite")
    folder.chmod(0o500)
    try:
        with pytest.raises(LedgerError) as info:
            JobLedger(folder / "jobs.sqlite").check()
        _one_line_naming(info.value, folder / "jobs.sqlite")
    finally:
        folder.chmod(0o700)


def test_ledger_locked_longer_than_the_timeout_is_a_clear_error(tmp_path):
    from qlearn_sense.backends import LedgerError
    from qlearn_sense.backends._ledger import DEFAULT_TIMEOUT_S

    path = tmp_path / "jobs.sqlite"
    assert JobLedger(path).timeout_s == DEFAULT_TIMEOUT_S == 30.0
    book = JobLedger(path, timeout_s=0.1)
    book.check()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process holds the ledger
    try:
        with pytest.raises(LedgerError) as info:
            book.check()
        msg = _one_line_naming(info.value, path)
        assert "locked by another process" in msg and "0.1 s" in msg
        with pytest.raises(LedgerError, match="locked"):
            book.for_run(tmp_path / "run")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    book.check()  # released: usable again


def test_a_file_that_is_not_a_ledger_is_named(tmp_path):
    from qlearn_sense.backends import LedgerError

    path = tmp_path / "jobs.sqlite"
    path.write_bytes(b"this is not an SQLite database, just some text" * 20)
    with pytest.raises(LedgerError) as info:
        JobLedger(path)
    assert "not a usable SQLite ledger" in _one_line_naming(info.value, path)


def test_preflight_reports_a_bad_ledger_before_any_work(tmp_path, monkeypatch):
    """The runner calls ``backend.preflight()`` before optimizing: the ledger fault shows there, with the path."""
    from qlearn_sense.backends import BackendError, get_backend

    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("QLEARN_SENSE_LEDGER", str(blocker / "jobs.sqlite"))
    be = get_backend("ibm:ibm_fez")
    with pytest.raises(BackendError) as info:
        be.preflight()
    _one_line_naming(info.value, blocker / "jobs.sqlite")
    assert be._service is None  # no account or network was needed to find it
    get_backend("local").preflight()  # synchronous backends need nothing
    monkeypatch.setenv("QLEARN_SENSE_LEDGER", str(tmp_path / "ok" / "jobs.sqlite"))
    get_backend("ibm:ibm_fez").preflight()
    assert JobLedger(tmp_path / "ok" / "jobs.sqlite").all() == []  # the check writes no job rows
