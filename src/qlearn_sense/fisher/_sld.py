"""Quantum Fisher information through the symmetric logarithmic derivative (SLD).

Autodiff through ``eigh`` yields NaN for degenerate spectra (every pure state),
so :func:`qfi` carries a custom VJP built on the SLD identity
``dF = 2 Tr(L d(drho)) - Tr(L^2 d(rho))`` (derivation: differentiate
``F = Tr(drho L)`` with ``drho = (L rho + rho L)/2``), which needs only the
eigendecomposition already computed in the forward pass.
"""

from __future__ import annotations

from functools import partial

from qlearn_sense import _jax  # noqa: F401
import jax
import jax.numpy as jnp

from qlearn_sense.fisher._channels import local_dephasing

Array = jax.Array

DEFAULT_ATOL = 1e-12


def _check(rho: Array, drho: Array) -> None:
    if rho.ndim != 2 or rho.shape[0] != rho.shape[1]:
        raise ValueError(f"rho must be a square matrix, got shape {rho.shape}")
    if drho.shape != rho.shape:
        raise ValueError(f"drho has shape {drho.shape}; expected rho's shape {rho.shape}")


def _cmatmul(a: Array, b: Array) -> Array:
    """Complex matrix product as three real GEMMs (Gauss's trick).

    On CPU, XLA's complex128 GEMM is several times slower than float64 ones;
    the optimization barriers keep XLA from fusing the real/imaginary splits
    into the products (which would leave the fast GEMM path).
    """
    barrier = jax.lax.optimization_barrier
    ar, ai, br, bi = barrier((jnp.real(a), jnp.imag(a), jnp.real(b), jnp.imag(b)))
    asum, bsum = barrier((ar + ai, br + bi))
    rr, ii, ss = barrier((ar @ br, ai @ bi, asum @ bsum))
    return jax.lax.complex(rr - ii, ss - rr - ii)


def _sld_eigenbasis(rho: Array, drho: Array, atol: float):
    lam, u = jnp.linalg.eigh(rho)
    d = jnp.conj(u.T) @ drho @ u
    s = lam[:, None] + lam[None, :]
    mask = s > atol
    l_eig = jnp.where(mask, 2.0 * d / jnp.where(mask, s, 1.0), 0.0)
    f = jnp.real(jnp.sum(l_eig * jnp.conj(d)))
    return f, u, l_eig


@jax.custom_vjp
def _qfi(rho: Array, drho: Array, atol: float) -> Array:
    return _sld_eigenbasis(rho, drho, atol)[0]


def _qfi_fwd(rho, drho, atol):
    f, u, l_eig = _sld_eigenbasis(rho, drho, atol)
    return f, (u, l_eig)


def _qfi_bwd(res, ct):
    u, l_eig = res
    sld = u @ l_eig @ jnp.conj(u.T)
    # JAX's cotangent for a real F with dF = Re sum_ij A_ij dZ_ij is A; here A = M^T.
    ct_drho = 2.0 * ct * sld.T
    ct_rho = -ct * (sld @ sld).T
    return ct_rho, ct_drho, None


_qfi.defvjp(_qfi_fwd, _qfi_bwd)


def qfi(rho: Array, drho: Array, *, atol: float = DEFAULT_ATOL) -> Array:
    r"""Quantum Fisher information of a density-matrix family at one point.

    ``F_Q = 2 sum_{ij: l_i + l_j > atol} |<i|drho|j>|^2 / (l_i + l_j)``
    with ``rho = sum_i l_i |i><i|`` (Braunstein & Caves, PRL 72, 3439 (1994),
    eq. (3.11) in SLD form; Paris, Int. J. Quantum Inf. 7, 125 (2009), eq. (14)).

    Args:
      rho: density matrix, shape (d, d), Hermitian, trace 1.
      drho: derivative of rho w.r.t. the parameter, shape (d, d), Hermitian,
        in units of the inverse parameter (rad^-1 for a phase).
      atol: eigenvalue sums at or below this are treated as outside the support.

    Returns:
      Scalar QFI (rad^-2 for a phase). Differentiable in both arguments with a
      custom VJP: finite gradients for pure and rank-deficient states (for
      perturbations that keep the support, e.g. unitary or pure-state families).

    Raises:
      ValueError: if rho is not square or drho's shape differs.
    """
    rho = jnp.asarray(rho, dtype=jnp.complex128)
    drho = jnp.asarray(drho, dtype=jnp.complex128)
    _check(rho, drho)
    return _qfi(rho, drho, atol)


