"""Experiment-design policies: the next interrogation time and readout phase from the posterior.

A policy is a pure function ``policy(state, key) -> setting`` with ``setting``
shape (3,) = ``(t_s, readout_phase_rad, 0.0)`` (the loop fills the clock).
Every policy caps the interrogation time at ``t_max_s`` (the coherence cap,
see :func:`coherence_cap_s`).
"""

from __future__ import annotations

import math
from typing import Callable

from qlearn_sense import _jax  # noqa: F401
import jax
import jax.numpy as jnp
import numpy as np

from qlearn_sense.adaptive._likelihood import OutcomeProbs
from qlearn_sense.adaptive._smc import SMCState

Array = jax.Array
Policy = Callable[[SMCState, Array], Array]
"""``(state, key) -> setting (3,)``."""

POLICIES = ("particle_guess", "greedy_eig", "fixed", "rpe")
"""Policy registry names (``rpe`` is run by :func:`qlearn_sense.adaptive.rpe_estimate`, not as a particle policy)."""


def coherence_cap_s(t2_s: float, fraction: float = 0.5, t_max_s: float | None = None) -> float:
    """Longest interrogation time a policy may use: ``min(fraction * T2, t_max_s)``.

    ``fraction = 1/2`` is the Ramsey optimum for exponential decay (Barry et al., Rev. Mod. Phys.
    92, 015004 (2020); Kimmel et al. 2015 find Heisenberg scaling ends near a longest time T2/2).

    Raises:
      ValueError: non-positive T2 or fraction, or non-positive t_max_s.
    """
    if not t2_s > 0 or not fraction > 0:
        raise ValueError(f"t2_s = {t2_s}, fraction = {fraction}; accepted: both > 0")
    if t_max_s is not None and not t_max_s > 0:
        raise ValueError(f"t_max_s = {t_max_s}; accepted: > 0")
    cap = fraction * t2_s
    return cap if t_max_s is None else min(cap, t_max_s)


def _setting(t: Array, phase: Array) -> Array:
    return jnp.stack([jnp.asarray(t, jnp.float64), jnp.asarray(phase, jnp.float64), jnp.asarray(0.0)])


def particle_guess_policy(gyromagnetic_ratio_Hz_per_T: float, t_max_s: float, *, n_qubits: int = 1,
                          scale: float = 1.0, t_min_s: float = 0.0) -> Policy:
    """Particle-guess heuristic: ``t = scale / |omega - omega'|`` for two particles drawn from the posterior.

    omega = n 2 pi gamma B is the angular precession frequency (Wiebe, Granade, Ferrie, Cory,
    PRL 112, 190501 (2014), eq. (4); QInfer's ``PGH``). Readout phase 0.

    Args:
      gyromagnetic_ratio_Hz_per_T: gamma/2pi, Hz/T.
      t_max_s: coherence cap, s (> 0).
      n_qubits: phase multiplier n.
      scale: multiplies the heuristic time (1 in the paper).
      t_min_s: shortest time, s.

    Raises:
      ValueError: non-positive t_max_s or scale.
    """
    if not t_max_s > 0 or not scale > 0:
        raise ValueError(f"t_max_s = {t_max_s}, scale = {scale}; accepted: both > 0")
    w_per_T = n_qubits * 2 * math.pi * gyromagnetic_ratio_Hz_per_T

    def policy(state: SMCState, key: Array) -> Array:
        c = jnp.cumsum(jnp.exp(state.log_weights))
        u = jax.random.uniform(key, (4,), dtype=jnp.float64) * c[-1]
        i = jnp.clip(jnp.searchsorted(c, u), 0, c.shape[0] - 1)
        x = state.particles[i, 0]
        d = jnp.where(x[0] != x[1], jnp.abs(x[0] - x[1]), jnp.abs(x[2] - x[3])) * w_per_T  # 2nd pair if equal
        t = jnp.where(d > 0, scale / jnp.where(d > 0, d, 1.0), t_max_s)
        return _setting(jnp.clip(t, t_min_s, t_max_s), 0.0)

    return policy


def expected_information_gain(likelihood: OutcomeProbs, state: SMCState, settings: Array) -> Array:
    """Mutual information between the next outcome and the parameters, nats, for each setting.

    EIG(s) = H(sum_i w_i p_i(s)) - sum_i w_i H(p_i(s)) (Lindley 1956; Huszar and Houlsby,
    PRA 85, 052120 (2012)). ``settings`` shape (C, 3); returns shape (C,).
    """
    w = jnp.exp(state.log_weights)

    def one(s):
        p = likelihood(state.particles, s)
        m = w @ p
        h_m = -jnp.sum(m * jnp.log(jnp.maximum(m, 1e-300)))
        h_p = -jnp.sum(p * jnp.log(jnp.maximum(p, 1e-300)), axis=-1)
        return h_m - w @ h_p

    return jax.vmap(one)(settings)


def candidate_settings(t_max_s: float, n_times: int = 24, t_min_s: float | None = None,
                       phases=(0.0, math.pi / 2)) -> np.ndarray:
    """Candidate grid for greedy design: geometric times up to the cap times readout phases, shape (C, 3).

    Raises:
      ValueError: n_times < 1 or non-positive t_max_s.
    """
    if int(n_times) < 1 or not t_max_s > 0:
        raise ValueError(f"n_times = {n_times}, t_max_s = {t_max_s}; accepted: n_times >= 1, t_max_s > 0")
    lo = t_max_s / 2 ** 12 if t_min_s is None else t_min_s
    ts = np.geomspace(lo, t_max_s, int(n_times))
    return np.array([[t, ph, 0.0] for t in ts for ph in phases])


def greedy_eig_policy(likelihood: OutcomeProbs, candidates: np.ndarray, *, overhead_time_s: float | None = None
                      ) -> Policy:
    """Greedy expected information gain over a fixed candidate set (C, 3).

    With ``overhead_time_s`` set, maximizes information per unit sensing time
    ``EIG / (t + overhead)`` instead of per experiment.
    """
    cand = jnp.asarray(candidates, dtype=jnp.float64)
    cost = jnp.ones(cand.shape[0]) if overhead_time_s is None else cand[:, 0] + overhead_time_s

    def policy(state: SMCState, key: Array) -> Array:
        return cand[jnp.argmax(expected_information_gain(likelihood, state, cand) / cost)]

    return policy


def fixed_policy(t_s: float, phases=(0.0, math.pi / 2)) -> Policy:
    """Non-adaptive baseline: repeated Ramsey at a fixed time, readout phase cycling through ``phases``.

    Raises:
      ValueError: non-positive t_s.
    """
    if not t_s > 0:
        raise ValueError(f"t_s = {t_s}; accepted: > 0")
    ph = jnp.asarray(phases, dtype=jnp.float64)

    def policy(state: SMCState, key: Array) -> Array:
        return _setting(t_s, ph[state.n_updates % ph.shape[0]])

    return policy
