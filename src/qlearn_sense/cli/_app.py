"""The ``qlearn-sense`` command line: parse, call, print (typer + rich). Nothing else.

Heavy libraries (jax, qiskit) are imported inside the commands that need them,
so ``--help`` and ``validate`` start fast. Errors users can cause (bad config,
unknown backend, unwritable folder, corrupt results file) end in one line on
stderr with exit code 2 and nothing written; an interrupted command exits 130.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

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


def _plain_progress():
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
        yield _plain_progress()
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


def _fmt(x, unit: str = "") -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.4g}{(' ' + unit) if unit else ''}"
    return f"{x}{(' ' + unit) if unit else ''}"


def summary_table(results: dict) -> Table:
    """The core numbers of a run as a rich table (the model's CRB is labelled as the model's)."""
    f, e, h = results["fisher"], results["estimate"], results.get("honesty", {})
    t = Table(title=f"{results['name']}  ({results['backend']}, n = {results['n_qubits']}, "
                    f"eta = {results['sensor']['eta']:.4g})", show_header=True)
    t.add_column("quantity")
    t.add_column("value", justify="right")
    gof = results.get("cfi_check", {}).get("gof")
    rows = [
        ("QFI (rad^-2 per shot, model)", _fmt(f["qfi"])), ("CFI of the measurement (model)", _fmt(f["cfi"])),
        ("SQL  n eta^2", _fmt(f["sql"])), ("Heisenberg limit  n^2", _fmt(f["hl"])),
        ("QFI / SQL", _fmt(f["qfi_over_sql"])),
        ("true field", _fmt(e["true_field_T"], "T")),
        ("estimated field", f"{e['field_T']:.4g} +- {e['field_std_T']:.3g} T"),
        ("z-score vs true field", _fmt(e.get("z_score"))),
        ("Cramer-Rao std (model, all shots)", _fmt(results["crb"]["field_std_T"], "T")),
        ("spread / CRB over repetitions", _fmt(e["repetitions"]["empirical_over_crb"])),
        ("counts vs model: G-test p-value", _fmt(gof["p_value"]) if gof else "-"),
        ("sensitivity (model)", _fmt(results["sensitivity_T_per_sqrtHz"], "T/sqrt(Hz)")),
        ("shots for SNR 1", _fmt(h.get("shots_for_snr1"))),
        ("sensing time for SNR 1", _fmt(h.get("time_for_snr1_s"), "s")),
        (f"time for {h.get('target_relative_precision')} relative precision", _fmt(h.get("time_for_target_s"), "s")),
    ]
    for name in ("channel_extension_bound", "asymptotic_bound"):
        if f.get(name) is not None:
            rows.append((name.replace("_", " "), _fmt(f[name])))
        elif name in f.get("bounds_not_applicable", {}):
            rows.append((name.replace("_", " "), "not applicable (see below)"))
    for r in rows:
        t.add_row(*r)
    return t


def print_run_summary(results: dict) -> None:
    """Every section that ran (core table, then each analysis's lines), then the warnings, loudly."""
    if "fisher" in results and "estimate" in results:
        console.print(summary_table(results))
    for name, lines in (results.get("summary") or {}).items():
        if name == "estimation":
            for line in lines:
                if "not applicable" in line:
                    console.print(line, highlight=False)
            continue
        console.print(f"[bold]{name}[/]")
        for line in lines:
            console.print(line, highlight=False, markup=False)
    for w in results.get("warnings") or []:
        err_console.print(f"[bold yellow]WARNING:[/] {w}", highlight=False, soft_wrap=True)


def _validate_experiment(path: Path) -> None:
    from qlearn_sense.config import load_config, validate_physics

    cfg = load_config(path)
    validate_physics(cfg, source=str(path))
    from qlearn_sense.backends import check_backend_for_config

    reason = check_backend_for_config(cfg.execution.backend, noisy=_config_is_noisy(cfg),
                                      n_qubits=cfg.protocol.n_qubits)
    if reason is not None:
        fail(f"execution.backend = {cfg.execution.backend!r}: {reason}")
    if cfg.sensor.from_backend is None:
        from qlearn_sense.experiments import make_design

        design = make_design(cfg)
        console.print(f"[green]valid[/]: {path} (n = {cfg.protocol.n_qubits}, eta = {design.eta:.4g}, "
                      f"phase = {design.phase_rad:.4g} rad)")
    else:
        console.print(f"[green]valid[/]: {path} (noise from {cfg.sensor.from_backend})")


def _config_is_noisy(cfg) -> bool:
    s = cfg.sensor
    return bool(s.from_backend or s.t2_star_s or s.t2_s or s.t1_s or (s.eta is not None and s.eta < 1)
                or s.readout_fidelity < 1)


@app.command()
def validate(config: Path = typer.Argument(..., help="YAML experiment or budget config")) -> None:
    """Check a config (every field, range, backend name and capability, physics) without running it."""
    from qlearn_sense.config import config_kind

    try:
        if config_kind(config) == "budget":
            from qlearn_sense.budget import load_budget_config

            cfg = load_budget_config(config)
            console.print(f"[green]valid[/] budget config: {config} ({cfg.name}); run it with "
                          f"`qlearn-sense budget {config}`")
            return
        _validate_experiment(config)
    except user_errors() as exc:
        fail(_one_line(exc))


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.filename and str(exc.filename) not in text:
        text = f"{exc.filename}: {text}"
    return text


@app.command()
def run(config: Path = typer.Argument(..., help="YAML experiment config"),
        backend: Optional[str] = typer.Option(None, "--backend", "-b", help="override execution.backend"),
        out: Path = typer.Option(Path("experiments"), "--out", help="root folder of run folders"),
        run_id: Optional[str] = typer.Option(None, "--run-id", help="run folder name (default: unique time stamp)"),
        force: bool = typer.Option(False, "--force", help="with --run-id of an existing run: move it aside"),
        wait: bool = typer.Option(False, "--wait", help="IBM backends: wait for the jobs instead of returning")) -> None:
    """Optimize, execute and analyse one experiment; write experiments/<name>/<run-id>/."""
    from qlearn_sense.config import backend_name_problem, load_config, validate_physics

    try:
        if backend is not None and (problem := backend_name_problem(backend)) is not None:
            fail(f"--backend {backend!r}: {problem}")
        cfg = load_config(config)
        validate_physics(cfg, source=str(config))
        from qlearn_sense.backends import check_backend_for_config

        reason = check_backend_for_config(backend or cfg.execution.backend, noisy=_config_is_noisy(cfg),
                                          n_qubits=cfg.protocol.n_qubits)
        if reason is not None:
            fail(f"backend {backend or cfg.execution.backend!r}: {reason}")
        from qlearn_sense.experiments import run_experiment

        with stage_progress() as progress:
            outcome = run_experiment(cfg, backend=backend, out_root=out, run_id=run_id, progress=progress,
                                     force=force, **({"wait": True} if wait else {}))
    except user_errors() as exc:
        fail(_one_line(exc))
    res = outcome.results
    if "fisher" in res and "estimate" in res:
        print_run_summary(res)
    else:
        console.print(f"submitted: {res.get('status', 'pending')}; finish with `qlearn-sense fetch {outcome.run_dir}`")
    console.print(f"run folder: {outcome.run_dir}")


@app.command()
def report(run_dirs: list[Path] = typer.Argument(..., help="run folders to put side by side"),
           out: Optional[Path] = typer.Option(None, "--out", help="folder for report.json and report.png "
                                                                  "(default: experiments/reports/<time>)")) -> None:
    """Put several runs side by side (one config on several backends, or several configs): table and plot."""
    from qlearn_sense.experiments._report import collect_report, write_report

    try:
        rows = collect_report(run_dirs)
        folder = write_report(rows, out)
    except user_errors() as exc:
        fail(_one_line(exc))
    t = Table(title=f"{len(rows)} runs", show_header=True)
    cols = ("run", "backend", "n", "eta", "QFI", "CFI", "estimate (T)", "true (T)", "z", "G-test p", "warnings")
    for c in cols:
        t.add_column(c, justify="left" if c in ("run", "backend") else "right")
    for r in rows:
        est = "-" if r["field_T"] is None else f"{r['field_T']:.4g} +- {r['field_std_T']:.2g}"
        t.add_row(r["run"], r["backend"], _fmt(r["n_qubits"]), _fmt(r["eta"]), _fmt(r["qfi"]), _fmt(r["cfi"]), est,
                  _fmt(r["true_field_T"]), _fmt(r["z_score"]), _fmt(r["gof_p"]), str(r["n_warnings"]))
    console.print(t)
    console.print(f"report: {folder}")


@app.command()
def circuits(out: Path = typer.Option(Path("circuits"), "--out", help="library root"),
             configs: Path = typer.Option(Path("configs"), "--configs", help="folder of shipped configs"),
             templates_only: bool = typer.Option(False, "--templates-only", help="skip the optimizations"),
             only: Optional[list[str]] = typer.Option(None, "--only", help="config stem(s) to re-optimize")) -> None:
    """Regenerate the OpenQASM 3 circuit library: ansatz templates and each shipped config's optimized protocol."""
    from qlearn_sense.experiments._circuits import write_circuit_library

    try:
        with stage_progress(transient=True) as progress:
            written = write_circuit_library(out, configs, templates_only=templates_only, only=only,
                                            progress=progress)
    except user_errors() as exc:
        fail(_one_line(exc))
    for path in written:
        console.print(f"wrote {path}")


def main() -> None:
    """Console-script entry point: user errors end in one line (exit 2), Ctrl-C in exit 130."""
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("interrupted", highlight=False)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001 - the last line of defence against a raw traceback
        if os.environ.get(DEBUG_ENV):
            raise
        try:
            known = isinstance(exc, user_errors())
        except Exception:  # noqa: BLE001
            known = False
        from qlearn_sense.backends.ibm import redact

        if known:
            err_console.print(f"[bold red]error:[/] {redact(_one_line(exc))}", highlight=False)
            sys.exit(2)
        err_console.print(f"[bold red]internal error[/] ({type(exc).__name__}): {redact(_one_line(exc))}; "
                          f"set {DEBUG_ENV}=1 for the traceback and report it", highlight=False)
        sys.exit(1)


from qlearn_sense.cli import _jobs  # noqa: E402,F401  (registers jobs, fetch, resubmit)
from qlearn_sense.cli import _budget  # noqa: E402,F401  (registers budget)
