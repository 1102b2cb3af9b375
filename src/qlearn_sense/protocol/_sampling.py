"""Exact outcome probabilities of a protocol batch and seeded sampling of counts from them."""

from __future__ import annotations

from functools import lru_cache

from qlearn_sense import _jax  # noqa: F401
import jax
import numpy as np

from qlearn_sense.protocol._jax_sim import compile_jax
from qlearn_sense.protocol._protocol import Protocol


@lru_cache(maxsize=32)
def _batched_probs(protocol: Protocol):
    jp = compile_jax(protocol)
    return jax.jit(jax.vmap(jp.probs))


def exact_probs(protocol: Protocol, params: np.ndarray, phis: np.ndarray) -> np.ndarray:
    """Exact outcome probabilities for each parameter set, shape (P, 2**n), little-endian.

    Compiled once per protocol (cached) and vmapped over the batch.

    Args:
      protocol: the protocol.
      params: parameter sets, shape (P, n_params) (or (n_params,)).
      phis: phase per qubit for each set, rad, shape (P,) or scalar.

    Returns:
      Rows clipped at 0 and normalized to 1 (readout errors included), shape (P, 2**n).
    """
    params = np.atleast_2d(np.asarray(params, dtype=np.float64))
    phis = np.broadcast_to(np.asarray(phis, dtype=np.float64), (params.shape[0],))
    p = np.asarray(_batched_probs(protocol)(params, phis), dtype=np.float64)
    p = np.clip(p, 0.0, None)
    return p / p.sum(axis=1, keepdims=True)


def sample_counts(probs: np.ndarray, shots: int, rng: np.random.Generator, memory: bool = False):
    """Draw outcomes from exact probabilities.

    Counts come from one multinomial draw per row, so 1e9 shots cost no more
    than 1e3. With ``memory`` the per-shot outcomes are drawn instead (and
    counted), which costs O(shots) per row.

    Args:
      probs: shape (P, K), rows summing to 1.
      shots: shots per row, >= 1.
      rng: numpy Generator.
      memory: also return per-shot outcome indices, shape (P, shots).

    Returns:
      ``(counts (P, K) int64, memory or None)``.
    """
    if not memory:
        return rng.multinomial(shots, probs).astype(np.int64), None
    cdf = np.cumsum(probs, axis=1)
    cdf[:, -1] = 1.0
    u = rng.random((probs.shape[0], shots))
    mem = np.stack([np.searchsorted(c, row, side="right") for c, row in zip(cdf, u)]).astype(np.int64)
    counts = np.zeros(probs.shape, dtype=np.int64)
    np.add.at(counts, (np.repeat(np.arange(probs.shape[0]), shots), mem.ravel()), 1)
    return counts, mem
