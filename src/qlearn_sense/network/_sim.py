"""A small JAX density-matrix simulator for network circuits with one phase per sensing channel.

A :class:`NetworkCircuit` on N qubits (N <= 8 in practice) runs, in order:
preparation gates -> transduction links on the qubits that travel (amplitude
damping 1 - T, then depolarizing p) -> signal encoding, one unitary per qubit
``exp(-i sum_c phi_c sigma_axis(c) / 2)`` over the channels c of its node ->
local dephasing (coherence factor eta per qubit) and common-mode field noise
(Gaussian random phases with covariance C across nodes, averaged into the state)
-> measurement gates -> computational-basis readout.

Bit order: little-endian, ``k = sum_q b_q 2**q`` (qiskit's), as in
:mod:`qlearn_sense.protocol`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, NamedTuple

from qlearn_sense import _jax  # noqa: F401
import jax
import jax.numpy as jnp
import numpy as np

from qlearn_sense.fisher import cfim as _cfim, qfim as _qfim
from qlearn_sense.protocol import Gate, gate_matrix

Array = jax.Array
MAX_NETWORK_QUBITS = 8
_PAULI = {"x": np.array([[0, 1], [1, 0]], dtype=complex), "y": np.array([[0, -1j], [1j, 0]]),
          "z": np.array([[1, 0], [0, -1]], dtype=complex)}


@dataclass(frozen=True)
class NetworkCircuit:
    """A network sensing circuit (plain, hashable data).

    Attributes:
      n_qubits: total qubits N, 1..8.
      node_of_qubit: node index of every qubit, length N.
      channels: (node index, axis in ``x``/``y``/``z``) per encoded phase, length C.
      prep: preparation gates (act on ``|0...0>``).
      measure: measurement gates (after encoding and noise).
      n_params: length of the parameter vector (preparation parameters first).
      n_prep_params: parameters used by the preparation.
      eta: local dephasing factor per qubit, each in (0, 1] (off-diagonal scaled by eta).
      link_gamma: amplitude-damping probability ``1 - T`` of the link each qubit
        travels through (0 for qubits that stay), length N.
      link_p: depolarizing probability of that link, ``rho -> (1-p) rho + p I/2``, length N.
      common_cov_rad2: covariance of the common-mode random phase per node, rad^2,
        (M, M) as nested tuples (z encoding only), or () for none.
      name: label.
      travelling: per qubit, whether it goes through a link (default: where
        ``link_gamma`` or ``link_p`` is nonzero); only these qubits accept a
        run-time ``gammas`` override in :func:`compile_network`.

    Raises:
      ValueError: inconsistent lengths, a gate outside the register or using a
        parameter outside its range, N outside 1..8, or a value outside its range.
    """

    n_qubits: int
    node_of_qubit: tuple[int, ...]
    channels: tuple[tuple[int, str], ...]
    prep: tuple[Gate, ...]
    measure: tuple[Gate, ...]
    n_params: int
    n_prep_params: int
    eta: tuple[float, ...]
    link_gamma: tuple[float, ...]
    link_p: tuple[float, ...]
    common_cov_rad2: tuple[tuple[float, ...], ...] = ()
    name: str = "network"
    travelling: tuple[bool, ...] = ()

    def __post_init__(self) -> None:
        n = self.n_qubits
        if not self.travelling:
            object.__setattr__(self, "travelling", tuple(bool(g > 0 or p > 0)
                                                         for g, p in zip(self.link_gamma, self.link_p)))
        if not 1 <= n <= MAX_NETWORK_QUBITS:
            raise ValueError(f"n_qubits = {n}; accepted: 1..{MAX_NETWORK_QUBITS} for the network simulator")
        for name in ("node_of_qubit", "eta", "link_gamma", "link_p", "travelling"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"NetworkCircuit.{name} has length {len(getattr(self, name))}; expected {n}")
        if any(not 0 < e <= 1 for e in self.eta):
            raise ValueError(f"NetworkCircuit.eta = {self.eta}; accepted: each in (0, 1]")
        if any(not 0 <= g < 1 for g in self.link_gamma):
            raise ValueError(f"NetworkCircuit.link_gamma = {self.link_gamma}; accepted: each in [0, 1)")
        if any(not 0 <= p <= 1 for p in self.link_p):
            raise ValueError(f"NetworkCircuit.link_p = {self.link_p}; accepted: each in [0, 1]")
        for node, axis in self.channels:
            if axis not in _PAULI or node not in self.node_of_qubit:
                raise ValueError(f"channel ({node}, {axis!r}) needs an axis in x/y/z and a node with qubits")
        for where, gates in (("prep", self.prep), ("measure", self.measure)):
            for g in gates:
                if any(not 0 <= w < n for w in g.wires):
                    raise ValueError(f"{where} gate {g} acts outside qubits 0..{n - 1}")
                if g.param is not None and not 0 <= g.param < (self.n_prep_params if where == "prep"
                                                               else self.n_params):
                    raise ValueError(f"{where} gate {g} uses a parameter outside its range")

    @property
    def n_nodes(self) -> int:
        """Number of nodes (largest node index + 1)."""
        return max(self.node_of_qubit) + 1

    @property
    def dim(self) -> int:
        """Hilbert-space dimension 2**N."""
        return 2 ** self.n_qubits


def node_charges(circuit: NetworkCircuit) -> np.ndarray:
    """Eigenvalue of each node's ``sum_{q in node} Z_q / 2`` on every basis state, shape (2**N, M)."""
    k = np.arange(circuit.dim)
    bits = (k[:, None] >> np.arange(circuit.n_qubits)) & 1
    out = np.zeros((circuit.dim, circuit.n_nodes))
    for q, node in enumerate(circuit.node_of_qubit):
        out[:, node] += (1 - 2 * bits[:, q]) / 2
    return out


