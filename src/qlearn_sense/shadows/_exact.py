"""Exact expectation values of Pauli observables, endianness and qubit-wise-commuting groups (qiskit-backed)."""

from __future__ import annotations

import numpy as np

from qlearn_sense.shadows._observables import PauliObservables


def to_big_endian(matrix: np.ndarray, n: int) -> np.ndarray:
    """Reorder a little-endian state vector (2**n,) or matrix (2**n, 2**n) to qubit 0 most significant.

    Raises:
      ValueError: a shape other than (2**n,) or (2**n, 2**n).
    """
    matrix = np.asarray(matrix)
    if matrix.shape not in ((2**n,), (2**n, 2**n)):
        raise ValueError(f"shape {matrix.shape}; expected (2**n,) or (2**n, 2**n) with n = {n}")
    if matrix.ndim == 1:
        return matrix.reshape((2,) * n).transpose(tuple(reversed(range(n)))).reshape(-1)
    perm = tuple(reversed(range(n))) + tuple(2 * n - 1 - k for k in range(n))
    return matrix.reshape((2,) * (2 * n)).transpose(perm).reshape(2**n, 2**n)


def to_sparse_pauli_op(observables: PauliObservables):
    """The observables as one qiskit ``SparsePauliOp`` with M terms (qiskit labels: qubit 0 rightmost)."""
    from qiskit.quantum_info import SparsePauliOp

    return SparsePauliOp([s[::-1] for s in observables.to_strings()], coeffs=np.asarray(observables.coefficients))


def pauli_matrix(codes: np.ndarray) -> np.ndarray:
    """Dense big-endian matrix (2**n, 2**n) of one Pauli string (codes 0=I, 1=X, 2=Y, 3=Z; qubit 0 first)."""
    from qiskit.quantum_info import Pauli

    label = "".join("IXYZ"[int(c)] for c in codes)
    return to_big_endian(Pauli(label[::-1]).to_matrix(), len(codes))


def exact_expectations(rho_little: np.ndarray, observables: PauliObservables) -> np.ndarray:
    """``c_m Tr(rho P_m)`` for each observable, from a little-endian density matrix (2**n, 2**n); shape (M,).

    Computed term by term with qiskit's sparse Pauli algebra (no dense 2**n
    Kronecker products).

    Raises:
      ValueError: rho's side is not 2**n for the observables' n.
    """
    from qiskit.quantum_info import DensityMatrix

    n = observables.n_qubits
    rho = np.asarray(rho_little)
    if rho.shape != (2**n, 2**n):
        raise ValueError(f"rho has shape {rho.shape}; the observables act on n = {n} qubits")
    dm = DensityMatrix(rho)
    op = to_sparse_pauli_op(observables)
    return np.array([float(np.real(dm.expectation_value(term))) for term in op])


def qubit_wise_commuting_groups(observables: PauliObservables) -> list[list[int]]:
    """Partition the observables into qubit-wise commuting groups (qiskit's
    ``PauliList.group_qubit_wise_commuting``); each group is measurable in one local basis.

    Returns:
      Lists of observable indices, one list per group, covering 0..M-1 once each.
    """
    from qiskit.quantum_info import PauliList

    labels = [s[::-1] for s in observables.to_strings()]
    plist = PauliList(labels)
    index = {}
    for i, lab in enumerate(labels):
        index.setdefault(lab, []).append(i)
    groups = []
    for group in plist.group_qubit_wise_commuting():
        members: list[int] = []
        for lab in group.to_labels():
            members.append(index[lab].pop(0))
        groups.append(members)
    return groups
