"""Derived figures, Markdown summary and plots of a finished budget sweep (side-effect free but for files)."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from qlearn_sense.budget._config import BudgetConfig, expand_grid, key_digest, load_budget_config
from qlearn_sense.budget._design import observable_set
from qlearn_sense.budget._points import qwc_groups
from qlearn_sense.budget._store import PointStore, atomic_write_bytes, atomic_write_text
from qlearn_sense.shadows import shadow_sample_complexity

GROUP = ["task", "protocol", "n_qubits", "noise", "backend"]
DERIVED_COLUMNS = ("task", "protocol", "n_qubits", "noise", "backend", "points_ok", "points_error", "target_kind",
                   "target", "shots_to_target", "shots_to_target_theory", "theory", "shots_sql", "ratio_to_sql",
                   "cfi", "qfi", "eta")


def crossing(shots: np.ndarray, values: np.ndarray, target: float, *, exponential: bool = False) -> float:
    """First budget at which ``values`` falls to ``target``, interpolated between grid budgets.

    Interpolates ``log(value)`` linearly in ``log(shots)`` (power laws, e.g. an
    MSE ~ 1/m) or, with ``exponential``, in ``shots`` (error probabilities ~
    exp(-m C), floored at 1e-15 first). Returns the smallest budget
    when the target is already met there, and nan when it is never met.
    """
    ok = np.isfinite(values)
    shots, values = np.asarray(shots, float)[ok], np.maximum(np.asarray(values, float)[ok],
                                                              1e-15 if exponential else 1e-300)
    hit = np.nonzero(values <= target)[0]
    if not len(hit) or not math.isfinite(target) or target <= 0:
        return math.nan
    i = int(hit[0])
    if i == 0:
        return float(shots[0])
    x = shots[i - 1:i + 1] if exponential else np.log(shots[i - 1:i + 1])
    y = np.log(values[i - 1:i + 1])
    if y[1] == y[0]:
        return float(shots[i])
    xt = x[0] + (np.log(target) - y[0]) * (x[1] - x[0]) / (y[1] - y[0])
    return float(xt if exponential else np.exp(xt))


def _estimation(g: pd.DataFrame, config: BudgetConfig) -> dict:
    t = config.targets
    first = g.iloc[0]
    rel = t.relative_precision or config.base.execution.target_relative_precision
    std = t.field_std_T or rel * abs(first.true_field_T)
    target = std**2 if std > 0 else math.nan
    by = g.groupby("shots").agg(mse=("mse_T2", "mean")).sort_index()
    d2 = first.dphi_dB_rad_per_T**2
    shots_sql = 1.0 / (first.sql_fisher * d2 * target)
    empirical = crossing(by.index.values, by["mse"].values, target)
    return {"target_kind": "field_std_T", "target": std, "shots_to_target": empirical,
            "shots_to_target_theory": 1.0 / (first.cfi * d2 * target) if first.cfi > 0 else math.inf,
            "theory": "CRB 1/(m F)", "shots_sql": shots_sql, "ratio_to_sql": empirical / shots_sql}


def _observables(g: pd.DataFrame, config: BudgetConfig) -> dict:
    eps, delta = config.targets.observable_error, config.observables.delta
    obs = observable_set(config.observables.set, int(g.iloc[0].n_qubits))
    by = g.groupby("shots").agg(err=("max_error", "mean")).sort_index()
    if g.iloc[0].protocol == "shadows":
        theory, name = float(shadow_sample_complexity(obs, eps, delta).total), "HKP20 Thm 1"
    else:  # Hoeffding for means of +-1 outcomes, union bound over the set
        per_group = math.ceil(2 * math.log(2 * len(obs) / delta) / eps**2 * float(np.max(obs.coefficients**2)))
        theory, name = float(len(qwc_groups(obs.paulis)) * per_group), "Hoeffding"
    empirical = crossing(by.index.values, by["err"].values, eps)
    return {"target_kind": "max_error", "target": eps, "shots_to_target": empirical,
            "shots_to_target_theory": theory, "theory": name, "shots_sql": math.nan, "ratio_to_sql": math.nan}


def _detection(g: pd.DataFrame, config: BudgetConfig) -> dict:
    det = config.detection_config
    first = g.iloc[0]
    by = g.groupby("shots").agg(beta=("beta_exact", "mean")).sort_index()
    empirical = crossing(by.index.values, by["beta"].values, det.beta, exponential=True)
    dphi = abs(det.alt_field_T - det.null_field_T) * abs(first.dphi_dB_rad_per_T)
    z = stats.norm.ppf(1 - det.alpha) + stats.norm.ppf(1 - det.beta)
    shots_sql = (z / dphi) ** 2 / first.sql_fisher if dphi > 0 else math.inf
    return {"target_kind": "beta", "target": det.beta, "shots_to_target": empirical,
            "shots_to_target_theory": first.shots_to_decide, "theory": "exact NP", "shots_sql": shots_sql,
            "ratio_to_sql": empirical / shots_sql}


def _network(g: pd.DataFrame, config: BudgetConfig) -> dict:
    """Network rows have no shot target: their figures are per-shot precisions (see ``network.csv``)."""
    return {"target_kind": "none", "target": math.nan, "shots_to_target": math.nan,
            "shots_to_target_theory": math.nan, "theory": "per-shot Fisher precision (network.csv)",
            "shots_sql": math.nan, "ratio_to_sql": math.nan}


_DERIVERS = {"estimation": _estimation, "observables": _observables, "detection": _detection, "network": _network}


def derive_budget(table: pd.DataFrame, config: BudgetConfig) -> pd.DataFrame:
    """Per (task, protocol, n, noise, backend): shots to reach the target and the ratio to the SQL.

    ``shots_to_target`` is empirical (mean over seeds of the point metric,
    log-log interpolated between budgets; nan when not reached in the grid):
    field MSE <= target std^2 (estimation), mean max error <= target
    (observables), exact miss probability <= beta at false alarm alpha
    (detection). ``shots_to_target_theory`` is the Cramer-Rao value, the shadow
    (Huang-Kueng-Preskill Theorem 1) or Hoeffding bound, or the exact
    Neyman-Pearson shots. ``shots_sql`` is what a product state at the standard
    quantum limit ``F = n eta^2`` needs (estimation: CRB; detection: Gaussian
    approximation ``((z_{1-alpha} + z_{1-beta}) / dphi)^2 / F``).
    """
    rows = []
    for keys, g in table.groupby(GROUP, sort=False):
        ok = g[g["status"] == "ok"]
        row = dict(zip(GROUP, keys)) | {"points_ok": len(ok), "points_error": len(g) - len(ok)}
        if len(ok):
            first = ok.iloc[0]
            row |= {"cfi": first.cfi, "qfi": first.qfi, "eta": first.eta}
            row |= _DERIVERS[keys[0]](ok, config)
        rows.append(row)
    return pd.DataFrame(rows, columns=list(DERIVED_COLUMNS))


def _fmt(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if isinstance(x, (float, np.floating)):
        return f"{x:.3g}"
    return str(x)


def markdown_table(df: pd.DataFrame) -> str:
    """A pipe table of a frame (floats to 3 significant digits, nan as ``-``)."""
    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def budget_markdown(table: pd.DataFrame, derived: pd.DataFrame, config: BudgetConfig, run_name: str = "",
                    recovered: list[tuple[str, str]] | None = None) -> str:
    """The Markdown summary of a sweep: grid, derived table, failed points, recovered parts, plots.

    ``recovered`` lists ``(part moved aside, point key)`` for parts found corrupt on a resume
    (their points were recomputed).
    """
    errors = table[table["status"] == "error"]
    out = [f"# Shot-budget sweep `{config.name}` {run_name}".rstrip(), "", config.description or "", "",
           f"- points: {len(table)} ({len(errors)} failed); tasks: {', '.join(config.tasks)}; "
           f"repetitions per point: {config.repetitions}; sweep seed: {config.seed}",
           f"- shots: {config.grid.shot_values}; n: {config.n_qubits_values}; "
           f"noise: {[v for _, v in config.noise_levels]}; backends: {config.grid.backends}", "",
           "## Shots to target", "", markdown_table(derived), "",
           "`shots_to_target` is measured (mean over seeds, interpolated between budgets; its relative "
           f"statistical error is about sqrt(2 / {config.repetitions * len(config.grid.seeds)}) for the MSE); "
           "`shots_to_target_theory` is the bound or exact value named in `theory`. `ratio_to_sql` < 1 beats a "
           "product state at the standard quantum limit. At small budgets the MLE is confined to its "
           "identifiability window, so its MSE can sit below the CRB.", ""]
    from qlearn_sense.budget._network import network_markdown

    out += network_markdown(table)
    if len(errors):
        out += ["## Failed points", ""]
        out += [f"- `{r.key}`: {str(r.error).splitlines()[0]}" for r in errors.head(50).itertuples()]
        out += [""]
    if recovered:
        out += ["## Recovered storage", "",
                f"{len(recovered)} point part(s) could not be read on a resume; each was moved aside and its "
                "point recomputed (the table holds the recomputed rows):", ""]
        out += [f"- `{part}` (point `{key}`)" for part, key in recovered] + [""]
    out += ["## Plots", ""] + [f"![{name}](plots/{name}.png)" for name, _, _ in _plots(config)] + [""]
    return "\n".join(out)


def _plots(config: BudgetConfig) -> list[tuple[str, object, str]]:
    """``(file stem, plot function, data: "table" or "derived")`` for the sweep's tasks."""
    from qlearn_sense.budget._network import plot_network_vs_correlation, plot_network_vs_efficiency

    out = []
    if "network" in config.tasks:
        if config.grid.efficiency:
            out += [("network_precision_vs_efficiency", plot_network_vs_efficiency, "table")]
        if config.grid.correlation:
            out += [("network_precision_vs_correlation", plot_network_vs_correlation, "table")]
    if "estimation" in config.tasks:
        out += [("mse_vs_shots", plot_mse_vs_shots, "table"), ("shots_to_target_vs_n", plot_shots_to_target, "derived")]
    if "observables" in config.tasks:
        out += [("observables_error_vs_shots", plot_observables, "table")]
    if "detection" in config.tasks:
        out += [("detection_error_vs_shots", plot_detection, "table")]
    return out


