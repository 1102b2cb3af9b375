"""Sensing-only network nodes: a collective spin ensemble and an NV ensemble.

These nodes sense their own field locally with their best single-node protocol
and report an estimate; they do **not** share entanglement through transduction
links (no qubit of theirs travels, none enters the register circuits). Their
per-shot Fisher information ``F_node`` of the node phase (rad^-2) enters every
strategy's QFIM and CFIM through the lead field as the block ``J_j^T F_node J_j``
(``J_j`` the node's row of the phase Jacobian, rad per unit source), which
assumes the node's information is attained by its own measurement (single
parameter, locally attainable: Braunstein & Caves, PRL 72, 3439 (1994)).
"""

from __future__ import annotations

import math
from functools import lru_cache

from qlearn_sense import _jax  # noqa: F401
import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import minimize

MAX_ENSEMBLE_SPINS = 1000
"""Largest collective ensemble of a node (the exact Dicke-block engine's limit)."""


def _check(n_spins, eta) -> int:
    if int(n_spins) != n_spins or not 1 <= n_spins <= MAX_ENSEMBLE_SPINS:
        raise ValueError(f"n_spins = {n_spins!r}; accepted: an integer in 1..{MAX_ENSEMBLE_SPINS}")
    if not 0.0 < eta <= 1.0:
        raise ValueError(f"eta = {eta!r}; accepted: 0 < eta <= 1")
    return int(n_spins)


@lru_cache(maxsize=128)
def ensemble_phase_fisher(n_spins: int, eta: float) -> tuple[float, str]:
    """Best per-shot QFI of a collective phase ``exp(-i phi J_z)`` on N spins under local dephasing eta.

    The best of: the coherent spin state ``|+>^N`` (``N eta^2``), the GHZ state
    (``N^2 eta^(2N)``, Huelga et al., PRL 79, 3865 (1997)) and one-axis-twisted
    states ``exp(-i a J_x) exp(-i mu J_z^2) |+>^N`` (Kitagawa & Ueda, PRA 47,
    5138 (1993)) optimized over (mu, a) on a grid, then Nelder-Mead; QFI from
    :func:`qlearn_sense.collective.qfi` (exact in the Dicke blocks). The value
    is a lower bound on the best state's QFI and never exceeds the finite-N
    channel-extension bound :func:`qlearn_sense.collective.finite_n_bound`.

    Args:
      n_spins: N, 1..1000 (N = 1: a single spin, ``eta^2``).
      eta: coherence factor per spin during the interrogation, (0, 1].

    Returns:
      ``(F_phi in rad^-2 per shot, name of the state that reaches it)``.

    Raises:
      ValueError: n_spins not an integer in 1..1000, or eta outside (0, 1].
    """
    n = _check(n_spins, eta)
    eta = float(eta)
    if n == 1:
        return eta**2, "single spin |+>"
    from qlearn_sense.collective import coherent_state, ghz_state, qfi
    from qlearn_sense.collective._states import rotate, twist

    best = {"coherent": n * eta**2, "ghz": float(qfi(ghz_state(n), eta))}
    psi0 = coherent_state(n)

    def one(x):
        return qfi(rotate(twist(psi0, x[0]), "x", x[1]), eta)

    f = jax.jit(jax.vmap(one))
    mus = np.concatenate([[0.0], np.geomspace(0.05 / n, 2.0 / math.sqrt(n), 15)])
    grid = np.array([(m, a) for m in mus for a in np.linspace(0.0, np.pi, 13)])
    vals = np.asarray(f(jnp.asarray(grid)))
    x0 = grid[int(np.argmax(vals))]
    single = jax.jit(one)
    res = minimize(lambda x: -float(single(jnp.asarray(x))), x0, method="Nelder-Mead",
                   options={"xatol": 1e-6, "fatol": 1e-10 * max(vals.max(), 1.0), "maxiter": 200})
    best["one-axis twisted"] = max(float(vals.max()), -float(res.fun))
    name = max(best, key=best.get)
    return float(best[name]), name


def nv_ensemble_phase_fisher(n_spins: float, a0: float, a1: float, eta: float) -> float:
    """Per-shot Fisher information of the phase of an NV ensemble with optical readout, rad^-2.

    ``F_phi = N eta^2 / sigma_R^2`` at mid-fringe, with the readout noise factor
    ``sigma_R = sqrt(1 + 2 (a0 + a1) / (a0 - a1)^2)`` (Barry et al., Rev. Mod.
    Phys. 92, 015004 (2020); :meth:`qlearn_sense.physics.NVEnsembleSensor.phase_fisher_per_shot`).

    Args:
      n_spins: N >= 1 NV spins addressed.
      a0: mean detected photons per spin per shot from m_s = 0 (> a1).
      a1: the same from m_s = +-1 (>= 0).
      eta: coherence factor during the interrogation, (0, 1].

    Returns:
      F_phi, rad^-2 per shot.

    Raises:
      ValueError: n_spins < 1, a1 < 0, a0 <= a1 or eta outside (0, 1] (names the field).
    """
    from qlearn_sense.physics._ensemble import readout_noise_factor

    if not n_spins >= 1:
        raise ValueError(f"n_spins = {n_spins!r}; accepted: >= 1")
    if not 0.0 < eta <= 1.0:
        raise ValueError(f"eta = {eta!r}; accepted: 0 < eta <= 1")
    return float(n_spins) * eta**2 / readout_noise_factor(a0, a1) ** 2
