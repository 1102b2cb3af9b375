"""The adaptive loop: seeded simulated trials (jit + vmap + scan) and the real-time step.

One experiment = choose a setting from the posterior, draw the outcome from
the true parameters, update. :func:`simulate_trials` runs N independent
trials in one compiled program; :func:`make_realtime_step` gives the jitted
per-shot step (update, resample when needed, next setting) whose latency
:func:`measure_latency` reports.
"""

from __future__ import annotations

import functools
import time
from typing import Callable, NamedTuple

from qlearn_sense import _jax  # noqa: F401
import jax
import jax.numpy as jnp
import numpy as np

from qlearn_sense.adaptive._likelihood import OutcomeProbs
from qlearn_sense.adaptive._policies import Policy
from qlearn_sense.adaptive._smc import (
    SMCOptions,
    SMCState,
    credible_interval,
    posterior_cov,
    posterior_mean,
    smc_update,
)

Array = jax.Array


class TrialRun(NamedTuple):
    """Results of N simulated trials of E adaptive experiments each.

    Attributes:
      truth: true parameters, shape (N, D).
      means: posterior mean of the field after each experiment, shape (N, E), T.
      sds: posterior standard deviation of the field, shape (N, E), T.
      times_s: interrogation time of each experiment, shape (N, E), s.
      ci95: final 95 % credible interval of the field, shape (N, 2), T.
      ess: final effective sample size, shape (N,).
      n_resamples: resampling steps per trial, shape (N,).
    """

    truth: np.ndarray
    means: np.ndarray
    sds: np.ndarray
    times_s: np.ndarray
    ci95: np.ndarray
    ess: np.ndarray
    n_resamples: np.ndarray

    @property
    def errors(self) -> np.ndarray:
        """Posterior mean minus truth, shape (N, E), T."""
        return self.means - self.truth[:, :1]

    @property
    def total_time_s(self) -> np.ndarray:
        """Cumulative sensing time after each experiment, shape (N, E), s."""
        return np.cumsum(self.times_s, axis=1)


def _prior(key: Array, lower: Array, upper: Array, n: int) -> SMCState:
    x = lower + jax.random.uniform(key, (n, lower.shape[0]), dtype=jnp.float64) * (upper - lower)
    return SMCState(x, jnp.full((n,), -jnp.log(n), dtype=jnp.float64),
                    jnp.zeros((), jnp.int64), jnp.zeros((), jnp.int64), jnp.zeros((), jnp.float64))


@functools.lru_cache(maxsize=16)
def _compiled_trials(likelihood: OutcomeProbs, policy: Policy, opts: SMCOptions, p: int, e: int):
    """One jitted, vmapped trial runner per (likelihood, policy, options, P, E): compiled once, reused."""

    def trial(k: Array, x_true: Array, lower: Array, upper: Array):
        k0, k1 = jax.random.split(k)

        def body(state, kk):
            ka, kb, kc = jax.random.split(kk, 3)
            s = policy(state, ka)
            pr = likelihood(x_true[None, :], s)[0]
            y = jax.random.categorical(kb, jnp.log(jnp.maximum(pr, 1e-300)))
            state = smc_update(likelihood, state, y, s, kc, opts)
            return state, (posterior_mean(state)[0], jnp.sqrt(jnp.maximum(posterior_cov(state)[0, 0], 0.0)), s[0])

        final, (m, sd, t) = jax.lax.scan(body, _prior(k0, lower, upper, p), jax.random.split(k1, e))
        w = jnp.exp(final.log_weights)
        return m, sd, t, credible_interval(final, 0.95), 1.0 / jnp.sum(w * w), final.n_resamples

    return jax.jit(jax.vmap(trial, in_axes=(0, 0, None, None)))


