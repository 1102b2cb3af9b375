"""Ansatz library: preparation and measurement ansatze chosen by registry name.

Each builder takes ``(n_qubits, layers, first_param)`` and returns
``(gates, n_params_used)``. Registries: :data:`PREPARATIONS`, :data:`MEASUREMENTS`.
"""

from __future__ import annotations

import math
from typing import Callable

from qlearn_sense.protocol._protocol import Gate, Noise, Protocol

Builder = Callable[[int, int, int], tuple[tuple[Gate, ...], int]]

HALF_PI = math.pi / 2


def _ramsey(n: int, layers: int, p0: int):
    """Ramsey / product state |+>^n: RY(pi/2) on every qubit (no parameters)."""
    return tuple(Gate("ry", (j,), offset=HALF_PI) for j in range(n)), 0


def _product(n: int, layers: int, p0: int):
    """General product state: RY(a_j) RZ(b_j) per qubit (2n parameters)."""
    gates, p = [], p0
    for j in range(n):
        gates += [Gate("ry", (j,), param=p, offset=HALF_PI), Gate("rz", (j,), param=p + 1)]
        p += 2
    return tuple(gates), p - p0


def _ghz(n: int, layers: int, p0: int):
    """GHZ state (|0..0> + |1..1>)/sqrt(2): H on qubit 0, CNOT chain (no parameters)."""
    gates = [Gate("h", (0,))] + [Gate("cnot", (j, j + 1)) for j in range(n - 1)]
    return tuple(gates), 0


def _hea(n: int, layers: int, p0: int):
    """Hardware-efficient ansatz: ``layers`` x (RY, RZ on each qubit; CNOT chain), then RY, RZ.

    Parameters: ``2 n (layers + 1)``. The final rotation layer makes the
    reachable set closed under local unitaries (needed for GHZ-like optima).
    """
    gates, p = [], p0
    for _layer in range(layers):
        for j in range(n):
            gates += [Gate("ry", (j,), param=p), Gate("rz", (j,), param=p + 1)]
            p += 2
        gates += [Gate("cnot", (j, j + 1)) for j in range(n - 1)]
    for j in range(n):
        gates += [Gate("ry", (j,), param=p), Gate("rz", (j,), param=p + 1)]
        p += 2
    return tuple(gates), p - p0


def _oat(n: int, layers: int, p0: int):
    """Collective one-axis-twisting ansatz (Kitagawa & Ueda, PRA 47, 5138 (1993)).

    Coherent spin state along x (RY(pi/2) on all), then ``layers`` x
    [twist ``exp(-i mu Jz^2)`` = prod_{i<j} RZZ(mu) (up to a global phase),
    collective rotation ``exp(-i nu Jx)`` = prod_j RX(nu)], with ``Jz = sum_j Z_j/2``
    and one shared ``mu`` and ``nu`` per layer, then a final collective RZ.
    Kitagawa & Ueda's twisting strength is ``2 mu`` (their ``exp(-i mu_KU Jz^2 / 2)``).
    Parameters: ``2 layers + 1``.
    """
    gates = [Gate("ry", (j,), offset=HALF_PI) for j in range(n)]
    p = p0
    for _layer in range(layers):
        gates += [Gate("rzz", (i, j), param=p) for i in range(n) for j in range(i + 1, n)]
        gates += [Gate("rx", (j,), param=p + 1) for j in range(n)]
        p += 2
    gates += [Gate("rz", (j,), param=p) for j in range(n)]
    p += 1
    return tuple(gates), p - p0


def _meas_none(n: int, layers: int, p0: int):
    """Plain computational-basis readout (no gates)."""
    return (), 0