def common_mode_factor(circuit: NetworkCircuit) -> np.ndarray:
    """Decay of every coherence |a><b| under Gaussian common-mode phases, shape (2**N, 2**N).

    Random phases delta ~ N(0, C) on the node generators multiply |a><b| by
    E[exp(-i delta . (m_a - m_b))] = exp(-(m_a - m_b)^T C (m_a - m_b) / 2), with
    m the node charges (:func:`node_charges`). States in a subspace of constant
    ``sum_j m_j`` are immune to perfectly correlated noise.
    """
    if not circuit.common_cov_rad2:
        return np.ones((circuit.dim, circuit.dim))
    c = np.asarray(circuit.common_cov_rad2, dtype=float)
    m = node_charges(circuit)
    d = m[:, None, :] - m[None, :, :]
    return np.exp(-0.5 * np.einsum("abi,ij,abj->ab", d, c, d))


def _axis(n: int, q: int) -> int:
    return n - 1 - q


def _apply(t: Array, mat: Array, axes: tuple[int, ...]) -> Array:
    k = len(axes)
    out = jnp.tensordot(mat, t, axes=(tuple(range(k, 2 * k)), axes))
    return jnp.moveaxis(out, tuple(range(k)), axes)


def _angle(g: Gate, theta: Array):
    return g.offset if g.param is None else g.scale * theta[g.param] + g.offset


def _gates_rho(rho: Array, gates, theta: Array, n: int) -> Array:
    for g in gates:
        u = gate_matrix(g.name, _angle(g, theta))
        ax = tuple(_axis(n, w) for w in g.wires)
        rho = _apply(_apply(rho, u, ax), jnp.conj(u), tuple(a + n for a in ax))
    return rho


def _kraus(rho: Array, ks, q: int, n: int) -> Array:
    a = _axis(n, q)
    return sum(_apply(_apply(rho, k, (a,)), jnp.conj(k), (a + n,)) for k in ks)


def _link_kraus(gamma, p: float) -> list:
    """Kraus operators of depolarizing(p) after amplitude damping(gamma) (gamma may be traced)."""
    g = jnp.asarray(gamma, dtype=jnp.float64)
    ad = [jnp.array([[1, 0], [0, 0]], dtype=jnp.complex128) + jnp.sqrt(1 - g) * jnp.array([[0, 0], [0, 1.0]]),
          jnp.sqrt(g) * jnp.array([[0, 1.0], [0, 0]], dtype=jnp.complex128)]
    dep = [np.sqrt(1 - 3 * p / 4) * np.eye(2)] + ([np.sqrt(p / 4) * s for s in _PAULI.values()] if p > 0 else [])
    return [jnp.asarray(d) @ a for d in dep for a in ad]


class NetworkJax(NamedTuple):
    """Pure JAX functions of a network circuit (jit-able, differentiable).

    Attributes:
      statevector: ``theta (P,) -> psi (2**N,)``.
      density_matrix: ``(theta, phis (C,), gammas=None) -> rho (2**N, 2**N)`` after
        links, encoding and noise, before the measurement gates. ``gammas`` (N,)
        overrides the links' damping ``1 - T`` of the travelling qubits (traceable,
        so one compiled function serves a sweep over efficiencies).
      probs: ``(theta, phis, gammas=None) -> p (2**N,)`` outcome probabilities, little-endian.
      qfim: ``(theta, phis, jac (C, k), gammas=None) -> F (k, k)``: SLD QFIM of parameters
        whose phases are ``phis = jac @ theta_src`` (rad per unit parameter).
      cfim: ``(theta, phis, jac, gammas=None) -> F (k, k)``: classical Fisher matrix of ``probs``.
    """

    statevector: Callable
    density_matrix: Callable
    probs: Callable
    qfim: Callable
    cfim: Callable


