"""The backend interfaces: run one protocol with many parameter sets, return outcomes.

Three abstract classes say what a backend can do (checked with ``isinstance``,
never by probing attributes):

- :class:`AbstractBackend`: runs a protocol and returns counts (every backend);
- :class:`AbstractDeviceBackend`: compiles the protocol to a device's ISA
  circuit first (``aer:<fake>``, ``ibm-local:<fake>``, ``ibm:<device>``), and
  runs bound qiskit circuits that are not protocols (network circuits) with
  :meth:`AbstractDeviceBackend.run_circuits`;
- :class:`AbstractAsyncBackend`: queues jobs on remote hardware, records them
  in a job ledger and fetches their results later (``ibm:<device>``).

Outcome index convention (all backends): little-endian, ``k = sum_j b_j 2**j``
with ``b_j`` the bit read on sensor qubit ``j``; as a qiskit bitstring, qubit 0
is the rightmost character (``format(k, f"0{n}b")``).
"""

from __future__ import annotations

import abc
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qlearn_sense.backends._compile import TranspileOptions
from qlearn_sense.protocol import Protocol

if TYPE_CHECKING:  # pragma: no cover - types only
    from qlearn_sense.backends._compile import Compiled
    from qlearn_sense.backends._ledger import JobLedger, JobRecord


class BackendError(RuntimeError):
    """A backend could not run the request (the message says why and what to do)."""


@dataclass
class CompiledCircuit:
    """One bound circuit (no free parameters) compiled to a device's ISA.

    Attributes:
      circuit: the logical circuit, measured into the classical register ``meas``.
      isa: the ISA circuit for the device target.
      layout: physical qubit of each logical qubit (``layout[j]`` holds qubit j).
      isa_hash: SHA-256 of the ISA circuit's OpenQASM 3 text (first 16 hex digits).
      depth: depth of the ISA circuit (barriers excluded).
      two_qubit_gates: number of ISA operations acting on two or more qubits (barriers excluded).
      n_qubits: logical qubits (bits of an outcome index).
    """

    circuit: Any
    isa: Any
    layout: list[int]
    isa_hash: str
    depth: int
    two_qubit_gates: int
    n_qubits: int

    def record(self) -> dict:
        """JSON form without the circuits: layout, ISA hash, depth, two-qubit gate count, ISA operation counts."""
        return {"layout": list(self.layout), "isa_hash": self.isa_hash, "depth": self.depth,
                "two_qubit_gates": self.two_qubit_gates, "n_qubits": self.n_qubits,
                "isa_ops": {str(k): int(v) for k, v in self.isa.count_ops().items()}}


@dataclass
class CircuitsResult:
    """Counts of bound circuits run on a device backend (:meth:`AbstractDeviceBackend.run_circuits`).

    Attributes:
      counts: one array per circuit, shape (2**n_i,), int64, little-endian index
        (``k = sum_j b_j 2**j`` with ``b_j`` the bit of logical qubit j).
      shots: shots per circuit.
      backend: backend name.
      compiled: the compilation record of each circuit.
      metadata: backend-specific details (noise qubits, simulation method, job ids).
    """

    counts: list[np.ndarray]
    shots: int
    backend: str
    compiled: list[CompiledCircuit]
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class SampleResult:
    """Outcomes of one batch (one PUB on IBM hardware).

    Attributes:
      counts: outcome counts, shape (P, 2**n), int64, little-endian index.
      shots: shots per parameter set.
      n_qubits: n.
      backend: backend name that produced the data.
      memory: per-shot outcome indices, shape (P, shots), when requested; else None.
      metadata: backend-specific details (layout, job ids, transpiler settings).
    """

    counts: np.ndarray
    shots: int
    n_qubits: int
    backend: str
    memory: np.ndarray | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def bitstrings(self, index: int = 0) -> dict[str, int]:
        """qiskit-style ``{bitstring: count}`` of parameter set ``index`` (qubit 0 rightmost)."""
        row = self.counts[index]
        return {format(k, f"0{self.n_qubits}b"): int(c) for k, c in enumerate(row) if c}

    def bits(self) -> np.ndarray:
        """Per-shot bits, shape (P, shots, n) uint8 with ``bits[..., j]`` the bit of qubit j.

        Raises:
          BackendError: when the run did not keep per-shot memory.
        """
        if self.memory is None:
            raise BackendError("per-shot outcomes were not kept; run with memory=True")
        return ((self.memory[..., None] >> np.arange(self.n_qubits)) & 1).astype(np.uint8)


