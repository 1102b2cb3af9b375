"""Collective states and gates in the Dicke basis of the symmetric subspace (j = N/2).

Index ``n = 0..N`` counts spins in |1>; ``m = N/2 - n``; ``|N/2, N/2>`` is every spin in |0>
and Z|0> = +|0>, so J_z = sum_j Z_j / 2 is ``diag(m)``. Rotations use the collective
operators ``J_a = sum_j sigma_a^(j) / 2``; ``rotate(psi, "x", a)`` equals qiskit's RX(a) on
every qubit. One-axis twisting ``exp(-i mu J_z^2)`` equals RZZ(mu) on every pair up to a
global phase (Kitagawa & Ueda, PRA 47, 5138 (1993), whose strength is ``2 mu``).
"""

from __future__ import annotations

from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np
from scipy import special

from qlearn_sense import _jax  # noqa: F401
from qlearn_sense.collective._dicke import check_n_spins, ladder_plus, m_values

Array = jax.Array

AXES = ("x", "y", "z")


def coherent_state(n_spins: int, theta: float = np.pi / 2, phi: float = 0.0) -> Array:
    """Coherent spin state: every spin in ``cos(theta/2)|0> + exp(i phi) sin(theta/2)|1>``.

    ``c_n = sqrt(C(N, n)) cos(theta/2)^(N-n) sin(theta/2)^n exp(i n phi)`` (Arecchi et al.,
    PRA 6, 2211 (1972)); the default is ``|+>^N`` (QFI N, or N eta^2 dephased).

    Args:
      n_spins: N, 2..1000.
      theta: polar angle from +z (|0>), rad.
      phi: azimuth, rad.

    Returns:
      Dicke amplitudes, shape (N+1,), complex128.

    Raises:
      ValueError: n_spins outside 2..1000.
    """
    n_spins = check_n_spins(n_spins)
    n = np.arange(n_spins + 1)
    c, s = abs(np.cos(theta / 2)), abs(np.sin(theta / 2))
    with np.errstate(divide="ignore"):
        logamp = 0.5 * (special.gammaln(n_spins + 1) - special.gammaln(n + 1) - special.gammaln(n_spins - n + 1)) \
            + special.xlogy(n_spins - n, c) + special.xlogy(n, s)
    amp = np.exp(logamp) * np.sign(np.cos(theta / 2)) ** (n_spins - n) * np.sign(np.sin(theta / 2)) ** n
    return jnp.asarray(amp * np.exp(1j * n * phi), dtype=jnp.complex128)


def ghz_state(n_spins: int) -> Array:
    """GHZ state ``(|0...0> + |1...1>)/sqrt(2)``, shape (N+1,) (QFI N^2, N^2 eta^(2N) dephased).

    Raises:
      ValueError: n_spins outside 2..1000.
    """
    n_spins = check_n_spins(n_spins)
    return jnp.zeros(n_spins + 1, dtype=jnp.complex128).at[jnp.array([0, n_spins])].set(2 ** -0.5)


def dicke_state(n_spins: int, n_excited: int) -> Array:
    """Dicke state with ``n_excited`` spins in |1> (m = N/2 - n_excited), shape (N+1,).

    Raises:
      ValueError: n_spins outside 2..1000 or n_excited outside 0..N.
    """
    n_spins = check_n_spins(n_spins)
    if not 0 <= n_excited <= n_spins:
        raise ValueError(f"n_excited = {n_excited}; accepted: 0..{n_spins}")
    return jnp.zeros(n_spins + 1, dtype=jnp.complex128).at[n_excited].set(1.0)


def spin_operators(n_spins: int, i: int = 0) -> dict[str, np.ndarray]:
    """J_x, J_y, J_z of block ``j = N/2 - i`` on the padded index n, each (N+1, N+1).

    Raises:
      ValueError: n_spins outside 2..1000.
    """
    n_spins = check_n_spins(n_spins)
    jp = ladder_plus(n_spins, i)
    jz = np.diag(m_values(n_spins) * (np.abs(m_values(n_spins)) <= n_spins / 2 - i + 1e-9))
    return {"x": (jp + jp.T) / 2, "y": (jp - jp.T) / 2j, "z": jz}


