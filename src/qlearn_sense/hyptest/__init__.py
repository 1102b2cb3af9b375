"""Quantum hypothesis testing for "is the biomarker present?" (H0: no, H1: yes).

Pure analysis (numpy, scipy, cvxpy): functions of density matrices (quantum
limits over all measurements) or of the outcome distributions p0, p1 of a
concrete measurement (exact finite-shot tests), plus sequential tests.
Conventions: alpha = P(decide H1 | H0) (false alarm), beta = P(decide H0 | H1)
(miss), power = 1 - beta; exponents and log-likelihood ratios log(p1/p0) in nats.

- Quantum limits: :func:`helstrom_error`, :func:`chernoff_exponent`,
  :func:`chernoff_bound_error`, :func:`relative_entropy` / :func:`stein_exponent`,
  :func:`min_error_discrimination` (SDP), :func:`pretty_good_measurement`,
  :func:`quantum_shots_to_decide`.
- Concrete measurements: :func:`classical_chernoff_information`,
  :func:`neyman_pearson_test` (alias :func:`likelihood_ratio_test`),
  :func:`roc_curve`, :func:`auc`, :func:`min_error_fixed_shots`,
  :func:`shots_to_decide`, :func:`shots_to_seconds`.
- Sequential and composite: :func:`sprt_thresholds`, :func:`sprt_expected_shots`,
  :func:`sprt_simulate`, :func:`sprt_on_outcomes`, :func:`glrt_composite`.
"""

from qlearn_sense.hyptest._classical import (
    ApproximationWarning,
    ChernoffInformation,
    NeymanPearsonResult,
    auc,
    classical_chernoff_information,
    likelihood_ratio_test,
    min_error_fixed_shots,
    neyman_pearson_test,
    roc_curve,
    shots_to_decide,
    shots_to_seconds,
)
from qlearn_sense.hyptest._quantum import (
    ChernoffExponent,
    DiscriminationResult,
    QuantumShotsEstimate,
    chernoff_bound_error,
    chernoff_exponent,
    helstrom_error,
    min_error_discrimination,
    pretty_good_measurement,
    quantum_shots_to_decide,
    relative_entropy,
    stein_exponent,
)
from qlearn_sense.hyptest._sequential import (
    GLRTResult,
    SPRTExpectedShots,
    SPRTResult,
    SPRTSimulation,
    SPRTThresholds,
    glrt_composite,
    sprt_expected_shots,
    sprt_on_outcomes,
    sprt_simulate,
    sprt_thresholds,
)

from qlearn_sense.hyptest._decide import (
    EXACT_SHOT_LIMIT,
    fidelity,
    fidelity_error_lower_bound,
    gaussian_shots_to_decide,
    lrt_verdict,
)

__all__ = [
    "EXACT_SHOT_LIMIT",
    "fidelity",
    "fidelity_error_lower_bound",
    "gaussian_shots_to_decide",
    "lrt_verdict",
    "ApproximationWarning",
    "ChernoffExponent",
    "ChernoffInformation",
    "DiscriminationResult",
    "GLRTResult",
    "NeymanPearsonResult",
    "QuantumShotsEstimate",
    "SPRTExpectedShots",
    "SPRTResult",
    "SPRTSimulation",
    "SPRTThresholds",
    "auc",
    "chernoff_bound_error",
    "chernoff_exponent",
    "classical_chernoff_information",
    "glrt_composite",
    "helstrom_error",
    "likelihood_ratio_test",
    "min_error_discrimination",
    "min_error_fixed_shots",
    "neyman_pearson_test",
    "pretty_good_measurement",
    "quantum_shots_to_decide",
    "relative_entropy",
    "roc_curve",
    "shots_to_decide",
    "shots_to_seconds",
    "sprt_expected_shots",
    "sprt_on_outcomes",
    "sprt_simulate",
    "sprt_thresholds",
    "stein_exponent",
]