def _diag_gen_parts(rho: Array, g: Array, atol: float):
    lam, u = jnp.linalg.eigh(rho)
    gp = _cmatmul(jnp.conj(u.T), g[:, None] * u)  # G in the eigenbasis (one matmul)
    s = lam[:, None] + lam[None, :]
    # real weight (l_j - l_i) / (l_i + l_j), zero outside the support (l_i + l_j <= atol)
    k = jnp.where(s > atol, (lam[None, :] - lam[:, None]) / jnp.where(s > atol, s, 1.0), 0.0)
    # <i|drho|j> = -i (l_j - l_i) G'_ij; SLD L'_ij = 2 <i|drho|j> / (l_i + l_j) = -2i k_ij G'_ij
    l_eig = (-2j * k) * gp
    # F = sum_ij L'_ij conj(<i|drho|j>) = 2 sum_ij k_ij (l_j - l_i) |G'_ij|^2
    f = 2.0 * jnp.sum(k * (lam[None, :] - lam[:, None]) * (jnp.real(gp) ** 2 + jnp.imag(gp) ** 2))
    return f, u, l_eig


@jax.custom_vjp
def _qfi_diag_generator(rho: Array, g: Array, atol: float) -> Array:
    return _diag_gen_parts(rho, g, atol)[0]


def _qfi_diag_fwd(rho, g, atol):
    f, u, l_eig = _diag_gen_parts(rho, g, atol)
    return f, (u, l_eig, g)


def _qfi_diag_bwd(res, ct):
    u, l_eig, g = res
    w = _cmatmul(u, l_eig)
    sld = _cmatmul(w, jnp.conj(u.T))
    sld2 = _cmatmul(w, jnp.conj(w.T))
    # dF = Tr(M d rho) with M = -2i [L, G] - L^2 and [L, G]_ab = L_ab (g_b - g_a)
    m = -2j * sld * (g[None, :] - g[:, None]) - sld2
    return ct * m.T, jnp.zeros_like(g), None


_qfi_diag_generator.defvjp(_qfi_diag_fwd, _qfi_diag_bwd)


def _apply_dephasing_rows(x: Array, dephasing: tuple[float, ...]) -> Array:
    """``D @ x`` for ``D_ab = prod_j d_j^[a_j != b_j]`` (``d_j = I + dephasing_j X`` per qubit), x (2**n, K)."""
    n = len(dephasing)
    dim, k = x.shape
    for j, d in enumerate(dephasing):  # qubit j is bit j of the row index (little-endian)
        t = x.reshape(2 ** (n - 1 - j), 2, 2 ** j * k)
        x = jnp.stack([t[:, 0] + d * t[:, 1], t[:, 1] + d * t[:, 0]], axis=1).reshape(dim, k)
    return x


def _dephased_rho(psi: Array, dephasing: tuple[float, ...]) -> Array:
    return local_dephasing(psi[:, None] * jnp.conj(psi)[None, :], jnp.asarray(dephasing, dtype=jnp.float64))


