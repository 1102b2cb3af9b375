"""Tracking a time-varying field: random-walk and waveform-template dynamical priors.

Each update absorbs the counts of one interrogation window (``shots`` readouts
at interrogation time t, readout phase theta, starting at ``clock``). The
phase is ``n 2 pi gamma B(clock + t/2) t`` (midpoint rule; its relative error is
O((t / width)^2) for a pulse of width ``width``).

- Random walk: B_(k+1) = B_k + sigma sqrt(dt) z before each update (a
  dynamical prior for an unknown waveform).
- Template: B(t) = A s((t - t_arr) / width) with the action-potential shape of
  :class:`qlearn_sense.physics.ActionPotentialField`, unknown amplitude A and
  arrival t_arr (the shape's zero crossing); static parameters, so the filter
  is the ordinary particle filter with a clock-dependent likelihood. Its log
  evidence against A = 0 is the per-event detection statistic (a log Bayes
  factor), decided with Wald's thresholds from :func:`qlearn_sense.hyptest.sprt_thresholds`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from qlearn_sense import _jax  # noqa: F401
import jax
import jax.numpy as jnp
import numpy as np

from qlearn_sense.adaptive._likelihood import OutcomeProbs, RamseyModel, ramsey_p0
from qlearn_sense.adaptive._smc import (
    SMCOptions,
    SMCState,
    initial_state,
    resample_if_needed,
    reweight,
    weighted_quantiles,
)
from qlearn_sense.hyptest import sprt_thresholds

Array = jax.Array


def ap_shape(t: Array, width_s: float) -> Array:
    """Unit-peak biphasic action-potential shape ``u exp((1 - u^2)/2)``, u = t / width (zero crossing at 0).

    Same function as :meth:`qlearn_sense.physics.ActionPotentialField.shape` with ``t_peak_s = 0``.
    """
    u = t / width_s
    return u * jnp.exp((1.0 - u * u) / 2.0)


def template_outcome_probs(model: RamseyModel, width_s: float) -> OutcomeProbs:
    """Likelihood for particles (A [T], t_arr [s]), shape (P, 2): field at the window midpoint.

    Returns (P(0), P(1)) per particle, shape (P, 2), from :func:`ramsey_p0` with
    B = A s(clock + t/2 - t_arr).
    """

    def probs(x: Array, setting: Array) -> Array:
        b = x[:, 0] * ap_shape(setting[2] + setting[0] / 2 - x[:, 1], width_s)
        p0 = jnp.clip(ramsey_p0(model, b[:, None], setting), 0.0, 1.0)
        return jnp.stack([p0, 1.0 - p0], axis=-1)

    return probs


class TrackingRun(NamedTuple):
    """One tracked window.

    Attributes:
      clock_s: window start of each update, shape (E,), s.
      true_field_T: field at each window midpoint, shape (E,), T.
      mean_T: posterior mean field at each midpoint, shape (E,), T.
      lower_T, upper_T: 95 % credible band, shape (E,), T.
      final: final :class:`SMCState`.
      log_bayes_factor: log evidence of the model minus that of B = 0, nats (the
        log-likelihood of B = 0 is subtracted in each update, so ``final.log_evidence`` is this value).
    """

    clock_s: np.ndarray
    true_field_T: np.ndarray
    mean_T: np.ndarray
    lower_T: np.ndarray
    upper_T: np.ndarray
    final: SMCState
    log_bayes_factor: float


def _counts_ll(p: Array, counts: Array) -> Array:
    return jnp.sum(counts * jnp.log(jnp.maximum(p, 1e-300)), axis=-1)


def track(key: Array, model: RamseyModel, true_field_T, clock_s, *, t_s: float, shots: int, kind: str,
          lower, upper, n_particles: int, width_s: float | None = None, sigma_T_per_sqrt_s: float = 0.0,
          readout_phase_rad: float = math.pi / 2, options: SMCOptions | None = None) -> TrackingRun:
    """Track the field through a window of E interrogations (one jitted scan).

    Args:
      key: PRNG key (outcomes and resampling).
      model: :class:`RamseyModel` of the sensor (decoherence, contrast, readout).
      true_field_T: true field at each window midpoint, shape (E,), T (generates the counts).
      clock_s: start of each interrogation, shape (E,), s, increasing.
      t_s: interrogation time, s.
      shots: readouts per update (>= 1; ensemble readouts or repeats).
      kind: ``"random_walk"`` (particles: field, shape (P, 1)) or ``"template"`` (amplitude, arrival).
      lower, upper: prior box, shape (1,) or (2,) in (T) or (T, s).
      n_particles: P >= 2.
      width_s: template width (required for ``template``), s.
      sigma_T_per_sqrt_s: random-walk diffusion, T/sqrt(s).
      readout_phase_rad: readout phase (pi/2: the linear quadrature for small phases).
      options: :class:`SMCOptions` (bounds default to the prior box).

    Returns:
      :class:`TrackingRun`.

    Raises:
      ValueError: unknown kind, missing width, shots < 1, P < 2, or clock and truth lengths differ.
    """
    if kind not in ("random_walk", "template"):
        raise ValueError(f"kind = {kind!r}; accepted: 'random_walk', 'template'")
    if kind == "template" and not (width_s and width_s > 0):
        raise ValueError(f"width_s = {width_s}; the template model needs a width > 0")
    if int(shots) < 1 or int(n_particles) < 2:
        raise ValueError(f"shots = {shots}, n_particles = {n_particles}; accepted: shots >= 1, n_particles >= 2")
    truth = jnp.asarray(true_field_T, dtype=jnp.float64)
    clock = jnp.asarray(clock_s, dtype=jnp.float64)
    if truth.shape != clock.shape:
        raise ValueError(f"true_field_T shape {truth.shape} != clock_s shape {clock.shape}")
    lo, hi = np.atleast_1d(np.asarray(lower, float)), np.atleast_1d(np.asarray(upper, float))
    opts = options or SMCOptions(lower=tuple(lo.tolist()), upper=tuple(hi.tolist()))
    lik = template_outcome_probs(model, width_s) if kind == "template" else (
        lambda x, s: jnp.stack([p := jnp.clip(ramsey_p0(model, x, s), 0, 1), 1 - p], -1))
    null = jnp.zeros((1, lo.size))
    p_n = int(n_particles)
    k0, k1 = jax.random.split(key)
    x0 = jnp.asarray(lo) + jax.random.uniform(k0, (p_n, lo.size), dtype=jnp.float64) * jnp.asarray(hi - lo)
    state0 = initial_state(x0, jax.random.fold_in(k0, 1))
    dts = jnp.diff(jnp.concatenate([clock[:1], clock]))

    def field_of(x, c):
        if kind == "template":
            return x[:, 0] * ap_shape(c + t_s / 2 - x[:, 1], width_s)
        return x[:, 0]

    def body(carry, inp):
        state = carry
        b_true, c, dt, kk = inp
        ka, kb, kc = jax.random.split(kk, 3)
        s = jnp.stack([jnp.asarray(t_s, jnp.float64), jnp.asarray(readout_phase_rad, jnp.float64), c])
        p_true = jnp.clip(ramsey_p0(model, b_true[None, None], s)[0], 0.0, 1.0)
        n0 = jax.random.binomial(ka, jnp.asarray(float(shots)), p_true)
        counts = jnp.stack([n0, float(shots) - n0])
        if kind == "random_walk":
            noise = sigma_T_per_sqrt_s * jnp.sqrt(dt) * jax.random.normal(kb, state.particles.shape)
            state = state._replace(particles=state.particles + noise)
        ll_null = _counts_ll(lik(null, s), counts)[0]  # subtracted per update: keeps the evidence precise
        state = reweight(state, _counts_ll(lik(state.particles, s), counts) - ll_null)
        state = resample_if_needed(state, kc, opts)
        f = field_of(state.particles, c)
        w = state.weights
        band = weighted_quantiles(f, w, jnp.array([0.025, 0.975]))
        return state, (w @ f, band[0], band[1])

    keys = jax.random.split(k1, truth.shape[0])
    run = jax.jit(lambda st: jax.lax.scan(body, st, (truth, clock, dts, keys)))
    final, (mean, lo_b, hi_b) = run(state0)
    return TrackingRun(np.asarray(clock), np.asarray(truth), np.asarray(mean), np.asarray(lo_b), np.asarray(hi_b),
                       final, float(final.log_evidence))


def template_waveform(state: SMCState, times_s, width_s: float, level: float = 0.95) -> tuple[np.ndarray, ...]:
    """Posterior waveform A s(t - t_arr) with its equal-tailed band on a time grid.

    Args:
      state: final template :class:`SMCState` (particles (A, t_arr)).
      times_s: shape (G,), s.
      width_s: template width, s.
      level: band level in (0, 1).

    Returns:
      ``(mean, lower, upper)``, each shape (G,), T.

    Raises:
      ValueError: level outside (0, 1).
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level = {level}; accepted: 0 < level < 1")
    t = jnp.asarray(times_s, dtype=jnp.float64)
    w = state.weights
    f = state.particles[:, :1] * ap_shape(t[None, :] - state.particles[:, 1:2], width_s)
    q = jnp.array([(1 - level) / 2, (1 + level) / 2])
    band = jax.vmap(lambda col: weighted_quantiles(col, w, q), in_axes=1)(f)
    return np.asarray(w @ f), np.asarray(band[:, 0]), np.asarray(band[:, 1])


def detection_decision(log_bayes_factor: float, alpha: float, beta: float) -> str:
    """Wald's decision on a per-event log Bayes factor: ``"event"``, ``"no_event"`` or ``"undecided"``.

    Thresholds from :func:`qlearn_sense.hyptest.sprt_thresholds` (Wald 1945, eq. (3.24)).

    Raises:
      ValueError: alpha or beta outside (0, 1), or alpha + beta >= 1.
    """
    th = sprt_thresholds(alpha, beta)
    if log_bayes_factor >= th.log_upper:
        return "event"
    if log_bayes_factor <= th.log_lower:
        return "no_event"
    return "undecided"
