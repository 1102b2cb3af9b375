"""Execution backends (the only impure layer): simulators, emulators, IBM Quantum.

Outcome indices are little-endian (qiskit's order) on every backend. Backends
by registry name (:func:`get_backend`): ``local``, ``pennylane:<device>``,
``aer``, ``aer:<fake-backend>``, ``ibm-local:<fake-backend>``, ``ibm:<backend>``.
What a backend can do is its class: :class:`AbstractDeviceBackend` (compiles
to a device's ISA circuit), :class:`AbstractAsyncBackend` (submits jobs,
records them in a :class:`JobLedger`, fetches them later). The IBM account
handling lives in :mod:`qlearn_sense.backends.ibm`.

Importing this package is nearly free: each public name loads its module on
first use (PEP 562), so the name checks (:func:`check_backend_for_config`,
:func:`backend_names`, :func:`fake_device_names`) import only the standard
library, and qiskit-aer / qiskit-ibm-runtime load only when a backend that
needs them runs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs; at run time names load lazily
    from qlearn_sense.backends._aer import AerBackend, AerDeviceBackend, noisy_protocol_circuit, protocol_noise_model
    from qlearn_sense.backends._base import (
        AbstractAsyncBackend,
        AbstractBackend,
        AbstractDeviceBackend,
        BackendError,
        SampleResult,
        require_async,
    )
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
        fake_device_names,
        fake_device_qubits,
        noise_from_target,
        reduced_target,
        restricted_noise_model,
    )
    from qlearn_sense.backends._ledger import (
        FINAL_STATUSES,
        LEDGER_ENV,
        JobLedger,
        JobRecord,
        LedgerError,
        default_ledger_path,
    )
    from qlearn_sense.backends._local import LocalBackend, exact_probs, sample_counts
    from qlearn_sense.backends._pennylane import PENNYLANE_DEVICES, PennyLaneBackend, make_qnode
    from qlearn_sense.backends._refresh import refresh_records
    from qlearn_sense.backends._registry import (
        available_backends,
        backend_names,
        check_backend_for_config,
        get_backend,
        override_backend,
        register_backend,
    )
    from qlearn_sense.backends._retry import DEFAULT_RETRY, RetryPolicy, call_with_retry
    from qlearn_sense.backends._runtime import IBMLocalBackend, IBMRuntimeBackend, JobUnknownError
    from qlearn_sense.backends.ibm import AccountError, SubmissionError

_LAZY = {
    "AbstractAsyncBackend": "_base",
    "AbstractBackend": "_base",
    "AbstractDeviceBackend": "_base",
    "AccountError": "ibm",
    "active_qubits": "_compile",
    "AerBackend": "_aer",
    "AerDeviceBackend": "_aer",
    "available_backends": "_registry",
    "backend_names": "_registry",
    "BackendError": "_base",
    "calibrated_noise": "_devices",
    "call_with_retry": "_retry",
    "check_backend_for_config": "_registry",
    "compact_circuit": "_compile",
    "Compiled": "_compile",
    "counts_from_primitive_result": "_compile",
    "default_ledger_path": "_ledger",
    "DEFAULT_RETRY": "_retry",
    "device_circuit": "_compile",
    "exact_probs": "_local",
    "fake_backend": "_devices",
    "fake_backend_names": "_devices",
    "fake_device_names": "_names",
    "fake_device_qubits": "_names",
    "FINAL_STATUSES": "_ledger",
    "get_backend": "_registry",
    "IBMLocalBackend": "_runtime",
    "IBMRuntimeBackend": "_runtime",
    "isa_observable": "_compile",
    "JobLedger": "_ledger",
    "JobRecord": "_ledger",
    "JobUnknownError": "_runtime",
    "LEDGER_ENV": "_ledger",
    "LedgerError": "_ledger",
    "LocalBackend": "_local",
    "make_qnode": "_pennylane",
    "noise_from_target": "_devices",
    "noisy_protocol_circuit": "_aer",
    "override_backend": "_registry",
    "PENNYLANE_DEVICES": "_pennylane",
    "PennyLaneBackend": "_pennylane",
    "protocol_noise_model": "_aer",
    "pub_values": "_compile",
    "reduced_target": "_devices",
    "refresh_records": "_refresh",
    "register_backend": "_registry",
    "require_async": "_base",
    "restricted_noise_model": "_devices",
    "RetryPolicy": "_retry",
    "sample_counts": "_local",
    "SampleResult": "_base",
    "SubmissionError": "ibm",
    "transpile_protocol": "_compile",
    "TranspileOptions": "_compile",
}
"""Public name -> private module that defines it."""

__all__ = [
    "DEFAULT_RETRY",
    "FINAL_STATUSES",
    "LEDGER_ENV",
    "PENNYLANE_DEVICES",
    "AbstractAsyncBackend",
    "AbstractBackend",
    "AbstractDeviceBackend",
    "AccountError",
    "AerBackend",
    "AerDeviceBackend",
    "BackendError",
    "Compiled",
    "IBMLocalBackend",
    "IBMRuntimeBackend",
    "JobLedger",
    "JobRecord",
    "JobUnknownError",
    "LedgerError",
    "LocalBackend",
    "PennyLaneBackend",
    "RetryPolicy",
    "SampleResult",
    "SubmissionError",
    "TranspileOptions",
    "active_qubits",
    "available_backends",
    "backend_names",
    "calibrated_noise",
    "call_with_retry",
    "check_backend_for_config",
    "compact_circuit",
    "counts_from_primitive_result",
    "default_ledger_path",
    "device_circuit",
    "exact_probs",
    "fake_backend",
    "fake_backend_names",
    "fake_device_names",
    "fake_device_qubits",
    "get_backend",
    "isa_observable",
    "make_qnode",
    "noise_from_target",
    "noisy_protocol_circuit",
    "override_backend",
    "protocol_noise_model",
    "pub_values",
    "reduced_target",
    "refresh_records",
    "register_backend",
    "require_async",
    "restricted_noise_model",
    "sample_counts",
    "transpile_protocol",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'qlearn_sense.backends' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"qlearn_sense.backends.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
