"""Lossless storage of a sweep: one Parquet part per finished point, designs as pickles, a status file.

Every file of the run folder goes through the package's one atomic writer
(:func:`qlearn_sense.experiments.atomic_write_bytes`: a temporary file
in the same folder, fsync, rename), so a killed process leaves either the whole
file or nothing. Part names are digests of the point keys: a point written
twice replaces itself, and resuming skips every key that has a readable part.
A part that cannot be read (truncated or damaged by something outside the
sweep: a full disk, a copy cut short) is moved aside as
``<part>.corrupt-<UTC time>`` on resume, recorded, and its point recomputed.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import socket
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from qlearn_sense.budget._config import key_digest
from qlearn_sense.experiments import atomic_write_bytes, atomic_write_text

_F, _I, _S = pa.float64(), pa.int64(), pa.string()
COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    # identity of the point
    ("point_index", _I), ("key", _S), ("task", _S), ("protocol", _S), ("n_qubits", _I), ("noise", _S),
    ("noise_kind", _S), ("noise_value", _F), ("backend", _S), ("shots", _I), ("seed", _I), ("point_seed", _I),
    ("design_key", _S), ("repetitions", _I), ("status", _S), ("error", _S),
    # design (SI units; Fisher information per shot in rad^-2)
    ("eta", _F), ("phase_rad", _F), ("dphi_dB_rad_per_T", _F), ("true_field_T", _F), ("shot_time_s", _F),
    ("cfi", _F), ("qfi", _F), ("sql_fisher", _F),
    # estimation: field MSE over repetitions, its CI, Cramer-Rao values 1/(m F (dphi/dB)^2)
    ("mse_T2", _F), ("mse_ci_low_T2", _F), ("mse_ci_high_T2", _F), ("bias_T", _F), ("std_T", _F),
    ("crb_T2", _F), ("crb_qfi_T2", _F), ("crb_sql_T2", _F), ("mse_over_crb", _F), ("n_at_window_edge", _I),
    # observables: max |error| over the set, mean over repetitions, and its CI
    ("n_observables", _I), ("max_error", _F), ("max_error_ci_low", _F), ("max_error_ci_high", _F),
    ("mean_abs_error", _F),
    # detection: achieved (Monte Carlo) and exact error rates of the Neyman-Pearson test
    ("alpha_target", _F), ("alpha_achieved", _F), ("beta_achieved", _F), ("error_achieved", _F),
    ("alpha_exact", _F), ("beta_exact", _F), ("bayes_error_exact", _F), ("np_approximate", pa.bool_()),
    ("shots_to_decide", _F),
    # network: one strategy at one (transduction efficiency, common-mode correlation); precision of the
    # estimand per shot from the QFIM and the optimized CFIM, in (unit)^-2; its std after `shots` shots
    ("efficiency", _F), ("correlation", _F), ("precision_quantum", _F), ("precision_measured", _F),
    ("estimand_std", _F), ("estimand_unit", _S), ("n_ensemble_nodes", _I),
    # timing (not reproducible)
    ("compute_s", _F), ("worker", _S),
)
"""Columns of the tidy table, one row per point, in order (missing metrics are null)."""

SCHEMA = pa.schema([pa.field(n, t) for n, t in COLUMNS])
TIMING_COLUMNS = ("compute_s", "worker")
"""Columns that differ between otherwise identical runs."""


class BudgetError(ValueError):
    """A sweep that cannot start or be read.

    No config, a run folder that exists or is not a sweep, a config differing
    from the stored one, or (:func:`PointStore.load`) a stored part that cannot
    be read (resume the sweep to recompute it).
    """


@dataclass(frozen=True)
class CorruptPart:
    """A point part that could not be read and was moved aside (its point is recomputed).

    Attributes:
      part: the part's path relative to the run folder (``points/<digest>.parquet``).
      moved_to: where it was moved, relative to the run folder.
      key: the point key of that digest in the sweep's grid (None when the grid has none).
      error: why it could not be read (exception type and message).
      detected_at: UTC time of the check, ISO 8601.
    """

    part: str
    moved_to: str
    key: str | None
    error: str
    detected_at: str

    @property
    def message(self) -> str:
        """One line for the user."""
        what = f"point {self.key}" if self.key else "its point"
        return (f"corrupt part {self.part} ({self.error}) moved aside to {self.moved_to}; "
                f"{what} will be recomputed")


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _short(exc: BaseException, limit: int = 300) -> str:
    text = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 3] + "..."


class PointStore:
    """Append-only table of finished points under ``<run_dir>/points/``, one Parquet part per point."""

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)
        self.folder = self.run_dir / "points"
        self.folder.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        """Part file of a point key."""
        return self.folder / f"{key_digest(key)}.parquet"

    def parts(self) -> list[Path]:
        """The part files, sorted by name (parts moved aside and temporary files excluded)."""
        return sorted(self.folder.glob("*.parquet"))

    def finished(self) -> set[str]:
        """Digests of the keys that have a part file (readable or not: see :meth:`verify`)."""
        return {p.stem for p in self.parts()}

    def write(self, row: dict) -> None:
        """Write one row as its own part file (atomic)."""
        buf = io.BytesIO()
        pq.write_table(pa.Table.from_pylist([row], schema=SCHEMA), buf)
        atomic_write_bytes(self.path(row["key"]), buf.getvalue())

    @staticmethod
    def _read(files: list[Path]) -> pa.Table:
        if not files:
            return SCHEMA.empty_table()
        return ds.dataset([str(f) for f in files], format="parquet", schema=SCHEMA).to_table()

    def check_part(self, path: Path) -> str | None:
        """Why one part cannot be used (None when it is sound).

        A sound part reads with the table's schema, holds exactly one row, and
        that row's key has the part's digest as its name.
        """
        try:
            table = self._read([path])
        except (pa.ArrowException, OSError, ValueError) as exc:  # ArrowInvalid: truncated, not Parquet
            return _short(exc)
        if table.num_rows != 1:
            return f"{table.num_rows} rows, expected 1"
        key = table.column("key")[0].as_py()
        if key is None or key_digest(key) != path.stem:
            return f"holds key {key!r}, whose digest is not {path.stem}"
        return None

    def _move_aside(self, path: Path, error: str, keys: dict[str, str]) -> CorruptPart:
        now = _utc_now()
        stamp = now.strftime("%Y%m%dT%H%M%SZ")
        target = path.with_name(f"{path.name}.corrupt-{stamp}")
        i = 1
        while target.exists():
            target = path.with_name(f"{path.name}.corrupt-{stamp}-{i}")
            i += 1
        os.replace(path, target)
        return CorruptPart(part=str(path.relative_to(self.run_dir)), moved_to=str(target.relative_to(self.run_dir)),
                           key=keys.get(path.stem), error=error, detected_at=now.isoformat(timespec="seconds"))

    def verify(self, keys: dict[str, str] | None = None) -> tuple[pd.DataFrame, list[CorruptPart]]:
        """Read every part; move each unreadable one aside as ``<part>.corrupt-<UTC time>``.

        One pass reads all parts at once; only when it fails or a count or key
        does not match is each part checked alone (see :meth:`check_part`).

        Args:
          keys: point key by digest (the sweep's grid), to name the points of corrupt parts.

        Returns:
          ``(table, corrupt)``: the sound rows (as :meth:`load`) and one
          :class:`CorruptPart` per part moved aside.

        Raises:
          OSError: a corrupt part cannot be moved (read-only folder).
        """
        keys = keys or {}
        files = self.parts()
        try:
            table = self._read(files)
            sound = (table.num_rows == len(files)
                     and {key_digest(k) for k in table.column("key").to_pylist()} == {f.stem for f in files})
        except (pa.ArrowException, OSError, ValueError):
            sound = False
        corrupt = []
        if not sound:
            for f in files:
                error = self.check_part(f)
                if error is not None:
                    corrupt.append(self._move_aside(f, error, keys))
            table = self._read(self.parts())
        return self._frame(table), corrupt

    def corrupt_parts(self) -> list[Path]:
        """Parts moved aside by earlier checks (``points/*.parquet.corrupt-*``), sorted by name."""
        return sorted(self.folder.glob("*.parquet.corrupt-*"))

    @staticmethod
    def _frame(table: pa.Table) -> pd.DataFrame:
        return table.to_pandas().sort_values("point_index", kind="stable").reset_index(drop=True)

    def load(self) -> pd.DataFrame:
        """All finished points, sorted by ``point_index`` (empty frame with the columns when none).

        Raises:
          BudgetError: a part cannot be read (the message names it; resuming the
            sweep moves it aside and recomputes its point).
        """
        files = self.parts()
        try:
            return self._frame(self._read(files))
        except (pa.ArrowException, OSError, ValueError):
            bad = [(f, e) for f in files if (e := self.check_part(f)) is not None]
            if not bad:
                raise
            f, error = bad[0]
            more = f" and {len(bad) - 1} more" if len(bad) > 1 else ""
            raise BudgetError(f"cannot read point part {f}{more} ({error}); resume the sweep "
                              f"(qlearn-sense budget --resume {self.run_dir}) to move it aside and "
                              "recompute its point") from None


STATUS_FILE = "status.json"
STATES = ("running", "interrupted", "stopped", "done", "failed")
"""Sweep states in ``status.json``: ``running`` (updated while points arrive; a
process killed with SIGKILL leaves this state with a stale ``updated_at``),
``interrupted`` (Ctrl-C or SIGTERM), ``stopped`` (``max_points`` reached),
``done`` (every point stored), ``failed`` (an error ended the call; see ``error``)."""


class StatusFile:
    """``<run_dir>/status.json``: where a sweep stands, rewritten atomically.

    Keys: ``schema``, ``state`` (see :data:`STATES`), ``n_points``,
    ``n_finished``, ``n_errors``, ``complete``, ``started_at`` and
    ``updated_at`` (UTC, ISO 8601), ``resume_command``, ``pid``, ``host``,
    ``error`` (``failed`` only), ``recovered`` (every part ever moved aside,
    kept across calls), ``last_call`` (once a call ends: ``n_new``,
    ``wall_s``, ``finished``).

    Args:
      run_dir: the run folder.
      n_points: points in the grid.
      resume_command: the command that finishes the sweep.
      min_interval_s: :meth:`update` writes at most this often unless forced.
      clock: monotonic clock in seconds (tests pass a fake one).
    """

    def __init__(self, run_dir: str | Path, *, n_points: int, resume_command: str, min_interval_s: float = 2.0,
                 clock: Callable[[], float] = time.monotonic):
        self.path = Path(run_dir) / STATUS_FILE
        self.min_interval_s = min_interval_s
        self._clock = clock
        self._last = -float("inf")
        recovered = []
        try:
            previous = json.loads(self.path.read_text())
            recovered = list(previous.get("recovered") or []) if isinstance(previous, dict) else []
        except (OSError, ValueError):
            pass
        now = _utc_now().isoformat(timespec="seconds")
        self.data = {"schema": "qlearn-sense/budget-status/1", "state": "running", "n_points": n_points,
                     "n_finished": 0, "n_errors": 0, "complete": False, "started_at": now, "updated_at": now,
                     "resume_command": resume_command, "pid": os.getpid(), "host": socket.gethostname(),
                     "error": None, "recovered": recovered}

    def add_recovered(self, parts: list[CorruptPart]) -> None:
        """Record parts moved aside (written with the next update)."""
        self.data["recovered"] += [asdict(p) for p in parts]

    def update(self, *, force: bool = False, **fields) -> bool:
        """Merge ``fields`` and write the file when forced or ``min_interval_s`` has passed.

        Returns:
          Whether the file was written.

        Raises:
          ValueError: ``state`` is not one of :data:`STATES`.
        """
        if "state" in fields and fields["state"] not in STATES:
            raise ValueError(f"state = {fields['state']!r}; accepted: {', '.join(STATES)}")
        self.data.update(fields)
        now = self._clock()
        if not force and now - self._last < self.min_interval_s:
            return False
        self._last = now
        self.data["updated_at"] = _utc_now().isoformat(timespec="seconds")
        atomic_write_text(self.path, json.dumps(self.data, indent=2) + "\n")
        return True


class DesignStore:
    """Design cache entries of a run under ``<run_dir>/designs/`` (pickles, atomic)."""

    def __init__(self, run_dir: str | Path):
        self.folder = Path(run_dir) / "designs"
        self.folder.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        """Pickle file of a design key."""
        return self.folder / f"{key_digest(key)}.pkl"

    def load(self, key: str):
        """The stored entry, or None when absent or unreadable (then it is recomputed)."""
        try:
            entry = pickle.loads(self.path(key).read_bytes())
        except Exception:  # noqa: BLE001 - absent, truncated, or from another version: recomputed
            return None
        return entry if getattr(entry, "key", None) == key else None

    def save(self, entry) -> None:
        """Store an entry (atomic)."""
        atomic_write_bytes(self.path(entry.key), pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL))