@lru_cache(maxsize=16)
def _x_eigen(n_spins: int, blocks: int) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvectors/values of J_x for blocks i = 0..blocks-1: (B, N+1, N+1), (B, N+1)."""
    vals, vecs = [], []
    for i in range(blocks):
        jp = ladder_plus(n_spins, i)
        w, v = np.linalg.eigh((jp + jp.T) / 2)
        vals.append(w)
        vecs.append(v)
    return np.stack(vecs), np.stack(vals)


@lru_cache(maxsize=8)
def _tact_eigen(n_spins: int) -> tuple[np.ndarray, np.ndarray]:
    jp = ladder_plus(n_spins, 0)
    t = (jp @ jp - jp.T @ jp.T) / 2j  # (J+^2 - J-^2) / (2i) = J_x J_y + J_y J_x
    w, v = np.linalg.eigh(t)
    return v, w


def rotate_blocks(x: Array, axis: str, angle: Array, n_spins: int) -> Array:
    """``exp(-i angle J_axis)`` on every block of ``x``, shape (B, N+1, K) (block i: j = N/2 - i).

    Raises:
      ValueError: unknown axis.
    """
    m = jnp.asarray(m_values(n_spins))
    if axis == "z":
        return jnp.exp(-1j * angle * m)[None, :, None] * x
    if axis not in AXES:
        raise ValueError(f"axis = {axis!r}; accepted: {AXES}")
    v, w = _x_eigen(n_spins, x.shape[0])
    v, w = jnp.asarray(v), jnp.asarray(w)
    if axis == "y":  # R_y(a) = R_z(pi/2) R_x(a) R_z(-pi/2)
        x = jnp.exp(0.5j * jnp.pi * m)[None, :, None] * x
    y = jnp.einsum("bnk,bnc->bkc", v, x)
    y = jnp.exp(-1j * angle * w)[:, :, None] * y
    x = jnp.einsum("bnk,bkc->bnc", v, y)
    if axis == "y":
        x = jnp.exp(-0.5j * jnp.pi * m)[None, :, None] * x
    return x


def rotate(psi: Array, axis: str, angle) -> Array:
    """Global rotation ``exp(-i angle J_axis)`` of a symmetric state (RX/RY/RZ(angle) on every qubit).

    Args:
      psi: Dicke amplitudes, shape (N+1,).
      axis: "x", "y" or "z".
      angle: rad (may be traced).

    Returns:
      Shape (N+1,).

    Raises:
      ValueError: unknown axis or psi of the wrong shape.
    """
    psi = jnp.asarray(psi, dtype=jnp.complex128)
    n_spins = check_n_spins(psi.shape[0] - 1)
    return rotate_blocks(psi[None, :, None], axis, angle, n_spins)[0, :, 0]


def twist(psi: Array, mu) -> Array:
    """One-axis twisting ``exp(-i mu J_z^2)`` (Kitagawa & Ueda 1993), shape (N+1,).

    Raises:
      ValueError: psi of the wrong shape.
    """
    psi = jnp.asarray(psi, dtype=jnp.complex128)
    m = jnp.asarray(m_values(check_n_spins(psi.shape[0] - 1)))
    return jnp.exp(-1j * mu * m ** 2) * psi


def counter_twist(psi: Array, mu) -> Array:
    """Two-axis counter-twisting ``exp(-i mu (J_x J_y + J_y J_x))`` (Kitagawa & Ueda 1993), shape (N+1,).

    Symmetric-subspace only (the gate is not a product of two-qubit gates).

    Raises:
      ValueError: psi of the wrong shape.
    """
    psi = jnp.asarray(psi, dtype=jnp.complex128)
    v, w = (jnp.asarray(a) for a in _tact_eigen(check_n_spins(psi.shape[0] - 1)))
    return v @ (jnp.exp(-1j * mu * w) * (jnp.conj(v.T) @ psi))


def oat_state(n_spins: int, mu: float, axis_angle: float = 0.0) -> Array:
    """``exp(-i axis_angle J_x) exp(-i mu J_z^2) |+>^N``: one-axis-twisted state, shape (N+1,).

    Raises:
      ValueError: n_spins outside 2..1000.
    """
    return rotate(twist(coherent_state(n_spins), mu), "x", axis_angle)


def squeezing_parameters(psi: Array) -> tuple[float, float]:
    """Kitagawa-Ueda ``xi_S^2`` and Wineland ``xi_R^2`` of a pure symmetric state.

    ``xi_S^2 = 4 min Var(J_perp) / N``, ``xi_R^2 = N min Var(J_perp) / |<J>|^2``, the minimum
    over directions perpendicular to the mean spin (Kitagawa & Ueda, PRA 47, 5138 (1993);
    Wineland et al., PRA 46, R6797 (1992)).

    Returns:
      ``(xi_S^2, xi_R^2)``, dimensionless.

    Raises:
      ValueError: psi of the wrong shape or zero mean spin.
    """
    psi = np.asarray(psi, dtype=complex)
    n_spins = check_n_spins(psi.shape[0] - 1)
    ops = spin_operators(n_spins)
    mean = np.array([np.real(np.vdot(psi, ops[a] @ psi)) for a in AXES])
    norm = np.linalg.norm(mean)
    if norm < 1e-12:
        raise ValueError("mean spin is zero: squeezing parameters are undefined")
    n = mean / norm
    e1 = np.cross(n, [1.0, 0, 0] if abs(n[0]) < 0.9 else [0, 1.0, 0])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(n, e1)
    op1 = sum(e1[k] * ops[a] for k, a in enumerate(AXES))
    op2 = sum(e2[k] * ops[a] for k, a in enumerate(AXES))
    cov = np.array([[np.real(np.vdot(psi, (x @ y + y @ x) @ psi)) / 2 - np.real(np.vdot(psi, x @ psi))
                     * np.real(np.vdot(psi, y @ psi)) for y in (op1, op2)] for x in (op1, op2)])
    vmin = np.linalg.eigvalsh(cov)[0]
    return float(4 * vmin / n_spins), float(n_spins * vmin / norm ** 2)
