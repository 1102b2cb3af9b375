"""The main job end to end: run folder contract, round trips, determinism, errors."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from qiskit.quantum_info import Statevector

from qlearn_sense.config import config_from_dict, load_config
from qlearn_sense.experiments import (
    REQUIRED_KEYS,
    DesignError,
    ResultsError,
    dumps,
    load_results,
    make_design,
    run_experiment,
    save_results,
)
from qlearn_sense.experiments._results import get_key
from qlearn_sense.protocol import build_protocol, compile_jax, from_qasm3, Noise
from qlearn_sense.protocol._qiskit import parameter_binding

ROOT = Path(__file__).parents[2]
TINY = {
    "name": "tiny", "seed": 5,
    "sensor": {"kind": "qubit", "gyromagnetic_ratio_Hz_per_T": 28e9, "t2_star_s": 1e-5,
               "interrogation_time_s": 1e-6, "readout_fidelity": 0.99},
    "signal": {"kind": "constant", "field_T": 1e-8},
    "protocol": {"n_qubits": 2, "preparation": {"ansatz": "hea", "layers": 1},
                 "measurement": {"ansatz": "local", "layers": 1}},
    "optimizer": {"objective": "cfi", "steps": 40, "restarts": 2},
    "execution": {"shots": 50000, "repetitions": 30},
}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("exp")
    return run_experiment(config_from_dict(TINY), out_root=out, run_id="r1")


def test_run_folder_contract(tiny_run):
    d = tiny_run.run_dir
    assert d.name == "r1" and d.parent.name == "tiny"
    for f in ("config.yaml", "results.json", "state.json", "counts.npy", "optimized_circuit.qasm"):
        assert (d / f).is_file(), f
    pngs = sorted(p.name for p in (d / "plots").glob("*.png"))
    assert pngs == ["error_vs_shots.png", "estimates_vs_crb.png", "fisher_vs_iterations.png"]
    res = load_results(d)
    for key in REQUIRED_KEYS:
        get_key(res, key)
    assert set(res["versions"]) >= {"qlearn-sense", "jax", "pennylane", "qiskit", "qiskit-aer", "qiskit-ibm-runtime"}
    assert load_config(d / "config.yaml") == config_from_dict(TINY)


def test_results_physics_is_consistent(tiny_run):
    r = tiny_run.results
    f = r["fisher"]
    assert 0 < f["cfi"] <= f["qfi"] * (1 + 1e-9)
    assert f["sql"] == pytest.approx(2 * r["sensor"]["eta"] ** 2)
    assert f["hl"] == 4
    assert r["sensor"]["phase_rad"] == pytest.approx(2 * np.pi * 28e9 * 1e-8 * 1e-6)
    est = r["estimate"]
    # the pooled MLE is within 4 standard errors of the truth, and its error bar is the CRB
    assert abs(est["field_T"] - est["true_field_T"]) < 4 * est["field_std_T"]
    assert est["field_std_T"] == pytest.approx(r["crb"]["field_std_T"], rel=0.05)
    # spread over 30 repetitions vs the CRB: relative SE of a sample std ~ 1/sqrt(2)
    assert est["repetitions"]["empirical_over_crb"] == pytest.approx(1.0, abs=4 / np.sqrt(58))
    assert len(r["optimization"]["trace"]) == 40


def test_results_round_trip(tiny_run, tmp_path):
    path = tiny_run.run_dir / "results.json"
    text = path.read_text()
    save_results(load_results(path), tmp_path / "again.json")
    assert (tmp_path / "again.json").read_text() == text
    assert dumps(json.loads(text)) == text


def test_optimized_circuit_qasm_reproduces_protocol(tiny_run):
    d = tiny_run.run_dir
    qc = from_qasm3((d / "optimized_circuit.qasm").read_text())
    qc.remove_final_measurements()
    params = np.array(json.loads((d / "state.json").read_text())["params"])
    probs = Statevector(qc.assign_parameters(parameter_binding(qc, params, 0.3))).probabilities()
    p = build_protocol(2, "hea", "local", prep_layers=1, meas_layers=1)  # same gates, noiseless
    np.testing.assert_allclose(probs, np.asarray(compile_jax(p).probs(params, 0.3)), atol=1e-10)


def test_corrupt_and_incomplete_results(tmp_path, tiny_run):
    bad = tmp_path / "results.json"
    bad.write_text('{"schema": "qlearn-sense/results/1", "fisher": ')
    with pytest.raises(ResultsError, match="corrupt.*line 1"):
        load_results(bad)
    bad.write_text('{"schema": "other"}')
    with pytest.raises(ResultsError, match="schema"):
        load_results(bad)
    data = dict(tiny_run.results)
    del data["seed"]
    save_results(data, bad)
    with pytest.raises(ResultsError, match="seed"):
        load_results(bad)
    with pytest.raises(ResultsError, match="does not exist"):
        load_results(tmp_path / "missing.json")


def test_design_errors_and_unknown_backend(tmp_path):
    cfg = config_from_dict({**TINY, "sensor": {**TINY["sensor"], "sequence": "hahn_echo"}})
    with pytest.raises(DesignError, match="cancels"):
        make_design(cfg)
    with pytest.raises(ValueError, match="accepted: .*local"):
        run_experiment(config_from_dict(TINY), backend="quantum-magic", out_root=tmp_path)


def _numbers(res: dict) -> dict:
    drop = {"created", "run_id", "seconds"}
    if isinstance(res, dict):
        return {k: _numbers(v) for k, v in res.items() if k not in drop}
    return res


def test_cli_run_twice_same_seed_identical_numbers(tmp_path):
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    outs = []
    for i in range(2):
        out = tmp_path / f"o{i}"
        proc = subprocess.run([sys.executable, "-m", "qlearn_sense", "run", str(ROOT / "configs/quickstart.yaml"),
                               "--out", str(out), "--run-id", "same"], capture_output=True, text=True, env=env,
                              timeout=600)
        assert proc.returncode == 0, proc.stderr
        assert "QFI" in proc.stdout and "run folder" in proc.stdout
        outs.append(load_results(out / "quickstart" / "same"))
    assert _numbers(outs[0]) == _numbers(outs[1])


def test_cli_validate_and_errors(tmp_path):
    ok = subprocess.run([sys.executable, "-m", "qlearn_sense", "validate", str(ROOT / "configs/quickstart.yaml")],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and "valid" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / "configs/quickstart.yaml").read_text().replace("shots: 100000", "shots: 0"))
    proc = subprocess.run([sys.executable, "-m", "qlearn_sense", "validate", str(bad)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2
    assert "execution.shots" in proc.stderr and "0" in proc.stderr
