"""Run folders: unique run ids, exclusive creation, refusal to overwrite, failure records.

Every file of a run folder is written through
:func:`qlearn_sense.experiments._results.atomic_write_bytes` (one writer, one
permission mode).
"""

from __future__ import annotations

import errno
import os
import secrets
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from qlearn_sense.config import ExperimentConfig, config_hash


class RunDirError(ValueError):
    """A run folder that cannot be created or would overwrite another run (the message names the path)."""


def new_run_id(config: ExperimentConfig) -> str:
    """``YYYYmmdd-HHMMSS-ffffff-<config hash 8>-<random 4 hex>`` (UTC).

    Microseconds and a random suffix make ids of concurrent runs of one config
    distinct; the folder is still created exclusively (:func:`create_run_dir`).
    """
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-%f")
    return f"{stamp}-{config_hash(config)[:8]}-{secrets.token_hex(2)}"


def check_out_root(out_root: str | Path) -> Path:
    """Check that run folders can be written under ``out_root`` (before any work).

    Creates ``out_root`` when missing and writes and removes a probe file.

    Raises:
      RunDirError: ``out_root`` is a file, or is not writable (read-only file
        system, permissions); the message names the path.
    """
    root = Path(out_root)
    if root.exists() and not root.is_dir():
        raise RunDirError(f"--out {root} is a file, not a folder; give a folder for the run folders")
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=root, prefix=".write-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise RunDirError(f"cannot write run folders under {root}: {exc.strerror or exc}") from None
    return root


def create_run_dir(out_root: str | Path, config: ExperimentConfig, run_id: str | None = None, *,
                   force: bool = False) -> Path:
    """Create ``<out_root>/<config.name>/<run_id>/`` exclusively (with ``plots/``).

    Args:
      out_root: root of run folders.
      config: the run's config (its name is the middle folder).
      run_id: folder name; a new unique id when None.
      force: an existing ``run_id`` folder is moved aside to
        ``<run_id>.replaced-<UTC time>`` (never deleted) instead of refused.

    Returns:
      The new, empty run folder.

    Raises:
      RunDirError: the folder exists (without ``force``), the run id is not a
        plain folder name, or the location is not writable.
    """
    root = check_out_root(out_root)
    parent = root / config.name
    if run_id is not None and (not run_id or "/" in run_id or run_id in (".", "..") or run_id.startswith(".")):
        raise RunDirError(f"--run-id {run_id!r}: give a plain folder name (no '/', not starting with '.')")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        for _ in range(5):
            rid = run_id or new_run_id(config)
            path = parent / rid
            if run_id is not None and path.exists():
                if not force:
                    raise RunDirError(f"run folder {path} exists; choose another --run-id, or pass --force to move "
                                      "the old folder aside and start again")
                aside = parent / f"{rid}.replaced-{datetime.now(timezone.utc).strftime('%Y%m%d-%H%M%S-%f')}"
                path.rename(aside)
            try:
                path.mkdir()
            except FileExistsError:
                if run_id is not None:
                    raise RunDirError(f"run folder {path} was created by another run at the same moment") from None
                continue
            (path / "plots").mkdir()
            return path
    except RunDirError:
        raise
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EROFS, errno.EPERM, errno.ENOTDIR, errno.ENOSPC):
            raise RunDirError(f"cannot create a run folder under {parent}: {exc.strerror}") from None
        raise
    raise RunDirError(f"could not find a free run id under {parent}")  # pragma: no cover
