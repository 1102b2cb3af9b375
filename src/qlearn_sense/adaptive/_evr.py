"""Expected-variance-reduction design: the setting whose next outcome leaves the smallest posterior variance.

For a particle posterior {x_i, w_i} and a setting s with outcome
probabilities p_i(y | s), the Bayes risk of the quadratic loss on the field
(column ``c`` of x) after one more outcome is

    R(s) = sum_y m_y(s) Var[x_c | y, s],   m_y(s) = sum_i w_i p_i(y | s)
         = Var[x_c] - sum_y (sum_i w_i p_i(y | s) (x_ic - mean))^2 / m_y(s)

(Granade, Ferrie, Wiebe, Cory, NJP 14, 103013 (2012), Sec. 3, the Bayes risk
with a quadratic loss Q = e_c e_c^T, eq. (9)-(10); the centred second form is
the law of total variance). Minimising R(s) maximises the expected variance
reduction Var[x_c] - R(s); greedy expected information gain
(:func:`qlearn_sense.adaptive.expected_information_gain`) instead maximises
the mutual information, and the two choices differ when nuisance parameters
or multimodal posteriors are present (Huszar and Houlsby, PRA 85, 052120
(2012), Sec. II).
"""

from __future__ import annotations

import math

from qlearn_sense import _jax  # noqa: F401
import jax
import jax.numpy as jnp
import numpy as np

from qlearn_sense.adaptive._likelihood import OutcomeProbs
from qlearn_sense.adaptive._policies import Policy
from qlearn_sense.adaptive._smc import SMCState

Array = jax.Array
_TINY = 1e-300

__all__ = ["expected_posterior_variance", "evr_candidates", "evr_policy"]


def expected_posterior_variance(likelihood: OutcomeProbs, state: SMCState, settings: Array, *,
                                column: int = 0) -> Array:
    """Expected posterior variance of one parameter after one more outcome, for each candidate setting.

    R(s) = Var[x_c] - sum_y (sum_i w_i p_i(y|s) (x_ic - mean_c))^2 / m_y(s)
    (Granade et al., NJP 14, 103013 (2012), eq. (10) with Q = e_c e_c^T).
    Pure and jit-able (fixed shapes); outcomes with m_y = 0 contribute nothing.

    Args:
      likelihood: :data:`~qlearn_sense.adaptive.OutcomeProbs`, ``(x (P, D), setting (3,)) -> (P, K)``.
      state: the particle posterior (particles (P, D), log weights (P,)).
      settings: candidate settings ``(t_s, readout_phase_rad, clock_s)``, shape (C, 3).
      column: the parameter whose variance is scored (0: the field, in T).

    Returns:
      Expected posterior variance per setting, shape (C,), in the column's unit squared (T^2 for the field).
      Always <= the current variance (up to rounding).
    """
    w = state.weights
    x = state.particles[:, column]
    xc = x - w @ x
    prior_var = w @ (xc * xc)

    def one(s):
        p = likelihood(state.particles, s)  # (P, K)
        m = w @ p  # (K,)
        a = (w * xc) @ p  # (K,)
        gain = jnp.where(m > _TINY, a * a / jnp.where(m > _TINY, m, 1.0), 0.0)
        return prior_var - jnp.sum(gain)

    return jax.vmap(one)(jnp.asarray(settings, dtype=jnp.float64))


def evr_candidates(candidates, t_max_s: float) -> tuple[np.ndarray, int]:
    """Apply the coherence cap to a candidate grid: times above ``t_max_s`` are set to ``t_max_s``.

    Args:
      candidates: settings ``(t_s, readout_phase_rad, clock_s)``, shape (C, 3), times in s.
      t_max_s: the coherence cap, s (see :func:`qlearn_sense.adaptive.coherence_cap_s`).

    Returns:
      ``(capped, n_capped)``: the grid with times ``min(t, t_max_s)``, shape (C, 3), and how many times were capped.

    Raises:
      ValueError: ``t_max_s`` not positive and finite, a shape other than (C, 3) with C >= 1, or a time <= 0.
    """
    cand = np.array(candidates, dtype=np.float64)
    if not (math.isfinite(t_max_s) and t_max_s > 0):
        raise ValueError(f"t_max_s = {t_max_s}; accepted: a finite time > 0 s")
    if cand.ndim != 2 or cand.shape[0] < 1 or cand.shape[1] != 3:
        raise ValueError(f"candidates have shape {cand.shape}; accepted: (C, 3) with C >= 1")
    if not np.all(cand[:, 0] > 0):
        raise ValueError(f"candidate times {cand[:, 0].tolist()} s; accepted: all > 0")
    n_capped = int(np.sum(cand[:, 0] > t_max_s))
    cand[:, 0] = np.minimum(cand[:, 0], t_max_s)
    return cand, n_capped


def evr_policy(likelihood: OutcomeProbs, candidates, t_max_s: float, *, column: int = 0,
               overhead_time_s: float | None = None) -> Policy:
    """Greedy expected-variance-reduction policy over a fixed candidate grid.

    Picks ``argmin_s R(s)`` (:func:`expected_posterior_variance`), or with
    ``overhead_time_s`` the largest variance reduction per unit sensing time
    ``(Var - R(s)) / (t + overhead)``. Candidate times are capped at
    ``t_max_s`` first (:func:`evr_candidates`); the returned policy carries the
    cap and the capped grid as attributes ``t_max_s``, ``candidates`` (C, 3)
    and ``n_capped`` so callers can report them. Same signature as the
    policies of :mod:`qlearn_sense.adaptive` (``(state, key) -> setting (3,)``,
    the key unused), jit-able with fixed shapes.

    Args:
      likelihood: :data:`~qlearn_sense.adaptive.OutcomeProbs`.
      candidates: settings ``(t_s, readout_phase_rad, clock_s)``, shape (C, 3)
        (e.g. :func:`qlearn_sense.adaptive.candidate_settings`).
      t_max_s: coherence cap on the interrogation time, s.
      column: the parameter whose variance is reduced (0: the field).
      overhead_time_s: per-experiment overhead, s (None: score per experiment).

    Returns:
      :data:`~qlearn_sense.adaptive.Policy`.

    Raises:
      ValueError: as :func:`evr_candidates`, or a negative ``overhead_time_s``.
    """
    if overhead_time_s is not None and not overhead_time_s >= 0:
        raise ValueError(f"overhead_time_s = {overhead_time_s}; accepted: >= 0 s or None")
    capped, n_capped = evr_candidates(candidates, t_max_s)
    cand = jnp.asarray(capped)
    cost = None if overhead_time_s is None else cand[:, 0] + overhead_time_s

    def policy(state: SMCState, key: Array) -> Array:
        r = expected_posterior_variance(likelihood, state, cand, column=column)
        if cost is None:
            return cand[jnp.argmin(r)]
        w = state.weights
        x = state.particles[:, column]
        var = w @ (x - w @ x) ** 2
        return cand[jnp.argmax((var - r) / cost)]

    policy.t_max_s = float(t_max_s)
    policy.candidates = capped
    policy.n_capped = n_capped
    return policy
