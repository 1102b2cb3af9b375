"""The network task of a budget sweep: precision per strategy vs transduction efficiency and correlation.

Rows come from :func:`qlearn_sense.budget._points._network` (one optimized
strategy per efficiency, correlation and seed); here they are averaged over
seeds, compared with classical fusion, the crossover efficiency is read off the
grid, and the two plots are drawn (precision per shot in (unit)^-2).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

SUMMARY_COLUMNS = ("protocol", "efficiency", "correlation", "seeds", "precision_quantum", "precision_measured",
                   "estimand_std", "gain_over_classical", "estimand_unit")


def network_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The finished network rows of a budget table."""
    return table[(table["task"] == "network") & (table["status"] == "ok")]


def network_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds per (strategy, efficiency, correlation), with the gain over classical fusion.

    ``gain_over_classical`` is ``precision_measured`` over the classical strategy's at
    the same correlation (classical fusion uses no link; nan without a classical row).
    Efficiency nan means the base network's own links.
    """
    net = network_rows(table)
    if not len(net):
        return pd.DataFrame(columns=list(SUMMARY_COLUMNS))
    net = net.assign(efficiency=net["efficiency"].fillna(-1.0))  # groupby keeps the base-links rows
    g = net.groupby(["protocol", "efficiency", "correlation"], sort=False).agg(
        seeds=("seed", "count"), precision_quantum=("precision_quantum", "mean"),
        precision_measured=("precision_measured", "mean"), estimand_std=("estimand_std", "mean"),
        estimand_unit=("estimand_unit", "first")).reset_index()
    cls = g[g["protocol"] == "classical"].groupby("correlation")["precision_measured"].mean()
    g["gain_over_classical"] = [r.precision_measured / cls[r.correlation] if r.correlation in cls.index
                                and cls[r.correlation] > 0 else math.nan for r in g.itertuples()]
    g["efficiency"] = g["efficiency"].where(g["efficiency"] >= 0, math.nan)
    return g[list(SUMMARY_COLUMNS)]


def grid_crossovers(summary: pd.DataFrame) -> pd.DataFrame:
    """Per correlation: the efficiency where distributed meets classical fusion, interpolated on the grid.

    Linear interpolation of ``precision_measured`` between the two grid
    efficiencies that bracket the first sign change (nan when none). This is a
    grid estimate: the network experiment's crossover re-optimizes the circuit at
    every bisection point (:func:`qlearn_sense.network.crossover_reoptimized`).
    """
    rows = []
    for corr, g in summary.groupby("correlation", sort=False):
        d = g[(g["protocol"] == "distributed") & g["efficiency"].notna()].sort_values("efficiency")
        c = g[g["protocol"] == "classical"]["precision_measured"]
        cross = math.nan
        if len(d) >= 2 and len(c):
            ref = float(c.mean())
            t, v = d["efficiency"].to_numpy(), d["precision_measured"].to_numpy() - ref
            for i in range(len(t) - 1):
                if v[i] == 0:
                    cross = float(t[i])
                    break
                if np.sign(v[i]) != np.sign(v[i + 1]):
                    cross = float(t[i] + (t[i + 1] - t[i]) * (-v[i]) / (v[i + 1] - v[i]))
                    break
        rows.append({"correlation": corr, "crossover_efficiency_grid": cross})
    return pd.DataFrame(rows, columns=["correlation", "crossover_efficiency_grid"])


def _unit(summary: pd.DataFrame) -> str:
    units = summary["estimand_unit"].dropna().unique() if len(summary) else []
    return str(units[0]) if len(units) else "unit"


def plot_network_vs_efficiency(table: pd.DataFrame, path: Path) -> None:
    """Precision per shot vs transduction efficiency, one line per strategy, one panel per correlation."""
    from qlearn_sense.budget._report import _panels, _save

    s = network_summary(table)
    s = s[s["efficiency"].notna()]
    cross = grid_crossovers(s).set_index("correlation")["crossover_efficiency_grid"] if len(s) else {}
    fig, axes, combos = _panels(s, ["correlation"])
    unit = _unit(s)
    for ax, (key, g) in zip(axes, combos):
        corr = key[0] if isinstance(key, tuple) else key
        for i, (proto, h) in enumerate(g.groupby("protocol", sort=False)):
            h = h.sort_values("efficiency")
            ax.plot(h["efficiency"], h["precision_measured"], "o-", color=f"C{i}", label=f"{proto} (CFIM)")
            ax.plot(h["efficiency"], h["precision_quantum"], ":", color=f"C{i}", lw=1, label=f"{proto} (QFIM)")
        t = cross.get(corr, math.nan) if len(cross) else math.nan
        if math.isfinite(t):
            ax.axvline(t, color="k", ls="--", lw=1, label=f"crossover T* ~ {t:.3f} (grid)")
        ax.set_yscale("log")
        ax.set_title(f"common-mode correlation {corr:g}", fontsize=9)
        ax.set_xlabel("transduction efficiency T (dimensionless)")
        ax.set_ylabel(f"precision per shot ({unit}$^{{-2}}$)")
        ax.legend(fontsize=6)
    _save(fig, path)


def plot_network_vs_correlation(table: pd.DataFrame, path: Path) -> None:
    """Precision per shot vs common-mode correlation, one line per strategy, one panel per efficiency."""
    from qlearn_sense.budget._report import _panels, _save

    s = network_summary(table)
    s = s.assign(panel=s["efficiency"].map(lambda e: "base links" if not math.isfinite(e) else f"T = {e:g}"))
    fig, axes, combos = _panels(s, ["panel"])
    unit = _unit(s)
    for ax, (key, g) in zip(axes, combos):
        for i, (proto, h) in enumerate(g.groupby("protocol", sort=False)):
            h = h.sort_values("correlation")
            ax.plot(h["correlation"], h["precision_measured"], "o-", color=f"C{i}", label=f"{proto} (CFIM)")
            ax.plot(h["correlation"], h["precision_quantum"], ":", color=f"C{i}", lw=1, label=f"{proto} (QFIM)")
        ax.set_yscale("log")
        ax.set_title(key[0] if isinstance(key, tuple) else str(key), fontsize=9)
        ax.set_xlabel("common-mode noise correlation between nodes (dimensionless)")
        ax.set_ylabel(f"precision per shot ({unit}$^{{-2}}$)")
        ax.legend(fontsize=6)
    _save(fig, path)


def network_markdown(table: pd.DataFrame) -> list[str]:
    """Lines of the summary's network section (empty without network rows)."""
    from qlearn_sense.budget._report import markdown_table

    s = network_summary(table)
    if not len(s):
        return []
    unit = _unit(s)
    return ["## Network strategies", "",
            f"Precision of the estimand per shot ({unit}^-2) from the QFIM and from the CFIM of the optimized "
            "local measurement, mean over seeds; `estimand_std` after the base network's shots; gain over "
            "classical fusion at the same correlation. Efficiency `-` = the base config's links. Ensemble "
            "nodes, if any, sense locally (no entanglement) and add their Fisher information to every strategy.",
            "", markdown_table(s), "", "Crossover efficiency (grid interpolation; the network experiment "
            "re-optimizes at every bisection point):", "", markdown_table(grid_crossovers(s)), ""]