def _check_batch(protocol: Protocol, params: np.ndarray, phis: np.ndarray, shots: int) -> tuple[np.ndarray, np.ndarray]:
    params = np.atleast_2d(np.asarray(params, dtype=np.float64))
    if params.shape[1] != protocol.n_params:
        raise ValueError(f"params have shape {params.shape}; the protocol needs (P, {protocol.n_params})")
    phis = np.broadcast_to(np.asarray(phis, dtype=np.float64), (params.shape[0],)).copy()
    if int(shots) != shots or shots < 1:
        raise ValueError(f"shots = {shots}; accepted: integer >= 1")
    return params, phis


class AbstractBackend(abc.ABC):
    """A place that runs protocols: simulators, emulators, IBM Quantum.

    Subclasses implement :meth:`run`. ``name`` is the registry name used to
    build it (``local``, ``aer:fake_fez`` ...).
    """

    name: str = "abstract"
    noise_from_protocol: bool = True
    """True when the backend applies the protocol's own noise model (simulators);
    False when noise comes from the device or its calibrated emulation."""

    @abc.abstractmethod
    def run(self, protocol: Protocol, params: np.ndarray, phis: np.ndarray | float, shots: int, *,
            seed: int, memory: bool = False) -> SampleResult:
        """Run ``protocol`` for each parameter set (one batch / PUB).

        Args:
          protocol: the protocol.
          params: parameter sets, shape (P, n_params).
          phis: signal phase per qubit for each set, rad, shape (P,) or scalar.
          shots: shots per parameter set, >= 1.
          seed: seed for the sampling (same seed, same outcomes on simulators).
          memory: keep per-shot outcomes (``SampleResult.memory``).

        Returns:
          :class:`SampleResult`.

        Raises:
          ValueError: malformed params, phis or shots.
          BackendError: the backend failed.
        """

    @property
    def asynchronous(self) -> bool:
        """True for :class:`AbstractAsyncBackend` subclasses (kept for callers that read the flag;
        prefer ``isinstance(backend, AbstractAsyncBackend)``)."""
        return isinstance(self, AbstractAsyncBackend)

    def configure(self, **options: Any) -> "AbstractBackend":
        """Set compilation options before running (devices use them; simulators ignore them).

        Keys understood by device backends: ``optimization_level``,
        ``seed_transpiler``, ``initial_layout`` (physical qubit per sensor
        qubit), ``interrogation_time_s`` (delay before the encoding).

        Returns:
          ``self``, so calls chain.
        """
        return self

    def supports(self, protocol: Protocol) -> str | None:
        """Why this backend cannot run ``protocol``, or None when it can.

        Cheap (no simulation, no network): call it before optimizing.

        Returns:
          None, or a one-line reason naming the backend and what to use instead.
        """
        return None

    def preflight(self) -> None:
        """Check, before any work, what the backend needs on this machine (the job ledger for hardware).

        Synchronous backends need nothing.
        """
        return None

    def probabilities(self, protocol: Protocol, params: np.ndarray, phis: np.ndarray | float) -> np.ndarray:
        """Exact outcome probabilities, shape (P, 2**n), little-endian, where the backend can compute them.

        Raises:
          NotImplementedError: the backend only samples (devices, emulators).
        """
        raise NotImplementedError(f"backend {self.name!r} only samples; it has no exact probabilities")


TRANSPILE_OPTION_KEYS = ("optimization_level", "seed_transpiler", "initial_layout", "interrogation_time_s")
"""Keys :meth:`AbstractDeviceBackend.configure` accepts."""


def update_options(current: TranspileOptions, options: dict) -> TranspileOptions:
    """``current`` with ``options`` applied (keys of :data:`TRANSPILE_OPTION_KEYS`).

    Raises:
      ValueError: an unknown key (the message lists the accepted ones).
    """
    unknown = set(options) - set(TRANSPILE_OPTION_KEYS)
    if unknown:
        raise ValueError(f"unknown backend option(s) {sorted(unknown)}; accepted: {sorted(TRANSPILE_OPTION_KEYS)}")
    merged = {**current.__dict__, **options}
    if merged.get("initial_layout") is not None:
        merged["initial_layout"] = tuple(int(q) for q in merged["initial_layout"])
    return TranspileOptions(**merged)


