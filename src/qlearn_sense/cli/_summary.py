"""The human summary of a run (core table, every analysis section, warnings)."""

from __future__ import annotations

from rich.table import Table

from qlearn_sense.cli._common import console, err_console


def _fmt(x, unit: str = "") -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.4g}{(' ' + unit) if unit else ''}"
    return f"{x}{(' ' + unit) if unit else ''}"


def summary_table(results: dict) -> Table:
    """The core numbers of a run as a rich table (the model's CRB is labelled as the model's)."""
    f, e, h = results["fisher"], results["estimate"], results.get("honesty", {})
    size = (f"collective engine, N = {results['n_spins']} spins" if results.get("n_qubits") is None
            and results.get("n_spins") else f"n = {results['n_qubits']}")
    t = Table(title=f"{results['name']}  ({results['backend']}, {size}, "
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
