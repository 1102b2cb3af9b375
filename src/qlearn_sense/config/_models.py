"""Experiment configs: frozen, validated pydantic models, every quantity in SI units.

Field names carry their unit (``t2_star_s``, ``field_T``,
``gyromagnetic_ratio_Hz_per_T``). Unknown keys, wrong types and out-of-range
values raise :class:`ConfigError`, whose message names the field path, the value
and what is accepted.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_QUBITS = 12
PREPARATION_NAMES = ("ramsey", "product", "ghz", "hea", "oat")
MEASUREMENT_NAMES = ("none", "local", "hea", "ghz_parity")
OPTIMIZER_NAMES = ("adam", "adamw", "sgd", "rmsprop", "adabelief")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SensorConfig(_Model):
    """Sensor qubits and interrogation.

    Either physical parameters (T2*, T2, T1, readout fidelity) or a backend's
    calibration (``from_backend`` plus ``qubits``: noise derived from the device
    snapshot, see :mod:`qlearn_sense.backends`). ``eta`` overrides the derived
    coherence factor (for abstract phase-estimation studies).
    """

    kind: Literal["nv_center", "qubit"] = "qubit"
    gyromagnetic_ratio_Hz_per_T: Annotated[float, Field(gt=0)] | None = None
    t2_star_s: Annotated[float, Field(gt=0)] | None = None
    t2_s: Annotated[float, Field(gt=0)] | None = None
    stretch_exponent: Annotated[float, Field(ge=0.5, le=4.0)] = 1.0
    t1_s: Annotated[float, Field(gt=0)] | None = None
    readout_fidelity: Annotated[float, Field(gt=0.5, le=1.0)] = 1.0
    overhead_time_s: Annotated[float, Field(ge=0)] = 0.0
    interrogation_time_s: Annotated[float, Field(gt=0, le=10.0)]
    sequence: Literal["ramsey", "hahn_echo"] = "ramsey"
    eta: Annotated[float, Field(gt=0, le=1)] | None = None
    from_backend: str | None = None
    qubits: list[Annotated[int, Field(ge=0)]] | None = None

    @model_validator(mode="after")
    def _complete(self) -> "SensorConfig":
        if self.from_backend is None:
            if self.kind == "qubit" and self.gyromagnetic_ratio_Hz_per_T is None:
                raise ValueError("gyromagnetic_ratio_Hz_per_T is required for kind 'qubit'")
            if self.t2_star_s is None and self.eta is None:
                raise ValueError("give t2_star_s (or eta, or from_backend)")
        elif self.qubits is not None and len(set(self.qubits)) != len(self.qubits):
            raise ValueError(f"qubits = {self.qubits} repeats a qubit")
        return self


class ConstantSignal(_Model):
    """A static field (biomarker): ``field_T`` along the sensor axis."""

    kind: Literal["constant"]
    field_T: Annotated[float, Field(ge=-1.0, le=1.0)]


class ActionPotentialSignal(_Model):
    """Single-neuron action potential: biphasic pulse of peak ``peak_field_T``, width ``width_s``."""

    kind: Literal["action_potential"]
    peak_field_T: Annotated[float, Field(ge=-1.0, le=1.0)]
    width_s: Annotated[float, Field(gt=0, le=1.0)] = 3e-4


class SinusoidSignal(_Model):
    """A rhythm ``amplitude_T sin(2 pi frequency_Hz t + phase_rad)``."""

    kind: Literal["sinusoid"]
    amplitude_T: Annotated[float, Field(ge=-1.0, le=1.0)]
    frequency_Hz: Annotated[float, Field(gt=0, le=1e9)]
    phase_rad: float = 0.0


Signal = Annotated[Union[ConstantSignal, ActionPotentialSignal, SinusoidSignal], Field(discriminator="kind")]


class AnsatzConfig(_Model):
    """An ansatz by registry name and its layer count."""

    ansatz: str
    layers: Annotated[int, Field(ge=0, le=50)] = 1


class ProtocolConfig(_Model):
    """The circuit: number of sensor qubits, preparation and measurement ansatze."""

    n_qubits: Annotated[int, Field(ge=1, le=MAX_QUBITS)]
    preparation: AnsatzConfig = AnsatzConfig(ansatz="hea", layers=2)
    measurement: AnsatzConfig = AnsatzConfig(ansatz="local", layers=1)

    @model_validator(mode="after")
    def _names(self) -> "ProtocolConfig":
        if self.preparation.ansatz not in PREPARATION_NAMES:
            raise ValueError(
                f"preparation.ansatz = {self.preparation.ansatz!r}; accepted: {', '.join(PREPARATION_NAMES)}")
        if self.measurement.ansatz not in MEASUREMENT_NAMES:
            raise ValueError(
                f"measurement.ansatz = {self.measurement.ansatz!r}; accepted: {', '.join(MEASUREMENT_NAMES)}")
        return self


class OptimizerConfig(_Model):
    """The optax loop: objective, optimizer, learning rate, steps and seeded restarts."""

    objective: Literal["qfi", "cfi"] = "cfi"
    name: Literal["adam", "adamw", "sgd", "rmsprop", "adabelief"] = "adam"
    learning_rate: Annotated[float, Field(gt=0, le=10)] = 0.05
    steps: Annotated[int, Field(ge=0, le=100_000)] = 200
    restarts: Annotated[int, Field(ge=1, le=100)] = 2
    init_scale: Annotated[float, Field(ge=0, le=10)] = 1.0


class ExecutionConfig(_Model):
    """Where and how many shots: backend name, shots per repetition, repetitions."""

    backend: str = "local"
    shots: Annotated[int, Field(ge=1, le=10**15)] = 10_000
    repetitions: Annotated[int, Field(ge=2, le=100_000)] = 20
    target_relative_precision: Annotated[float, Field(gt=0, le=10)] = 0.1
    optimization_level: Annotated[int, Field(ge=0, le=3)] = 1
    transpile_seed: int = 0
    wait: bool = False


class ShadowsConfig(_Model):
    """Classical shadows of the sensor output state (see :mod:`qlearn_sense.shadows`)."""

    snapshots: Annotated[int, Field(ge=1, le=10_000_000)] = 2000
    ensemble: Literal["pauli", "derandomized", "clifford"] = "pauli"
    groups: Annotated[int, Field(ge=1, le=1000)] = 10
    observables: Literal["biomarker"] | list[str] = "biomarker"
    robust: bool = False
    calibration_snapshots: Annotated[int, Field(ge=1, le=10_000_000)] = 2000


class DetectionConfig(_Model):
    """Decide ``field = null_field_T`` against ``field = alt_field_T`` (see :mod:`qlearn_sense.hyptest`)."""

    null_field_T: float = 0.0
    alt_field_T: float
    prior_null: Annotated[float, Field(gt=0, lt=1)] = 0.5
    alpha: Annotated[float, Field(gt=0, lt=1)] = 0.01
    beta: Annotated[float, Field(gt=0, lt=1)] = 0.01
    protocols: list[Literal["ramsey", "ghz", "optimized"]] = ["ramsey", "ghz", "optimized"]
    shots: Annotated[int, Field(ge=1, le=10**12)] | None = None


class ExperimentConfig(_Model):
    """A whole experiment: sensor, signal, protocol, optimizer, execution, optional analyses."""

    name: str
    seed: int
    description: str = ""
    sensor: SensorConfig
    signal: Signal
    protocol: ProtocolConfig
    optimizer: OptimizerConfig = OptimizerConfig()
    execution: ExecutionConfig = ExecutionConfig()
    shadows: ShadowsConfig | None = None
    detection: DetectionConfig | None = None

    @model_validator(mode="after")
    def _name(self) -> "ExperimentConfig":
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,80}", self.name):
            raise ValueError(f"name = {self.name!r}; accepted: 1-80 letters, digits, '_', '-', '.'")
        if self.sensor.qubits is not None and len(self.sensor.qubits) != self.protocol.n_qubits:
            raise ValueError(
                f"sensor.qubits has {len(self.sensor.qubits)} entries; protocol.n_qubits = {self.protocol.n_qubits}")
        return self
