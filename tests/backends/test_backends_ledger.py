"""The job ledger: durable rows, intent before submission, resubmission rules, default location."""

from __future__ import annotations

from pathlib import Path

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
