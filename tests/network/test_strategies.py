"""Network strategies: Eldredge limits, common-mode immunity, the transduction crossover, estimands."""

import jax
import numpy as np
import pytest

from qlearn_sense.network import (
    Estimand,
    Link,
    Network,
    Node,
    Source,
    crossover_efficiency,
    fisher_matrices,
    ghz_params,
    optimize_strategy,
    precision,
    wls_fusion,
)


def _two_nodes(efficiency=1.0, std=0.0, corr=1.0, values=(0.3, 0.1)):
    """Two nodes, one qubit each, 1 rad per unit field: theta are the node phases (rad)."""
    nodes = (Node("a", (0, 0, 0), 1, 1.0), Node("b", (0.05, 0, 0), 1, 1.0))
    src = tuple(Source("node_field", v, name=f"phi{j}", node=j) for j, v in enumerate(values))
    return Network(nodes, (Link(0, 1, efficiency),), src, common_std_T=std, common_correlation=corr)


def _product_params(circuit):
    """|+>|+> measured in X: the classical (Ramsey) protocol on every qubit."""
    p = np.zeros(circuit.n_params)
    for g in circuit.prep:
        if g.name == "ry":
            p[g.param] = np.pi / 2
    for g in circuit.measure:
        if g.name == "ry":
            p[g.param] = -np.pi / 2
    return p


@pytest.mark.parametrize("w, kind, best, prod", [((0.5, 0.5), "sum", 4.0, 2.0), ((1.0, -1.0), "gradient", 1.0, 0.5)])
def test_eldredge_limits_one_qubit_per_node(w, kind, best, prod):
    # Eldredge et al., PRA 97, 042337 (2018): best 1/max w_j^2, product 1/sum w_j^2 (REFERENCES.md)
    net, est = _two_nodes(), Estimand(weights=w)
    assert 1 / max(np.square(w)) == best and 1 / sum(np.square(w)) == prod
    c = net.circuit("distributed", layers=1)
    fq, fc = fisher_matrices(net, c, ghz_params(c, kind))
    assert precision(est, fq) == pytest.approx(best, rel=1e-9)
    assert precision(est, fc) == pytest.approx(best, rel=1e-6)  # local X measurements attain it
    assert np.linalg.matrix_rank(fq, tol=1e-8) == 1  # only q is seen: the other direction is a nuisance
    cp = net.circuit("classical")
    fq, fc = fisher_matrices(net, cp, _product_params(cp))
    assert precision(est, fq) == pytest.approx(prod, rel=1e-9)
    assert precision(est, fc) == pytest.approx(prod, rel=1e-6)


def test_gradient_state_immune_to_correlated_common_mode_noise():
    est = Estimand(weights=(1.0, -1.0))
    for std in (0.5, 1.5):
        net = _two_nodes(std=std, corr=1.0)
        c = net.circuit("distributed", layers=1)
        fq, fc = fisher_matrices(net, c, ghz_params(c, "gradient"))
        assert precision(est, fq) == pytest.approx(1.0, rel=1e-9)  # (|01>+|10>)/sqrt2 lives in J_z = 0
        assert precision(est, fc) == pytest.approx(1.0, rel=1e-6)  # and local X measurements still reach it
        cp = net.circuit("classical")
        fq, fc = fisher_matrices(net, cp, _product_params(cp))
        # with local measurements (classical fusion) the product state is dephased by the common mode;
        # its QFIM keeps 0.5 only through the J_z = 0 coherence |01><10|, which needs a joint measurement
        assert precision(est, fc) < 0.5 * np.exp(-std**2) * 1.01
        assert precision(est, fq) == pytest.approx(0.5, rel=1e-9)
    # uncorrelated noise dephases the gradient state too
    net = _two_nodes(std=0.5, corr=0.0)
    c = net.circuit("distributed", layers=1)
    fq, _ = fisher_matrices(net, c, ghz_params(c, "gradient"))
    assert precision(est, fq) < 0.9


def test_ghz_through_amplitude_damping_link_crossover_closed_form():
    # GHZ (|00>+|11>)/sqrt2, qubit b through amplitude damping 1 - T: the {|00>,|11>} block has
    # populations 1/2, T/2 and coherence sqrt(T)/2, so F = 2T/(1+T) [[1,1],[1,1]] and for
    # q = (phi_a + phi_b)/2: F_q = 4 * 2T/(1+T) = 8T/(1+T). Classical fusion: 1/sum w^2 = 2.
    # Crossover 8T/(1+T) = 2  =>  T* = 1/3.
    est = Estimand(weights=(0.5, 0.5))
    net = _two_nodes()
    c = net.circuit("distributed", layers=1)
    p = ghz_params(c, "sum")

    def value(t):
        return precision(est, fisher_matrices(net, c, p, t)[0])

    for t in (0.2, 0.6, 0.9):
        assert value(t) == pytest.approx(8 * t / (1 + t), rel=1e-9)
    grid = [0.1, 0.5, 1.0]
    t_star = crossover_efficiency(value, 2.0, grid, [value(t) for t in grid], xtol=1e-10)
    assert t_star == pytest.approx(1 / 3, abs=1e-8)
    assert value(0.3) < 2.0 < value(0.36)  # loses to classical fusion below T*
    assert crossover_efficiency(value, 2.0, [0.5, 1.0], [value(0.5), value(1.0)]) is None


