"""Maximum-likelihood estimation of all source parameters from network counts."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from qlearn_sense import _jax  # noqa: F401
import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import minimize

from qlearn_sense.network._model import Network
from qlearn_sense.network._sim import NetworkCircuit, compile_network
from qlearn_sense.network._strategies import Estimand, normalization, precision


@dataclass
class NetworkEstimate:
    """MLE of the sources from one circuit's counts.

    Attributes:
      theta: estimate, shape (k,), in the sources' units.
      cov: CFIM-based covariance ``(shots CFIM(theta_hat))^+``, shape (k, k).
      q: estimate of the estimand ``w . theta`` (linear estimands) or None.
      q_stderr: its standard error ``1 / sqrt(shots F_q)`` from the CFIM, or None.
      q_bound_stderr: the quantum (QFIM) bound on that standard error, or None.
      z: ``(q - q_true) / q_stderr`` (linear) or the Mahalanobis distance of theta (matrix), identifiable part.
      shots: total shots.
      converged: optimizer status.
    """

    theta: np.ndarray
    cov: np.ndarray
    q: float | None
    q_stderr: float | None
    q_bound_stderr: float | None
    z: float
    shots: int
    converged: bool


def sample_network_counts(circuit: NetworkCircuit, params, phis, shots: int, rng: np.random.Generator) -> np.ndarray:
    """Counts of a network circuit on the local JAX simulator (one multinomial draw), shape (2**N,).

    Args:
      circuit: the circuit.
      params: parameters, shape (P,).
      phis: channel phases, shape (C,), rad.
      shots: shots, >= 1.
      rng: numpy Generator.

    Raises:
      ValueError: shots < 1.
    """
    if int(shots) != shots or shots < 1:
        raise ValueError(f"shots = {shots}; accepted: integer >= 1")
    p = np.clip(np.asarray(compile_network(circuit).probs(jnp.asarray(params), jnp.asarray(phis))), 0, None)
    return rng.multinomial(int(shots), p / p.sum()).astype(np.int64)


@lru_cache(maxsize=32)
def _nll_value_and_grad(circuit: NetworkCircuit):
    """Jitted value and gradient of the per-shot negative log-likelihood (compiled once per circuit)."""
    nj = compile_network(circuit)

    def nll(x, params, counts, jn, x0, ridge):
        p = jnp.clip(nj.probs(params, jn @ x), 1e-300, None)
        return -(counts @ jnp.log(p)) / jnp.sum(counts) + ridge * jnp.sum((x - x0) ** 2)

    return jax.jit(jax.value_and_grad(nll))


def mle_network(network: Network, circuit: NetworkCircuit, params, counts: np.ndarray, estimand: Estimand,
                *, start: np.ndarray | None = None, qfim: np.ndarray | None = None,
                ridge: float = 1e-8) -> NetworkEstimate:
    """Maximum-likelihood estimate of all sources from the counts of one circuit.

    Maximizes ``sum_k n_k log p_k(theta)`` (local estimation: L-BFGS from
    ``start``, the working point; phases are identifiable only within one period).
    Directions the measurement does not see (e.g. the difference of phases for a
    GHZ state) are held near ``start`` by a ridge ``ridge * shots |theta_n -
    start_n|^2`` in normalized coordinates. The covariance is the pseudo-inverse
    of ``shots`` times the CFIM at the estimate (Cramer 1946, sec. 32.6).
    Only the register nodes' counts enter; sensing-only (ensemble) nodes are
    fused with them in :func:`qlearn_sense.network.classical_fusion`.

    Args:
      network: the network (true sources give the default ``start``).
      circuit: the circuit that produced the counts.
      params: its parameters, shape (P,).
      counts: outcome counts, shape (2**N,), little-endian.
      estimand: the estimand (its standard error is reported).
      start: starting point, shape (k,), source units (default: the true values).
      qfim: QFIM of the sources (k, k) per shot, for the bound on the estimand's error.
      ridge: weight of the ridge on unseen directions.

    Returns:
      :class:`NetworkEstimate`.

    Raises:
      ValueError: counts of the wrong shape or all zero.
    """
    counts = np.asarray(counts, dtype=float)
    if counts.shape != (circuit.dim,) or counts.sum() <= 0:
        raise ValueError(f"counts must have shape ({circuit.dim},) with a positive total, got {counts.shape}")
    shots = int(counts.sum())
    jn, d = normalization(network)
    jn = jn[network.register_channels]  # the circuit encodes the register channels only
    th0 = network.theta_true if start is None else np.asarray(start, dtype=float)
    x0 = d * th0
    nj = compile_network(circuit)
    params = jnp.asarray(params)
    cj, jnj = jnp.asarray(counts), jnp.asarray(jn)
    vg = _nll_value_and_grad(circuit)
    args = (params, cj, jnj, jnp.asarray(x0), float(ridge))
    res = minimize(lambda x: tuple(np.asarray(v) for v in vg(jnp.asarray(x), *args)), x0, jac=True,
                   method="L-BFGS-B", options={"maxiter": 500, "ftol": 1e-15, "gtol": 1e-12})
    theta_n = np.asarray(res.x)
    theta = theta_n / d
    fc = np.asarray(nj.cfim(params, jnj @ theta_n, jnj))
    cov = np.linalg.pinv(shots * fc, hermitian=True, rtol=1e-10) / np.outer(d, d)
    fc_si = d[:, None] * fc * d[None, :]
    q = q_se = q_bound = None
    if estimand.weights is not None:
        w = np.asarray(estimand.weights)
        q = float(w @ theta)
        fq = precision(estimand, fc_si)
        q_se = float(1 / np.sqrt(shots * fq)) if fq > 0 else float("inf")
        if qfim is not None:
            fqq = precision(estimand, qfim)
            q_bound = float(1 / np.sqrt(shots * fqq)) if fqq > 0 else float("inf")
        z = (q - float(w @ network.theta_true)) / q_se
    else:
        delta = theta - network.theta_true
        z = float(np.sqrt(max(delta @ np.linalg.pinv(cov, hermitian=True) @ delta, 0.0)))
    return NetworkEstimate(theta, cov, q, q_se, q_bound, float(z), shots, bool(res.success))
