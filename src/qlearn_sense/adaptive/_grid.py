"""Exact grid posterior for one parameter (the field), the reference the particle filter must match."""

from __future__ import annotations

from typing import NamedTuple

from qlearn_sense import _jax  # noqa: F401
import jax
import jax.numpy as jnp
import numpy as np

from qlearn_sense.adaptive._likelihood import OutcomeProbs

Array = jax.Array


class GridState(NamedTuple):
    """Posterior on a fixed grid of field values.

    Attributes:
      grid: field values in T, shape (G,), uniformly spaced.
      log_post: normalized log posterior mass per grid point, shape (G,).
    """

    grid: Array
    log_post: Array


def grid_init(lower_T: float, upper_T: float, n_points: int) -> GridState:
    """Uniform prior on G equally spaced field values in [lower_T, upper_T].

    Raises:
      ValueError: n_points < 2 or upper_T <= lower_T.
    """
    if int(n_points) < 2:
        raise ValueError(f"n_points = {n_points}; accepted: integer >= 2")
    if not upper_T > lower_T:
        raise ValueError(f"grid range [{lower_T}, {upper_T}] T; accepted: upper_T > lower_T")
    g = jnp.linspace(lower_T, upper_T, int(n_points))
    return GridState(g, jnp.full(g.shape, -np.log(int(n_points))))


def grid_update(likelihood: OutcomeProbs, state: GridState, outcome: Array, setting: Array) -> GridState:
    """Exact Bayes update on the grid: ``post ~ post * P(outcome | B, setting)``.

    Args:
      likelihood: :data:`OutcomeProbs` (called with x of shape (G, 1)).
      state: current grid posterior.
      outcome: outcome index.
      setting: shape (3,), ``(t_s, readout_phase_rad, clock_s)``.
    """
    p = likelihood(state.grid[:, None], setting)[:, outcome]
    lp = state.log_post + jnp.log(jnp.maximum(p, 1e-300))
    return state._replace(log_post=lp - jax.scipy.special.logsumexp(lp))


def grid_mean(state: GridState) -> Array:
    """Posterior mean of the field, T."""
    return jnp.exp(state.log_post) @ state.grid


def grid_var(state: GridState) -> Array:
    """Posterior variance of the field, T^2."""
    w = jnp.exp(state.log_post)
    m = w @ state.grid
    return w @ (state.grid - m) ** 2


def grid_credible_interval(state: GridState, level: float = 0.95) -> Array:
    """Equal-tailed credible interval (T), shape (2,), from the grid CDF.

    Raises:
      ValueError: level outside (0, 1).
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level = {level}; accepted: 0 < level < 1")
    c = jnp.cumsum(jnp.exp(state.log_post))
    q = jnp.array([(1 - level) / 2, (1 + level) / 2])
    return state.grid[jnp.clip(jnp.searchsorted(c / c[-1], q), 0, state.grid.shape[0] - 1)]
