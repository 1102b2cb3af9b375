"""Shot-budget sweeps on Dask: grid points as tasks, designs computed once, resumable and lossless.

``run_budget`` expands the grid, submits one task per missing design (protocol,
n, noise) and one task per unfinished point depending on it, and writes each
point's row as soon as it arrives (see :mod:`._budget_store`). It runs on an
embedded ``LocalCluster`` (all cores) by default, on an existing cluster given
its scheduler address, or on a ``distributed.Client`` you pass. Killing the
process loses only the points in flight; ``resume=<run folder>`` finishes the
sweep, and the table equals that of an uninterrupted run with the same seed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import pandas as pd

from qlearn_sense.experiments._budget_config import (
    BudgetConfig,
    budget_config_hash,
    budget_config_to_yaml,
    expand_grid,
    key_digest,
    load_budget_config,
)
from qlearn_sense.experiments._budget_design import DesignEntry, build_design_or_failure, design_specs
from qlearn_sense.experiments._budget_points import error_row, run_point
from qlearn_sense.experiments._budget_store import DesignStore, PointStore
from qlearn_sense.experiments._results import atomic_write_text, versions

Progress = Callable[[str, int, int], None]
"""``progress(stage, completed, total)`` with stage ``"designs"`` or ``"points"``."""

BUDGET_PACKAGES = ("dask", "distributed", "pandas", "pyarrow")


class BudgetError(ValueError):
    """A sweep that cannot start: no config, a run folder that exists or is not a sweep, a changed config."""


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
    """

    run_dir: Path
    table: pd.DataFrame
    n_points: int
    n_new: int
    n_skipped: int
    n_errors: int
    complete: bool
    wall_s: float


def new_budget_run_id(config: BudgetConfig) -> str:
    """``YYYYmmdd-HHMMSS-<config hash>`` (UTC)."""
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S") + "-" + budget_config_hash(config)[:8]


def load_budget_table(run_dir: str | Path) -> pd.DataFrame:
    """The tidy table of a sweep folder (finished points so far), one row per point.

    Raises:
      BudgetError: the folder holds no sweep.
    """
    run_dir = Path(run_dir)
    if not (run_dir / "budget.yaml").is_file():
        raise BudgetError(f"{run_dir} is not a budget run folder (no budget.yaml)")
    return PointStore(run_dir).load()


@contextlib.contextmanager
def _client(client, scheduler: str | None, n_workers: int | None, threads_per_worker: int,
            processes: bool) -> Iterator:
    if client is not None:
        yield client
        return
    from distributed import Client, LocalCluster

    if scheduler is not None:
        with Client(scheduler) as c:
            yield c
        return
    workers = n_workers or (1 if not processes else os.cpu_count() or 1)
    with LocalCluster(n_workers=workers, threads_per_worker=threads_per_worker, processes=processes,
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster, Client(cluster) as c:
        yield c


def _prepare(config, resume, out_root, run_id) -> tuple[BudgetConfig, Path]:
    if resume is not None:
        run_dir = Path(resume)
        if not (run_dir / "budget.yaml").is_file():
            raise BudgetError(f"cannot resume {run_dir}: no budget.yaml (not a budget run folder)")
        stored = load_budget_config(run_dir / "budget.yaml")
        if config is not None:
            config = load_budget_config(config) if isinstance(config, (str, Path)) else config
            if budget_config_hash(config) != budget_config_hash(stored):
                raise BudgetError(f"cannot resume {run_dir} with a different config; "
                                  "resume without a config or start a new run")
        return stored, run_dir
    if config is None:
        raise BudgetError("give a budget config or a run folder to resume")
    config = load_budget_config(config) if isinstance(config, (str, Path)) else config
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
    return config, run_dir


def run_budget(config: BudgetConfig | str | Path | None = None, *, resume: str | Path | None = None,
               out_root: str | Path = "experiments", run_id: str | None = None, client=None,
               scheduler: str | None = None, n_workers: int | None = None, threads_per_worker: int = 1,
               processes: bool = True, max_points: int | None = None, progress: Progress | None = None,
               report: bool = True) -> BudgetOutcome:
    """Run (or resume) a shot-budget sweep.

    Folder ``<out_root>/<name>/<run_id>/``: ``budget.yaml`` (validated, base
    inlined), ``manifest.json`` (versions, grid size), ``points/*.parquet``
    (one part per finished point), ``designs/*.pkl``; once complete also
    ``table.parquet``, ``derived.csv``, ``summary.md`` and ``plots/*.png``.

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
      progress: progress callback.
      report: write the table, summary and plots when the sweep is complete.

    Returns:
      :class:`BudgetOutcome`.

    Raises:
      BudgetError: no config, an existing run folder without ``resume``, a
        resume folder that is not a sweep, or a config differing from the stored one.
      qlearn_sense.config.ConfigError: an invalid config file.
    """
    config, run_dir = _prepare(config, resume, out_root, run_id)
    points = expand_grid(config)
    store, designs = PointStore(run_dir), DesignStore(run_dir)
    done = store.finished()
    pending = [p for p in points if key_digest(p.key) not in done]
    n_skipped = len(points) - len(pending)
    if progress is not None:
        progress("points", n_skipped, len(points))
    t0 = time.perf_counter()
    n_new = 0
    if pending and (max_points is None or max_points > 0):
        n_new = _execute(config, pending, store, designs, len(points), n_skipped, client, scheduler, n_workers,
                         threads_per_worker, processes, max_points, progress)
    wall = time.perf_counter() - t0
    table = store.load()
    complete = len(table) == len(points)
    status = {"n_points": len(points), "n_finished": len(table), "n_errors": int((table["status"] == "error").sum()),
              "complete": complete, "last_call": {"n_new": n_new, "wall_s": wall,
                                                  "finished": datetime.now(timezone.utc).isoformat(timespec="seconds")}}
    atomic_write_text(run_dir / "status.json", json.dumps(status, indent=2) + "\n")
    if complete and report:
        from qlearn_sense.experiments._budget_report import write_budget_report

        write_budget_report(run_dir, config=config, table=table)
    return BudgetOutcome(run_dir=run_dir, table=table, n_points=len(points), n_new=n_new, n_skipped=n_skipped,
                         n_errors=status["n_errors"], complete=complete, wall_s=wall)


def _execute(config, pending, store, designs, total, n_skipped, client, scheduler, n_workers, threads_per_worker,
             processes, max_points, progress) -> int:
    from distributed import as_completed

    specs = design_specs(config)
    needed = list(dict.fromkeys(p.design_key for p in pending))
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
        point_futs = {c.submit(run_point, refs[p.design_key], p, config, pure=False,
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
                    if progress is not None:
                        progress("points", n_skipped + n_new, total)
                    if max_points is not None and n_new >= max_points:
                        return n_new
        finally:
            if point_futs:
                c.cancel(list(point_futs) + list(design_futs.values()))
    return n_new


def _failed_row(point, fut, result, config) -> dict:
    """Row of a point whose task itself failed (worker lost, cancelled): run_point never raises."""
    exc = result[1] if isinstance(result, tuple) and len(result) == 3 else result  # (type, exception, traceback)
    what = f"{type(exc).__name__}: {exc}" if isinstance(exc, BaseException) else "no result"
    return error_row(point, config.repetitions, f"task {fut.status}: {what}")
