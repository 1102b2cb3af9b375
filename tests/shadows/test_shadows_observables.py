"""PauliObservables constructors, conventions and biomarker sets."""

import numpy as np
import pennylane as qml
import pytest
from qiskit.quantum_info import Pauli, SparsePauliOp

from qlearn_sense.shadows import PauliObservables, biomarker_observables, estimate_paulis


def test_from_strings_codes_and_order():
    obs = PauliObservables.from_strings(["XIZY", "IIII"], [0.5, -2.0])
    np.testing.assert_array_equal(obs.paulis, [[1, 0, 3, 2], [0, 0, 0, 0]])
    np.testing.assert_array_equal(obs.weights, [3, 0])
    assert obs.to_strings() == ["XIZY", "IIII"]
    assert obs.names == ("XIZY", "IIII")
    assert obs.n_qubits == 4 and len(obs) == 2
    assert obs.paulis.dtype == np.int8 and not obs.paulis.flags.writeable


def test_from_sparse_pauli_op_reverses_qiskit_labels():
    op = SparsePauliOp(["XZY", "IIZ", "-iYXI"], coeffs=[1.5, -0.25, 1j])
    obs = PauliObservables.from_sparse_pauli_op(op)
    for m, label in enumerate(["XZY", "IIZ", "YXI"]):
        qiskit_pauli = Pauli(label)
        # our character j must be qiskit's Pauli on qubit j
        assert obs.to_strings()[m] == "".join(str(qiskit_pauli[j]) for j in range(3))
    np.testing.assert_allclose(obs.coefficients, [1.5, -0.25, 1.0])


def test_from_sparse_pauli_op_rejects_complex():
    with pytest.raises(ValueError, match="non-real"):
        PauliObservables.from_sparse_pauli_op(SparsePauliOp(["XZ"], coeffs=[1j]))


def test_from_pennylane_words_sums_and_wire_order():
    obs = PauliObservables.from_pennylane(qml.Z(0) @ qml.X(2))
    assert obs.to_strings() == ["ZIX"]
    H = 0.5 * qml.Z(0) @ qml.X(2) + 0.3 * qml.Y(1)
    obs = PauliObservables.from_pennylane([H, qml.X(1)])
    assert sorted(zip(obs.to_strings(), obs.coefficients)) == sorted(
        [("ZIX", 0.5), ("IYI", 0.3), ("IXI", 1.0)]
    )
    obs = PauliObservables.from_pennylane(qml.X("a") @ qml.Y("c"), wire_order=["c", "b", "a"])
    assert obs.to_strings() == ["YIX"]
    word = qml.pauli.PauliWord({0: "Y", 1: "Z"})
    assert PauliObservables.from_pennylane(word).to_strings() == ["YZ"]


@pytest.mark.parametrize(
    "ops, kwargs, match",
    [
        (qml.Hermitian(np.eye(2), wires=0), {}, "no Pauli representation"),
        (qml.RX(0.3, wires=0), {}, "no Pauli representation"),
        (qml.pauli.PauliSentence({qml.pauli.PauliWord({0: "X"}): 1j}), {}, "non-real"),
        (qml.X("a"), {}, "non-negative integers"),
        (qml.X(3), {"wire_order": [0, 1]}, "not in wire_order"),
        ([], {}, "no Pauli terms"),
    ],
)
def test_from_pennylane_errors(ops, kwargs, match):
    with pytest.raises(ValueError, match=match):
        PauliObservables.from_pennylane(ops, **kwargs)


@pytest.mark.parametrize(
    "args, match",
    [
        ((["XQ"],), "invalid Pauli character"),
        ((["XI", "X"],), "equal length"),
        (([],), "at least one"),
        (("XZ",), "single str"),
        ((["XZ"], [1.0, 2.0]), "coefficients must have shape"),
        ((["XZ"], [np.inf]), "finite"),
    ],
)
def test_from_strings_errors(args, match):
    with pytest.raises(ValueError, match=match):
        PauliObservables.from_strings(*args)


def test_constructor_errors():
    with pytest.raises(ValueError, match=r"shape \(M, n\)"):
        PauliObservables(np.zeros(3, dtype=int), np.ones(1))
    with pytest.raises(ValueError, match="integer codes"):
        PauliObservables(np.array([[4, 0]]), np.ones(1))
    with pytest.raises(ValueError, match="names must have length"):
        PauliObservables(np.array([[1, 0]]), np.ones(1), names=("a", "b"))


def test_wrong_qubit_count_rejected_by_estimator(rng):
    recipes = rng.integers(0, 3, (10, 3))
    bits = rng.integers(0, 2, (10, 3))
    with pytest.raises(ValueError, match="act on 2 qubits"):
        estimate_paulis(recipes, bits, ["XZ"])


def test_biomarker_observables():
    n = 4
    obs = biomarker_observables(n)
    assert len(obs) == 2 * n + n * (n - 1) // 2
    assert obs.names[:4] == ("X0", "Y0", "X1", "Y1")
    assert obs.names[2 * n] == "Z0Z1" and obs.names[-1] == "Z2Z3"
    assert obs.to_strings()[2 * n] == "ZZII"
    assert "phase" in obs.meanings[0] and "correlator" in obs.meanings[-1]
    assert set(obs.weights[: 2 * n]) == {1} and set(obs.weights[2 * n :]) == {2}
    with pytest.raises(ValueError, match="positive integer"):
        biomarker_observables(0)
