"""Results files: ``results.json`` written deterministically, loaded with clear errors."""

from __future__ import annotations

import io
import json
import math
import os
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

SCHEMA = "qlearn-sense/results/1"
REQUIRED_KEYS = (
    "fisher.qfi", "fisher.cfi", "fisher.sql", "fisher.hl", "fisher.qfi_over_sql",
    "estimate.field_T", "estimate.field_std_T", "crb.field_std_T", "sensitivity_T_per_sqrtHz",
    "optimization.trace", "sensor.eta", "sensor.phase_rad", "n_qubits", "shots", "seed", "versions",
)
"""Dotted keys every complete results file has (later tools rely on them)."""

VERSIONED_PACKAGES = ("qlearn-sense", "jax", "pennylane", "qiskit", "qiskit-aer", "qiskit-ibm-runtime",
                      "optax", "numpy")


class ResultsError(ValueError):
    """A results file that is missing, corrupt, or lacks required keys."""


def versions() -> dict[str, str]:
    """Installed versions of qlearn-sense and its key dependencies."""
    out = {}
    for name in VERSIONED_PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def to_jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays to JSON types; non-finite floats become None."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def dumps(results: dict) -> str:
    """Canonical text of a results dict (stable key order as given, 2-space indent)."""
    return json.dumps(to_jsonable(results), indent=2, allow_nan=False) + "\n"


FILE_MODE = 0o644
"""Permission mode of every run-folder file (one mode for the whole folder)."""


def atomic_write_bytes(path: str | Path, data: bytes, *, mode: int = FILE_MODE) -> None:
    """Write a file atomically and durably: temporary file in the same folder, fsync, rename, fsync the folder.

    A kill at any moment leaves either the old file or the complete new one,
    never a truncated file. Every run-folder file goes through this writer.

    Args:
      path: destination.
      data: the complete file content.
      mode: permission bits of the file (default :data:`FILE_MODE`).

    Raises:
      OSError: the folder is not writable (the message names the path).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(dir_fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(dir_fd)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write a UTF-8 text file through :func:`atomic_write_bytes`."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_save_npy(path: str | Path, array: np.ndarray) -> None:
    """Save one array as ``.npy`` through :func:`atomic_write_bytes` (never a half-written file)."""
    buf = io.BytesIO()
    np.save(buf, np.asarray(array), allow_pickle=False)
    atomic_write_bytes(path, buf.getvalue())


def atomic_savez(path: str | Path, **arrays: np.ndarray) -> None:
    """Save arrays as a compressed ``.npz`` through :func:`atomic_write_bytes`."""
    buf = io.BytesIO()
    np.savez_compressed(buf, **{k: np.asarray(v) for k, v in arrays.items()})
    atomic_write_bytes(path, buf.getvalue())


def atomic_savefig(fig, path: str | Path, **kwargs) -> None:
    """Save a matplotlib figure as PNG through :func:`atomic_write_bytes`."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", **kwargs)
    atomic_write_bytes(path, buf.getvalue())


def save_results(results: dict, path: str | Path) -> None:
    """Write ``results.json`` atomically; loading and saving again gives the same bytes."""
    atomic_write_text(path, dumps(results))


def get_key(results: dict, dotted: str) -> Any:
    """Value at a dotted key (``"fisher.qfi"``).

    Raises:
      KeyError: when any part is missing.
    """
    node: Any = results
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(dotted)
        node = node[part]
    return node


def load_results(path: str | Path, *, require_complete: bool = True) -> dict:
    """Read a ``results.json``.

    Args:
      path: the file, or a run folder containing ``results.json``.
      require_complete: check that every key of :data:`REQUIRED_KEYS` exists.

    Raises:
      ResultsError: missing file, invalid JSON (with line and column), wrong
        schema, or missing required keys (named).
    """
    path = Path(path)
    if path.is_dir():
        path = path / "results.json"
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ResultsError(f"results file {path} does not exist") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultsError(f"results file {path} is corrupt: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ResultsError(f"results file {path} has schema {data.get('schema') if isinstance(data, dict) else None!r}; "
                           f"expected {SCHEMA!r}")
    if require_complete:
        missing = []
        for k in REQUIRED_KEYS:
            try:
                get_key(data, k)
            except KeyError:
                missing.append(k)
        if missing:
            raise ResultsError(f"results file {path} lacks required keys: {', '.join(missing)}")
    return data