@lru_cache(maxsize=64)
def compile_network(circuit: NetworkCircuit) -> NetworkJax:
    """Compile a :class:`NetworkCircuit` to pure, jitted JAX functions (cached per circuit).

    Args:
      circuit: the circuit; its structure is fixed at trace time.

    Returns:
      :class:`NetworkJax`. The QFIM/CFIM are in the parameters' units^-2 when
      ``jac`` is in rad per unit parameter (identity: per rad^2 of channel phase).
    """
    n, dim = circuit.n_qubits, circuit.dim
    cm = jnp.asarray(common_mode_factor(circuit)).reshape((2,) * (2 * n))
    travelling = [q for q in range(n) if circuit.travelling[q]]
    default_gammas = jnp.asarray(circuit.link_gamma, dtype=jnp.float64)
    by_node: dict[int, list[tuple[int, str]]] = {}
    for c, (node, axis) in enumerate(circuit.channels):
        by_node.setdefault(node, []).append((c, axis))
    paulis = {a: jnp.asarray(m) for a, m in _PAULI.items()}

    def statevector(theta):
        psi = jnp.zeros((2,) * n, dtype=jnp.complex128).at[(0,) * n].set(1.0)
        theta = jnp.asarray(theta)
        for g in circuit.prep:
            psi = _apply(psi, gate_matrix(g.name, _angle(g, theta)), tuple(_axis(n, w) for w in g.wires))
        return psi.reshape(dim)

    def _state(theta, phis, gammas=None):
        psi = statevector(theta)
        rho = (psi[:, None] * jnp.conj(psi)[None, :]).reshape((2,) * (2 * n))
        gammas = default_gammas if gammas is None else jnp.asarray(gammas, dtype=jnp.float64)
        for q in travelling:
            rho = _kraus(rho, _link_kraus(gammas[q], circuit.link_p[q]), q, n)
        phis = jnp.asarray(phis, dtype=jnp.float64)
        for q, node in enumerate(circuit.node_of_qubit):
            chans = by_node.get(node, [])
            if not chans:
                continue
            if all(a == "z" for _, a in chans):
                ph = sum(phis[c] for c, _ in chans)
                e = jnp.exp(-0.5j * ph)
                u = jnp.array([[e, 0], [0, jnp.conj(e)]], dtype=jnp.complex128)
            else:
                u = jax.scipy.linalg.expm(-0.5j * sum(phis[c] * paulis[a] for c, a in chans))
            rho = _apply(_apply(rho, u, (_axis(n, q),)), jnp.conj(u), (_axis(n, q) + n,))
            eta = circuit.eta[q]
            if eta < 1.0:
                f = jnp.array([[1.0, eta], [eta, 1.0]], dtype=jnp.complex128)
                shape = [1] * (2 * n)
                shape[_axis(n, q)] = shape[_axis(n, q) + n] = 2
                rho = rho * f.reshape(shape)
        return rho * cm

    def density_matrix(theta, phis, gammas=None):
        return _state(theta, phis, gammas).reshape(dim, dim)

    def probs(theta, phis, gammas=None):
        rho = _gates_rho(_state(theta, phis, gammas), circuit.measure, jnp.asarray(theta), n)
        return jnp.clip(jnp.real(jnp.diagonal(rho.reshape(dim, dim))), 0.0, 1.0)

    def _directional(f, theta, phis, jac, gammas):
        jac = jnp.asarray(jac, dtype=jnp.float64)
        return jax.vmap(lambda v: jax.jvp(lambda x: f(theta, x, gammas), (phis,), (v,))[1], in_axes=1)(jac)

    def qfim(theta, phis, jac, gammas=None):
        phis = jnp.asarray(phis, dtype=jnp.float64)
        return _qfim(density_matrix(theta, phis, gammas), _directional(density_matrix, theta, phis, jac, gammas))

    def cfim(theta, phis, jac, gammas=None):
        phis = jnp.asarray(phis, dtype=jnp.float64)
        return _cfim(probs(theta, phis, gammas), _directional(probs, theta, phis, jac, gammas))

    return NetworkJax(jax.jit(statevector), jax.jit(density_matrix), jax.jit(probs), jax.jit(qfim), jax.jit(cfim))


