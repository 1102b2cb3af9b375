"""The ``qlearn-sense`` command line: parse, call, print (typer + rich). Nothing else."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="qlearn-sense: variational quantum sensing, shadows and hypothesis tests.")
console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 2) -> None:
    """Print an error (never a token) and exit with ``code``."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


@contextmanager
def stage_progress(*extra_columns, transient: bool = False):
    """A rich progress display with one bar per named stage; yields ``progress(stage, done, total)``."""
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  *extra_columns, console=console, transient=transient) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield progress


def _fmt(x, unit: str = "") -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.4g}{(' ' + unit) if unit else ''}"
    return f"{x}{(' ' + unit) if unit else ''}"


def summary_table(results: dict) -> Table:
    """The human summary of a run as a rich table."""
    f, e, h = results["fisher"], results["estimate"], results.get("honesty", {})
    t = Table(title=f"{results['name']}  ({results['backend']}, n = {results['n_qubits']}, "
                    f"eta = {results['sensor']['eta']:.4g})", show_header=True)
    t.add_column("quantity")
    t.add_column("value", justify="right")
    rows = [
        ("QFI (rad^-2 per shot)", _fmt(f["qfi"])), ("CFI of the measurement", _fmt(f["cfi"])),
        ("SQL  n eta^2", _fmt(f["sql"])), ("Heisenberg limit  n^2", _fmt(f["hl"])),
        ("QFI / SQL", _fmt(f["qfi_over_sql"])),
        ("true field", _fmt(e["true_field_T"], "T")),
        ("estimated field", f"{e['field_T']:.4g} +- {e['field_std_T']:.3g} T"),
        ("Cramer-Rao std (all shots)", _fmt(results["crb"]["field_std_T"], "T")),
        ("spread / CRB over repetitions", _fmt(e["repetitions"]["empirical_over_crb"])),
        ("sensitivity", _fmt(results["sensitivity_T_per_sqrtHz"], "T/sqrt(Hz)")),
        ("shots for SNR 1", _fmt(h.get("shots_for_snr1"))),
        ("sensing time for SNR 1", _fmt(h.get("time_for_snr1_s"), "s")),
        (f"time for {h.get('target_relative_precision')} relative precision", _fmt(h.get("time_for_target_s"), "s")),
    ]
    for r in rows:
        t.add_row(*r)
    return t


@app.command()
def validate(config: Path = typer.Argument(..., help="YAML experiment config")) -> None:
    """Check a config (fields, ranges, backend name, physics) without running it."""
    from qlearn_sense.backends import get_backend
    from qlearn_sense.config import ConfigError, load_config
    from qlearn_sense.experiments import DesignError, make_design

    try:
        cfg = load_config(config)
        get_backend(cfg.execution.backend) if not cfg.execution.backend.startswith("ibm:") else None
        if cfg.sensor.from_backend is None:
            design = make_design(cfg)
            console.print(f"[green]valid[/]: {config} (n = {cfg.protocol.n_qubits}, eta = {design.eta:.4g}, "
                          f"phase = {design.phase_rad:.4g} rad)")
        else:
            console.print(f"[green]valid[/]: {config} (noise from {cfg.sensor.from_backend})")
    except (ConfigError, DesignError, ValueError) as exc:
        fail(str(exc))


@app.command()
def run(config: Path = typer.Argument(..., help="YAML experiment config"),
        backend: Optional[str] = typer.Option(None, "--backend", "-b", help="override execution.backend"),
        out: Path = typer.Option(Path("experiments"), "--out", help="root folder of run folders"),
        run_id: Optional[str] = typer.Option(None, "--run-id", help="run folder name (default: time + hash)"),
        wait: bool = typer.Option(False, "--wait", help="IBM backends: wait for the jobs instead of returning")) -> None:
    """Optimize, execute and analyse one experiment; write experiments/<name>/<run-id>/."""
    from qlearn_sense.backends import BackendError
    from qlearn_sense.config import ConfigError, load_config
    from qlearn_sense.experiments import DesignError, run_experiment

    try:
        cfg = load_config(config)
    except ConfigError as exc:
        fail(str(exc))
    with stage_progress() as progress:
        try:
            outcome = run_experiment(cfg, backend=backend, out_root=out, run_id=run_id, progress=progress,
                                     **({"wait": True} if wait else {}))
        except (DesignError, BackendError, ValueError) as exc:
            fail(str(exc))
    res = outcome.results
    if "fisher" in res and "estimate" in res:
        console.print(summary_table(res))
    else:
        console.print(f"submitted: {res.get('status', 'pending')}; finish with `qlearn-sense fetch {outcome.run_dir}`")
    console.print(f"run folder: {outcome.run_dir}")


@app.command()
def circuits(out: Path = typer.Option(Path("circuits"), "--out", help="library root"),
             configs: Path = typer.Option(Path("configs"), "--configs", help="folder of shipped configs"),
             templates_only: bool = typer.Option(False, "--templates-only", help="skip the optimizations"),
             only: Optional[list[str]] = typer.Option(None, "--only", help="config stem(s) to re-optimize")) -> None:
    """Regenerate the OpenQASM 3 circuit library: ansatz templates and each shipped config's optimized protocol."""
    from qlearn_sense.config import ConfigError
    from qlearn_sense.experiments import DesignError
    from qlearn_sense.experiments._circuits import write_circuit_library

    with stage_progress(transient=True) as progress:
        try:
            written = write_circuit_library(out, configs, templates_only=templates_only, only=only,
                                            progress=progress)
        except (ConfigError, DesignError, ValueError) as exc:
            fail(str(exc))
    for path in written:
        console.print(f"wrote {path}")


def main() -> None:
    """Console-script entry point."""
    app()
from qlearn_sense.cli import _jobs  # noqa: E402,F401  (registers jobs, fetch, resubmit)
from qlearn_sense.cli import _budget  # noqa: E402,F401  (registers budget)
