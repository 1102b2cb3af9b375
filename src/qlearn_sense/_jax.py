"""JAX set-up shared by the numerical core: float64 everywhere.

Importing this module enables ``jax_enable_x64``; every subpackage that uses
JAX imports it first, so users never see float32 Fisher information.
"""

import jax

jax.config.update("jax_enable_x64", True)

__all__ = ["jax"]
