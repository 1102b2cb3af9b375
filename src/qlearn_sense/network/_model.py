"""The network model: nodes with qubit registers, transduction links, sources, noise, strategy circuits.

Phase convention: a node j with gyromagnetic ratio gamma_j (Hz/T) and
interrogation time t_j (s) picks up ``phi = 2 pi gamma_j t_j B`` rad per qubit
for the field component B (T) along each axis it senses (``rad_per_T``), with
generator ``sum_{q in j} sigma_axis / 2``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from qlearn_sense.network._sim import MAX_NETWORK_QUBITS, NetworkCircuit
from qlearn_sense.network._sources import Source, lead_field
from qlearn_sense.protocol import Gate

STRATEGIES = ("classical", "local", "distributed")
Strategy = Literal["classical", "local", "distributed"]
NODE_KINDS = ("register", "ensemble", "nv_ensemble")
"""``register``: a qubit register in the strategy circuits. ``ensemble`` (collective spins) and
``nv_ensemble``: sensing-only nodes that add their local Fisher information (see :mod:`._nodes`)."""


@dataclass(frozen=True)
class Node:
    """One sensor node.

    A ``register`` node holds ``n_qubits`` qubits of the strategy circuits. An
    ``ensemble`` or ``nv_ensemble`` node is sensing-only: it has no qubits in the
    circuits, shares no entanglement through links, and contributes its per-shot
    Fisher information ``phase_fisher`` (rad^-2) of its one channel phase to
    every strategy (see :func:`qlearn_sense.network.ensemble_phase_fisher`,
    :func:`qlearn_sense.network.nv_ensemble_phase_fisher`).

    Attributes:
      name: label.
      position_m: position, shape (3,), m.
      n_qubits: qubits of its register, >= 1 (0 for sensing-only nodes).
      rad_per_T: phase per tesla, rad/T, > 0: per qubit (``2 pi gamma t``) for a
        register, per spin (``Delta m_s 2 pi gamma t`` for an NV ensemble) otherwise.
      eta: local dephasing factor per qubit during one interrogation, (0, 1].
      axes: field components it senses (``x``, ``y``, ``z``), one phase channel each
        (exactly one for sensing-only nodes).
      kind: ``register``, ``ensemble`` or ``nv_ensemble``.
      phase_fisher: per-shot Fisher information of the node phase, rad^-2 (sensing-only nodes).
      n_spins: spins of a sensing-only node (recorded for results).
    """

    name: str
    position_m: tuple[float, float, float]
    n_qubits: int
    rad_per_T: float
    eta: float = 1.0
    axes: tuple[str, ...] = ("z",)
    kind: str = "register"
    phase_fisher: float = 0.0
    n_spins: float = 0.0

    @property
    def is_register(self) -> bool:
        """True for a qubit register (a node of the strategy circuits)."""
        return self.kind == "register"


@dataclass(frozen=True)
class Link:
    """A transduction link between nodes ``a`` and ``b`` (indices).

    Attributes:
      a, b: node indices.
      efficiency: transduction efficiency T in (0, 1]; a travelling qubit
        suffers amplitude damping with probability 1 - T.
      depolarizing_p: depolarizing probability p after the damping, [0, 1].
    """

    a: int
    b: int
    efficiency: float
    depolarizing_p: float = 0.0


@dataclass(frozen=True)
class Network:
    """M nodes, the links between them, the sources and the common-mode field noise.

    Attributes:
      nodes: the nodes.
      links: the links.
      sources: the k estimated source parameters.
      common_std_T: standard deviation of the common-mode field per node, T (along z).
      common_correlation: correlation of the common-mode field between any two nodes.
      hub: index of the node that prepares distributed entangled states.

    Common-mode noise acts on the register nodes (inside the circuits); the
    sensing-only nodes' information is taken without it (their own dephasing only).

    Raises:
      ValueError: no nodes, no register node, a register node with no qubits, a
        sensing-only node with qubits, not exactly one axis or a non-positive
        ``phase_fisher``, an unknown node kind, more than 8 qubits, a link to an
        unknown node or with efficiency outside (0, 1], a correlation that makes
        the covariance not positive semidefinite, a hub that is not a register.
    """

    nodes: tuple[Node, ...]
    links: tuple[Link, ...] = ()
    sources: tuple[Source, ...] = ()
    common_std_T: float = 0.0
    common_correlation: float = 0.0
    hub: int = 0

    def __post_init__(self) -> None:
        if not self.nodes:
            raise ValueError("network.nodes is empty; give at least one node")
        for i, nd in enumerate(self.nodes):
            if nd.kind not in NODE_KINDS:
                raise ValueError(f"network.nodes[{i}].kind = {nd.kind!r}; accepted: {', '.join(NODE_KINDS)}")
            if nd.is_register and nd.n_qubits < 1:
                raise ValueError(f"network.nodes[{i}].qubits = {nd.n_qubits}; accepted: >= 1")
            if not nd.is_register:
                if nd.n_qubits != 0:
                    raise ValueError(f"network.nodes[{i}].qubits = {nd.n_qubits}; a {nd.kind} node has none (0)")
                if len(nd.axes) != 1:
                    raise ValueError(f"network.nodes[{i}].axes = {nd.axes}; a {nd.kind} node senses one axis")
                if not nd.phase_fisher > 0:
                    raise ValueError(f"network.nodes[{i}].phase_fisher = {nd.phase_fisher}; accepted: > 0 rad^-2")
        if not any(nd.is_register for nd in self.nodes):
            raise ValueError("network.nodes: no register node; the strategies need at least one qubit register")
        if self.n_qubits > MAX_NETWORK_QUBITS:
            raise ValueError(f"network has {self.n_qubits} qubits; accepted: at most {MAX_NETWORK_QUBITS}")
        m = len(self.nodes)
        for i, ln in enumerate(self.links):
            if not (0 <= ln.a < m and 0 <= ln.b < m):
                raise ValueError(f"network.links[{i}] joins nodes ({ln.a}, {ln.b}); the network has 0..{m - 1}")
            if not 0 < ln.efficiency <= 1:
                raise ValueError(f"network.links[{i}].efficiency = {ln.efficiency}; accepted: 0 < T <= 1")
            if not 0 <= ln.depolarizing_p <= 1:
                raise ValueError(f"network.links[{i}].depolarizing_p = {ln.depolarizing_p}; accepted: [0, 1]")
        if self.common_std_T < 0:
            raise ValueError(f"common_mode.std_T = {self.common_std_T}; accepted: >= 0 T")
        if not -1 <= self.common_correlation <= 1:
            raise ValueError(f"common_mode.correlation = {self.common_correlation}; accepted: -1 <= correlation <= 1")
        if np.linalg.eigvalsh(self.common_cov_T2()).min() < -1e-12 * max(self.common_std_T**2, 1e-300):
            raise ValueError(f"common_mode.correlation = {self.common_correlation} is not a valid correlation "
                             f"for {m} nodes (covariance not positive semidefinite)")
        if not 0 <= self.hub < m or not self.nodes[self.hub].is_register:
            raise ValueError(f"network.hub = {self.hub}; accepted: a register node in 0..{m - 1}")

    @property
    def n_qubits(self) -> int:
        """Total qubits."""
        return sum(nd.n_qubits for nd in self.nodes if nd.is_register)

    @property
    def channels(self) -> tuple[tuple[int, str], ...]:
        """(node index, axis) of every sensed field component."""
        return tuple((j, a) for j, nd in enumerate(self.nodes) for a in nd.axes)

    @property
    def register_channels(self) -> np.ndarray:
        """Mask of the channels sensed by register nodes (those in the circuits), shape (C,), bool."""
        return np.array([self.nodes[j].is_register for j, _ in self.channels], dtype=bool)

    def circuit_phases(self, theta: np.ndarray | None = None) -> np.ndarray:
        """Phases of the register channels only, shape (C_reg,), rad: what the circuits encode."""
        return self.phases(theta)[self.register_channels]

    def local_fisher(self) -> np.ndarray:
        """Fisher matrix of the sources from the sensing-only nodes, ``sum_j J_j^T F_j J_j``, (k, k), 1/unit^2.

        Zero when every node is a register. Per shot of the network (each node
        runs one shot of its own protocol per network shot).
        """
        jac = self.jacobian()
        f = np.array([0.0 if self.nodes[j].is_register else self.nodes[j].phase_fisher for j, _ in self.channels])
        return jac.T @ (f[:, None] * jac)

    def lead_field(self) -> np.ndarray:
        """Lead field L, shape (C, k), T per unit source amplitude (see :func:`lead_field`)."""
        return lead_field(self.sources, np.array([nd.position_m for nd in self.nodes]), self.channels)

    def jacobian(self) -> np.ndarray:
        """Channel phases per unit source amplitude, ``diag(rad_per_T) L``, shape (C, k), rad per unit."""
        kappa = np.array([self.nodes[j].rad_per_T for j, _ in self.channels])
        return kappa[:, None] * self.lead_field()

    @property
    def theta_true(self) -> np.ndarray:
        """True source amplitudes, shape (k,)."""
        return np.array([s.value for s in self.sources], dtype=float)

    def phases(self, theta: np.ndarray | None = None) -> np.ndarray:
        """Channel phases ``J theta``, shape (C,), rad (``theta_true`` by default)."""
        return self.jacobian() @ (self.theta_true if theta is None else np.asarray(theta, dtype=float))

    def common_cov_T2(self) -> np.ndarray:
        """Common-mode field covariance across nodes, shape (M, M), T^2."""
        m = len(self.nodes)
        corr = np.full((m, m), self.common_correlation) + (1 - self.common_correlation) * np.eye(m)
        return self.common_std_T**2 * corr

    def common_cov_rad2(self) -> np.ndarray:
        """Common-mode phase covariance on the node generators, shape (M, M), rad^2."""
        k = np.array([nd.rad_per_T for nd in self.nodes])
        return k[:, None] * self.common_cov_T2() * k[None, :]

    def link_between(self, i: int, j: int) -> Link | None:
        """The first link joining nodes i and j (either direction), or None."""
        for ln in self.links:
            if {ln.a, ln.b} == {i, j}:
                return ln
        return None

    def with_efficiency(self, efficiency: float) -> "Network":
        """The same network with every link's efficiency set to ``efficiency``."""
        return replace(self, links=tuple(replace(ln, efficiency=float(efficiency)) for ln in self.links))

    def with_correlation(self, correlation: float) -> "Network":
        """The same network with the common-mode correlation set to ``correlation``.

        Raises:
          ValueError: correlation outside [-1, 1] or not positive semidefinite for M nodes.
        """
        return replace(self, common_correlation=float(correlation))

    def circuit(self, strategy: Strategy, layers: int = 2) -> NetworkCircuit:
        """The variational circuit of a strategy on this network.

        * ``classical``: every qubit prepared and measured alone (RY, RZ then RZ, RY):
          independent nodes with unentangled qubits, no link used.
        * ``local``: ``layers`` of (RY, RZ on every qubit, CNOT chain inside each
          node), a last RY, RZ layer; entanglement stays inside nodes.
        * ``distributed``: the same with the CNOT chain across all qubits, prepared
          at the hub; every qubit of another node travels through the hub's link to
          that node (amplitude damping 1 - T, then depolarizing p).
        Measurements are local (RZ, RY on each qubit) in all three. Only register
        nodes have qubits; the circuit's channels are the register channels
        (encode :meth:`circuit_phases`); sensing-only nodes need no link.

        Raises:
          ValueError: unknown strategy, layers < 0, or (distributed) a node with no
            link to the hub.
        """
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy = {strategy!r}; accepted: {', '.join(STRATEGIES)}")
        if layers < 0:
            raise ValueError(f"layers = {layers}; accepted: >= 0")
        node_of = tuple(j for j, nd in enumerate(self.nodes) if nd.is_register for _ in range(nd.n_qubits))
        n = len(node_of)
        gates: list[Gate] = []
        counter = [0]

        def rot(names):
            for q in range(n):
                for name in names:
                    gates.append(Gate(name, (q,), counter[0]))
                    counter[0] += 1

        if strategy == "classical":
            rot(("ry", "rz"))
        else:
            for _ in range(layers):
                rot(("ry", "rz"))
                for q in range(n - 1):
                    if strategy == "distributed" or node_of[q] == node_of[q + 1]:
                        gates.append(Gate("cnot", (q, q + 1)))
            rot(("ry", "rz"))
        prep, n_prep = tuple(gates), counter[0]
        gates = []
        rot(("rz", "ry"))
        gamma, p, travel = [0.0] * n, [0.0] * n, [False] * n
        if strategy == "distributed":
            for q, j in enumerate(node_of):
                if j == self.hub:
                    continue
                ln = self.link_between(self.hub, j)
                if ln is None:
                    raise ValueError(f"network.links: no link between hub {self.nodes[self.hub].name!r} and node "
                                     f"{self.nodes[j].name!r}; the distributed strategy needs one")
                gamma[q], p[q], travel[q] = 1.0 - ln.efficiency, ln.depolarizing_p, True
        top = max(node_of) + 1  # the circuit's nodes are 0..top-1 (sensing-only ones carry no charge)
        cov = self.common_cov_rad2()[:top, :top] if self.common_std_T > 0 else None
        chans = tuple(c for c, reg in zip(self.channels, self.register_channels) if reg)
        return NetworkCircuit(
            n_qubits=n, node_of_qubit=node_of, channels=chans, prep=prep, measure=tuple(gates),
            n_params=counter[0], n_prep_params=n_prep, eta=tuple(float(self.nodes[j].eta) for j in node_of),
            link_gamma=tuple(gamma), link_p=tuple(p),
            common_cov_rad2=() if cov is None else tuple(tuple(float(x) for x in row) for row in cov),
            name=f"network_{strategy}", travelling=tuple(travel) if any(travel) else ())


def rad_per_T(gyromagnetic_ratio_Hz_per_T: float, interrogation_time_s: float) -> float:
    """Phase per tesla per qubit, ``2 pi gamma t``, rad/T."""
    return 2 * math.pi * gyromagnetic_ratio_Hz_per_T * interrogation_time_s

