"""Estimation of the phase and the field from counts (maximum likelihood on an exact model)."""

from qlearn_sense.estimation._mle import (
    PhaseEstimate,
    PhaseModel,
    identifiable_window,
    mle_phase,
    shots_for_relative_precision,
    shots_for_snr,
)

__all__ = [
    "PhaseEstimate",
    "PhaseModel",
    "identifiable_window",
    "mle_phase",
    "shots_for_relative_precision",
    "shots_for_snr",
]
