"""Collective protocols: ansatz families on the Dicke blocks, compiled to pure JAX functions.

A :class:`CollectiveSpec` is the collective analogue of ``qlearn_sense.protocol.Protocol``:
N spins start in |0...0>, a preparation ansatz acts on the symmetric subspace, the signal
``exp(-i phi J_z)`` and local dephasing (coherence factor eta per spin) act, then a
measurement ansatz acts on every total-spin block and J_z (or J_y, or parity) is read out.
:func:`compile_collective` returns an object with the call signatures of
``qlearn_sense.protocol.JaxProtocol`` so ``qlearn_sense.optimize.optimize_protocol`` runs
unchanged. Ansatz: layers of one-axis twisting and global rotations (Kaubruegger et al.,
PRL 123, 260505 (2019); Marciniak et al., Nature 603, 604 (2022)).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from qlearn_sense import _jax  # noqa: F401
from qlearn_sense.collective._dicke import check_n_spins, m_values
from qlearn_sense.collective._decay import check_gamma_t1, factor_builder, factors_qfi
from qlearn_sense.collective._qfi import _kernel, block_qfi, resolve_max_flips
from qlearn_sense.collective._states import coherent_state, counter_twist, ghz_state, rotate, rotate_blocks, twist
from qlearn_sense.fisher import cfi as _cfi

Array = jax.Array

HALF_PI = float(np.pi / 2)
READOUTS = ("jz", "jy", "parity")
MAX_BLOCK_TABLE = 40_000_000
"""Largest (blocks x (N+1)^2) rotation table the measurement ansatz may build (320 MB)."""


@dataclass(frozen=True)
class CGate:
    """One collective gate: ``kind`` in rx, ry, rz (global rotations), twist (exp(-i a J_z^2)),
    tact (exp(-i a (J_x J_y + J_y J_x))); angle ``params[param] + offset`` (offset alone if param is None)."""

    kind: str
    param: int | None = None
    offset: float = 0.0


def _prep_css(layers: int, p0: int):
    return (CGate("ry", None, HALF_PI),), 0


def _prep_ghz(layers: int, p0: int):
    return (), 0  # the initial state itself (see compile_collective)


def _prep_oat(layers: int, p0: int):
    gates, p = [CGate("ry", None, HALF_PI)], p0
    for _ in range(layers):
        gates += [CGate("twist", p), CGate("rx", p + 1)]
        p += 2
    gates.append(CGate("rz", p))
    return tuple(gates), p + 1 - p0


def _prep_tact(layers: int, p0: int):
    gates, p = [CGate("ry", None, HALF_PI)], p0
    for _ in range(layers):
        gates += [CGate("tact", p), CGate("rx", p + 1)]
        p += 2
    gates.append(CGate("rz", p))
    return tuple(gates), p + 1 - p0


def _meas_none(layers: int, p0: int):
    return (), 0


def _meas_rotation(layers: int, p0: int):
    return (CGate("rz", p0), CGate("ry", p0 + 1)), 2


def _meas_oat(layers: int, p0: int):
    gates, p = [CGate("rz", p0), CGate("ry", p0 + 1)], p0 + 2
    for _ in range(layers):
        gates += [CGate("twist", p), CGate("rx", p + 1)]
        p += 2
    return tuple(gates), p - p0


COLLECTIVE_PREPARATIONS: dict[str, Callable] = {"css": _prep_css, "ghz": _prep_ghz, "oat": _prep_oat,
                                                "tact": _prep_tact}
"""Preparation ansatz families: coherent state, GHZ, OAT layers (Kaubruegger 2019), TACT layers."""
COLLECTIVE_MEASUREMENTS: dict[str, Callable] = {"none": _meas_none, "rotation": _meas_rotation, "oat": _meas_oat}
"""Measurement ansatz families: none, one global rotation, rotation + OAT layers."""


@dataclass(frozen=True)
class CollectiveSpec:
    """A collective sensing protocol on ``n_spins`` spins (plain, hashable data).

    Attributes:
      n_spins: N, 2..1000.
      preparation: key of :data:`COLLECTIVE_PREPARATIONS`.
      measurement: key of :data:`COLLECTIVE_MEASUREMENTS`.
      prep_layers: layers of the preparation ansatz, >= 0.
      meas_layers: layers of the measurement ansatz, >= 0.
      readout: "jz" (N+1 outcomes n = N/2 - m), "jy" (RX(pi/2) on all, then J_z), or
        "parity" (2 outcomes, (-1)^n even/odd of the J_z result).
      eta: TOTAL coherence factor per spin during the interrogation, in (0, sqrt(1 - gamma_t1)]
        (including T1's ``sqrt(1 - gamma_t1)``, as ``qlearn_sense.protocol.Noise``).
      max_flips: dephasing flip counts kept (None: automatic, see ``qfi``).
      gamma_t1: amplitude-damping (T1) probability per spin, ``1 - exp(-t/T1)``, in [0, 1).
      max_decays: T1 decay counts kept (None: automatic, see ``qfi``).

    Raises:
      ValueError: a field outside its range (the message names it).
    """

    n_spins: int
    preparation: str = "oat"
    measurement: str = "rotation"
    prep_layers: int = 1
    meas_layers: int = 0
    readout: str = "jz"
    eta: float = 1.0
    max_flips: int | None = None
    gamma_t1: float = 0.0
    max_decays: int | None = None

    def __post_init__(self) -> None:
        check_n_spins(self.n_spins)
        if self.preparation not in COLLECTIVE_PREPARATIONS:
            raise ValueError(f"preparation = {self.preparation!r}; accepted: {sorted(COLLECTIVE_PREPARATIONS)}")
        if self.measurement not in COLLECTIVE_MEASUREMENTS:
            raise ValueError(f"measurement = {self.measurement!r}; accepted: {sorted(COLLECTIVE_MEASUREMENTS)}")
        if self.readout not in READOUTS:
            raise ValueError(f"readout = {self.readout!r}; accepted: {READOUTS}")
        if self.prep_layers < 0 or self.meas_layers < 0:
            raise ValueError(f"prep_layers = {self.prep_layers}, meas_layers = {self.meas_layers}; must be >= 0")
        if not 0.0 < self.eta <= 1.0:
            raise ValueError(f"eta = {self.eta}; accepted: 0 < eta <= 1")
        check_gamma_t1(self.gamma_t1, self.eta)

    def gates(self) -> tuple[tuple[CGate, ...], tuple[CGate, ...], int, int]:
        """``(prep, measure, n_params, n_prep_params)``; the readout's fixed rotation is appended to measure."""
        prep, n_prep = COLLECTIVE_PREPARATIONS[self.preparation](self.prep_layers, 0)
        meas, n_meas = COLLECTIVE_MEASUREMENTS[self.measurement](self.meas_layers, n_prep)
        if self.readout == "jy":
            meas = meas + (CGate("rx", None, HALF_PI),)
        return prep, meas, n_prep + n_meas, n_prep


def _angle(g: CGate, theta: Array):
    return g.offset if g.param is None else theta[g.param] + g.offset


class CollectiveProtocol(NamedTuple):
    """Pure JAX functions of a collective protocol (the fields of ``JaxProtocol`` it shares).

    Attributes:
      statevector: ``theta (P,) -> psi (N+1,)`` Dicke amplitudes after preparation.
      probs: ``(theta, phi) -> p (n_outcomes,)``: J_z outcomes ordered n = 0..N
        (m = N/2 - n), or (even, odd) for parity.
      probs_and_dprobs: ``(theta, phi) -> (p, dp/dphi)``, dp in rad^-1.
      qfi: ``theta -> F_Q`` in rad^-2 of the dephased prepared state (independent of phi).
      cfi: ``(theta, phi) -> F_C`` in rad^-2.
      spec: the :class:`CollectiveSpec`.
      n_params: length of theta.
      n_prep_params: leading entries of theta used by the preparation.
      n_outcomes: N+1, or 2 for parity.
    """

    statevector: Callable[[Array], Array]
    probs: Callable[[Array, Array], Array]
    probs_and_dprobs: Callable[[Array, Array], tuple[Array, Array]]
    qfi: Callable[[Array], Array]
    cfi: Callable[[Array, Array], Array]
    spec: CollectiveSpec
    n_params: int
    n_prep_params: int
    n_outcomes: int


def _apply_prep(psi: Array, gates, theta: Array) -> Array:
    for g in gates:
        a = _angle(g, theta)
        if g.kind in ("rx", "ry", "rz"):
            psi = rotate(psi, g.kind[1], a)
        elif g.kind == "twist":
            psi = twist(psi, a)
        else:
            psi = counter_twist(psi, a)
    return psi


def _apply_meas(b: Array, gates, theta: Array, n_spins: int) -> Array:
    m = jnp.asarray(m_values(n_spins))
    for g in gates:
        a = _angle(g, theta)
        if g.kind in ("rx", "ry", "rz"):
            b = rotate_blocks(b, g.kind[1], a, n_spins)
        elif g.kind == "twist":
            b = jnp.exp(-1j * a * m ** 2)[None, :, None] * b
        else:
            raise ValueError("tact is a preparation gate only")
    return b


def compile_collective(spec: CollectiveSpec) -> CollectiveProtocol:
    """Compile a collective protocol to pure, jit-able JAX functions.

    The dephased state is kept as factors ``rho = sum_i B_i B_i^dag`` per block
    (``qlearn_sense.collective.dephased_factors``, or ``decayed_factors`` with T1); the encoding and
    the measurement gates act on every block, and ``p_n = sum_i ||row n of B_i||^2``. ``qfi`` is
    :func:`qlearn_sense.collective.qfi` of the prepared state.

    Args:
      spec: the protocol.

    Returns:
      :class:`CollectiveProtocol`; works with ``qlearn_sense.optimize.optimize_protocol``.

    Raises:
      ValueError: the measurement ansatz rotates every block and its tables would exceed
        :data:`MAX_BLOCK_TABLE` entries (large N with strong dephasing or T1): use
        ``measurement="none"`` with ``readout="jz"``/``"parity"`` or the QFI objective.
    """
    n_spins = spec.n_spins
    prep, meas, n_params, n_prep = spec.gates()
    m = jnp.asarray(m_values(n_spins))
    if spec.gamma_t1 > 0.0 or spec.max_decays is not None:
        build, _ = factor_builder(n_spins, spec.eta, spec.gamma_t1, max_flips=spec.max_flips,
                                   max_decays=spec.max_decays)
        n_blocks = build(jnp.zeros(n_spins + 1, jnp.complex128)).shape[0]
        noise_desc = f"eta = {spec.eta}, gamma_t1 = {spec.gamma_t1}"
    else:
        s_max = resolve_max_flips(n_spins, spec.eta, spec.max_flips)
        build, n_blocks, noise_desc = None, s_max + 1, f"eta = {spec.eta}"
    if any(g.kind in ("rx", "ry") for g in meas) and n_blocks * (n_spins + 1) ** 2 > MAX_BLOCK_TABLE:
        raise ValueError(
            f"measurement = {spec.measurement!r} / readout = {spec.readout!r} with n_spins = {n_spins} and "
            f"{noise_desc} needs {n_blocks} rotated blocks of size {n_spins + 1} (over {MAX_BLOCK_TABLE} "
            "entries); use measurement='none' with readout 'jz' or 'parity', or objective 'qfi'")
    kernel = _kernel(n_spins, spec.eta, s_max) if build is None else None  # after the size check: tables cost
    init = ghz_state(n_spins) if spec.preparation == "ghz" else coherent_state(n_spins, 0.0)

    def factors(psi: Array) -> Array:
        return psi[None, :, None] * kernel if build is None else build(psi)

    def statevector(theta: Array) -> Array:
        return _apply_prep(init, prep, jnp.asarray(theta, dtype=jnp.float64))

    def probs(theta: Array, phi: Array) -> Array:
        theta = jnp.asarray(theta, dtype=jnp.float64)
        psi = statevector(theta) * jnp.exp(-1j * jnp.asarray(phi, dtype=jnp.float64) * m)
        b = factors(psi)
        b = _apply_meas(b, meas, theta, n_spins)
        p = jnp.sum(jnp.real(b) ** 2 + jnp.imag(b) ** 2, axis=(0, 2))
        if spec.readout == "parity":
            even = jnp.sum(p[0::2])
            p = jnp.stack([even, 1.0 - even])
        return jnp.clip(p, 0.0, 1.0)

    def probs_and_dprobs(theta: Array, phi: Array) -> tuple[Array, Array]:
        phi = jnp.asarray(phi, dtype=jnp.float64)
        return jax.jvp(lambda x: probs(theta, x), (phi,), (jnp.ones_like(phi),))

    def qfi(theta: Array) -> Array:
        psi = statevector(theta)
        if build is not None:
            return factors_qfi(build(psi), m)
        return block_qfi(jnp.real(psi) ** 2 + jnp.imag(psi) ** 2, kernel, m)

    def cfi(theta: Array, phi: Array) -> Array:
        return _cfi(*probs_and_dprobs(theta, phi))

    n_out = 2 if spec.readout == "parity" else n_spins + 1
    return CollectiveProtocol(statevector, probs, probs_and_dprobs, qfi, cfi, spec, n_params, n_prep, n_out)
