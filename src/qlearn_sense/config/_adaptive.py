"""The ``adaptive:`` config section: sequential Bayesian estimation, design policy, tracking, live mode.

Every quantity in SI units (T, s, Hz). Errors name the field, the value and
what is accepted.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

PHYSICAL_FIELD_LIMIT_T = 1.0
"""Largest |B| accepted in a prior, T: a field sensor's linear-Zeeman regime
(the NV ground-state level anticrossing is at 0.1024 T, Doherty et al., Phys. Rep. 528, 1 (2013);
1 T leaves room for other sensors while rejecting unit mistakes such as nT written as T * 1e9)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TrackingConfig(_Model):
    """Tracking a time-varying field (the config's ``signal`` should be an action potential).

    Attributes:
      model: ``template`` (unknown amplitude and arrival of the action-potential shape) or
        ``random_walk`` (diffusing field).
      window_s: length of one event window, s.
      update_interval_s: time between interrogation starts, s (< window_s).
      shots_per_update: readouts absorbed per update (ensemble readouts or repeats).
      events: event windows; odd windows carry no event (to test the detection statistic).
      amplitude_max_T: upper end of the amplitude prior (template), T.
      random_walk_T_per_sqrt_s: diffusion of the random-walk prior, T/sqrt(s).
      alpha, beta: false-alarm and miss targets for the per-event decision.
    """

    model: Literal["template", "random_walk"] = "template"
    window_s: Annotated[float, Field(gt=0, le=10.0)] = 3e-3
    update_interval_s: Annotated[float, Field(gt=0)] = 1e-5
    shots_per_update: Annotated[int, Field(ge=1, le=10**15)] = 1
    events: Annotated[int, Field(ge=1, le=1000)] = 2
    amplitude_max_T: Annotated[float, Field(gt=0)] | None = None
    random_walk_T_per_sqrt_s: Annotated[float, Field(ge=0)] = 0.0
    alpha: Annotated[float, Field(gt=0, lt=1)] = 0.01
    beta: Annotated[float, Field(gt=0, lt=1)] = 0.01

    @model_validator(mode="after")
    def _check(self) -> "TrackingConfig":
        if self.update_interval_s >= self.window_s:
            raise ValueError(f"tracking.update_interval_s = {self.update_interval_s} must be < "
                             f"tracking.window_s = {self.window_s}")
        if self.window_s / self.update_interval_s > 20000:
            raise ValueError(f"tracking.window_s / update_interval_s = {self.window_s / self.update_interval_s:.0f}; "
                             "accepted: <= 20000 updates per window")
        if self.amplitude_max_T is not None and self.amplitude_max_T > PHYSICAL_FIELD_LIMIT_T:
            raise ValueError(f"tracking.amplitude_max_T = {self.amplitude_max_T} T is outside the physical range "
                             f"(<= {PHYSICAL_FIELD_LIMIT_T} T)")
        return self


class LiveConfig(_Model):
    """Run the loop live against the local backend, one shot per event.

    Attributes:
      event_rate_Hz: arrival rate of shots to process, Hz.
      events: events to process.
    """

    event_rate_Hz: Annotated[float, Field(gt=0, le=1e7)]
    events: Annotated[int, Field(ge=1, le=100000)] = 500


