"""The embedded default backend: the JAX simulator plus seeded numpy sampling."""

from __future__ import annotations

from functools import lru_cache

from qlearn_sense import _jax  # noqa: F401
import jax
import numpy as np

from qlearn_sense.backends._base import AbstractBackend, SampleResult, _check_batch
from qlearn_sense.protocol import Protocol, compile_jax


@lru_cache(maxsize=32)
def _batched_probs(protocol: Protocol):
    jp = compile_jax(protocol)
    return jax.jit(jax.vmap(jp.probs))


def exact_probs(protocol: Protocol, params: np.ndarray, phis: np.ndarray) -> np.ndarray:
    """Exact outcome probabilities for each parameter set, shape (P, 2**n), little-endian.

    Compiled once per protocol (cached) and vmapped over the batch.
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


class LocalBackend(AbstractBackend):
    """``local``: the embedded JAX density-matrix simulator (no server, no network).

    Applies the protocol's noise (dephasing, amplitude damping, readout) exactly.
    """

    name = "local"

    def run(self, protocol: Protocol, params: np.ndarray, phis, shots: int, *, seed: int,
            memory: bool = False) -> SampleResult:
        """See :meth:`AbstractBackend.run`."""
        params, phis = _check_batch(protocol, params, phis, shots)
        probs = exact_probs(protocol, params, phis)
        counts, mem = sample_counts(probs, int(shots), np.random.default_rng(seed), memory)
        return SampleResult(counts=counts, shots=int(shots), n_qubits=protocol.n_qubits, backend=self.name,
                            memory=mem, metadata={"simulator": "qlearn_sense.protocol.compile_jax"})

    def probabilities(self, protocol: Protocol, params: np.ndarray, phis) -> np.ndarray:
        """Exact outcome probabilities (see :func:`exact_probs`)."""
        params, phis = _check_batch(protocol, params, phis, 1)
        return exact_probs(protocol, params, phis)
