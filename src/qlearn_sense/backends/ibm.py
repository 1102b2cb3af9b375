"""IBM Quantum accounts: the runtime service, clear account errors, secrets kept out of output.

The service is created by :func:`create_service` (through
:data:`service_factory`, the default of every IBM backend); tests and callers
that hold a service give it to the backend instead
(``IBMRuntimeBackend("ibm_fez", service=...)``, ``get_backend(name, service=...)``).
Credentials come from, in order:

1. ``QISKIT_IBM_TOKEN`` (with optional ``QISKIT_IBM_INSTANCE``,
   ``QISKIT_IBM_CHANNEL``, ``QISKIT_IBM_URL``), read by qiskit-ibm-runtime;
2. a saved account in ``~/.qiskit/qiskit-ibm.json``
   (``QiskitRuntimeService.save_account``; note it stores the token in plain
   text, readable by others with the default mode 0644: ``chmod 600`` it).

A token never appears in messages, logs, results or the job ledger:
:func:`redact` removes every known secret from text before it leaves this module.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any, Callable

from qlearn_sense.backends._base import BackendError

TOKEN_ENV = "QISKIT_IBM_TOKEN"
INSTANCE_ENV = "QISKIT_IBM_INSTANCE"
CHANNEL_ENV = "QISKIT_IBM_CHANNEL"
URL_ENV = "QISKIT_IBM_URL"
ACCOUNT_FILE = Path("~/.qiskit/qiskit-ibm.json")
"""Where ``QiskitRuntimeService.save_account`` writes accounts."""

_HOSTS = (("iam.cloud.ibm.com", 443), ("quantum.cloud.ibm.com", 443))


class AccountError(BackendError, ValueError):
    """No usable IBM Quantum account: missing, rejected, or the service is unreachable.

    The message says which variable or file to set (or that the network is
    down); it never contains a token. Also a ``ValueError`` so command-line
    front ends report it as a user error.
    """


class SubmissionError(BackendError, ValueError):
    """A job could not be submitted or retrieved (after retries where the failure was transient).

    Attributes:
      kind: ``"transient"``, ``"auth"``, ``"input"`` or ``"fatal"`` (see :func:`classify_error`).
    """

    def __init__(self, message: str, kind: str = "fatal"):
        super().__init__(message)
        self.kind = kind


def _secrets() -> list[str]:
    out = []
    token = os.environ.get(TOKEN_ENV)
    if token:
        out.append(token)
    try:
        data = json.loads(ACCOUNT_FILE.expanduser().read_text())
        for acc in data.values() if isinstance(data, dict) else ():
            if isinstance(acc, dict) and acc.get("token"):
                out.append(str(acc["token"]))
    except (OSError, ValueError):
        pass
    return [s for s in out if len(s) >= 4]


def redact(text: Any, secrets: list[str] | None = None) -> str:
    """``text`` as a string with every known token replaced by ``***``.

    Known tokens: ``QISKIT_IBM_TOKEN`` and those in the saved-account file,
    plus ``secrets``.
    """
    s = str(text)
    for secret in sorted(set(_secrets() + list(secrets or [])), key=len, reverse=True):
        s = s.replace(secret, "***")
    return s


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def is_connection_error(exc: BaseException) -> bool:
    """True when the exception (or anything in its cause chain) is a network failure."""
    try:
        import requests

        req = (requests.exceptions.ConnectionError, requests.exceptions.Timeout)
    except ImportError:  # pragma: no cover - requests comes with qiskit-ibm-runtime
        req = ()
    for e in _chain(exc):
        if isinstance(e, req + (ConnectionError, TimeoutError, socket.gaierror, socket.timeout)):
            return True
        name = type(e).__name__
        if name in ("NewConnectionError", "NameResolutionError", "MaxRetryError", "ConnectTimeoutError"):
            return True
    return False


def _status_code(exc: BaseException) -> int | None:
    for e in _chain(exc):
        code = getattr(e, "status_code", None)
        if isinstance(code, int) and code > 0:
            return code
        resp = getattr(e, "response", None)
        code = getattr(resp, "status_code", None)
        if isinstance(code, int) and code > 0:
            return code
    return None


def classify_error(exc: BaseException) -> str:
    """How to treat a failure of an IBM call.

    Returns:
      ``"transient"`` (network failures, HTTP 429 and 5xx: retry with back-off),
      ``"auth"`` (401/403, rejected or missing account: do not retry),
      ``"input"`` (invalid input, non-ISA circuits, HTTP 400/404/422: do not retry),
      or ``"fatal"`` (anything else: do not retry).
    """
    from qiskit_ibm_runtime.accounts.exceptions import AccountsError
    from qiskit_ibm_runtime.exceptions import IBMInputValueError, IBMNotAuthorizedError

    code = _status_code(exc)
    if code in (401, 403) or isinstance(exc, (IBMNotAuthorizedError, AccountError)):
        return "auth"
    if code is not None and (code == 429 or code >= 500):
        return "transient"
    if is_connection_error(exc):
        return "transient"
    if isinstance(exc, AccountsError):
        return "auth"
    if isinstance(exc, (IBMInputValueError, ValueError, TypeError)) or code in (400, 404, 409, 422):
        return "input"
    return "fatal"


def saved_account_exists() -> bool:
    """True when ``~/.qiskit/qiskit-ibm.json`` holds at least one account."""
    try:
        data = json.loads(ACCOUNT_FILE.expanduser().read_text())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and bool(data)


def network_reachable(timeout: float = 3.0) -> tuple[bool, str]:
    """Whether IBM Quantum's API hosts accept a TCP connection, and why not."""
    last = ""
    for host, port in _HOSTS:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                return True, ""
        except OSError as exc:
            last = f"{host}:{port}: {exc}"
    return False, last


