"""Classical fusion: every node estimates its own channel phases, a weighted least-squares fit combines them.

Node j measures its qubits alone (the ``classical`` strategy circuit) or is a
sensing-only ensemble; its channel phases ``y_j`` (rad) are estimated by
maximum likelihood from its own (marginal) counts, with per-shot information
``F_j`` (the CFIM of its marginal outcome distribution, rad^-2). The phases are
linear in the sources, ``y = J theta`` (J the phase Jacobian, rad per unit), so
the weighted-least-squares fusion with weights ``shots F_j`` is

    theta_hat = (J^T W J)^+ J^T W y,   Cov = (J^T W J)^+,   W = shots blockdiag(F_j)

(Aitken 1935; Kay, Fundamentals of Statistical Signal Processing I, eq. 6.12). For
independent nodes (no common-mode noise) ``J^T blockdiag(F_j) J`` equals the
joint CFIM of the classical circuit, so the fusion reaches the Cramer-Rao bound
of that strategy; with correlated common-mode noise the node errors are
correlated and the WLS covariance (which assumes independence) is optimistic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from qlearn_sense import _jax  # noqa: F401
import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import minimize

from qlearn_sense.fisher import cfim as _cfim
from qlearn_sense.network._model import Network
from qlearn_sense.network._sim import NetworkCircuit, compile_network
from qlearn_sense.network._strategies import Estimand, precision, wls_fusion


@dataclass
class NodeEstimate:
    """One node's own estimate of its channel phases.

    Attributes:
      node: node name.
      kind: ``register``, ``ensemble`` or ``nv_ensemble``.
      channels: indices of its channels in ``Network.channels``.
      information_per_shot: Fisher matrix of its channel phases, (c, c), rad^-2 per shot.
      estimate_rad: its phase estimate, (c,), rad (None without data).
      variance_rad2: ``(shots F)^+``, (c, c), rad^2 (None without data).
      true_rad: the true phases, (c,), rad.
    """

    node: str
    kind: str
    channels: tuple[int, ...]
    information_per_shot: np.ndarray
    estimate_rad: np.ndarray | None = None
    variance_rad2: np.ndarray | None = None
    true_rad: np.ndarray | None = None


@dataclass
class ClassicalFusion:
    """Weighted-least-squares fusion of independent node estimates (see the module docstring).

    Attributes:
      nodes: one :class:`NodeEstimate` per node.
      information_per_shot: ``J^T blockdiag(F_j) J``, (k, k), 1/unit^2 per shot.
      covariance_per_shot: its pseudo-inverse, (k, k), unit^2 (times 1/shots for a run).
      precision: precision of the estimand from the fused information (1/unit(q)^2 per shot).
      shots: shots of the data (None without data).
      theta: fused estimate, (k,), source units (None without data).
      covariance: ``covariance_per_shot / shots``, (k, k) (None without data).
      q, q_stderr: the estimand's fused estimate and standard error (linear estimands with data).
      z: ``(q - q_true) / q_stderr`` or the Mahalanobis distance of theta (with data).
      note: what the fusion assumes.
    """

    nodes: list[NodeEstimate]
    information_per_shot: np.ndarray
    covariance_per_shot: np.ndarray
    precision: float
    shots: int | None = None
    theta: np.ndarray | None = None
    covariance: np.ndarray | None = None
    q: float | None = None
    q_stderr: float | None = None
    z: float | None = None
    note: str = field(default=("nodes estimate their own channel phases independently (register nodes from their "
                               "marginal counts, ensemble nodes locally, sharing no entanglement); weighted least "
                               "squares with weights shots * F_node; exact CRB for independent nodes, optimistic "
                               "under correlated common-mode noise"))

    def to_dict(self) -> dict:
        """JSON-ready record (arrays as lists)."""
        def arr(x):
            return None if x is None else np.asarray(x).tolist()
        return {"nodes": [{"node": n.node, "kind": n.kind, "channels": list(n.channels),
                           "information_per_shot_rad-2": arr(n.information_per_shot),
                           "estimate_rad": arr(n.estimate_rad), "variance_rad2": arr(n.variance_rad2),
                           "true_rad": arr(n.true_rad)} for n in self.nodes],
                "information_per_shot": arr(self.information_per_shot),
                "covariance_per_shot": arr(self.covariance_per_shot), "precision_per_shot": self.precision,
                "shots": self.shots, "theta": arr(self.theta), "covariance": arr(self.covariance), "q": self.q,
                "q_stderr": self.q_stderr, "z": self.z, "meaning": self.note}


def _marginal_matrix(circuit: NetworkCircuit, node: int) -> np.ndarray:
    """One-hot map (2**N, 2**n_j) from joint outcomes to the node's own outcomes."""
    qubits = [q for q, j in enumerate(circuit.node_of_qubit) if j == node]
    k = np.arange(circuit.dim)
    code = sum(((k >> q) & 1) << i for i, q in enumerate(qubits))
    return np.eye(2 ** len(qubits))[code]