def simulate_trials(key: Array, likelihood: OutcomeProbs, policy: Policy, truth, lower, upper, *,
                    n_particles: int, n_experiments: int, options: SMCOptions | None = None,
                    batch: int | None = None) -> TrialRun:
    """Simulate N seeded adaptive trials (one per row of ``truth``), every shot adapted.

    Args:
      key: PRNG key (trial i uses ``fold_in(key, i)``: results do not depend on ``batch``).
      likelihood: :data:`OutcomeProbs` (also generates the outcomes from the truth).
      policy: :data:`Policy`.
      truth: true parameters, shape (N, D), SI units per column.
      lower, upper: prior box, shape (D,).
      n_particles: P >= 2.
      n_experiments: E >= 1.
      options: :class:`SMCOptions` (its bounds default to the prior box).
      batch: trials per compiled call (default: about 4e6 / P).

    Returns:
      :class:`TrialRun`.

    Raises:
      ValueError: P < 2, E < 1, or truth not of shape (N, D).
    """
    lower = jnp.atleast_1d(jnp.asarray(lower, dtype=jnp.float64))
    upper = jnp.atleast_1d(jnp.asarray(upper, dtype=jnp.float64))
    truth = np.atleast_2d(np.asarray(truth, dtype=np.float64))
    if int(n_particles) < 2 or int(n_experiments) < 1:
        raise ValueError(f"n_particles = {n_particles}, n_experiments = {n_experiments}; "
                         "accepted: n_particles >= 2, n_experiments >= 1")
    if truth.shape[1] != lower.shape[0]:
        raise ValueError(f"truth has shape {truth.shape}; expected (N, {lower.shape[0]})")
    opts = options or SMCOptions()
    if opts.lower == SMCOptions().lower:
        opts = opts._replace(lower=tuple(np.asarray(lower).tolist()), upper=tuple(np.asarray(upper).tolist()))
    p, e = int(n_particles), int(n_experiments)
    run = _compiled_trials(likelihood, policy, opts, p, e)
    n = truth.shape[0]
    bs = min(n, batch or max(1, int(4e6 // p)))
    outs = []
    for i0 in range(0, n, bs):  # every call has bs trials (the last one padded), so one compilation
        idx = np.minimum(np.arange(i0, i0 + bs), n - 1)
        keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(i0, i0 + bs))
        res = run(keys, jnp.asarray(truth[idx]), lower, upper)
        outs.append([np.asarray(a)[: min(bs, n - i0)] for a in res])
    cat = [np.concatenate([o[j] for o in outs]) for j in range(6)]
    return TrialRun(truth, cat[0], cat[1], cat[2], cat[3], cat[4], cat[5])


def make_realtime_step(likelihood: OutcomeProbs, policy: Policy, options: SMCOptions
                       ) -> Callable[[SMCState, Array, Array, Array], tuple[SMCState, Array]]:
    """The jitted per-shot step ``(state, outcome, setting, key) -> (state, next_setting)``.

    Fixed shapes; the Liu-West resampling is always computed and selected, so
    the cost does not depend on whether this shot resamples. Compiles once.
    """

    def step(state: SMCState, outcome: Array, setting: Array, key: Array):
        k1, k2 = jax.random.split(key)
        state = smc_update(likelihood, state, outcome, setting, k1, options)
        return state, policy(state, k2)

    return jax.jit(step)


class Latency(NamedTuple):
    """Per-update latency in microseconds.

    Attributes:
      p50_us: median.
      p99_us: 99th percentile.
      max_us: maximum.
      samples_us: every timed call, shape (n,).
    """

    p50_us: float
    p99_us: float
    max_us: float
    samples_us: np.ndarray


def measure_latency(step, state: SMCState, setting: Array, key: Array, *, n_calls: int = 500,
                    warmup: int = 20, outcome_fn: Callable[[int], int] | None = None) -> Latency:
    """Time ``n_calls`` real-time steps (each call blocked until done), after ``warmup`` calls.

    Args:
      step: from :func:`make_realtime_step`.
      state: starting state.
      setting: first setting (3,).
      key: PRNG key.
      n_calls: timed calls (>= 1).
      warmup: untimed calls first (compilation).
      outcome_fn: outcome of call i (default: alternating 0, 1).

    Raises:
      ValueError: n_calls < 1.
    """
    if int(n_calls) < 1:
        raise ValueError(f"n_calls = {n_calls}; accepted: >= 1")
    outcome_fn = outcome_fn or (lambda i: i % 2)
    keys = jax.random.split(key, warmup + n_calls)
    samples = []
    for i in range(warmup + n_calls):
        y = jnp.asarray(outcome_fn(i))
        t0 = time.perf_counter()
        state, setting = step(state, y, setting, keys[i])
        jax.block_until_ready(setting)
        dt = time.perf_counter() - t0
        if i >= warmup:
            samples.append(dt * 1e6)
    s = np.asarray(samples)
    return Latency(float(np.percentile(s, 50)), float(np.percentile(s, 99)), float(s.max()), s)
