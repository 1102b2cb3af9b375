"""Input validation shared by the hypothesis-testing functions.

Every check raises ``ValueError`` whose message names the argument, the
offending value and what is accepted, so a caller can fix the input without
reading the source.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

#: Default tolerance for Hermiticity, unit trace, positivity and normalization.
ATOL = 1e-8


def _short(x) -> str:
    """A short printable form of ``x`` for error messages."""
    if isinstance(x, np.ndarray):
        return np.array2string(x, threshold=8, precision=4)
    return repr(x)


def _real(x) -> float | None:
    """``float(x)`` for a real number that is not a bool (0-d arrays allowed), else None."""
    if isinstance(x, np.ndarray) and x.ndim == 0:
        x = x[()]
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real):
        return None
    return float(x)


def as_density_matrix(name: str, rho, atol: float = ATOL) -> np.ndarray:
    """Checks that ``rho`` is a density matrix and returns it Hermitian-symmetrized.

    Raises:
      ValueError: not a finite square 2-d array, not Hermitian, trace not 1, or
        an eigenvalue below ``-atol``.
    """
    arr = np.asarray(rho)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] < 1:
        raise ValueError(
            f"{name} has shape {arr.shape}; accepted: a square (d, d) density matrix"
        )
    if not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{name} has dtype {arr.dtype}; accepted: a numeric array")
    arr = arr.astype(complex)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains non-finite entries; accepted: finite values")
    asym = float(np.max(np.abs(arr - arr.conj().T)))
    if asym > atol:
        raise ValueError(
            f"{name} is not Hermitian: max |{name} - {name}^dagger| = {asym:.3g}; "
            f"accepted: Hermitian within atol={atol:g}"
        )
    herm = 0.5 * (arr + arr.conj().T)
    tr = float(np.real(np.trace(herm)))
    if abs(tr - 1.0) > atol:
        raise ValueError(
            f"{name} has trace {tr:.6g}; accepted: trace 1 within atol={atol:g}"
        )
    lmin = float(np.linalg.eigvalsh(herm)[0])
    if lmin < -atol:
        raise ValueError(
            f"{name} is not positive semidefinite: smallest eigenvalue {lmin:.3g}; "
            f"accepted: eigenvalues >= -atol={-atol:g}"
        )
    return herm


def check_same_shape(name0: str, a: np.ndarray, name1: str, b: np.ndarray) -> None:
    """Raises ``ValueError`` when ``a`` and ``b`` differ in shape."""
    if a.shape != b.shape:
        raise ValueError(
            f"{name0} has shape {a.shape} but {name1} has shape {b.shape}; "
            "accepted: equal shapes"
        )


def as_probability_vector(name: str, p, atol: float = ATOL) -> np.ndarray:
    """Checks a probability vector and returns it as float64, tiny negatives clipped.

    Raises:
      ValueError: not 1-d and non-empty, non-finite, an entry below ``-atol``, or
        the sum differs from 1 by more than ``atol``.
    """
    arr = np.asarray(p)
    if arr.ndim != 1 or arr.size < 1:
        raise ValueError(
            f"{name} has shape {arr.shape}; accepted: a non-empty 1-d probability vector (K,)"
        )
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"{name} has dtype {arr.dtype}; accepted: real numbers")
    arr = arr.astype(float)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}={_short(arr)} has non-finite entries; accepted: finite")
    if np.min(arr) < -atol:
        raise ValueError(
            f"{name}={_short(arr)} has a negative entry {np.min(arr):.3g}; "
            "accepted: entries >= 0"
        )
    total = float(np.sum(arr))
    if abs(total - 1.0) > atol:
        raise ValueError(
            f"{name}={_short(arr)} sums to {total:.6g}; accepted: sum 1 within atol={atol:g}"
        )
    arr = np.clip(arr, 0.0, None)
    return arr / np.sum(arr)


def check_open_unit(name: str, x) -> float:
    """Checks ``0 < x < 1`` (error rates alpha, beta) and returns ``float(x)``."""
    val = _real(x)
    if val is None or not 0.0 < val < 1.0:
        raise ValueError(f"{name}={x!r}; accepted: a number in the open interval (0, 1)")
    return val


def check_prior(name: str, x) -> float:
    """Checks a prior probability ``0 <= x <= 1`` and returns ``float(x)``."""
    val = _real(x)
    if val is None or not 0.0 <= val <= 1.0:
        raise ValueError(f"{name}={x!r}; accepted: a probability in [0, 1]")
    return val


def check_shots(name: str, m, minimum: int = 1) -> int:
    """Checks an integral count ``m >= minimum`` (bools rejected) and returns ``int(m)``."""
    val = _real(m)
    if val is None or not (math.isfinite(val) and val == int(val) and val >= minimum):
        raise ValueError(f"{name}={m!r}; accepted: an integer >= {minimum}")
    return int(val)


def check_positive(name: str, x) -> float:
    """Checks a finite ``x > 0`` and returns ``float(x)``."""
    val = _real(x)
    if val is None or not (math.isfinite(val) and val > 0.0):
        raise ValueError(f"{name}={x!r}; accepted: a finite number > 0")
    return val


def check_distinct(name0: str, p0: np.ndarray, name1: str, p1: np.ndarray) -> None:
    """Raises ``ValueError`` when two distributions/states are identical within ``ATOL``."""
    if np.max(np.abs(p0 - p1)) <= ATOL:
        raise ValueError(
            f"{name0} and {name1} are identical (max difference "
            f"{np.max(np.abs(p0 - p1)):.3g}); accepted: distinguishable hypotheses"
        )


def as_states_and_priors(
    states: Sequence | np.ndarray, priors, atol: float = ATOL
) -> tuple[list[np.ndarray], np.ndarray]:
    """Validates k >= 2 density matrices of one shape and their priors (k,).

    Raises:
      ValueError: fewer than 2 states, an invalid or mismatched state, or priors
        of the wrong length or not a probability vector.
    """
    seq = list(states)
    if len(seq) < 2:
        raise ValueError(f"states has {len(seq)} element(s); accepted: k >= 2 density matrices")
    rhos = [as_density_matrix(f"states[{i}]", r, atol) for i, r in enumerate(seq)]
    for i, r in enumerate(rhos[1:], start=1):
        check_same_shape("states[0]", rhos[0], f"states[{i}]", r)
    if priors is None:
        pri = np.full(len(rhos), 1.0 / len(rhos))
    else:
        pri = as_probability_vector("priors", priors, atol)
        if pri.shape != (len(rhos),):
            raise ValueError(
                f"priors has shape {pri.shape} but there are {len(rhos)} states; "
                f"accepted: shape ({len(rhos)},)"
            )
    return rhos, pri
