"""Variational optimization of sensing protocols (optax; pure, jit-compiled steps)."""

from qlearn_sense.optimize._loop import (
    OPTIMIZERS,
    OptimizationResult,
    make_optimizer,
    make_step,
    maximize,
    optimize_protocol,
    random_init,
)
from qlearn_sense.optimize._states import optimal_state_qfi

__all__ = [
    "OPTIMIZERS",
    "OptimizationResult",
    "make_optimizer",
    "make_step",
    "maximize",
    "optimal_state_qfi",
    "optimize_protocol",
    "random_init",
]
