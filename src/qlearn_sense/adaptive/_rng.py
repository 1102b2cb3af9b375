"""Random numbers for the per-shot update, as straight-line XLA code (no loops).

The particle filter draws about P random numbers per update (the Liu-West kernel noise) and a
few more (the systematic-resampling offset, the particles of the particle-guess heuristic).
``jax.random`` lowers its Threefry-2x32 hash on CPU as a rolled ``while`` loop of five
iterations; inside the per-shot update (and inside the ``lax.scan`` of the simulated trials)
each loop iteration is a separate dispatch of several small kernels, and on a 2-core machine
the draw of 2,000 normals took 70 us of a 230 us update (25 us on one pinned core). Here the
same hash, Threefry-2x32 with 20 rounds (Salmon, Moraes, Dror, Shaw, "Parallel random numbers:
as easy as 1, 2, 3", SC11 (2011), Table 2 rotation constants), is written out unrolled: one
fused elementwise kernel, 9 us for 2,000 words. It is bit-identical to
``jax.extend.random.threefry_2x32`` (tested), so the generator is JAX's own; only its lowering
differs. Keys are JAX keys (typed or raw ``uint32[2]``); words are drawn at counters
``0, 1, 2, ...`` of the key, so one key gives one stream, and :func:`split` derives new keys
from the hash as ``jax.random.split`` does.
"""

from __future__ import annotations

import math

from qlearn_sense import _jax  # noqa: F401
import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = np.uint32(0x1BD11BDA)


def _rotl(v: Array, r: int) -> Array:
    return (v << np.uint32(r)) | (v >> np.uint32(32 - r))


def threefry2x32(k0: Array, k1: Array, x0: Array, x1: Array) -> tuple[Array, Array]:
    """Threefry-2x32, 20 rounds (Salmon et al. SC11), unrolled; same values as JAX's ``threefry_2x32``.

    Args:
      k0, k1: the two key words, uint32 scalars.
      x0, x1: counter words, uint32 arrays of one shape.

    Returns:
      The two output words, uint32 arrays of the counters' shape.
    """
    ks = (k0, k1, k0 ^ k1 ^ _PARITY)
    x0 = x0 + ks[0]
    x1 = x1 + ks[1]
    for i in range(5):
        for r in _ROTATIONS[i % 2]:
            x0 = x0 + x1
            x1 = _rotl(x1, r) ^ x0
        x0 = x0 + ks[(i + 1) % 3]
        x1 = x1 + ks[(i + 2) % 3] + np.uint32(i + 1)
    return x0, x1


def key_words(key: Array) -> Array:
    """The key's first two uint32 words, shape (2,) (typed JAX keys and raw ``uint32[2]`` keys)."""
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    return jnp.asarray(key, jnp.uint32).reshape(-1)[:2]


def word_pairs(key: Array, n: int) -> tuple[Array, Array]:
    """Two uint32 words per element, each shape (n,): the hash of the counter pairs ``(j, n + j)``.

    Every output element depends on its own counter only (no concatenation), so a sampler
    built on it stays one vectorizable elementwise loop when XLA fuses it into its consumer.
    The two arrays concatenated are JAX's ``threefry_2x32(key, arange(2 n))``.
    """
    kw = key_words(key)
    c = jnp.arange(int(n), dtype=jnp.uint32)
    return threefry2x32(kw[0], kw[1], c, c + np.uint32(int(n)))


def split(key: Array, num: int = 2) -> Array:
    """``num`` new raw keys, shape (num, 2) uint32, from the hash of ``key`` (as ``jax.random.split``)."""
    a, b = word_pairs(key, int(num))
    return jnp.stack([a, b], axis=-1)


def unit_f32(words: Array) -> Array:
    """Uniform floats in [0, 1) with 23 random bits, float32, from uint32 words (same shape)."""
    return jax.lax.bitcast_convert_type((words >> np.uint32(9)) | np.uint32(0x3F800000), jnp.float32) - 1.0


def unit_f64(words_hi: Array, words_lo: Array) -> Array:
    """Uniform floats in [0, 1) with 52 random bits, float64, from two uint32 word arrays (same shape)."""
    hi = (words_hi >> np.uint32(6)).astype(jnp.float64)  # 26 bits
    lo = (words_lo >> np.uint32(6)).astype(jnp.float64)  # 26 bits
    return (hi * 67108864.0 + lo) * (1.0 / 4503599627370496.0)


def uniform(key: Array, n: int) -> Array:
    """n uniform float64 numbers in [0, 1), shape (n,) (52 random bits each)."""
    return unit_f64(*word_pairs(key, n))


def normal_f32(key: Array, n: int) -> Array:
    """n standard normal float32 numbers, shape (n,), by the Box-Muller transform.

    Box and Muller, Ann. Math. Statist. 29, 610 (1958): for U1 uniform on (0, 1] and U2 on
    [0, 1), sqrt(-2 ln U1) cos(2 pi U2) is a standard normal. Each element uses the two words
    of its own counter and keeps the cosine draw only (the sine partner would need a
    concatenation that stops XLA from vectorizing the fused loop). The 23-bit uniforms bound
    |z| by sqrt(2 ln 2^23) = 5.6 (probability of a larger normal: 2e-8); for the Liu-West
    kernel noise this truncation is immaterial.
    """
    a, b = word_pairs(key, n)
    u1 = 1.0 - unit_f32(a)  # (0, 1]: no log(0)
    return jnp.sqrt(-2.0 * jnp.log(u1)) * jnp.cos((2.0 * math.pi) * unit_f32(b))