def _node_parts(network: Network, circuit: NetworkCircuit, node: int):
    """(channel indices in Network.channels, their positions among the circuit's channels, marginal map)."""
    full = [c for c, (j, _) in enumerate(network.channels) if j == node]
    reg = np.flatnonzero(network.register_channels)
    pos = [int(np.flatnonzero(reg == c)[0]) for c in full]
    return full, pos, _marginal_matrix(circuit, node)


@lru_cache(maxsize=64)
def _node_fns(circuit: NetworkCircuit, node: int, pos: tuple[int, ...]):
    """Jitted (information, nll value-and-grad) of one node's marginal (compiled once per circuit and node)."""
    nj = compile_network(circuit)
    marg = jnp.asarray(_marginal_matrix(circuit, node))
    posj = jnp.asarray(pos)

    def marginal(x, params, phis):
        return nj.probs(params, phis.at[posj].set(x)) @ marg

    @jax.jit
    def information(params, phis):
        x0 = phis[posj]
        return _cfim(marginal(x0, params, phis), jax.jacfwd(marginal)(x0, params, phis).T)

    @jax.jit
    @jax.value_and_grad
    def nll(x, params, phis, counts):
        p = jnp.clip(marginal(x, params, phis), 1e-300, None)
        return -(counts @ jnp.log(p)) / jnp.sum(counts)

    return information, nll


def _node_information(circuit, node, params, phis, pos) -> np.ndarray:
    information, _ = _node_fns(circuit, node, tuple(pos))
    return np.asarray(information(jnp.asarray(params), jnp.asarray(phis)))


def _node_mle(circuit, node, params, phis, pos, counts_j) -> np.ndarray:
    _, nll = _node_fns(circuit, node, tuple(pos))
    args = (jnp.asarray(params), jnp.asarray(phis), jnp.asarray(counts_j))
    x0 = np.asarray(phis)[list(pos)]
    res = minimize(lambda x: tuple(np.asarray(v) for v in nll(jnp.asarray(x), *args)), x0, jac=True,
                   method="L-BFGS-B", bounds=[(x - np.pi / 2, x + np.pi / 2) for x in x0],
                   options={"maxiter": 500, "ftol": 1e-15, "gtol": 1e-12})
    return np.asarray(res.x)


