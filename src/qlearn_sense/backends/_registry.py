"""Backends found by name: ``local``, ``pennylane:<device>``, ``aer``, ``aer:<fake>``,
``ibm-local:<fake>``, ``ibm:<backend>``."""

from __future__ import annotations

from typing import Callable

from qlearn_sense.backends._base import AbstractBackend
from qlearn_sense.backends._local import LocalBackend

_FACTORIES: dict[str, Callable[[str | None], AbstractBackend]] = {}
_DESCRIPTIONS: dict[str, str] = {}


def register_backend(prefix: str, factory: Callable[[str | None], AbstractBackend], description: str) -> None:
    """Register a backend family: ``factory(argument_after_colon_or_None) -> backend``."""
    _FACTORIES[prefix] = factory
    _DESCRIPTIONS[prefix] = description


def available_backends() -> dict[str, str]:
    """Backend name patterns and what they are."""
    return dict(_DESCRIPTIONS)


def get_backend(name: str) -> AbstractBackend:
    """Build a backend from its registry name.

    Raises:
      ValueError: unknown name or a missing/invalid argument; the message lists
        every valid pattern.
    """
    prefix, _, arg = name.partition(":")
    if prefix not in _FACTORIES:
        valid = "; ".join(f"{k}: {v}" for k, v in _DESCRIPTIONS.items())
        raise ValueError(f"backend {name!r} is unknown; accepted: {valid}")
    return _FACTORIES[prefix](arg or None)


def _local(arg: str | None) -> AbstractBackend:
    if arg:
        raise ValueError(f"backend 'local' takes no argument (got 'local:{arg}')")
    return LocalBackend()


register_backend("local", _local, "'local' (embedded JAX simulator, default)")


def _pennylane(arg: str | None) -> AbstractBackend:
    from qlearn_sense.backends._pennylane import PENNYLANE_DEVICES, PennyLaneBackend

    if not arg:
        raise ValueError("backend 'pennylane:<device>' needs a device; accepted: "
                         + ", ".join(f"pennylane:{d}" for d in PENNYLANE_DEVICES))
    return PennyLaneBackend(arg)


def _aer(arg: str | None) -> AbstractBackend:
    from qlearn_sense.backends._aer import AerBackend, AerDeviceBackend

    return AerBackend() if not arg else AerDeviceBackend(arg)


def _ibm_local(arg: str | None) -> AbstractBackend:
    from qlearn_sense.backends._runtime import IBMLocalBackend

    if not arg:
        raise ValueError("backend 'ibm-local:<fake-backend>' needs a fake device, e.g. 'ibm-local:fake_fez'")
    return IBMLocalBackend(arg)


def _ibm(arg: str | None) -> AbstractBackend:
    from qlearn_sense.backends._runtime import IBMRuntimeBackend

    if not arg:
        raise ValueError("backend 'ibm:<backend>' needs a device name, e.g. 'ibm:ibm_fez'")
    return IBMRuntimeBackend(arg)


register_backend("pennylane", _pennylane,
                 "'pennylane:<device>' (PennyLane QNode; default.mixed with the protocol's noise, "
                 "default.qubit and lightning.qubit noiseless)")
register_backend("aer", _aer, "'aer' (AerSimulator, density matrix, the protocol's noise) or 'aer:<fake-backend>' "
                              "(AerSimulator with a qiskit-ibm-runtime fake device's noise, e.g. 'aer:fake_fez')")
register_backend("ibm-local", _ibm_local, "'ibm-local:<fake-backend>' (qiskit-ibm-runtime local testing mode, "
                                          "e.g. 'ibm-local:fake_fez')")
register_backend("ibm", _ibm, "'ibm:<backend>' (IBM Quantum hardware through QiskitRuntimeService, "
                              "e.g. 'ibm:ibm_fez'; asynchronous, recorded in the job ledger)")
