"""Sensor models: NV-centre electron spins and generic qubit sensors (SI units)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

NV_GYROMAGNETIC_RATIO_HZ_PER_T = 28.024e9
"""NV electron gyromagnetic ratio gamma/2pi in Hz/T (g = 2.0028; Doherty et al.,
Phys. Rep. 528, 1 (2013); free-electron g = 2.0023 gives 28.025 GHz/T)."""

SEQUENCES = ("ramsey", "hahn_echo")


class NoiseParams(NamedTuple):
    """Per-qubit noise of one interrogation (feed to ``qlearn_sense.protocol.Noise.uniform``).

    Attributes:
      eta: total coherence factor in (0, 1].
      gamma: amplitude-damping probability in [0, 1).
      p01: readout error P(1|0).
      p10: readout error P(0|1).
    """

    eta: float
    gamma: float
    p01: float
    p10: float


@dataclass(frozen=True)
class QubitSensor:
    """A two-level sensor whose transition shifts linearly with the field.

    Attributes:
      gyromagnetic_ratio_Hz_per_T: gamma/2pi in Hz/T, > 0.
      t2_star_s: free-induction (Ramsey) coherence time T2*, s, > 0.
      t2_s: spin-echo coherence time T2, s (defaults to T2*), > 0.
      stretch_exponent: p in ``eta(t) = exp(-(t/T)^p)``, 0.5..4 (1: Lorentzian
        line, 2: Gaussian; NV ensembles often show p between 1 and 3).
      t1_s: longitudinal relaxation time T1, s, or None for no amplitude damping.
      readout_fidelity: probability of reading the correct state (symmetric
        bit-flip readout), in (0.5, 1].
      overhead_time_s: per-shot time outside the interrogation (initialization,
        readout), s, >= 0.
      name: label.

    Raises:
      ValueError: a value outside its range (the message names the field).
    """

    gyromagnetic_ratio_Hz_per_T: float
    t2_star_s: float
    t2_s: float | None = None
    stretch_exponent: float = 1.0
    t1_s: float | None = None
    readout_fidelity: float = 1.0
    overhead_time_s: float = 0.0
    name: str = "qubit"

    def __post_init__(self) -> None:
        checks = {
            "gyromagnetic_ratio_Hz_per_T": self.gyromagnetic_ratio_Hz_per_T > 0,
            "t2_star_s": self.t2_star_s > 0,
            "t2_s": self.t2_s is None or self.t2_s > 0,
            "stretch_exponent": 0.5 <= self.stretch_exponent <= 4.0,
            "t1_s": self.t1_s is None or self.t1_s > 0,
            "readout_fidelity": 0.5 < self.readout_fidelity <= 1.0,
            "overhead_time_s": self.overhead_time_s >= 0,
        }
        for field, ok in checks.items():
            if not ok:
                raise ValueError(f"QubitSensor.{field} = {getattr(self, field)!r} is out of range")

    def coherence_time(self, sequence: str = "ramsey") -> float:
        """T2* for Ramsey, T2 for a Hahn echo, in s.

        Raises:
          ValueError: unknown sequence.
        """
        if sequence not in SEQUENCES:
            raise ValueError(f"sequence = {sequence!r}; accepted: {SEQUENCES}")
        if sequence == "ramsey":
            return self.t2_star_s
        return self.t2_s if self.t2_s is not None else self.t2_star_s

    def eta(self, t_s: float, sequence: str = "ramsey") -> float:
        """Coherence factor ``exp(-(t/T)^p)`` after interrogation time ``t_s`` (s).

        Raises:
          ValueError: negative time or unknown sequence.
        """
        if t_s < 0:
            raise ValueError(f"t_s = {t_s}; must be >= 0")
        return math.exp(-((t_s / self.coherence_time(sequence)) ** self.stretch_exponent))

    def amplitude_damping(self, t_s: float) -> float:
        """Amplitude-damping probability ``1 - exp(-t/T1)`` (0 without T1)."""
        return 0.0 if self.t1_s is None else 1.0 - math.exp(-t_s / self.t1_s)

    def noise(self, t_s: float, sequence: str = "ramsey") -> NoiseParams:
        """Per-qubit noise for interrogation time ``t_s`` (s).

        T2 already contains the T1 contribution, so eta is capped at
        ``sqrt(1 - gamma)`` (see :class:`qlearn_sense.protocol.Noise`).

        Raises:
          ValueError: negative time or unknown sequence.
        """
        gamma = self.amplitude_damping(t_s)
        eta = min(self.eta(t_s, sequence), math.sqrt(1.0 - gamma))
        flip = 1.0 - self.readout_fidelity
        return NoiseParams(eta=eta, gamma=gamma, p01=flip, p10=flip)

    def shot_time_s(self, t_s: float) -> float:
        """Time per shot: interrogation plus overhead, s."""
        return t_s + self.overhead_time_s

    def shot_rate_Hz(self, t_s: float) -> float:
        """Shots per second, ``1 / (t + overhead)``."""
        return 1.0 / self.shot_time_s(t_s)

    def phase_rad(self, field_T: float, t_s: float) -> float:
        """Phase per qubit from a DC field: ``phi = 2 pi gamma B t`` (rad)."""
        return 2.0 * math.pi * self.gyromagnetic_ratio_Hz_per_T * field_T * t_s


def nv_center(t2_star_s: float = 2e-6, **kwargs) -> QubitSensor:
    """An NV-centre electron-spin sensor (gamma/2pi = 28.024 GHz/T).

    Args:
      t2_star_s: T2* in s (2 us: ensemble value, Barry et al., Rev. Mod. Phys.
        92, 015004 (2020), Table I scale).
      **kwargs: other :class:`QubitSensor` fields.
    """
    kwargs.setdefault("gyromagnetic_ratio_Hz_per_T", NV_GYROMAGNETIC_RATIO_HZ_PER_T)
    kwargs.setdefault("name", "nv_center")
    return QubitSensor(t2_star_s=t2_star_s, **kwargs)


def shot_noise_sensitivity(contrast: float, t2_star_s: float,
                           gyromagnetic_ratio_Hz_per_T: float = NV_GYROMAGNETIC_RATIO_HZ_PER_T) -> float:
    """Shot-noise-limited DC sensitivity ``1 / (gamma C sqrt(T2*))`` in T/sqrt(Hz).

    ``gamma`` in rad/(s T). Sources: Taylor et al., Nat. Phys. 4, 810 (2008);
    Barry et al., Rev. Mod. Phys. 92, 015004 (2020), eq. (14) order of magnitude.
    C = 0.03, T2* = 2 us gives 1.3386e-7 T/sqrt(Hz).

    Raises:
      ValueError: contrast outside (0, 1] or non-positive T2*.
    """
    if not 0 < contrast <= 1:
        raise ValueError(f"contrast = {contrast}; accepted: 0 < C <= 1")
    if t2_star_s <= 0:
        raise ValueError(f"t2_star_s = {t2_star_s}; must be > 0")
    return 1.0 / (2 * math.pi * gyromagnetic_ratio_Hz_per_T * contrast * math.sqrt(t2_star_s))
