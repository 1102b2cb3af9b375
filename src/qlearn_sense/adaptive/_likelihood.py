"""Outcome likelihoods for sequential inference: closed-form Ramsey and any compiled protocol.

A likelihood here is a pure function ``outcome_probs(x, setting) -> p`` with
``x`` the particles, shape (P, D) (column 0 the field in T; optional nuisance
columns T2 in s and readout contrast), ``setting`` shape (3,) =
``(t_s, readout_phase_rad, clock_s)`` (interrogation time, phase of the
readout axis, start of the window on the experiment clock) and ``p`` shape
(P, K), the probability of each of the K outcomes. The same interface serves
the grid posterior (P grid points, D = 1), the particle filter, the design
policies and tracking (whose models read ``clock_s``).
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

from qlearn_sense import _jax  # noqa: F401
import jax
import jax.numpy as jnp

Array = jax.Array
OutcomeProbs = Callable[[Array, Array], Array]
"""``(x (P, D), setting (3,)) -> p (P, K)``: outcome probabilities per particle."""

SETTING_SIZE = 3
"""A setting is ``(t_s, readout_phase_rad, clock_s)``."""


class RamseyModel(NamedTuple):
    """Ramsey precession of one spin (or an n-qubit GHZ-type register) with decoherence and readout noise.

    P(read 0 | B, t, theta) = (1 - p01) q + p10 (1 - q), with
    q = (1 + c exp(-(t/T2)^p) cos(n 2 pi gamma B t - theta)) / 2
    (Degen, Reinhard, Cappellaro, Rev. Mod. Phys. 89, 035002 (2017), eq. (38);
    readout as a binary channel as in :class:`qlearn_sense.protocol.Noise`).

    Attributes:
      gyromagnetic_ratio_Hz_per_T: gamma/2pi, Hz/T.
      t2_s: coherence time T2 (T2* for Ramsey), s; ``inf`` for none. Used
        when T2 is not a particle column.
      stretch_exponent: p of the decay exp(-(t/T2)^p).
      contrast: c, fringe visibility in (0, 1]; used when not a particle column.
      p01: readout error P(read 1 | state 0).
      p10: readout error P(read 0 | state 1).
      n_qubits: phase multiplier n (1 for a single spin, n for a GHZ register).
      t2_column: particle column holding T2 (s), or -1.
      contrast_column: particle column holding the contrast, or -1.
    """

    gyromagnetic_ratio_Hz_per_T: float
    t2_s: float = math.inf
    stretch_exponent: float = 1.0
    contrast: float = 1.0
    p01: float = 0.0
    p10: float = 0.0
    n_qubits: int = 1
    t2_column: int = -1
    contrast_column: int = -1


_TWO_PI_HI = 6.283185307179586  # 2 pi = HI + LO (Cody-Waite split, float64)
_TWO_PI_LO = 2.4492935982947064e-16


def _reduce_2pi(a: Array) -> Array:
    """``a`` minus the nearest multiple of 2 pi, elementwise (Cody-Waite, two-constant reduction).

    The long interrogation times of Heisenberg-limited learning give phases of 1e3 to 1e9 rad,
    for which XLA's CPU cosine takes its slow large-argument path (3 to 5x the cost of the whole
    update); the result agrees with the unreduced cosine to a few ulp of ``a``.
    """
    k = jnp.round(a * (1.0 / (2 * jnp.pi)))
    return (a - k * _TWO_PI_HI) - k * _TWO_PI_LO


def ramsey_p0(model: RamseyModel, x: Array, setting: Array) -> Array:
    """Probability of reading 0, shape (P,), for particles ``x`` (P, D) and one setting (3,).

    See :class:`RamseyModel` for the formula. ``x[:, 0]`` is the field in T.
    """
    t, theta = setting[0], setting[1]
    field = x[:, 0]
    t2 = x[:, model.t2_column] if model.t2_column >= 0 else model.t2_s
    c = x[:, model.contrast_column] if model.contrast_column >= 0 else model.contrast
    eta = jnp.exp(-((t / jnp.maximum(t2, 1e-300)) ** model.stretch_exponent))
    phase = _reduce_2pi(model.n_qubits * 2 * jnp.pi * model.gyromagnetic_ratio_Hz_per_T * field * t)
    q = 0.5 * (1.0 + c * eta * jnp.cos(phase - theta))
    return (1.0 - model.p01) * q + model.p10 * (1.0 - q)


def ramsey_outcome_probs(model: RamseyModel) -> OutcomeProbs:
    """The :data:`OutcomeProbs` of a :class:`RamseyModel`: columns (P(0), P(1)), shape (P, 2)."""

    def probs(x: Array, setting: Array) -> Array:
        p0 = jnp.clip(ramsey_p0(model, x, setting), 0.0, 1.0)
        return jnp.stack([p0, 1.0 - p0], axis=-1)

    return probs


def protocol_outcome_probs(probs_fn: Callable[[Array, Array], Array], gyromagnetic_ratio_Hz_per_T: float,
                           theta_of_phase: Callable[[Array], Array]) -> OutcomeProbs:
    """Likelihood hook for any compiled protocol exposing ``probs(theta, phi)``.

    The phase per qubit is ``phi = 2 pi gamma B t`` (as in
    :mod:`qlearn_sense.physics`); the protocol applies its own entangled
    encoding, decoherence and readout noise as compiled (its noise is that of
    the design's interrogation time). Works for the register engine
    (:func:`qlearn_sense.protocol.compile_jax`) and for any engine with the same
    ``probs(theta, phi) -> (K,)`` signature (e.g. a collective engine).

    Args:
      probs_fn: ``(theta (n_params,), phi scalar rad) -> p (K,)``.
      gyromagnetic_ratio_Hz_per_T: gamma/2pi, Hz/T.
      theta_of_phase: maps the setting's readout phase (rad) to the protocol
        parameters ``theta`` (e.g. :func:`ramsey_readout_params`).

    Returns:
      :data:`OutcomeProbs`, shape (P, K).
    """

    def probs(x: Array, setting: Array) -> Array:
        theta = theta_of_phase(setting[1])
        phis = 2 * jnp.pi * gyromagnetic_ratio_Hz_per_T * x[:, 0] * setting[0]
        return jnp.clip(jax.vmap(lambda phi: probs_fn(theta, phi))(phis), 0.0, 1.0)

    return probs


def ramsey_readout_params(n_qubits: int, n_prep_params: int = 0) -> Callable[[Array], Array]:
    """``theta_of_phase`` for a protocol with a ``local`` measurement ansatz (RZ(a) RY(b) per qubit).

    Reading qubit j with ``a = -phase``, ``b = -pi/2`` gives P(0) = (1 + eta cos(phi - phase))/2
    (checked against :func:`ramsey_p0` in the tests). Preparation parameters are zero.

    Args:
      n_qubits: n.
      n_prep_params: number of preparation parameters before the measurement ones.
    """

    def theta(phase: Array) -> Array:
        meas = jnp.tile(jnp.stack([-phase, jnp.asarray(-jnp.pi / 2, dtype=jnp.float64)]), n_qubits)
        return jnp.concatenate([jnp.zeros(n_prep_params), meas])

    return theta
