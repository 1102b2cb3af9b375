"""Lossless storage of a sweep: one Parquet part file per finished point, designs as pickles.

Every write goes to a hidden temporary file in the same folder, is flushed to
disk (fsync) and renamed into place, so a killed process leaves either the
whole part or nothing. Part names are digests of the point keys: a point
written twice replaces itself, and resuming skips every key that has a part.
"""

from __future__ import annotations

import io
import os
import pickle
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from qlearn_sense.experiments._budget_config import key_digest

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
    # timing (not reproducible)
    ("compute_s", _F), ("worker", _S),
)
"""Columns of the tidy table, one row per point, in order (missing metrics are null)."""

SCHEMA = pa.schema([pa.field(n, t) for n, t in COLUMNS])
TIMING_COLUMNS = ("compute_s", "worker")
"""Columns that differ between otherwise identical runs."""


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically and durably (temporary file, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class PointStore:
    """Append-only table of finished points under ``<run_dir>/points/``."""

    def __init__(self, run_dir: str | Path):
        self.folder = Path(run_dir) / "points"
        self.folder.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        """Part file of a point key."""
        return self.folder / f"{key_digest(key)}.parquet"

    def finished(self) -> set[str]:
        """Digests of the keys that have a part file."""
        return {p.stem for p in self.folder.glob("*.parquet")}

    def write(self, row: dict) -> None:
        """Write one row as its own part file (atomic)."""
        buf = io.BytesIO()
        pq.write_table(pa.Table.from_pylist([row], schema=SCHEMA), buf)
        atomic_write_bytes(self.path(row["key"]), buf.getvalue())

    def load(self) -> pd.DataFrame:
        """All finished points, sorted by ``point_index`` (empty frame with the columns when none)."""
        files = sorted(str(p) for p in self.folder.glob("*.parquet"))
        table = ds.dataset(files, format="parquet", schema=SCHEMA).to_table() if files else SCHEMA.empty_table()
        return table.to_pandas().sort_values("point_index", kind="stable").reset_index(drop=True)


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
        except (OSError, pickle.UnpicklingError, AttributeError, EOFError, ImportError, TypeError):
            return None
        return entry if getattr(entry, "key", None) == key else None

    def save(self, entry) -> None:
        """Store an entry (atomic)."""
        atomic_write_bytes(self.path(entry.key), pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL))
