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
from qlearn_sense.adaptive._smc import SMCState, inverse_cdf_indices

Array = jax.Array
Policy = Callable[[SMCState, Array], Array]
"""``(state, key) -> setting (3,)``."""

POLICIES = ("particle_guess", "sigma_heuristic", "greedy_eig", "evr", "fixed", "rpe")
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


READOUT_PHASES = ("zero", "alternating_quadrature")
"""Readout-phase rules of the time-choosing policies (see :func:`sigma_heuristic_policy`)."""


def _check_time_policy(t_max_s, multiple, multiple_name, readout_phase):
    if not t_max_s > 0 or not multiple > 0:
        raise ValueError(f"t_max_s = {t_max_s}, {multiple_name} = {multiple}; accepted: both > 0")
    if readout_phase not in READOUT_PHASES:
        raise ValueError(f"readout_phase = {readout_phase!r}; accepted: one of {READOUT_PHASES}")


def _posterior_moments(state: SMCState) -> tuple[Array, Array]:
    """Weighted mean and standard deviation of the field column (scalars, T)."""
    w = state.weights
    x = state.particles[:, 0]
    mu = w @ x
    return mu, jnp.sqrt(jnp.maximum(w @ (x - mu) ** 2, 0.0))


def _readout_phase(rule: str, state: SMCState, omega_hat: Array, t: Array) -> Array:
    if rule == "zero":
        return jnp.asarray(0.0, jnp.float64)
    # quadrature of the posterior-mean fringe, offset by -pi/4 and +pi/4 on alternate updates
    offset = jnp.where(state.n_updates % 2 == 0, -0.25 * math.pi, 0.25 * math.pi)
    return jnp.mod(omega_hat * t + 0.5 * math.pi + offset, 2 * math.pi)


def _draw_indices(key: Array, weights: Array, n: int) -> Array:
    """n particle indices drawn from the weights (inverse CDF), shape (n,).

    One comparison pass (``method="compare_all"``: O(nP), no loop; for the handful of draws a
    policy needs it is cheaper on CPU than a binary search's while loop).
    """
    return inverse_cdf_indices(key, weights, n, "compare_all")


def particle_guess_policy(gyromagnetic_ratio_Hz_per_T: float, t_max_s: float, *, n_qubits: int = 1,
                          scale: float = 1.0, t_min_s: float = 0.0, max_sd_multiple: float | None = None,
                          readout_phase: str = "zero") -> Policy:
    """Particle-guess heuristic: ``t = scale / |omega - omega'|`` for two particles drawn from the posterior.

    omega = n 2 pi gamma B is the angular precession frequency (Wiebe, Granade, Ferrie, Cory,
    PRL 112, 190501 (2014), eq. (4); QInfer's ``PGH``). With the defaults this is exactly
    QInfer's PGH with readout phase 0 (what ``benchmarks/bench_adaptive.py`` compares).

    The heuristic's time has a heavy tail (two nearby particles give a very long time, whose
    fringe period 2 pi / t is far below the posterior width: the posterior becomes a comb of
    aliases that a particle filter may resolve wrongly). ``max_sd_multiple = c`` limits the
    growth, ``t <= c / sigma_omega`` with sigma_omega the posterior standard deviation of omega
    (a time-growth limit in the spirit of Wiebe et al. 2014; c ~ 1 keeps the fringe period above
    ~6 sigma).

    Args:
      gyromagnetic_ratio_Hz_per_T: gamma/2pi, Hz/T.
      t_max_s: coherence cap, s (> 0).
      n_qubits: phase multiplier n.
      scale: multiplies the heuristic time (1 in the paper).
      t_min_s: shortest time, s.
      max_sd_multiple: c of the growth limit ``t <= c / sigma_omega`` (None: no limit).
      readout_phase: ``"zero"`` (the paper's) or ``"alternating_quadrature"`` (see
        :func:`sigma_heuristic_policy`).

    Returns:
      :data:`Policy` giving ``(t_s, readout_phase_rad, 0)``.

    Raises:
      ValueError: non-positive t_max_s, scale or max_sd_multiple, or an unknown readout_phase.
    """
    _check_time_policy(t_max_s, scale, "scale", readout_phase)
    if max_sd_multiple is not None and not max_sd_multiple > 0:
        raise ValueError(f"max_sd_multiple = {max_sd_multiple}; accepted: > 0 or None")
    w_per_T = n_qubits * 2 * math.pi * gyromagnetic_ratio_Hz_per_T

    def policy(state: SMCState, key: Array) -> Array:
        x = state.particles[_draw_indices(key, state.weights, 4), 0]
        d = jnp.where(x[0] != x[1], jnp.abs(x[0] - x[1]), jnp.abs(x[2] - x[3])) * w_per_T  # 2nd pair if equal
        t = jnp.where(d > 0, scale / jnp.where(d > 0, d, 1.0), t_max_s)
        if max_sd_multiple is not None or readout_phase != "zero":
            mu, sd = _posterior_moments(state)
            if max_sd_multiple is not None:
                t = jnp.minimum(t, max_sd_multiple / jnp.maximum(sd * w_per_T, 1e-300))
        t = jnp.clip(t, t_min_s, t_max_s)
        ph = _readout_phase(readout_phase, state, w_per_T * mu, t) if readout_phase != "zero" else 0.0
        return _setting(t, ph)

    return policy