class AdaptiveConfig(_Model):
    """The ``adaptive:`` section.

    Attributes:
      policy: ``particle_guess`` (Wiebe et al. 2014), ``sigma_heuristic`` (t = 0.6 / posterior sd of the
        precession frequency, fringe-slope readout phases; ``qlearn_sense.adaptive.sigma_heuristic_policy``), ``greedy_eig`` (expected information gain),
        ``evr`` (expected variance reduction, Granade et al. 2012), ``rpe`` (Kimmel et al. 2015)
        or ``fixed`` (non-adaptive repeated Ramsey).
      particles: particles of the filter (>= 2).
      experiments: single-shot experiments per trial (rounds x settings on hardware).
      trials: seeded trials for the error curve.
      time_budget_s: stop a trial once its total interrogation time exceeds this, s (None: no budget).
      prior_min_T, prior_max_T: uniform prior range of the field, T.
      learn_t2: also learn T2 (nuisance), prior [t2_prior_min_s, t2_prior_max_s].
      learn_contrast: also learn the readout contrast (nuisance), prior [contrast_prior_min, 1].
      coherence_fraction: interrogation times are capped at this fraction of T2 (T2* for Ramsey).
      max_interrogation_time_s: optional absolute cap, s.
      fixed_time_s: time of the ``fixed`` baseline (default: the coherence cap), s.
      candidate_times: number of candidate times of ``greedy_eig`` and ``evr``.
      resample_threshold: ESS fraction that triggers resampling.
      liu_west_a: Liu-West shrinkage a.
      rpe_generations: K of robust phase estimation (longest time 2^(K-1) times the base time).
      rpe_alpha, rpe_beta: RPE schedule constants, M_j = ceil(alpha (K - j) + beta).
      failure_sigmas: a trial fails when |error| > failure_sigmas posterior standard deviations.
      rounds, settings_per_round, shots_per_setting: the hardware loop (one PUB per round, run by
        ``qlearn-sense fetch`` once the main job is done).
      round_max_polls: status polls per round within one fetch before the round is left pending
        (the next ``qlearn-sense fetch`` resumes it; nothing is resubmitted).
      round_poll_interval_s: wait between two polls of a round, s.
      latency_calls: timed real-time updates for the latency percentiles.
      tracking: optional tracking section.
      live: optional live-mode section.
    """

    policy: Literal["particle_guess", "sigma_heuristic", "greedy_eig", "evr", "rpe", "fixed"] = "particle_guess"
    particles: Annotated[int, Field(ge=2, le=10**6)] = 2000
    experiments: Annotated[int, Field(ge=1, le=100000)] = 100
    trials: Annotated[int, Field(ge=1, le=100000)] = 200
    time_budget_s: Annotated[float, Field(gt=0)] | None = None
    prior_min_T: float = 0.0
    prior_max_T: float
    learn_t2: bool = False
    t2_prior_min_s: Annotated[float, Field(gt=0)] | None = None
    t2_prior_max_s: Annotated[float, Field(gt=0)] | None = None
    learn_contrast: bool = False
    contrast_prior_min: Annotated[float, Field(gt=0, lt=1)] = 0.5
    coherence_fraction: Annotated[float, Field(gt=0, le=10)] = 0.5
    max_interrogation_time_s: Annotated[float, Field(gt=0)] | None = None
    fixed_time_s: Annotated[float, Field(gt=0)] | None = None
    candidate_times: Annotated[int, Field(ge=1, le=256)] = 24
    resample_threshold: Annotated[float, Field(gt=0, le=1)] = 0.5
    liu_west_a: Annotated[float, Field(gt=0, lt=1)] = 0.98
    rpe_generations: Annotated[int, Field(ge=1, le=30)] = 10
    rpe_alpha: Annotated[float, Field(gt=0)] = 2.5
    rpe_beta: Annotated[float, Field(gt=0)] = 0.5
    failure_sigmas: Annotated[float, Field(gt=0)] = 5.0
    rounds: Annotated[int, Field(ge=1, le=1000)] = 5
    settings_per_round: Annotated[int, Field(ge=1, le=1000)] = 4
    shots_per_setting: Annotated[int, Field(ge=1, le=10**6)] = 100
    round_max_polls: Annotated[int, Field(ge=1, le=10000)] = 12
    round_poll_interval_s: Annotated[float, Field(ge=0, le=3600)] = 5.0
    latency_calls: Annotated[int, Field(ge=10, le=10**6)] = 300
    tracking: TrackingConfig | None = None
    live: LiveConfig | None = None

    @model_validator(mode="after")
    def _check(self) -> "AdaptiveConfig":
        for name in ("prior_min_T", "prior_max_T"):
            v = getattr(self, name)
            if not abs(v) <= PHYSICAL_FIELD_LIMIT_T:
                raise ValueError(f"adaptive.{name} = {v} T is outside the physical range "
                                 f"|B| <= {PHYSICAL_FIELD_LIMIT_T} T")
        if not self.prior_max_T > self.prior_min_T:
            raise ValueError(f"adaptive.prior_max_T = {self.prior_max_T} must exceed "
                             f"adaptive.prior_min_T = {self.prior_min_T}")
        if self.learn_t2:
            lo, hi = self.t2_prior_min_s, self.t2_prior_max_s
            if lo is None or hi is None or not hi > lo:
                raise ValueError(f"adaptive.learn_t2 needs t2_prior_min_s < t2_prior_max_s; got {lo}, {hi}")
        return self
