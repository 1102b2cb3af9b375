"""Compile a :class:`Protocol` to pure, jit-able JAX functions.

Internal layout: a state vector is a tensor of shape ``(2,) * n`` whose axis
``a`` holds qubit ``n - 1 - a``, so that flattening in C order gives the
little-endian index ``k = sum_j b_j 2**j`` used by every public array. A density
matrix is a tensor of shape ``(2,) * 2n``: ket axes first, bra axes second.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

from qlearn_sense import _jax  # noqa: F401
import jax
import jax.numpy as jnp

from qlearn_sense.fisher import cfi as _cfi, qfi_dephased as _qfi_dephased, qfi_generator as _qfi_generator
from qlearn_sense.fisher._channels import generator_diagonal, local_dephasing
from qlearn_sense.protocol._protocol import Gate, Protocol

Array = jax.Array

_H = jnp.array([[1, 1], [1, -1]], dtype=jnp.complex128) / jnp.sqrt(2.0)
_X = jnp.array([[0, 1], [1, 0]], dtype=jnp.complex128)
_S = jnp.array([[1, 0], [0, 1j]], dtype=jnp.complex128)
_CNOT = jnp.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]],
                  dtype=jnp.complex128).reshape(2, 2, 2, 2)
_CZ = jnp.diag(jnp.array([1, 1, 1, -1], dtype=jnp.complex128)).reshape(2, 2, 2, 2)


def gate_matrix(name: str, angle: Array | float = 0.0) -> Array:
    """Unitary of a gate as a JAX array.

    Args:
      name: gate name (see :class:`qlearn_sense.protocol.Gate`).
      angle: rotation angle in radians (ignored for fixed gates).

    Returns:
      Shape (2, 2) for one-qubit gates, (2, 2, 2, 2) ``[out1, out2, in1, in2]``
      for two-qubit gates (first wire first), complex128. Conventions follow
      qiskit: ``RX(a) = exp(-i a X/2)``, ``RZZ(a) = exp(-i a Z Z/2)``.

    Raises:
      ValueError: unknown gate name.
    """
    c, s = jnp.cos(angle / 2), jnp.sin(angle / 2)
    if name == "rx":
        return jnp.array([[c, -1j * s], [-1j * s, c]], dtype=jnp.complex128)
    if name == "ry":
        return jnp.array([[c, -s], [s, c]], dtype=jnp.complex128)
    if name == "rz":
        e = jnp.exp(-0.5j * angle)
        return jnp.array([[e, 0], [0, jnp.conj(e)]], dtype=jnp.complex128)
    if name == "rzz":
        e = jnp.exp(-0.5j * angle)
        return jnp.diag(jnp.array([e, jnp.conj(e), jnp.conj(e), e], dtype=jnp.complex128)).reshape(2, 2, 2, 2)
    fixed = {"h": _H, "x": _X, "s": _S, "sdg": jnp.conj(_S), "cnot": _CNOT, "cz": _CZ}
    if name in fixed:
        return fixed[name]
    raise ValueError(f"unknown gate {name!r}")


def _angle(g: Gate, theta: Array) -> Array | float:
    if g.param is None:
        return g.offset
    return g.scale * theta[g.param] + g.offset


def _apply(tensor: Array, mat: Array, axes: tuple[int, ...]) -> Array:
    """Contract ``mat`` (shape (2,)*2k) into ``tensor`` on ``axes`` (k of them)."""
    k = len(axes)
    out = jnp.tensordot(mat, tensor, axes=(tuple(range(k, 2 * k)), axes))
    return jnp.moveaxis(out, tuple(range(k)), axes)


def _axis(n: int, qubit: int) -> int:
    return n - 1 - qubit


def _apply_gates_state(psi: Array, gates: tuple[Gate, ...], theta: Array, n: int) -> Array:
    for g in gates:
        axes = tuple(_axis(n, w) for w in g.wires)
        psi = _apply(psi, gate_matrix(g.name, _angle(g, theta)), axes)
    return psi


def _apply_gates_rho(rho: Array, gates: tuple[Gate, ...], theta: Array, n: int) -> Array:
    for g in gates:
        u = gate_matrix(g.name, _angle(g, theta))
        axes = tuple(_axis(n, w) for w in g.wires)
        rho = _apply(rho, u, axes)
        rho = _apply(rho, jnp.conj(u), tuple(a + n for a in axes))
    return rho


def _qubit_factor(n: int, qubit: int, f: Array) -> Array:
    """Reshape a (2, 2) ket-bra factor to broadcast on a (2,)*2n tensor."""
    shape = [1] * (2 * n)
    a = _axis(n, qubit)
    shape[a] = 2
    shape[a + n] = 2
    return f.reshape(shape)


def _encode_and_dephase(rho: Array, phi: Array, protocol: Protocol) -> Array:
    """Apply exp(-i phi sum Z/2) and local dephasing as one Hadamard product per qubit."""
    coherence = jnp.asarray(protocol.noise.dephasing, dtype=jnp.complex128) * jnp.exp(-1j * phi)
    return local_dephasing(rho, coherence)


def _amplitude_damp(rho: Array, protocol: Protocol) -> Array:
    n = protocol.n_qubits
    for j, g in enumerate(protocol.noise.gamma):
        if g == 0.0:
            continue
        k0 = jnp.array([[1.0, 0.0], [0.0, jnp.sqrt(1.0 - g)]], dtype=jnp.complex128)
        k1 = jnp.array([[0.0, jnp.sqrt(g)], [0.0, 0.0]], dtype=jnp.complex128)
        a = _axis(n, j)
        rho = (_apply(_apply(rho, k0, (a,)), k0, (a + n,))
               + _apply(_apply(rho, k1, (a,)), k1, (a + n,)))
    return rho


def _readout(p: Array, protocol: Protocol) -> Array:
    n = protocol.n_qubits
    for j, (p01, p10) in enumerate(zip(protocol.noise.p01, protocol.noise.p10)):
        if p01 == 0.0 and p10 == 0.0:
            continue
        conf = jnp.array([[1 - p01, p10], [p01, 1 - p10]], dtype=p.dtype)
        p = _apply(p, conf.reshape(2, 2), (_axis(n, j),))
    return p


def _is_product_measurement(protocol: Protocol) -> bool:
    return all(len(g.wires) == 1 for g in protocol.measure)


def _qubit_transfer(protocol: Protocol, j: int, theta: Array, phi: Array) -> Array:
    """``T[k, a, b]``: probability weight of reading k on qubit j from the ket-bra element |a><b|.

    Folds the encoding phase, dephasing, amplitude damping, the single-qubit
    measurement rotations and the readout confusion of qubit j into one (2, 2, 2) tensor.
    """
    d = protocol.noise.dephasing[j]
    e = jnp.exp(-1j * phi)
    f = jnp.array([[1.0, d * e], [d * jnp.conj(e), 1.0]], dtype=jnp.complex128)
    u = jnp.eye(2, dtype=jnp.complex128)
    for g in protocol.measure:
        if g.wires[0] == j:
            u = gate_matrix(g.name, _angle(g, theta)) @ u
    gam = protocol.noise.gamma[j]
    kraus = [jnp.eye(2, dtype=jnp.complex128)] if gam == 0.0 else [
        jnp.array([[1.0, 0.0], [0.0, jnp.sqrt(1.0 - gam)]], dtype=jnp.complex128),
        jnp.array([[0.0, jnp.sqrt(gam)], [0.0, 0.0]], dtype=jnp.complex128)]
    t = sum(jnp.einsum("ka,kb->kab", u @ k, jnp.conj(u @ k)) for k in kraus) * f[None, :, :]
    p01, p10 = protocol.noise.p01[j], protocol.noise.p10[j]
    conf = jnp.array([[1 - p01, p10], [p01, 1 - p10]], dtype=jnp.complex128)
    return jnp.einsum("kl,lab->kab", conf, t)


def _probs_product(psi: Array, protocol: Protocol, theta: Array, phi: Array) -> Array:
    """Outcome probabilities for a product measurement, contracting one qubit at a time.

    Each step contracts a qubit's ket and bra axes into its outcome axis, so the
    tensor halves: about two passes over the 4**n density tensor in all.
    """
    n = protocol.n_qubits
    rho = psi.reshape((2,) * n)
    rho = rho.reshape((2,) * n + (1,) * n) * jnp.conj(rho).reshape((1,) * n + (2,) * n)
    labels = [("ket", n - 1 - a) for a in range(n)] + [("bra", n - 1 - a) for a in range(n)]
    for j in range(n):
        t = _qubit_transfer(protocol, j, theta, phi)
        ka, ba = labels.index(("ket", j)), labels.index(("bra", j))
        rho = jnp.tensordot(t, rho, axes=([1, 2], [ka, ba]))
        labels = [("out", j)] + [lab for i, lab in enumerate(labels) if i not in (ka, ba)]
    order = [labels.index(("out", n - 1 - a)) for a in range(n)]
    return jnp.real(jnp.transpose(rho, order)).reshape(2**n)


def _generator_diag(n: int) -> Array:
    return jnp.asarray(generator_diagonal(n))


class JaxProtocol(NamedTuple):
    """Pure JAX functions of one protocol (all jit-able and differentiable).

    Attributes:
      statevector: ``theta (P,) -> psi (2**n,)``, the prepared pure state.
      density_matrix: ``(theta, phi) -> rho (2**n, 2**n)`` after encoding and
        noise, before the measurement ansatz.
      probs: ``(theta, phi) -> p (2**n,)`` outcome probabilities, readout
        errors included, little-endian.
      probs_and_dprobs: ``(theta, phi) -> (p, dp/dphi)``, both (2**n,), dp in rad^-1.
      qfi: ``theta -> F_Q`` in rad^-2 (independent of phi).
      cfi: ``(theta, phi) -> F_C`` in rad^-2 of the measurement at phi.
      generator: diagonal of ``sum_j Z_j / 2``, shape (2**n,).
    """

    statevector: Callable[[Array], Array]
    density_matrix: Callable[[Array, Array], Array]
    probs: Callable[[Array, Array], Array]
    probs_and_dprobs: Callable[[Array, Array], tuple[Array, Array]]
    qfi: Callable[[Array], Array]
    cfi: Callable[[Array, Array], Array]
    generator: Array


def compile_jax(protocol: Protocol) -> JaxProtocol:
    """Compile a protocol to pure JAX functions.

    The signal encoding ``exp(-i phi sum_j Z_j / 2)`` and the noise channel
    commute (both channels are phase covariant), so the state after the
    interrogation is ``U_phi N(|psi><psi|) U_phi^dag`` and its QFI is that of
    ``N(|psi><psi|)`` under the generator ``G = sum_j Z_j / 2``.

    Args:
      protocol: the protocol; its structure is fixed at trace time.

    Returns:
      A :class:`JaxProtocol`. ``theta`` has shape ``(protocol.n_params,)``;
      ``phi`` is the phase per qubit in radians (scalar).
    """
    n = protocol.n_qubits
    dim = 2 ** n
    g_diag = _generator_diag(n)

    def statevector(theta: Array) -> Array:
        psi = jnp.zeros((2,) * n, dtype=jnp.complex128).at[(0,) * n].set(1.0)
        return _apply_gates_state(psi, protocol.prep, jnp.asarray(theta), n).reshape(dim)

    def _noisy_tensor(theta: Array, phi: Array) -> Array:
        psi = statevector(theta)
        rho = (psi[:, None] * jnp.conj(psi)[None, :]).reshape((2,) * (2 * n))
        rho = _encode_and_dephase(rho, jnp.asarray(phi, dtype=jnp.float64), protocol)
        return _amplitude_damp(rho, protocol)

    def density_matrix(theta: Array, phi: Array) -> Array:
        return _noisy_tensor(theta, phi).reshape(dim, dim)

    product = _is_product_measurement(protocol)

    def probs(theta: Array, phi: Array) -> Array:
        if product:
            p = _probs_product(statevector(theta), protocol, jnp.asarray(theta),
                               jnp.asarray(phi, dtype=jnp.float64))
            return jnp.clip(p, 0.0, 1.0)
        rho = _apply_gates_rho(_noisy_tensor(theta, phi), protocol.measure, jnp.asarray(theta), n)
        p = jnp.real(jnp.diagonal(rho.reshape(dim, dim)))
        p = _readout(p.reshape((2,) * n), protocol).reshape(dim)
        return jnp.clip(p, 0.0, 1.0)

    def probs_and_dprobs(theta: Array, phi: Array) -> tuple[Array, Array]:
        phi = jnp.asarray(phi, dtype=jnp.float64)
        return jax.jvp(lambda x: probs(theta, x), (phi,), (jnp.ones_like(phi),))

    pure_dephasing = not any(protocol.noise.gamma)

    def qfi(theta: Array) -> Array:
        if pure_dephasing:  # gradient straight to psi: eigh + 2 matmuls (qlearn_sense.fisher.qfi_dephased)
            return _qfi_dephased(statevector(theta), protocol.noise.dephasing, g_diag)
        return _qfi_generator(density_matrix(theta, 0.0), g_diag)

    def cfi(theta: Array, phi: Array) -> Array:
        return _cfi(*probs_and_dprobs(theta, phi))

    return JaxProtocol(statevector, density_matrix, probs, probs_and_dprobs, qfi, cfi, g_diag)