def test_optimizer_finds_gradient_state():
    net, est = _two_nodes(std=1.0, corr=1.0), Estimand(weights=(1.0, -1.0))
    res = optimize_strategy(net, "distributed", est, key=jax.random.PRNGKey(0), layers=1, steps=400, restarts=4,
                            learning_rate=0.1)
    assert res.precision_quantum == pytest.approx(1.0, rel=1e-3)  # Eldredge limit under the common mode
    assert res.precision_measured <= res.precision_quantum * (1 + 1e-9)
    assert res.precision_measured > 0.99


def test_estimand_errors():
    with pytest.raises(ValueError, match="exactly one"):
        Estimand()
    with pytest.raises(ValueError, match="nonzero"):
        Estimand(weights=(0.0, 0.0))
    with pytest.raises(ValueError, match="singular"):
        Estimand(matrix=((1.0, 1.0), (1.0, 1.0)))
    with pytest.raises(ValueError, match="symmetric"):
        Estimand(matrix=((1.0, 0.5), (0.0, 1.0)))
    with pytest.raises(ValueError, match="sources"):
        optimize_strategy(_two_nodes(), "classical", Estimand(weights=(1.0,)), key=jax.random.PRNGKey(0))


def test_weight_matrix_precision_and_wls():
    f = np.array([[2.0, 0.5], [0.5, 1.0]])
    w = np.array([[1.0, 0.0], [0.0, 3.0]])
    assert precision(Estimand(matrix=tuple(map(tuple, w))), f) == pytest.approx(1 / np.trace(w @ np.linalg.inv(f)))
    # WLS of two independent estimates of one quantity: inverse-variance weighting
    cov = wls_fusion(np.ones((2, 1)), np.array([1.0, 3.0]))
    assert cov[0, 0] == pytest.approx(1 / (1 + 1 / 3))
    with pytest.raises(ValueError, match="positive"):
        wls_fusion(np.ones((2, 1)), np.array([1.0, 0.0]))


def test_network_validation_errors():
    nodes = (Node("a", (0, 0, 0), 1, 1.0), Node("b", (1, 0, 0), 1, 1.0))
    with pytest.raises(ValueError, match=r"nodes\[0\].qubits"):
        Network((Node("a", (0, 0, 0), 0, 1.0),))
    with pytest.raises(ValueError, match=r"links\[0\] joins"):
        Network(nodes, (Link(0, 2, 0.5),))
    with pytest.raises(ValueError, match=r"links\[0\].efficiency"):
        Network(nodes, (Link(0, 1, 1.2),))
    with pytest.raises(ValueError, match="correlation"):
        Network(nodes + (Node("c", (2, 0, 0), 1, 1.0),), common_std_T=1.0, common_correlation=-0.9)
    with pytest.raises(ValueError, match="no link between hub"):
        Network(nodes).circuit("distributed")
    with pytest.raises(ValueError, match="strategy"):
        Network(nodes).circuit("teleport")


def test_more_documented_errors():
    from qlearn_sense.network import NetworkCircuit, lead_field, normalization
    from qlearn_sense.protocol import Gate

    nodes = (Node("a", (0, 0, 0), 1, 1.0), Node("b", (1, 0, 0), 1, 1.0))
    with pytest.raises(ValueError, match="empty"):
        Network(())
    with pytest.raises(ValueError, match="at most 8"):
        Network((Node("a", (0, 0, 0), 5, 1.0), Node("b", (1, 0, 0), 4, 1.0)))
    with pytest.raises(ValueError, match="layers"):
        Network(nodes).circuit("local", layers=-1)
    with pytest.raises(ValueError, match="no field"):
        normalization(Network(nodes, (), (Source("node_field", 1.0, node=0, axis="x"),)))
    with pytest.raises(ValueError, match="unknown"):
        lead_field([Source("bogus", 1.0)], np.zeros((1, 3)), [(0, "z")])
    with pytest.raises(ValueError, match="outside qubits"):
        NetworkCircuit(1, (0,), ((0, "z"),), (Gate("h", (1,)),), (), 0, 0, (1.0,), (0.0,), (0.0,))
    with pytest.raises(ValueError, match="restarts"):
        optimize_strategy(_two_nodes(), "classical", Estimand(weights=(1.0, 1.0)), key=jax.random.PRNGKey(0),
                          restarts=0)


def test_sweep_step_compiles_once(caplog):
    """Different row counts, same batch: the step compiles at most once (JAX's compile log).

    Counted from the log rather than ``_cache_size()``: in a full test session that count
    read 0 once (the compiled entry was gone from the function's cache) although no
    recompilation happened.
    """
    import logging

    import jax

    from qlearn_sense.network._strategies import optimize_rows

    net, est = _two_nodes(), Estimand(weights=(0.5, 0.5))
    c = net.circuit("distributed", layers=1)
    rng = np.random.default_rng(0)
    counts = []
    for rows in (3, 5):
        caplog.clear()
        with jax.log_compiles(True), caplog.at_level(logging.WARNING):
            optimize_rows(net, c, est, rng.uniform(-1, 1, (rows, c.n_params)), np.linspace(0.2, 1, rows), steps=4,
                          batch=2)
        counts.append(sum("Compiling jit(single)" in r.getMessage() for r in caplog.records))
    assert counts[0] <= 1 and counts[1] == 0, counts  # cold (or already compiled), then reused
