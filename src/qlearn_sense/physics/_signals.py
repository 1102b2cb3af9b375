"""Biomedical magnetic-field sources, each linear in an amplitude (tesla).

A signal ``B(t) = A s(t)`` with amplitude ``A`` (T) and unit-peak shape ``s``.
During an interrogation of length ``t`` starting at ``t0`` a qubit accumulates
``phi = 2 pi gamma A int w(t') s(t') dt'`` with the sequence's sign function
``w`` (+1 for Ramsey; +1 then -1 around the pi pulse for a Hahn echo). So
``phi = A * dphi_dA`` and estimating the phase estimates the amplitude.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from qlearn_sense.physics._sensors import SEQUENCES


def _weighted_integral(shape, t0: float, t: float, sequence: str) -> float:
    if sequence not in SEQUENCES:
        raise ValueError(f"sequence = {sequence!r}; accepted: {SEQUENCES}")
    if t <= 0:
        raise ValueError(f"interrogation time t = {t}; must be > 0")
    from scipy import integrate  # imported here: config validation need not load scipy.integrate

    if sequence == "ramsey":
        return integrate.quad(shape, t0, t0 + t, limit=200)[0]
    half = t0 + t / 2
    return integrate.quad(shape, t0, half, limit=200)[0] - integrate.quad(shape, half, t0 + t, limit=200)[0]


@dataclass(frozen=True)
class ConstantField:
    """A static field, e.g. from a magnetically labelled biomarker.

    Attributes:
      field_T: field along the sensor axis, T.
    """

    field_T: float

    @property
    def amplitude_T(self) -> float:
        """Amplitude A (T)."""
        return self.field_T

    def shape(self, t: float) -> float:
        """Unit shape s(t) = 1."""
        return 1.0

    def dphi_dA(self, gamma_Hz_per_T: float, t_s: float, t0_s: float = 0.0, sequence: str = "ramsey") -> float:
        """Phase per tesla of amplitude, rad/T: ``2 pi gamma t`` for Ramsey, 0 for an echo.

        Raises:
          ValueError: non-positive t_s or unknown sequence.
        """
        return 2 * math.pi * gamma_Hz_per_T * _weighted_integral(self.shape, t0_s, t_s, sequence)


@dataclass(frozen=True)
class ActionPotentialField:
    """Magnetic field of a single-neuron action potential at the sensor.

    Biphasic shape (first derivative of a Gaussian, as the axial current of a
    propagating action potential gives): ``s(t) = (u) exp((1 - u^2)/2)`` with
    ``u = (t - t_peak)/width``, unit peak at ``t = t_peak + width``.

    Values: Barry et al., PNAS 113, 14133 (2016) detected action potentials of
    excised invertebrate giant axons with an NV ensemble of 15 +- 1 pT/sqrt(Hz)
    sensitivity and ~32 us resolution; fields next to the axon are nT-scale.
    A 15 pT peak is the seed paper's figure (its sensitivity restated): model it
    as a weak, distant neuron.

    Attributes:
      peak_field_T: peak amplitude A, T.
      width_s: time scale of the pulse, s (~0.1-1 ms for axonal action potentials).
      t_peak_s: time of the zero crossing, s.
    """

    peak_field_T: float
    width_s: float = 3e-4
    t_peak_s: float = 0.0

    def __post_init__(self) -> None:
        if self.width_s <= 0:
            raise ValueError(f"ActionPotentialField.width_s = {self.width_s}; must be > 0")

    @property
    def amplitude_T(self) -> float:
        """Amplitude A (T)."""
        return self.peak_field_T

    def shape(self, t: float) -> float:
        """Unit-peak biphasic shape s(t)."""
        u = (t - self.t_peak_s) / self.width_s
        return u * math.exp((1 - u * u) / 2)

    def default_window_start(self, t_s: float) -> float:
        """Interrogation start that centres a window of length t_s on the field maximum."""
        return self.t_peak_s + self.width_s - t_s / 2

    def dphi_dA(self, gamma_Hz_per_T: float, t_s: float, t0_s: float | None = None,
                sequence: str = "ramsey") -> float:
        """Phase per tesla of peak amplitude, rad/T, for a window at ``t0_s`` (default: centred on the peak).

        Raises:
          ValueError: non-positive t_s or unknown sequence.
        """
        t0 = self.default_window_start(t_s) if t0_s is None else t0_s
        return 2 * math.pi * gamma_Hz_per_T * _weighted_integral(self.shape, t0, t_s, sequence)


@dataclass(frozen=True)
class SinusoidalRhythm:
    """A sinusoidal field, e.g. a cortical rhythm: ``B(t) = A sin(2 pi f t + phase)``.

    A Hahn echo of length ``t = 1/f`` with the rhythm's node at the start is the
    matched (AC) sequence: ``dphi/dA = 2 pi gamma * 2 t / pi`` (Taylor et al. 2008).

    Attributes:
      amplitude_T: A, T.
      frequency_Hz: f, Hz, > 0.
      phase_rad: phase at t = 0.

    Raises:
      ValueError: non-positive frequency.
    """

    amplitude_T: float
    frequency_Hz: float
    phase_rad: float = 0.0

    def __post_init__(self) -> None:
        if self.frequency_Hz <= 0:
            raise ValueError(f"SinusoidalRhythm.frequency_Hz = {self.frequency_Hz}; must be > 0")

    def shape(self, t: float) -> float:
        """Unit-amplitude sin(2 pi f t + phase)."""
        return math.sin(2 * math.pi * self.frequency_Hz * t + self.phase_rad)

    def dphi_dA(self, gamma_Hz_per_T: float, t_s: float, t0_s: float = 0.0, sequence: str = "ramsey") -> float:
        """Phase per tesla of amplitude, rad/T.

        Raises:
          ValueError: non-positive t_s or unknown sequence.
        """
        return 2 * math.pi * gamma_Hz_per_T * _weighted_integral(self.shape, t0_s, t_s, sequence)
