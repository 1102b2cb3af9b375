"""Qiskit Aer backends: ``aer`` (protocol noise) and ``aer:<fake>`` (a device's noise, restricted).

Both sample through qiskit-aer's ``SamplerV2`` with one PUB per sweep, so the
data arrive as a ``BitArray`` exactly as from IBM hardware.
"""

from __future__ import annotations

import time
from functools import lru_cache

import numpy as np
from qiskit import QuantumCircuit

from qlearn_sense.backends._base import (
    AbstractBackend,
    AbstractDeviceBackend,
    BackendError,
    CircuitsResult,
    SampleResult,
    _check_batch,
    check_shots,
)
from qlearn_sense.backends._compile import (
    Compiled,
    active_qubits,
    compact_circuit,
    counts_from_primitive_result,
    pub_values,
)
from qlearn_sense.backends._devices import _qubit_calibration, fake_backend, restricted_noise_model
from qlearn_sense.protocol import Protocol, to_qiskit

DENSITY_MATRIX_MAX_QUBITS = 12
"""Above this many active qubits the device emulation switches Aer to its automatic method."""


def _readout_matrix(p01: float, p10: float) -> list[list[float]]:
    """Aer ``ReadoutError`` rows: prepared 0 -> [P(0), P(1)], prepared 1 -> [P(0), P(1)]."""
    return [[1.0 - p01, p01], [p10, 1.0 - p10]]


def _apply_readout(p: np.ndarray, n: int, p01, p10) -> np.ndarray:
    """Classical confusion on little-endian probabilities ``(P, 2**n)``."""
    t = p.reshape((p.shape[0],) + (2,) * n)
    for j in range(n):
        if p01[j] == 0.0 and p10[j] == 0.0:
            continue
        conf = np.array([[1 - p01[j], p10[j]], [p01[j], 1 - p10[j]]])
        axis = 1 + (n - 1 - j)
        t = np.moveaxis(np.tensordot(conf, t, axes=([1], [axis])), 0, axis)
    return t.reshape(p.shape)


@lru_cache(maxsize=32)
def noisy_protocol_circuit(protocol: Protocol, measure: bool = True) -> QuantumCircuit:
    """The protocol's circuit with its noise channels inserted after the encoding.

    Local dephasing ``phase_damping_error(1 - d**2)`` (``d`` =
    :attr:`Noise.dephasing`) and ``amplitude_damping_error(gamma)`` act on each
    qubit right after ``RZ(phi)``; readout errors are not in the circuit (see
    :func:`protocol_noise_model`).
    """
    from qiskit_aer.noise import amplitude_damping_error, phase_damping_error

    full = to_qiskit(protocol, measure=measure)
    k = len(to_qiskit(protocol, measure=False, measurement_ansatz=False).data)
    out = full.copy_empty_like()
    for inst in full.data[:k]:
        out.append(inst)
    noise = protocol.noise
    for j, (d, g) in enumerate(zip(noise.dephasing, noise.gamma)):
        if d < 1.0:
            out.append(phase_damping_error(1.0 - d * d).to_instruction(), [j])
        if g > 0.0:
            out.append(amplitude_damping_error(g).to_instruction(), [j])
    for inst in full.data[k:]:
        out.append(inst)
    return out


def protocol_noise_model(protocol: Protocol):
    """Aer ``NoiseModel`` holding the protocol's readout errors (``ReadoutError`` per qubit)."""
    from qiskit_aer.noise import NoiseModel, ReadoutError

    nm = NoiseModel()
    for j, (p01, p10) in enumerate(zip(protocol.noise.p01, protocol.noise.p10)):
        if p01 or p10:
            nm.add_readout_error(ReadoutError(_readout_matrix(p01, p10)), [j])
    return nm