class AbstractDeviceBackend(AbstractBackend):
    """A backend that runs the protocol's ISA circuit for a (real or emulated) device.

    Subclasses implement :attr:`device` (a qiskit ``BackendV2`` whose
    ``target`` is transpiled against) and :meth:`compile` (usually
    ``return self._compile_cached(protocol)``). Noise comes from the device,
    not from the protocol.

    Attributes:
      options: transpiler settings (:meth:`configure`).
    """

    noise_from_protocol = False

    def __init__(self) -> None:
        self.options = TranspileOptions()
        self._compiled: dict = {}

    @property
    @abc.abstractmethod
    def device(self):
        """The qiskit ``BackendV2`` (its ``target`` is used for transpilation)."""

    @abc.abstractmethod
    def compile(self, protocol: Protocol) -> "Compiled":
        """The protocol's ISA circuit for this device (transpiled once per structure and settings).

        Raises:
          ValueError: the initial layout does not fit the protocol or the device.
        """

    def configure(self, **options: Any) -> "AbstractDeviceBackend":
        """See :meth:`AbstractBackend.configure`.

        Raises:
          ValueError: an unknown option (the message lists the accepted ones).
        """
        self.options = update_options(self.options, options)
        return self

    def _compile_cached(self, protocol: Protocol) -> "Compiled":
        from qlearn_sense.backends import _compile

        key = (_compile.structural_key(protocol), self.options)
        if key not in self._compiled:
            self._compiled[key] = _compile.transpile_protocol(protocol, self.device.target, self.options)
        return self._compiled[key]

    def _target_for_checks(self):
        """The device target when it is at hand without network access (None otherwise)."""
        return self.device.target

    def circuit_fits(self, n_qubits: int, what: str = "the circuit") -> str | None:
        """Why a circuit of ``n_qubits`` qubits cannot run on this device, or None (cheap, no network).

        Args:
          n_qubits: logical qubits of the circuit.
          what: how the message names the circuit (``"the 2 x 2 network"``).

        Returns:
          None when it fits (or the device size is not known without a connection), else
          one line naming the backend, its qubit count and the circuit's.
        """
        target = self._target_for_checks()
        size = getattr(target, "num_qubits", None)
        if size is not None and n_qubits > size:
            return f"backend {self.name!r} has {size} qubits; {what} needs {n_qubits}"
        return None

    def compile_circuits(self, circuits: list) -> list[CompiledCircuit]:
        """Transpile bound circuits to the device's ISA with the preset pass manager.

        Uses this backend's :attr:`options` (``optimization_level``,
        ``seed_transpiler``; ``initial_layout`` only when its length equals the
        circuit's qubit count; the interrogation delay is not inserted: these
        circuits are not protocols).

        Args:
          circuits: qiskit ``QuantumCircuit`` objects without free parameters,
            measured into a classical register named ``meas`` (``measure_all``).

        Returns:
          One :class:`CompiledCircuit` per circuit, in order.

        Raises:
          ValueError: a circuit has free parameters or no ``meas`` register.
          BackendError: a circuit needs more qubits than the device has (the
            message names the backend and both qubit counts).
        """
        from qiskit.transpiler import generate_preset_pass_manager

        from qlearn_sense.backends._compile import circuit_hash

        out = []
        target = self.device.target
        for i, qc in enumerate(circuits):
            if qc.num_parameters:
                raise ValueError(f"circuit {i} ({qc.name}) has free parameters {sorted(p.name for p in qc.parameters)}"
                                 "; bind them first (run_circuits takes bound circuits)")
            if "meas" not in [c.name for c in qc.cregs]:
                raise ValueError(f"circuit {i} ({qc.name}) has no classical register 'meas'; add measure_all()")
            n = qc.num_qubits
            if target.num_qubits is not None and n > target.num_qubits:
                raise BackendError(f"backend {self.name!r} has {target.num_qubits} qubits; circuit {qc.name!r} "
                                   f"needs {n}")
            layout = self.options.initial_layout
            layout = list(layout) if layout is not None and len(layout) == n else None
            pm = generate_preset_pass_manager(optimization_level=self.options.optimization_level, target=target,
                                              seed_transpiler=self.options.seed_transpiler, initial_layout=layout)
            isa = pm.run(qc)
            if isa.layout is not None:
                final = isa.layout.final_index_layout(filter_ancillas=True)
                phys = [int(final[j]) for j in range(n)]
            else:
                phys = list(range(n))
            real = [inst for inst in isa.data if inst.operation.name != "barrier"]
            out.append(CompiledCircuit(
                circuit=qc, isa=isa, layout=phys, isa_hash=circuit_hash(isa),
                depth=int(isa.depth(lambda inst: inst.operation.name != "barrier")),
                two_qubit_gates=sum(1 for inst in real if len(inst.qubits) >= 2), n_qubits=n))
        return out

    @abc.abstractmethod
    def run_circuits(self, circuits: list, shots: int, *, seed: int) -> CircuitsResult:
        """Run bound circuits (not protocols) on the device: compile each to its ISA, sample, count.

        Noise is the device's (or its emulation's): nothing the circuits do not
        contain is inserted.

        Args:
          circuits: bound qiskit circuits measured into ``meas`` (see :meth:`compile_circuits`).
          shots: shots per circuit, >= 1.
          seed: sampling seed (simulators; circuit i uses ``seed + i``).

        Returns:
          :class:`CircuitsResult` (counts little-endian, one array per circuit).

        Raises:
          ValueError: shots < 1, free parameters, or no ``meas`` register.
          BackendError: a circuit does not fit on the device, or the backend failed.
        """

    def supports(self, protocol: Protocol) -> str | None:
        """See :meth:`AbstractBackend.supports`: register size and initial layout against the device."""
        n = protocol.n_qubits
        layout = self.options.initial_layout
        if layout is not None and len(layout) != n:
            return (f"backend {self.name!r}: the initial layout {list(layout)} has {len(layout)} qubits; "
                    f"the protocol has {n}")
        target = self._target_for_checks()
        size = getattr(target, "num_qubits", None)
        if size is None:
            return None
        if n > size:
            return f"backend {self.name!r} has {size} qubits; the protocol needs {n}"
        if layout is not None and any(not 0 <= q < size for q in layout):
            return (f"backend {self.name!r}: the initial layout {list(layout)} names qubits outside "
                    f"0..{size - 1}")
        return None


