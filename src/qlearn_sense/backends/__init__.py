"""Execution backends (the only impure layer): simulators, emulators, IBM Quantum.

Outcome indices are little-endian (qiskit's order) on every backend. Backends
by registry name (:func:`get_backend`): ``local``, ``pennylane:<device>``,
``aer``, ``aer:<fake-backend>``, ``ibm-local:<fake-backend>``, ``ibm:<backend>``.
The IBM account handling lives in :mod:`qlearn_sense.backends.ibm`.
"""

from qlearn_sense.backends._aer import AerBackend, AerDeviceBackend, noisy_protocol_circuit, protocol_noise_model
from qlearn_sense.backends._base import AbstractBackend, BackendError, SampleResult
from qlearn_sense.backends._compile import (
    Compiled,
    TranspileOptions,
    active_qubits,
    compact_circuit,
    counts_from_primitive_result,
    device_circuit,
    isa_observable,
    pub_values,
    transpile_protocol,
)
from qlearn_sense.backends._devices import (
    calibrated_noise,
    fake_backend,
    fake_backend_names,
    noise_from_target,
    reduced_target,
    restricted_noise_model,
)
from qlearn_sense.backends._ledger import FINAL_STATUSES, LEDGER_ENV, JobLedger, JobRecord, default_ledger_path
from qlearn_sense.backends._local import LocalBackend, exact_probs, sample_counts
from qlearn_sense.backends._pennylane import PENNYLANE_DEVICES, PennyLaneBackend, make_qnode
from qlearn_sense.backends._registry import available_backends, get_backend, register_backend
from qlearn_sense.backends._runtime import (
    DEFAULT_RETRY,
    IBMLocalBackend,
    IBMRuntimeBackend,
    RetryPolicy,
    call_with_retry,
    refresh_records,
)
from qlearn_sense.backends.ibm import AccountError, SubmissionError

__all__ = [
    "DEFAULT_RETRY",
    "FINAL_STATUSES",
    "LEDGER_ENV",
    "PENNYLANE_DEVICES",
    "AbstractBackend",
    "AccountError",
    "AerBackend",
    "AerDeviceBackend",
    "BackendError",
    "Compiled",
    "IBMLocalBackend",
    "IBMRuntimeBackend",
    "JobLedger",
    "JobRecord",
    "LocalBackend",
    "PennyLaneBackend",
    "RetryPolicy",
    "SampleResult",
    "SubmissionError",
    "TranspileOptions",
    "active_qubits",
    "available_backends",
    "calibrated_noise",
    "call_with_retry",
    "compact_circuit",
    "counts_from_primitive_result",
    "default_ledger_path",
    "device_circuit",
    "exact_probs",
    "fake_backend",
    "fake_backend_names",
    "get_backend",
    "isa_observable",
    "make_qnode",
    "noise_from_target",
    "noisy_protocol_circuit",
    "protocol_noise_model",
    "pub_values",
    "reduced_target",
    "refresh_records",
    "register_backend",
    "restricted_noise_model",
    "sample_counts",
    "transpile_protocol",
]