def _hadamard_apply(terms: list[tuple[Array, Array, Array]], dephasing: tuple[float, ...]) -> list[Array]:
    """``(D o (a b^dag)) v = sum_k a_k o D (conj(b_k) o v)`` for each ``(a, b, v)``, without forming ``a b^dag``.

    All terms share one pass of the dephasing map over a (d, d * len(terms)) array: O(n d^2) work.
    """
    d = terms[0][0].shape[0]
    y = _apply_dephasing_rows(jnp.concatenate([jnp.conj(b) * v[:, None] for _, b, v in terms], axis=1), dephasing)
    return [jnp.sum(a * y[:, i * d:(i + 1) * d], axis=1) for i, (a, _, _) in enumerate(terms)]


@partial(jax.custom_vjp, nondiff_argnums=(1, 3))
def _qfi_dephased(psi: Array, dephasing: tuple[float, ...], g: Array, atol: float) -> Array:
    return _diag_gen_parts(_dephased_rho(psi, dephasing), g, atol)[0]


def _qfi_dephased_fwd(psi, dephasing, g, atol):
    f, u, l_eig = _diag_gen_parts(_dephased_rho(psi, dephasing), g, atol)
    return f, (u, l_eig, g, psi)


def _qfi_dephased_bwd(dephasing, atol, res, ct):
    u, l_eig, g, psi = res
    w = _cmatmul(u, l_eig)  # L = w u^dag = sum_k w_k u_k^dag, L^2 = w w^dag (L' Hermitian)
    # dF = 2 Re <y, dpsi> with y = (D o M) psi and M = -2i [L, G] - L^2, G = diag(g). Written as
    # M = sum_k w_k (2i G u_k - w_k)^dag + (2i G w_k) u_k^dag, y needs two Hadamard-product terms:
    y1, y2 = _hadamard_apply([(w, 2j * g[:, None] * u - w, psi), (w, u, psi)], dephasing)
    y = y1 + 2j * g * y2
    return 2.0 * ct * jnp.conj(y), jnp.zeros_like(g)


_qfi_dephased.defvjp(_qfi_dephased_fwd, _qfi_dephased_bwd)


def qfi_dephased(psi: Array, dephasing, generator: Array, *, atol: float = DEFAULT_ATOL) -> Array:
    r"""QFI of a pure state after local dephasing, for a diagonal generator.

    ``rho = D o |psi><psi|`` with ``D_ab = prod_j eta_j^[a_j != b_j]`` (each
    qubit's coherences scaled by its coherence factor eta_j), and
    ``F_Q = 2 sum_ij (l_i - l_j)^2 / (l_i + l_j) |<i|G|j>|^2`` (Braunstein &
    Caves, PRL 72, 3439 (1994); Paris, Int. J. Quantum Inf. 7, 125 (2009), eq. (14)).
    Equals :func:`qfi_generator` of that rho; the custom VJP goes straight to
    ``psi``: one eigendecomposition and two matrix products for value and
    gradient, with the dephasing applied in O(n d^2) instead of forming d x d
    cotangents.

    Args:
      psi: normalized state vector, shape (2**n,), little-endian (bit j of the
        index is qubit j).
      dephasing: coherence factor per qubit, n floats in (0, 1] (static).
      generator: diagonal of the generator, shape (2**n,), e.g. ``sum_j Z_j / 2``.
      atol: see :func:`qfi`.

    Returns:
      Scalar QFI in rad^-2, differentiable in ``psi``.

    Raises:
      ValueError: if ``psi`` is not a vector of length 2**len(dephasing), the
        generator's length differs, or a dephasing factor is outside (0, 1].
    """
    dephasing = tuple(float(d) for d in dephasing)
    psi = jnp.asarray(psi, dtype=jnp.complex128)
    generator = jnp.asarray(generator, dtype=jnp.float64)
    if psi.ndim != 1 or psi.shape[0] != 2 ** len(dephasing):
        raise ValueError(f"psi has shape {psi.shape}; expected ({2 ** len(dephasing)},) for {len(dephasing)} qubits")
    if generator.shape != psi.shape:
        raise ValueError(f"generator diagonal has shape {generator.shape}; expected {psi.shape}")
    if any(not 0.0 < d <= 1.0 for d in dephasing):
        raise ValueError(f"dephasing = {list(dephasing)}; accepted: each in (0, 1]")
    return _qfi_dephased(psi, dephasing, generator, atol)


