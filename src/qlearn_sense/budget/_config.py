"""Budget sweep configs: a base experiment plus a grid, validated once; the grid expanded to points.

A point is one (task, protocol, n, noise level, backend, shots, seed) combination.
Its random seed is derived from the sweep seed and the point's key alone
(numpy ``SeedSequence``), so a resumed sweep draws exactly what an
uninterrupted one would.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from qlearn_sense.backends import available_backends
from qlearn_sense.config import (
    ConfigError,
    DetectionConfig,
    ExperimentConfig,
    OptimizerConfig,
    load_config,
    load_yaml,
    validation_errors,
)
from qlearn_sense.protocol import MAX_QUBITS

STATE_PROTOCOLS: dict[str, tuple[str | None, str | None, str]] = {
    "ramsey": ("ramsey", "local", "cfi"),
    "product": ("product", "local", "cfi"),
    "ghz": ("ghz", "ghz_parity", "cfi"),
    "optimized_qfi": (None, None, "qfi"),
    "optimized_cfi": (None, None, "cfi"),
}
"""State protocols (estimation and detection tasks): name -> (preparation, measurement, objective).

``None`` takes the base config's ansatz. ``optimized_qfi`` maximizes the QFI over
all parameters, then the CFI over the measurement parameters alone (state kept
QFI-optimal); the others maximize the CFI (staged, see
:func:`qlearn_sense.optimize.optimize_protocol`)."""

OBSERVABLE_METHODS = ("shadows", "direct")
"""Measurement strategies of the observables task: random-Pauli classical shadows,
or direct measurement of qubit-wise commuting groups with the shots split evenly."""

NETWORK_STRATEGIES = ("classical", "local", "distributed")
"""Protocols of the network task: the strategies of :mod:`qlearn_sense.network` (classical fusion,
entanglement inside nodes, entanglement shared through the transduction links)."""

TASKS = ("estimation", "detection", "observables", "network")
OBSERVABLE_SETS = ("biomarker", "pauli_weight2")


def _as_int(value: Any) -> Any:
    """Accept ``1e6`` / ``"1e6"`` / ``1000000.0`` for counts when the value is integral."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return value
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return int(value)
    return value


