"""Backend-neutral sensing protocols, the ansatz library, and compilers to JAX and qiskit.

Bit order everywhere: little-endian, ``k = sum_j b_j 2**j`` (qiskit's).
"""

from qlearn_sense.protocol._ansatz import MEASUREMENTS, PREPARATIONS, build_protocol
from qlearn_sense.protocol._jax_sim import JaxProtocol, compile_jax, gate_matrix
from qlearn_sense.protocol._protocol import MAX_QUBITS, Gate, Noise, Protocol
from qlearn_sense.protocol._sampling import exact_probs, sample_counts
from qlearn_sense.protocol._qiskit import from_qasm3, parameter_binding, to_qasm3, to_qiskit

__all__ = [
    "MAX_QUBITS",
    "MEASUREMENTS",
    "PREPARATIONS",
    "Gate",
    "JaxProtocol",
    "Noise",
    "Protocol",
    "build_protocol",
    "compile_jax",
    "exact_probs",
    "from_qasm3",
    "gate_matrix",
    "parameter_binding",
    "sample_counts",
    "to_qasm3",
    "to_qiskit",
]
