"""The job ledger: every hardware submission, recorded durably before waiting for it.

SQLite in the user's data folder (``$XDG_DATA_HOME/qlearn-sense/jobs.sqlite``,
``~/.local/share/qlearn-sense/jobs.sqlite``, ``%LOCALAPPDATA%`` on Windows);
``QLEARN_SENSE_LEDGER`` overrides the path. Each submission is first written
as an intent (status ``SUBMITTING`` with a unique job tag), then completed
with the job id; an interrupted submission is recovered from its tag. Every
write commits at once (``synchronous=FULL``). No credentials are stored.

Every fault of the file (a folder that cannot be written, a file that is not
a ledger, a lock held by another process for longer than ``timeout_s``) is a
:class:`LedgerError` whose one-line message names the path;
:meth:`JobLedger.check` finds them before any work.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from qlearn_sense.backends._base import BackendError

LEDGER_ENV = "QLEARN_SENSE_LEDGER"

FINAL_STATUSES = ("DONE", "ERROR", "CANCELLED", "FAILED")
"""Statuses after which a job no longer changes (``FAILED``: never accepted by the service)."""

RESUBMITTABLE = ("ERROR", "CANCELLED", "FAILED")
"""Statuses after which the same run and PUB may be submitted again."""

_COLUMNS = ("id", "run_dir", "run_id", "config_name", "pub", "attempt", "tag", "job_id", "backend", "config_hash",
            "isa_hash", "pub_shape", "shots", "layout", "runtime_version", "status", "error", "submitted_at",
            "finished_at", "updated_at", "fetched_at")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_dir TEXT NOT NULL,
  run_id TEXT NOT NULL,
  config_name TEXT,
  pub INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  tag TEXT NOT NULL UNIQUE,
  job_id TEXT,
  backend TEXT NOT NULL,
  config_hash TEXT,
  isa_hash TEXT,
  pub_shape TEXT,
  shots INTEGER,
  layout TEXT,
  runtime_version TEXT,
  status TEXT NOT NULL,
  error TEXT,
  submitted_at TEXT,
  finished_at TEXT,
  updated_at TEXT,
  fetched_at TEXT
);
CREATE INDEX IF NOT EXISTS jobs_run ON jobs (run_dir, pub);
CREATE INDEX IF NOT EXISTS jobs_job ON jobs (job_id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""

DEFAULT_TIMEOUT_S = 30.0
"""How long a ledger operation waits for another process's lock before failing, s."""


class LedgerError(BackendError):
    """The job ledger cannot be used: unwritable folder, not a ledger file, or locked too long.

    The message is one line naming the ledger path and what to do.

    Attributes:
      path: the ledger file.
    """

    def __init__(self, message: str, path: Path):
        super().__init__(message)
        self.path = path


def _describe(exc: BaseException, path: Path, timeout_s: float) -> LedgerError:
    """A :class:`LedgerError` for a failure of ``sqlite3`` or the file system on ``path``."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    name = getattr(exc, "sqlite_errorname", "")
    fix = f"set {LEDGER_ENV} to a writable file or fix the folder's permissions"
    if name.startswith("SQLITE_BUSY") or name.startswith("SQLITE_LOCKED") or "locked" in text:
        return LedgerError(f"job ledger {path} is locked by another process (waited {timeout_s:g} s): {text}; "
                           f"finish or stop the other qlearn-sense command using it (or set {LEDGER_ENV} to "
                           f"another file) and retry", path)
    if name.startswith("SQLITE_NOTADB") or name.startswith("SQLITE_CORRUPT") or "not a database" in text:
        return LedgerError(f"job ledger {path} is not a usable SQLite ledger ({text}); move it aside and retry "
                           f"(`qlearn-sense jobs` then starts an empty one)", path)
    if isinstance(exc, OSError) or name.startswith(("SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_IOERR",
                                                    "SQLITE_PERM", "SQLITE_FULL")) \
            or "readonly" in text or "unable to open" in text:
        return LedgerError(f"job ledger {path} cannot be written (folder {path.parent}): {text}; {fix}", path)
    return LedgerError(f"job ledger {path}: {text}", path)


def now() -> str:
    """UTC time stamp, ISO 8601 to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def default_ledger_path() -> Path:
    """``$QLEARN_SENSE_LEDGER``, else ``jobs.sqlite`` in the user's data folder for qlearn-sense."""
    env = os.environ.get(LEDGER_ENV)
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":  # pragma: no cover - platform specific
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":  # pragma: no cover - platform specific
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "qlearn-sense" / "jobs.sqlite"