Count = Annotated[int, BeforeValidator(_as_int), Field(ge=1, le=10**12)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ShotsRange(_Model):
    """Log-spaced shot budgets from ``min`` to ``max`` inclusive, ``num`` values, rounded to integers."""

    min: Count
    max: Count
    num: Annotated[int, Field(ge=1, le=1000)]

    @model_validator(mode="after")
    def _check(self) -> "ShotsRange":
        if self.max < self.min:
            raise ValueError(f"max = {self.max} is below min = {self.min}")
        if len(set(self.values())) != self.num:
            raise ValueError(f"{self.num} log-spaced values between {self.min} and {self.max} round to "
                             "duplicate integers; lower num or widen the range")
        return self

    def values(self) -> list[int]:
        """The budgets, ascending."""
        if self.num == 1:
            return [self.min]
        return [int(round(x)) for x in np.logspace(math.log10(self.min), math.log10(self.max), self.num)]


class NoiseGrid(_Model):
    """Noise levels: coherence factors ``eta`` or dephasing times ``t2_star_s`` (exactly one list)."""

    eta: list[Annotated[float, Field(gt=0, le=1)]] | None = None
    t2_star_s: list[Annotated[float, Field(gt=0)]] | None = None

    @model_validator(mode="after")
    def _one(self) -> "NoiseGrid":
        given = [k for k in ("eta", "t2_star_s") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of eta or t2_star_s")
        values = getattr(self, given[0])
        if not values or len(set(values)) != len(values):
            raise ValueError(f"{given[0]} = {values}: give distinct values")
        return self

    @property
    def kind(self) -> str:
        """``"eta"`` or ``"t2_star_s"``."""
        return "eta" if self.eta is not None else "t2_star_s"

    @property
    def values(self) -> list[float]:
        """The levels in config order."""
        return list(self.eta if self.eta is not None else self.t2_star_s)


class GridConfig(_Model):
    """The sweep axes. Omitted ``n_qubits``/``noise`` take the base config's single value.

    The ``network`` task sweeps ``efficiency`` (transduction efficiency T of every
    link, in (0, 1]) and ``correlation`` (common-mode noise correlation between
    nodes, in [-1, 1]) of the base config's ``network`` section, for the network
    strategies among ``protocols`` (classical, local, distributed); omitted, each
    takes the base network's value. ``shots`` is required by the other tasks only.
    """

    shots: list[Count] | ShotsRange | None = None
    protocols: list[str]
    n_qubits: list[Annotated[int, Field(ge=1, le=MAX_QUBITS)]] | None = None
    noise: NoiseGrid | None = None
    seeds: list[Annotated[int, Field(ge=0)]] = [0]
    backends: list[str] = ["local"]
    efficiency: list[Annotated[float, Field(gt=0, le=1)]] | None = None
    """Transduction efficiencies T of every link (network task), each in (0, 1]."""
    correlation: list[Annotated[float, Field(ge=-1, le=1)]] | None = None
    """Common-mode noise correlations between any two nodes (network task), each in [-1, 1]."""

    @model_validator(mode="after")
    def _check(self) -> "GridConfig":
        for name in ("protocols", "n_qubits", "seeds", "backends", "efficiency", "correlation"):
            values = getattr(self, name)
            if values is not None and (not values or len(set(values)) != len(values)):
                raise ValueError(f"{name} = {values}: give a non-empty list of distinct values")
        if isinstance(self.shots, list) and (not self.shots or len(set(self.shots)) != len(self.shots)):
            raise ValueError(f"shots = {self.shots}: give a non-empty list of distinct values")
        known = tuple(STATE_PROTOCOLS) + OBSERVABLE_METHODS + NETWORK_STRATEGIES
        for p in self.protocols:
            if p not in known:
                raise ValueError(f"protocols: {p!r} is unknown; accepted: {', '.join(known)}")
        for b in self.backends:
            prefix = b.partition(":")[0]
            if prefix == "ibm":
                raise ValueError(f"backends: {b!r}: budget sweeps run on simulators and emulators, not on "
                                 "IBM hardware (thousands of jobs); use 'ibm-local:<fake>' or 'aer:<fake>'")
            if prefix not in available_backends():
                raise ValueError(f"backends: {b!r} is unknown; accepted: {', '.join(available_backends())}")
        return self

    @property
    def shot_values(self) -> list[int]:
        """Shot budgets, in config order (ascending for a range); empty when not given."""
        if self.shots is None:
            return []
        return self.shots.values() if isinstance(self.shots, ShotsRange) else list(self.shots)


class ObservablesConfig(_Model):
    """The observables task: which state, which observable set, estimator options.

    ``state`` is a state protocol whose (optimized) preparation is measured;
    ``groups`` is the median-of-means group count for shadows (None: plain mean);
    ``delta`` the failure probability used by the sample-complexity bounds.
    """

    state: str = "ramsey"
    set: Literal["biomarker", "pauli_weight2"] = "biomarker"
    groups: Annotated[int, Field(ge=1, le=1000)] | None = None
    delta: Annotated[float, Field(gt=0, lt=1)] = 0.05

    @model_validator(mode="after")
    def _state(self) -> "ObservablesConfig":
        if self.state not in STATE_PROTOCOLS:
            raise ValueError(f"state = {self.state!r}; accepted: {', '.join(STATE_PROTOCOLS)}")
        return self


class TargetsConfig(_Model):
    """Targets for the derived shots-to-target figures.

    Estimation: field standard deviation ``field_std_T``, or ``relative_precision``
    of the true field (default: the base's ``execution.target_relative_precision``).
    Observables: maximal absolute error over the set. Detection: the miss
    probability ``beta`` at the false-alarm ``alpha`` of the detection section.
    """

    field_std_T: Annotated[float, Field(gt=0)] | None = None
    relative_precision: Annotated[float, Field(gt=0, le=10)] | None = None
    observable_error: Annotated[float, Field(gt=0, le=2)] = 0.05


class BudgetConfig(_Model):
    """A shot-budget sweep: base experiment, tasks, grid, repetitions, targets.

    ``seed`` is the sweep seed: design optimizations and every point derive their
    seeds from it and their keys (the base config's seed is not used).
    ``optimizer`` and ``detection`` override the base config's sections.
    """

    name: str
    seed: int
    description: str = ""
    base: ExperimentConfig
    tasks: list[Literal["estimation", "detection", "observables", "network"]] = ["estimation"]
    grid: GridConfig
    repetitions: Annotated[int, Field(ge=2, le=100_000)] = 20
    optimizer: OptimizerConfig | None = None
    detection: DetectionConfig | None = None
    observables: ObservablesConfig = ObservablesConfig()
    targets: TargetsConfig = TargetsConfig()
    ci_level: Annotated[float, Field(gt=0, lt=1)] = 0.95

    @model_validator(mode="after")
    def _check(self) -> "BudgetConfig":
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,80}", self.name):
            raise ValueError(f"name = {self.name!r}; accepted: 1-80 letters, digits, '_', '-', '.'")
        if not self.tasks or len(set(self.tasks)) != len(self.tasks):
            raise ValueError(f"tasks = {self.tasks}: give a non-empty list of distinct tasks")
        used = set()
        for task in self.tasks:
            names = self.protocols_for(task)
            if not names:
                kinds = {"observables": "shadows, direct", "network": ", ".join(NETWORK_STRATEGIES)}.get(
                    task, ", ".join(STATE_PROTOCOLS))
                raise ValueError(f"tasks: {task!r} has no protocol in grid.protocols; add one of {kinds}")
            used.update(names)
        for p in self.grid.protocols:
            if p not in used:
                raise ValueError(f"grid.protocols: {p!r} is not used by any task in tasks = {self.tasks}")
        if "detection" in self.tasks and self.detection_config is None:
            raise ValueError("tasks includes 'detection': give a detection section (here or in base)")
        if self.grid.noise is not None and self.base.sensor.from_backend is not None:
            raise ValueError("grid.noise needs a physical sensor; base.sensor.from_backend is set")
        others = [t for t in self.tasks if t != "network"]
        if others and self.grid.shots is None:
            raise ValueError(f"grid.shots is required for tasks {others}")
        if "network" in self.tasks:
            self._check_network()
        elif self.grid.efficiency is not None or self.grid.correlation is not None:
            raise ValueError("grid.efficiency / grid.correlation sweep the network task; add 'network' to tasks")
        return self

    def _check_network(self) -> None:
        net = getattr(self.base, "network", None)
        if net is None:
            raise ValueError("tasks includes 'network': the base config needs a network section")
        for p in self.protocols_for("network"):
            if p not in net.strategies:
                raise ValueError(f"grid.protocols: {p!r} is not among base.network.strategies {net.strategies}")
        if self.grid.efficiency is not None and not net.links:
            raise ValueError("grid.efficiency sweeps the transduction links, but base.network.links is empty")
        m = len(net.nodes)
        for c in self.grid.correlation or []:
            if m > 1 and c < -1 / (m - 1):
                raise ValueError(f"grid.correlation: {c} with {m} nodes; accepted: >= {-1 / (m - 1):.4g} "
                                 "(positive semidefinite covariance)")

    def protocols_for(self, task: str) -> list[str]:
        """Grid protocols that apply to ``task``, in config order."""
        pool = {"observables": OBSERVABLE_METHODS, "network": NETWORK_STRATEGIES}.get(task, tuple(STATE_PROTOCOLS))
        return [p for p in self.grid.protocols if p in pool]

    @property
    def n_qubits_values(self) -> list[int]:
        """Register sizes swept (the base's when the grid omits them)."""
        return list(self.grid.n_qubits or [self.base.protocol.n_qubits])

    @property
    def noise_levels(self) -> list[tuple[str, float]]:
        """``(kind, value)`` pairs; ``("base", nan)`` when the grid omits noise."""
        if self.grid.noise is None:
            return [("base", math.nan)]
        return [(self.grid.noise.kind, float(v)) for v in self.grid.noise.values]

    @property
    def detection_config(self) -> DetectionConfig | None:
        """The detection section in force (this config's, else the base's)."""
        return self.detection or self.base.detection

    @property
    def optimizer_config(self) -> OptimizerConfig:
        """The optimizer section in force (this config's, else the base's)."""
        return self.optimizer or self.base.optimizer


@dataclass(frozen=True)
class GridPoint:
    """One point of the sweep.

    Attributes:
      index: position in the expanded grid (stable for a given config).
      key: canonical text key, unique in the grid.
      task: ``estimation``, ``detection`` or ``observables``.
      protocol: state protocol, or ``shadows``/``direct`` for observables.
      n_qubits: register size.
      noise: noise label, e.g. ``"eta=0.9"`` or ``"base"``.
      noise_kind: ``eta``, ``t2_star_s`` or ``base``.
      noise_value: the level (nan for ``base``).
      backend: backend registry name.
      shots: shots per repetition.
      seed: replica seed from ``grid.seeds``.
      design_key: key of the design (protocol, n, noise) the point uses (``network/<strategy>``
        for network points, which optimize their own circuit and use no design).
      point_seed: derived random seed, in [0, 2**63).
      efficiency: transduction efficiency of every link (network points; nan: the base's links).
      correlation: common-mode correlation (network points; nan otherwise).
    """

    index: int
    key: str
    task: str
    protocol: str
    n_qubits: int
    noise: str
    noise_kind: str
    noise_value: float
    backend: str
    shots: int
    seed: int
    design_key: str
    point_seed: int
    efficiency: float = math.nan
    correlation: float = math.nan


def noise_label(kind: str, value: float) -> str:
    """Canonical label of a noise level (``"eta=0.9"``, ``"base"``)."""
    return "base" if kind == "base" else f"{kind}={value!r}"


def key_digest(key: str, chars: int = 16) -> str:
    """Hex SHA-256 prefix of a key (file names of parts and designs)."""
    return hashlib.sha256(key.encode()).hexdigest()[:chars]


def derive_seed(sweep_seed: int, key: str) -> int:
    """Seed in [0, 2**63) from the sweep seed and a key (numpy SeedSequence, order-free)."""
    words = np.frombuffer(hashlib.sha256(key.encode()).digest()[:16], dtype=np.uint32)
    ss = np.random.SeedSequence([int(sweep_seed) & 0xFFFFFFFF, int(sweep_seed) >> 32, *map(int, words)])
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def design_key(protocol: str, n_qubits: int, noise: str) -> str:
    """Key of the design cache entry for a state protocol, register size and noise label."""
    return f"{protocol}/n={n_qubits}/{noise}"


def expand_grid(config: BudgetConfig) -> list[GridPoint]:
    """All points of the sweep, in a fixed order.

    Order: task, protocol, n_qubits, noise, backend, shots, seed (config order
    within each). The count is ``sum_task |protocols(task)| * |n| * |noise| *
    |backends| * |shots| * |seeds|``; keys are unique.
    """
    points: list[GridPoint] = []
    for task in config.tasks:
        if task == "network":
            _network_points(config, points)
            continue
        for protocol in config.protocols_for(task):
            state = config.observables.state if task == "observables" else protocol
            for n in config.n_qubits_values:
                for kind, value in config.noise_levels:
                    label = noise_label(kind, value)
                    for backend in config.grid.backends:
                        for shots in config.grid.shot_values:
                            for seed in config.grid.seeds:
                                key = f"{task}/{protocol}/n={n}/{label}/{backend}/shots={shots}/seed={seed}"
                                points.append(GridPoint(
                                    index=len(points), key=key, task=task, protocol=protocol, n_qubits=n,
                                    noise=label, noise_kind=kind, noise_value=value, backend=backend,
                                    shots=int(shots), seed=int(seed), design_key=design_key(state, n, label),
                                    point_seed=derive_seed(config.seed, key)))
    return points


def _network_points(config: BudgetConfig, points: list[GridPoint]) -> None:
    """Append the network task's points: strategy x efficiency x correlation x seed (config order)."""
    net = config.base.network
    n = sum(nd.qubits or 0 for nd in net.nodes)
    effs = config.grid.efficiency or [math.nan]
    corrs = config.grid.correlation or [float(net.common_mode.correlation)]
    for strategy in config.protocols_for("network"):
        for eff in effs:
            for corr in corrs:
                for seed in config.grid.seeds:
                    t = "base" if math.isnan(eff) else repr(float(eff))
                    key = f"network/{strategy}/T={t}/corr={float(corr)!r}/seed={seed}"
                    points.append(GridPoint(
                        index=len(points), key=key, task="network", protocol=strategy, n_qubits=n, noise="base",
                        noise_kind="base", noise_value=math.nan, backend="local", shots=int(net.shots),
                        seed=int(seed), design_key=f"network/{strategy}", point_seed=derive_seed(config.seed, key),
                        efficiency=float(eff), correlation=float(corr)))


def budget_config_from_dict(data: Any, source: str = "<dict>", root: str | Path | None = None) -> BudgetConfig:
    """Validate a dict as a :class:`BudgetConfig`.

    ``base`` is a mapping (an experiment config) or a path to a YAML experiment
    config, relative to ``root`` (default: the working directory).

    Raises:
      ConfigError: unknown keys, wrong types, out-of-range values, unknown
        protocol/backend names, inconsistent tasks, or a missing base file;
        the message names each field path.
    """
    if not isinstance(data, dict):
        raise ConfigError(source, [("<root>", type(data).__name__, "expected a mapping of config sections")])
    data = dict(data)
    if isinstance(data.get("base"), str):
        path = Path(data["base"])
        if not path.is_absolute():
            path = Path(root or ".") / path
        try:
            data["base"] = load_config(path).model_dump(mode="json")
        except ConfigError as exc:
            raise ConfigError(source, [(f"base ({path}): {p}", v, a) for p, v, a in exc.errors]) from None
    try:
        return BudgetConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, validation_errors(exc)) from None


def load_budget_config(path: str | Path) -> BudgetConfig:
    """Read and validate a budget YAML file (``base`` paths are relative to its folder).

    Raises:
      ConfigError: the file is missing, not YAML, or fails validation.
    """
    path = Path(path)
    data = load_yaml(path)
    return budget_config_from_dict(data, str(path), root=path.parent)


def budget_config_to_yaml(config: BudgetConfig) -> str:
    """The validated config as YAML with the base inlined; round-trips through :func:`load_budget_config`."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)


def budget_config_hash(config: BudgetConfig) -> str:
    """SHA-256 (hex, 16 chars) of the config's canonical JSON."""
    return hashlib.sha256(json.dumps(config.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:16]
