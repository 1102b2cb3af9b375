"""The registered analyses of a run (core estimation, classical shadows, detection).

Each is a pure ``AnalysisContext -> AnalysisResult`` step (see
:mod:`qlearn_sense.experiments._analysis`); the runner only sequences them.
The engines of the collective ensemble, the sensor network and the adaptive
loop register theirs the same way.
"""

from __future__ import annotations

import numpy as np

from qlearn_sense.experiments._analysis import AnalysisContext, AnalysisResult, register_analysis
from qlearn_sense.experiments._estimation_run import Z_IMPLAUSIBLE, analyse_estimation


def shadows_result(sh: dict) -> AnalysisResult:
    """Wrap the dict of :func:`~qlearn_sense.experiments._shadows_run.analyse_shadows` as an AnalysisResult.

    Raw recipes and bits go to ``shadows.npz``; estimates to ``results["shadows"]``;
    the plot to ``plots/shadows.png``. Observables whose estimate lies more than
    :data:`Z_IMPLAUSIBLE` standard errors from the exact value the estimator
    targets are flagged.
    """
    from qlearn_sense.experiments._plots import plot_shadows

    sh = dict(sh)
    recipes, bits = sh.pop("recipes"), sh.pop("bits")
    arrays = {"bits": np.asarray(bits, dtype=np.uint8)}
    if recipes is not None:
        arrays["recipes"] = np.asarray(recipes, dtype=np.int8)
    warnings, flags = [], {}
    if sh.get("max_z_score") is not None and sh["max_z_score"] > Z_IMPLAUSIBLE:
        flags["shadows_implausible"] = True
        warnings.append(f"a shadow estimate lies {sh['max_z_score']:.3g} standard errors from its exact value "
                        f"({sh['error_reference']}): the device or the model misbehaves")
    lines = [f"classical shadows: {sh['ensemble']}, {sh['snapshots']} snapshots on {sh['backend']}; "
             f"max |error| {sh['max_abs_error']:.3g} (vs {sh['error_reference']})"]
    for row in sh["observables"]:
        lines.append(f"  {row['name']:<24} {row['estimate']:+.4f} +- {row['stderr']:.4f}  "
                     f"(exact incl. readout {row['exact_with_readout']:+.4f}, noisy state {row['exact_noisy']:+.4f})")
    if "fidelity_ideal" in sh:
        fid = sh["fidelity_ideal"]
        lines.append(f"  fidelity to the ideal state {fid['estimate']:.4f} +- {fid['stderr']:.4f} (exact incl. "
                     f"readout {sh.get('fidelity_ideal_with_readout', float('nan')):.4f}, noisy state "
                     f"{sh['fidelity_ideal_exact']:.4f})")
    return AnalysisResult(key="shadows", data=sh, summary=lines, warnings=warnings, flags=flags,
                          files={"shadows.npz": arrays},
                          plots={"shadows.png": lambda path, _sh=sh: plot_shadows(_sh, path)})


def analyse_shadows_section(ctx: AnalysisContext) -> AnalysisResult:
    """Classical shadows of the sensor output state on the run's backend (config section ``shadows``)."""
    from qlearn_sense.experiments._shadows_run import run_shadows

    ctx.report("classical shadows", 0, 1)
    out = shadows_result(run_shadows(ctx.design, ctx.params, ctx.backend, seed=ctx.seed))
    ctx.report("classical shadows", 1, 1)
    return out


def analyse_detection_section(ctx: AnalysisContext) -> AnalysisResult:
    """Biomarker detection per protocol (config section ``detection``)."""
    from qlearn_sense.experiments._detection_run import analyse_detection
    from qlearn_sense.experiments._plots import plot_detection

    ctx.report("detection", 0, 1)
    counts = None if ctx.sample is None else ctx.sample.counts.sum(axis=0)
    det = analyse_detection(ctx.design, ctx.params, counts, seed=ctx.seed)
    curves = det.pop("curves")
    ctx.report("detection", 1, 1)
    lines = [f"detection: H0 field {det['null_field_T']:.4g} T vs H1 {det['alt_field_T']:.4g} T, "
             f"alpha = {det['alpha']:g}, beta = {det['beta']:g}"]
    for name, entry in det["protocols"].items():
        m, q = entry["measurement"], entry["quantum"]
        shots = m.get("shots_to_decide") or m.get("shots_to_decide_gaussian")
        lines.append(f"  {name:<10} shots to decide {shots:.4g} ({m['shots_to_decide_method']}), quantum limit "
                     f"{q['shots_to_decide']:.4g}; time {m['seconds_to_decide']:.4g} s")
    if "verdict" in det:
        v = det["verdict"]
        lines.append(f"  verdict on {v['shots']} shots: {v['decision']} (LLR {v['log_likelihood_ratio']:.4g}, "
                     f"threshold {v['threshold']:.4g}, power {v['power_at_these_shots']:.3g})")

    def plots(folder_png, _curves=curves):  # two files: roc.png and error_vs_shots_detection.png
        plot_detection(_curves, folder_png.parent)

    return AnalysisResult(key="detection", data=det, summary=lines, files={"detection_curves.json": curves},
                          plots={"roc.png": plots})


register_analysis("estimation", analyse_estimation, lambda config: True)
register_analysis("shadows", analyse_shadows_section, lambda config: config.shadows is not None)
register_analysis("detection", analyse_detection_section, lambda config: config.detection is not None)


def _lazy(module: str, name: str):
    """An analysis imported on first use (the engines' modules pull in their own libraries)."""
    def run(ctx: AnalysisContext) -> AnalysisResult:
        import importlib

        return getattr(importlib.import_module(module), name)(ctx)
    run.__name__ = name
    return run


register_analysis("ensemble", _lazy("qlearn_sense.experiments._ensemble_run", "analyse_ensemble"),
                  lambda config: config.ensemble is not None)
register_analysis("network", _lazy("qlearn_sense.experiments._network_run", "analyse_network"),
                  lambda config: config.network is not None)
register_analysis("adaptive", _lazy("qlearn_sense.experiments._adaptive_run", "analyse_adaptive"),
                  lambda config: config.adaptive is not None)
