"""The ``circuits/`` library: OpenQASM 3 ansatz templates and the optimized protocol of each shipped config.

Every file opens with comment lines that make it self-describing:

* ``// protocol: {json}`` -- the :func:`protocol_spec` from which
  :func:`qlearn_sense.protocol.build_protocol` rebuilds the gates and noise;
* ``// params: [...]`` -- optimized files only: the parameter vector that was
  bound into the circuit (radians);
* ``// config: <path> sha256:<hash>`` -- optimized files only: the shipped
  config and its :func:`qlearn_sense.config.config_hash`, so a stale file is
  detectable.

Templates keep their parameters as ``input float[64] _theta_i_`` (qiskit's
OpenQASM 3 export of ``theta[i]``); every file keeps ``input float[64] phi``,
the signal phase per qubit in radians. Bit order is qiskit's (qubit 0 is the
rightmost bit). Noise is not part of OpenQASM: it lives in the header spec.

Regenerate with ``qlearn-sense circuits`` (all shipped configs, a few minutes)
or ``qlearn-sense circuits --templates-only``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from qlearn_sense.protocol import Noise, Protocol, build_protocol, from_qasm3, to_qasm3

TEMPLATE_QUBITS = 3
"""Register size of the template circuits."""

TEMPLATES: tuple[tuple[str, str, int, int], ...] = (
    ("ramsey", "local", 0, 1),
    ("product", "local", 0, 1),
    ("ghz", "ghz_parity", 0, 0),
    ("hea", "local", 2, 1),
    ("hea", "hea", 2, 1),
    ("oat", "local", 1, 1),
)
"""(preparation, measurement, prep_layers, meas_layers) of each template."""

_LAYERED_PREP = ("hea", "oat")
_LAYERED_MEAS = ("hea",)


def template_name(preparation: str, measurement: str, prep_layers: int, meas_layers: int,
                  n_qubits: int = TEMPLATE_QUBITS) -> str:
    """File stem of a template, e.g. ``hea2-local-n3`` (layer counts only on layered ansatze)."""
    prep = f"{preparation}{prep_layers}" if preparation in _LAYERED_PREP else preparation
    meas = f"{measurement}{meas_layers}" if measurement in _LAYERED_MEAS else measurement
    return f"{prep}-{meas}-n{n_qubits}"


def _spec_header(protocol: Protocol) -> str:
    from qlearn_sense.experiments._runner import protocol_spec

    return "// protocol: " + json.dumps(protocol_spec(protocol)) + "\n"


def template_text(preparation: str, measurement: str, prep_layers: int, meas_layers: int,
                  n_qubits: int = TEMPLATE_QUBITS) -> str:
    """OpenQASM 3 text of one noiseless ansatz template (free ``_theta_i_`` and ``phi``)."""
    protocol = build_protocol(n_qubits, preparation, measurement, prep_layers=prep_layers, meas_layers=meas_layers)
    header = (f"// qlearn-sense ansatz template {template_name(preparation, measurement, prep_layers, meas_layers, n_qubits)}"
              f"; inputs _theta_i_ (rad, {protocol.n_params} parameters) and phi (signal phase per qubit, rad)\n")
    return header + _spec_header(protocol) + to_qasm3(protocol)


@dataclass(frozen=True)
class LibraryFile:
    """One file of the circuit library as read back.

    Attributes:
      path: the file.
      protocol: the protocol rebuilt from the header (noise included).
      params: bound parameters, shape (n_params,), or None for a template.
      config: ``(config path, config hash)`` for an optimized file, else None.
      text: the whole file.
    """

    path: Path
    protocol: Protocol
    params: np.ndarray | None
    config: tuple[str, str] | None
    text: str


def read_library_file(path: str | Path) -> LibraryFile:
    """Parse a ``circuits/`` file's header and rebuild its protocol.

    Raises:
      ValueError: the file lacks the ``// protocol:`` header or it is malformed
        (the message names the file and the line).
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    spec = params = config = None
    for line in text.splitlines():
        if not line.startswith("//"):
            break
        body = line[2:].strip()
        try:
            if body.startswith("protocol:"):
                spec = json.loads(body[len("protocol:"):])
            elif body.startswith("params:"):
                params = np.asarray(json.loads(body[len("params:"):]), dtype=np.float64)
            elif body.startswith("config:"):
                cpath, chash = body[len("config:"):].split()
                config = (cpath, chash.removeprefix("sha256:"))
        except (json.JSONDecodeError, ValueError) as exc:
            raise ValueError(f"{path}: malformed header line {line!r}: {exc}") from exc
    if spec is None:
        raise ValueError(f"{path}: no '// protocol: {{json}}' header line; not a qlearn-sense circuit file")
    noise = spec.get("noise") or {}
    protocol = build_protocol(
        spec["n_qubits"], spec["preparation"], spec["measurement"], prep_layers=spec["prep_layers"],
        meas_layers=spec["meas_layers"],
        noise=Noise(eta=tuple(noise["eta"]), gamma=tuple(noise.get("gamma", ())), p01=tuple(noise.get("p01", ())),
                    p10=tuple(noise.get("p10", ()))) if noise else None)
    return LibraryFile(path, protocol, params, config, text)


