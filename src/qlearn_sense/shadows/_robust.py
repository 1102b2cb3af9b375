r"""Noise-robust local-Pauli shadows (Chen, Yu, Zeng, Flammia, PRX Quantum 2, 030348 (2021)).

Model (their assumptions): the noise of the measurement stage is gate-independent,
time-stationary and Markovian, and the randomized measurement twirls it over the
local (single-qubit) Clifford group. The effective measurement channel is then
diagonal in the Pauli basis with an eigenvalue that depends only on the support
A of the Pauli string:

  M_noisy(P) = f_A P,      ideal (noiseless) value f_A = 3^{-|A|}.          (R1)

Calibration (their local-Clifford robust-shadow protocol): prepare |0...0>, take
S_cal snapshots and average

  f_A_hat = mean_s prod_{j in A} tr(Z U_{s,j}^dag |b_{s,j}><b_{s,j}| U_{s,j})
          = mean_s prod_{j in A} [recipes[s, j] == Z] (-1)^{bits[s, j]}.     (R2)

Noiseless, E f_A_hat = 3^{-|A|}; with symmetric readout bit flips of probability
p, E f_A_hat = ((1 - 2 p) / 3)^{|A|}. Estimation replaces the ideal inverse
channel by M_noisy^{-1}(P) = P / f_A:

  o_hat(P) = (1 / f_A_hat) mean_s prod_{j in A} [recipes[s, j] == P_j] (-1)^{bits[s, j]},  (R3)

which reduces to the standard estimator when f_A = 3^{-|A|}. Equation labels
(R1)-(R3) are ours; (R2)/(R3) are the local-Clifford specialization of the
calibration and estimation steps of Chen et al. For Pauli (not Clifford)
randomization, (R1) additionally needs readout noise symmetric under bit flips
(e.g. a symmetric bit-flip channel, or X-twirling before readout).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from math import comb
from typing import Any, Literal

import numpy as np

from qlearn_sense.shadows._estimate import ShadowEstimate, estimate_paulis, pauli_group_sums
from qlearn_sense.shadows._observables import PauliObservables, as_pauli_observables
from qlearn_sense.shadows._recipes import check_recipes_bits

__all__ = ["RobustCalibration", "calibrate_robust", "estimate_paulis_robust"]

_MAX_SUBSETS = 1_000_000


@dataclass(frozen=True)
class RobustCalibration:
    """Calibrated Pauli-channel eigenvalues f_A of the noisy shadow measurement.

    Attributes:
      n_qubits: n.
      max_weight: largest calibrated subset size w.
      snapshots: number of calibration snapshots S_cal.
      subsets: bool (K, n), every subset A with |A| <= w (weight-major order).
      factors: float64 (K,), f_A estimates (R2); f_emptyset = 1.
      standard_errors: float64 (K,), standard errors of the factors (ddof=1).
      weight_factors: float64 (w + 1,), mean of f_A over subsets of each size
        (valid when the noise is the same on every qubit).
      weight_standard_errors: float64 (w + 1,), the mean of the subset standard
        errors of each size: an upper bound on the standard error of
        ``weight_factors`` (the subsets share snapshots).
    """

    n_qubits: int
    max_weight: int
    snapshots: int
    subsets: np.ndarray
    factors: np.ndarray
    standard_errors: np.ndarray
    weight_factors: np.ndarray
    weight_standard_errors: np.ndarray

    def lookup(self, paulis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Factors and standard errors for the supports of ``paulis`` (M, n).

        Returns:
          ``(f, se)``, float64 arrays of shape (M,).

        Raises:
          ValueError: if a support is larger than ``max_weight``.
        """
        supports = np.asarray(paulis) != 0
        _check_weights(supports.sum(axis=1), self.max_weight)
        keys = _subset_keys(self.subsets)
        order = np.argsort(keys)
        pos = order[np.searchsorted(keys, _subset_keys(supports), sorter=order)]
        return self.factors[pos], self.standard_errors[pos]


def _subset_keys(supports: np.ndarray) -> np.ndarray:
    n = supports.shape[1]
    return (supports.astype(np.int64) << np.arange(n, dtype=np.int64)).sum(axis=1)


def _check_weights(weights: np.ndarray, max_weight: int) -> None:
    heavy = np.flatnonzero(weights > max_weight)
    if heavy.size:
        raise ValueError(
            f"observables {heavy[:10].tolist()} have weight up to {int(weights.max())} but the "
            f"calibration only covers weight <= {max_weight}; recalibrate with a larger max_weight"
        )


