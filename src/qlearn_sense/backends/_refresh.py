"""Refreshing ledger records through the backends that submitted them (used by ``qlearn-sense jobs``).

Above both the registry and the backends, so neither imports the other.
"""

from __future__ import annotations

from qlearn_sense.backends._base import AbstractAsyncBackend
from qlearn_sense.backends._ledger import JobLedger, JobRecord
from qlearn_sense.backends._registry import get_backend


def refresh_records(records: list[JobRecord], ledger: JobLedger | None = None) -> list[JobRecord]:
    """Refresh the statuses of ledger records through their backends (final ones are kept).

    A ``SUBMITTING`` record is completed from its tag when the service
    answers; while it does not, the record is kept as it is (unknown, never
    taken for "no job").

    Args:
      records: rows of ``ledger``.
      ledger: the ledger they come from (default: the default ledger).

    Returns:
      The records in the same order, refreshed.

    Raises:
      AccountError: no usable IBM account while some record needs the service.
      ValueError: a record names a backend that is no longer registered.
    """
    backends: dict[str, AbstractAsyncBackend | None] = {}
    out = []
    for rec in records:
        if rec.final:
            out.append(rec)
            continue
        if rec.backend not in backends:
            be = get_backend(rec.backend, **({"ledger": ledger} if ledger is not None else {}))
            backends[rec.backend] = be if isinstance(be, AbstractAsyncBackend) else None
        be = backends[rec.backend]
        out.append(rec if be is None else be.refresh(rec))
    return out
