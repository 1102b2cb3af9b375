"""JAX set-up shared by the numerical core: float64 everywhere, synchronous CPU dispatch.

Importing this module enables ``jax_enable_x64``; every subpackage that uses
JAX imports it first, so users never see float32 Fisher information.

It also turns off JAX's asynchronous dispatch on CPU (``jax_cpu_enable_async_dispatch``):
with it on, every jitted call hands its work to a worker thread and the caller waits
for that thread to wake, which on a 2-core machine added 40-50 us to each small call
(a 2,000-particle filter update took 230 us instead of 100-150 us; measured with
``benchmarks/bench_adaptive.py``). Every call in this package waits for its result
anyway, so nothing is lost. The option is read once, when JAX creates its CPU client:
it has no effect if JAX computed something before ``qlearn_sense`` was imported. Set
the environment variable ``QLEARN_SENSE_CPU_ASYNC_DISPATCH=1`` to keep JAX's default.
"""

import os

import jax

jax.config.update("jax_enable_x64", True)
if os.environ.get("QLEARN_SENSE_CPU_ASYNC_DISPATCH", "") not in ("1", "true", "yes"):
    jax.config.update("jax_cpu_enable_async_dispatch", False)

__all__ = ["jax"]
