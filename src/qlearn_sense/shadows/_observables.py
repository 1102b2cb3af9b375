"""Pauli-string observables for classical shadows.

Conventions (used by the whole :mod:`qlearn_sense.shadows` package):

* Qubits are numbered ``0 .. n-1``.
* A Pauli string is stored densely as an int8 row of length ``n`` with codes
  ``0 = I, 1 = X, 2 = Y, 3 = Z``; entry ``j`` acts on qubit ``j``.
* String labels such as ``"XIZY"`` put qubit ``j`` at character ``j`` (qubit 0
  leftmost, the PennyLane ``pauli_word_to_string`` order). qiskit's ``Pauli``
  labels put qubit 0 *rightmost*; :meth:`PauliObservables.from_sparse_pauli_op`
  reverses them.
* Dense vectors and matrices elsewhere in the package are big-endian: qubit 0 is
  the most significant bit of the computational-basis index (PennyLane order).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["PauliObservables", "as_pauli_observables", "biomarker_observables"]

_CHAR_TO_CODE = {"I": 0, "X": 1, "Y": 2, "Z": 3}
_CODE_TO_CHAR = "IXYZ"


@dataclass(frozen=True, eq=False)
class PauliObservables:
    r"""A list of M weighted Pauli strings on n qubits, O_m = c_m P_m.

    Attributes:
      paulis: int8 array, shape (M, n), codes 0=I, 1=X, 2=Y, 3=Z; ``paulis[m, j]``
        acts on qubit j.
      coefficients: float64 array, shape (M,), real coefficients c_m.
      names: optional tuple of M short labels (e.g. ``"Z0Z1"``).
      meanings: optional tuple of M human-readable physical descriptions.

    Raises:
      ValueError: if ``paulis`` is not 2-D with codes in {0, 1, 2, 3}, if the
        coefficients do not have shape (M,) or are not finite, or if ``names`` /
        ``meanings`` do not have length M.
    """

    paulis: np.ndarray
    coefficients: np.ndarray
    names: tuple[str, ...] | None = None
    meanings: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        paulis = np.asarray(self.paulis)
        if paulis.ndim != 2:
            raise ValueError(f"paulis must have shape (M, n), got shape {paulis.shape}")
        if paulis.size and (
            not np.issubdtype(paulis.dtype, np.integer) or paulis.min() < 0 or paulis.max() > 3
        ):
            raise ValueError("paulis must be integer codes in {0=I, 1=X, 2=Y, 3=Z}")
        paulis = paulis.astype(np.int8)
        paulis.setflags(write=False)
        coeffs = np.asarray(self.coefficients, dtype=np.float64).reshape(-1)
        if coeffs.shape != (paulis.shape[0],):
            raise ValueError(
                f"coefficients must have shape ({paulis.shape[0]},), got {coeffs.shape}"
            )
        if not np.all(np.isfinite(coeffs)):
            raise ValueError("coefficients must be finite")
        coeffs.setflags(write=False)
        object.__setattr__(self, "paulis", paulis)
        object.__setattr__(self, "coefficients", coeffs)
        for field in ("names", "meanings"):
            value = getattr(self, field)
            if value is not None:
                value = tuple(str(v) for v in value)
                if len(value) != paulis.shape[0]:
                    raise ValueError(
                        f"{field} must have length {paulis.shape[0]}, got {len(value)}"
                    )
                object.__setattr__(self, field, value)

    # ------------------------------------------------------------------ basics
    @property
    def n_qubits(self) -> int:
        """Number of qubits n."""
        return int(self.paulis.shape[1])

    @property
    def weights(self) -> np.ndarray:
        """Pauli weights |supp(P_m)|, int64 array of shape (M,)."""
        return np.count_nonzero(self.paulis, axis=1).astype(np.int64)

    def __len__(self) -> int:
        return int(self.paulis.shape[0])

    def to_strings(self) -> list[str]:
        """Labels with qubit j at character j, e.g. ``["XIZ", ...]``."""
        return ["".join(_CODE_TO_CHAR[c] for c in row) for row in self.paulis]

    def __repr__(self) -> str:
        return f"PauliObservables(M={len(self)}, n={self.n_qubits})"

    # ------------------------------------------------------------ constructors
    @classmethod
    def from_strings(
        cls,
        strings: Sequence[str],
        coefficients: Sequence[float] | np.ndarray | None = None,
        *,
        names: Sequence[str] | None = None,
        meanings: Sequence[str] | None = None,
    ) -> PauliObservables:
        """Build from labels where character j is the Pauli on qubit j.

        Args:
          strings: M labels over the alphabet ``IXYZ``, all of length n >= 1
            (qubit 0 leftmost; this is the reverse of qiskit's label order).
          coefficients: real coefficients, shape (M,); default all ones.
          names: optional M short labels; default the strings themselves.
          meanings: optional M physical descriptions.

        Returns:
          PauliObservables with ``paulis`` of shape (M, n).

        Raises:
          ValueError: if ``strings`` is empty or a single ``str``, labels differ in
            length, or contain characters outside ``IXYZ``.
        """
        if isinstance(strings, str):
            raise ValueError("strings must be a sequence of labels, not a single str")
        strings = list(strings)
        if not strings:
            raise ValueError("at least one Pauli label is required")
        n = len(strings[0])
        if n == 0 or any(len(s) != n for s in strings):
            raise ValueError("all Pauli labels must be non-empty and of equal length")
        try:
            paulis = np.array([[_CHAR_TO_CODE[ch] for ch in s] for s in strings], dtype=np.int8)
        except KeyError as err:
            raise ValueError(f"invalid Pauli character {err.args[0]!r}; use I, X, Y, Z") from None
        if coefficients is None:
            coefficients = np.ones(len(strings))
        return cls(paulis, coefficients, tuple(names) if names is not None else tuple(strings),
                   meanings)

    @classmethod
    def from_sparse_pauli_op(cls, op: Any, *, atol: float = 1e-12) -> PauliObservables:
        """Build from a qiskit ``SparsePauliOp`` (one entry per term).

        qiskit labels put qubit 0 rightmost, so each label is reversed: the qiskit
        term ``"XZ"`` (Z on qubit 0, X on qubit 1) becomes our ``"ZX"``.

        Args:
          op: ``qiskit.quantum_info.SparsePauliOp`` on n qubits with M terms.
          atol: largest |imaginary part| of a coefficient (after absorbing Pauli
            phases) treated as zero.

        Returns:
          PauliObservables with M terms in the order of ``op``.

        Raises:
          ValueError: if a coefficient is not real within ``atol`` (the operator is
            not Hermitian term by term).
        """
        labels = op.paulis.to_labels()
        coeffs = np.asarray(op.coeffs, dtype=np.complex128)
        phase_of = {"": 1.0, "-": -1.0, "i": 1j, "-i": -1j}
        strings, values = [], []
        for label, c in zip(labels, coeffs):
            core = label.lstrip("-i")
            phase = phase_of[label[: len(label) - len(core)]]
            strings.append(core[::-1])
            values.append(c * phase)
        values = np.asarray(values)
        if np.any(np.abs(values.imag) > atol):
            raise ValueError("SparsePauliOp has non-real coefficients; observables must be Hermitian")
        return cls.from_strings(strings, values.real)

    @classmethod
    def from_pennylane(
        cls,
        ops: Any,
        *,
        wire_order: Sequence[Any] | None = None,
        atol: float = 1e-12,
    ) -> PauliObservables:
        """Build from PennyLane operators, e.g. ``qml.Z(0) @ qml.X(2)``.

        Each operator (or each element of a list of operators) is expanded through
        its ``pauli_rep`` (a ``PauliSentence``); every Pauli word becomes one term.
        ``PauliWord`` / ``PauliSentence`` objects are accepted directly.

        Args:
          ops: a PennyLane operator / PauliWord / PauliSentence, or a sequence of them.
          wire_order: wire labels in qubit order (qubit j = ``wire_order[j]``).
            Default: integer wires ``0 .. max_wire``.
          atol: largest |imaginary part| of a coefficient treated as zero.

        Returns:
          PauliObservables, one term per Pauli word, in encounter order.

        Raises:
          ValueError: if an operator has no Pauli representation, a coefficient is
            not real, a wire is not in ``wire_order``, or wires are not non-negative
            integers when ``wire_order`` is None.
        """
        from pennylane.pauli import PauliSentence, PauliWord

        if isinstance(ops, (PauliWord, PauliSentence)) or not isinstance(ops, (list, tuple)):
            ops = [ops]
        terms: list[tuple[dict, complex]] = []
        for op in ops:
            if isinstance(op, PauliWord):
                sentence = PauliSentence({op: 1.0})
            elif isinstance(op, PauliSentence):
                sentence = op
            else:
                sentence = getattr(op, "pauli_rep", None)
                if sentence is None:
                    raise ValueError(f"operator {op!r} has no Pauli representation")
            terms.extend((dict(word), complex(coeff)) for word, coeff in sentence.items())
        if not terms:
            raise ValueError("no Pauli terms found")
        if wire_order is None:
            wires = {w for word, _ in terms for w in word}
            if any(not isinstance(w, (int, np.integer)) or w < 0 for w in wires):
                raise ValueError("wires must be non-negative integers unless wire_order is given")
            wire_order = list(range(max(wires, default=0) + 1))
        index = {w: j for j, w in enumerate(wire_order)}
        paulis = np.zeros((len(terms), len(wire_order)), dtype=np.int8)
        coeffs = np.empty(len(terms), dtype=np.complex128)
        for m, (word, coeff) in enumerate(terms):
            for w, ch in word.items():
                if w not in index:
                    raise ValueError(f"wire {w!r} is not in wire_order")
                paulis[m, index[w]] = _CHAR_TO_CODE[ch]
            coeffs[m] = coeff
        if np.any(np.abs(coeffs.imag) > atol):
            raise ValueError("operator has non-real Pauli coefficients; observables must be Hermitian")
        strings = ["".join(_CODE_TO_CHAR[c] for c in row) for row in paulis]
        return cls(paulis, coeffs.real, tuple(strings))


def as_pauli_observables(observables: Any, n_qubits: int | None = None) -> PauliObservables:
    """Coerce ``observables`` to :class:`PauliObservables`.

    Args:
      observables: a PauliObservables, a sequence of labels (``"XIZ"``), or an
        integer code array of shape (M, n) or (n,).
      n_qubits: if given, the required number of qubits.

    Returns:
      PauliObservables.

    Raises:
      ValueError: if the input cannot be interpreted or has the wrong n.
    """
    if not isinstance(observables, PauliObservables):
        if isinstance(observables, str):
            observables = [observables]
        if isinstance(observables, (list, tuple)) and observables and isinstance(observables[0], str):
            observables = PauliObservables.from_strings(observables)
        else:
            arr = np.asarray(observables)
            if arr.ndim == 1:
                arr = arr[None, :]
            observables = PauliObservables(arr, np.ones(arr.shape[0]))
    if n_qubits is not None and observables.n_qubits != n_qubits:
        raise ValueError(
            f"observables act on {observables.n_qubits} qubits but the data has {n_qubits}"
        )
    return observables


def biomarker_observables(n: int) -> PauliObservables:
    r"""Physically motivated observables of an n-qubit sensor array.

    For each qubit j: <X_j> and <Y_j>, the transverse spin components after a
    Ramsey-type sequence. A field b_j imprints a phase phi_j on qubit j, so
    phi_j = atan2(<Y_j>, <X_j>) and the coherence |<X_j> + i <Y_j>| carries the
    signal (and its decay, the dephasing). For each pair i < j: the two-body
    longitudinal correlator <Z_i Z_j>, which reveals correlated (common-mode)
    noise, crosstalk or entanglement between sensors i and j. All are local
    (weight <= 2), so local-Pauli shadows estimate them with squared shadow norm
    3^k <= 9 (Huang, Kueng, Preskill, Nat. Phys. 16, 1050 (2020), local Pauli
    measurements; see :func:`shadow_norm_pauli`).

    Args:
      n: number of sensor qubits, n >= 1.

    Returns:
      PauliObservables with M = 2 n + n (n - 1) / 2 terms, unit coefficients,
      ``names`` like ``"X0"``, ``"Y0"``, ``"Z0Z1"`` and ``meanings`` describing each.
      Order: X_0, Y_0, X_1, Y_1, ..., then Z_i Z_j in lexicographic (i, j).

    Raises:
      ValueError: if n < 1.
    """
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer, got {n}")
    n = int(n)
    rows, names, meanings = [], [], []
    for j in range(n):
        for code, axis, what in (
            (1, "X", "in-phase transverse spin component (cos of the signal phase times coherence)"),
            (2, "Y", "quadrature transverse spin component (sin of the signal phase times coherence)"),
        ):
            row = np.zeros(n, dtype=np.int8)
            row[j] = code
            rows.append(row)
            names.append(f"{axis}{j}")
            meanings.append(f"<{axis}_{j}>: qubit {j} {what}")
    for i in range(n):
        for j in range(i + 1, n):
            row = np.zeros(n, dtype=np.int8)
            row[i] = row[j] = 3
            rows.append(row)
            names.append(f"Z{i}Z{j}")
            meanings.append(
                f"<Z_{i} Z_{j}>: two-body longitudinal correlator of qubits {i} and {j} "
                "(correlated noise, crosstalk or entanglement between the two sensors)"
            )
    paulis = np.array(rows, dtype=np.int8).reshape(-1, n)
    return PauliObservables(paulis, np.ones(len(rows)), tuple(names), tuple(meanings))