def _sample(circuit: QuantumCircuit, values: np.ndarray, shots: int, seed: int, n: int, backend_options: dict):
    from qiskit_aer.primitives import SamplerV2 as AerSampler

    sampler = AerSampler(seed=int(seed), options={"backend_options": backend_options})
    pub = (circuit, values) if circuit.num_parameters else (circuit,)
    result = sampler.run([pub], shots=int(shots)).result()
    counts, mem = counts_from_primitive_result(result, n)
    if not circuit.num_parameters:
        counts, mem = np.repeat(counts, values.shape[0], axis=0), np.repeat(mem, values.shape[0], axis=0)
    return counts, mem


class AerBackend(AbstractBackend):
    """``aer``: ideal ``AerSimulator`` (density matrix) with the protocol's own noise.

    The dephasing, amplitude damping and readout errors of the protocol are
    inserted as Aer channels, so outcome probabilities equal the ``local``
    backend's (a test checks this to 1e-8, bit order included).
    """

    name = "aer"

    def run(self, protocol: Protocol, params: np.ndarray, phis, shots: int, *, seed: int,
            memory: bool = False) -> SampleResult:
        """See :meth:`AbstractBackend.run`. One PUB for the whole sweep."""
        params, phis = _check_batch(protocol, params, phis, shots)
        qc = noisy_protocol_circuit(protocol)
        values = pub_values(qc, params, phis)
        t0 = time.perf_counter()
        counts, mem = _sample(qc, values, shots, seed, protocol.n_qubits,
                              {"method": "density_matrix", "noise_model": protocol_noise_model(protocol)})
        return SampleResult(counts=counts, shots=int(shots), n_qubits=protocol.n_qubits, backend=self.name,
                            memory=mem if memory else None,
                            metadata={"simulator": "qiskit_aer.primitives.SamplerV2", "method": "density_matrix",
                                      "seconds": time.perf_counter() - t0})

    def probabilities(self, protocol: Protocol, params: np.ndarray, phis) -> np.ndarray:
        """Exact probabilities from Aer's density matrix (``save_probabilities``) and readout confusion."""
        from qiskit_aer import AerSimulator

        params, phis = _check_batch(protocol, params, phis, 1)
        qc = noisy_protocol_circuit(protocol, measure=False).copy()
        qc.save_probabilities(list(range(protocol.n_qubits)))
        sim = AerSimulator(method="density_matrix")
        out = []
        for theta, phi in zip(params, phis):
            from qlearn_sense.protocol._qiskit import parameter_binding

            bound = qc.assign_parameters(parameter_binding(qc, theta, phi))
            out.append(np.asarray(sim.run(bound).result().data(0)["probabilities"], dtype=np.float64))
        p = np.stack(out)
        return _apply_readout(p, protocol.n_qubits, protocol.noise.p01, protocol.noise.p10)


