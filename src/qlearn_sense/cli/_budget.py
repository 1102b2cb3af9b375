"""``qlearn-sense budget``: shot-budget sweeps on Dask (parse, call, print)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.progress import TimeRemainingColumn
from rich.table import Table

from qlearn_sense.cli._app import app, console, fail, stage_progress


def _cell(v) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "-"
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def derived_tables(derived) -> list[Table]:
    """The derived shots-to-target figures as one compact rich table per task."""
    units = {"estimation": "field std (T)", "observables": "max error", "detection": "miss prob."}
    tables = []
    for task, d in derived.groupby("task", sort=False):
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
    """Sweep shot budgets x protocols x noise x n x seeds; write experiments/<name>/<run-id>/ (table, plots)."""
    from qlearn_sense.config import ConfigError
    from qlearn_sense.experiments import BudgetError, derive_budget, run_budget

    if config is None and resume is None:
        fail("give a budget config or --resume <run folder>")
    with stage_progress(TimeRemainingColumn()) as progress:
        try:
            outcome = run_budget(config, resume=resume, out_root=out, run_id=run_id, scheduler=scheduler,
                                 n_workers=workers, threads_per_worker=threads, processes=not in_process,
                                 max_points=max_points, progress=progress)
        except (ConfigError, BudgetError) as exc:
            fail(str(exc))
    if outcome.complete:
        from qlearn_sense.experiments import load_budget_config

        cfg = load_budget_config(outcome.run_dir / "budget.yaml")
        for table in derived_tables(derive_budget(outcome.table, cfg)):
            console.print(table)
        console.print(f"{outcome.n_points} points ({outcome.n_errors} failed); summary: "
                      f"{outcome.run_dir / 'summary.md'}")
    else:
        console.print(f"stopped after {outcome.n_new} new points ({len(outcome.table)}/{outcome.n_points} done); "
                      f"finish with `qlearn-sense budget --resume {outcome.run_dir}`")
    console.print(f"run folder: {outcome.run_dir}")
