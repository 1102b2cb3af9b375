"""Snapshot budgets for classical shadows (Huang, Kueng, Preskill, Nat. Phys. 16, 1050 (2020))."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from qlearn_sense.shadows._estimate import ShadowEstimate
from qlearn_sense.shadows._observables import PauliObservables

__all__ = [
    "SampleComplexity",
    "sample_complexity_from_variance",
    "shadow_norm_pauli",
    "shadow_sample_complexity",
]


class SampleComplexity(NamedTuple):
    """Median-of-means budget.

    Attributes:
      groups: K, number of median-of-means groups.
      per_group: N, snapshots per group.
      total: N K, total snapshots.
    """

    groups: int
    per_group: int
    total: int


def shadow_norm_pauli(weight: int | np.ndarray) -> int | np.ndarray:
    r"""Squared shadow norm ||P||^2_shadow = 3^k of a weight-k Pauli string.

    Under uniformly random local Pauli measurements the single-snapshot estimate
    of P takes the value +-3^k with probability 3^-k and 0 otherwise, so its
    second moment, and the squared shadow norm that enters Theorem 1, is
    9^k 3^-k = 3^k (Huang, Kueng, Preskill, Nat. Phys. 16, 1050 (2020), local
    Pauli measurements). The norm itself is 3^(k/2). Note: the identity (k = 0)
    returns 1, but its traceless part, which is what Theorem 1 uses, has norm 0.

    Args:
      weight: k >= 0, int or integer array.

    Returns:
      3^k, same shape as ``weight`` (Python int for an int input).

    Raises:
      ValueError: if a weight is negative or not an integer.
    """
    w = np.asarray(weight)
    if not np.issubdtype(w.dtype, np.integer) or np.any(w < 0):
        raise ValueError(f"weight must be a non-negative integer, got {weight!r}")
    if w.ndim == 0:
        return 3 ** int(w)
    return 3 ** w.astype(np.int64)


def _check_eps_delta(eps: float, delta: float) -> None:
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps}")
    if not 0 < delta < 1:
        raise ValueError(f"delta must be in (0, 1), got {delta}")


def _budget(max_sq: float, M: int, eps: float, delta: float) -> SampleComplexity:
    K = math.ceil(2.0 * math.log(2.0 * M / delta))
    N = max(1, math.ceil(34.0 / eps**2 * max_sq))
    return SampleComplexity(K, N, K * N)


def shadow_sample_complexity(
    observables: PauliObservables | np.ndarray | Any, eps: float, delta: float
) -> SampleComplexity:
    r"""Snapshots sufficient to estimate M observables to +-eps with probability 1-delta.

    Huang, Kueng, Preskill, Nat. Phys. 16, 1050 (2020), Theorem 1: with
    K = 2 log(2M/delta) groups of N = (34/eps^2) max_i ||O_i - tr(O_i) I/2^n||^2_shadow
    snapshots each, median of means succeeds; the total is N K snapshots (both
    rounded up here). For local-Pauli shadows and O = c P of weight k >= 1 the
    squared norm is c^2 3^k; identity terms have traceless part 0.

    Args:
      observables: :class:`PauliObservables` (squared norms c_m^2 3^{k_m}), or an
        array of M squared shadow norms ||O_i - tr(O_i)/2^n||^2_shadow.
      eps: additive accuracy, > 0.
      delta: failure probability, in (0, 1).

    Returns:
      :class:`SampleComplexity` ``(groups=K, per_group=N, total=N K)``.

    Raises:
      ValueError: if eps <= 0, delta not in (0, 1), or the norms are empty,
        negative or not finite.
    """
    _check_eps_delta(eps, delta)
    if isinstance(observables, PauliObservables):
        k = observables.weights
        sq = np.where(k > 0, observables.coefficients**2 * 3.0**k, 0.0)
    else:
        sq = np.asarray(observables, dtype=np.float64).reshape(-1)
    if sq.size == 0 or np.any(~np.isfinite(sq)) or np.any(sq < 0):
        raise ValueError("squared shadow norms must be a non-empty array of finite values >= 0")
    return _budget(float(sq.max()), sq.size, eps, delta)


def sample_complexity_from_variance(
    variances: ShadowEstimate | np.ndarray, eps: float, delta: float
) -> SampleComplexity:
    r"""Data-driven budget: Theorem 1 with the measured variances for the shadow norms.

    The proof of Huang, Kueng, Preskill (2020) Theorem 1 uses the shadow norm only
    as an upper bound on the single-snapshot variance Var[o_hat_i]; substituting
    the estimated variances gives N = (34/eps^2) max_i Var[o_hat_i] per group and
    K = 2 log(2M/delta) groups, i.e. O(max_i Var log(M) / eps^2) snapshots, often
    far below the worst-case 3^k bound. The plug-in variance is itself estimated:
    use a pilot run with enough snapshots.

    Args:
      variances: a :class:`ShadowEstimate` (uses ``.variances``) or an array of M
        single-snapshot variances.
      eps: additive accuracy, > 0.
      delta: failure probability, in (0, 1).

    Returns:
      :class:`SampleComplexity` ``(groups=K, per_group=N, total=N K)``.

    Raises:
      ValueError: if eps <= 0, delta not in (0, 1), or the variances are empty,
        negative or not finite.
    """
    _check_eps_delta(eps, delta)
    var = variances.variances if isinstance(variances, ShadowEstimate) else variances
    var = np.asarray(var, dtype=np.float64).reshape(-1)
    if var.size == 0 or np.any(~np.isfinite(var)) or np.any(var < 0):
        raise ValueError("variances must be a non-empty array of finite values >= 0")
    return _budget(float(var.max()), var.size, eps, delta)
