"""Shared fixtures: float64 JAX and an explicit PRNG key."""

import jax
import numpy as np
import pytest

jax.config.update("jax_enable_x64", True)


@pytest.fixture
def key():
    """A fixed JAX PRNG key."""
    return jax.random.PRNGKey(1234)


@pytest.fixture
def rng():
    """A fixed numpy Generator."""
    return np.random.default_rng(1234)
