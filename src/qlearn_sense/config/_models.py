"""Experiment configs: frozen, validated pydantic models, every quantity in SI units.

Field names carry their unit (``t2_star_s``, ``field_T``,
``gyromagnetic_ratio_Hz_per_T``). Unknown keys, wrong types and out-of-range
values raise :class:`ConfigError`, whose message names the field path, the value
and what is accepted.

Types are strict where YAML is loose: a boolean is never a number (``n_qubits:
true`` is rejected, not read as 1), NaN and infinities are rejected everywhere,
seeds are integers in ``[0, 2**63)``. Counts (``shots``, ``repetitions``,
``snapshots``...) also accept an integral float or numeric string, because YAML
1.1 reads ``1e5`` as the string ``"1e5"`` and ``1.0e5`` as a float.

This module imports neither JAX nor qiskit: validation stays fast. Backend and
device names are checked against static tables (:data:`BACKEND_PREFIXES`,
:data:`PENNYLANE_DEVICES`, :data:`FAKE_BACKEND_NAMES`) that a test compares with
the registries of :mod:`qlearn_sense.backends`.
"""

from __future__ import annotations

import math
import operator
import re
import reprlib
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

MAX_QUBITS = 12
PREPARATION_NAMES = ("ramsey", "product", "ghz", "hea", "oat")
MEASUREMENT_NAMES = ("none", "local", "hea", "ghz_parity")
COLLECTIVE_PREPARATION_NAMES = ("css", "ghz", "oat", "tact")
"""Collective preparations (``qlearn_sense.collective.COLLECTIVE_PREPARATIONS``; a test keeps them equal)."""
COLLECTIVE_MEASUREMENT_NAMES = ("none", "rotation", "oat")
"""Collective measurement ansatze (``qlearn_sense.collective.COLLECTIVE_MEASUREMENTS``)."""
MAX_COLLECTIVE_SPINS = 1000
OPTIMIZER_NAMES = ("adam", "adamw", "sgd", "rmsprop", "adabelief")
MAX_SEED = 2**63
"""Seeds lie in ``[0, MAX_SEED)`` (numpy ``SeedSequence`` entropy, JAX keys)."""

BACKEND_PREFIXES = ("local", "pennylane", "aer", "ibm-local", "ibm")
"""Backend families of :func:`qlearn_sense.backends.get_backend` (a test checks the registry)."""

PENNYLANE_DEVICES = ("default.qubit", "default.mixed", "lightning.qubit")
"""Devices of the ``pennylane:`` backend (a test checks :data:`qlearn_sense.backends.PENNYLANE_DEVICES`)."""

FAKE_BACKEND_NAMES = (
    "fake_aachen", "fake_algiers", "fake_almaden", "fake_armonk", "fake_athens", "fake_auckland", "fake_belem",
    "fake_berlin", "fake_boeblingen", "fake_bogota", "fake_boston", "fake_brisbane", "fake_brooklyn",
    "fake_brussels", "fake_burlington", "fake_cairo", "fake_cambridge", "fake_casablanca", "fake_cusco",
    "fake_essex", "fake_fez", "fake_fractional", "fake_geneva", "fake_guadalupe", "fake_hanoi", "fake_jakarta",
    "fake_johannesburg", "fake_kawasaki", "fake_kingston", "fake_kolkata", "fake_kyiv", "fake_kyoto", "fake_lagos",
    "fake_lima", "fake_london", "fake_manhattan", "fake_manila", "fake_marrakesh", "fake_melbourne", "fake_miami",
    "fake_montreal", "fake_mumbai", "fake_nairobi", "fake_nighthawk", "fake_osaka", "fake_oslo", "fake_ourense",
    "fake_paris", "fake_peekskill", "fake_perth", "fake_pittsburgh", "fake_poughkeepsie", "fake_prague",
    "fake_quebec", "fake_quito", "fake_rochester", "fake_rome", "fake_santiago", "fake_sherbrooke",
    "fake_singapore", "fake_strasbourg", "fake_sydney", "fake_torino", "fake_toronto", "fake_valencia", "fake_vigo",
    "fake_washington", "fake_yorktown",
)
"""Fake devices of qiskit-ibm-runtime 0.51 (``FakeProviderForBackendV2``), kept static so that
validation does not import qiskit; a test compares it with
:func:`qlearn_sense.backends.fake_backend_names`."""

