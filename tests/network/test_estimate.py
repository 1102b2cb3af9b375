"""Maximum-likelihood estimation of network sources from sampled counts."""

import numpy as np
import pytest

from qlearn_sense.network import (
    Estimand,
    Link,
    Network,
    Node,
    Source,
    fisher_matrices,
    ghz_params,
    mle_network,
    precision,
    sample_network_counts,
)


def _net():
    # two NV nodes (28 GHz/T, 1 us: 1.76e5 rad/T), fields of 3 and 1 uT
    k = 2 * np.pi * 28.024e9 * 1e-6
    nodes = (Node("a", (0, 0, 0), 1, k), Node("b", (0.05, 0, 0), 1, k))
    src = (Source("node_field", 3e-6, "Ba", node=0), Source("node_field", 1e-6, "Bb", node=1))
    return Network(nodes, (Link(0, 1, 1.0),), src)


def test_mle_of_gradient_within_standard_errors():
    net, est = _net(), Estimand(weights=(1.0, -1.0))
    c = net.circuit("distributed", layers=1)
    p = ghz_params(c, "gradient")
    fq, fc = fisher_matrices(net, c, p)
    shots = 20_000
    zs = []
    for seed in range(8):
        counts = sample_network_counts(c, p, net.phases(), shots, np.random.default_rng(seed))
        e = mle_network(net, c, p, counts, est, qfim=fq)
        assert e.converged
        assert e.q_stderr == pytest.approx(1 / np.sqrt(shots * precision(est, fc)), rel=0.05)
        assert e.q_bound_stderr <= e.q_stderr * (1 + 1e-6)
        zs.append(e.z)
    zs = np.array(zs)
    assert np.all(np.abs(zs) < 4)  # each within 4 standard errors
    assert 0.2 < np.std(zs, ddof=1) < 2.0  # the CFIM standard error describes the scatter (8 seeds)


def test_mle_product_state_all_parameters(rng):
    net, est = _net(), Estimand(matrix=((1.0, 0.0), (0.0, 1.0)))
    c = net.circuit("classical")
    p = np.zeros(c.n_params)
    for g in c.prep:
        if g.name == "ry":
            p[g.param] = np.pi / 2
    for g in c.measure:
        if g.name == "ry":
            p[g.param] = -np.pi / 2
    counts = sample_network_counts(c, p, net.phases(), 50_000, rng)
    e = mle_network(net, c, p, counts, est)
    se = np.sqrt(np.diag(e.cov))
    assert np.all(np.abs(e.theta - net.theta_true) < 4 * se)
    assert e.z < 4  # Mahalanobis distance of both parameters


def test_bad_counts_and_shots():
    net = _net()
    c = net.circuit("classical")
    with pytest.raises(ValueError, match="counts"):
        mle_network(net, c, np.zeros(c.n_params), np.zeros(3), Estimand(weights=(1.0, 0.0)))
    with pytest.raises(ValueError, match="shots"):
        sample_network_counts(c, np.zeros(c.n_params), net.phases(), 0, np.random.default_rng(0))
