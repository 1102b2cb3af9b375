"""The adaptive loop: seeded simulated trials (jit + scan over experiments, map or vmap over trials)
and the real-time step.

One experiment = choose a setting from the posterior, draw the outcome from
the true parameters, update. :func:`simulate_trials` runs N independent
trials in one compiled program per batch (batches dispatched from worker threads).
:func:`make_pipelined_step` gives the real-time update as two jitted calls (likelihood,
reweight, next setting; then the resampling when needed, after the setting is issued) and
:func:`make_realtime_step` the same work in one call; :func:`measure_latency` times either.
"""

from __future__ import annotations

import functools
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, NamedTuple

from qlearn_sense import _jax  # noqa: F401
import jax
import jax.numpy as jnp
import numpy as np

from qlearn_sense.adaptive import _rng
from qlearn_sense.adaptive._likelihood import OutcomeProbs
from qlearn_sense.adaptive._policies import Policy
from qlearn_sense.adaptive._smc import (
    SMCOptions,
    SMCState,
    credible_interval,
    initial_state,
    liu_west_resample,
    reweight_probs,
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
    return initial_state(x, jax.random.fold_in(key, 1))


@functools.lru_cache(maxsize=16)
def _compiled_trials(likelihood: OutcomeProbs, policy: Policy, opts: SMCOptions, p: int, e: int, vectorize: bool):
    """One compiled trial runner per (likelihood, policy, options, P, E, vectorize): compiled once, reused.

    ``vectorize=False`` (default of :func:`simulate_trials`) runs the trials of a batch one after
    the other (``lax.map``) with the Liu-West resampling under ``lax.cond``, so a trial pays for
    resampling only when its ESS is low (about one update in ten); ``vectorize=True`` vmaps
    the trials, which turns the ``cond`` into a select that resamples every trial at every
    update (slower on CPU; kept for accelerators, where width is free).
    """
    sim_opts = opts._replace(fixed_latency=vectorize)  # the trial loop's cost may depend on the data

    def trial(k: Array, x_true: Array, lower: Array, upper: Array):
        k0, k1, k2 = _rng.split(k, 3)
        # every experiment's randomness drawn up front (two kernels per trial, none per experiment)
        keys = _rng.split(k1, 2 * e).reshape(e, 2, 2)
        u_out = _rng.uniform(k2, e)

        def body(state, inp):
            kk, u = inp
            s = policy(state, kk[0])
            pr = likelihood(x_true[None, :], s)[0]
            c = jnp.cumsum(pr)
            y = jnp.minimum(jnp.sum(c < u * c[-1]), pr.shape[0] - 1)  # outcome by inverse CDF
            state = smc_update(likelihood, state, y, s, kk[1], sim_opts)
            w = state.weights
            x0 = state.particles[:, 0]
            m = jnp.sum(w * x0)
            return state, (m, jnp.sqrt(jnp.maximum(jnp.sum(w * (x0 - m) ** 2), 0.0)), s[0])

        final, (m, sd, t) = jax.lax.scan(body, _prior(k0, lower, upper, p), (keys, u_out))
        w = final.weights
        return m, sd, t, credible_interval(final, 0.95), 1.0 / jnp.sum(w * w), final.n_resamples

    if vectorize:
        return jax.jit(jax.vmap(trial, in_axes=(0, 0, None, None)))
    return jax.jit(lambda keys, truth, lower, upper: jax.lax.map(
        lambda a: trial(a[0], a[1], lower, upper), (keys, truth)))


def simulate_trials(key: Array, likelihood: OutcomeProbs, policy: Policy, truth, lower, upper, *,
                    n_particles: int, n_experiments: int, options: SMCOptions | None = None,
                    batch: int | None = None, vectorize: bool = False, workers: int | None = None) -> TrialRun:
    """Simulate N seeded adaptive trials (one per row of ``truth``), every shot adapted.

    The whole trial loop (policy, simulated outcome, update, resampling) is one compiled
    program per batch of trials (``lax.scan`` over experiments inside ``lax.map`` or ``vmap``
    over trials): no host round trip per experiment. Batches are dispatched from ``workers``
    threads (XLA releases the GIL), so on a 2-core machine two batches run at once.

    Args:
      key: PRNG key (trial i uses ``fold_in(key, i)``: results do not depend on ``batch``,
        ``vectorize`` or ``workers``).
      likelihood: :data:`OutcomeProbs` (also generates the outcomes from the truth).
      policy: :data:`Policy`.
      truth: true parameters, shape (N, D), SI units per column.
      lower, upper: prior box, shape (D,).
      n_particles: P >= 2.
      n_experiments: E >= 1.
      options: :class:`SMCOptions` (its bounds default to the prior box; ``fixed_latency`` is
        ignored here: see ``vectorize``).
      batch: trials per compiled call (default: N split evenly over the workers, at most about 4e6 / P).
      vectorize: vmap the trials of a batch (resampling computed for every trial at every update)
        instead of running them one after the other with a conditional resampling.
      workers: threads dispatching batches (default: the number of CPUs, at most 4).

    Returns:
      :class:`TrialRun`.

    Raises:
      ValueError: P < 2, E < 1, workers < 1, or truth not of shape (N, D).
    """
    lower = jnp.atleast_1d(jnp.asarray(lower, dtype=jnp.float64))
    upper = jnp.atleast_1d(jnp.asarray(upper, dtype=jnp.float64))
    truth = np.atleast_2d(np.asarray(truth, dtype=np.float64))
    if int(n_particles) < 2 or int(n_experiments) < 1:
        raise ValueError(f"n_particles = {n_particles}, n_experiments = {n_experiments}; "
                         "accepted: n_particles >= 2, n_experiments >= 1")
    if workers is not None and int(workers) < 1:
        raise ValueError(f"workers = {workers}; accepted: >= 1 or None")
    if truth.shape[1] != lower.shape[0]:
        raise ValueError(f"truth has shape {truth.shape}; expected (N, {lower.shape[0]})")
    opts = options or SMCOptions()
    if opts.lower == SMCOptions().lower:
        opts = opts._replace(lower=tuple(np.asarray(lower).tolist()), upper=tuple(np.asarray(upper).tolist()))
    p, e = int(n_particles), int(n_experiments)
    run = _compiled_trials(likelihood, policy, opts._replace(fixed_latency=True), p, e, bool(vectorize))
    n = truth.shape[0]
    nw = int(workers) if workers is not None else max(1, min(4, os.cpu_count() or 1))
    bs = min(n, batch or min(max(1, int(4e6 // p)), -(-n // nw)))
    starts = list(range(0, n, bs))
    keys_all = np.asarray(jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(len(starts) * bs)))
    truth_dev = jnp.asarray(truth)

    def one(i0):  # every call has bs trials (the last one padded), so one compilation
        idx = np.minimum(np.arange(i0, i0 + bs), n - 1)
        res = run(keys_all[i0:i0 + bs], truth_dev[idx], lower, upper)
        return [np.asarray(a)[: min(bs, n - i0)] for a in res]

    if nw > 1 and len(starts) > 1:
        with ThreadPoolExecutor(max_workers=nw) as pool:
            outs = list(pool.map(one, starts))
    else:
        outs = [one(i0) for i0 in starts]
    cat = [np.concatenate([o[j] for o in outs]) for j in range(6)]
    return TrialRun(truth, cat[0], cat[1], cat[2], cat[3], cat[4], cat[5])


def make_realtime_step(likelihood: OutcomeProbs, policy: Policy, options: SMCOptions
                       ) -> Callable[[SMCState, Array, Array, Array], tuple[SMCState, Array]]:
    """The jitted per-shot step ``(state, outcome, setting, key) -> (state, next_setting)``, one call.

    Fixed shapes; the Liu-West resampling is always computed and selected, so
    the cost does not depend on whether this shot resamples. Compiles once.
    :func:`make_pipelined_step` splits the same work so that the resampling is off the
    path from an outcome to the next setting (what the analyses and the live loop use).
    """

    def step(state: SMCState, outcome: Array, setting: Array, key: Array):
        k1, k2 = _rng.split(key, 2)
        state = smc_update(likelihood, state, outcome, setting, k1, options)
        return state, policy(state, k2)

    return jax.jit(step)


class PipelinedStep(NamedTuple):
    """The per-shot update split at the next setting: two jitted calls.

    Attributes:
      update: ``(state, outcome, setting, key) -> (state, next_setting)``: likelihood,
        reweight, next setting. Never resamples, so its latency (the dead time between an
        outcome and the next setting) does not depend on the data.
      maintain: ``(state, key) -> state``: Liu-West resampling (jitted) when the effective
        sample size is below threshold (checked on the host), run after the next setting is issued, while that
        experiment is in flight. Resampling keeps the posterior (in distribution), so the
        setting chosen before it is the one the resampled particles would give up to
        Monte Carlo noise.
    """

    update: Callable[[SMCState, Array, Array, Array], tuple[SMCState, Array]]
    maintain: Callable[[SMCState, Array], SMCState]


def make_pipelined_step(likelihood: OutcomeProbs, policy: Policy, options: SMCOptions) -> PipelinedStep:
    """The real-time update as :class:`PipelinedStep`: next setting first, resampling after it.

    One cycle is ``state, setting = update(state, y, setting, key_1)`` (issue ``setting``),
    then ``state = maintain(state, key_2)``. The cycle does the work of one
    :func:`make_realtime_step` call with ``options.fixed_latency = False`` (resampling only
    when needed); the dead time is the ``update`` alone (2,000 particles on a 2-core VM:
    about 50 us against 100-150 us for the one-call fixed-latency step, whose resampling
    is on the path).

    Args:
      likelihood: :data:`OutcomeProbs`.
      policy: :data:`Policy`.
      options: :class:`SMCOptions` (``fixed_latency`` is ignored: ``maintain`` resamples only when needed).

    Returns:
      :class:`PipelinedStep` of two jitted functions (each compiles once).
    """
    threshold = float(options.resample_threshold)

    def update(state: SMCState, outcome: Array, setting: Array, key: Array):
        state = reweight_probs(state, likelihood(state.particles, setting)[:, outcome])
        return state, policy(state, key)

    resample = jax.jit(lambda state, key: liu_west_resample(state, key, options))

    def maintain(state: SMCState, key: Array) -> SMCState:
        # the effective sample size is checked on the host (the weights are already in host
        # memory on CPU): no device call at all in the ~90 % of cycles that do not resample
        w = np.asarray(state.weights)
        if 1.0 / float(np.dot(w, w)) < threshold * w.shape[0]:
            return resample(state, key)
        return state

    return PipelinedStep(jax.jit(update), maintain)


class Latency(NamedTuple):
    """Per-update latency in microseconds.

    Attributes:
      p50_us: median time from an outcome to the next setting.
      p99_us: its 99th percentile.
      max_us: its maximum.
      samples_us: every timed call, shape (n,).
      cycle_p50_us: median time of the whole update cycle (for a :class:`PipelinedStep`, the
        update and the resampling after it; for a one-call step the same as ``p50_us``).
      cycle_p99_us: 99th percentile of the cycle.
    """

    p50_us: float
    p99_us: float
    max_us: float
    samples_us: np.ndarray
    cycle_p50_us: float | None = None
    cycle_p99_us: float | None = None


def measure_latency(step, state: SMCState, setting: Array, key: Array, *, n_calls: int = 500,
                    warmup: int = 20, outcome_fn: Callable[[int], int] | None = None) -> Latency:
    """Time ``n_calls`` real-time updates (each blocked until done), after ``warmup`` calls.

    Args:
      step: from :func:`make_realtime_step` (one call per update) or a :class:`PipelinedStep`
        (timed from the outcome to the next setting, and to the end of the resampling after it).
      state: starting state.
      setting: first setting (3,).
      key: PRNG key.
      n_calls: timed calls (>= 1).
      warmup: untimed calls first (compilation).
      outcome_fn: outcome of call i (default: alternating 0, 1).

    Returns:
      :class:`Latency` (cycle fields filled for both kinds of step).

    Raises:
      ValueError: n_calls < 1.
    """
    if int(n_calls) < 1:
        raise ValueError(f"n_calls = {n_calls}; accepted: >= 1")
    outcome_fn = outcome_fn or (lambda i: i % 2)
    pipelined = isinstance(step, PipelinedStep)
    # per-call keys split into a list before the clock starts: indexing a device array inside the
    # timed region is an eager dispatch (~0.1 ms) that would be timed as part of the update
    keys = list(jax.random.split(key, 2 * (warmup + n_calls)))
    samples, cycles = [], []
    for i in range(warmup + n_calls):
        y = jnp.asarray(outcome_fn(i))
        k, k2 = keys[2 * i], keys[2 * i + 1]
        t0 = time.perf_counter()
        if pipelined:
            state, setting = step.update(state, y, setting, k)
            jax.block_until_ready(setting)
            t1 = time.perf_counter()
            state = jax.block_until_ready(step.maintain(state, k2))
        else:
            state, setting = step(state, y, setting, k)
            jax.block_until_ready(setting)
            t1 = time.perf_counter()
        t2 = time.perf_counter()
        if i >= warmup:
            samples.append((t1 - t0) * 1e6)
            cycles.append((t2 - t0) * 1e6)
    s, c = np.asarray(samples), np.asarray(cycles)
    return Latency(float(np.percentile(s, 50)), float(np.percentile(s, 99)), float(s.max()), s,
                   float(np.percentile(c, 50)), float(np.percentile(c, 99)))