_IBM_DEVICE = re.compile(r"ibm_[a-z0-9_]{1,40}")
_PAULI_LABEL = re.compile(r"[IXYZ]+")

_SHORT = reprlib.Repr()
_SHORT.maxstring = 80
_SHORT.maxother = 80
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxset = 6
_SHORT.maxdict = 4
_SHORT.maxlevel = 3
SHOWN_CHARS = 80
"""Values quoted in error messages are cut to this many characters (with an ellipsis)."""


def short_repr(value: Any, limit: int = SHOWN_CHARS) -> str:
    """``repr(value)`` bounded in time and length: at most ``limit`` characters, ``...`` when cut.

    Uses :mod:`reprlib`, so a huge or deeply shared value (a YAML alias bomb) is
    never formatted in full.
    """
    text = _SHORT.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class FieldError(ValueError):
    """A validation failure of one field found by a cross-field check.

    Pydantic reports errors of a ``model_validator`` at the model, not at the
    field; :func:`qlearn_sense.config.config_from_dict` reads ``path`` (relative
    to the model) and ``value`` from this exception to name the field.

    Attributes:
      path: dotted field path relative to the model that raised it.
      value: the offending value.
      accepted: what is accepted.
    """

    def __init__(self, path: str, value: Any, accepted: str):
        self.path = path
        self.value = value
        self.accepted = accepted
        super().__init__(f"{path} = {short_repr(value)}; {accepted}")


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool) or type(value).__name__ == "bool_"  # numpy.bool_ is no bool subclass


def _not_bool(value: Any) -> Any:
    """Reject booleans; numpy integers become ints (a sweep over ``numpy.arange`` is fine)."""
    if _is_bool(value):
        raise ValueError("a boolean (true/false) is not a number; accepted: a number")
    if not isinstance(value, (int, float, str)) and hasattr(value, "__index__"):
        return operator.index(value)
    return value


def _as_count(value: Any) -> Any:
    """Counts: integers, or integral floats / numeric strings (``1e5``, ``"1e5"``, ``1.0e5``)."""
    if _is_bool(value):
        raise ValueError("a boolean (true/false) is not a count; accepted: a whole number such as 1000 or 1e5")
    if not isinstance(value, (int, float, str)) and hasattr(value, "__index__"):
        return operator.index(value)
    if isinstance(value, str):
        text = value.strip().replace("_", "")
        try:
            value = int(text)
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                raise ValueError("not a number; accepted: a whole number such as 1000 or 1e5") from None
    if isinstance(value, float):
        if not math.isfinite(value) or value != math.floor(value):
            raise ValueError("not a whole number; accepted: a whole number such as 1000 or 1e5")
        return int(value)
    return value