def sigma_heuristic_policy(gyromagnetic_ratio_Hz_per_T: float, t_max_s: float, *, n_qubits: int = 1,
                           sd_multiple: float = 0.6, readout_phase: str = "alternating_quadrature",
                           t_min_s: float = 0.0) -> Policy:
    """Heisenberg-scaling Ramsey design: ``t = c / sigma_omega``, readout at alternating quadratures.

    The design that reaches error ~ 1/T (T the total sensing time) with single-shot outcomes
    until the coherence cap (``configs/adaptive_ramsey.yaml``):

    - time: ``t_k = c / sigma_k`` with sigma_k the posterior standard deviation of the angular
      frequency omega = n 2 pi gamma B (the "sigma heuristic" of Ferrie, Granade, Cory,
      Quantum Inf. Process. 12, 611 (2013), and the growth limit of the particle-guess
      heuristic, Wiebe et al., PRL 112, 190501 (2014)). Each outcome shrinks sigma by a
      roughly constant factor, so t grows geometrically, the total time is a constant times
      the latest t and the error falls as 1/T. Unlike the particle guess ``1/|omega - omega'|``,
      whose heavy tail picks times many posterior widths too long early on (the posterior then
      becomes a comb of aliases and rare trials lock onto the wrong one, which dominates the
      RMS error), c < 1 keeps the fringe period 2 pi / t above ~10 sigma: no aliases inside the
      posterior. c = 0.6 was chosen on the shipped NV config (slopes -0.67 to -0.69 for
      c = 0.6 to 0.8 from the first experiment, -0.83 past the prior-dominated start; PGH -0.24).
    - readout phase: theta = omega_hat t + pi/2 -+ pi/4 on alternate updates (omega_hat the
      posterior mean): both readouts sit on the steep part of the fringe and together measure
      the cosine and the sine of (omega - omega_hat) t, as robust phase estimation's pair of
      measurements does (Kimmel, Low, Yoder, PRA 92, 062315 (2015)). One fixed phase leaves the
      mirror ambiguity (omega - omega_hat) t <-> pi - (omega - omega_hat) t; since t depends on
      sigma only, a posterior split across the mirror pair would then keep its sigma and its t
      and never resolve (observed as trials stuck at the prior width).
    - the time is capped at ``t_max_s`` (the coherence cap, :func:`coherence_cap_s`), past which
      the error falls as 1/sqrt(T).

    Args:
      gyromagnetic_ratio_Hz_per_T: gamma/2pi, Hz/T.
      t_max_s: coherence cap, s (> 0).
      n_qubits: phase multiplier n.
      sd_multiple: c (> 0).
      readout_phase: ``"alternating_quadrature"`` or ``"zero"``.
      t_min_s: shortest time, s.

    Returns:
      :data:`Policy` (deterministic given the state; the key is unused).

    Raises:
      ValueError: non-positive t_max_s or sd_multiple, or an unknown readout_phase.
    """
    _check_time_policy(t_max_s, sd_multiple, "sd_multiple", readout_phase)
    w_per_T = n_qubits * 2 * math.pi * gyromagnetic_ratio_Hz_per_T

    def policy(state: SMCState, key: Array) -> Array:
        mu, sd = _posterior_moments(state)
        t = jnp.clip(sd_multiple / jnp.maximum(sd * w_per_T, 1e-300), t_min_s, t_max_s)
        return _setting(t, _readout_phase(readout_phase, state, w_per_T * mu, t))

    return policy


def expected_information_gain(likelihood: OutcomeProbs, state: SMCState, settings: Array) -> Array:
    """Mutual information between the next outcome and the parameters, nats, for each setting.

    EIG(s) = H(sum_i w_i p_i(s)) - sum_i w_i H(p_i(s)) (Lindley 1956; Huszar and Houlsby,
    PRA 85, 052120 (2012)). ``settings`` shape (C, 3); returns shape (C,).
    """
    w = state.weights

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
