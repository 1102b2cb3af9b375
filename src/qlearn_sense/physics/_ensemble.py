"""NV-ensemble magnetometer model: optical readout noise, interrogation sequences, sensitivity.

Source for every closed form: Barry et al., "Sensitivity optimization for NV-diamond
magnetometry", Rev. Mod. Phys. 92, 015004 (2020) (below "Barry 2020"): the readout noise
factor ``sigma_R = sqrt(1 + 2 (a0 + a1) / (a0 - a1)^2)`` (their readout-fidelity section;
``F = 1 / sigma_R``), ``sigma_R = sqrt(1 + 1 / (C^2 n_avg))`` with contrast
``C = (a0 - a1) / (a0 + a1)`` and ``n_avg = (a0 + a1) / 2``, and the Ramsey sensitivity
``eta = sigma_R sqrt(t_I + tau + t_R) / (Delta m_s gamma_e sqrt(N) tau exp(-(tau/T2*)^p))``
(their Ramsey-magnetometry section; the equation numbers of the printed paper were not
checked offline). ``gamma_e = 2 pi x 28.024 GHz/T`` in rad/(s T).

Fisher-information form used here: one shot of N independent spins at the mid-fringe point
gives ``F_phi = N eta_c^2 / sigma_R^2`` (rad^-2), eta_c the coherence factor; with
``dphi/dB = Delta m_s gamma_e w`` (``w = int y(t) s(t) dt`` for a sequence sign function y),
``delta B sqrt(Hz) = sqrt(t_shot / F_B)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import integrate, optimize, stats

from qlearn_sense.physics._sensors import NV_GYROMAGNETIC_RATIO_HZ_PER_T, shot_noise_sensitivity

ENSEMBLE_SEQUENCES = ("ramsey", "hahn_echo", "cpmg")


def readout_noise_factor(a0: float, a1: float) -> float:
    """``sigma_R = sqrt(1 + 2 (a0 + a1) / (a0 - a1)^2)`` (Barry 2020; 1 = spin-projection limited).

    Args:
      a0: mean detected photons per spin per shot from m_s = 0, > a1.
      a1: the same for m_s = +-1, >= 0.

    Returns:
      sigma_R >= 1 (a0 = 0.03, a1 = 0.021 gives 35.50).

    Raises:
      ValueError: a1 < 0 or a0 <= a1 (message names the field).
    """
    if a1 < 0:
        raise ValueError(f"a1 = {a1}; must be >= 0 (photons per shot)")
    if a0 <= a1:
        raise ValueError(f"a0 = {a0} must exceed a1 = {a1} (m_s = 0 is the bright state)")
    return math.sqrt(1.0 + 2.0 * (a0 + a1) / (a0 - a1) ** 2)


def photons_from_contrast(contrast: float, photons_per_shot: float) -> tuple[float, float]:
    """``(a0, a1)`` from contrast ``C = (a0 - a1)/(a0 + a1)`` and ``n_avg = (a0 + a1)/2`` (Barry 2020).

    Raises:
      ValueError: contrast outside (0, 1] or non-positive photons_per_shot.
    """
    if not 0 < contrast <= 1:
        raise ValueError(f"contrast = {contrast}; accepted: 0 < C <= 1")
    if photons_per_shot <= 0:
        raise ValueError(f"photons_per_shot = {photons_per_shot}; must be > 0")
    return photons_per_shot * (1 + contrast), photons_per_shot * (1 - contrast)


scaling_sensitivity = shot_noise_sensitivity
"""Order-of-magnitude DC sensitivity ``1 / (gamma C sqrt(T2*))`` in T/sqrt(Hz): the same function as
:func:`qlearn_sense.physics.shot_noise_sensitivity` (Taylor et al. 2008; Barry et al. 2020)."""


def pulse_times(sequence: str, n_pulses: int, tau_s: float) -> np.ndarray:
    """pi-pulse times within ``[0, tau]``: none (Ramsey), tau/2 (Hahn), ``tau (j - 1/2)/k`` (CPMG-k)."""
    if sequence == "ramsey":
        return np.zeros(0)
    k = 1 if sequence == "hahn_echo" else n_pulses
    return tau_s * (np.arange(1, k + 1) - 0.5) / k


def filter_function(sequence: str, n_pulses: int, tau_s: float, freqs_Hz) -> np.ndarray:
    """``|Y(f)|^2 = |int_0^tau y(t) exp(i 2 pi f t) dt|^2`` in s^2 (y = +-1 sign function).

    The phase of an AC field ``b cos(2 pi f t + a)`` is ``Delta m_s gamma_e b Re(...)``; noise
    variance is ``int S(f) |Y(f)|^2 df`` (Cywinski et al., PRB 77, 174509 (2008)).

    Args:
      sequence: "ramsey", "hahn_echo" or "cpmg".
      n_pulses: pi pulses of CPMG (ignored otherwise), >= 1.
      tau_s: interrogation time, s, > 0.
      freqs_Hz: frequencies, shape (F,).

    Returns:
      Shape (F,), s^2.

    Raises:
      ValueError: unknown sequence, tau_s <= 0 or n_pulses < 1.
    """
    _check_sequence(sequence, n_pulses, tau_s)
    edges = np.concatenate([[0.0], pulse_times(sequence, n_pulses, tau_s), [tau_s]])
    signs = (-1.0) ** np.arange(len(edges) - 1)
    w = 2 * np.pi * np.asarray(freqs_Hz, dtype=float)[:, None]
    safe = np.where(w == 0, 1.0, w)
    seg = np.where(w == 0, (edges[1:] - edges[:-1])[None, :] + 0j,
                   (np.exp(1j * safe * edges[None, 1:]) - np.exp(1j * safe * edges[None, :-1])) / (1j * safe))
    return np.abs(np.sum(signs[None, :] * seg, axis=1)) ** 2


def _check_sequence(sequence: str, n_pulses: int, tau_s: float) -> None:
    if sequence not in ENSEMBLE_SEQUENCES:
        raise ValueError(f"sequence = {sequence!r}; accepted: {ENSEMBLE_SEQUENCES}")
    if n_pulses < 1:
        raise ValueError(f"n_pulses = {n_pulses}; must be >= 1")
    if tau_s <= 0:
        raise ValueError(f"tau_s = {tau_s}; must be > 0")


def waveform_weight(shape, sequence: str, n_pulses: int, tau_s: float, t0_s: float) -> float:
    """``w = int_{t0}^{t0+tau} y(t - t0) s(t) dt`` in s, for a unit-peak waveform ``s(t)``.

    Raises:
      ValueError: unknown sequence, tau_s <= 0 or n_pulses < 1.
    """
    _check_sequence(sequence, n_pulses, tau_s)
    edges = t0_s + np.concatenate([[0.0], pulse_times(sequence, n_pulses, tau_s), [tau_s]])
    return float(sum((-1) ** i * integrate.quad(shape, a, b, limit=200)[0]
                     for i, (a, b) in enumerate(zip(edges[:-1], edges[1:]))))


@dataclass(frozen=True)
class NVEnsembleSensor:
    """An NV-ensemble magnetometer (all times in s, fields in T).

    Attributes:
      n_spins: number of NV spins addressed, N >= 1 (or use :meth:`from_density`).
      a0: mean detected photons per spin per shot from m_s = 0.
      a1: the same from m_s = +-1 (< a0).
      t2_star_s: Ramsey dephasing time T2*, s.
      t2_s: spin-echo coherence time T2, s (>= T2*).
      stretch_exponent: p of ``exp(-(tau/T2*)^p)`` (Ramsey) and of the echo decay, 0.5..4.
      delta_ms: 1 (single quantum) or 2 (double quantum: twice the phase; Barry 2020).
      overhead_s: initialization plus readout time per shot ``t_I + t_R``, s, >= 0.
      cpmg_t2_exponent: s in ``T2(k) = T2 k^s`` for CPMG-k (0: no extension, conservative).
      gyromagnetic_ratio_Hz_per_T: gamma_e / 2 pi, Hz/T.

    Raises:
      ValueError: a field outside its range (the message names it).
    """

    n_spins: float
    a0: float
    a1: float
    t2_star_s: float
    t2_s: float
    stretch_exponent: float = 1.0
    delta_ms: int = 1
    overhead_s: float = 3e-6
    cpmg_t2_exponent: float = 0.0
    gyromagnetic_ratio_Hz_per_T: float = NV_GYROMAGNETIC_RATIO_HZ_PER_T

    def __post_init__(self) -> None:
        readout_noise_factor(self.a0, self.a1)
        checks = {"n_spins": self.n_spins >= 1, "t2_star_s": self.t2_star_s > 0, "t2_s": self.t2_s > 0,
                  "stretch_exponent": 0.5 <= self.stretch_exponent <= 4, "delta_ms": self.delta_ms in (1, 2),
                  "overhead_s": self.overhead_s >= 0, "cpmg_t2_exponent": 0 <= self.cpmg_t2_exponent <= 1,
                  "gyromagnetic_ratio_Hz_per_T": self.gyromagnetic_ratio_Hz_per_T > 0}
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"NVEnsembleSensor.{name} = {getattr(self, name)!r} is out of range")

    @classmethod
    def from_density(cls, density_per_m3: float, volume_m3: float, **kwargs) -> "NVEnsembleSensor":
        """N = NV density (m^-3) x sensing volume (m^3).

        Raises:
          ValueError: non-positive density or volume.
        """
        if density_per_m3 <= 0 or volume_m3 <= 0:
            raise ValueError(f"density_per_m3 = {density_per_m3}, volume_m3 = {volume_m3}; both must be > 0")
        return cls(n_spins=density_per_m3 * volume_m3, **kwargs)

    @property
    def sigma_r(self) -> float:
        """Readout noise factor sigma_R."""
        return readout_noise_factor(self.a0, self.a1)

    @property
    def gamma_rad(self) -> float:
        """gamma_e in rad/(s T)."""
        return 2 * math.pi * self.gyromagnetic_ratio_Hz_per_T

    def coherence(self, tau_s: float, sequence: str = "ramsey", n_pulses: int = 1) -> float:
        """Coherence factor eta_c: ``exp(-(tau/T2*)^p)`` (Ramsey) or ``exp(-(tau/T2(k))^p)`` (echo/CPMG).

        Raises:
          ValueError: unknown sequence, tau_s <= 0 or n_pulses < 1.
        """
        _check_sequence(sequence, n_pulses, tau_s)
        if sequence == "ramsey":
            t = self.t2_star_s
        else:
            t = self.t2_s * (n_pulses if sequence == "cpmg" else 1) ** self.cpmg_t2_exponent
        return math.exp(-((tau_s / t) ** self.stretch_exponent))

    def phase_rad(self, field_T: float, tau_s: float, sequence: str = "ramsey", n_pulses: int = 1,
                  shape=None, t0_s: float = 0.0) -> float:
        """Phase per spin ``Delta m_s gamma_e B w`` (rad); ``w = int y(t - t0) s(t) dt`` for a unit-peak
        waveform ``shape`` (``w = tau`` for a static field with Ramsey; 0 with an echo).

        Raises:
          ValueError: unknown sequence, tau_s <= 0 or n_pulses < 1.
        """
        w = waveform_weight(shape or (lambda t: 1.0), sequence, n_pulses, tau_s, t0_s)
        return self.delta_ms * self.gamma_rad * field_T * w

    def phase_fisher_per_shot(self, tau_s: float, sequence: str = "ramsey", n_pulses: int = 1) -> float:
        """``F_phi = N eta_c^2 / sigma_R^2`` per shot at mid-fringe, rad^-2.

        Raises:
          ValueError: unknown sequence, tau_s <= 0 or n_pulses < 1.
        """
        return self.n_spins * self.coherence(tau_s, sequence, n_pulses) ** 2 / self.sigma_r ** 2

    def dc_sensitivity(self, tau_s: float) -> float:
        """Ramsey DC sensitivity (Barry 2020), T/sqrt(Hz):
        ``sigma_R sqrt(t_I + tau + t_R) / (Delta m_s gamma_e sqrt(N) tau exp(-(tau/T2*)^p))``.

        Raises:
          ValueError: tau_s <= 0.
        """
        f_b = self.phase_fisher_per_shot(tau_s) * (self.delta_ms * self.gamma_rad * tau_s) ** 2
        return math.sqrt((tau_s + self.overhead_s) / f_b)

    def optimal_tau(self, sequence: str = "ramsey", n_pulses: int = 1) -> float:
        """Interrogation time minimizing the DC (Ramsey) or best-phase AC sensitivity, s, found numerically.

        Maximizes ``tau^2 eta_c(tau)^2 / (tau + overhead)`` on a log grid, then refines (bounded
        Brent). Without overhead and p = 1 or 2 it is T2*/2 (Barry 2020); with 3 us overhead and
        T2* = 2 us, p = 1: about 1.65 us.

        Raises:
          ValueError: unknown sequence or n_pulses < 1.
        """
        scale = self.t2_star_s if sequence == "ramsey" else self.t2_s
        _check_sequence(sequence, n_pulses, scale)

        def neg(log_tau):
            tau = math.exp(log_tau)
            return -(tau * self.coherence(tau, sequence, n_pulses)) ** 2 / (tau + self.overhead_s)

        grid = np.log(scale) + np.linspace(-6, 3, 400)
        best = grid[int(np.argmin([neg(x) for x in grid]))]
        res = optimize.minimize_scalar(neg, bounds=(best - 0.05, best + 0.05), method="bounded",
                                       options={"xatol": 1e-10})
        return float(math.exp(res.x))


def photon_count_fisher(n_spins: int, a0: float, a1: float, eta_c: float, phase: float = 0.0) -> float:
    """Fisher information (rad^-2) of the total photon count of one shot, by exact enumeration.

    Independent check of ``N eta_c^2 / sigma_R^2``: k ~ Binomial(N, P0) spins end in m_s = 0 with
    ``P0 = (1 + eta_c sin(phase)) / 2``; the count is Poisson(a0 k + a1 (N - k)). The FI of the
    count distribution is summed over counts (central differences in phase). Matches the closed
    form at mid-fringe (phase = 0) up to the Gaussian approximation, i.e. for large N a0.

    Raises:
      ValueError: n_spins < 1 or a0 <= a1.
    """
    if n_spins < 1:
        raise ValueError(f"n_spins = {n_spins}; must be >= 1")
    readout_noise_factor(a0, a1)
    k = np.arange(n_spins + 1)
    lam = a0 * k + a1 * (n_spins - k)
    counts = np.arange(int(lam.max() + 12 * math.sqrt(lam.max() + 1) + 20))

    def pmf(ph):
        p0 = (1 + eta_c * math.sin(ph)) / 2
        return stats.binom.pmf(k, n_spins, p0) @ stats.poisson.pmf(counts[None, :], lam[:, None])

    h = 1e-5
    p, dp = pmf(phase), (pmf(phase + h) - pmf(phase - h)) / (2 * h)
    mask = p > 1e-300
    return float(np.sum(dp[mask] ** 2 / p[mask]))
