"""The embedded default backend: the JAX simulator plus seeded numpy sampling."""

from __future__ import annotations

import numpy as np

from qlearn_sense.backends._base import AbstractBackend, SampleResult, _check_batch
from qlearn_sense.protocol import Protocol, exact_probs, sample_counts

__all__ = ["LocalBackend", "exact_probs", "sample_counts"]  # the two functions live in qlearn_sense.protocol


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
