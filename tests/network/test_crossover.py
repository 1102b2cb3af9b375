"""Crossover efficiency with the distributed circuit re-optimized at every bisection point (closed forms).

Two one-qubit nodes, 1 rad per unit field, q = (phi_a + phi_b)/2, qubit b sent from the hub
through amplitude damping 1 - T; classical fusion gives 1/sum w^2 = 2 per shot.

Best state for the best measurement (QFIM): cos(a)|00> + sin(a)|11> keeps, after the link,
populations x = cos^2 a and (1 - x) T on {|00>, |11>} with coherence sqrt(x (1 - x) T) (the
|10> part carries no phase), so F_q = 16 x (1 - x) T / (x + (1 - x) T), maximal at
x = sqrt(T) / (1 + sqrt(T)): F_q = 16 T / (1 + sqrt T)^2 (GHZ, x = 1/2, gives 8 T/(1 + T)).
Crossover with 2: sqrt(T*) = 1 / (2 sqrt 2 - 1), T* = 1 / (9 - 4 sqrt 2) = 0.29912.

Optimized state with local measurements (CFIM): the optimizer reaches 4 T (GHZ measured in X:
parity visibility sqrt(T), F_theta = T), crossover 4 T* = 2, T* = 1/2.

Tolerance: the bisection bracket (xtol) plus the optimizer's error on T*: it converges to
~1e-5 relative in F_q, and dF_q/dT >= 2 near T*, so < 1e-4 in T.
"""

import numpy as np
import pytest

from qlearn_sense.network import (
    Estimand,
    Link,
    Network,
    Node,
    Source,
    crossover_reoptimized,
    fisher_matrices,
    precision,
)
from qlearn_sense.network._strategies import optimize_rows

T_STAR_QFIM = 1 / (9 - 4 * np.sqrt(2))
XTOL = 2e-3


def _net():
    nodes = (Node("a", (0, 0, 0), 1, 1.0), Node("b", (0.05, 0, 0), 1, 1.0))
    src = tuple(Source("node_field", v, name=f"phi{j}", node=j) for j, v in enumerate((0.3, 0.1)))
    return Network(nodes, (Link(0, 1, 1.0),), src), Estimand(weights=(0.5, 0.5))


def _sweep(net, est, effs, objective, which):
    c = net.circuit("distributed", layers=1)
    rng = np.random.default_rng(0)
    init = rng.uniform(-np.pi, np.pi, (2 * len(effs), c.n_params))
    params, final, _ = optimize_rows(net, c, est, init, np.repeat(effs, 2), steps=200, learning_rate=0.1, batch=2,
                                     objective=objective)
    best = [2 * i + int(final[2 * i + 1] > final[2 * i]) for i in range(len(effs))]
    vals = [precision(est, fisher_matrices(net, c, params[b], t, est)[which]) for b, t in zip(best, effs)]
    return np.array(vals), params[best]


def test_reoptimized_quantum_crossover_matches_closed_form():
    net, est = _net()
    effs = np.array([0.2, 0.6])
    vals, params = _sweep(net, est, effs, "qfim", 0)
    np.testing.assert_allclose(vals, 16 * effs / (1 + np.sqrt(effs)) ** 2, rtol=1e-4)
    cross = crossover_reoptimized(net, est, 2.0, effs, vals, params, which="quantum", layers=1, steps=120,
                                  learning_rate=0.1, xtol=XTOL, max_iter=12, batch=2, sweep_bound=1 / 3)
    assert cross.converged and cross.bracket[1] - cross.bracket[0] <= XTOL
    assert cross.bracket[0] - 1e-4 <= T_STAR_QFIM <= cross.bracket[1] + 1e-4
    assert cross.efficiency == pytest.approx(T_STAR_QFIM, abs=XTOL / 2 + 1e-4)
    # below the fixed-GHZ crossover 1/3: re-optimizing the state moves T* down
    assert cross.efficiency < 1 / 3 - 0.02
    for t, v in cross.evaluations[2:]:
        assert v == pytest.approx(16 * t / (1 + np.sqrt(t)) ** 2, rel=1e-4)
    rec = cross.to_dict()
    assert rec["sweep_bound"] == 1 / 3 and len(rec["evaluations"]) == cross.iterations + 2


@pytest.mark.slow
def test_reoptimized_measured_crossover_matches_closed_form():
    net, est = _net()
    effs = np.array([0.3, 0.8])
    vals, params = _sweep(net, est, effs, "cfim", 1)
    np.testing.assert_allclose(vals, 4 * effs, rtol=0.03)  # sweep ends: 200 steps, 2 starts (not all converged)
    cross = crossover_reoptimized(net, est, 2.0, effs, vals, params, which="measured", layers=1, steps=200,
                                  learning_rate=0.1, xtol=XTOL, max_iter=12, batch=2)
    assert cross.efficiency == pytest.approx(0.5, abs=XTOL / 2 + 1e-4)
    for t, v in cross.evaluations[2:]:
        assert v == pytest.approx(4 * t, rel=1e-3)  # re-optimized points reach the local-measurement optimum


def test_crossover_no_sign_change_and_errors():
    net, est = _net()
    c = net.circuit("distributed", layers=1)
    p = np.zeros((2, c.n_params))
    none = crossover_reoptimized(net, est, 2.0, [0.5, 1.0], [3.0, 4.0], p, layers=1)
    assert none.efficiency is None and none.bracket is None and none.iterations == 0
    with pytest.raises(ValueError, match="which"):
        crossover_reoptimized(net, est, 2.0, [0.5, 1.0], [3.0, 4.0], p, which="both")
    with pytest.raises(ValueError, match="disagree"):
        crossover_reoptimized(net, est, 2.0, [0.5, 1.0], [3.0], p)
    with pytest.raises(ValueError, match="max_iter"):
        crossover_reoptimized(net, est, 2.0, [0.5, 1.0], [1.0, 3.0], p, max_iter=-1)
    with pytest.raises(ValueError, match="objective"):
        optimize_rows(net, c, est, p, np.ones(2), steps=2, objective="holevo")
