"""Optimal QFI over all input states under local dephasing (reference optimum)."""

from __future__ import annotations

from qlearn_sense import _jax  # noqa: F401
import jax
import jax.numpy as jnp
import numpy as np

from qlearn_sense.fisher import qfi_generator
from qlearn_sense.fisher._channels import generator_diagonal, local_dephasing
from qlearn_sense.optimize._loop import make_optimizer, maximize


def optimal_state_qfi(n: int, eta: float, *, key: jax.Array, restarts: int = 4, steps: int = 600,
                      learning_rate: float = 0.02) -> tuple[float, np.ndarray]:
    """Largest QFI of ``n`` locally dephased qubits over all input state vectors.

    Direct optimization (Adam) over unrestricted complex state vectors
    (``2 * 2**n`` real parameters), for the generator ``sum_j Z_j / 2``: a lower
    bound on the true optimum, tight in practice for n <= 6 (cf.
    ``shared/REFERENCES.md``: eta = 0.7, n = 3 gives 1.723998).

    Args:
      n: qubits, 1..8.
      eta: coherence factor in (0, 1].
      key: PRNG key for the starting states.
      restarts: random starts.
      steps: Adam steps per start.
      learning_rate: Adam learning rate.

    Returns:
      ``(qfi, psi)``: the best QFI (rad^-2) and its normalized state, shape (2**n,),
      little-endian.

    Raises:
      ValueError: n outside 1..8 or eta outside (0, 1].
    """
    if not 1 <= n <= 8:
        raise ValueError(f"n = {n}; accepted: 1..8")
    if not 0 < eta <= 1:
        raise ValueError(f"eta = {eta}; accepted: 0 < eta <= 1")
    dim = 2**n
    g = jnp.asarray(generator_diagonal(n))

    def state(x):
        psi = x[:dim] + 1j * x[dim:]
        return psi / jnp.linalg.norm(psi)

    def objective(x):
        psi = state(x)
        return qfi_generator(local_dephasing(jnp.outer(psi, jnp.conj(psi)), jnp.full(n, eta)), g)

    init = jax.random.normal(key, (restarts, 2 * dim))
    res = maximize(objective, init, optimizer=make_optimizer("adam", learning_rate), steps=steps)
    return res.value, np.asarray(state(jnp.asarray(res.params)))