def _meas_local(n: int, layers: int, p0: int):
    """Local projective measurement along any Bloch axis: RZ(a_j) then RY(b_j) (2n parameters).

    Initialized at ``a = b = 0`` this reads Z; the optimizer turns each qubit's
    axis (e.g. to the Ramsey quadrature, the Y axis).
    """
    gates, p = [], p0
    for j in range(n):
        gates += [Gate("rz", (j,), param=p), Gate("ry", (j,), param=p + 1)]
        p += 2
    return tuple(gates), p - p0


def _meas_hea(n: int, layers: int, p0: int):
    """Entangling measurement ansatz: ``layers`` x (CNOT chain; RY, RZ per qubit) after a local layer."""
    gates, used = _meas_local(n, 0, p0)
    gates, p = list(gates), p0 + used
    for _layer in range(layers):
        gates += [Gate("cnot", (j, j + 1)) for j in range(n - 1)]
        for j in range(n):
            gates += [Gate("rz", (j,), param=p), Gate("ry", (j,), param=p + 1)]
            p += 2
    return tuple(gates), p - p0


def _meas_ghz_parity(n: int, layers: int, p0: int):
    """GHZ readout: undo the CNOT chain, then measure qubit 0 along a tunable axis (2 parameters)."""
    gates = [Gate("cnot", (j - 1, j)) for j in range(n - 1, 0, -1)]
    gates += [Gate("rz", (0,), param=p0), Gate("ry", (0,), param=p0 + 1, offset=-HALF_PI)]
    return tuple(gates), 2


PREPARATIONS: dict[str, Builder] = {
    "ramsey": _ramsey,
    "product": _product,
    "ghz": _ghz,
    "hea": _hea,
    "oat": _oat,
}
"""Preparation ansatze by registry name."""

MEASUREMENTS: dict[str, Builder] = {
    "none": _meas_none,
    "local": _meas_local,
    "hea": _meas_hea,
    "ghz_parity": _meas_ghz_parity,
}
"""Measurement ansatze by registry name."""


def build_protocol(n_qubits: int, preparation: str = "hea", measurement: str = "local", *,
                   prep_layers: int = 2, meas_layers: int = 1, noise: Noise | None = None,
                   name: str | None = None) -> Protocol:
    """Assemble a :class:`Protocol` from registry names.

    Args:
      n_qubits: number of sensor qubits (1..12).
      preparation: key of :data:`PREPARATIONS`.
      measurement: key of :data:`MEASUREMENTS`.
      prep_layers: layers of the preparation ansatz (where it has layers), >= 0.
      meas_layers: layers of the measurement ansatz (where it has layers), >= 0.
      noise: noise channel; ideal when None.
      name: label; defaults to ``"<preparation>-<measurement>-n<n>"``.

    Returns:
      The protocol; ``theta`` has the preparation parameters first.

    Raises:
      ValueError: unknown ansatz name (the message lists the valid ones), or
        negative layer counts, or an invalid register size.
    """
    if preparation not in PREPARATIONS:
        raise ValueError(f"preparation ansatz {preparation!r} is unknown; accepted: {sorted(PREPARATIONS)}")
    if measurement not in MEASUREMENTS:
        raise ValueError(f"measurement ansatz {measurement!r} is unknown; accepted: {sorted(MEASUREMENTS)}")
    if prep_layers < 0 or meas_layers < 0:
        raise ValueError(f"layers must be >= 0, got prep_layers={prep_layers}, meas_layers={meas_layers}")
    prep, n_prep = PREPARATIONS[preparation](n_qubits, prep_layers, 0)
    meas, n_meas = MEASUREMENTS[measurement](n_qubits, meas_layers, n_prep)
    return Protocol(
        n_qubits=n_qubits, prep=prep, measure=meas, n_params=n_prep + n_meas, n_prep_params=n_prep,
        noise=noise if noise is not None else Noise.ideal(n_qubits),
        name=name or f"{preparation}-{measurement}-n{n_qubits}",
        meta=(("preparation", preparation), ("measurement", measurement),
              ("prep_layers", str(prep_layers)), ("meas_layers", str(meas_layers))),
    )
