"""Shot-budget sweeps on Dask: grid points as tasks, designs computed once, resumable and lossless.

``run_budget`` expands the grid, submits one task per missing design (protocol,
n, noise) and one task per unfinished point depending on it, and writes each
point's row as soon as it arrives (see :mod:`._store`). It runs on an
embedded ``LocalCluster`` (all cores) by default, on an existing cluster given
its scheduler address, or on a ``distributed.Client`` you pass. Killing the
process loses only the points in flight; ``resume=<run folder>`` finishes the
sweep, and the table equals that of an uninterrupted run with the same seed.
A Ctrl-C stops the workers quietly and raises :class:`BudgetInterrupted`,
which carries the resume command; ``status.json`` says where the sweep stands.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shlex
import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import pandas as pd

from qlearn_sense.budget._config import (
    BudgetConfig,
    budget_config_hash,
    budget_config_to_yaml,
    expand_grid,
    key_digest,
    load_budget_config,
)
from qlearn_sense.budget._store import (
    BudgetError,
    CorruptPart,
    DesignStore,
    PointStore,
    StatusFile,
    atomic_write_text,
)
from qlearn_sense.experiments import versions

Progress = Callable[[str, int, int], None]
"""``progress(stage, completed, total)`` with stage ``"designs"`` or ``"points"``."""

Notify = Callable[[str], None]
"""``notify(line)``: one line for the user (a corrupt part moved aside, workers being stopped)."""

BUDGET_PACKAGES = ("dask", "distributed", "pandas", "pyarrow")
_LOG = logging.getLogger("qlearn_sense.budget")
_QUIET_LOGGERS = ("distributed", "tornado", "asyncio")
_CLOSE_TIMEOUT_S = 20.0


class BudgetInterrupted(KeyboardInterrupt):
    """A sweep stopped by Ctrl-C (or SIGTERM turned into KeyboardInterrupt) after its workers were stopped.

    A ``KeyboardInterrupt``, so code that catches that still does. ``str()`` is
    the line to print: ``interrupted: N of M points stored; resume with: ...``.

    Attributes:
      run_dir: the run folder.
      n_finished: points stored (all calls).
      n_points: points in the grid.
      resume_command: the command that finishes the sweep.
    """

    def __init__(self, run_dir: Path, n_finished: int, n_points: int, resume_command: str):
        self.run_dir, self.n_finished, self.n_points = Path(run_dir), n_finished, n_points
        self.resume_command = resume_command
        super().__init__(f"interrupted: {n_finished} of {n_points} points stored; resume with: {resume_command}")


@dataclass
class BudgetOutcome:
    """The state of a sweep after :func:`run_budget` returns.

    Attributes:
      run_dir: the run folder.
      table: one row per finished point (see ``COLUMNS``), sorted by ``point_index``.
      n_points: points in the grid.
      n_new: points finished by this call.
      n_skipped: points already finished before this call (resume).
      n_errors: rows with ``status == "error"``.
      complete: every point has a row.
      wall_s: seconds from the first submission to the last row of this call.
      recovered: parts found corrupt by this call, moved aside and recomputed.
      resume_command: the command that finishes (or re-reports) the sweep.
    """

    run_dir: Path
    table: pd.DataFrame
    n_points: int
    n_new: int
    n_skipped: int
    n_errors: int
    complete: bool
    wall_s: float
    recovered: list[CorruptPart] = field(default_factory=list)
    resume_command: str = ""


def new_budget_run_id(config: BudgetConfig) -> str:
    """``YYYYmmdd-HHMMSS-<config hash>`` (UTC)."""
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S") + "-" + budget_config_hash(config)[:8]


def resume_command(run_dir: str | Path, config_path: str | Path | None = None) -> str:
    """``qlearn-sense budget [CONFIG] --resume RUN_DIR``, shell-quoted."""
    words = ["qlearn-sense", "budget", *([str(config_path)] if config_path is not None else []),
             "--resume", str(run_dir)]
    return " ".join(shlex.quote(w) for w in words)


def load_budget_table(run_dir: str | Path) -> pd.DataFrame:
    """The tidy table of a sweep folder (finished points so far), one row per point.

    Raises:
      BudgetError: the folder holds no sweep, or a stored part cannot be read
        (the message names it; resuming the sweep recomputes it).
    """
    run_dir = Path(run_dir)
    if not (run_dir / "budget.yaml").is_file():
        raise BudgetError(f"{run_dir} is not a budget run folder (no budget.yaml)")
    return PointStore(run_dir).load()


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore SIGINT in this process meanwhile (main thread only; elsewhere a no-op).

    Worker processes spawned meanwhile inherit the ignored disposition (it
    survives ``exec``, and Python keeps an ignored SIGINT), so a Ctrl-C at the
    terminal reaches the driver alone instead of printing a traceback per worker.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is None:  # installed outside Python: leave it alone
        yield
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def _quiet_logs(prefixes: tuple[str, ...] = _QUIET_LOGGERS) -> Iterator[None]:
    """Silence the loggers under ``prefixes`` meanwhile (shutdown noise: closed comms, cancelled tasks)."""
    names = [n for n in list(logging.root.manager.loggerDict) if n.split(".")[0] in prefixes]
    loggers = [logging.getLogger(n) for n in dict.fromkeys([*prefixes, *names])]
    saved = [(lg, lg.level) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for lg, level in saved:
            lg.setLevel(level)


def _shutdown(*closables) -> None:
    """Close clients and clusters quietly, in order; a second Ctrl-C meanwhile is ignored."""
    with _quiet_logs(), _sigint_ignored():
        for obj in closables:
            with contextlib.suppress(Exception):
                obj.close(timeout=_CLOSE_TIMEOUT_S)


@contextlib.contextmanager
def _client(client, scheduler: str | None, n_workers: int | None, threads_per_worker: int,
            processes: bool) -> Iterator:
    if client is not None:
        yield client
        return
    from distributed import Client, LocalCluster

    if scheduler is not None:
        c = Client(scheduler)
        try:
            yield c
        finally:
            _shutdown(c)
        return
    workers = n_workers or (1 if not processes else os.cpu_count() or 1)
    with _sigint_ignored() if processes else contextlib.nullcontext():
        cluster = LocalCluster(n_workers=workers, threads_per_worker=threads_per_worker, processes=processes,
                               dashboard_address=None, silence_logs=logging.ERROR)
    try:
        c = Client(cluster)
    except BaseException:
        _shutdown(cluster)
        raise
    try:
        yield c
    finally:
        _shutdown(c, cluster)


def _prepare(config, resume, out_root, run_id) -> tuple[BudgetConfig, Path, Path | None]:
    """``(config, run folder, config path or None)``; a new run folder gets budget.yaml and manifest.json."""
    config_path = Path(config) if isinstance(config, (str, Path)) else None
    if resume is not None:
        run_dir = Path(resume)
        if not (run_dir / "budget.yaml").is_file():
            raise BudgetError(f"cannot resume {run_dir}: no budget.yaml (not a budget run folder)")
        stored = load_budget_config(run_dir / "budget.yaml")
        if config is not None:
            config = load_budget_config(config) if config_path is not None else config
            if budget_config_hash(config) != budget_config_hash(stored):
                raise BudgetError(f"cannot resume {run_dir} with a different config; "
                                  "resume without a config or start a new run")
        return stored, run_dir, config_path
    if config is None:
        raise BudgetError("give a budget config or a run folder to resume")
    config = load_budget_config(config) if config_path is not None else config
    run_dir = Path(out_root) / config.name / (run_id or new_budget_run_id(config))
    if (run_dir / "budget.yaml").exists():
        raise BudgetError(f"run folder {run_dir} exists; resume it or choose another run id")
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run_dir / "budget.yaml", budget_config_to_yaml(config))
    vers = versions()
    for name in BUDGET_PACKAGES:
        with contextlib.suppress(Exception):
            vers[name] = __import__(name).__version__
    manifest = {"schema": "qlearn-sense/budget/1", "name": config.name, "run_id": run_dir.name,
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "config_hash": budget_config_hash(config), "seed": config.seed,
                "n_points": len(expand_grid(config)), "versions": vers}
    atomic_write_text(run_dir / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    return config, run_dir, config_path


def run_budget(config: BudgetConfig | str | Path | None = None, *, resume: str | Path | None = None,
               out_root: str | Path = "experiments", run_id: str | None = None, client=None,
               scheduler: str | None = None, n_workers: int | None = None, threads_per_worker: int = 1,
               processes: bool = True, max_points: int | None = None, progress: Progress | None = None,
               notify: Notify | None = None, report: bool = True) -> BudgetOutcome:
    """Run (or resume) a shot-budget sweep.

    Folder ``<out_root>/<name>/<run_id>/``: ``budget.yaml`` (validated, base
    inlined), ``manifest.json`` (versions, grid size), ``status.json`` (state,
    points done, resume command; see :class:`qlearn_sense.budget.StatusFile`),
    ``points/*.parquet`` (one part per finished point), ``designs/*.pkl``; once
    complete also ``table.parquet``, ``derived.csv``, ``summary.md`` and
    ``plots/*.png``. Every file is written atomically. On resume every part is
    read first; an unreadable one is moved aside (``<part>.corrupt-<UTC
    time>``), reported through ``notify``, recorded in ``status.json`` and the
    summary, and its point recomputed.

    Args:
      config: the sweep config or a path to its YAML (optional with ``resume``).
      resume: a run folder to finish; finished points are skipped.
      out_root: root of run folders.
      run_id: folder name (default: time stamp plus config hash).
      client: a ``distributed.Client`` to use (not closed here).
      scheduler: address of an existing Dask scheduler (``tcp://host:8786``).
      n_workers: workers of the embedded LocalCluster (default: all cores; 1 in-process).
      threads_per_worker: threads per worker of the embedded cluster.
      processes: worker processes (True) or threads in this process (False, for tests/CI).
      max_points: stop after this many newly finished points (the rest are cancelled).
      progress: progress callback, called in this thread (an exception it raises
        ends the call as that exception would anywhere in the loop).
      notify: receives one line per event the user should know of (a corrupt
        part moved aside, workers being stopped after an interrupt); default: a
        warning on the ``qlearn_sense.budget`` logger.
      report: write the table, summary and plots when the sweep is complete.

    Returns:
      :class:`BudgetOutcome`.

    Raises:
      BudgetError: no config, an existing run folder without ``resume``, a
        resume folder that is not a sweep, or a config differing from the stored one.
      BudgetInterrupted: a KeyboardInterrupt (Ctrl-C) arrived; workers were
        stopped, ``status.json`` says ``interrupted``.
      qlearn_sense.config.ConfigError: an invalid config file.
    """
    config, run_dir, config_path = _prepare(config, resume, out_root, run_id)
    points = expand_grid(config)
    store, designs = PointStore(run_dir), DesignStore(run_dir)
    command = resume_command(run_dir, config_path)
    status = StatusFile(run_dir, n_points=len(points), resume_command=command)
    say = notify or _LOG.warning
    t0 = time.perf_counter()
    n_new = 0
    try:
        table, recovered = store.verify({key_digest(p.key): p.key for p in points})
        for part in recovered:
            say(part.message)
        status.add_recovered(recovered)
        done = {key_digest(k) for k in table["key"]}
        pending = [p for p in points if key_digest(p.key) not in done]
        n_skipped = len(points) - len(pending)
        counts = {"finished": n_skipped, "errors": int((table["status"] == "error").sum())}
        status.update(state="running", n_finished=counts["finished"], n_errors=counts["errors"], force=True)
        if progress is not None:
            progress("points", n_skipped, len(points))

        def stored(row: dict) -> None:
            counts["finished"] += 1
            counts["errors"] += row.get("status") == "error"
            status.update(n_finished=counts["finished"], n_errors=counts["errors"])
            if progress is not None:
                progress("points", counts["finished"], len(points))

        if pending and (max_points is None or max_points > 0):
            n_new = _execute(config, pending, store, designs, client, scheduler, n_workers, threads_per_worker,
                             processes, max_points, progress, stored, say)
        wall = time.perf_counter() - t0
        table = store.load()
        complete = len(table) == len(points)
        n_errors = int((table["status"] == "error").sum())
        if complete and report:
            from qlearn_sense.budget._report import write_budget_report

            write_budget_report(run_dir, config=config, table=table)
    except KeyboardInterrupt:
        n_finished = len(store.finished())
        status.update(state="interrupted", n_finished=n_finished, force=True)
        raise BudgetInterrupted(run_dir, n_finished, len(points), command) from None
    except BaseException as exc:
        status.update(state="failed", error=f"{type(exc).__name__}: {exc}"[:2000], force=True)
        raise
    status.update(state="done" if complete else "stopped", n_finished=len(table), n_errors=n_errors,
                  complete=complete, force=True,
                  last_call={"n_new": n_new, "wall_s": wall,
                             "finished": datetime.now(timezone.utc).isoformat(timespec="seconds")})
    return BudgetOutcome(run_dir=run_dir, table=table, n_points=len(points), n_new=n_new, n_skipped=n_skipped,
                         n_errors=n_errors, complete=complete, wall_s=wall, recovered=recovered,
                         resume_command=command)


def _execute(config, pending, store, designs, client, scheduler, n_workers, threads_per_worker, processes,
             max_points, progress, stored, say) -> int:
    from distributed import as_completed

    from qlearn_sense.budget._design import DesignEntry, build_design_or_failure, design_specs
    from qlearn_sense.budget._points import run_point

    specs = design_specs(config)
    needed = list(dict.fromkeys(p.design_key for p in pending if p.task != "network"))
    token = f"{os.getpid()}-{time.time_ns()}"
    with _client(client, scheduler, n_workers, threads_per_worker, processes) as c:
        refs, design_futs = {}, {}
        loaded = {k: designs.load(k) for k in needed}
        for key in needed:
            if loaded[key] is not None:
                refs[key] = c.scatter(loaded[key], hash=False)
            else:
                refs[key] = design_futs[key] = c.submit(build_design_or_failure, specs[key], pure=False,
                                                        key=f"budget-design-{key_digest(key)}-{token}")
        n_designs = len(needed) - len(design_futs)
        if progress is not None:
            progress("designs", n_designs, len(needed))
        point_futs = {c.submit(run_point, refs.get(p.design_key), p, config, pure=False,
                               key=f"budget-point-{key_digest(p.key)}-{token}"): p for p in pending}
        design_of = {f: k for k, f in design_futs.items()}
        n_new = 0
        ac = as_completed(list(design_futs.values()) + list(point_futs), with_results=True, raise_errors=False)
        try:
            for batch in ac.batches():  # results arrive gathered in batches (few round trips for small points)
                for fut, result in batch:
                    if fut in design_of:
                        if isinstance(result, DesignEntry):
                            designs.save(result)
                        n_designs += 1
                        if progress is not None:
                            progress("designs", n_designs, len(needed))
                        continue
                    point = point_futs.pop(fut)
                    row = result if fut.status == "finished" else _failed_row(point, fut, result, config)
                    store.write(row)
                    fut.release()
                    n_new += 1
                    stored(row)
                    if max_points is not None and n_new >= max_points:
                        return n_new
        except KeyboardInterrupt:
            if client is None:
                say("interrupted: stopping the workers (points stored so far are kept)")
            raise
        finally:
            if point_futs:
                with _quiet_logs(), contextlib.suppress(Exception):
                    c.cancel(list(point_futs) + list(design_futs.values()))
    return n_new


def _failed_row(point, fut, result, config) -> dict:
    """Row of a point whose task itself failed (worker lost, cancelled): run_point never raises."""
    from qlearn_sense.budget._points import error_row

    exc = result[1] if isinstance(result, tuple) and len(result) == 3 else result  # (type, exception, traceback)
    what = f"{type(exc).__name__}: {exc}" if isinstance(exc, BaseException) else "no result"
    return error_row(point, config.repetitions, f"task {fut.status}: {what}")
