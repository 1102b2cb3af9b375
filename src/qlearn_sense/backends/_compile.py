"""Compilation for devices: protocol -> ISA circuit, PUB values, counts, observables.

A device backend transpiles the protocol's parameterized circuit once (per
protocol structure and transpiler settings) with
``generate_preset_pass_manager``; a whole parameter sweep then goes out as one
PUB ``(isa_circuit, values)`` with ``values`` of shape ``(P, n_circuit_params)``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
from qiskit import QuantumCircuit, qasm3
from qiskit.quantum_info import SparsePauliOp
from qiskit.transpiler import generate_preset_pass_manager

from qlearn_sense.protocol import Noise, Protocol, to_qiskit
from qlearn_sense.protocol._qiskit import parameter_binding


@dataclass(frozen=True)
class TranspileOptions:
    """Settings of the preset pass manager (from ``execution`` and ``sensor`` in the config).

    Attributes:
      optimization_level: 0..3.
      seed_transpiler: seed of the stochastic layout and routing passes.
      initial_layout: physical qubit of each protocol qubit (``sensor.qubits``),
        or None to let the transpiler choose.
      interrogation_time_s: when set, a ``delay`` of this length (s) is put on
        every sensor qubit before the signal encoding, so a device decoheres
        for as long as the sensor model says (noise-aware designs).
    """

    optimization_level: int = 1
    seed_transpiler: int = 0
    initial_layout: tuple[int, ...] | None = None
    interrogation_time_s: float | None = None


@dataclass
class Compiled:
    """One protocol compiled for one device.

    Attributes:
      circuit: the logical circuit (parameters ``theta[i]`` and ``phi``).
      isa: the ISA circuit for the device target.
      layout: physical qubit of each protocol qubit (``layout[j]`` holds qubit j).
      isa_hash: SHA-256 of the ISA circuit's OpenQASM 3 text (first 16 hex digits).
      options: the transpiler settings used.
    """

    circuit: QuantumCircuit
    isa: QuantumCircuit
    layout: list[int]
    isa_hash: str
    options: TranspileOptions = field(default_factory=TranspileOptions)


def structural_key(protocol: Protocol) -> Protocol:
    """The protocol without its noise (ISA circuits do not depend on the noise)."""
    return protocol.with_noise(Noise.ideal(protocol.n_qubits))


def device_circuit(protocol: Protocol, *, interrogation_time_s: float | None = None,
                   dt: float | None = None) -> QuantumCircuit:
    """The protocol's measured circuit, optionally with an interrogation delay.

    Args:
      protocol: the protocol.
      interrogation_time_s: delay (s) put on every qubit right before the
        ``RZ(phi)`` encoding; None for none.
      dt: device sample time (s); the delay is then written in units of ``dt``
        (rounded), as devices require.

    Returns:
      A ``QuantumCircuit`` like :func:`qlearn_sense.protocol.to_qiskit` (measured
      into the register ``meas``).
    """
    qc = to_qiskit(protocol)
    if not interrogation_time_s:
        return qc
    out = qc.copy_empty_like()
    inserted = False
    for inst in qc.data:
        is_encoding = (inst.operation.name == "rz"
                       and any(p.name == "phi" for p in getattr(inst.operation.params[0], "parameters", ())))
        if is_encoding and not inserted:
            out.barrier()
            for q in out.qubits:
                if dt:
                    out.delay(max(1, int(round(interrogation_time_s / dt))), q, unit="dt")
                else:
                    out.delay(float(interrogation_time_s), q, unit="s")
            inserted = True
        out.append(inst)
    return out


def transpile_protocol(protocol: Protocol, target, options: TranspileOptions) -> Compiled:
    """Transpile the protocol once to an ISA circuit for ``target``.

    Args:
      protocol: the protocol.
      target: a qiskit ``Target`` (a device's or a simulator's).
      options: pass-manager settings.

    Returns:
      :class:`Compiled` with the layout recorded.

    Raises:
      ValueError: the initial layout has the wrong length or names a qubit the
        target does not have.
    """
    n = protocol.n_qubits
    layout = options.initial_layout
    if layout is not None:
        if len(layout) != n:
            raise ValueError(f"initial layout {list(layout)} has {len(layout)} qubits; the protocol has {n}")
        if target.num_qubits is not None and any(not 0 <= q < target.num_qubits for q in layout):
            raise ValueError(f"initial layout {list(layout)} names qubits outside 0..{target.num_qubits - 1}")
    circuit = device_circuit(protocol, interrogation_time_s=options.interrogation_time_s,
                             dt=getattr(target, "dt", None))
    pm = generate_preset_pass_manager(optimization_level=options.optimization_level, target=target,
                                      seed_transpiler=options.seed_transpiler,
                                      initial_layout=list(layout) if layout is not None else None)
    isa = pm.run(circuit)
    if isa.layout is not None:
        final = isa.layout.final_index_layout(filter_ancillas=True)
        phys = [int(final[j]) for j in range(n)]
    else:
        phys = list(range(n))
    return Compiled(circuit=circuit, isa=isa, layout=phys, isa_hash=circuit_hash(isa), options=options)


def circuit_hash(circuit: QuantumCircuit) -> str:
    """SHA-256 (16 hex digits) of a circuit's OpenQASM 3 text: identifies an ISA circuit."""
    try:
        text = qasm3.dumps(circuit)
    except Exception:  # pragma: no cover - exotic instructions: fall back to the repr
        text = repr([(i.operation.name, [circuit.find_bit(q).index for q in i.qubits], i.operation.params)
                     for i in circuit.data])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def pub_values(circuit: QuantumCircuit, params: np.ndarray, phis: np.ndarray) -> np.ndarray:
    """Parameter values of a sweep for ``circuit``, shape (P, circuit.num_parameters).

    Columns follow ``circuit.parameters`` (qiskit's sorted order), which is the
    order a PUB ``(circuit, values)`` binds them in.
    """
    params = np.atleast_2d(np.asarray(params, dtype=np.float64))
    phis = np.broadcast_to(np.asarray(phis, dtype=np.float64), (params.shape[0],))
    order = list(circuit.parameters)
    rows = []
    for theta, phi in zip(params, phis):
        binding = parameter_binding(circuit, theta, phi)
        rows.append([binding[p] for p in order])
    return np.asarray(rows, dtype=np.float64).reshape(params.shape[0], len(order))


