"""Backends found by name: ``local``, ``pennylane:<device>``, ``aer``, ``aer:<fake>``,
``ibm-local:<fake>``, ``ibm:<backend>``.

Building a backend imports only what it needs (qiskit-aer when an Aer backend
runs, qiskit-ibm-runtime when an IBM backend runs); this module and the name
checks (:func:`backend_names`, :func:`fake_device_names`,
:func:`check_backend_for_config`) import only the standard library.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Iterator

from qlearn_sense.backends._names import (
    PENNYLANE_DEVICES,
    fake_device_names,
    fake_device_qubits,
    normalize_fake_name,
    pennylane_noise_reason,
)

if TYPE_CHECKING:  # pragma: no cover - types only
    from qlearn_sense.backends._base import AbstractBackend

_FACTORIES: dict[str, Callable[..., AbstractBackend]] = {}
_DESCRIPTIONS: dict[str, str] = {}

INJECTABLE = ("service", "service_factory", "retry", "ledger")
"""Keyword arguments :func:`get_backend` hands to asynchronous backends' constructors
(synchronous backends accept and ignore them)."""


def register_backend(prefix: str, factory: Callable[..., AbstractBackend], description: str) -> None:
    """Register a backend family: ``factory(argument_after_colon_or_None, **injected) -> backend``.

    Args:
      prefix: the name before the colon (``aer``).
      factory: builds the backend; it receives the keyword arguments given to
        :func:`get_backend` (``service``, ``retry``, ``ledger`` ...) when there are any.
      description: one line for error messages and ``--help``.
    """
    _FACTORIES[prefix] = factory
    _DESCRIPTIONS[prefix] = description


@contextmanager
def override_backend(prefix: str, factory: Callable[..., AbstractBackend],
                     description: str | None = None) -> Iterator[None]:
    """Use ``factory`` for ``prefix`` inside the block, then restore what was registered.

    For tests and embedding applications that must hand every ``ibm:`` backend
    the same service (a test double) without changing module state for good::

        with override_backend("ibm", lambda arg, **kw: IBMRuntimeBackend(arg, service=double, **kw)):
            run_experiment(config, backend="ibm:ibm_fez")
    """
    old = (_FACTORIES.get(prefix), _DESCRIPTIONS.get(prefix))
    register_backend(prefix, factory, description or _DESCRIPTIONS.get(prefix, f"'{prefix}' (overridden)"))
    try:
        yield
    finally:
        if old[0] is None:
            _FACTORIES.pop(prefix, None)
            _DESCRIPTIONS.pop(prefix, None)
        else:
            register_backend(prefix, old[0], old[1])


def available_backends() -> dict[str, str]:
    """Backend name patterns and what they are."""
    return dict(_DESCRIPTIONS)


def backend_names() -> list[str]:
    """Accepted backend names and patterns, e.g. ``local``, ``pennylane:default.mixed``, ``aer:<fake-device>``.

    Cheap: imports neither qiskit-aer nor qiskit-ibm-runtime. Families
    registered later appear as ``<prefix>`` or ``<prefix>:<argument>``.
    """
    builtin = {
        "local": ["local"],
        "pennylane": [f"pennylane:{d}" for d in PENNYLANE_DEVICES],
        "aer": ["aer", "aer:<fake-device>"],
        "ibm-local": ["ibm-local:<fake-device>"],
        "ibm": ["ibm:<device>"],
    }
    out: list[str] = []
    for prefix in _FACTORIES:
        out.extend(builtin.get(prefix, [prefix]))
    return out


def _unknown_message(name: str) -> str:
    valid = "; ".join(f"{k}: {v}" for k, v in _DESCRIPTIONS.items())
    fakes = ", ".join(fake_device_names())
    return (f"backend {name!r} is unknown; accepted: {valid}. Names: {', '.join(backend_names())}; "
            f"fake devices for aer:/ibm-local:: {fakes}")


def get_backend(name: str, **injected: Any) -> AbstractBackend:
    """Build a backend from its registry name.

    Args:
      name: ``local``, ``pennylane:<device>``, ``aer``, ``aer:<fake>``,
        ``ibm-local:<fake>``, ``ibm:<device>`` (or a registered family).
      **injected: given to the backend's constructor: ``service`` (a
        ``QiskitRuntimeService`` or test double), ``service_factory``,
        ``retry`` (:class:`RetryPolicy`), ``ledger`` (:class:`JobLedger`).
        Used by ``ibm:``; accepted and ignored by synchronous backends.

    Raises:
      ValueError: unknown name or a missing/invalid argument; the message lists
        every valid pattern and the fake device names.
      TypeError: a keyword argument outside :data:`INJECTABLE`.
    """
    unknown = set(injected) - set(INJECTABLE)
    if unknown:
        raise TypeError(f"get_backend() got unexpected keyword(s) {sorted(unknown)}; accepted: {list(INJECTABLE)}")
    prefix, _, arg = name.partition(":")
    if prefix not in _FACTORIES:
        raise ValueError(_unknown_message(name))
    factory = _FACTORIES[prefix]
    return factory(arg or None, **injected) if injected else factory(arg or None)


def _fake_reason(prefix: str, arg: str | None, n_qubits: int | None) -> str | None:
    if not arg:
        return (f"backend '{prefix}:<fake-backend>' needs a fake device, e.g. '{prefix}:fake_fez'; accepted "
                f"devices: {', '.join(fake_device_names())}")
    key = normalize_fake_name(arg)
    if key not in fake_device_names():
        return f"fake backend {arg!r} is unknown; accepted: {', '.join(fake_device_names())}"
    size = fake_device_qubits(key)
    if n_qubits is not None and size is not None and n_qubits > size:
        return f"backend '{prefix}:{key}' has {size} qubits; the protocol needs {n_qubits}"
    return None


def check_backend_for_config(name: str, *, noisy: bool, n_qubits: int) -> str | None:
    """Why backend ``name`` cannot run a config's protocol, or None; without building anything.

    For ``validate`` and for the runner before any optimization: unknown
    names, missing arguments, unknown fake devices, a register larger than the
    fake device, and noise on a PennyLane state-vector device. ``ibm:<device>``
    is checked only for its form (the device needs an account and network).

    Args:
      name: the backend name.
      noisy: the protocol has noise (dephasing, damping or readout errors;
        ``not Noise.is_ideal``). Device backends use the device's noise instead.
      n_qubits: the protocol's register size.

    Returns:
      None, or a one-line reason naming the backend and what is accepted.
    """
    prefix, _, arg = name.partition(":")
    arg = arg or None
    if prefix not in _FACTORIES:
        return _unknown_message(name)
    if prefix == "local":
        return f"backend 'local' takes no argument (got {name!r})" if arg else None
    if prefix == "pennylane":
        if arg not in PENNYLANE_DEVICES:
            return (f"backend {name!r} needs a PennyLane device; accepted: "
                    + ", ".join(f"pennylane:{d}" for d in PENNYLANE_DEVICES))
        return pennylane_noise_reason(arg, noisy)
    if prefix == "aer":
        return None if arg is None else _fake_reason("aer", arg, n_qubits)
    if prefix == "ibm-local":
        return _fake_reason("ibm-local", arg, n_qubits)
    if prefix == "ibm":
        return None if arg else "backend 'ibm:<backend>' needs a device name, e.g. 'ibm:ibm_fez'"
    return None


# Synchronous families accept the injected keywords (service, retry, ledger) and ignore them.


def _local(arg: str | None, **injected: Any) -> AbstractBackend:
    from qlearn_sense.backends._local import LocalBackend

    if arg:
        raise ValueError(f"backend 'local' takes no argument (got 'local:{arg}')")
    return LocalBackend()


def _pennylane(arg: str | None, **injected: Any) -> AbstractBackend:
    from qlearn_sense.backends._pennylane import PennyLaneBackend

    if not arg:
        raise ValueError("backend 'pennylane:<device>' needs a device; accepted: "
                         + ", ".join(f"pennylane:{d}" for d in PENNYLANE_DEVICES))
    return PennyLaneBackend(arg)


def _aer(arg: str | None, **injected: Any) -> AbstractBackend:
    from qlearn_sense.backends._aer import AerBackend, AerDeviceBackend

    return AerBackend() if not arg else AerDeviceBackend(arg)


def _ibm_local(arg: str | None, **injected: Any) -> AbstractBackend:
    from qlearn_sense.backends._runtime import IBMLocalBackend

    if not arg:
        raise ValueError("backend 'ibm-local:<fake-backend>' needs a fake device, e.g. 'ibm-local:fake_fez'")
    return IBMLocalBackend(arg)


def _ibm(arg: str | None, **injected: Any) -> AbstractBackend:
    from qlearn_sense.backends._runtime import IBMRuntimeBackend

    if not arg:
        raise ValueError("backend 'ibm:<backend>' needs a device name, e.g. 'ibm:ibm_fez'")
    return IBMRuntimeBackend(arg, **injected)


register_backend("local", _local, "'local' (embedded JAX simulator, default)")
register_backend("pennylane", _pennylane,
                 "'pennylane:<device>' (PennyLane QNode; default.mixed with the protocol's noise, "
                 "default.qubit and lightning.qubit noiseless)")
register_backend("aer", _aer, "'aer' (AerSimulator, density matrix, the protocol's noise) or 'aer:<fake-backend>' "
                              "(AerSimulator with a qiskit-ibm-runtime fake device's noise, e.g. 'aer:fake_fez')")
register_backend("ibm-local", _ibm_local, "'ibm-local:<fake-backend>' (qiskit-ibm-runtime local testing mode, "
                                          "e.g. 'ibm-local:fake_fez')")
register_backend("ibm", _ibm, "'ibm:<backend>' (IBM Quantum hardware through QiskitRuntimeService, "
                              "e.g. 'ibm:ibm_fez'; asynchronous, recorded in the job ledger)")
