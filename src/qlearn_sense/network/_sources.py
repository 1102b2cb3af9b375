"""Physical source models and the lead-field matrix of a sensor network (SI units).

* Magnetic point dipole (a magnetic label, a nanoparticle cluster) through
  magpylib's ``Dipole`` (SI since magpylib 5: moment in A m^2, field in T).
* Current dipole in a spherically symmetric conductor (a neural or cardiac
  source) by the closed form of Sarvas, Phys. Med. Biol. 32, 11 (1987), eq. (25):
  the field outside the sphere does not depend on the conductivity profile, and
  a radial dipole produces none. MNE-Python computes the same formula only
  inside its private forward-model code (``mne.forward._compute_forward._sphere_field``,
  which needs MEG coil definitions), so it is implemented here and checked
  against MNE in the tests.
* ``node_field``: the parameter *is* the field at one node along one axis (lead
  field = 1), for gradiometers and vector magnetometry.

The lead field ``L`` maps the source parameters theta (k,) to the field
components the nodes sense: ``B = L @ theta`` with one row per (node, axis)
channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np

MU0 = 4e-7 * np.pi * 1.00000000055
"""Vacuum permeability in T m / A (CODATA 2018: 1.25663706212e-6)."""

AXES = {"x": 0, "y": 1, "z": 2}


def magnetic_dipole_field(moment_Am2: Sequence[float], position_m: Sequence[float],
                          observers_m: np.ndarray) -> np.ndarray:
    """Field of a magnetic point dipole, via magpylib.

    B(r) = mu0 / (4 pi) [3 (m . u) u - m] / |r - r0|^3 with u the unit vector from
    the dipole to the observer (Jackson, Classical Electrodynamics, 3rd ed., eq. 5.56).

    Args:
      moment_Am2: dipole moment m, shape (3,), A m^2.
      position_m: dipole position r0, shape (3,), m.
      observers_m: observer positions, shape (n, 3), m.

    Returns:
      Field, shape (n, 3), T.

    Raises:
      ValueError: an observer at the dipole position (the field diverges).
    """
    from magpylib.misc import Dipole

    obs = np.atleast_2d(np.asarray(observers_m, dtype=float))
    if np.any(np.linalg.norm(obs - np.asarray(position_m, dtype=float), axis=1) < 1e-12):
        raise ValueError("an observer sits at the magnetic dipole position; the field diverges there")
    b = Dipole(position=tuple(position_m), moment=tuple(moment_Am2)).getB(obs)
    return np.asarray(b, dtype=float).reshape(obs.shape[0], 3)


def current_dipole_field_sphere(q_Am: Sequence[float], position_m: Sequence[float], observers_m: np.ndarray,
                                center_m: Sequence[float] = (0.0, 0.0, 0.0)) -> np.ndarray:
    """Field outside a spherically symmetric conductor from a current dipole inside it (Sarvas 1987).

    B(r) = mu0 / (4 pi F^2) [F Q x r0 - ((Q x r0) . r) grad F], with a = r - r0,
    F = a (r a + r^2 - r0 . r), grad F = (a^2 / r + a . r / a + 2 a + 2 r) r
    - (a + 2 r + a . r / a) r0, all relative to the sphere centre
    (Sarvas, Phys. Med. Biol. 32, 11 (1987), eq. (25)).

    Args:
      q_Am: current dipole moment Q, shape (3,), A m.
      position_m: dipole position r0 (inside the sphere), shape (3,), m.
      observers_m: observer positions outside the sphere, shape (n, 3), m.
      center_m: sphere centre, shape (3,), m.

    Returns:
      Field, shape (n, 3), T. A radial dipole (Q parallel to r0) gives zero.

    Raises:
      ValueError: an observer no farther from the centre than the dipole (the
        formula holds outside the conductor only).
    """
    c = np.asarray(center_m, dtype=float)
    r = np.atleast_2d(np.asarray(observers_m, dtype=float)) - c
    r0 = np.asarray(position_m, dtype=float) - c
    q = np.asarray(q_Am, dtype=float)
    rn = np.linalg.norm(r, axis=1)
    if np.any(rn <= np.linalg.norm(r0)):
        raise ValueError("current_dipole: every observer must be farther from the sphere centre than the dipole")
    av = r - r0
    a = np.linalg.norm(av, axis=1)
    adotr = np.sum(av * r, axis=1)
    f = a * (rn * a + rn**2 - r @ r0)
    grad_f = ((a**2 / rn + adotr / a + 2 * a + 2 * rn)[:, None] * r
              - (a + 2 * rn + adotr / a)[:, None] * r0[None, :])
    qxr0 = np.cross(q, r0)
    return MU0 / (4 * np.pi) * (f[:, None] * qxr0[None, :] - (r @ qxr0)[:, None] * grad_f) / (f**2)[:, None]


@dataclass(frozen=True)
class Source:
    """One source parameter of the network (the field is linear in its amplitude).

    Attributes:
      kind: ``node_field`` (the field at ``node`` along ``axis``, T),
        ``magnetic_dipole`` (moment amplitude, A m^2, along ``direction``) or
        ``current_dipole`` (moment amplitude, A m, along ``direction``, inside a
        conducting sphere centred at ``center_m``).
      value: true amplitude (T, A m^2 or A m).
      name: label.
      node: node index (``node_field`` only).
      axis: ``x``, ``y`` or ``z`` (``node_field`` only).
      position_m: source position, shape (3,), m (dipoles).
      direction: unit moment direction, shape (3,) (dipoles; normalised here).
      center_m: sphere centre, shape (3,), m (``current_dipole``).
    """

    kind: Literal["node_field", "magnetic_dipole", "current_dipole"]
    value: float
    name: str = "source"
    node: int = 0
    axis: str = "z"
    position_m: tuple[float, float, float] = (0.0, 0.0, 0.0)
    direction: tuple[float, float, float] = (0.0, 0.0, 1.0)
    center_m: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @property
    def unit(self) -> str:
        """SI unit of the amplitude."""
        return {"node_field": "T", "magnetic_dipole": "A m^2", "current_dipole": "A m"}[self.kind]


def lead_field(sources: Sequence[Source], node_positions_m: np.ndarray,
               channels: Sequence[tuple[int, str]]) -> np.ndarray:
    """Lead-field matrix: field per unit source amplitude at every sensing channel.

    Args:
      sources: the k source parameters.
      node_positions_m: node positions, shape (M, 3), m.
      channels: (node index, axis) per sensing channel, length C.

    Returns:
      L, shape (C, k), in T per unit amplitude (1 for ``node_field``, T/(A m^2),
      T/(A m)): ``B_channels = L @ theta``.

    Raises:
      ValueError: a source kind that is unknown, or a node index outside the network.
    """
    pos = np.atleast_2d(np.asarray(node_positions_m, dtype=float))
    out = np.zeros((len(channels), len(sources)))
    for k, s in enumerate(sources):
        d = np.asarray(s.direction, dtype=float)
        d = d / np.linalg.norm(d)
        if s.kind == "node_field":
            if not 0 <= s.node < len(pos):
                raise ValueError(f"source {s.name!r}: node index {s.node} outside 0..{len(pos) - 1}")
            b = None
        elif s.kind == "magnetic_dipole":
            b = magnetic_dipole_field(d, s.position_m, pos)
        elif s.kind == "current_dipole":
            b = current_dipole_field_sphere(d, s.position_m, pos, s.center_m)
        else:
            raise ValueError(f"source kind {s.kind!r} is unknown; accepted: node_field, magnetic_dipole, "
                             "current_dipole")
        for c, (node, axis) in enumerate(channels):
            if b is None:
                out[c, k] = float(node == s.node and axis == s.axis)
            else:
                out[c, k] = b[node, AXES[axis]]
    return out
