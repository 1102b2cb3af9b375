"""Measurement recipes: random local Pauli bases, random global Cliffords.

Conventions:

* A local-Pauli recipe array has shape (S, n), dtype int8, ``recipes[s, j]`` the
  basis of qubit j in snapshot s: ``0 = X, 1 = Y, 2 = Z`` (PennyLane's
  ``ClassicalShadow`` convention; note the observable codes of
  :class:`PauliObservables` are shifted by one, 0 = I).
* Outcome bits have shape (S, n), dtype uint8, ``bits[s, j]`` the bit measured on
  qubit j: 0 means eigenvalue +1 of the measured Pauli, 1 means -1.
* Dense unitaries are big-endian (qubit 0 is the most significant index bit).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "basis_rotation_angles",
    "check_recipes_bits",
    "random_clifford_recipes",
    "random_pauli_recipes",
]

MAX_CLIFFORD_QUBITS = 5


def _check_rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError("rng must be a numpy.random.Generator or an integer seed")


def _check_sizes(n: int, snapshots: int) -> tuple[int, int]:
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer, got {n}")
    if int(snapshots) != snapshots or snapshots < 1:
        raise ValueError(f"snapshots must be a positive integer, got {snapshots}")
    return int(n), int(snapshots)


def check_recipes_bits(recipes: np.ndarray, bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate local-Pauli recipes and outcome bits.

    Args:
      recipes: integer array, shape (S, n), entries in {0=X, 1=Y, 2=Z}.
      bits: integer or bool array, shape (S, n), entries in {0, 1}.

    Returns:
      ``(recipes, bits)`` as C-contiguous int8 and uint8 arrays.

    Raises:
      ValueError: if shapes differ, are not 2-D with S, n >= 1, or entries are
        out of range or non-integer.
    """
    recipes = np.asarray(recipes)
    bits = np.asarray(bits)
    if recipes.ndim != 2 or recipes.shape[0] < 1 or recipes.shape[1] < 1:
        raise ValueError(f"recipes must have shape (S, n) with S, n >= 1, got {recipes.shape}")
    if bits.shape != recipes.shape:
        raise ValueError(f"bits shape {bits.shape} differs from recipes shape {recipes.shape}")
    if not (np.issubdtype(recipes.dtype, np.integer)):
        raise ValueError("recipes must be integers in {0=X, 1=Y, 2=Z}")
    if not (np.issubdtype(bits.dtype, np.integer) or bits.dtype == np.bool_):
        raise ValueError("bits must be integers in {0, 1}")
    if recipes.min() < 0 or recipes.max() > 2:
        raise ValueError("recipes must be integers in {0=X, 1=Y, 2=Z}")
    if bits.min() < 0 or bits.max() > 1:
        raise ValueError("bits must be integers in {0, 1}")
    return (np.ascontiguousarray(recipes, dtype=np.int8),
            np.ascontiguousarray(bits, dtype=np.uint8))


def random_pauli_recipes(n: int, snapshots: int, rng: np.random.Generator | int) -> np.ndarray:
    """Uniformly random local Pauli measurement bases.

    Each qubit of each snapshot is measured in X, Y or Z with probability 1/3,
    independently (Huang, Kueng, Preskill, Nat. Phys. 16, 1050 (2020), "random
    Pauli measurements").

    Args:
      n: number of qubits.
      snapshots: number of snapshots S.
      rng: ``numpy.random.Generator`` (advanced in place) or an integer seed.

    Returns:
      int8 array, shape (S, n), entries 0=X, 1=Y, 2=Z.

    Raises:
      ValueError: if n or snapshots is not a positive integer.
      TypeError: if rng is neither a Generator nor an integer.
    """
    n, snapshots = _check_sizes(n, snapshots)
    rng = _check_rng(rng)
    return rng.integers(0, 3, size=(snapshots, n), dtype=np.int8)


def random_clifford_recipes(n: int, snapshots: int, rng: np.random.Generator | int) -> np.ndarray:
    """Uniformly random n-qubit Clifford unitaries for global-Clifford shadows.

    Samples ``qiskit.quantum_info.random_clifford`` and converts each tableau to a
    dense unitary in big-endian order (qubit 0 most significant), i.e. the reverse
    of qiskit's little-endian ``Operator`` order. Global phases are arbitrary and
    irrelevant to the estimator.

    Args:
      n: number of qubits, 1 <= n <= 5 (dense unitaries cost S 4^n complex numbers).
      snapshots: number of snapshots S.
      rng: ``numpy.random.Generator`` (advanced in place) or an integer seed.

    Returns:
      complex128 array, shape (S, 2^n, 2^n): ``U[s]`` is applied to the state
      before a computational-basis measurement.

    Raises:
      ValueError: if n > 5 or n, snapshots are not positive integers.
      TypeError: if rng is neither a Generator nor an integer.
    """
    n, snapshots = _check_sizes(n, snapshots)
    if n > MAX_CLIFFORD_QUBITS:
        raise ValueError(f"random_clifford_recipes supports n <= {MAX_CLIFFORD_QUBITS}, got {n}")
    rng = _check_rng(rng)
    from qiskit.quantum_info import Operator, random_clifford

    out = np.empty((snapshots, 2**n, 2**n), dtype=np.complex128)
    for s in range(snapshots):  # qiskit samples one tableau per call
        out[s] = Operator(random_clifford(n, seed=rng)).reverse_qargs().data
    return out


# Gate G = RY(theta) @ RZ(phi) (RZ applied first) with G P G^dag = Z, so measuring Z
# after G is measuring P, and the +1 eigenvector of P is mapped to |0>.
#   X: (theta, phi) = (-pi/2, 0)       RY(-pi/2) X RY(pi/2) = Z
#   Y: (theta, phi) = (-pi/2, -pi/2)   RZ(-pi/2) maps Y -> X, then as for X
#   Z: (theta, phi) = (0, 0)           identity
_ANGLES = np.array([[-np.pi / 2, 0.0], [-np.pi / 2, -np.pi / 2], [0.0, 0.0]])


def basis_rotation_angles(recipes: np.ndarray) -> np.ndarray:
    r"""Single-qubit basis-change angles that turn a Pauli measurement into a Z one.

    The gate on qubit j is G = RY(theta) RZ(phi) (first RZ(phi), then RY(theta)),
    with RZ(phi) = diag(e^{-i phi/2}, e^{i phi/2}) and
    RY(theta) = [[cos(theta/2), -sin(theta/2)], [sin(theta/2), cos(theta/2)]]
    (PennyLane/qiskit conventions). The angles satisfy G P G^dag = Z, so the
    computational-basis bit b after G is the P outcome with eigenvalue (-1)^b:

    ====  ===========  ===========
    P     theta        phi
    ====  ===========  ===========
    X     -pi/2        0
    Y     -pi/2        -pi/2
    Z     0            0
    ====  ===========  ===========

    Args:
      recipes: integer array, shape (S, n), entries 0=X, 1=Y, 2=Z.

    Returns:
      float64 array, shape (S, n, 2), last axis (theta, phi) in radians.

    Raises:
      ValueError: if recipes is not 2-D or has entries outside {0, 1, 2}.
    """
    recipes = np.asarray(recipes)
    if recipes.ndim != 2 or not np.issubdtype(recipes.dtype, np.integer):
        raise ValueError(f"recipes must be an integer array of shape (S, n), got {recipes.shape}")
    if recipes.size and (recipes.min() < 0 or recipes.max() > 2):
        raise ValueError("recipes must be integers in {0=X, 1=Y, 2=Z}")
    return _ANGLES[recipes]
