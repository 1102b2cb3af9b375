"""Sensor physics and biomedical signal sources (SI units: T, s, Hz, rad)."""

from qlearn_sense.physics._sensors import (
    NV_GYROMAGNETIC_RATIO_HZ_PER_T,
    SEQUENCES,
    NoiseParams,
    QubitSensor,
    nv_center,
    shot_noise_sensitivity,
)
from qlearn_sense.physics._signals import ActionPotentialField, ConstantField, SinusoidalRhythm

__all__ = [
    "NV_GYROMAGNETIC_RATIO_HZ_PER_T",
    "SEQUENCES",
    "ActionPotentialField",
    "ConstantField",
    "NoiseParams",
    "QubitSensor",
    "SinusoidalRhythm",
    "nv_center",
    "shot_noise_sensitivity",
]

from qlearn_sense.physics._ensemble import (  # noqa: E402  (NV-ensemble model, issue 11)
    ENSEMBLE_SEQUENCES,
    NVEnsembleSensor,
    filter_function,
    photon_count_fisher,
    photons_from_contrast,
    pulse_times,
    readout_noise_factor,
    scaling_sensitivity,
    waveform_weight,
)

__all__ += [
    "ENSEMBLE_SEQUENCES",
    "NVEnsembleSensor",
    "filter_function",
    "photon_count_fisher",
    "photons_from_contrast",
    "pulse_times",
    "readout_noise_factor",
    "scaling_sensitivity",
    "waveform_weight",
]
