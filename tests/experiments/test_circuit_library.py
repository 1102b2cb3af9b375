"""The shipped ``circuits/`` library: every file loads and reproduces its protocol's probabilities."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from qiskit.quantum_info import Statevector

from qlearn_sense.config import config_hash, load_config
from qlearn_sense.experiments import load_library_circuit, read_library_file
from qlearn_sense.experiments._circuits import TEMPLATES, shipped_experiment_configs, template_name, template_text
from qlearn_sense.protocol import Noise, compile_jax, parameter_binding

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "circuits"
FILES = sorted(LIBRARY.rglob("*.qasm"))


def _qiskit_probs(circuit, theta, phi):
    qc = circuit.assign_parameters(parameter_binding(circuit, theta, phi))
    qc.remove_final_measurements()
    return Statevector(qc).probabilities()  # little-endian: index bit j = qubit j


def test_library_is_complete():
    names = {p.relative_to(LIBRARY).as_posix() for p in FILES}
    for spec in TEMPLATES:
        assert f"templates/{template_name(*spec)}.qasm" in names
    for cfg in shipped_experiment_configs(ROOT / "configs"):
        assert f"optimized/{cfg.stem}.qasm" in names, f"no optimized circuit for {cfg.name}; run `qlearn-sense circuits`"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(LIBRARY).as_posix())
def test_file_reproduces_protocol_probabilities(path):
    entry = read_library_file(path)
    circuit = load_library_circuit(path)
    ideal = entry.protocol.with_noise(Noise.ideal(entry.protocol.n_qubits))
    jp = compile_jax(ideal)
    rng = np.random.default_rng(11)
    thetas = [entry.params] if entry.params is not None else [rng.uniform(-np.pi, np.pi, ideal.n_params)
                                                              for _ in range(3)]
    for theta in thetas:
        assert theta.shape == (ideal.n_params,)
        for phi in (0.0, 0.37, -1.2):
            want = np.asarray(jp.probs(theta, phi))
            got = _qiskit_probs(circuit, theta, phi)
            np.testing.assert_allclose(got, want, atol=1e-10)


@pytest.mark.parametrize("spec", TEMPLATES, ids=lambda s: template_name(*s))
def test_templates_are_current(spec):
    path = LIBRARY / "templates" / f"{template_name(*spec)}.qasm"
    assert path.read_text(encoding="utf-8") == template_text(*spec), "stale template; run `qlearn-sense circuits`"


def test_optimized_circuits_match_current_configs():
    for path in sorted((LIBRARY / "optimized").glob("*.qasm")):
        entry = read_library_file(path)
        assert entry.config is not None and entry.params is not None
        cfg_path, digest = entry.config
        config = load_config(ROOT / cfg_path)
        assert digest == config_hash(config), f"{path.name} is stale; run `qlearn-sense circuits --only {path.stem}`"
        assert entry.protocol.n_qubits == config.protocol.n_qubits


@pytest.mark.parametrize("stem", ["quickstart", "nv_action_potential"])
def test_optimized_circuit_objective_is_reproduced(stem):
    """The stored parameters give the stored objective value, and it reaches the SQL n eta^2."""
    entry = read_library_file(LIBRARY / "optimized" / f"{stem}.qasm")
    line = next(ln for ln in entry.text.splitlines() if ln.startswith("// objective:"))
    objective, value = line.removeprefix("// objective:").split("=")
    value = float(value.split()[0])
    jp = compile_jax(entry.protocol)
    config = load_config(ROOT / entry.config[0])
    from qlearn_sense.experiments import make_design

    phi = make_design(config).phase_rad
    qfi = float(jp.qfi(entry.params))
    cfi = float(jp.cfi(entry.params, phi))
    got = cfi if objective.strip() == "cfi" else qfi
    assert got == pytest.approx(value, rel=1e-8)
    eta = entry.protocol.noise.eta[0]
    assert qfi >= cfi - 1e-9
    assert qfi >= 0.99 * entry.protocol.n_qubits * eta ** 2


def test_header_errors(tmp_path):
    bad = tmp_path / "x.qasm"
    bad.write_text("OPENQASM 3.0;\nqubit[1] q;\n")
    with pytest.raises(ValueError, match="no '// protocol"):
        read_library_file(bad)
    bad.write_text("// protocol: {not json\nOPENQASM 3.0;\n")
    with pytest.raises(ValueError, match="malformed header"):
        read_library_file(bad)