@dataclass(frozen=True)
class JobRecord:
    """One row of the ledger (one PUB submission attempt).

    Attributes:
      id: row id.
      run_dir: absolute path of the run folder.
      run_id: run folder name.
      config_name: the config's ``name``.
      pub: index of the PUB within the run.
      attempt: 1 for the first submission of this PUB, 2 after a resubmission, ...
      tag: unique job tag (``qls:<run key>:p<pub>:a<attempt>``) set on the job.
      job_id: the service's job id (None while ``SUBMITTING``).
      backend: backend name (``ibm:ibm_fez``).
      config_hash: hash of the validated config.
      isa_hash: hash of the ISA circuit.
      pub_shape: shape of the PUB's parameter values, ``[P, n_params]``.
      shots: shots per parameter set.
      layout: physical qubit of each sensor qubit.
      runtime_version: qiskit-ibm-runtime version used to submit.
      status: ``SUBMITTING, QUEUED, RUNNING, DONE, ERROR, CANCELLED, FAILED``.
      error: the service's error message (ERROR) or why submission failed (FAILED).
      submitted_at, finished_at, updated_at, fetched_at: UTC ISO time stamps.
    """

    id: int
    run_dir: str
    run_id: str
    config_name: str | None
    pub: int
    attempt: int
    tag: str
    job_id: str | None
    backend: str
    config_hash: str | None
    isa_hash: str | None
    pub_shape: list | None
    shots: int | None
    layout: list | None
    runtime_version: str | None
    status: str
    error: str | None
    submitted_at: str | None
    finished_at: str | None
    updated_at: str | None
    fetched_at: str | None

    @property
    def final(self) -> bool:
        """True when the status can no longer change."""
        return self.status in FINAL_STATUSES

    def to_dict(self) -> dict:
        """Plain dict (JSON-ready)."""
        return asdict(self)


