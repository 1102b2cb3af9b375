"""The ``network:`` config section: nodes, transduction links, sources, estimand, strategies.

Positions in m, fields in T, dipole moments in A m^2 (magnetic) or A m
(current). Errors name the field path (``network.links[0].nodes`` ...).
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from qlearn_sense.config._models import SensorConfig

MAX_NETWORK_QUBITS = 8
Vec3 = tuple[float, float, float]
Axis = Literal["x", "y", "z"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


MAX_ENSEMBLE_SPINS = 1000


class NodeConfig(_Model):
    """One sensor node at ``position_m`` (m).

    ``kind``:

    * ``register`` (default): ``qubits`` qubits in the strategy circuits.
    * ``ensemble``: a collective ensemble of ``n_spins`` (1..1000) spins; its best
      local state (coherent, GHZ or one-axis twisted, under the node's dephasing)
      gives the node's Fisher information (:func:`qlearn_sense.network.ensemble_phase_fisher`).
    * ``nv_ensemble``: an NV ensemble of ``n_spins`` spins read out optically with
      ``a0``/``a1`` photons per spin per shot (readout noise factor sigma_R) and
      ``delta_ms`` (1 or 2) (:func:`qlearn_sense.network.nv_ensemble_phase_fisher`).

    Ensemble nodes sense their field locally: they have no qubits in the circuits
    and share no entanglement through links; they sense exactly one axis.
    ``sensor`` defaults to the experiment's top-level ``sensor`` section (gamma,
    interrogation time, T2* or eta); ``axes`` are the field components sensed.
    """

    name: Annotated[str, Field(min_length=1, max_length=40)]
    position_m: Vec3
    qubits: Annotated[int, Field(ge=1, le=MAX_NETWORK_QUBITS)] | None = None
    kind: Literal["register", "ensemble", "nv_ensemble"] = "register"
    sensor: SensorConfig | None = None
    axes: Annotated[list[Axis], Field(min_length=1, max_length=3)] = ["z"]
    n_spins: Annotated[float, Field(ge=1, le=1e20)] | None = None
    """Spins of an ensemble node (``ensemble``: an integer 1..1000; ``nv_ensemble``: >= 1)."""
    a0: Annotated[float, Field(gt=0)] | None = None
    """Mean detected photons per spin per shot from m_s = 0 (``nv_ensemble``)."""
    a1: Annotated[float, Field(ge=0)] | None = None
    """The same from m_s = +-1, < a0 (``nv_ensemble``)."""
    delta_ms: Literal[1, 2] = 1
    """1: single-quantum, 2: double-quantum NV phase (``nv_ensemble``)."""

    def check(self, where: str) -> None:
        """Kind-dependent checks; errors name ``<where>.<field>``.

        Raises:
          ValueError: a register without qubits, an ensemble with qubits, without
            n_spins, with n_spins not an integer in 1..1000 (``ensemble``), without
            a0/a1 or with a0 <= a1 (``nv_ensemble``), or sensing more than one axis.
        """
        if len(set(self.axes)) != len(self.axes):
            raise ValueError(f"{where}.axes = {self.axes} repeats an axis")
        if self.kind == "register":
            if self.qubits is None:
                raise ValueError(f"{where}.qubits is required for kind 'register' (1..{MAX_NETWORK_QUBITS})")
            for f in ("n_spins", "a0", "a1"):
                if getattr(self, f) is not None:
                    raise ValueError(f"{where}.{f} applies to ensemble nodes only; this node is a register")
            return
        if self.qubits is not None:
            raise ValueError(f"{where}.qubits = {self.qubits}: a {self.kind} node has no qubits in the circuits "
                             "(it senses locally and shares no entanglement); give n_spins instead")
        if len(self.axes) != 1:
            raise ValueError(f"{where}.axes = {self.axes}; a {self.kind} node senses exactly one axis")
        if self.n_spins is None:
            raise ValueError(f"{where}.n_spins is required for kind {self.kind!r}")
        if self.kind == "ensemble":
            if self.n_spins != int(self.n_spins) or not 1 <= self.n_spins <= MAX_ENSEMBLE_SPINS:
                raise ValueError(f"{where}.n_spins = {self.n_spins:g}; accepted for kind 'ensemble': an integer in "
                                 f"1..{MAX_ENSEMBLE_SPINS} (the exact collective engine's range)")
            for f in ("a0", "a1"):
                if getattr(self, f) is not None:
                    raise ValueError(f"{where}.{f} applies to kind 'nv_ensemble' only")
        else:
            if self.a0 is None or self.a1 is None:
                raise ValueError(f"{where}.a0 and {where}.a1 (photons per spin per shot) are required for kind "
                                 "'nv_ensemble'")
            if self.a0 <= self.a1:
                raise ValueError(f"{where}.a0 = {self.a0} must exceed {where}.a1 = {self.a1} (m_s = 0 is the "
                                 "bright state); accepted: a0 > a1 >= 0")

    @property
    def n_qubits(self) -> int:
        """Qubits in the circuits (0 for ensemble nodes)."""
        return self.qubits or 0


class LinkConfig(_Model):
    """A transduction link between two named nodes (amplitude damping 1 - T, then depolarizing p)."""

    nodes: tuple[str, str]
    efficiency: Annotated[float, Field(gt=0, le=1)]
    depolarizing_p: Annotated[float, Field(ge=0, le=1)] = 0.0


class NodeFieldSource(_Model):
    """The field at one node along one axis, T (identity lead field)."""

    kind: Literal["node_field"]
    name: str
    node: str
    axis: Axis = "z"
    value_T: Annotated[float, Field(ge=-1, le=1)]


class MagneticDipoleSource(_Model):
    """A magnetic point dipole (magnetic label) of moment ``moment_Am2`` along ``direction``."""

    kind: Literal["magnetic_dipole"]
    name: str
    position_m: Vec3
    direction: Vec3 = (0.0, 0.0, 1.0)
    moment_Am2: float


class CurrentDipoleSource(_Model):
    """A current dipole (neural/cardiac source) of ``moment_Am`` inside a conducting sphere (Sarvas 1987)."""

    kind: Literal["current_dipole"]
    name: str
    position_m: Vec3
    direction: Vec3
    moment_Am: float
    sphere_center_m: Vec3 = (0.0, 0.0, 0.0)


SourceConfig = Annotated[Union[NodeFieldSource, MagneticDipoleSource, CurrentDipoleSource],
                         Field(discriminator="kind")]


class EstimandConfig(_Model):
    """Exactly one of: ``weights`` (q = w . theta), ``named`` (average | sum | gradient = theta_0 - theta_1),
    or ``weight_matrix`` (minimize tr(W Cov), W symmetric positive definite); ``unit`` labels q."""

    weights: list[float] | None = None
    named: Literal["average", "sum", "gradient"] | None = None
    weight_matrix: list[list[float]] | None = None
    unit: Annotated[str, Field(max_length=20)] | None = None
    """Unit of q for labels (default: the sources' unit when they share one)."""

    @model_validator(mode="after")
    def _one(self) -> "EstimandConfig":
        given = [n for n in ("weights", "named", "weight_matrix") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError(f"network.estimand: give exactly one of weights, named, weight_matrix (got {given})")
        if self.weights is not None and not any(self.weights):
            raise ValueError(f"network.estimand.weights = {self.weights}; accepted: a nonzero vector")
        if self.weight_matrix is not None:
            w = np.asarray(self.weight_matrix, dtype=float)
            if w.ndim != 2 or w.shape[0] != w.shape[1] or not np.allclose(w, w.T):
                raise ValueError(f"network.estimand.weight_matrix = {self.weight_matrix}; accepted: a symmetric "
                                 "square matrix")
            ev = np.linalg.eigvalsh(w)
            if ev[0] <= 1e-12 * max(abs(ev[-1]), 1e-300):
                raise ValueError(f"network.estimand.weight_matrix = {self.weight_matrix} is singular or not positive "
                                 f"definite (eigenvalues {ev.tolist()}); accepted: positive definite")
        return self


class CommonModeConfig(_Model):
    """Common-mode field noise along z: ``std_T`` per node, ``correlation`` between any two nodes."""

    std_T: Annotated[float, Field(ge=0, le=1e-3)] = 0.0
    correlation: Annotated[float, Field(ge=-1, le=1)] = 1.0


class NetworkOptimizerConfig(_Model):
    """The variational optimization of every strategy (Adam, staged QFIM then CFIM)."""

    layers: Annotated[int, Field(ge=0, le=6)] = 2
    steps: Annotated[int, Field(ge=0, le=100_000)] = 200
    restarts: Annotated[int, Field(ge=1, le=50)] = 2
    learning_rate: Annotated[float, Field(gt=0, le=10)] = 0.05


class NetworkConfig(_Model):
    """A sensor network: nodes, links, sources, estimand, noise, strategies to compare."""

    nodes: Annotated[list[NodeConfig], Field(min_length=1, max_length=8)]
    links: list[LinkConfig] = []
    hub: str | None = None
    sources: Annotated[list[SourceConfig], Field(min_length=1, max_length=8)]
    estimand: EstimandConfig
    common_mode: CommonModeConfig = CommonModeConfig()
    strategies: Annotated[list[Literal["classical", "local", "distributed"]], Field(min_length=1)] = [
        "classical", "local", "distributed"]
    efficiency_sweep: list[Annotated[float, Field(gt=0, le=1)]] | None = None
    optimizer: NetworkOptimizerConfig = NetworkOptimizerConfig()
    shots: Annotated[int, Field(ge=1, le=10**12)] = 100_000

    @model_validator(mode="after")
    def _consistent(self) -> "NetworkConfig":
        names = [n.name for n in self.nodes]
        if len(set(names)) != len(names):
            raise ValueError(f"network.nodes: names {names} repeat a name")
        for i, n in enumerate(self.nodes):
            n.check(f"network.nodes[{i}]")
        registers = [n.name for n in self.nodes if n.kind == "register"]
        if not registers:
            raise ValueError("network.nodes: no node of kind 'register'; the strategies need at least one register")
        total = sum(n.n_qubits for n in self.nodes)
        if total > MAX_NETWORK_QUBITS:
            raise ValueError(f"network.nodes: {total} qubits in all; accepted: at most {MAX_NETWORK_QUBITS}")
        for i, ln in enumerate(self.links):
            for nm in ln.nodes:
                if nm not in names:
                    raise ValueError(f"network.links[{i}].nodes: {nm!r} is not a node; nodes: {', '.join(names)}")
            if ln.nodes[0] == ln.nodes[1]:
                raise ValueError(f"network.links[{i}].nodes joins {ln.nodes[0]!r} to itself")
        if self.hub is not None and self.hub not in registers:
            raise ValueError(f"network.hub = {self.hub!r} is not a register node; registers: {', '.join(registers)}")
        for i, s in enumerate(self.sources):
            if s.kind == "node_field":
                if s.node not in names:
                    raise ValueError(f"network.sources[{i}].node = {s.node!r} is not a node; nodes: {', '.join(names)}")
                node = self.nodes[names.index(s.node)]
                if s.axis not in node.axes:
                    raise ValueError(f"network.sources[{i}].axis = {s.axis!r}; node {s.node!r} senses {node.axes}")
        k = len(self.sources)
        e = self.estimand
        if e.weights is not None and len(e.weights) != k:
            raise ValueError(f"network.estimand.weights has {len(e.weights)} entries; there are {k} sources")
        if e.weight_matrix is not None and len(e.weight_matrix) != k:
            raise ValueError(f"network.estimand.weight_matrix is {len(e.weight_matrix)}x{len(e.weight_matrix)}; "
                             f"there are {k} sources")
        if e.named == "gradient" and k < 2:
            raise ValueError("network.estimand.named = 'gradient' needs at least two sources")
        m = len(self.nodes)
        if m > 1 and self.common_mode.correlation < -1 / (m - 1):
            raise ValueError(f"network.common_mode.correlation = {self.common_mode.correlation}; with {m} nodes "
                             f"accepted: >= {-1 / (m - 1):.4g} (positive semidefinite covariance)")
        if "distributed" in self.strategies:
            hub = self.hub or registers[0]
            for nm in registers:
                if nm != hub and not any(set(ln.nodes) == {hub, nm} for ln in self.links):
                    raise ValueError(f"network.links: no link between hub {hub!r} and node {nm!r}; the "
                                     "'distributed' strategy sends qubits from the hub through one")
        if self.efficiency_sweep is not None and list(self.efficiency_sweep) != sorted(set(self.efficiency_sweep)):
            raise ValueError(f"network.efficiency_sweep = {self.efficiency_sweep}; accepted: strictly increasing")
        return self

    def weights(self) -> list[float] | None:
        """The linear estimand's weights (named ones resolved), or None for a weight matrix."""
        k = len(self.sources)
        if self.estimand.weights is not None:
            return list(self.estimand.weights)
        if self.estimand.named == "average":
            return [1.0 / k] * k
        if self.estimand.named == "sum":
            return [1.0] * k
        if self.estimand.named == "gradient":
            return [1.0, -1.0] + [0.0] * (k - 2)
        return None