def counts_from_bits(bits: np.ndarray, n_qubits: int) -> tuple[np.ndarray, np.ndarray]:
    """Counts and per-shot indices from a boolean array ``(P, shots, n)`` (column j = qubit j).

    Returns:
      ``(counts (P, 2**n) int64, memory (P, shots) int64)``, little-endian index.
    """
    bits = np.asarray(bits, dtype=np.int64)
    mem = (bits * (1 << np.arange(n_qubits, dtype=np.int64))).sum(axis=-1)
    counts = np.zeros((mem.shape[0], 2 ** n_qubits), dtype=np.int64)
    for i, row in enumerate(mem):
        counts[i] = np.bincount(row, minlength=2 ** n_qubits)
    return counts, mem


def counts_from_primitive_result(result, n_qubits: int, register: str = "meas") -> tuple[np.ndarray, np.ndarray]:
    """Counts of the first PUB of a sampler result (``PrimitiveResult`` or executor result).

    Accepts what qiskit's and qiskit-ibm-runtime's samplers return: a
    ``SamplerPubResult`` whose ``data.<register>`` is a ``BitArray``, or a
    ``QuantumProgramResult`` item whose ``<register>`` is a boolean array.

    Returns:
      ``(counts (P, 2**n), memory (P, shots))``, little-endian.

    Raises:
      ValueError: when the register is missing from the result.
    """
    item = result[0]
    data = getattr(item, "data", None)
    if data is not None and hasattr(data, register):
        bits = getattr(data, register).to_bool_array(order="little")
    else:
        bits = None
        for payload in (item, getattr(item, "result", None)):
            try:
                bits = np.asarray(payload[register], dtype=bool)
                break
            except (KeyError, TypeError, IndexError):
                continue
        if bits is None:
            raise ValueError(f"sampler result has no classical register {register!r}")
    bits = bits.reshape(-1, bits.shape[-2], bits.shape[-1])[..., :n_qubits]
    return counts_from_bits(bits, n_qubits)


def isa_observable(observable, isa_circuit: QuantumCircuit) -> SparsePauliOp:
    """An observable on the protocol qubits, mapped onto the ISA circuit's physical qubits.

    Args:
      observable: anything ``SparsePauliOp`` accepts (a Pauli label such as
        ``"ZZI"`` with qubit 0 rightmost, a ``SparsePauliOp``, a list of
        ``(label, coeff)``).
      isa_circuit: the transpiled circuit (its ``layout`` is used).

    Returns:
      ``SparsePauliOp`` on ``isa_circuit.num_qubits`` qubits (``apply_layout``).

    Raises:
      ValueError: the observable's size differs from the protocol's register.
    """
    if isinstance(observable, str):
        op = SparsePauliOp(observable)
    elif isinstance(observable, list):
        op = SparsePauliOp.from_list(observable)
    else:
        op = SparsePauliOp(observable)
    n_virtual = (len(isa_circuit.layout.final_index_layout(filter_ancillas=True))
                 if isa_circuit.layout is not None else isa_circuit.num_qubits)
    if op.num_qubits != n_virtual:
        raise ValueError(f"observable acts on {op.num_qubits} qubits; the circuit's protocol has {n_virtual}")
    return op.apply_layout(isa_circuit.layout, num_qubits=isa_circuit.num_qubits)


def active_qubits(circuit: QuantumCircuit) -> list[int]:
    """Physical qubits that any operation other than a barrier touches, sorted."""
    used = set()
    for inst in circuit.data:
        if inst.operation.name == "barrier":
            continue
        used.update(circuit.find_bit(q).index for q in inst.qubits)
    return sorted(used)


def compact_circuit(circuit: QuantumCircuit, qubits: list[int]) -> QuantumCircuit:
    """The circuit restricted to ``qubits`` (renumbered 0..k-1 in that order); others must be idle."""
    index = {q: i for i, q in enumerate(qubits)}
    out = QuantumCircuit(len(qubits), name=circuit.name, global_phase=circuit.global_phase)
    for creg in circuit.cregs:
        out.add_register(creg)
    for inst in circuit.data:
        qs = [circuit.find_bit(q).index for q in inst.qubits]
        if inst.operation.name == "barrier":
            qs = [q for q in qs if q in index]
            if not qs:
                continue
            out.barrier([index[q] for q in qs])
            continue
        out.append(inst.operation, [out.qubits[index[q]] for q in qs], list(inst.clbits))
    return out
