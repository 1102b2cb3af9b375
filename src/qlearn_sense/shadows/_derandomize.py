"""Derandomized local Pauli measurements (Huang, Kueng, Preskill, PRL 127, 030503 (2021))."""

from __future__ import annotations

from typing import Any

import numpy as np

from qlearn_sense.shadows._observables import PauliObservables, as_pauli_observables

__all__ = ["derandomized_recipes"]


def derandomized_recipes(
    observables: PauliObservables | Any, snapshots: int, eps: float = 0.9
) -> np.ndarray:
    r"""Greedy derandomized Pauli bases minimizing the confidence bound.

    A measurement P (a basis per qubit) "hits" a Pauli string o if P_j = o_j on
    every qubit of supp(o); h(o) counts hits over the S snapshots. With
    nu = 1 - exp(-eps^2 / 2), the confidence bound (failure-probability bound of
    the hit-average estimator) is

      CONF(P) = sum_l exp(-(eps^2 / 2) h(o_l))                                (1)

    For a partial assignment, the not-yet-chosen bases are treated as uniformly
    random and (1) is replaced by its expectation (the pessimistic estimator),
    which factorizes over snapshots:

      CONF(P^#) = sum_l prod_{s=1}^{S} (1 - nu * prod_{j in supp(o_l)} q_{s,j}(o_l))   (2)

    where q_{s,j} = 1 if basis (s, j) is assigned and equals o_{l,j}, 0 if
    assigned and different, 1/3 if unassigned; for a finished snapshot the factor
    is exp(-eps^2/2) on a hit and 1 otherwise. Bases are fixed one at a time
    (snapshot by snapshot, qubit 0 to n-1), each time choosing the basis that
    minimizes (2); ties go to X, then Y, then Z. This is the algorithm of Huang,
    Kueng, Preskill, PRL 127, 030503 (2021) with a fixed total budget S; the
    coefficients of ``observables`` are ignored (every term weighted equally).
    The output is deterministic. Estimate with
    ``estimate_paulis(..., estimator="matching")``: the 3^k shadow estimator is
    biased for non-uniform recipes.

    Args:
      observables: :class:`PauliObservables` (or labels / code array), L terms on
        n qubits.
      snapshots: total number of measurement settings S >= 1.
      eps: target accuracy in (0, 1]; it sets the trade-off nu = 1 - exp(-eps^2/2).

    Returns:
      int8 array, shape (S, n), 0=X, 1=Y, 2=Z.

    Raises:
      ValueError: if snapshots is not a positive integer or eps is not in (0, 1].
    """
    obs = as_pauli_observables(observables)
    if isinstance(snapshots, bool) or int(snapshots) != snapshots or snapshots < 1:
        raise ValueError(f"snapshots must be a positive integer, got {snapshots}")
    if not (0.0 < float(eps) <= 1.0):
        raise ValueError(f"eps must be in (0, 1], got {eps}")
    S, n = int(snapshots), obs.n_qubits
    target = obs.paulis.astype(np.int64) - 1  # -1 = identity, else recipe code
    weight = obs.weights
    half_eps2 = 0.5 * float(eps) ** 2
    nu = 1.0 - np.exp(-half_eps2)
    # log of the expected factor of one fully random future snapshot
    log_future = np.log1p(-nu * 3.0 ** (-weight.astype(np.float64)))
    candidates = np.arange(3)[:, None]  # (3, 1)
    hits = np.zeros(len(obs), dtype=np.int64)
    out = np.empty((S, n), dtype=np.int8)
    for s in range(S):
        base = -half_eps2 * hits + (S - s - 1) * log_future  # (L,)
        alive = np.ones(len(obs), dtype=bool)
        remaining = weight.copy()
        for j in range(n):
            t = target[:, j]
            in_supp = t >= 0
            match = t[None, :] == candidates  # (3, L)
            alive_c = alive[None, :] & (~in_supp[None, :] | match)
            rem_c = remaining[None, :] - (in_supp[None, :] & match)
            log_cur = np.log1p(-nu * alive_c * 3.0 ** (-rem_c.astype(np.float64)))
            logs = base[None, :] + log_cur
            top = logs.max(axis=1, keepdims=True)
            cost = top[:, 0] + np.log(np.exp(logs - top).sum(axis=1))
            p = int(np.argmin(cost))
            out[s, j] = p
            alive = alive_c[p]
            remaining = rem_c[p]
        hits += alive & (remaining == 0)
    return out
