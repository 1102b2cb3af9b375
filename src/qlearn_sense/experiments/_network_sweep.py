"""Efficiency sweep of the distributed strategy and its crossover with classical fusion."""

from __future__ import annotations

import numpy as np

from qlearn_sense.network import Estimand, Network, crossover_efficiency, fisher_matrices, precision
from qlearn_sense.network._strategies import optimize_rows


def _sweep(network: Network, estimand: Estimand, best: np.ndarray, efficiencies: list[float], steps: int,
           learning_rate: float, seed: int, layers: int, batch: int) -> tuple[list[float], list[float], np.ndarray]:
    """Distributed precision (CFIM and QFIM) re-optimized at every efficiency; rows warm-started."""
    circuit = network.circuit("distributed", layers)
    effs = np.asarray(efficiencies, dtype=float)
    rng = np.random.default_rng(seed)
    init = np.concatenate([np.tile(best, (len(effs), 1)),
                           rng.uniform(-np.pi, np.pi, (len(effs), circuit.n_params))])
    params, final, _ = optimize_rows(network, circuit, estimand, init, np.concatenate([effs, effs]), steps=steps,
                                     learning_rate=learning_rate, batch=batch)
    n = len(effs)
    pick = np.where(final[:n] >= final[n:], np.arange(n), np.arange(n) + n)
    measured, quantum = [], []
    for i, t in zip(pick, effs):
        fq, fc = fisher_matrices(network, circuit, params[i], t, estimand)
        measured.append(precision(estimand, fc))
        quantum.append(precision(estimand, fq))
    return measured, quantum, params[pick]


def efficiency_sweep(network: Network, estimand: Estimand, cfg, results: dict, seed: int) -> tuple[dict, str]:
    """Sweep every link's efficiency for the distributed strategy; find the crossover with classical fusion.

    Args:
      network: the network.
      estimand: what is estimated.
      cfg: the ``network:`` config section (``efficiency_sweep``, ``optimizer``).
      results: ``{strategy: StrategyResult}``; must hold ``classical`` and ``distributed``.
      seed: the network stage's seed.

    Returns:
      ``(sweep record for results.json, one summary line)``.
    """
    opt = cfg.optimizer
    ref = results["classical"].precision_measured
    ref_q = results["classical"].precision_quantum
    meas, quant, sweep_params = _sweep(network, estimand, results["distributed"].params, cfg.efficiency_sweep,
                                       opt.steps, opt.learning_rate, seed, opt.layers, opt.restarts)
    circuit = network.circuit("distributed", opt.layers)

    def value(t, which=1):  # best precision of the sweep's optimized circuits at efficiency t (1: CFIM)
        return max(precision(estimand, fisher_matrices(network, circuit, p, t, estimand)[which])
                   for p in sweep_params)

    cross = crossover_efficiency(value, ref, cfg.efficiency_sweep, meas)
    cross_q = crossover_efficiency(lambda t: value(t, 0), ref_q, cfg.efficiency_sweep, quant)
    record = {"efficiency": list(cfg.efficiency_sweep), "distributed_measured": meas,
              "distributed_quantum": quant, "classical_measured": ref,
              "local_measured": results["local"].precision_measured if "local" in results else None,
              "crossover_efficiency": cross, "crossover_efficiency_quantum": cross_q,
              "meaning": "precision of the estimand per shot vs the efficiency of every link; crossover: "
                         "efficiency below which distributed entanglement stops beating classical fusion "
                         "with the optimized local measurements (CFIM), or with the best measurement "
                         "(QFIM, _quantum); between sweep points the sweep's optimized circuits are "
                         "evaluated, so the crossover is an upper bound that is exact at sweep points"}
    line = ("  crossover efficiency: " + ("none in the sweep" if cross is None else f"T* = {cross:.3f}")
            + " (measured), " + ("none" if cross_q is None else f"{cross_q:.3f}") + " (QFIM)")
    return record, line
