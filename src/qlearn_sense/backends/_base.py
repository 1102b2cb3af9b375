"""The backend interface: run one protocol with many parameter sets, return outcomes.

Outcome index convention (all backends): little-endian, ``k = sum_j b_j 2**j``
with ``b_j`` the bit read on sensor qubit ``j``; as a qiskit bitstring, qubit 0
is the rightmost character (``format(k, f"0{n}b")``).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qlearn_sense.protocol import Protocol


class BackendError(RuntimeError):
    """A backend could not run the request (the message says why and what to do)."""


@dataclass
class SampleResult:
    """Outcomes of one batch (one PUB on IBM hardware).

    Attributes:
      counts: outcome counts, shape (P, 2**n), int64, little-endian index.
      shots: shots per parameter set.
      n_qubits: n.
      backend: backend name that produced the data.
      memory: per-shot outcome indices, shape (P, shots), when requested; else None.
      metadata: backend-specific details (layout, job ids, transpiler settings).
    """

    counts: np.ndarray
    shots: int
    n_qubits: int
    backend: str
    memory: np.ndarray | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def bitstrings(self, index: int = 0) -> dict[str, int]:
        """qiskit-style ``{bitstring: count}`` of parameter set ``index`` (qubit 0 rightmost)."""
        row = self.counts[index]
        return {format(k, f"0{self.n_qubits}b"): int(c) for k, c in enumerate(row) if c}

    def bits(self) -> np.ndarray:
        """Per-shot bits, shape (P, shots, n) uint8 with ``bits[..., j]`` the bit of qubit j.

        Raises:
          BackendError: when the run did not keep per-shot memory.
        """
        if self.memory is None:
            raise BackendError("per-shot outcomes were not kept; run with memory=True")
        return ((self.memory[..., None] >> np.arange(self.n_qubits)) & 1).astype(np.uint8)


def _check_batch(protocol: Protocol, params: np.ndarray, phis: np.ndarray, shots: int) -> tuple[np.ndarray, np.ndarray]:
    params = np.atleast_2d(np.asarray(params, dtype=np.float64))
    if params.shape[1] != protocol.n_params:
        raise ValueError(f"params have shape {params.shape}; the protocol needs (P, {protocol.n_params})")
    phis = np.broadcast_to(np.asarray(phis, dtype=np.float64), (params.shape[0],)).copy()
    if int(shots) != shots or shots < 1:
        raise ValueError(f"shots = {shots}; accepted: integer >= 1")
    return params, phis


class AbstractBackend(abc.ABC):
    """A place that runs protocols: simulators, emulators, IBM Quantum.

    Subclasses implement :meth:`run`. ``name`` is the registry name used to
    build it (``local``, ``aer:fake_fez`` ...).
    """

    name: str = "abstract"
    noise_from_protocol: bool = True
    """True when the backend applies the protocol's own noise model (simulators);
    False when noise comes from the device or its calibrated emulation."""

    @abc.abstractmethod
    def run(self, protocol: Protocol, params: np.ndarray, phis: np.ndarray | float, shots: int, *,
            seed: int, memory: bool = False) -> SampleResult:
        """Run ``protocol`` for each parameter set (one batch / PUB).

        Args:
          protocol: the protocol.
          params: parameter sets, shape (P, n_params).
          phis: signal phase per qubit for each set, rad, shape (P,) or scalar.
          shots: shots per parameter set, >= 1.
          seed: seed for the sampling (same seed, same outcomes on simulators).
          memory: keep per-shot outcomes (``SampleResult.memory``).

        Returns:
          :class:`SampleResult`.

        Raises:
          ValueError: malformed params, phis or shots.
          BackendError: the backend failed.
        """

    # Optional extensions (device backends, exact simulators, asynchronous hardware).

    asynchronous: bool = False
    """True when :meth:`run` queues work on remote hardware: the runner then
    submits (``submit``), records the job in the ledger and returns."""

    def configure(self, **options: Any) -> "AbstractBackend":
        """Set compilation options before running (devices use them; simulators ignore them).

        Keys understood by device backends: ``optimization_level``,
        ``seed_transpiler``, ``initial_layout`` (physical qubit per sensor
        qubit), ``interrogation_time_s`` (delay before the encoding).

        Returns:
          ``self``, so calls chain.
        """
        return self

    def probabilities(self, protocol: Protocol, params: np.ndarray, phis: np.ndarray | float) -> np.ndarray:
        """Exact outcome probabilities, shape (P, 2**n), little-endian, where the backend can compute them.

        Raises:
          NotImplementedError: the backend only samples (devices, emulators).
        """
        raise NotImplementedError(f"backend {self.name!r} only samples; it has no exact probabilities")