def qfi_generator(rho: Array, generator: Array, *, atol: float = DEFAULT_ATOL) -> Array:
    r"""QFI of the unitary family ``exp(-i phi G) rho exp(i phi G)``, with G given.

    ``drho = -i [G, rho]``. For the sensing generator ``G = sum_j Z_j / 2`` pass
    its diagonal.

    Args:
      rho: density matrix, shape (d, d).
      generator: Hermitian generator, shape (d, d), or its diagonal, shape (d,)
        (in the same basis as rho).
      atol: see :func:`qfi`.

    Returns:
      Scalar QFI in rad^-2; equals ``4 Var(G)`` for pure states. Differentiable
      in rho (custom VJP; for a diagonal generator it costs one eigendecomposition
      and four matrix products for value and gradient).

    Raises:
      ValueError: if shapes do not match.
    """
    rho = jnp.asarray(rho, dtype=jnp.complex128)
    generator = jnp.asarray(generator)
    if generator.ndim == 1:
        if generator.shape[0] != rho.shape[0]:
            raise ValueError(f"generator diagonal has length {generator.shape[0]}; rho is {rho.shape}")
        # specialized VJP: eigh + 1 matmul forward, 3 matmuls backward
        return _qfi_diag_generator(rho, jnp.asarray(generator, dtype=jnp.float64), atol)
    else:
        if generator.shape != rho.shape:
            raise ValueError(f"generator has shape {generator.shape}; rho is {rho.shape}")
        drho = -1j * (generator @ rho - rho @ generator)
    return qfi(rho, drho, atol=atol)


def pure_state_qfi(psi: Array, dpsi: Array) -> Array:
    r"""QFI of a pure-state family: ``4 (<dpsi|dpsi> - |<psi|dpsi>|^2)``.

    Args:
      psi: normalized state vector, shape (d,).
      dpsi: its derivative, shape (d,).

    Returns:
      Scalar QFI.

    Raises:
      ValueError: if shapes differ or are not vectors.
    """
    psi = jnp.asarray(psi, dtype=jnp.complex128)
    dpsi = jnp.asarray(dpsi, dtype=jnp.complex128)
    if psi.ndim != 1 or psi.shape != dpsi.shape:
        raise ValueError(f"psi and dpsi must be vectors of one shape, got {psi.shape} and {dpsi.shape}")
    overlap = jnp.vdot(psi, dpsi)
    return 4.0 * jnp.real(jnp.vdot(dpsi, dpsi) - jnp.abs(overlap) ** 2)


def cfi(probs: Array, dprobs: Array, *, atol: float = 1e-14) -> Array:
    r"""Classical Fisher information of an outcome distribution.

    ``F_C = sum_{k: p_k > atol} (dp_k)^2 / p_k`` (Fisher 1925; Braunstein & Caves
    1994, eq. (2.4)). Outcomes with ``p_k <= atol`` are dropped; the gradient is
    finite there (double-``where``).

    Args:
      probs: outcome probabilities, shape (..., K), summing to 1 on the last axis.
      dprobs: their derivative w.r.t. the parameter, same shape.
      atol: probability floor.

    Returns:
      CFI, shape (...), in units of the inverse parameter squared.

    Raises:
      ValueError: if shapes differ.
    """
    probs = jnp.asarray(probs)
    dprobs = jnp.asarray(dprobs)
    if probs.shape != dprobs.shape:
        raise ValueError(f"probs {probs.shape} and dprobs {dprobs.shape} must have the same shape")
    mask = probs > atol
    safe = jnp.where(mask, probs, 1.0)
    return jnp.sum(jnp.where(mask, dprobs**2 / safe, 0.0), axis=-1)
