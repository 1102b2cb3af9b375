"""``qlearn-sense budget``: shot-budget sweeps on Dask (parse, call, print).

On a terminal the progress is a rich bar per stage; without one (a log file, a
batch job) it is plain lines, at most one every few seconds, with points
done/total, the rate and the time left. Ctrl-C (or SIGTERM) stops the workers
quietly and ends with one line naming the points stored and the resume
command, exit code 130 (143 for SIGTERM).
"""

from __future__ import annotations

import math
import signal
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Optional

import typer
from rich.table import Table

from qlearn_sense.cli._common import app, console, err_console, fail, stage_progress, user_errors


def _cell(v) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "-"
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def derived_tables(derived) -> list[Table]:
    """The derived shots-to-target figures as one compact rich table per task."""
    units = {"estimation": "field std (T)", "observables": "max error", "detection": "miss prob."}
    tables = []
    for task, d in derived.groupby("task", sort=False):
        if task == "network":  # no shot target: see network_table
            continue
        many = d["backend"].nunique() > 1
        t = Table(title=f"{task}: shots to reach {units.get(task, 'target')} {_cell(d['target'].iloc[0])}")
        for name in ["protocol", "n", "noise"] + (["backend"] if many else []) + ["shots", "theory", "x SQL"]:
            t.add_column(name, justify="left" if name in ("protocol", "noise", "backend") else "right")
        for r in d.itertuples(index=False):
            cells = [r.protocol, str(r.n_qubits), r.noise] + ([r.backend] if many else [])
            flag = "" if r.points_error == 0 else f" ({r.points_error} failed)"
            t.add_row(*cells, _cell(r.shots_to_target) + flag, _cell(r.shots_to_target_theory),
                      _cell(r.ratio_to_sql))
        tables.append(t)
    return tables


def network_table(table) -> Table | None:
    """Precision per shot per network strategy, efficiency and correlation (None without network rows)."""
    from qlearn_sense.budget._network import network_summary

    s = network_summary(table)
    if not len(s):
        return None
    unit = s["estimand_unit"].dropna().iloc[0] if s["estimand_unit"].notna().any() else "unit"
    t = Table(title=f"network: precision of the estimand per shot ({unit}^-2)")
    for name in ("strategy", "T", "correlation", "QFIM", "CFIM", "gain vs classical"):
        t.add_column(name, justify="left" if name == "strategy" else "right")
    for r in s.itertuples(index=False):
        t.add_row(r.protocol, _cell(r.efficiency) if r.efficiency == r.efficiency else "base", _cell(r.correlation),
                  _cell(r.precision_quantum), _cell(r.precision_measured), _cell(r.gain_over_classical))
    return t


def _duration(seconds: float) -> str:
    """``42s``, ``3m07s``, ``2h05m``."""
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


class PlainProgress:
    """``progress(stage, done, total)`` writing plain lines, for output that is not a terminal.

    A line is written for the first call of a stage, when a stage completes,
    and otherwise at most every ``interval_s``. Point lines carry the rate
    (points per second) and the time left (ETA), both measured over the points
    finished since the first point of this call arrived (points already stored
    on a resume, and the design stage before, do not count).

    Args:
      write: receives each line (without newline).
      interval_s: least seconds between two lines of a stage that is not done.
      clock: monotonic clock in seconds.
    """

    def __init__(self, write: Callable[[str], None], interval_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic):
        self.write, self.interval_s, self.clock = write, interval_s, clock
        self._last: dict[str, float] = {}  # stage -> time of its last line
        self._base: dict[str, int] = {}  # stage -> done at its first call (stored before this call)
        self._first: dict[str, tuple[float, int]] = {}  # stage -> (time, done) at its first arrival

    def rate(self, stage: str, done: int) -> float:
        """Items per second since the stage first moved in this call (nan before two arrivals)."""
        if stage not in self._first:
            return math.nan
        t0, d0 = self._first[stage]
        dt = self.clock() - t0
        return (done - d0) / dt if dt > 0 and done > d0 else math.nan

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = self.clock()
        first = stage not in self._last
        if first:
            self._base[stage] = done
        elif stage not in self._first and done > self._base[stage]:
            self._first[stage] = (now, done)  # the first arrival: the clock of the rate starts here
        finished = done >= total
        if not (first or finished or now - self._last[stage] >= self.interval_s):
            return
        self._last[stage] = now
        line = f"{stage}: {done}/{total} ({100 * done / max(total, 1):.0f}%)"
        if stage == "points" and not finished:
            r = self.rate(stage, done)
            if math.isfinite(r) and r > 0:
                line += f", {r:.3g} points/s, ETA {_duration((total - done) / r)}"
        self.write(line)


