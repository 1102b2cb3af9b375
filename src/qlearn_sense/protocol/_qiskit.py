"""Compile a :class:`Protocol` to a parameterized qiskit circuit and OpenQASM 3.

The circuit has a ``ParameterVector("theta", n_params)`` and a ``Parameter("phi")``
for the signal phase per qubit; the encoding is ``RZ(phi)`` on every qubit, which
equals ``exp(-i phi sum_j Z_j / 2)``. Noise is not part of the circuit: it comes
from the backend (device or noise model); see :mod:`qlearn_sense.backends`.
"""

from __future__ import annotations

import re

from qiskit import QuantumCircuit, qasm3
from qiskit.circuit import Parameter, ParameterVector

from qlearn_sense.protocol._protocol import Gate, Protocol

_THETA_NAME = re.compile(r"^_?theta_?\[?(\d+)\]?_?$")


def _append(qc: QuantumCircuit, g: Gate, theta) -> None:
    angle = g.offset if g.param is None else g.scale * theta[g.param] + g.offset
    w = g.wires
    if g.name == "rx":
        qc.rx(angle, w[0])
    elif g.name == "ry":
        qc.ry(angle, w[0])
    elif g.name == "rz":
        qc.rz(angle, w[0])
    elif g.name == "rzz":
        qc.rzz(angle, w[0], w[1])
    elif g.name == "h":
        qc.h(w[0])
    elif g.name == "x":
        qc.x(w[0])
    elif g.name == "s":
        qc.s(w[0])
    elif g.name == "sdg":
        qc.sdg(w[0])
    elif g.name == "cnot":
        qc.cx(w[0], w[1])
    elif g.name == "cz":
        qc.cz(w[0], w[1])
    else:  # pragma: no cover - Gate validates names
        raise ValueError(f"unknown gate {g.name!r}")


def to_qiskit(protocol: Protocol, *, measure: bool = True, encoding: bool = True,
              measurement_ansatz: bool = True) -> QuantumCircuit:
    """The protocol as a parameterized qiskit ``QuantumCircuit``.

    Args:
      protocol: the protocol.
      measure: append ``measure_all`` (classical register ``meas``).
      encoding: include the ``RZ(phi)`` signal encoding on every qubit.
      measurement_ansatz: include the measurement-ansatz gates.

    Returns:
      Circuit on ``n_qubits`` qubits with parameters ``theta[0..P-1]`` and ``phi``
      (only those that appear). Bit order is qiskit's: qubit 0 is the rightmost
      bit, matching the little-endian probability vectors of this package.
    """
    theta = ParameterVector("theta", protocol.n_params)
    phi = Parameter("phi")
    qc = QuantumCircuit(protocol.n_qubits, name=protocol.name)
    for g in protocol.prep:
        _append(qc, g, theta)
    if encoding:
        for j in range(protocol.n_qubits):
            qc.rz(phi, j)
    if measurement_ansatz:
        for g in protocol.measure:
            _append(qc, g, theta)
    if measure:
        qc.measure_all()
    return qc


def parameter_binding(circuit: QuantumCircuit, theta, phi: float | None = None) -> dict:
    """Map a circuit's parameters (by name) to values.

    Works for circuits from :func:`to_qiskit` and for circuits loaded back from
    OpenQASM 3 (where ``theta[i]`` is renamed ``_theta_i_``).

    Args:
      circuit: the circuit.
      theta: parameter values, shape (n_params,).
      phi: signal phase in rad (required when the circuit has ``phi``).

    Returns:
      dict ``{Parameter: float}`` for ``assign_parameters``.

    Raises:
      ValueError: a parameter name that is neither ``phi`` nor a theta element,
        a theta index outside ``theta``, or ``phi`` missing.
    """
    out = {}
    for p in circuit.parameters:
        if p.name == "phi":
            if phi is None:
                raise ValueError("the circuit has a 'phi' parameter; pass phi")
            out[p] = float(phi)
            continue
        index = getattr(p, "index", None) if getattr(p, "vector", None) is not None else None
        if index is None:
            m = _THETA_NAME.match(p.name)
            if not m:
                raise ValueError(f"circuit parameter {p.name!r} is neither 'phi' nor a theta element")
            index = int(m.group(1))
        if index >= len(theta):
            raise ValueError(f"circuit parameter {p.name!r} needs theta[{index}]; theta has length {len(theta)}")
        out[p] = float(theta[index])
    return out


def to_qasm3(protocol: Protocol, *, measure: bool = True) -> str:
    """OpenQASM 3 text of :func:`to_qiskit` (parameters become ``input float[64]``).

    Returns:
      The program text; load it back with :func:`from_qasm3`.
    """
    return qasm3.dumps(to_qiskit(protocol, measure=measure))


def from_qasm3(text: str) -> QuantumCircuit:
    """Load an OpenQASM 3 program (e.g. from ``circuits/``) as a qiskit circuit.

    Bind its parameters with :func:`parameter_binding`.

    Raises:
      qiskit.qasm3.QASM3ImporterError: if the text is not valid OpenQASM 3.
    """
    return qasm3.loads(text)
