"""Retries with exponential back-off for IBM calls, and Ctrl-C held back while a job id is recorded."""

from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable

from qlearn_sense.backends import ibm as _ibm


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off for transient failures.

    Attributes:
      attempts: total tries (>= 1).
      base_delay_s: delay before the second try, s; doubles each time.
      max_delay_s: cap of one delay, s.
      sleep: the sleeping function (tests pass a no-op).

    Raises:
      ValueError: ``attempts < 1`` or a negative delay.
    """

    attempts: int = 5
    base_delay_s: float = 2.0
    max_delay_s: float = 60.0
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        if int(self.attempts) != self.attempts or self.attempts < 1:
            raise ValueError(f"RetryPolicy.attempts = {self.attempts!r}; accepted: integer >= 1")
        if self.base_delay_s < 0 or self.max_delay_s < 0:
            raise ValueError(f"RetryPolicy delays must be >= 0 s (base_delay_s = {self.base_delay_s}, "
                             f"max_delay_s = {self.max_delay_s})")

    def delay(self, attempt: int) -> float:
        """Delay after the failed try number ``attempt`` (0-based), s."""
        return min(self.max_delay_s, self.base_delay_s * 2 ** attempt)


DEFAULT_RETRY = RetryPolicy()
"""Policy of IBM backends built without one (5 tries, 2 s doubling to at most 60 s)."""


def call_with_retry(fn: Callable[[], Any], policy: RetryPolicy, *, what: str,
                    before_retry: Callable[[], Any] | None = None) -> Any:
    """Call ``fn``; retry transient failures with back-off.

    Args:
      fn: the call.
      policy: back-off settings.
      what: description for error messages ("submitting the job").
      before_retry: called before each retry; a non-None return value is
        returned instead of retrying (used to find a job that the service
        accepted although the reply was lost). An exception it raises ends
        the retries and propagates.

    Raises:
      SubmissionError: a non-transient failure at once, a transient one when
        the tries are used up; the message is redacted and ``kind`` says which.
      AccountError: passed through unchanged (no usable account).
    """
    for attempt in range(policy.attempts):
        try:
            return fn()
        except (KeyboardInterrupt, _ibm.AccountError):
            raise
        except Exception as exc:  # noqa: BLE001 - classified below, re-raised redacted
            kind = _ibm.classify_error(exc)
            message = _ibm.redact(exc)
        if kind != "transient":
            hint = {"auth": " (not retried: authorization failed; " + _ibm._account_hint() + ")",
                    "input": " (not retried: the service rejected the input)"}.get(kind, " (not retried)")
            raise _ibm.SubmissionError(f"{what} failed: {message}{hint}", kind=kind)
        if attempt + 1 >= policy.attempts:
            raise _ibm.SubmissionError(f"{what} failed after {policy.attempts} tries (transient error: "
                                       f"{message}); check the network and retry", kind="transient")
        policy.sleep(policy.delay(attempt))
        if before_retry is not None:
            found = before_retry()
            if found is not None:
                return found
    raise AssertionError("unreachable")  # pragma: no cover


@contextmanager
def deferred_interrupt():
    """Hold back Ctrl-C (SIGINT) inside the block and raise it at the end (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        received.append(signum)

    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            raise KeyboardInterrupt
