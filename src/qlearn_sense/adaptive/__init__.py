"""Adaptive inference: sequential Bayesian field estimation, design policies, tracking, real time.

Pure JAX/numpy with explicit PRNG keys. A likelihood is
``outcome_probs(x (P, D), setting (3,)) -> p (P, K)`` with setting
``(t_s, readout_phase_rad, clock_s)``; column 0 of x is the field in T.

- Posteriors: :func:`smc_init` / :func:`smc_update` (particle filter with
  Liu-West resampling, fixed shapes), :func:`grid_init` / :func:`grid_update`
  (exact one-parameter grid).
- Likelihoods: :class:`RamseyModel` (closed form with decoherence and readout
  noise), :func:`protocol_outcome_probs` (any compiled protocol's ``probs(theta, phi)``).
- Policies: :func:`particle_guess_policy` (Wiebe et al. 2014), :func:`sigma_heuristic_policy`
  (t = c / posterior sd, alternating quadrature readout: Heisenberg scaling), :func:`greedy_eig_policy`,
  :func:`fixed_policy`, and robust phase estimation :func:`rpe_schedule` /
  :func:`rpe_simulate` (Kimmel, Low, Yoder 2015); :func:`coherence_cap_s`.
- Loop and real time: :func:`simulate_trials`, :func:`make_pipelined_step`
  (next setting first, resampling after it), :func:`make_realtime_step`, :func:`measure_latency`.
- Tracking: :func:`track` (random walk or action-potential template), :func:`template_waveform`,
  :func:`detection_decision`.
"""

from qlearn_sense.adaptive._evr import evr_candidates, evr_policy, expected_posterior_variance
from qlearn_sense.adaptive._grid import (
    GridState,
    grid_credible_interval,
    grid_init,
    grid_mean,
    grid_update,
    grid_var,
)
from qlearn_sense.adaptive._likelihood import (
    SETTING_SIZE,
    OutcomeProbs,
    RamseyModel,
    protocol_outcome_probs,
    ramsey_outcome_probs,
    ramsey_p0,
    ramsey_readout_params,
)
from qlearn_sense.adaptive._loop import (
    Latency,
    PipelinedStep,
    TrialRun,
    make_pipelined_step,
    make_realtime_step,
    measure_latency,
    simulate_trials,
)
from qlearn_sense.adaptive._policies import (
    POLICIES,
    READOUT_PHASES,
    Policy,
    candidate_settings,
    coherence_cap_s,
    expected_information_gain,
    fixed_policy,
    greedy_eig_policy,
    particle_guess_policy,
    sigma_heuristic_policy,
)
from qlearn_sense.adaptive._rpe import (
    RPERun,
    rpe_estimate,
    rpe_schedule,
    rpe_simulate,
    rpe_total_time,
    rpe_variance_bound,
)
from qlearn_sense.adaptive._smc import (
    SMCOptions,
    SMCState,
    absorb_counts,
    credible_interval,
    ess,
    liu_west_resample,
    multinomial_indices,
    posterior_cov,
    posterior_mean,
    resample_if_needed,
    reweight,
    reweight_probs,
    shot_sequence,
    smc_init,
    smc_update,
    smc_update_counts,
    systematic_indices,
    weighted_quantiles,
    weights,
)
from qlearn_sense.adaptive._tracking import (
    TrackingRun,
    ap_shape,
    detection_decision,
    template_outcome_probs,
    template_waveform,
    track,
)

__all__ = [
    "evr_candidates",
    "evr_policy",
    "expected_posterior_variance",
    "POLICIES",
    "READOUT_PHASES",
    "SETTING_SIZE",
    "GridState",
    "Latency",
    "PipelinedStep",
    "OutcomeProbs",
    "Policy",
    "RPERun",
    "RamseyModel",
    "SMCOptions",
    "SMCState",
    "TrackingRun",
    "TrialRun",
    "absorb_counts",
    "ap_shape",
    "candidate_settings",
    "coherence_cap_s",
    "credible_interval",
    "detection_decision",
    "ess",
    "expected_information_gain",
    "fixed_policy",
    "greedy_eig_policy",
    "grid_credible_interval",
    "grid_init",
    "grid_mean",
    "grid_update",
    "grid_var",
    "liu_west_resample",
    "make_pipelined_step",
    "make_realtime_step",
    "measure_latency",
    "particle_guess_policy",
    "posterior_cov",
    "posterior_mean",
    "protocol_outcome_probs",
    "ramsey_outcome_probs",
    "ramsey_p0",
    "ramsey_readout_params",
    "resample_if_needed",
    "reweight",
    "reweight_probs",
    "shot_sequence",
    "sigma_heuristic_policy",
    "rpe_estimate",
    "rpe_schedule",
    "rpe_simulate",
    "rpe_total_time",
    "rpe_variance_bound",
    "simulate_trials",
    "smc_init",
    "smc_update",
    "smc_update_counts",
    "multinomial_indices",
    "systematic_indices",
    "template_outcome_probs",
    "template_waveform",
    "track",
    "weighted_quantiles",
    "weights",
]
