"""Plots of a run: Fisher information vs iterations, estimates vs the Cramer-Rao bound, error vs shots."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from qlearn_sense.experiments._results import atomic_savefig  # noqa: E402


def plot_trace(results: dict, path: Path) -> None:
    """Objective (rad^-2) per optimizer step with the SQL, QFI and Heisenberg lines."""
    opt, fisher = results["optimization"], results["fisher"]
    fig, ax = plt.subplots(figsize=(6, 4))
    trace = np.asarray(opt["trace"], dtype=float)
    steps = np.arange(1, len(trace) + 1)
    qfi_steps = int(opt.get("qfi_stage_steps", 0) or 0)
    if opt["objective"] == "cfi" and 0 < qfi_steps < len(trace):
        # staged optimization: QFI of the preparation first, then CFI of the whole circuit
        ax.plot(steps[:qfi_steps], trace[:qfi_steps], "C0-", label="stage 1: QFI of the preparation")
        ax.plot(steps[qfi_steps:], trace[qfi_steps:], "C2-", label="stage 2: CFI of the measurement")
        ax.axvline(qfi_steps + 0.5, color="0.6", lw=0.8)
    else:
        ax.plot(steps, trace, label=f"objective ({opt['objective'].upper()})")
    ax.axhline(fisher["sql"], color="gray", ls="--", label="SQL  n eta^2")
    ax.axhline(fisher["hl"], color="k", ls=":", label="Heisenberg  n^2")
    ax.axhline(fisher["qfi"], color="C1", ls="-.", label="final QFI")
    if fisher.get("asymptotic_bound"):
        ax.axhline(fisher["asymptotic_bound"], color="C3", ls="--", lw=0.8, label="n eta^2/(1-eta^2)")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("Fisher information per shot (rad$^{-2}$)")
    ax.set_title(f"{results['name']}: n = {results['n_qubits']}, eta = {results['sensor']['eta']:.3g}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=120)
    plt.close(fig)


def plot_estimates(results: dict, path: Path) -> None:
    """Histogram of per-repetition field estimates against the Cramer-Rao Gaussian."""
    est = results["estimate"]
    reps = np.asarray(est["repetitions"]["field_T"], dtype=float)
    crb = est["repetitions"]["crb_std_T"]
    truth = est["true_field_T"]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.hist(reps, bins=max(5, len(reps) // 4), density=True, alpha=0.6, label="MLE per repetition")
    x = np.linspace(truth - 4 * crb, truth + 4 * crb, 400)
    ax.plot(x, np.exp(-0.5 * ((x - truth) / crb) ** 2) / (crb * np.sqrt(2 * np.pi)), "k-",
            label="Cramer-Rao N(B, 1/(N F))")
    ax.axvline(truth, color="C3", ls="--", label=f"true field {truth:.3g} T")
    ax.set_xlabel("field estimate (T)")
    ax.set_ylabel("density (1/T)")
    ax.set_title(f"{results['shots']} shots x {results['repetitions']} repetitions")
    ax.legend(fontsize=8)
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=120)
    plt.close(fig)


def plot_error_vs_shots(results: dict, path: Path) -> None:
    """Cramer-Rao field error vs shots (CFI, QFI, SQL) with the measured spread and the true field."""
    fisher, sensor = results["fisher"], results["sensor"]
    dphi = abs(sensor["dphi_dB_rad_per_T"])
    shots = np.logspace(0, max(12, np.log10(max(results["shots"], 1)) + 2), 200)
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, f, style in (("CFI (this measurement)", fisher["cfi"], "C0-"), ("QFI", fisher["qfi"], "C1--"),
                            ("SQL", fisher["sql"], "k:")):
        if f and f > 0:
            ax.loglog(shots, 1 / (np.sqrt(shots * f) * dphi), style, label=label)
    reps = results["estimate"]["repetitions"]
    ax.loglog([results["shots"]], [reps["empirical_std_T"]], "C3o", label="measured spread")
    truth = abs(results["estimate"]["true_field_T"])
    if truth > 0:
        ax.axhline(truth, color="C2", ls="-.", label="|true field| (SNR 1)")
    ax.set_xlabel("shots")
    ax.set_ylabel("field standard deviation (T)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=120)
    plt.close(fig)


def plot_run(results: dict, folder: Path) -> list[Path]:
    """All plots of a run into ``folder``; returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "fisher_vs_iterations.png", folder / "estimates_vs_crb.png", folder / "error_vs_shots.png"]
    plot_trace(results, paths[0])
    plot_estimates(results, paths[1])
    plot_error_vs_shots(results, paths[2])
    return paths


def plot_shadows(shadows: dict, path: Path) -> None:
    """Shadow estimates with error bars against the exact noisy and ideal values, per observable."""
    rows = shadows["observables"]
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(rows)), 4))
    ax.errorbar(x, [r["estimate"] for r in rows], yerr=[2 * r["stderr"] for r in rows], fmt="o", ms=4,
                label="shadow estimate +- 2 SE")
    ax.plot(x, [r["exact_noisy"] for r in rows], "k_", ms=12, label="exact (noisy sensor)")
    ax.plot(x, [r["exact_with_readout"] for r in rows], "C2_", ms=12, label="exact incl. readout error")
    ax.plot(x, [r["exact_ideal"] for r in rows], "C3x", label="ideal (noiseless)")
    ax.set_xticks(x, [r["name"] for r in rows], rotation=90, fontsize=7)
    ax.set_ylabel("expectation value")
    ax.set_title(f"classical shadows: {shadows['ensemble']}, {shadows['snapshots']} snapshots")
    ax.legend(fontsize=8)
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=120)
    plt.close(fig)


def plot_detection(curves: dict, folder: Path) -> list[Path]:
    """ROC curves and error probability vs shots (achieved vs quantum Chernoff bound) per protocol."""
    folder = Path(folder)
    fig, ax = plt.subplots(figsize=(5, 5))
    for name, c in curves["roc"].items():
        ax.plot(c["false_alarm"], c["detection"], label=f"{name} (m = {c['shots']}, AUC {c['auc']:.3f})")
    ax.plot([0, 1], [0, 1], "k:", lw=0.8)
    ax.set_xlabel("false-alarm probability alpha")
    ax.set_ylabel("detection probability 1 - beta (beta = miss probability)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    roc = folder / "roc.png"
    atomic_savefig(fig, roc, dpi=120)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 4))
    zero_points = 0
    for i, (name, c) in enumerate(curves["error_vs_shots"].items()):
        for key, style, label in (("measurement", "-", "measurement"),
                                  ("quantum_chernoff_upper_bound", "--", "optimal-POVM error, Chernoff upper bound"),
                                  ("quantum_lower_bound", ":", "quantum lower bound (fidelity)")):
            y = np.asarray(c[key], dtype=float)
            x = np.asarray(c["shots"], dtype=float)
            positive = y > 0  # an exact zero has no place on a log axis: dropped, and said so below
            zero_points += int(np.sum(~positive))
            ax.loglog(x[positive], y[positive], f"C{i}{style}", lw=0.8 if style != "-" else 1.5,
                      label=f"{name}: {label}")
    ax.set_xlabel("shots")
    ax.set_ylabel("Bayes error probability (prior-weighted alpha and beta)")
    if zero_points:
        ax.set_title(f"{zero_points} point(s) with error exactly 0 not drawn (log axis)", fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    evs = folder / "error_vs_shots_detection.png"
    atomic_savefig(fig, evs, dpi=120)
    plt.close(fig)
    return [roc, evs]
