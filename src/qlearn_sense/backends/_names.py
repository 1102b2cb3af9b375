"""Backend and device names, checked without importing any simulator or qiskit-ibm-runtime.

Only the standard library: the config validator and ``--help`` use these, and
must stay fast. The fake devices are read from the installed
qiskit-ibm-runtime's files (``fake_provider/backends/<dev>/fake_<dev>.py`` and
``conf_<dev>.json``), located with ``importlib.util.find_spec``, which does
not import the package.
"""

from __future__ import annotations

import importlib.util
import json
from functools import lru_cache
from pathlib import Path

from qlearn_sense.config._models import normalize_fake_name  # one rule for validation and backends

PENNYLANE_DEVICES = ("default.qubit", "default.mixed", "lightning.qubit")
"""Devices the ``pennylane:`` backend accepts."""

PENNYLANE_NOISY_DEVICES = ("default.mixed",)
"""PennyLane devices that apply the protocol's noise (the others simulate pure states)."""


def pennylane_noise_reason(device: str, noisy: bool) -> str | None:
    """Why ``pennylane:<device>`` cannot run a protocol with noise (when ``noisy``), or None.

    State-vector devices (``default.qubit``, ``lightning.qubit``) simulate pure
    states only; ``default.mixed`` applies the protocol's noise.
    """
    if noisy and device not in PENNYLANE_NOISY_DEVICES:
        return (f"backend 'pennylane:{device}' simulates pure states only, but the protocol has noise "
                f"(dephasing, damping or readout errors); use 'pennylane:default.mixed', 'local' or 'aer'")
    return None


def _fake_provider_dir() -> Path | None:
    """``qiskit_ibm_runtime/fake_provider/backends``, located without importing qiskit-ibm-runtime."""
    try:
        spec = importlib.util.find_spec("qiskit_ibm_runtime")
    except (ImportError, ValueError):  # pragma: no cover - not installed
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "fake_provider" / "backends"
    return path if path.is_dir() else None


@lru_cache(maxsize=1)
def _fake_files() -> dict[str, Path]:
    """``{fake_name: folder}`` from the fake provider's files (``<dev>/fake_<dev>.py``)."""
    root = _fake_provider_dir()
    out: dict[str, Path] = {}
    if root is None:  # pragma: no cover - not installed
        return out
    for folder in root.iterdir():
        if folder.is_dir() and not folder.name.startswith("_"):
            for f in folder.glob("fake_*.py"):
                out[f.stem] = folder
    return out


@lru_cache(maxsize=1)
def _fake_names() -> tuple[str, ...]:
    names = tuple(sorted(_fake_files()))
    if names:
        return names
    import warnings  # pragma: no cover - a package layout without the files: ask the provider

    from qiskit_ibm_runtime.fake_provider import FakeProviderForBackendV2  # pragma: no cover

    with warnings.catch_warnings():  # pragma: no cover
        warnings.simplefilter("ignore", UserWarning)
        return tuple(sorted(b.name for b in FakeProviderForBackendV2().backends()))


def fake_device_names() -> list[str]:
    """Names of the qiskit-ibm-runtime fake devices (``fake_fez``, ``fake_manila``, ...), sorted.

    The names ``aer:<fake>`` and ``ibm-local:<fake>`` accept; read from the
    installed package's files (qiskit-ibm-runtime is not imported).
    """
    return list(_fake_names())


@lru_cache(maxsize=128)
def fake_device_qubits(name: str) -> int | None:
    """Number of qubits of a fake device, from its configuration file (no qiskit-ibm-runtime import).

    Args:
      name: ``fake_fez``, ``FakeFez``, ``fez``.

    Returns:
      The qubit count, or None when the name is unknown or the file has no count.
    """
    folder = _fake_files().get(normalize_fake_name(name))
    if folder is None:
        return None
    for conf in sorted(folder.glob("conf_*.json")):
        try:
            n = json.loads(conf.read_text()).get("n_qubits")
        except (OSError, ValueError):  # pragma: no cover - damaged installation
            return None
        return int(n) if isinstance(n, int) else None
    return None
