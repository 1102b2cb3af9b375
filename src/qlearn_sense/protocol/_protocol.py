"""Backend-neutral sensing protocols: a gate list plus a parameter layout.

A :class:`Protocol` is plain, hashable data. The JAX simulator
(:func:`qlearn_sense.protocol.compile_jax`) and the qiskit circuit
(:func:`qlearn_sense.protocol.to_qiskit`) are both compiled from it.

Structure of every protocol on ``n`` sensor qubits, all starting in ``|0...0>``::

    preparation gates (params) -> signal encoding exp(-i phi sum_j Z_j / 2)
      -> noise (local dephasing, amplitude damping) -> measurement gates (params)
      -> computational-basis readout with bit-flip errors

Bit order: every public probability vector, density matrix and state vector is
indexed little-endian, ``k = sum_j b_j 2**j`` with ``b_j`` the bit of qubit ``j``
(qiskit's convention: qubit 0 is the rightmost character of a bitstring).
PennyLane uses the opposite order (wire 0 most significant).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

SINGLE_QUBIT_GATES = ("rx", "ry", "rz", "h", "x", "s", "sdg")
TWO_QUBIT_GATES = ("cnot", "cz", "rzz")
PARAMETRIC_GATES = ("rx", "ry", "rz", "rzz")
MAX_QUBITS = 12
"""Largest register the embedded density-matrix engine holds (4**12 complex entries)."""


@dataclass(frozen=True)
class Gate:
    """One gate of a protocol.

    The rotation angle (radians) of a parametric gate is
    ``scale * params[param] + offset``, or ``offset`` alone when ``param`` is None.
    Sharing one ``param`` index between gates builds collective rotations.

    Attributes:
      name: one of ``rx, ry, rz, h, x, s, sdg, cnot, cz, rzz``. ``rzz(a)`` is
        ``exp(-i a Z Z / 2)`` (qiskit's RZZGate).
      wires: qubit indices, length 1 or 2 (control first for ``cnot``).
      param: index into the flat parameter vector, or None for a fixed angle.
      scale: multiplier of the parameter.
      offset: constant angle added, in radians.

    Raises:
      ValueError: unknown gate name, wrong number of wires, repeated wire, or a
        parameter on a non-parametric gate.
    """

    name: str
    wires: tuple[int, ...]
    param: int | None = None
    scale: float = 1.0
    offset: float = 0.0

    def __post_init__(self) -> None:
        if self.name not in SINGLE_QUBIT_GATES + TWO_QUBIT_GATES:
            raise ValueError(
                f"gate name {self.name!r} is unknown; accepted: "
                f"{', '.join(SINGLE_QUBIT_GATES + TWO_QUBIT_GATES)}"
            )
        arity = 1 if self.name in SINGLE_QUBIT_GATES else 2
        if len(self.wires) != arity or len(set(self.wires)) != arity:
            raise ValueError(f"gate {self.name!r} needs {arity} distinct wire(s), got {self.wires}")
        if self.param is not None and self.name not in PARAMETRIC_GATES:
            raise ValueError(f"gate {self.name!r} takes no parameter (got param={self.param})")

    @property
    def parametric(self) -> bool:
        """True for rotation gates (whose angle is ``scale*theta+offset``)."""
        return self.name in PARAMETRIC_GATES


@dataclass(frozen=True)
class Noise:
    """Physically derived noise of the sensor qubits during one interrogation.

    The channel acts together with the signal encoding; both local dephasing and
    amplitude damping are phase covariant, so their order relative to the
    encoding does not matter.

    Attributes:
      eta: total coherence factor per qubit, shape (n,), each in (0, 1]:
        the off-diagonal element rho_01 is multiplied by ``eta`` (e.g.
        ``exp(-(t/T2)**p)``). When amplitude damping is present, the pure
        dephasing part is ``eta / sqrt(1 - gamma)``, so that the total decay
        stays ``eta`` (T2 already contains the T1 contribution 1/(2 T1)).
      gamma: amplitude-damping probability per qubit, ``1 - exp(-t/T1)``,
        shape (n,), each in [0, 1).
      p01: readout error P(read 1 | state 0) per qubit, shape (n,).
      p10: readout error P(read 0 | state 1) per qubit, shape (n,).

    Raises:
      ValueError: a value outside its range, or ``eta > sqrt(1 - gamma)``
        (coherence longer than amplitude damping allows, i.e. T2 > 2 T1).
    """

    eta: tuple[float, ...]
    gamma: tuple[float, ...] = ()
    p01: tuple[float, ...] = ()
    p10: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        n = len(self.eta)
        for name in ("gamma", "p01", "p10"):
            value = getattr(self, name)
            if len(value) == 0:
                object.__setattr__(self, name, (0.0,) * n)
            elif len(value) != n:
                raise ValueError(f"Noise.{name} has length {len(value)}; expected {n} (one per qubit)")
        for j, e in enumerate(self.eta):
            if not 0.0 < e <= 1.0:
                raise ValueError(f"Noise.eta[{j}] = {e}; accepted: 0 < eta <= 1")
        for j, g in enumerate(self.gamma):
            if not 0.0 <= g < 1.0:
                raise ValueError(f"Noise.gamma[{j}] = {g}; accepted: 0 <= gamma < 1")
            if self.eta[j] > math.sqrt(1.0 - g) * (1 + 1e-12):
                raise ValueError(
                    f"Noise.eta[{j}] = {self.eta[j]} exceeds sqrt(1 - gamma) = {math.sqrt(1 - g):.6g}: "
                    "T2 may not exceed 2 T1"
                )
        for name in ("p01", "p10"):
            for j, p in enumerate(getattr(self, name)):
                if not 0.0 <= p < 0.5:
                    raise ValueError(f"Noise.{name}[{j}] = {p}; accepted: 0 <= p < 0.5")

    @classmethod
    def ideal(cls, n_qubits: int) -> "Noise":
        """No noise on ``n_qubits`` qubits."""
        return cls(eta=(1.0,) * n_qubits)

    @classmethod
    def uniform(cls, n_qubits: int, eta: float = 1.0, gamma: float = 0.0,
                p01: float = 0.0, p10: float = 0.0) -> "Noise":
        """The same noise on every qubit."""
        return cls(eta=(eta,) * n_qubits, gamma=(gamma,) * n_qubits,
                   p01=(p01,) * n_qubits, p10=(p10,) * n_qubits)

    @property
    def dephasing(self) -> tuple[float, ...]:
        """Pure-dephasing factor per qubit, ``eta / sqrt(1 - gamma)`` (capped at 1)."""
        return tuple(min(1.0, e / math.sqrt(1.0 - g)) for e, g in zip(self.eta, self.gamma))

    @property
    def is_ideal(self) -> bool:
        """True when the channel is the identity and readout is perfect."""
        return all(e == 1.0 for e in self.eta) and not any(self.gamma) and not any(self.p01) and not any(self.p10)


@dataclass(frozen=True)
class Protocol:
    """A sensing protocol on ``n_qubits`` qubits.

    Attributes:
      n_qubits: number of sensor qubits, 1..12 for the embedded engine.
      prep: preparation gates (act on ``|0...0>``).
      measure: measurement-ansatz gates (act after encoding and noise).
      n_params: length of the flat parameter vector ``theta``; prep parameters
        come first, then measurement parameters.
      n_prep_params: how many leading entries of ``theta`` the preparation uses.
      noise: the noise channel and readout errors.
      name: a label (used in file names).

    Raises:
      ValueError: a gate acts on a qubit outside the register, refers to a
        parameter index outside ``[0, n_params)``, a preparation gate uses a
        measurement parameter, or ``n_qubits`` is outside 1..12.
    """

    n_qubits: int
    prep: tuple[Gate, ...]
    measure: tuple[Gate, ...]
    n_params: int
    n_prep_params: int
    noise: Noise
    name: str = "protocol"
    meta: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        if not 1 <= self.n_qubits <= MAX_QUBITS:
            raise ValueError(f"n_qubits = {self.n_qubits}; accepted: 1..{MAX_QUBITS}")
        if len(self.noise.eta) != self.n_qubits:
            raise ValueError(f"noise is for {len(self.noise.eta)} qubits; protocol has {self.n_qubits}")
        for where, gates in (("prep", self.prep), ("measure", self.measure)):
            for g in gates:
                if any(not 0 <= w < self.n_qubits for w in g.wires):
                    raise ValueError(f"{where} gate {g} acts outside qubits 0..{self.n_qubits - 1}")
                if g.param is not None and not 0 <= g.param < self.n_params:
                    raise ValueError(f"{where} gate {g} uses parameter {g.param}; n_params = {self.n_params}")
                if where == "prep" and g.param is not None and g.param >= self.n_prep_params:
                    raise ValueError(f"prep gate {g} uses measurement parameter {g.param}")

    @property
    def dim(self) -> int:
        """Hilbert-space dimension ``2**n_qubits``."""
        return 2 ** self.n_qubits

    def with_noise(self, noise: Noise) -> "Protocol":
        """The same gates with another noise channel."""
        return Protocol(self.n_qubits, self.prep, self.measure, self.n_params,
                        self.n_prep_params, noise, self.name, self.meta)
