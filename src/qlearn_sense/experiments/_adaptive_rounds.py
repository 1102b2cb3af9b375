"""Adaptive rounds on a backend: each round is one submission (one PUB on IBM hardware).

IBM devices cannot adapt shot by shot from here, so the loop adapts per round:
the settings of round r come from the posterior after round r - 1; the round
is submitted as ledger PUB ``pub_offset + r`` of the run (default
:data:`ADAPTIVE_PUB_OFFSET` + r = 1000 + r, so rounds never clash with the
main job's PUBs 0..999) through the backend's own ``submit`` (which
records it in the job ledger first), polled with ``refresh`` and downloaded
with ``result``. A rerun with the same arguments replays the same rounds:
``submit`` returns the existing ledger record of a round that was already
submitted (never resubmitting it), its counts are downloaded again, and the
deterministic settings of the next round follow. Backends without
asynchronous submission run each round with ``run``.

On hardware the signal phase ``phi = 2 pi gamma B t`` of the emulated field is
applied by the protocol's encoding gate; the interrogation time enters only
through that phase (and the likelihood's model).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, NamedTuple

from qlearn_sense import _jax  # noqa: F401
import jax
import jax.numpy as jnp
import numpy as np

from qlearn_sense.adaptive import (
    OutcomeProbs,
    Policy,
    SMCOptions,
    SMCState,
    absorb_counts,
    shot_sequence,
    posterior_cov,
    posterior_mean,
    smc_init,
)
from qlearn_sense.backends import AbstractBackend, BackendError

ADAPTIVE_PUB_OFFSET = 1000
"""Ledger PUB of adaptive round r is ``ADAPTIVE_PUB_OFFSET + r``. PUB ranges of one run: 0..999 the main
job (0 the counts, 1-2 the shadows), 1000..1999 adaptive rounds, 2000+ network PUBs."""

__all__ = ["ADAPTIVE_PUB_OFFSET", "RoundsResult", "run_adaptive_rounds"]


class RoundsResult(NamedTuple):
    """Outcome of :func:`run_adaptive_rounds`.

    Attributes:
      rounds: one dict per completed round: ``round``, ``job_id`` (None off hardware), ``status``,
        ``settings`` (S, 3) list, ``counts`` (S, K) list, ``mean_T``, ``sd_T`` after the round.
      state: posterior after the last completed round.
      complete: True when every round finished; False when a round was still
        pending after the polls allowed (rerun later to resume).
      pending_round: the round still waiting (or the round that failed), or None.
      error: with ``on_error="return"``: the message of the round's job that ended in ERROR or
        CANCELLED (rerun to resubmit that round), else None.
      pub_offset: ledger PUB of round 0.
    """

    rounds: list[dict]
    state: SMCState
    complete: bool
    pending_round: int | None
    error: str | None = None
    pub_offset: int = ADAPTIVE_PUB_OFFSET


def run_adaptive_rounds(backend: AbstractBackend, protocol, *, likelihood: OutcomeProbs, policy: Policy,
                        theta_of_phase: Callable[[Any], Any], gyromagnetic_ratio_Hz_per_T: float,
                        true_field_T: float, lower, upper, n_particles: int, n_rounds: int,
                        settings_per_round: int, shots: int, seed: int, run_dir: str | Path | None = None,
                        run_id: str | None = None, config_name: str | None = None,
                        options: SMCOptions | None = None, max_polls: int = 120, poll_s: float = 5.0,
                        sleep: Callable[[float], None] = time.sleep, pub_offset: int = ADAPTIVE_PUB_OFFSET,
                        on_error: str = "raise") -> RoundsResult:
    """Run (or resume) the adaptive loop in rounds of one submission each.

    Args:
      backend: any backend; asynchronous ones (``ibm:<device>``) use ``submit``/``refresh``/``result``.
      protocol: the protocol to run (its likelihood is ``likelihood``).
      likelihood: :data:`OutcomeProbs` of the protocol (e.g. :func:`protocol_outcome_probs`).
      policy: :data:`Policy` giving each setting of a round (S draws with their own keys).
      theta_of_phase: readout phase (rad) -> protocol parameters, shape (n_params,).
      gyromagnetic_ratio_Hz_per_T: gamma/2pi, Hz/T.
      true_field_T: emulated field, T (the encoded phase is ``2 pi gamma B t``).
      lower, upper: prior box, shape (D,).
      n_particles: P >= 2.
      n_rounds: rounds R >= 1 (ledger PUB ``pub_offset + r`` = round r).
      settings_per_round: S >= 1 settings (PUB rows) per round.
      shots: shots per setting.
      seed: seeds the prior, the policy and the sampling (same seed, same rounds).
      run_dir, run_id, config_name: ledger identity of the run (required for asynchronous backends).
      options: :class:`SMCOptions` (bounds default to the prior box).
      max_polls: ``refresh`` calls per round before returning incomplete.
      poll_s: seconds between polls.
      sleep: the sleeping function (tests pass a no-op).
      pub_offset: ledger PUB of round 0 (default :data:`ADAPTIVE_PUB_OFFSET`); must be >= 1000 so that
        the rounds stay out of the main job's PUBs 0..999.
      on_error: ``"raise"`` (a failed round raises) or ``"return"`` (it ends the loop and is reported
        in :attr:`RoundsResult.error`).

    Returns:
      :class:`RoundsResult`.

    Raises:
      ValueError: R, S, shots < 1, pub_offset < 1000, an unknown on_error, or an asynchronous backend
        without run_dir/run_id.
      BackendError: with ``on_error="raise"``, a round's job ended in ERROR or CANCELLED (rerun to
        resubmit that round).
    """
    if min(int(n_rounds), int(settings_per_round), int(shots)) < 1:
        raise ValueError(f"n_rounds = {n_rounds}, settings_per_round = {settings_per_round}, shots = {shots}; "
                         "accepted: all >= 1")
    if int(pub_offset) < ADAPTIVE_PUB_OFFSET:
        raise ValueError(f"pub_offset = {pub_offset}; accepted: >= {ADAPTIVE_PUB_OFFSET} (PUBs 0..999 belong to "
                         "the main job)")
    if on_error not in ("raise", "return"):
        raise ValueError(f"on_error = {on_error!r}; accepted: 'raise' or 'return'")
    asynchronous = bool(backend.asynchronous)
    if asynchronous and (run_dir is None or run_id is None):
        raise ValueError("run_dir and run_id are required to run adaptive rounds on an asynchronous backend")
    lo, hi = np.atleast_1d(np.asarray(lower, float)), np.atleast_1d(np.asarray(upper, float))
    opts = options or SMCOptions(lower=tuple(lo.tolist()), upper=tuple(hi.tolist()))
    key = jax.random.PRNGKey(seed)
    state = smc_init(jax.random.fold_in(key, 10**6), lo, hi, n_particles)
    draw = jax.jit(lambda st, k: jax.vmap(lambda kk: policy(st, kk))(jax.random.split(k, settings_per_round)))
    absorb = jax.jit(lambda st, s, rows, outs, k: absorb_counts(likelihood, st, s, rows, outs, k, opts))
    done: list[dict] = []
    for r in range(int(n_rounds)):
        kr = jax.random.fold_in(key, r)
        settings = np.asarray(draw(state, jax.random.fold_in(kr, 0)))
        params = np.stack([np.asarray(theta_of_phase(jnp.asarray(s[1]))) for s in settings])
        phis = 2 * np.pi * gyromagnetic_ratio_Hz_per_T * true_field_T * settings[:, 0]
        job_id, status = None, "DONE"
        if asynchronous:
            rec = backend.submit(protocol, params, phis, int(shots), seed=seed + r, run_dir=run_dir, run_id=run_id,
                                 config_name=config_name, pub=int(pub_offset) + r)
            polls = 0
            while not rec.final and polls < max_polls:
                rec = backend.refresh(rec)
                polls += 1
                if not rec.final:
                    sleep(poll_s)
            if not rec.final:
                return RoundsResult(done, state, False, r, None, int(pub_offset))
            if rec.status != "DONE":
                msg = (f"adaptive round {r} (PUB {int(pub_offset) + r}, job {rec.job_id}) ended {rec.status}"
                       + (f": {rec.error}" if rec.error else "") + "; rerun to resubmit this round")
                if on_error == "return":
                    return RoundsResult(done, state, False, r, msg, int(pub_offset))
                raise BackendError(msg)
            counts = backend.result(rec, protocol.n_qubits).counts
            job_id, status = rec.job_id, rec.status
        else:
            counts = backend.run(protocol, params, phis, int(shots), seed=seed + r).counts
        rows, outs = shot_sequence(counts)
        state = absorb(state, jnp.asarray(settings), jnp.asarray(rows), jnp.asarray(outs), jax.random.fold_in(kr, 1))
        done.append({"round": r, "pub": int(pub_offset) + r if asynchronous else None, "job_id": job_id,
                     "status": status, "settings": settings.tolist(),
                     "counts": np.asarray(counts).tolist(), "mean_T": float(posterior_mean(state)[0]),
                     "sd_T": float(np.sqrt(max(float(posterior_cov(state)[0, 0]), 0.0)))})
    return RoundsResult(done, state, True, None, None, int(pub_offset))
