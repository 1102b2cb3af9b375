"""Several runs side by side: one config on several backends, or several configs (``qlearn-sense report``)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from qlearn_sense.experiments._results import ResultsError, atomic_savefig, atomic_write_text, dumps, load_results


def collect_report(run_dirs: list[Path]) -> list[dict]:
    """One row per run folder: identity, Fisher values, estimate, z-score, goodness of fit, warnings.

    Args:
      run_dirs: run folders (each with a ``results.json``).

    Returns:
      Rows (dicts); numbers are None where a run does not have them (a
      submitted or failed run keeps its row, with its status).

    Raises:
      ResultsError: a folder without a readable results.json, or no folders.
    """
    if not run_dirs:
        raise ResultsError("give at least one run folder")
    rows = []
    for d in run_dirs:
        res = load_results(d, require_complete=False)
        f, e = res.get("fisher", {}), res.get("estimate", {})
        gof = (res.get("cfi_check") or {}).get("gof") or {}
        rows.append({
            "run": f"{res.get('name')}/{res.get('run_id')}", "path": str(d), "status": res.get("status", "done"),
            "backend": res.get("backend"), "n_qubits": res.get("n_qubits"),
            "eta": (res.get("sensor") or {}).get("eta"), "qfi": f.get("qfi"), "cfi": f.get("cfi"),
            "field_T": e.get("field_T"), "field_std_T": e.get("field_std_T"), "true_field_T": e.get("true_field_T"),
            "z_score": e.get("z_score"), "gof_p": gof.get("p_value"),
            "sensitivity_T_per_sqrtHz": res.get("sensitivity_T_per_sqrtHz"),
            "n_warnings": len(res.get("warnings") or []), "warnings": res.get("warnings") or [],
        })
    return rows


def plot_report(rows: list[dict], path: Path) -> None:
    """Estimates with +-2 standard errors against the true field, and QFI/CFI per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    x = np.arange(len(rows))
    labels = [f"{r['run']}\n{r['backend']}" for r in rows]
    est = [r["field_T"] if r["field_T"] is not None else np.nan for r in rows]
    err = [2 * r["field_std_T"] if r["field_std_T"] is not None else 0 for r in rows]
    ax1.errorbar(x, est, yerr=err, fmt="o", label="estimate +- 2 SE")
    truth = [r["true_field_T"] if r["true_field_T"] is not None else np.nan for r in rows]
    ax1.plot(x, truth, "k_", ms=14, label="true field")
    ax1.set_xticks(x, labels, rotation=30, ha="right", fontsize=7)
    ax1.set_ylabel("field (T)")
    ax1.legend(fontsize=8)
    w = 0.38
    ax2.bar(x - w / 2, [r["qfi"] or 0 for r in rows], w, label="QFI (model)")
    ax2.bar(x + w / 2, [r["cfi"] or 0 for r in rows], w, label="CFI (model)")
    ax2.set_xticks(x, labels, rotation=30, ha="right", fontsize=7)
    ax2.set_ylabel("Fisher information per shot (rad$^{-2}$)")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=120)
    plt.close(fig)


def write_report(rows: list[dict], out: Path | None = None) -> Path:
    """Write ``report.json`` and ``report.png`` into ``out`` (default ``experiments/reports/<UTC time>``)."""
    folder = Path(out) if out is not None else (
        Path("experiments") / "reports" / datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-%f"))
    atomic_write_text(folder / "report.json", dumps({"runs": rows}))
    plot_report(rows, folder / "report.png")
    return folder