def calibrate_robust(
    recipes_cal: np.ndarray, bits_cal: np.ndarray, *, max_weight: int | None = None
) -> RobustCalibration:
    r"""Calibrate robust shadows from local-Pauli snapshots of |0...0>.

    Estimates f_A for every subset A with |A| <= max_weight by (R2) (module
    docstring; Chen, Yu, Zeng, Flammia, PRX Quantum 2, 030348 (2021)): f_A_hat is
    the shadow estimate of the Pauli Z_A divided by 3^{|A|}.

    Args:
      recipes_cal: int array (S_cal, n), 0=X, 1=Y, 2=Z, uniformly random.
      bits_cal: int array (S_cal, n), outcomes of the |0...0> preparation.
      max_weight: largest subset size w to calibrate; default min(n, 4).

    Returns:
      :class:`RobustCalibration`.

    Raises:
      ValueError: if recipes/bits are malformed, max_weight is not in [0, n], or
        more than 10^6 subsets would be calibrated.
    """
    recipes_cal, bits_cal = check_recipes_bits(recipes_cal, bits_cal)
    S, n = recipes_cal.shape
    w = min(n, 4) if max_weight is None else max_weight
    if isinstance(w, bool) or int(w) != w or not 0 <= w <= n:
        raise ValueError(f"max_weight must be an integer in [0, {n}], got {max_weight}")
    w = int(w)
    if sum(comb(n, k) for k in range(w + 1)) > _MAX_SUBSETS:
        raise ValueError(f"max_weight={w} on {n} qubits needs more than {_MAX_SUBSETS} subsets")
    supports = [np.zeros(n, dtype=bool)]
    for k in range(1, w + 1):
        for A in combinations(range(n), k):
            row = np.zeros(n, dtype=bool)
            row[list(A)] = True
            supports.append(row)
    subsets = np.array(supports)
    hits, odd, _ = pauli_group_sums(recipes_cal, bits_cal, np.where(subsets, 3, 0).astype(np.int8), 1)
    hits, signed = hits[:, 0], (hits[:, 0] - 2 * odd[:, 0]).astype(np.float64)
    f = signed / S
    var = (hits - S * f**2) / max(S - 1, 1)
    se = np.sqrt(np.maximum(var, 0.0) / S)
    sizes = subsets.sum(axis=1)
    wf = np.array([f[sizes == k].mean() for k in range(w + 1)])
    wse = np.array([se[sizes == k].mean() for k in range(w + 1)])
    for arr in (subsets, f, se, wf, wse):
        arr.setflags(write=False)
    return RobustCalibration(n, w, S, subsets, f, se, wf, wse)


def estimate_paulis_robust(
    recipes: np.ndarray,
    bits: np.ndarray,
    observables: PauliObservables | Any,
    calibration: RobustCalibration,
    *,
    groups: int | None = None,
    mode: Literal["subset", "weight"] = "subset",
    zero_sigmas: float = 3.0,
) -> ShadowEstimate:
    r"""Noise-robust Pauli estimates, (R3): the shadow estimate rescaled by 3^{-|A|} / f_A.

    Standard errors combine the shot noise of the data and of the calibration
    (first-order propagation, independent data sets):
    SE^2 = (SE_plain / (3^k f))^2 + (o_hat SE_f / f)^2. The median of means (if
    ``groups``) is the plain median of means rescaled by the same factor.
    (Chen, Yu, Zeng, Flammia, PRX Quantum 2, 030348 (2021).)

    Args:
      recipes: int array (S, n), 0=X, 1=Y, 2=Z, uniformly random.
      bits: int array (S, n), 0 -> +1, 1 -> -1.
      observables: :class:`PauliObservables` (or labels / code array) on n qubits.
      calibration: from :func:`calibrate_robust` on the same n qubits.
      groups: K for the median of means, or None.
      mode: ``"subset"`` uses f_A of the observable's own support; ``"weight"``
        uses the average over all subsets of the same size (identical qubits).
      zero_sigmas: refuse an observable whose factor f is not larger than
        ``zero_sigmas`` standard errors (statistically indistinguishable from 0,
        where (R3) would divide by noise).

    Returns:
      :class:`ShadowEstimate` with estimator ``"robust"``.

    Raises:
      ValueError: if an observable's weight exceeds ``calibration.max_weight``,
        its calibration factor is not significantly positive, the qubit counts
        differ, or ``mode`` is unknown (plus the errors of :func:`estimate_paulis`).
    """
    recipes, bits = check_recipes_bits(recipes, bits)
    obs = as_pauli_observables(observables, recipes.shape[1])
    if calibration.n_qubits != obs.n_qubits:
        raise ValueError(
            f"calibration is for {calibration.n_qubits} qubits, data has {obs.n_qubits}"
        )
    if mode not in ("subset", "weight"):
        raise ValueError(f"mode must be 'subset' or 'weight', got {mode!r}")
    k = obs.weights
    _check_weights(k, calibration.max_weight)
    if mode == "subset":
        f, f_se = calibration.lookup(obs.paulis)
    else:
        f, f_se = calibration.weight_factors[k], calibration.weight_standard_errors[k]
    bad = np.flatnonzero(~(f > zero_sigmas * f_se) & (k > 0))
    if bad.size:
        raise ValueError(
            f"calibration factors of observables {bad[:10].tolist()} (f = {f[bad[:3]].tolist()}, "
            f"SE = {f_se[bad[:3]].tolist()}) are not significantly positive "
            f"(f <= {zero_sigmas} SE); the noise is too strong or the calibration too short "
            "for these observables"
        )
    plain = estimate_paulis(recipes, bits, obs, groups=groups)
    rescale = 3.0 ** (-k) / f
    est = plain.estimates * rescale
    se = np.sqrt((plain.standard_errors * rescale) ** 2 + (est * f_se / f) ** 2)
    mom = plain.median_of_means * rescale if plain.median_of_means is not None else None
    return ShadowEstimate(
        estimates=est,
        standard_errors=se,
        median_of_means=mom,
        snapshots=plain.snapshots,
        groups=plain.groups,
        hits=plain.hits,
        estimator="robust",
    )
