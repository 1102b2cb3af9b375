"""Device emulation: restricted noise models, calibration-derived noise, aer:<fake> vs local testing mode."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from qiskit.transpiler import QubitProperties, Target

from qlearn_sense.backends import (
    TranspileOptions,
    calibrated_noise,
    fake_backend,
    get_backend,
    noise_from_target,
    reduced_target,
    transpile_protocol,
)
from qlearn_sense.protocol import build_protocol

ROOT = Path(__file__).resolve().parents[2]
GHZ3 = build_protocol(3, "ghz", "ghz_parity")


def test_reduced_target_keeps_properties_of_kept_qubits():
    full = fake_backend("fake_fez").target
    small = reduced_target(full, [3, 4, 5])
    assert small.num_qubits == 3
    assert small.qubit_properties[1].t1 == full.qubit_properties[4].t1
    assert small["cz"][(0, 1)].error == full["cz"][(3, 4)].error
    assert small["sx"][(2,)].duration == full["sx"][(5,)].duration
    assert (0, 2) not in small["cz"]  # 3-5 are not coupled
    assert small["measure"][(2,)].error == full["measure"][(5,)].error


def test_restricted_noise_model_gives_the_full_models_probabilities():
    from qiskit_aer import AerSimulator
    from qiskit_aer.noise import NoiseModel

    device = fake_backend("fake_manila")  # small enough to build the full model in a test
    comp = transpile_protocol(GHZ3, device.target, TranspileOptions(initial_layout=(1, 2, 3)))
    phis = np.array([0.0, 0.4, 1.1])
    restricted = get_backend("aer:fake_manila").configure(initial_layout=[1, 2, 3]).probabilities(
        GHZ3, np.zeros((3, 2)), phis)
    full_model = NoiseModel.from_backend(device)
    sim = AerSimulator(method="density_matrix", noise_model=full_model)
    bare = comp.isa.remove_final_measurements(inplace=False)
    bare.save_probabilities(comp.layout)
    ref = []
    for phi in phis:
        bound = bare.assign_parameters({p: (phi if p.name == "phi" else 0.0) for p in bare.parameters})
        ref.append(sim.run(bound).result().data(0)["probabilities"])
    ref = np.asarray(ref)
    # readout errors (symmetric on fake_manila) applied classically on top of the full model
    from qlearn_sense.backends._aer import _apply_readout
    from qlearn_sense.backends._devices import _qubit_calibration

    cal = [_qubit_calibration(device.target, q) for q in comp.layout]
    ref = _apply_readout(ref, 3, [c[2] for c in cal], [c[3] for c in cal])
    np.testing.assert_allclose(restricted, ref, atol=1e-10)


def test_calibrated_noise_from_fake_fez():
    target = fake_backend("fake_fez").target
    t = 1e-5
    noise = calibrated_noise("fake_fez", [3, 4, 5], t)
    for j, q in enumerate([3, 4, 5]):
        t1, t2 = target.qubit_properties[q].t1, target.qubit_properties[q].t2
        assert noise.gamma[j] == pytest.approx(1 - math.exp(-t / t1))
        assert noise.eta[j] == pytest.approx(math.exp(-t / min(t2, 2 * t1)))
        assert noise.p01[j] == noise.p10[j] == pytest.approx(target["measure"][(q,)].error)
    assert calibrated_noise("aer:fake_fez", [3, 4, 5], t) == noise
    assert calibrated_noise("FakeFez", None, t, n_qubits=2) == calibrated_noise("fake_fez", [0, 1], t)


def test_calibrated_noise_caps_t2_and_rejects_bad_input():
    target = Target(num_qubits=1, qubit_properties=[QubitProperties(t1=10e-6, t2=50e-6)])
    noise = noise_from_target(target, [0], 5e-6)
    assert noise.eta[0] == pytest.approx(math.exp(-5e-6 / 20e-6))  # T2 capped at 2 T1
    assert noise.eta[0] <= math.sqrt(1 - noise.gamma[0]) + 1e-12
    with pytest.raises(ValueError, match="outside the device"):
        calibrated_noise("fake_manila", [0, 9], 1e-6)
    with pytest.raises(ValueError, match="n_qubits"):
        calibrated_noise("fake_manila", None, 1e-6)
    with pytest.raises(ValueError, match=">= 0"):
        noise_from_target(target, [0], -1.0)


def test_calibrated_noise_from_ibm_name_uses_the_service(fake_service):
    noise = calibrated_noise("ibm:ibm_fez", [0, 1], 1e-6, service=fake_service)  # the double serves fake_manila
    assert noise == calibrated_noise("fake_manila", [0, 1], 1e-6)


def test_aer_fake_fez_agrees_with_local_testing_mode():
    """3-qubit GHZ-Ramsey sweep on FakeFez: same distributions as local testing mode.

    The speed-up (aer:fake_fez >= 5x faster) is a timing, not a unit test: benchmarks/bench_backends.py.
    """
    phis = np.linspace(0.0, np.pi / 3, 6)
    params = np.zeros((6, 2))
    shots = 2000
    aer = get_backend("aer:fake_fez").configure(initial_layout=[3, 4, 5])
    fast = aer.run(GHZ3, params, phis, shots, seed=21)
    slow = get_backend("ibm-local:fake_fez").configure(initial_layout=[3, 4, 5]).run(GHZ3, params, phis, shots,
                                                                                      seed=22)
    exact = aer.probabilities(GHZ3, params, phis)
    assert slow.metadata["layout"] == fast.metadata["layout"] == [3, 4, 5]
    for res in (fast, slow):
        expected = exact * shots
        sd = np.sqrt(shots * exact * (1 - exact))
        mask = expected >= 5
        assert np.max(np.abs(res.counts - expected)[mask] / sd[mask]) < 4.0, res.backend
    # the two samples against each other: chi-square homogeneity per phase
    for a, b in zip(fast.counts, slow.counts):
        keep = (a + b) > 0
        pooled = (a + b)[keep] / (2 * shots)
        chi2 = float(np.sum((a[keep] - shots * pooled) ** 2 / (shots * pooled)
                            + (b[keep] - shots * pooled) ** 2 / (shots * pooled)))
        assert chi2 < keep.sum() - 1 + 4 * math.sqrt(2 * (keep.sum() - 1)) + 10


@pytest.mark.parametrize("backend", ["aer:fake_fez", "ibm-local:fake_fez"])
def test_shipped_ibm_config_runs_end_to_end(backend, tmp_path):
    from qlearn_sense.config import load_config
    from qlearn_sense.experiments import load_results, run_experiment

    config = load_config(ROOT / "configs" / "ibm_fez_ramsey.yaml")
    out = run_experiment(config, backend=backend, out_root=tmp_path, run_id="ci")
    res = load_results(out.run_dir)  # complete results
    assert res["backend"] == backend
    assert res["n_qubits"] == 3 and res["shots"] == config.execution.shots
    state = json.loads((out.run_dir / "state.json").read_text())
    assert state["noise"]["from_backend"] == "fake_fez"
    expected = calibrated_noise("fake_fez", [3, 4, 5], config.sensor.interrogation_time_s)
    assert res["sensor"]["eta_per_qubit"] == pytest.approx(list(expected.eta))
    check = res["cfi_check"]
    assert check["cfi_model"] == pytest.approx(res["fisher"]["cfi"])
    assert check["cfi_data"] > 0 and check["noise"].startswith("device")
    assert abs(res["estimate"]["z_score"]) < 5
    assert np.load(out.run_dir / "counts.npy").shape == (config.execution.repetitions, 8)