def _account_hint() -> str:
    return (f"set {TOKEN_ENV} (and {INSTANCE_ENV} for your instance CRN, {CHANNEL_ENV} for the channel) "
            f"or save an account with QiskitRuntimeService.save_account(...) in {ACCOUNT_FILE}")


def explain_service_error(exc: BaseException, *, source: str,
                          reachable: Callable[..., tuple[bool, str]] | None = None) -> AccountError:
    """Turn a failure to create or use the service into a clear :class:`AccountError`.

    Offline, qiskit-ibm-runtime reports "invalid token"; the real cause (a
    connection error) is found in the exception chain and reported instead.

    Args:
      exc: the failure.
      source: where the account came from (for the message).
      reachable: the network probe (default :func:`network_reachable`).
    """
    if is_connection_error(exc):
        _, why = (reachable or network_reachable)(timeout=2.0)
        detail = f" ({redact(why)})" if why else ""
        return AccountError(f"cannot reach IBM Quantum: the network is down or the service is unreachable{detail}; "
                            f"the account ({source}) was not checked. Connect and retry.")
    code = _status_code(exc)
    return AccountError(f"IBM Quantum rejected the account from {source}"
                        f"{f' (HTTP {code})' if code else ''}: {redact(exc)}. Check the token and instance: "
                        + _account_hint())


def create_service(channel: str | None = None, instance: str | None = None, *,
                   service_class: Callable[..., Any] | None = None,
                   reachable: Callable[..., tuple[bool, str]] | None = None):
    """A ``QiskitRuntimeService`` from the environment or the saved account.

    Args:
      channel: override ``QISKIT_IBM_CHANNEL``.
      instance: override ``QISKIT_IBM_INSTANCE``.
      service_class: the class to instantiate (default
        ``qiskit_ibm_runtime.QiskitRuntimeService``).
      reachable: the network probe used to explain failures (default
        :func:`network_reachable`).

    Raises:
      AccountError: no account configured (says what to set), the account was
        rejected, or the network is down (said as such, not as "invalid token").
    """
    from_env = bool(os.environ.get(TOKEN_ENV))
    if not from_env and not saved_account_exists():
        raise AccountError("no IBM Quantum account found: " + _account_hint())
    source = f"${TOKEN_ENV}" if from_env else str(ACCOUNT_FILE)
    kwargs = {}
    channel = channel or os.environ.get(CHANNEL_ENV)
    instance = instance or os.environ.get(INSTANCE_ENV)
    if channel:
        kwargs["channel"] = channel
    if instance:
        kwargs["instance"] = instance
    try:
        if service_class is None:
            from qiskit_ibm_runtime import QiskitRuntimeService as service_class
        return service_class(**kwargs)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a clear, redacted message
        error = explain_service_error(exc, source=source, reachable=reachable)
    raise error


service_factory: Callable[[], Any] = create_service
"""Creates the runtime service for backends built without one."""


def get_service():
    """A new service from :data:`service_factory` (looked up at call time).

    Raises:
      AccountError: no usable account, or the service is unreachable.
    """
    import qlearn_sense.backends.ibm as _self

    return _self.service_factory()


def service_backend(name: str, *, service: Any | None = None):
    """A device of the service by name (``ibm_fez``).

    Args:
      name: the device.
      service: the ``QiskitRuntimeService`` to ask (default :func:`get_service`).

    Raises:
      AccountError: no account, rejected account, or no network.
      ValueError: the service has no such backend (the message lists the available ones).
    """
    service = service if service is not None else get_service()
    try:
        return service.backend(name)
    except Exception as exc:  # noqa: BLE001
        if classify_error(exc) in ("transient", "auth") or is_connection_error(exc):
            raise explain_service_error(exc, source="the active account") from None
        try:
            names = sorted(b.name for b in service.backends())
        except Exception:  # noqa: BLE001
            names = []
        raise ValueError(f"IBM backend {name!r} is not available to this account"
                         + (f"; accepted: {', '.join(names)}" if names else f": {redact(exc)}")) from None
