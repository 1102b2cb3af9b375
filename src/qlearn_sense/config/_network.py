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


class NodeConfig(_Model):
    """One sensor node: a register of ``qubits`` qubits at ``position_m``.

    ``sensor`` defaults to the experiment's top-level ``sensor`` section;
    ``axes`` are the field components it senses (one phase each).
    ``kind`` ``ensemble``/``nv_ensemble`` (collective spins) is accepted by the
    schema but not yet simulated (NotImplementedError when the network is built).
    """

    name: Annotated[str, Field(min_length=1, max_length=40)]
    position_m: Vec3
    qubits: Annotated[int, Field(ge=1, le=MAX_NETWORK_QUBITS)]
    kind: Literal["register", "ensemble", "nv_ensemble"] = "register"
    sensor: SensorConfig | None = None
    axes: Annotated[list[Axis], Field(min_length=1, max_length=3)] = ["z"]

    @model_validator(mode="after")
    def _axes(self) -> "NodeConfig":
        if len(set(self.axes)) != len(self.axes):
            raise ValueError(f"axes = {self.axes} repeats an axis")
        return self


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
        total = sum(n.qubits for n in self.nodes)
        if total > MAX_NETWORK_QUBITS:
            raise ValueError(f"network.nodes: {total} qubits in all; accepted: at most {MAX_NETWORK_QUBITS}")
        for i, ln in enumerate(self.links):
            for nm in ln.nodes:
                if nm not in names:
                    raise ValueError(f"network.links[{i}].nodes: {nm!r} is not a node; nodes: {', '.join(names)}")
            if ln.nodes[0] == ln.nodes[1]:
                raise ValueError(f"network.links[{i}].nodes joins {ln.nodes[0]!r} to itself")
        if self.hub is not None and self.hub not in names:
            raise ValueError(f"network.hub = {self.hub!r} is not a node; nodes: {', '.join(names)}")
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
            hub = self.hub or names[0]
            for nm in names:
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
