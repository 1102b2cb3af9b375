"""The ``qlearn-sense`` command line: parse, call, print (typer + rich). Nothing else.

Heavy libraries (jax, qiskit) are imported inside the commands that need them,
so ``--help`` and ``validate`` start fast. Errors users can cause (bad config,
unknown backend, unwritable folder, corrupt results file) end in one line on
stderr with exit code 2 and nothing written; an interrupted command exits 130.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from qlearn_sense.cli._common import (
    DEBUG_ENV,
    app,
    console,
    err_console,
    fail,
    one_line,
    stage_progress,
    user_errors,
)
from qlearn_sense.cli._summary import _fmt, print_run_summary, summary_table  # noqa: F401


def _validate_experiment(path: Path) -> None:
    from qlearn_sense.config import load_config, validate_physics

    cfg = load_config(path)
    validate_physics(cfg, source=str(path))
    if cfg.protocol.collective_only:
        from qlearn_sense.config import eta_and_phase

        eta, phase, _ = eta_and_phase(cfg)
        console.print(f"[green]valid[/]: {path} (collective engine, N = {cfg.protocol.n_spins} spins, "
                      f"eta = {eta:.4g}, phase = {phase:.4g} rad; local engine only)")
        return
    from qlearn_sense.backends import check_backend_for_config

    reason = check_backend_for_config(cfg.execution.backend, noisy=_config_is_noisy(cfg),
                                      n_qubits=cfg.protocol.n_qubits)
    if reason is not None:
        fail(f"execution.backend = {cfg.execution.backend!r}: {reason}")
    from qlearn_sense.config import eta_and_phase

    eta, phase, dphi = eta_and_phase(cfg)
    if dphi == 0.0:
        fail(f"sensor.sequence = {cfg.sensor.sequence!r} cancels the {cfg.signal.kind} signal (zero phase per "
             "tesla); use 'ramsey' for static fields or match the echo to the rhythm")
    noise = f"eta = {eta:.4g}" if eta is not None else f"noise from {cfg.sensor.from_backend}"
    console.print(f"[green]valid[/]: {path} (n = {cfg.protocol.n_qubits}, {noise}, phase = {phase:.4g} rad)")


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
        fail(one_line(exc))


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

        if cfg.protocol.collective_only:
            reason = None if (backend or "local") == "local" else (
                f"protocol.n_spins = {cfg.protocol.n_spins} has no register form: only the local collective "
                "engine applies (use backend 'local', or n_spins <= 12)")
        else:
            reason = check_backend_for_config(backend or cfg.execution.backend, noisy=_config_is_noisy(cfg),
                                              n_qubits=cfg.protocol.n_qubits)
        if reason is not None:
            fail(f"backend {backend or cfg.execution.backend!r}: {reason}")
        from qlearn_sense.experiments import run_experiment

        with stage_progress() as progress:
            outcome = run_experiment(cfg, backend=backend, out_root=out, run_id=run_id, progress=progress,
                                     force=force, **({"wait": True} if wait else {}))
    except user_errors() as exc:
        fail(one_line(exc))
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
        fail(one_line(exc))
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
        fail(one_line(exc))
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
            err_console.print(f"[bold red]error:[/] {redact(one_line(exc))}", highlight=False)
            sys.exit(2)
        err_console.print(f"[bold red]internal error[/] ({type(exc).__name__}): {redact(one_line(exc))}; "
                          f"set {DEBUG_ENV}=1 for the traceback and report it", highlight=False)
        sys.exit(1)


# the other commands register on the shared app (they import _common and _summary, never this module)
from qlearn_sense.cli import _budget, _jobs  # noqa: E402,F401
