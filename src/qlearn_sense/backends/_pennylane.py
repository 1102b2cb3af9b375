"""``pennylane:<device>``: the protocol as a PennyLane QNode (an independent simulator).

Wire ``j`` holds sensor qubit ``j``. PennyLane orders probabilities with wire 0
as the most significant bit, so the QNode returns ``qml.probs`` over the wires
in reverse order (``n-1, ..., 0``), which is this package's little-endian index.
Readout errors are applied classically (a confusion matrix per qubit), since
PennyLane's devices have no asymmetric readout channel.
"""

from __future__ import annotations

import time

import numpy as np

from qlearn_sense.backends._base import AbstractBackend, SampleResult, _check_batch
from qlearn_sense.backends._local import sample_counts
from qlearn_sense.backends._names import PENNYLANE_DEVICES, PENNYLANE_NOISY_DEVICES, pennylane_noise_reason
from qlearn_sense.protocol import Protocol

def _angle(g, theta):
    return g.offset if g.param is None else g.scale * theta[g.param] + g.offset


def _apply_gate(qml, g, theta) -> None:
    w = list(g.wires)
    a = _angle(g, theta)
    if g.name == "rx":
        qml.RX(a, wires=w[0])
    elif g.name == "ry":
        qml.RY(a, wires=w[0])
    elif g.name == "rz":
        qml.RZ(a, wires=w[0])
    elif g.name == "rzz":
        qml.IsingZZ(a, wires=w)
    elif g.name == "h":
        qml.Hadamard(wires=w[0])
    elif g.name == "x":
        qml.PauliX(wires=w[0])
    elif g.name == "s":
        qml.S(wires=w[0])
    elif g.name == "sdg":
        qml.adjoint(qml.S(wires=w[0]))
    elif g.name == "cnot":
        qml.CNOT(wires=w)
    elif g.name == "cz":
        qml.CZ(wires=w)
    else:  # pragma: no cover - Gate validates names
        raise ValueError(f"unknown gate {g.name!r}")


def make_qnode(protocol: Protocol, device: str = "default.mixed"):
    """A QNode ``(theta, phi) -> probabilities (2**n,)`` little-endian, readout errors excluded.

    Args:
      protocol: the protocol.
      device: one of :data:`PENNYLANE_DEVICES`.

    Raises:
      ValueError: unknown device, or a noisy protocol on a state-vector device.
    """
    import pennylane as qml

    if device not in PENNYLANE_DEVICES:
        raise ValueError(f"PennyLane device {device!r} is not supported; accepted: {', '.join(PENNYLANE_DEVICES)}")
    n = protocol.n_qubits
    noise = protocol.noise
    channel_noise = any(d < 1.0 for d in noise.dephasing) or any(noise.gamma)
    if device not in PENNYLANE_NOISY_DEVICES and not noise.is_ideal:
        raise ValueError(f"pennylane:{device} simulates pure states only, but protocol {protocol.name!r} has noise "
                         f"(eta={list(noise.eta)}, gamma={list(noise.gamma)}, readout p01={list(noise.p01)}, "
                         f"p10={list(noise.p10)}); use 'pennylane:default.mixed'")
    dev = qml.device(device, wires=n)

    @qml.qnode(dev)
    def circuit(theta, phi):
        for g in protocol.prep:
            _apply_gate(qml, g, theta)
        for j in range(n):
            qml.RZ(phi, wires=j)
        if channel_noise:
            for j, (d, g) in enumerate(zip(noise.dephasing, noise.gamma)):
                if d < 1.0:
                    qml.PhaseDamping(1.0 - d * d, wires=j)
                if g > 0.0:
                    qml.AmplitudeDamping(g, wires=j)
        for g in protocol.measure:
            _apply_gate(qml, g, theta)
        return qml.probs(wires=list(range(n - 1, -1, -1)))

    return circuit


class PennyLaneBackend(AbstractBackend):
    """``pennylane:<device>``: exact probabilities from a PennyLane device, sampled with numpy.

    ``default.mixed`` applies the protocol's dephasing, amplitude damping and
    (classically) readout errors; ``default.qubit`` and ``lightning.qubit``
    accept noiseless protocols only.
    """

    def __init__(self, device: str):
        if device not in PENNYLANE_DEVICES:
            raise ValueError(f"backend 'pennylane:{device}' is unknown; accepted: "
                             + ", ".join(f"pennylane:{d}" for d in PENNYLANE_DEVICES))
        self.device = device
        self.name = f"pennylane:{device}"
        self._qnodes: dict = {}

    def supports(self, protocol: Protocol) -> str | None:
        """See :meth:`AbstractBackend.supports`: a noisy protocol needs ``default.mixed``."""
        return pennylane_noise_reason(self.device, not protocol.noise.is_ideal)

    def _qnode(self, protocol: Protocol):
        if protocol not in self._qnodes:
            self._qnodes[protocol] = make_qnode(protocol, self.device)
        return self._qnodes[protocol]

    def probabilities(self, protocol: Protocol, params: np.ndarray, phis) -> np.ndarray:
        """Exact outcome probabilities, shape (P, 2**n), little-endian, readout errors included.

        Raises:
          ValueError: noisy protocol on a state-vector device.
        """
        from qlearn_sense.backends._aer import _apply_readout

        params, phis = _check_batch(protocol, params, phis, 1)
        qnode = self._qnode(protocol)
        rows, inverse = np.unique(np.column_stack([params, phis]), axis=0, return_inverse=True)
        unique = np.stack([np.asarray(qnode(r[:-1], float(r[-1])), dtype=np.float64) for r in rows])
        p = unique[np.asarray(inverse).reshape(-1)]
        p = _apply_readout(p, protocol.n_qubits, protocol.noise.p01, protocol.noise.p10)
        p = np.clip(p, 0.0, None)
        return p / p.sum(axis=1, keepdims=True)

    def run(self, protocol: Protocol, params: np.ndarray, phis, shots: int, *, seed: int,
            memory: bool = False) -> SampleResult:
        """See :meth:`AbstractBackend.run`."""
        params, phis = _check_batch(protocol, params, phis, shots)
        t0 = time.perf_counter()
        probs = self.probabilities(protocol, params, phis)
        counts, mem = sample_counts(probs, int(shots), np.random.default_rng(seed), memory)
        return SampleResult(counts=counts, shots=int(shots), n_qubits=protocol.n_qubits, backend=self.name,
                            memory=mem, metadata={"device": self.device, "seconds": time.perf_counter() - t0})
