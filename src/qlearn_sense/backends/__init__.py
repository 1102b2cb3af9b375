"""Execution backends (the only impure layer): simulators, emulators, IBM Quantum.

Outcome indices are little-endian (qiskit's order) on every backend.
"""

from qlearn_sense.backends._base import AbstractBackend, BackendError, SampleResult
from qlearn_sense.backends._local import LocalBackend, exact_probs, sample_counts
from qlearn_sense.backends._registry import available_backends, get_backend, register_backend

__all__ = [
    "AbstractBackend",
    "BackendError",
    "LocalBackend",
    "SampleResult",
    "available_backends",
    "exact_probs",
    "get_backend",
    "register_backend",
    "sample_counts",
]