def to_qiskit_network(circuit: NetworkCircuit, *, measure: bool = True, phis=None):
    """The network circuit as a qiskit ``QuantumCircuit``: ``theta[i]`` and one ``phi_c`` per z channel.

    Nodes that sense only z get ``RZ(sum of their phi_c)`` on each qubit, with
    ``Parameter("phi_c")``. Nodes with x or y channels get the exact single-qubit
    unitary ``exp(-i sum_c phi_c sigma_c / 2)`` as a ``UnitaryGate``, which needs
    numeric ``phis`` (qiskit's ``PauliEvolutionGate`` takes no parameterized
    coefficients). Noise (links, dephasing, common mode) is not in the circuit:
    the simulator applies it, a device adds its own.

    Args:
      circuit: the network circuit.
      measure: append ``measure_all``.
      phis: channel phases (C,) in rad, required when a node senses x or y.

    Returns:
      The circuit (little-endian: qubit 0 is the rightmost bit).

    Raises:
      ValueError: a node senses x or y and ``phis`` is None.
    """
    from qiskit import QuantumCircuit
    from qiskit.circuit import Parameter, ParameterVector
    from scipy.linalg import expm

    from qlearn_sense.protocol._qiskit import _append

    theta = ParameterVector("theta", circuit.n_params)
    params = [Parameter(f"phi_{c}") for c in range(len(circuit.channels))]
    qc = QuantumCircuit(circuit.n_qubits, name=circuit.name)
    for g in circuit.prep:
        _append(qc, g, theta)
    for q, node in enumerate(circuit.node_of_qubit):
        chans = [(c, a) for c, (nd, a) in enumerate(circuit.channels) if nd == node]
        if chans and all(a == "z" for _, a in chans):
            qc.rz(sum(params[c] for c, _ in chans), q)
        elif chans:
            if phis is None:
                raise ValueError(f"node {node} senses {[a for _, a in chans]}: pass numeric phis for its encoding")
            qc.unitary(expm(-0.5j * sum(float(phis[c]) * _PAULI[a] for c, a in chans)), [q], label="encode")
    for g in circuit.measure:
        _append(qc, g, theta)
    if measure:
        qc.measure_all()
    return qc


def bind_network(qc, theta, phis) -> object:
    """Bind ``theta`` (P,) and channel phases ``phis`` (C,) rad into a circuit from :func:`to_qiskit_network`.

    Args:
      qc: a circuit from :func:`to_qiskit_network` (parameters ``theta[i]`` and ``phi_c``).
      theta: circuit parameters, shape (P,), rad.
      phis: channel phases, shape (C,), rad.

    Returns:
      The circuit with every parameter bound (no free parameters left).

    Raises:
      IndexError: ``theta`` or ``phis`` is shorter than the circuit's parameters need.
    """
    values = {}
    for p in qc.parameters:
        if p.name.startswith("phi_"):
            values[p] = float(phis[int(p.name[4:])])
        else:
            values[p] = float(theta[p.index])
    return qc.assign_parameters(values)


def without_channels(circuit: NetworkCircuit) -> NetworkCircuit:
    """The circuit without the channels a device cannot insert: what hardware runs, as a likelihood model.

    Link damping and depolarizing, local dephasing (``eta``) and common-mode
    noise are simulated channels, not gates: on a device (``aer:<fake>``,
    ``ibm-local:<fake>``, ``ibm:<device>``) the circuit of
    :func:`to_qiskit_network` runs without them and the device's own noise
    applies instead. This is the model whose likelihood matches that
    circuit when the device's noise is negligible (gates and encoding
    unchanged; ``eta = 1``, no links, no common mode).

    Args:
      circuit: the network circuit.

    Returns:
      A :class:`NetworkCircuit` with the same gates and channels, named ``<name>_bare``.
    """
    from dataclasses import replace

    n = circuit.n_qubits
    return replace(circuit, eta=(1.0,) * n, link_gamma=(0.0,) * n, link_p=(0.0,) * n, common_cov_rad2=(),
                   travelling=(False,) * n, name=f"{circuit.name}_bare")


def device_network_circuit(circuit: NetworkCircuit, theta, phis):
    """The bound, measured qiskit circuit a device runs for a network circuit (no noise channels inserted).

    Args:
      circuit: the network circuit.
      theta: its parameters, shape (P,), rad.
      phis: channel phases, shape (C,), rad (the true ones: the device plays the signal).

    Returns:
      A ``QuantumCircuit`` with no free parameters, measured into ``meas``
      (little-endian: qubit 0 is the rightmost bit), named after the circuit.
    """
    phis = np.asarray(phis, dtype=float)
    return bind_network(to_qiskit_network(circuit, measure=True, phis=phis), np.asarray(theta, dtype=float), phis)
