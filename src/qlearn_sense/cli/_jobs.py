"""Hardware-job commands: ``jobs``, ``fetch``, ``resubmit`` (registered on the main app)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from qlearn_sense.cli._common import app, console, err_console, fail
from qlearn_sense.cli._summary import print_run_summary

app.pretty_exceptions_show_locals = False  # a traceback must never print local variables (tokens)

_LEDGER_OPTION = typer.Option(None, "--ledger", help="job ledger file (default: $QLEARN_SENSE_LEDGER or the "
                                                      "user data folder)")


def _use_ledger(path: Optional[Path]) -> None:
    if path is not None:
        from qlearn_sense.backends import LEDGER_ENV

        os.environ[LEDGER_ENV] = str(path)


def _clean(exc: BaseException) -> str:
    from qlearn_sense.backends.ibm import redact

    return redact(exc)


def _short(text: Optional[str], width: int = 60) -> str:
    if not text:
        return ""
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


@app.command()
def jobs(refresh: bool = typer.Option(True, "--refresh/--no-refresh", help="ask IBM Quantum for current statuses"),
         run_dir: Optional[Path] = typer.Option(None, "--run", help="only the jobs of this run folder"),
         limit: int = typer.Option(50, "--limit", help="newest N jobs"),
         ledger: Optional[Path] = _LEDGER_OPTION) -> None:
    """List every submitted job: run, backend, job id, status, submitted and finished times."""
    from qlearn_sense.backends import AccountError, BackendError, JobLedger, refresh_records

    _use_ledger(ledger)
    book = JobLedger()
    rows = book.for_run(run_dir) if run_dir is not None else book.all(limit=limit)
    if refresh and any(not r.final for r in rows):
        try:
            rows = refresh_records(rows, book)
        except (AccountError, BackendError, ValueError) as exc:
            err_console.print(f"[yellow]statuses not refreshed:[/] {_clean(exc)}", highlight=False)
    table = Table(title=f"jobs in {book.path}", show_header=True)
    for col in ("run", "backend", "job id", "status", "submitted", "finished", "message"):
        table.add_column(col, no_wrap=col in ("job id", "status"), overflow="fold")
    for r in rows:
        colour = {"DONE": "green", "ERROR": "red", "FAILED": "red", "CANCELLED": "yellow"}.get(r.status, "cyan")
        table.add_row(f"{r.config_name}/{r.run_id}" + (f" (#{r.attempt})" if r.attempt > 1 else ""), r.backend,
                      r.job_id or f"(tag {r.tag})", f"[{colour}]{r.status}[/]", r.submitted_at or "-",
                      r.finished_at or "-", _short(r.error))
    console.print(table)
    if not rows:
        console.print("no jobs recorded")


@app.command()
def fetch(run_dir: Path = typer.Argument(..., help="run folder, e.g. experiments/ibm_fez_ramsey/<run-id>"),
          wait: bool = typer.Option(False, "--wait", help="wait until the job is final"),
          ledger: Optional[Path] = _LEDGER_OPTION) -> None:
    """Finish a submitted run: download its finished job, analyse, write results.json."""
    from qlearn_sense.backends import AccountError, BackendError
    from qlearn_sense.experiments import ResultsError, fetch_run

    _use_ledger(ledger)
    try:
        outcome = fetch_run(run_dir, wait=wait)
    except (AccountError, BackendError, ResultsError, ValueError) as exc:
        fail(_clean(exc))
    res = outcome.results
    status = res.get("status")
    jobs = res.get("jobs") or [{}]
    job = next((j for j in jobs if j.get("status") != "DONE"), jobs[-1])  # the one holding the run back
    if status == "submitted":
        console.print(f"job {job.get('job_id')} on {job.get('backend')} is {job.get('status')}; "
                      f"fetch again later (or `qlearn-sense fetch {run_dir} --wait`)")
        return
    if status == "error":
        fail(f"job {job.get('job_id')} on {job.get('backend')} ended in {job.get('status')}: {job.get('error')}. "
             f"Resubmit with `qlearn-sense resubmit {run_dir}`", code=1)
    print_run_summary(res)
    console.print(f"results: {outcome.run_dir / 'results.json'}")


@app.command()
def resubmit(run_dir: Path = typer.Argument(..., help="run folder whose job ended in ERROR or was cancelled"),
             ledger: Optional[Path] = _LEDGER_OPTION) -> None:
    """Submit a run again after its job failed (never while a job of the run is live or done)."""
    from qlearn_sense.backends import AccountError, BackendError
    from qlearn_sense.experiments import ResultsError, resubmit_run

    _use_ledger(ledger)
    try:
        outcome = resubmit_run(run_dir)
    except (AccountError, BackendError, ResultsError, ValueError) as exc:
        fail(_clean(exc))
    for job in outcome.results.get("jobs") or []:
        console.print(f"PUB {job.get('pub')}: job {job.get('job_id')} (attempt {job.get('attempt')}) on "
                      f"{job.get('backend')}, {job.get('status')}")
    console.print(f"finish with `qlearn-sense fetch {run_dir}`")
