"""Variational optimization of sensing protocols with optax.

The step is a pure function ``(params, opt_state) -> (params, opt_state, value)``
jit-compiled once and vmapped over seeded restarts; the Python loop around it
only drives progress reporting.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

from qlearn_sense import _jax  # noqa: F401
import jax
import jax.numpy as jnp
import numpy as np
import optax

from qlearn_sense.protocol import JaxProtocol

Array = jax.Array

OPTIMIZERS: dict[str, Callable[[float], optax.GradientTransformation]] = {
    "adam": optax.adam,
    "adamw": optax.adamw,
    "sgd": lambda lr: optax.sgd(lr, momentum=0.9),
    "rmsprop": optax.rmsprop,
    "adabelief": optax.adabelief,
}
"""Optimizers by registry name (optax constructors taking the learning rate)."""


class OptimizationResult(NamedTuple):
    """Outcome of :func:`maximize`.

    Attributes:
      params: best parameters, shape (P,).
      value: objective at ``params`` (rad^-2 for Fisher objectives).
      trace: objective per step of the best restart, shape (steps,).
      traces: objective per step of every restart, shape (restarts, steps).
      final_values: final objective of each restart, shape (restarts,).
    """

    params: np.ndarray
    value: float
    trace: np.ndarray
    traces: np.ndarray
    final_values: np.ndarray


def make_optimizer(name: str = "adam", learning_rate: float = 0.05) -> optax.GradientTransformation:
    """An optax chain for maximization: gradient clipping, then the named optimizer.

    Raises:
      ValueError: unknown optimizer name (the message lists the valid ones) or
        non-positive learning rate.
    """
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer {name!r} is unknown; accepted: {sorted(OPTIMIZERS)}")
    if learning_rate <= 0:
        raise ValueError(f"learning_rate = {learning_rate}; must be > 0")
    return optax.chain(optax.clip_by_global_norm(100.0), OPTIMIZERS[name](learning_rate))


def make_step(objective: Callable[[Array], Array], optimizer: optax.GradientTransformation):
    """A jitted, restart-vmapped ascent step.

    Args:
      objective: ``theta (P,) -> scalar`` to maximize.
      optimizer: optax transformation (minimizes ``-objective``).

    Returns:
      ``step(params (R, P), opt_state) -> (params, opt_state, values (R,))``,
      jit-compiled; it does not recompile for inputs of the same shapes.
    """
    value_and_grad = jax.value_and_grad(lambda th: -objective(th))

    def single(params, state):
        loss, grad = value_and_grad(params)
        grad = jnp.where(jnp.isfinite(grad), grad, 0.0)
        updates, state = optimizer.update(grad, state, params)
        return optax.apply_updates(params, updates), state, -loss

    return jax.jit(jax.vmap(single))


def maximize(objective: Callable[[Array], Array], init_params: Array, *, optimizer: optax.GradientTransformation,
             steps: int, callback: Callable[[int, np.ndarray], None] | None = None) -> OptimizationResult:
    """Maximize ``objective`` from each row of ``init_params`` (one row per restart).

    Args:
      objective: ``theta (P,) -> scalar``, differentiable.
      init_params: starting points, shape (R, P).
      optimizer: optax transformation.
      steps: number of steps, >= 0.
      callback: called as ``callback(step, values (R,))`` after each step.

    Returns:
      :class:`OptimizationResult`; the best restart is the one with the largest
      final objective (evaluated at the returned parameters).

    Raises:
      ValueError: negative ``steps`` or ``init_params`` not 2-D.
    """
    init_params = jnp.asarray(init_params, dtype=jnp.float64)
    if init_params.ndim != 2:
        raise ValueError(f"init_params must have shape (restarts, P), got {init_params.shape}")
    if steps < 0:
        raise ValueError(f"steps = {steps}; must be >= 0")
    params = init_params
    if init_params.shape[1] == 0:
        v = np.asarray(jax.jit(jax.vmap(objective))(params))
        return OptimizationResult(np.zeros(0), float(v.max()), np.full(steps, v.max()),
                                  np.tile(v[:, None], (1, steps)), v)
    step = make_step(objective, optimizer)
    state = jax.vmap(optimizer.init)(params)
    traces = np.zeros((params.shape[0], steps))
    for i in range(steps):
        params, state, values = step(params, state)
        traces[:, i] = np.asarray(values)
        if callback is not None:
            callback(i, traces[:, i])
    final = np.asarray(jax.jit(jax.vmap(objective))(params))
    final = np.where(np.isfinite(final), final, -np.inf)
    best = int(np.argmax(final))
    return OptimizationResult(np.asarray(params[best]), float(final[best]), traces[best], traces, final)


def random_init(key: Array, restarts: int, n_params: int, scale: float = 1.0) -> Array:
    """Seeded starting points, uniform in ``[-pi scale, pi scale)``, shape (restarts, n_params)."""
    return scale * jax.random.uniform(key, (restarts, n_params), minval=-jnp.pi, maxval=jnp.pi)


def optimize_protocol(jp: JaxProtocol, n_params: int, n_prep_params: int, *, objective: str, key: Array,
                      phi: float = 0.0, optimizer: optax.GradientTransformation | None = None, steps: int = 200,
                      restarts: int = 2, init_scale: float = 1.0,
                      callback: Callable[[int, np.ndarray], None] | None = None) -> OptimizationResult:
    """Optimize a compiled protocol for its QFI or its CFI at the working point ``phi``.

    For ``objective="cfi"`` the optimization is staged: the first half of the
    steps maximizes the QFI over the preparation parameters (the measurement
    cannot beat it); the second half maximizes the CFI over all parameters,
    restart 0 from the QFI-optimal preparation and the other restarts from their
    random starts (the QFI-optimal state is not always the best partner of a
    restricted measurement ansatz). The returned trace concatenates both stages
    (QFI, then CFI) of the best restart.

    Args:
      jp: compiled protocol.
      n_params: total parameter count.
      n_prep_params: parameters used by the preparation (the leading ones).
      objective: "qfi" or "cfi".
      key: PRNG key for the restarts' starting points.
      phi: working-point phase per qubit, rad.
      optimizer: optax transformation (Adam, lr 0.05 when None).
      steps: total optimizer steps.
      restarts: seeded restarts, >= 1.
      init_scale: spread of the starting points (fraction of +-pi).
      callback: progress callback ``(step, values)``.

    Returns:
      :class:`OptimizationResult` with the full parameter vector.

    Raises:
      ValueError: unknown objective or restarts < 1.
    """
    if objective not in ("qfi", "cfi"):
        raise ValueError(f"objective = {objective!r}; accepted: 'qfi', 'cfi'")
    if restarts < 1:
        raise ValueError(f"restarts = {restarts}; must be >= 1")
    optimizer = optimizer or make_optimizer()
    init = random_init(key, restarts, n_params, init_scale)
    if objective == "qfi":
        return maximize(jp.qfi, init, optimizer=optimizer, steps=steps, callback=callback)
    first = steps // 2 if n_prep_params else 0
    if first:
        stage1 = maximize(lambda th: jp.qfi(jnp.concatenate([th, init[0, n_prep_params:]])),
                          init[:, :n_prep_params], optimizer=optimizer, steps=first, callback=callback)
        # restart 0 continues from the QFI-optimal preparation; the others keep their random
        # starts, because a QFI-optimal state can be a poor partner for the measurement ansatz
        init = init.at[0, :n_prep_params].set(jnp.asarray(stage1.params))

    def offset_callback(i, values):
        if callback is not None:
            callback(first + i, values)

    stage2 = maximize(lambda th: jp.cfi(th, phi), init, optimizer=optimizer, steps=steps - first,
                      callback=offset_callback)
    if not first:
        return stage2
    return OptimizationResult(stage2.params, stage2.value, np.concatenate([stage1.trace, stage2.trace]),
                              stage2.traces, stage2.final_values)