def classical_fusion(network: Network, circuit: NetworkCircuit, params, estimand: Estimand, *,
                     counts: np.ndarray | None = None, rng: np.random.Generator | None = None) -> ClassicalFusion:
    """Fuse the nodes' own estimates by weighted least squares (classical strategy).

    Without ``counts``: the Fisher part only (node informations, fused
    information and covariance per shot). With ``counts`` (the joint counts of
    the ``classical`` circuit): every register node's phases by maximum
    likelihood from its marginal counts (local search within +-pi/2 of the true
    phase, the working point), every sensing-only node's estimate drawn as
    ``N(true, 1/(shots F_node))`` from ``rng`` (its local measurement is not
    simulated shot by shot), then the WLS estimate of the sources.

    Args:
      network: the network.
      circuit: its ``classical`` circuit (nodes unentangled).
      params: the circuit's parameters, shape (P,).
      estimand: the estimand (its precision and fused estimate are reported).
      counts: joint outcome counts of ``circuit``, shape (2**N,), little-endian.
      rng: numpy Generator for the sensing-only nodes' estimates (needed with counts
        when the network has such nodes).

    Returns:
      :class:`ClassicalFusion`.

    Raises:
      ValueError: a circuit that entangles nodes (not ``network_classical``), counts of
        the wrong shape or all zero, or counts without ``rng`` when the network has
        sensing-only nodes.
    """
    if any(g.name == "cnot" for g in circuit.prep) or circuit.travelling and any(circuit.travelling):
        raise ValueError(f"classical_fusion needs the 'classical' circuit (independent nodes), got {circuit.name!r}")
    jac = network.jacobian()
    phis = network.circuit_phases()
    true = network.phases()
    c_all = len(network.channels)
    info = np.zeros((c_all, c_all))
    nodes, parts = [], []
    for j, nd in enumerate(network.nodes):
        if nd.is_register:
            full, pos, marg = _node_parts(network, circuit, j)
            f = _node_information(circuit, j, params, phis, pos)
        else:
            full, pos, marg = [c for c, (i, _) in enumerate(network.channels) if i == j], None, None
            f = np.array([[nd.phase_fisher]])
        info[np.ix_(full, full)] = f
        nodes.append(NodeEstimate(nd.name, nd.kind, tuple(full), f, true_rad=true[full]))
        parts.append((pos, marg))
    _, d = _norms(jac)
    cov1 = wls_fusion(jac / d, information=info) / np.outer(d, d)
    fused_info = jac.T @ info @ jac
    out = ClassicalFusion(nodes, fused_info, cov1, precision(estimand, fused_info))
    if counts is None:
        return out
    counts = np.asarray(counts, dtype=float)
    if counts.shape != (circuit.dim,) or counts.sum() <= 0:
        raise ValueError(f"counts must have shape ({circuit.dim},) with a positive total, got {counts.shape}")
    shots = int(counts.sum())
    y = np.zeros(c_all)
    for j, (nd, node, (pos, marg)) in enumerate(zip(network.nodes, nodes, parts)):
        if nd.is_register:
            node.estimate_rad = _node_mle(circuit, j, params, phis, pos, counts @ marg)
        else:
            if rng is None:
                raise ValueError("classical_fusion: pass rng to draw the ensemble nodes' estimates")
            node.estimate_rad = node.true_rad + rng.normal(0.0, 1.0 / np.sqrt(shots * nd.phase_fisher), 1)
        node.variance_rad2 = np.linalg.pinv(shots * node.information_per_shot, hermitian=True)
        y[list(node.channels)] = node.estimate_rad
    cov = cov1 / shots
    theta = cov1 @ (jac.T @ info @ y)
    out.shots, out.theta, out.covariance = shots, theta, cov
    if estimand.weights is not None:
        w = np.asarray(estimand.weights)
        out.q = float(w @ theta)
        out.q_stderr = float(np.sqrt(max(w @ cov @ w, 0.0)))
        out.z = (out.q - float(w @ network.theta_true)) / out.q_stderr if out.q_stderr > 0 else float("inf")
    else:
        delta = theta - network.theta_true
        out.z = float(np.sqrt(max(delta @ fused_info @ delta * shots, 0.0)))
    return out


def _norms(jac: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = np.linalg.norm(jac, axis=0)
    d = np.where(d > 0, d, 1.0)
    return jac / d, d