class AerDeviceBackend(AbstractDeviceBackend):
    """``aer:<fake>``: ``AerSimulator`` with a fake device's noise, restricted to the used qubits.

    The protocol is transpiled once to the device's ISA (cached per protocol
    structure and settings); the noise model is built only for the physical
    qubits the ISA circuit touches, and the circuit is compacted onto them.
    Distributions equal the full-device model's (the kept errors are the same);
    construction is several times faster than local testing mode, which
    models every qubit of the device.

    Args:
      device_name: a fake device (``fake_fez``, ``FakeFez``).

    Raises:
      ValueError: unknown fake device (the message lists the valid ones).
    """

    def __init__(self, device_name: str):
        super().__init__()
        self._device = fake_backend(device_name)
        self.name = f"aer:{self._device.name}"

    @property
    def device(self):
        """The fake device (a qiskit ``BackendV2``)."""
        return self._device

    def compile(self, protocol: Protocol) -> Compiled:
        """See :meth:`AbstractDeviceBackend.compile`."""
        return self._compile_cached(protocol)

    def _prepared(self, protocol: Protocol):
        comp = self.compile(protocol)
        qubits = tuple(active_qubits(comp.isa))
        small = compact_circuit(comp.isa, list(qubits))
        nm = _cached_noise_model(self.device.name, qubits)
        method = "density_matrix" if len(qubits) <= DENSITY_MATRIX_MAX_QUBITS else "automatic"
        return comp, qubits, small, nm, method

    def run(self, protocol: Protocol, params: np.ndarray, phis, shots: int, *, seed: int,
            memory: bool = False) -> SampleResult:
        """See :meth:`AbstractBackend.run`. Device noise; the protocol's noise is not applied."""
        params, phis = _check_batch(protocol, params, phis, shots)
        t0 = time.perf_counter()
        comp, qubits, small, nm, method = self._prepared(protocol)
        values = pub_values(small, params, phis)
        counts, mem = _sample(small, values, shots, seed, protocol.n_qubits,
                              {"method": method, "noise_model": nm})
        return SampleResult(counts=counts, shots=int(shots), n_qubits=protocol.n_qubits, backend=self.name,
                            memory=mem if memory else None,
                            metadata={"layout": comp.layout, "isa_hash": comp.isa_hash,
                                      "noise_qubits": list(qubits), "method": method,
                                      "optimization_level": comp.options.optimization_level,
                                      "seed_transpiler": comp.options.seed_transpiler,
                                      "seconds": time.perf_counter() - t0})

    def run_circuits(self, circuits: list, shots: int, *, seed: int) -> CircuitsResult:
        """See :meth:`AbstractDeviceBackend.run_circuits`.

        Each circuit is transpiled to the device's ISA, compacted onto the
        physical qubits it uses and sampled with the device's noise restricted
        to them (as :meth:`run` does for protocols); circuit i uses ``seed + i``.
        """
        shots = check_shots(shots)
        t0 = time.perf_counter()
        compiled = self.compile_circuits(circuits)
        counts, noise_qubits, methods = [], [], []
        for i, comp in enumerate(compiled):
            qubits = tuple(active_qubits(comp.isa))
            small = compact_circuit(comp.isa, list(qubits))
            method = "density_matrix" if len(qubits) <= DENSITY_MATRIX_MAX_QUBITS else "automatic"
            c, _ = _sample(small, np.zeros((1, 0)), shots, (int(seed) + i) % 2**31, comp.n_qubits,
                           {"method": method, "noise_model": _cached_noise_model(self.device.name, qubits)})
            counts.append(c[0])
            noise_qubits.append(list(qubits))
            methods.append(method)
        return CircuitsResult(counts=counts, shots=shots, backend=self.name, compiled=compiled,
                              metadata={"simulator": "qiskit_aer.primitives.SamplerV2", "noise_qubits": noise_qubits,
                                        "method": methods, "seconds": time.perf_counter() - t0})

    def probabilities(self, protocol: Protocol, params: np.ndarray, phis) -> np.ndarray:
        """Exact probabilities of the emulation (density matrix, then the device's readout errors)."""
        from qiskit_aer import AerSimulator

        params, phis = _check_batch(protocol, params, phis, 1)
        comp, qubits, small, nm, _ = self._prepared(protocol)
        meas_qubits = [qubits.index(q) for q in comp.layout]
        bare = small.remove_final_measurements(inplace=False)
        bare.save_probabilities(meas_qubits)
        sim = AerSimulator(method="density_matrix", noise_model=nm)
        values = pub_values(bare, params, phis)
        order = list(bare.parameters)
        out = []
        for row in values:
            bound = bare.assign_parameters(dict(zip(order, row)))
            out.append(np.asarray(sim.run(bound).result().data(0)["probabilities"], dtype=np.float64))
        p = np.stack(out)
        cal = [_qubit_calibration(self.device.target, q) for q in comp.layout]
        return _apply_readout(p, protocol.n_qubits, [c[2] for c in cal], [c[3] for c in cal])


@lru_cache(maxsize=64)
def _cached_noise_model(device_name: str, qubits: tuple[int, ...]):
    return restricted_noise_model(fake_backend(device_name), list(qubits))


__all__ = ["AerBackend", "AerDeviceBackend", "BackendError", "noisy_protocol_circuit", "protocol_noise_model"]