def load_library_circuit(path: str | Path):
    """The file's circuit as a qiskit ``QuantumCircuit`` (bind with ``parameter_binding``)."""
    return from_qasm3(Path(path).read_text(encoding="utf-8"))


def _collective_only(data: dict) -> bool:
    """A ``protocol.engine: collective`` config without register form (no circuit to store)."""
    prot = data.get("protocol") or {}
    if not isinstance(prot, dict) or prot.get("engine") != "collective":
        return False
    prep = (prot.get("preparation") or {}).get("ansatz") if isinstance(prot.get("preparation"), dict) else None
    n = prot.get("n_spins")
    return not isinstance(n, int) or n > 12 or prep == "tact"


def shipped_experiment_configs(configs_dir: str | Path) -> list[Path]:
    """The experiment configs with a circuit form (not sweep configs, not collective-engine-only ones)
    among ``configs_dir/*.yaml``, sorted."""
    import yaml

    out = []
    for p in sorted(Path(configs_dir).glob("*.yaml")):
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
        if isinstance(data, dict) and "grid" not in data and "base" not in data and not _collective_only(data):
            out.append(p)
    return out


def optimized_text(config_path: str | Path, *, progress: Callable[[str, int, int], None] | None = None) -> str:
    """Optimize a config's protocol exactly as ``qlearn-sense run`` does and return the library file text.

    Raises:
      qlearn_sense.config.ConfigError, DesignError: as ``run`` does.
    """
    from qlearn_sense.config import config_hash, load_config
    from qlearn_sense.experiments._design import make_design
    from qlearn_sense.experiments._runner import backend_noise, circuit_text, optimize_design

    config = load_config(config_path)
    design = make_design(config, noise=backend_noise(config))
    opt = optimize_design(design, progress=progress)
    head = (f"// config: {Path(config_path).as_posix()} sha256:{config_hash(config)}\n"
            f"// objective: {config.optimizer.objective} = {float(opt.value):.10g} rad^-2\n")
    return head + circuit_text(design.protocol, np.asarray(opt.params))


def write_circuit_library(out_dir: str | Path = "circuits", configs_dir: str | Path = "configs", *,
                          templates_only: bool = False, only: list[str] | None = None,
                          progress: Callable[[str, int, int], None] | None = None) -> list[Path]:
    """Write ``out_dir/templates/*.qasm`` and ``out_dir/optimized/<config name>.qasm``.

    Args:
      out_dir: library root.
      configs_dir: folder of shipped configs.
      templates_only: skip the (minutes-long) optimizations.
      only: config file stems to (re)optimize; all experiment configs when None.
      progress: ``(task, done, total)`` callback.

    Returns:
      The paths written.
    """
    from qlearn_sense.experiments._results import atomic_write_text

    out_dir = Path(out_dir)
    written = []
    for spec in TEMPLATES:
        path = out_dir / "templates" / f"{template_name(*spec)}.qasm"
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, template_text(*spec))
        written.append(path)
    if templates_only:
        return written
    for cfg in shipped_experiment_configs(configs_dir):
        if only is not None and cfg.stem not in only:
            continue
        path = out_dir / "optimized" / f"{cfg.stem}.qasm"
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, optimized_text(cfg, progress=progress))
        written.append(path)
    return written