class JobLedger:
    """A durable SQLite store of hardware submissions.

    Args:
      path: database file; default :func:`default_ledger_path`. Parent
        folders are created.
      timeout_s: how long an operation waits for another process's lock, s.

    Raises:
      LedgerError: the folder cannot be created or written, the file is not a
        ledger, or it stays locked for longer than ``timeout_s`` (one line
        naming the path).
    """

    def __init__(self, path: str | Path | None = None, *, timeout_s: float = DEFAULT_TIMEOUT_S):
        self.path = Path(path).expanduser() if path is not None else default_ledger_path()
        self.timeout_s = float(timeout_s)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _describe(exc, self.path, self.timeout_s) from None
        with self._connect() as con:
            con.executescript(_SCHEMA)

    @contextmanager
    def _connect(self):
        """A connection in autocommit mode (each statement is durable at once), closed afterwards.

        ``sqlite3`` and file-system errors inside the block become :class:`LedgerError`.
        """
        try:
            con = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None)
        except (sqlite3.Error, OSError) as exc:
            raise _describe(exc, self.path, self.timeout_s) from None
        try:
            con.execute("PRAGMA synchronous=FULL")
            con.row_factory = sqlite3.Row
            yield con
        except (sqlite3.Error, OSError) as exc:
            raise _describe(exc, self.path, self.timeout_s) from None
        finally:
            con.close()

    def check(self) -> None:
        """Write to the ledger now (one durable row in its ``meta`` table), so faults show before any work.

        Raises:
          LedgerError: unwritable folder or file, not a ledger, or locked for
            longer than ``timeout_s`` (the message names the path).
        """
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('checked_at', ?)", (now(),))
            con.execute("COMMIT")

    @staticmethod
    def _record(row: sqlite3.Row) -> JobRecord:
        d = dict(row)
        for k in ("pub_shape", "layout"):
            d[k] = json.loads(d[k]) if d[k] else None
        return JobRecord(**{k: d[k] for k in _COLUMNS})

    def _one(self, where: str, args: tuple) -> JobRecord | None:
        with self._connect() as con:
            row = con.execute(f"SELECT * FROM jobs WHERE {where} ORDER BY id DESC LIMIT 1", args).fetchone()
        return self._record(row) if row else None

    def record_intent(self, *, run_dir: str | Path, run_id: str, config_name: str | None, pub: int, tag: str,
                      backend: str, config_hash: str | None, isa_hash: str | None, pub_shape: list | None,
                      shots: int | None, layout: list | None, runtime_version: str | None,
                      attempt: int) -> JobRecord:
        """Write a ``SUBMITTING`` row before the job is sent (its tag identifies it later)."""
        t = now()
        with self._connect() as con:
            con.execute(
                "INSERT INTO jobs (run_dir, run_id, config_name, pub, attempt, tag, backend, config_hash, isa_hash,"
                " pub_shape, shots, layout, runtime_version, status, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'SUBMITTING', ?)",
                (str(Path(run_dir).resolve()), run_id, config_name, int(pub), int(attempt), tag, backend,
                 config_hash, isa_hash, json.dumps(pub_shape) if pub_shape is not None else None,
                 shots, json.dumps(layout) if layout is not None else None, runtime_version, t))
        return self.by_tag(tag)

    def record_submitted(self, tag: str, job_id: str, status: str = "QUEUED",
                         submitted_at: str | None = None) -> JobRecord:
        """Attach the job id to an intent (status ``QUEUED`` unless told otherwise)."""
        t = now()
        with self._connect() as con:
            con.execute("UPDATE jobs SET job_id = ?, status = ?, submitted_at = COALESCE(submitted_at, ?),"
                        " updated_at = ? WHERE tag = ?", (job_id, status, submitted_at or t, t, tag))
        return self.by_tag(tag)

    def update(self, tag: str, *, status: str | None = None, error: str | None = None,
               finished_at: str | None = None, fetched: bool = False) -> JobRecord:
        """Change a row's status, error message, finish time, or mark it fetched."""
        t = now()
        sets, args = ["updated_at = ?"], [t]
        if status is not None:
            sets.append("status = ?")
            args.append(status)
        if error is not None:
            sets.append("error = ?")
            args.append(error)
        if finished_at is not None:
            sets.append("finished_at = ?")
            args.append(finished_at)
        if fetched:
            sets.append("fetched_at = ?")
            args.append(t)
        with self._connect() as con:
            con.execute(f"UPDATE jobs SET {', '.join(sets)} WHERE tag = ?", (*args, tag))
        return self.by_tag(tag)

    def by_tag(self, tag: str) -> JobRecord | None:
        """The row with this tag."""
        return self._one("tag = ?", (tag,))

    def by_job_id(self, job_id: str) -> JobRecord | None:
        """The row of this job id."""
        return self._one("job_id = ?", (job_id,))

    def for_run(self, run_dir: str | Path) -> list[JobRecord]:
        """Every row of a run folder, oldest first."""
        with self._connect() as con:
            rows = con.execute("SELECT * FROM jobs WHERE run_dir = ? ORDER BY id",
                               (str(Path(run_dir).resolve()),)).fetchall()
        return [self._record(r) for r in rows]

    def latest(self, run_dir: str | Path, pub: int) -> JobRecord | None:
        """The newest attempt for a run and PUB."""
        return self._one("run_dir = ? AND pub = ?", (str(Path(run_dir).resolve()), int(pub)))

    def active(self, run_dir: str | Path, pub: int) -> JobRecord | None:
        """The attempt that blocks a new submission (any status but ERROR, CANCELLED, FAILED), if any."""
        marks = ", ".join("?" for _ in RESUBMITTABLE)
        return self._one(f"run_dir = ? AND pub = ? AND status NOT IN ({marks})",
                         (str(Path(run_dir).resolve()), int(pub), *RESUBMITTABLE))

    def next_attempt(self, run_dir: str | Path, pub: int) -> int:
        """1 + the number of earlier attempts for a run and PUB."""
        last = self.latest(run_dir, pub)
        return 1 if last is None else last.attempt + 1

    def all(self, *, limit: int | None = None) -> list[JobRecord]:
        """Every row, newest first."""
        q = "SELECT * FROM jobs ORDER BY id DESC" + (f" LIMIT {int(limit)}" if limit else "")
        with self._connect() as con:
            rows = con.execute(q).fetchall()
        return [self._record(r) for r in rows]
