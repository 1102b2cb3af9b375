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
