"""The efficiency sweep's crossover: re-optimized at every bisection point, with the sweep bound kept."""

import jax
import numpy as np
import pytest

from qlearn_sense.experiments._network_config import network_from_config
from qlearn_sense.experiments._network_sweep import efficiency_sweep
from qlearn_sense.network import optimize_strategy

from network_helpers import network_config, tiny_network

KAPPA = 2 * np.pi * 28.024e9 * 1e-6  # rad/T of an NV node with t = 1 us


def test_efficiency_sweep_crossovers_match_closed_forms():
    # two noiseless one-qubit NV nodes, q = average: classical fusion 2 kappa^2; the distributed optimum is
    # 4 T kappa^2 with local measurements (T* = 1/2) and 16 T/(1 + sqrt T)^2 kappa^2 for the best measurement
    # (T* = 1/(9 - 4 sqrt 2)); derivations in test_crossover.py
    opt = {"layers": 1, "steps": 120, "restarts": 2, "learning_rate": 0.1}
    cfg = network_config(tiny_network(strategies=["classical", "distributed"], efficiency_sweep=[0.1, 0.5, 1.0],
                                      optimizer=opt))
    net, est = network_from_config(cfg.network, cfg.sensor)
    results = {s: optimize_strategy(net, s, est, key=jax.random.PRNGKey(i), **opt)
               for i, s in enumerate(("classical", "distributed"))}
    assert results["classical"].precision_measured == pytest.approx(2 * KAPPA**2, rel=1e-3)
    rec, line = efficiency_sweep(net, est, cfg.network, results, seed=5)
    assert rec["crossover_efficiency"] == pytest.approx(0.5, abs=5e-3)
    assert rec["crossover_efficiency_quantum"] == pytest.approx(1 / (9 - 4 * np.sqrt(2)), abs=5e-3)
    for kind in ("", "_quantum"):
        lo, hi = rec["crossover_bracket" + kind]
        assert lo <= rec["crossover_efficiency" + kind] <= hi and hi - lo <= 2e-3
        # re-optimizing can only raise the precision between sweep points: T* <= the sweep bound
        assert rec["crossover_efficiency" + kind] <= rec[f"crossover_efficiency{kind}_sweep_bound"] + 2e-3
    np.testing.assert_allclose(rec["distributed_quantum"],
                               [16 * t / (1 + np.sqrt(t)) ** 2 * KAPPA**2 for t in (0.1, 0.5, 1.0)], rtol=1e-3)
    assert rec["crossover_search"]["iterations"] <= 10 and "T* =" in line and "sweep bound" in line