@contextmanager
def _progress():
    """The rich bars on a terminal, plain lines otherwise."""
    if console.is_terminal:
        from rich.progress import TimeRemainingColumn

        with stage_progress(TimeRemainingColumn()) as progress:
            yield progress
    else:
        yield PlainProgress(lambda line: console.print(line, highlight=False, markup=False, soft_wrap=True))


@contextmanager
def _sigterm_as_interrupt():
    """SIGTERM (a batch system's stop) takes the Ctrl-C path meanwhile; yields a flag set when it came."""
    got = {"sigterm": False}
    if threading.current_thread() is not threading.main_thread():
        yield got
        return

    def handler(signum, frame):
        if got["sigterm"]:  # once: a second SIGTERM must not break the quiet shutdown
            return
        got["sigterm"] = True
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield got
    finally:
        signal.signal(signal.SIGTERM, previous)


@app.command()
def budget(config: Optional[Path] = typer.Argument(None, help="budget sweep YAML (optional with --resume)"),
           resume: Optional[Path] = typer.Option(None, "--resume", help="finish the sweep in this run folder"),
           scheduler: Optional[str] = typer.Option(None, "--scheduler",
                                                   help="existing Dask scheduler, e.g. tcp://host:8786"),
           workers: Optional[int] = typer.Option(None, "--workers", min=1,
                                                 help="local workers (default: all cores)"),
           threads: int = typer.Option(1, "--threads-per-worker", min=1, help="threads per local worker"),
           in_process: bool = typer.Option(False, "--in-process", help="threads in this process, no worker processes"),
           out: Path = typer.Option(Path("experiments"), "--out", help="root folder of run folders"),
           run_id: Optional[str] = typer.Option(None, "--run-id", help="run folder name (default: time + hash)"),
           max_points: Optional[int] = typer.Option(None, "--max-points", min=0,
                                                    help="stop after this many points (resume later)")) -> None:
    """Sweep shot budgets x protocols x noise x n x seeds; write experiments/<name>/<run-id>/ (table, plots).

    Network sweeps: with the task `network` in `tasks` and a base config that has a `network:` section, the grid
    sweeps `efficiency` (transduction efficiency T of every link, each in (0, 1]) and `correlation`
    (common-mode noise correlation between nodes, each in [-1, 1]) for the strategies in `protocols`
    (classical, local, distributed); each point optimizes its strategy's circuit and records the
    precision of the estimand per shot (QFIM and CFIM, unit^-2). Outputs: network.csv (gain over
    classical fusion, grid crossover efficiency), plots/network_precision_vs_efficiency.png and
    plots/network_precision_vs_correlation.png. Example: configs/budget_network.yaml.

    Progress goes to stdout (plain lines when it is not a terminal) and to
    status.json in the run folder; Ctrl-C stops quietly and prints the resume command.
    """
    if config is None and resume is None:
        fail("give a budget config or --resume <run folder>")
    from qlearn_sense.budget import BudgetError, BudgetInterrupted, derive_budget, load_budget_config, run_budget

    def notify(line: str) -> None:
        err_console.print(line, style="yellow", highlight=False, markup=False, soft_wrap=True)

    with _sigterm_as_interrupt() as got:
        try:
            with _progress() as progress:
                outcome = run_budget(config, resume=resume, out_root=out, run_id=run_id, scheduler=scheduler,
                                     n_workers=workers, threads_per_worker=threads, processes=not in_process,
                                     max_points=max_points, progress=progress, notify=notify)
        except BudgetInterrupted as exc:
            err_console.print(str(exc), highlight=False, markup=False, soft_wrap=True)
            raise typer.Exit(143 if got["sigterm"] else 130) from None
        except KeyboardInterrupt:  # before the sweep started: nothing to resume
            err_console.print("interrupted", highlight=False)
            raise typer.Exit(143 if got["sigterm"] else 130) from None
        except (BudgetError, *user_errors()) as exc:
            fail(str(exc))
    if outcome.complete:
        cfg = load_budget_config(outcome.run_dir / "budget.yaml")
        for table in derived_tables(derive_budget(outcome.table, cfg)):
            console.print(table)
        net = network_table(outcome.table)
        if net is not None:
            console.print(net)
        console.print(f"{outcome.n_points} points ({outcome.n_errors} failed); summary: "
                      f"{outcome.run_dir / 'summary.md'}")
    else:
        console.print(f"stopped after {outcome.n_new} new points ({len(outcome.table)}/{outcome.n_points} done); "
                      f"finish with `{outcome.resume_command}`", highlight=False, soft_wrap=True)
    console.print(f"run folder: {outcome.run_dir}", highlight=False, soft_wrap=True)
