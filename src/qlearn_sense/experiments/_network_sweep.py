"""Efficiency sweep of the distributed strategy and its crossover with classical fusion."""

from __future__ import annotations

import numpy as np

from qlearn_sense.network import (
    Estimand,
    Network,
    crossover_efficiency,
    crossover_reoptimized,
    fisher_matrices,
    precision,
)
from qlearn_sense.network._strategies import optimize_rows


def _sweep(network: Network, estimand: Estimand, best: np.ndarray, efficiencies: list[float], steps: int,
           learning_rate: float, seed: int, layers: int, batch: int,
           objective: str = "cfim") -> tuple[list[float], list[float], np.ndarray]:
    """Distributed precision (CFIM and QFIM) re-optimized at every efficiency; rows warm-started.

    ``objective="cfim"`` optimizes state and local measurement (staged);
    ``"qfim"`` the state alone for the best measurement.
    """
    circuit = network.circuit("distributed", layers)
    effs = np.asarray(efficiencies, dtype=float)
    rng = np.random.default_rng(seed)
    best = np.asarray(best, dtype=float)
    warm = np.tile(best, (len(effs), 1)) if best.ndim == 1 else best
    init = np.concatenate([warm, rng.uniform(-np.pi, np.pi, (len(effs), circuit.n_params))])
    params, final, _ = optimize_rows(network, circuit, estimand, init, np.concatenate([effs, effs]), steps=steps,
                                     learning_rate=learning_rate, batch=batch, objective=objective)
    n = len(effs)
    pick = np.where(final[:n] >= final[n:], np.arange(n), np.arange(n) + n)
    measured, quantum = [], []
    for i, t in zip(pick, effs):
        fq, fc = fisher_matrices(network, circuit, params[i], t, estimand)
        measured.append(precision(estimand, fc))
        quantum.append(precision(estimand, fq))
    return measured, quantum, params[pick]


def efficiency_sweep(network: Network, estimand: Estimand, cfg, results: dict, seed: int, *,
                     max_iter: int = 10, xtol: float = 2e-3) -> tuple[dict, str]:
    """Sweep every link's efficiency for the distributed strategy; find the crossover with classical fusion.

    At every sweep point the distributed circuit is re-optimized twice: state and
    local measurement for the CFIM (``distributed_measured``), and the state alone
    for the QFIM (``distributed_quantum``: the best state for the best
    measurement). The crossover with classical fusion is then found by bisection
    with the circuit re-optimized at every bisection point
    (:func:`qlearn_sense.network.crossover_reoptimized`, warm-started, at most
    ``max_iter`` re-optimizations): ``crossover_efficiency`` (CFIM) and
    ``crossover_efficiency_quantum`` (QFIM), with their brackets. The older
    estimate, the sweep's own circuits evaluated between sweep points (an upper
    bound on T*, exact at sweep points), is kept as ``crossover_efficiency_sweep_bound``.

    Args:
      network: the network.
      estimand: what is estimated.
      cfg: the ``network:`` config section (``efficiency_sweep``, ``optimizer``).
      results: ``{strategy: StrategyResult}``; must hold ``classical`` and ``distributed``.
      seed: the network stage's seed.
      max_iter: most bisection steps per crossover.
      xtol: bracket width at which bisection stops.

    Returns:
      ``(sweep record for results.json, one summary line)``.
    """
    opt = cfg.optimizer
    ref = results["classical"].precision_measured
    ref_q = results["classical"].precision_quantum
    effs = list(cfg.efficiency_sweep)
    meas, _, sweep_params = _sweep(network, estimand, results["distributed"].params, effs, opt.steps,
                                   opt.learning_rate, seed, opt.layers, opt.restarts)
    _, quant, q_params = _sweep(network, estimand, sweep_params, effs, opt.steps, opt.learning_rate, seed + 1,
                                opt.layers, opt.restarts, objective="qfim")
    circuit = network.circuit("distributed", opt.layers)

    def value(t, which=1, pool=sweep_params):  # best precision of the sweep's optimized circuits at efficiency t
        return max(precision(estimand, fisher_matrices(network, circuit, p, t, estimand)[which]) for p in pool)

    bound = crossover_efficiency(value, ref, effs, meas)
    bound_q = crossover_efficiency(lambda t: value(t, 0, q_params), ref_q, effs, quant)
    common = dict(layers=opt.layers, steps=opt.steps, learning_rate=opt.learning_rate, xtol=xtol, max_iter=max_iter,
                  batch=opt.restarts, seed=seed)
    cross = crossover_reoptimized(network, estimand, ref, effs, meas, sweep_params, which="measured",
                                  sweep_bound=bound, **common)
    cross_q = crossover_reoptimized(network, estimand, ref_q, effs, quant, q_params, which="quantum",
                                    sweep_bound=bound_q, **common)
    record = {"efficiency": effs, "distributed_measured": meas,
              "distributed_quantum": quant, "classical_measured": ref, "classical_quantum": ref_q,
              "local_measured": results["local"].precision_measured if "local" in results else None,
              "crossover_efficiency": cross.efficiency, "crossover_efficiency_quantum": cross_q.efficiency,
              "crossover_bracket": None if cross.bracket is None else list(cross.bracket),
              "crossover_bracket_quantum": None if cross_q.bracket is None else list(cross_q.bracket),
              "crossover_efficiency_sweep_bound": bound, "crossover_efficiency_quantum_sweep_bound": bound_q,
              "crossover_search": cross.to_dict(), "crossover_search_quantum": cross_q.to_dict(),
              "ensemble_nodes": [nd.name for nd in network.nodes if not nd.is_register],
              "meaning": "precision of the estimand per shot vs the efficiency of every link (distributed circuit "
                         "re-optimized at each point: state and local measurement for the CFIM, state alone for "
                         "the QFIM); crossover: efficiency below which distributed entanglement stops beating "
                         "classical fusion, found by bisection with the circuit re-optimized at every bisection "
                         "point (bracket given); *_sweep_bound: the sweep's own circuits evaluated between sweep "
                         "points (an upper bound on T*, exact at sweep points). Ensemble nodes, if any, sense "
                         "locally and share no entanglement: their Fisher information is added to every strategy"}

    def fmt(c):
        if c.efficiency is None:
            return "none in the sweep"
        return f"T* = {c.efficiency:.3f} in [{c.bracket[0]:.3f}, {c.bracket[1]:.3f}]"

    line = (f"  crossover efficiency (re-optimized): {fmt(cross)} (measured), {fmt(cross_q)} (QFIM); sweep bound "
            + ("none" if bound is None else f"{bound:.3f}"))
    return record, line
