"""Shared pieces of the command line: the typer app, consoles, one-line errors, progress."""

from __future__ import annotations

import time
from contextlib import contextmanager

import typer
from rich.console import Console

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="qlearn-sense: variational quantum sensing, shadows and hypothesis tests.")
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

DEBUG_ENV = "QLEARN_SENSE_DEBUG"
"""Set to 1 to see the full traceback of an unexpected error."""


def fail(message: str, code: int = 2) -> None:
    """Print an error (never a token) and exit with ``code``."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(code)


def user_errors() -> tuple[type[BaseException], ...]:
    """The exception types a user's input can cause: each becomes one line and exit code 2."""
    from qlearn_sense.config import ConfigError

    out: list[type[BaseException]] = [ConfigError, OSError]
    try:
        from qlearn_sense.backends import BackendError

        out.append(BackendError)
    except ImportError:  # pragma: no cover
        pass
    from qlearn_sense.experiments._design import DesignError
    from qlearn_sense.experiments._results import ResultsError
    from qlearn_sense.experiments._rundir import RunDirError

    return (*out, DesignError, ResultsError, RunDirError, ValueError)


def plain_progress():
    """``progress(stage, done, total)`` printing plain lines (no terminal): at most every 2 s per stage."""
    state: dict[str, tuple[float, float]] = {}

    def progress(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        start, last = state.get(stage, (now, -1e9))
        if stage not in state:
            state[stage] = (now, last)
        if done < total and now - last < 2.0 and done != 0:
            return
        elapsed = now - start
        rate = done / elapsed if elapsed > 0 and done else 0.0
        eta = f", ETA {max(total - done, 0) / rate:.0f} s" if rate > 0 and done < total else ""
        print(f"{stage}: {done}/{total} ({100 * done / max(total, 1):.0f}%), {elapsed:.1f} s{eta}", flush=True)
        state[stage] = (start, now)

    return progress


@contextmanager
def stage_progress(*extra_columns, transient: bool = False):
    """One progress bar per named stage on a terminal (rich), plain lines otherwise.

    Yields ``progress(stage, done, total)``.
    """
    if not console.is_terminal:
        yield plain_progress()
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  *extra_columns, console=console, transient=transient) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield progress


def one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.filename and str(exc.filename) not in text:
        text = f"{exc.filename}: {text}"
    return text