Float = Annotated[float, BeforeValidator(_not_bool)]
"""A finite float (models forbid NaN/inf); booleans rejected."""
Int = Annotated[int, BeforeValidator(_not_bool), Field(strict=True)]
"""An integer: no booleans, no floats, no strings."""
Count = Annotated[int, BeforeValidator(_as_count), Field(strict=True)]
"""A count: an integer, or an integral float or numeric string (``1e5``)."""
Seed = Annotated[Int, Field(ge=0, le=MAX_SEED - 1)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def normalize_fake_name(name: str) -> str:
    """``FakeFez``, ``FakeManilaV2``, ``fez``, ``ibm_fez`` -> ``fake_fez`` / ``fake_manila``.

    The one implementation (the backends use it too); imports nothing heavy.
    """
    low = name.strip().lower()
    if low.startswith("fake") and not low.startswith("fake_"):
        low = "fake_" + low[4:]
    low = low.removeprefix("ibm_")
    if not low.startswith("fake_"):
        low = "fake_" + low
    if low.endswith("v2") and low != "fake_v2":
        low = low[:-2]
    return low


def _fake_problem(arg: str, form: str) -> str | None:
    if normalize_fake_name(arg) in FAKE_BACKEND_NAMES:
        return None
    return (f"{form} needs a qiskit-ibm-runtime fake device; accepted: "
            + ", ".join(FAKE_BACKEND_NAMES))


def backend_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid ``execution.backend`` (None when it is).

    Accepted: ``local``, ``pennylane:<device>`` (:data:`PENNYLANE_DEVICES`),
    ``aer``, ``aer:<fake>``, ``ibm-local:<fake>`` (:data:`FAKE_BACKEND_NAMES`, any
    spelling that :func:`normalize_fake_name` maps there), ``ibm:ibm_<device>``.
    """
    if not isinstance(name, str):
        return "accepted: a backend name such as 'local'"
    prefix, colon, arg = name.partition(":")
    if prefix not in BACKEND_PREFIXES:
        return ("unknown backend; accepted: 'local', 'pennylane:<device>', 'aer', 'aer:<fake-device>', "
                "'ibm-local:<fake-device>', 'ibm:<device>' (e.g. 'aer:fake_fez', 'ibm:ibm_fez')")
    if prefix == "local":
        return "'local' takes no argument; accepted: 'local'" if colon else None
    if prefix == "pennylane":
        return None if arg in PENNYLANE_DEVICES else (
            "unknown PennyLane device; accepted: " + ", ".join(f"pennylane:{d}" for d in PENNYLANE_DEVICES))
    if prefix == "aer":
        return None if not colon else _fake_problem(arg, "'aer:<fake-device>'")
    if prefix == "ibm-local":
        return _fake_problem(arg, "'ibm-local:<fake-device>'")
    if arg.lower().startswith("fake"):
        return f"'ibm:' runs on IBM hardware; for a fake device use 'ibm-local:{arg}' or 'aer:{arg}'"
    if not _IBM_DEVICE.fullmatch(arg):
        return "accepted: 'ibm:ibm_<device>' with an IBM Quantum device name, e.g. 'ibm:ibm_fez'"
    return None


def device_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid ``sensor.from_backend`` (None when it is).

    Accepted (as :func:`qlearn_sense.backends.calibrated_noise` reads them): a
    fake device (``fake_fez``, ``FakeFez``, optionally prefixed ``aer:``,
    ``ibm-local:`` or ``ibm:``), or an IBM device (``ibm_fez`` or ``ibm:ibm_fez``;
    live calibration, needs an account).
    """
    if not isinstance(name, str):
        return "accepted: a device name such as 'fake_fez'"
    prefix, colon, arg = name.partition(":")
    if not colon:
        prefix, arg = "", prefix
    if prefix not in ("", "aer", "ibm-local", "ibm"):
        return ("unknown prefix; accepted: a fake device (e.g. 'fake_fez', 'aer:fake_fez', "
                "'ibm-local:fake_fez') or an IBM Quantum device (e.g. 'ibm_fez', 'ibm:ibm_fez')")
    if prefix in ("aer", "ibm-local") or arg.lower().startswith("fake"):
        return _fake_problem(arg, "a fake device name")
    if prefix in ("", "ibm") and _IBM_DEVICE.fullmatch(arg):
        return None
    return ("unknown device; accepted: a fake device (e.g. 'fake_fez'; one of " + ", ".join(FAKE_BACKEND_NAMES)
            + ") or an IBM Quantum device 'ibm_<name>' (e.g. 'ibm_fez')")


class SensorConfig(_Model):
    """Sensor qubits and interrogation.

    Either physical parameters (T2*, T2, T1, readout fidelity) or a backend's
    calibration (``from_backend`` plus ``qubits``: noise derived from the device
    snapshot, see :mod:`qlearn_sense.backends`). ``eta`` overrides the derived
    coherence factor (for abstract phase-estimation studies).
    """

    kind: Literal["nv_center", "qubit"] = "qubit"
    gyromagnetic_ratio_Hz_per_T: Annotated[Float, Field(gt=0)] | None = None
    t2_star_s: Annotated[Float, Field(gt=0)] | None = None
    t2_s: Annotated[Float, Field(gt=0)] | None = None
    stretch_exponent: Annotated[Float, Field(ge=0.5, le=4.0)] = 1.0
    t1_s: Annotated[Float, Field(gt=0)] | None = None
    readout_fidelity: Annotated[Float, Field(gt=0.5, le=1.0)] = 1.0
    overhead_time_s: Annotated[Float, Field(ge=0)] = 0.0
    interrogation_time_s: Annotated[Float, Field(gt=0, le=10.0)]
    sequence: Literal["ramsey", "hahn_echo"] = "ramsey"
    eta: Annotated[Float, Field(gt=0, le=1)] | None = None
    from_backend: str | None = None
    qubits: list[Annotated[Int, Field(ge=0, le=100_000)]] | None = None

    @model_validator(mode="after")
    def _complete(self) -> "SensorConfig":
        if self.from_backend is None:
            if self.kind == "qubit" and self.gyromagnetic_ratio_Hz_per_T is None:
                raise ValueError("gyromagnetic_ratio_Hz_per_T is required for kind 'qubit'")
            if self.t2_star_s is None and self.eta is None:
                raise ValueError("give t2_star_s (or eta, or from_backend)")
        else:
            problem = device_name_problem(self.from_backend)
            if problem is not None:
                raise FieldError("from_backend", self.from_backend, problem)
            if self.qubits is not None and len(set(self.qubits)) != len(self.qubits):
                raise FieldError("qubits", self.qubits, "a qubit is repeated; accepted: distinct physical qubits")
        return self


class ConstantSignal(_Model):
    """A static field (biomarker): ``field_T`` along the sensor axis."""

    kind: Literal["constant"]
    field_T: Annotated[Float, Field(ge=-1.0, le=1.0)]


class ActionPotentialSignal(_Model):
    """Single-neuron action potential: biphasic pulse of peak ``peak_field_T``, width ``width_s``."""

    kind: Literal["action_potential"]
    peak_field_T: Annotated[Float, Field(ge=-1.0, le=1.0)]
    width_s: Annotated[Float, Field(gt=0, le=1.0)] = 3e-4


class SinusoidSignal(_Model):
    """A rhythm ``amplitude_T sin(2 pi frequency_Hz t + phase_rad)``."""

    kind: Literal["sinusoid"]
    amplitude_T: Annotated[Float, Field(ge=-1.0, le=1.0)]
    frequency_Hz: Annotated[Float, Field(gt=0, le=1e9)]
    phase_rad: Float = 0.0


Signal = Annotated[Union[ConstantSignal, ActionPotentialSignal, SinusoidSignal], Field(discriminator="kind")]


class AnsatzConfig(_Model):
    """An ansatz by registry name and its layer count."""

    ansatz: str
    layers: Annotated[Int, Field(ge=0, le=50)] = 1


class ProtocolConfig(_Model):
    """The circuit: engine, number of sensor qubits or spins, preparation and measurement ansatze.

    ``engine: register`` (default): ``n_qubits`` qubits (1..12) simulated exactly as a
    density matrix, ansatze from :data:`PREPARATION_NAMES` / :data:`MEASUREMENT_NAMES`.
    ``engine: collective``: ``n_spins`` spin-1/2 sensors (2..1000) in permutation-symmetric
    states (``qlearn_sense.collective``), ansatze from :data:`COLLECTIVE_PREPARATION_NAMES` /
    :data:`COLLECTIVE_MEASUREMENT_NAMES` and a collective ``readout`` (jz, jy, parity). For
    ``n_spins <= 12`` (and any preparation but ``tact``) the collective protocol is compiled to
    the register (``n_qubits`` is set to ``n_spins``) and runs on every backend; beyond that
    only the local collective engine applies.
    """

    engine: Literal["register", "collective"] = "register"
    n_qubits: Annotated[Int, Field(ge=1, le=MAX_QUBITS)] | None = None
    n_spins: Annotated[Int, Field(ge=2, le=MAX_COLLECTIVE_SPINS)] | None = None
    readout: Literal["jz", "jy", "parity"] | None = None
    preparation: AnsatzConfig = AnsatzConfig(ansatz="hea", layers=2)
    measurement: AnsatzConfig = AnsatzConfig(ansatz="local", layers=1)

    @model_validator(mode="before")
    @classmethod
    def _register_view(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("engine") != "collective":
            return data
        data = dict(data)
        data.setdefault("preparation", {"ansatz": "oat", "layers": 1})
        data.setdefault("measurement", {"ansatz": "rotation", "layers": 0})
        n, prep = data.get("n_spins"), data.get("preparation")
        prep_name = prep.get("ansatz") if isinstance(prep, dict) else getattr(prep, "ansatz", None)
        if (data.get("n_qubits") is None and isinstance(n, int) and not isinstance(n, bool)
                and 2 <= n <= MAX_QUBITS and prep_name != "tact"):
            data["n_qubits"] = n  # compiled to the register: every backend runs it
        return data

    @model_validator(mode="after")
    def _names(self) -> "ProtocolConfig":
        if self.engine == "collective":
            if self.n_spins is None:
                raise FieldError("n_spins", None, f"protocol.engine = 'collective' needs n_spins; accepted: "
                                 f"2..{MAX_COLLECTIVE_SPINS}")
            if self.n_qubits is not None and self.n_qubits != self.n_spins:
                raise FieldError("n_qubits", self.n_qubits, f"with engine 'collective' leave n_qubits out (it "
                                 f"is n_spins = {self.n_spins} when the register can run the protocol)")
            names = (("preparation", self.preparation.ansatz, COLLECTIVE_PREPARATION_NAMES),
                     ("measurement", self.measurement.ansatz, COLLECTIVE_MEASUREMENT_NAMES))
        else:
            if self.n_qubits is None:
                raise FieldError("n_qubits", None, f"required for engine 'register'; accepted: 1..{MAX_QUBITS} "
                                 "(or engine: collective with n_spins up to 1000)")
            for name in ("n_spins", "readout"):
                if getattr(self, name) is not None:
                    raise FieldError(name, getattr(self, name), "only for engine 'collective'; accepted: "
                                     "leave it out, or set engine: collective")
            names = (("preparation", self.preparation.ansatz, PREPARATION_NAMES),
                     ("measurement", self.measurement.ansatz, MEASUREMENT_NAMES))
        for field, value, accepted in names:
            if value not in accepted:
                raise FieldError(f"{field}.ansatz", value, f"accepted for engine '{self.engine}': "
                                 f"{', '.join(accepted)}")
        return self

    @property
    def sensors(self) -> int:
        """Number of sensor qubits (register) or spins (collective)."""
        return self.n_spins if self.engine == "collective" else self.n_qubits

    @property
    def collective_only(self) -> bool:
        """True when only the local collective engine can run the protocol (no register form)."""
        return self.n_qubits is None


class OptimizerConfig(_Model):
    """The optax loop: objective, optimizer, learning rate, steps and seeded restarts."""

    objective: Literal["qfi", "cfi"] = "cfi"
    name: Literal["adam", "adamw", "sgd", "rmsprop", "adabelief"] = "adam"
    learning_rate: Annotated[Float, Field(gt=0, le=10)] = 0.05
    steps: Annotated[Count, Field(ge=0, le=100_000)] = 200
    restarts: Annotated[Count, Field(ge=1, le=100)] = 2
    init_scale: Annotated[Float, Field(ge=0, le=10)] = 1.0


class ExecutionConfig(_Model):
    """Where and how many shots: backend name, shots per repetition, repetitions."""

    backend: str = "local"
    shots: Annotated[Count, Field(ge=1, le=10**15)] = 10_000
    repetitions: Annotated[Count, Field(ge=2, le=100_000)] = 20
    target_relative_precision: Annotated[Float, Field(gt=0, le=10)] = 0.1
    optimization_level: Annotated[Int, Field(ge=0, le=3)] = 1
    transpile_seed: Seed = 0
    wait: bool = False

    @model_validator(mode="after")
    def _backend(self) -> "ExecutionConfig":
        problem = backend_name_problem(self.backend)
        if problem is not None:
            raise FieldError("backend", self.backend, problem)
        return self


class ShadowsConfig(_Model):
    """Classical shadows of the sensor output state (see :mod:`qlearn_sense.shadows`).

    ``observables`` is ``"biomarker"`` (:func:`qlearn_sense.shadows.biomarker_observables`)
    or a list of Pauli labels over ``IXYZ``, one character per qubit, qubit 0
    leftmost (:meth:`qlearn_sense.shadows.PauliObservables.from_strings`); their
    length must equal ``protocol.n_qubits`` (checked by :class:`ExperimentConfig`).
    """

    snapshots: Annotated[Count, Field(ge=1, le=10_000_000)] = 2000
    ensemble: Literal["pauli", "derandomized", "clifford"] = "pauli"
    groups: Annotated[Count, Field(ge=1, le=1000)] = 10
    observables: Literal["biomarker"] | list[str] = "biomarker"
    robust: bool = False
    calibration_snapshots: Annotated[Count, Field(ge=1, le=10_000_000)] = 2000

    @model_validator(mode="after")
    def _labels(self) -> "ShadowsConfig":
        if isinstance(self.observables, list):
            if not self.observables:
                raise FieldError("observables", self.observables,
                                 "accepted: 'biomarker' or a non-empty list of Pauli labels such as ['XI', 'ZZ']")
            for i, label in enumerate(self.observables):
                if not _PAULI_LABEL.fullmatch(label):
                    raise FieldError(f"observables.{i}", label,
                                     "unknown observable; accepted: 'biomarker' (for the whole list) or Pauli "
                                     "labels over I, X, Y, Z (upper case), one character per qubit, qubit 0 "
                                     "leftmost, e.g. 'XIZ'")
        return self


class DetectionConfig(_Model):
    """Decide ``field = null_field_T`` against ``field = alt_field_T`` (see :mod:`qlearn_sense.hyptest`)."""

    null_field_T: Annotated[Float, Field(ge=-1.0, le=1.0)] = 0.0
    alt_field_T: Annotated[Float, Field(ge=-1.0, le=1.0)]
    prior_null: Annotated[Float, Field(gt=0, lt=1)] = 0.5
    alpha: Annotated[Float, Field(gt=0, lt=1)] = 0.01
    beta: Annotated[Float, Field(gt=0, lt=1)] = 0.01
    protocols: list[Literal["ramsey", "ghz", "optimized"]] = ["ramsey", "ghz", "optimized"]
    shots: Annotated[Count, Field(ge=1, le=10**12)] | None = None


class ExperimentConfig(_Model):
    """A whole experiment: sensor, signal, protocol, optimizer, execution, optional analyses."""

    name: str
    seed: Seed
    description: str = ""
    sensor: SensorConfig
    signal: Signal
    protocol: ProtocolConfig
    optimizer: OptimizerConfig = OptimizerConfig()
    execution: ExecutionConfig = ExecutionConfig()
    shadows: ShadowsConfig | None = None
    detection: DetectionConfig | None = None
    ensemble: "EnsembleConfig | None" = None
    network: "NetworkConfig | None" = None
    adaptive: "AdaptiveConfig | None" = None

    @model_validator(mode="after")
    def _name(self) -> "ExperimentConfig":
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,80}", self.name):
            raise FieldError("name", self.name, "accepted: 1-80 letters, digits, '_', '-', '.'")
        n = self.protocol.n_qubits
        if self.protocol.collective_only:
            self._collective_only_checks()
            return self
        if self.sensor.qubits is not None and len(self.sensor.qubits) != n:
            raise ValueError(
                f"sensor.qubits has {len(self.sensor.qubits)} entries; protocol.n_qubits = {n}")
        if self.shadows is not None and isinstance(self.shadows.observables, list):
            for i, label in enumerate(self.shadows.observables):
                if len(label) != n:
                    raise FieldError(f"shadows.observables.{i}", label,
                                     f"a Pauli label has one character per qubit; accepted: length "
                                     f"protocol.n_qubits = {n}")
        return self

    def _collective_only_checks(self) -> None:
        why = (f"protocol.n_spins = {self.protocol.n_spins} with preparation "
               f"'{self.protocol.preparation.ansatz}' has no register form: only the local collective engine "
               "applies")
        for section in ("shadows", "detection", "ensemble", "network", "adaptive"):
            if getattr(self, section) is not None:
                raise FieldError(section, "(section)", f"{why}, which runs the estimation only; accepted: leave "
                                 f"'{section}' out, or n_spins <= {MAX_QUBITS} (not 'tact') for the register "
                                 "pipeline")
        if self.execution.backend != "local":
            raise FieldError("execution.backend", self.execution.backend,
                             f"{why}; accepted: 'local', or n_spins <= {MAX_QUBITS} for circuit backends")
        if self.sensor.from_backend is not None or self.sensor.qubits is not None:
            raise FieldError("sensor.from_backend", self.sensor.from_backend,
                             f"{why}; accepted: a physical sensor model (leave from_backend and qubits out)")


# The engines' sections live in their own modules (they import this one's base types).
from qlearn_sense.config._adaptive import AdaptiveConfig  # noqa: E402
from qlearn_sense.config._ensemble import EnsembleConfig  # noqa: E402
from qlearn_sense.config._network import NetworkConfig  # noqa: E402

ExperimentConfig.model_rebuild()
