"""Phase and field estimation from counts: exact Fourier phase model + maximum likelihood.

For the generator ``sum_j Z_j / 2`` the outcome probabilities of any protocol
are a trigonometric polynomial of degree ``n`` in the phase per qubit:
``p_k(phi) = sum_{m=-n}^{n} c_km exp(i m phi)`` (eigenvalue differences of the
generator are integers). :class:`PhaseModel` recovers the coefficients exactly
from ``2n + 1`` evaluations, so likelihoods on fine grids cost no simulation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import optimize


@dataclass(frozen=True)
class PhaseModel:
    """Exact outcome probabilities as a function of the phase per qubit.

    Attributes:
      coeffs: Fourier coefficients, shape (2n + 1, K), frequencies ``-n..n``.
      n_qubits: n.
    """

    coeffs: np.ndarray
    n_qubits: int

    @classmethod
    def from_probs_fn(cls, probs_fn: Callable[[float], np.ndarray], n_qubits: int) -> "PhaseModel":
        """Sample ``probs_fn`` (phase in rad -> probabilities, shape (K,)) at 2n+1 phases.

        Raises:
          ValueError: n_qubits < 1.
        """
        if n_qubits < 1:
            raise ValueError(f"n_qubits = {n_qubits}; must be >= 1")
        m = 2 * n_qubits + 1
        phis = 2 * np.pi * np.arange(m) / m
        samples = np.stack([np.asarray(probs_fn(float(p)), dtype=np.float64) for p in phis])
        c = np.fft.fft(samples, axis=0) / m  # c[f] multiplies exp(+i f phi) for f = 0..m-1
        freqs = np.fft.fftfreq(m, d=1.0 / m).round().astype(int)
        order = np.argsort(freqs)
        return cls(coeffs=c[order], n_qubits=n_qubits)

    @property
    def freqs(self) -> np.ndarray:
        """Integer frequencies -n..n, shape (2n + 1,)."""
        return np.arange(-self.n_qubits, self.n_qubits + 1)

    def probs(self, phi) -> np.ndarray:
        """Probabilities at phases ``phi`` (rad), shape ``phi.shape + (K,)``, clipped to [0, 1]."""
        phi = np.asarray(phi, dtype=np.float64)
        e = np.exp(1j * phi[..., None] * self.freqs)
        return np.clip(np.real(e @ self.coeffs), 0.0, 1.0)

    def dprobs(self, phi) -> np.ndarray:
        """Derivative of :meth:`probs` w.r.t. phi (rad^-1), same shape."""
        phi = np.asarray(phi, dtype=np.float64)
        e = 1j * self.freqs * np.exp(1j * phi[..., None] * self.freqs)
        return np.real(e @ self.coeffs)

    def cfi(self, phi) -> np.ndarray:
        """Classical Fisher information per shot at ``phi``, rad^-2, shape ``phi.shape``."""
        p, dp = self.probs(phi), self.dprobs(phi)
        safe = np.where(p > 1e-14, p, 1.0)
        return np.sum(np.where(p > 1e-14, dp**2 / safe, 0.0), axis=-1)

    def log_likelihood(self, counts: np.ndarray, phi) -> np.ndarray:
        """``sum_k counts_k log p_k(phi)`` for counts (..., K) and phases (G,): shape (..., G)."""
        logp = np.log(np.maximum(self.probs(np.atleast_1d(phi)), 1e-300))
        return np.asarray(counts, dtype=np.float64) @ logp.T


@dataclass(frozen=True)
class PhaseEstimate:
    """Maximum-likelihood phase estimate(s).

    Attributes:
      phi: estimates in rad, shape (R,).
      phi_std: per-estimate standard error ``1/sqrt(N F(phi_hat))``, rad, shape (R,).
      shots: shots per estimate.
      window: (low, high) phase window searched, rad.
      at_edge: True where the estimate sits on the window edge (unidentified), shape (R,).
    """

    phi: np.ndarray
    phi_std: np.ndarray
    shots: int
    window: tuple[float, float]
    at_edge: np.ndarray


def identifiable_window(model: PhaseModel, phi0: float, grid: int = 4001) -> tuple[float, float]:
    """The widest interval around ``phi0`` on which the likelihood is identifiable.

    Uses half a period of the fastest fringe, ``pi / (2 n_eff)`` either side,
    where ``n_eff`` is the highest frequency with non-negligible weight.
    """
    weight = np.abs(model.coeffs).sum(axis=1)
    active = model.freqs[weight > 1e-9 * weight.max()]
    n_eff = max(1, int(np.max(np.abs(active))))
    half = np.pi / (2 * n_eff)
    return (phi0 - half, phi0 + half)


def mle_phase(model: PhaseModel, counts: np.ndarray, *, phi0: float = 0.0,
              window: tuple[float, float] | None = None, grid: int = 2001) -> PhaseEstimate:
    """Maximum-likelihood phase from outcome counts (grid search, then bounded refinement).

    Args:
      model: exact phase model of the protocol.
      counts: outcome counts, shape (K,) or (R, K) for R repetitions
        (little-endian outcome index); every row has the same total N.
      phi0: working point (centre of the search window), rad.
      window: (low, high) in rad; defaults to :func:`identifiable_window`.
      grid: grid points for the global search, >= 11.

    Returns:
      :class:`PhaseEstimate` (arrays of length R).

    Raises:
      ValueError: counts of the wrong width, negative counts, rows with
        different totals or zero shots, or a grid below 11.
    """
    counts = np.atleast_2d(np.asarray(counts))
    if counts.shape[-1] != model.coeffs.shape[1]:
        raise ValueError(f"counts have {counts.shape[-1]} outcomes; the model has {model.coeffs.shape[1]}")
    if np.any(counts < 0):
        raise ValueError("counts must be non-negative")
    totals = counts.sum(axis=1)
    if totals.min() <= 0 or totals.min() != totals.max():
        raise ValueError(f"every repetition needs the same positive number of shots, got {np.unique(totals)}")
    if grid < 11:
        raise ValueError(f"grid = {grid}; must be >= 11")
    lo, hi = window if window is not None else identifiable_window(model, phi0)
    phis = np.linspace(lo, hi, grid)
    ll = model.log_likelihood(counts, phis)  # (R, grid)
    best = np.argmax(ll, axis=1)
    step = phis[1] - phis[0]
    est = np.empty(len(counts))
    for r, (row, b) in enumerate(zip(counts, best)):
        a, c = max(lo, phis[b] - step), min(hi, phis[b] + step)
        res = optimize.minimize_scalar(lambda x: -float(model.log_likelihood(row, x)[0]),
                                       bounds=(a, c), method="bounded", options={"xatol": 1e-14 * max(1, abs(c))})
        est[r] = res.x if -res.fun >= ll[r, b] else phis[b]
    fisher = np.maximum(model.cfi(est), 1e-300)
    std = 1.0 / np.sqrt(totals * fisher)
    at_edge = (est - lo < step) | (hi - est < step)
    return PhaseEstimate(phi=est, phi_std=std, shots=int(totals[0]), window=(lo, hi), at_edge=at_edge)


def shots_for_snr(fisher: float, phi: float, snr: float = 1.0) -> float:
    """Shots for the phase to stand ``snr`` standard deviations from zero: ``snr^2 / (F phi^2)``.

    Args:
      fisher: Fisher information per shot, rad^-2, > 0.
      phi: true phase per qubit, rad, non-zero.
      snr: target signal-to-noise ratio, > 0.

    Returns:
      Number of shots (float; inf when phi is zero).

    Raises:
      ValueError: non-positive fisher or snr.
    """
    if fisher <= 0 or snr <= 0:
        raise ValueError(f"fisher = {fisher}, snr = {snr}; both must be > 0")
    return float("inf") if phi == 0 else snr**2 / (fisher * phi**2)


def shots_for_relative_precision(fisher: float, phi: float, relative_precision: float) -> float:
    """Shots to reach ``std(phi_hat) / |phi| = relative_precision`` at the Cramer-Rao bound.

    Raises:
      ValueError: non-positive fisher or relative_precision.
    """
    if relative_precision <= 0:
        raise ValueError(f"relative_precision = {relative_precision}; must be > 0")
    return shots_for_snr(fisher, phi, 1.0 / relative_precision)
