"""Fixtures for adaptive tests: the IBM service double of tests/backends (loaded by path)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "_backends_conftest", Path(__file__).resolve().parents[1] / "backends" / "conftest.py")
_backends = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_backends)

fake_service = _backends.fake_service
ledger_path = _backends.ledger_path
