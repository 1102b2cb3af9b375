"""Classical fusion by weighted least squares: equals the joint CFIM for independent nodes; estimates are unbiased."""

import jax
import numpy as np
import pytest

from qlearn_sense.network import (
    Estimand,
    Network,
    Node,
    Source,
    classical_fusion,
    fisher_matrices,
    optimize_strategy,
    sample_network_counts,
    wls_fusion,
)


def _dipole_network(std=0.0, corr=0.0, with_ensemble=False):
    """Three register nodes (1, 2, 1 qubits) seeing two magnetic dipoles; optionally an NV-ensemble node."""
    nodes = [Node("a", (0.0, 0.0, 0.10), 1, 2e6, eta=0.95), Node("b", (0.05, 0.0, 0.10), 2, 2e6, eta=0.9),
             Node("c", (0.10, 0.0, 0.10), 1, 2e6)]
    if with_ensemble:
        nodes.append(Node("e", (0.02, 0.03, 0.10), 0, 2e6, kind="nv_ensemble", phase_fisher=40.0, n_spins=1e4))
    src = (Source("magnetic_dipole", 2e-3, "m1", position_m=(0.0, 0.0, 0.0)),
           Source("magnetic_dipole", -1e-3, "m2", position_m=(0.1, 0.0, 0.0)))
    return Network(tuple(nodes), (), src, common_std_T=std, common_correlation=corr)


def test_fused_information_equals_joint_cfim_for_independent_nodes():
    rng = np.random.default_rng(1)
    net = _dipole_network(with_ensemble=True)
    assert np.all(np.abs(net.phases()) < 2.0)
    assert np.abs(net.local_fisher()).max() > 0
    c = net.circuit("classical")
    est = Estimand(weights=(1.0, 1.0))
    if True:
        for _ in range(2):
            p = rng.uniform(-np.pi, np.pi, c.n_params)
            fus = classical_fusion(net, c, p, est)
            _, fc = fisher_matrices(net, c, p)
            np.testing.assert_allclose(fus.information_per_shot, fc, rtol=1e-8, atol=1e-12 * np.abs(fc).max())
            np.testing.assert_allclose(fus.covariance_per_shot, np.linalg.inv(fc), rtol=1e-6)
            assert len(fus.nodes) == len(net.nodes)
            assert fus.nodes[1].information_per_shot.shape == (1, 1)


def test_common_mode_correlates_nodes_so_fusion_differs():
    net = _dipole_network(std=2e-7, corr=0.9)  # 0.4 rad of common-mode phase per node
    c = net.circuit("classical")
    p = np.random.default_rng(2).uniform(-np.pi, np.pi, c.n_params)
    fus = classical_fusion(net, c, p, Estimand(weights=(1.0, 1.0)))
    _, fc = fisher_matrices(net, c, p)
    assert not np.allclose(fus.information_per_shot, fc, rtol=1e-3)


@pytest.mark.slow
def test_optimized_classical_strategy_reports_its_fusion():
    net = _dipole_network(with_ensemble=True)
    est = Estimand(weights=(1.0, -1.0))
    res = optimize_strategy(net, "classical", est, key=jax.random.PRNGKey(0), steps=60, restarts=1)
    assert res.fusion is not None and res.fusion.precision == pytest.approx(res.precision_measured, rel=1e-6)
    np.testing.assert_allclose(res.local_fisher, net.local_fisher())


def test_fused_estimate_is_unbiased_within_its_standard_error():
    net = _dipole_network(with_ensemble=True)
    est = Estimand(weights=(1.0, -1.0))
    c = net.circuit("classical")
    params = np.random.default_rng(1).uniform(-np.pi, np.pi, c.n_params)  # the first draw of the test above
    rng = np.random.default_rng(7)
    zs = []
    for _ in range(20):
        counts = sample_network_counts(c, params, net.circuit_phases(), 20_000, rng)
        fus = classical_fusion(net, c, params, est, counts=counts, rng=rng)
        zs.append(fus.z)
        for node in fus.nodes:
            if node.kind == "register":
                dz = (node.estimate_rad - node.true_rad) / np.sqrt(np.diag(node.variance_rad2))
                assert np.all(np.abs(dz) < 5)
    zs = np.array(zs)
    # z ~ N(0, 1) per repetition: the mean of 20 within 4/sqrt(20), the spread near 1
    assert abs(zs.mean()) < 4 / np.sqrt(20)
    assert 0.5 < zs.std(ddof=1) < 1.6
    assert fus.q_stderr == pytest.approx(1 / np.sqrt(20_000 * fus.precision), rel=1e-9)
    rec = fus.to_dict()
    assert rec["nodes"][3]["kind"] == "nv_ensemble" and len(rec["theta"]) == 2


def test_wls_information_form_and_errors():
    a = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]])
    v = np.array([0.5, 2.0, 1.5])
    np.testing.assert_allclose(wls_fusion(a, v), wls_fusion(a, information=np.diag(1 / v)), rtol=1e-12)
    np.testing.assert_allclose(wls_fusion(a, v), np.linalg.inv(a.T @ np.diag(1 / v) @ a), rtol=1e-12)
    with pytest.raises(ValueError, match="exactly one"):
        wls_fusion(a)
    with pytest.raises(ValueError, match="information has shape"):
        wls_fusion(a, information=np.eye(2))
    net = _dipole_network()
    with pytest.raises(ValueError, match="classical"):
        classical_fusion(net, net.circuit("local"), np.zeros(net.circuit("local").n_params), Estimand(weights=(1, 1)))
    c = net.circuit("classical")
    with pytest.raises(ValueError, match="counts must have shape"):
        classical_fusion(net, c, np.zeros(c.n_params), Estimand(weights=(1, 1)), counts=np.ones(3))
    net_e = _dipole_network(with_ensemble=True)
    ce = net_e.circuit("classical")
    with pytest.raises(ValueError, match="rng"):
        classical_fusion(net_e, ce, np.zeros(ce.n_params), Estimand(weights=(1, 1)), counts=np.ones(ce.dim))