def _panels(df: pd.DataFrame, keys: list[str]):
    from matplotlib.figure import Figure  # object-oriented: no pyplot state, no backend switch for the caller

    combos = list(df.groupby(keys, sort=False)) if len(df) else []
    cols = min(3, max(1, len(combos)))
    rows = max(1, math.ceil(len(combos) / cols))
    fig = Figure(figsize=(5 * cols, 3.8 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.ravel()[len(combos):]:
        ax.set_visible(False)
    return fig, axes.ravel(), combos


def _save(fig, path: Path) -> None:
    """PNG through the atomic writer (a killed report leaves the old plot or the new one)."""
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    atomic_write_bytes(Path(path), buf.getvalue())


def plot_mse_vs_shots(table: pd.DataFrame, path: Path) -> None:
    """Field MSE vs shots (log-log, mean over seeds, CI bars) with the CRB line of each protocol and the SQL."""
    est = table[(table["task"] == "estimation") & (table["status"] == "ok")]
    fig, axes, combos = _panels(est, ["n_qubits", "noise", "backend"])
    for ax, ((n, noise, backend), g) in zip(axes, combos):
        m = np.logspace(np.log10(g["shots"].min()), np.log10(g["shots"].max()), 50)
        for i, (proto, h) in enumerate(g.groupby("protocol", sort=False)):
            by = h.groupby("shots").agg(mse=("mse_T2", "mean"), lo=("mse_ci_low_T2", "mean"),
                                        hi=("mse_ci_high_T2", "mean")).sort_index()
            ax.errorbar(by.index, by["mse"], yerr=[by["mse"] - by["lo"], by["hi"] - by["mse"]], fmt="o", ms=4,
                        color=f"C{i}", label=f"{proto} (MLE)")
            ax.loglog(m, (h["crb_T2"] * h["shots"]).iloc[0] / m, "--", color=f"C{i}", lw=1, label=f"{proto} CRB")
        ax.loglog(m, (g["crb_sql_T2"] * g["shots"]).iloc[0] / m, "k:", lw=1, label="SQL")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"n = {n}, {noise}, {backend}", fontsize=9)
        ax.set_xlabel("shots per estimate")
        ax.set_ylabel("field MSE (T$^2$)")
        ax.legend(fontsize=6)
    _save(fig, path)


def plot_shots_to_target(derived: pd.DataFrame, path: Path) -> None:
    """Shots to the estimation target vs n per protocol (markers: empirical; dashed: CRB; dotted: SQL)."""
    d = derived[derived["task"] == "estimation"]
    fig, axes, combos = _panels(d, ["noise", "backend"])
    for ax, ((noise, backend), g) in zip(axes, combos):
        for i, (proto, h) in enumerate(g.groupby("protocol", sort=False)):
            h = h.sort_values("n_qubits")
            ax.plot(h["n_qubits"], h["shots_to_target"], "o", color=f"C{i}", label=f"{proto}")
            ax.plot(h["n_qubits"], h["shots_to_target_theory"], "--", color=f"C{i}", lw=1)
        s = g.groupby("n_qubits")["shots_sql"].first()
        ax.plot(s.index, s.values, "k:", label="SQL")
        ax.set_yscale("log")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_title(f"{noise}, {backend} (markers: measured; dashed: CRB)", fontsize=9)
        ax.set_xlabel("qubits n")
        ax.set_ylabel("shots to target precision")
        ax.legend(fontsize=7)
    _save(fig, path)


def plot_observables(table: pd.DataFrame, path: Path) -> None:
    """Max error over the observable set vs shots: classical shadows vs direct grouped measurement."""
    obs = table[(table["task"] == "observables") & (table["status"] == "ok")]
    fig, axes, combos = _panels(obs, ["n_qubits", "noise", "backend"])
    for ax, ((n, noise, backend), g) in zip(axes, combos):
        for i, (proto, h) in enumerate(g.groupby("protocol", sort=False)):
            by = h.groupby("shots").agg(e=("max_error", "mean"), lo=("max_error_ci_low", "mean"),
                                        hi=("max_error_ci_high", "mean")).sort_index()
            ax.loglog(by.index, by["e"], "o-", color=f"C{i}", label=proto)
            ax.fill_between(by.index, np.maximum(by["lo"], 1e-12), by["hi"], color=f"C{i}", alpha=0.2)
        ax.set_title(f"n = {n}, {noise}, {backend}", fontsize=9)
        ax.set_xlabel("shots (snapshots)")
        ax.set_ylabel("max |error| over the set")
        ax.legend(fontsize=7)
    _save(fig, path)


def plot_detection(table: pd.DataFrame, path: Path) -> None:
    """Miss probability vs shots at the false-alarm target (lines: exact; markers: achieved; floor 1e-6)."""
    det = table[(table["task"] == "detection") & (table["status"] == "ok")]
    fig, axes, combos = _panels(det, ["n_qubits", "noise", "backend"])
    floor = 1e-6
    for ax, ((n, noise, backend), g) in zip(axes, combos):
        for i, (proto, h) in enumerate(g.groupby("protocol", sort=False)):
            by = h.groupby("shots").agg(b=("beta_exact", "mean"), a=("beta_achieved", "mean")).sort_index()
            ax.plot(by.index, np.maximum(by["b"], floor), "-", color=f"C{i}", label=f"{proto} exact")
            ax.plot(by.index, np.maximum(by["a"], floor), "o", color=f"C{i}", ms=4)
        ax.axhline(g["alpha_target"].iloc[0], color="gray", ls=":", lw=1, label="false-alarm alpha")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(floor / 2, 1.5)
        ax.set_title(f"n = {n}, {noise}, {backend}", fontsize=9)
        ax.set_xlabel("shots")
        ax.set_ylabel(f"miss probability $\\beta$ (0 drawn at {floor:g})")
        ax.legend(fontsize=7)
    _save(fig, path)


def write_budget_report(run_dir: str | Path, *, config: BudgetConfig | None = None,
                        table: pd.DataFrame | None = None) -> dict[str, Path]:
    """Write ``table.parquet``, ``derived.csv``, ``summary.md`` and ``plots/*.png`` into a run folder.

    Every file goes through the atomic writer. A sweep with the network task
    also gets ``network.csv`` (precision per strategy, efficiency and correlation,
    gain over classical fusion, grid crossover efficiency).

    Returns:
      Paths by name (``table``, ``derived``, ``summary``, ``network`` when present, and the plot stems).

    Raises:
      BudgetError: ``table`` is not given and a stored part cannot be read.
    """
    run_dir = Path(run_dir)
    config = config or load_budget_config(run_dir / "budget.yaml")
    store = PointStore(run_dir)
    table = store.load() if table is None else table
    keys = {key_digest(p.key): p.key for p in expand_grid(config)}
    recovered = [(str(p.relative_to(run_dir)), keys.get(p.name.split(".")[0], "?")) for p in store.corrupt_parts()]
    derived = derive_budget(table, config)
    paths = {"table": run_dir / "table.parquet", "derived": run_dir / "derived.csv", "summary": run_dir / "summary.md"}
    atomic_write_bytes(paths["table"], table.to_parquet(index=False))
    atomic_write_text(paths["derived"], derived.to_csv(index=False))
    if "network" in config.tasks:
        from qlearn_sense.budget._network import grid_crossovers, network_summary

        summary = network_summary(table)
        paths["network"] = run_dir / "network.csv"
        atomic_write_text(paths["network"], summary.merge(grid_crossovers(summary), on="correlation", how="left")
                          .to_csv(index=False))
    atomic_write_text(paths["summary"], budget_markdown(table, derived, config, run_dir.name, recovered))
    (run_dir / "plots").mkdir(exist_ok=True)
    for name, fn, data in _plots(config):
        paths[name] = run_dir / "plots" / f"{name}.png"
        fn(table if data == "table" else derived, paths[name])
    return paths