def check_shots(shots: int) -> int:
    """``shots`` as an int.

    Raises:
      ValueError: not an integer >= 1.
    """
    if int(shots) != shots or shots < 1:
        raise ValueError(f"shots = {shots}; accepted: integer >= 1")
    return int(shots)


class AbstractAsyncBackend(AbstractBackend):
    """A backend that queues jobs on remote hardware and finishes them later.

    Every submission is recorded in a durable job ledger (:attr:`ledger`)
    before it is awaited: :meth:`submit` returns at once with the ledger
    record, :meth:`refresh` updates its status, :meth:`result` downloads a
    finished job. :meth:`run` does all of it and waits (an ad-hoc run).
    """

    @property
    @abc.abstractmethod
    def ledger(self) -> "JobLedger":
        """The job ledger the backend records submissions in."""

    @abc.abstractmethod
    def connect(self) -> "AbstractAsyncBackend":
        """Reach the service now, so account and network problems surface before any work.

        Returns:
          ``self``.
        """

    @abc.abstractmethod
    def submit(self, protocol: Protocol, params: np.ndarray, phis, shots: int, *, seed: int | None,
               run_dir: str | Path, run_id: str, config_name: str | None = None, config_hash: str | None = None,
               pub: int = 0) -> "JobRecord":
        """Submit one PUB of a run (never twice) and return its ledger record."""

    @abc.abstractmethod
    def refresh(self, record: "JobRecord") -> "JobRecord":
        """Ask the service for the job's status and record it."""

    @abc.abstractmethod
    def result(self, record: "JobRecord", n_qubits: int) -> SampleResult:
        """Download a finished job's outcomes."""

    def preflight(self) -> None:
        """Check that the job ledger can be written now (before optimizing).

        Raises:
          qlearn_sense.backends.LedgerError: the ledger's folder cannot be
            written, the file is not a ledger, or another process holds it
            locked; the one-line message names the path.
        """
        self.ledger.check()

    def wait(self, record: "JobRecord", *, timeout_s: float | None = None, poll_s: float = 5.0) -> "JobRecord":
        """Poll :meth:`refresh` until the job is final or ``timeout_s`` (s) passes.

        Returns:
          The last record seen (final, or not when the time ran out).
        """
        start = time.monotonic()
        while True:
            record = self.refresh(record)
            if record.final or (timeout_s is not None and time.monotonic() - start >= timeout_s):
                return record
            time.sleep(poll_s)

    def run(self, protocol: Protocol, params: np.ndarray, phis, shots: int, *, seed: int,
            memory: bool = False) -> SampleResult:
        """Submit, wait and download (the job is still recorded in the ledger, as an ad-hoc run).

        See :meth:`AbstractBackend.run`.
        """
        run_id = "adhoc-" + uuid.uuid4().hex[:12]
        run_dir = self.ledger.path.parent / "adhoc" / run_id
        record = self.submit(protocol, params, phis, shots, seed=seed, run_dir=run_dir, run_id=run_id)
        record = self.wait(record)
        sample = self.result(record, protocol.n_qubits)
        if not memory:
            sample.memory = None
        return sample


def require_async(backend: AbstractBackend, action: str, *, run_dir: str | Path | None = None) -> AbstractAsyncBackend:
    """``backend`` when it is asynchronous; a clear error otherwise.

    For commands that only make sense for hardware runs (``fetch``,
    ``resubmit``): a run on a synchronous backend has no jobs and no ledger.

    Args:
      backend: the backend a run used.
      action: what was asked (``"resubmit"``, ``"fetch"``).
      run_dir: the run folder, for the message.

    Returns:
      ``backend``, typed as :class:`AbstractAsyncBackend`.

    Raises:
      BackendError: the backend runs synchronously (one line: the run, the
        backend, nothing to do).
    """
    if isinstance(backend, AbstractAsyncBackend):
        return backend
    run = f"run {run_dir}" if run_dir is not None else "the run"
    raise BackendError(f"{run} used backend {backend.name!r}, which runs synchronously; nothing to {action}")
